"""The device-resident data path gives the host loader's batches and augmentation, and a run the same weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainlab.config import AugmentSection
from trainlab.data import device_loader as dl
from trainlab.data.augment import BatchAugment, KerasAffine
from trainlab.data.device_loader import DeviceLoader, to_device_images, use_device_resident
from trainlab.data.loader import BatchLoader, Normalize
from trainlab.errors import TrainlabError

from test_train_trainer import TinyNet, make_data, trainer


@pytest.mark.parametrize("world_size,rank,drop_last", [(1, 0, False), (2, 1, False), (1, 0, True)])
def test_same_batches_and_augmented_pixels_as_the_host_loader(world_size, rank, drop_last):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (53, 12, 10, 3), dtype=np.uint8)
    labels = rng.integers(0, 5, 53)
    index = rng.permutation(53)[:41]
    common = dict(batch_size=8, shuffle=True, seed=7, rank=rank, world_size=world_size, drop_last=drop_last)
    host = BatchLoader(images, labels, index, prefetch=2, **common)
    device = DeviceLoader(to_device_images(images, torch.device("cpu")), labels, index, **common)
    assert len(host) == len(device) and host.num_samples == device.num_samples
    augment, norm = BatchAugment(KerasAffine()), Normalize([0.5] * 3, [0.25] * 3)
    for epoch in (0, 1):
        host.set_epoch(epoch), device.set_epoch(epoch)
        pairs = list(zip(host, device, strict=True))
        assert pairs
        for a, b in pairs:
            np.testing.assert_array_equal(a.index, b.index)
            assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels) and torch.equal(a.weights, b.weights)
            assert (a.offset, a.global_size) == (b.offset, b.global_size)
            xa = norm.normalize(augment(norm.to_float(a.images), keys=a.index, seed=7, epoch=epoch))
            xb = norm.normalize(augment(norm.to_float(b.images), keys=b.index, seed=7, epoch=epoch))
            assert torch.equal(xa, xb)


def test_a_run_from_the_device_resident_cache_equals_one_from_the_host_loader():
    images, labels = make_data(64)
    runs, results = [], []
    for setting in ("off", "on"):  # each built and trained in turn: the trainer seeds torch's global generator
        runs.append(trainer(TinyNet(dropout=0.2), images, labels, epochs=2, deterministic=True,
                            augment=AugmentSection(), device_resident=setting))
        results.append(runs[-1].fit())
    assert runs[0].device_images is None and runs[1].device_images is not None
    assert isinstance(runs[1].train_loader, DeviceLoader) and not isinstance(runs[0].train_loader, DeviceLoader)
    host, resident = results
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert [r[key] for r in host.history] == [r[key] for r in resident.history]
    for key, value in runs[0].model.state_dict().items():
        assert torch.equal(runs[1].model.state_dict()[key], value), key
    np.testing.assert_array_equal(runs[0].predict_proba(np.arange(10)), runs[1].predict_proba(np.arange(10)))


def test_selection(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not use_device_resident("auto", cpu, 10)  # the cache is already in host memory
    assert use_device_resident("on", cpu, 10) and not use_device_resident("off", cpu, 10)
    assert not use_device_resident("auto", cpu, 10, host_transform=True)
    with pytest.raises(TrainlabError, match="train.augment.extra"):
        use_device_resident("on", cpu, 10, host_transform=True)
    monkeypatch.setattr(dl, "free_device_bytes", lambda device: 1000)
    assert use_device_resident("auto", cuda, int(1000 * dl.DEVICE_FRACTION))
    assert not use_device_resident("auto", cuda, int(1000 * dl.DEVICE_FRACTION) + 1)
    with pytest.raises(TrainlabError, match="train.device_resident=true: the image cache needs"):
        use_device_resident("on", cuda, 10**6)


def test_recipe_key_reads_true_and_false():
    from trainlab.config import load_recipe

    assert load_recipe(None, ["train.device_resident=true"]).train.device_resident == "on"
    assert load_recipe(None, ["train.device_resident=false"]).train.device_resident == "off"
    with pytest.raises(TrainlabError, match="train.device_resident"):
        load_recipe(None, ["train.device_resident=gpu"])
