"""EMA of the weights (timm ModelEmaV3) and horizontal-flip TTA."""

import pytest
import torch

from trainlab.training.averaging import ema_wins, make_ema, tta_proba


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 8, 3))


def test_ema_weights_follow_but_differ_from_the_raw_weights():
    model = _net()
    ema = make_ema(model, decay=0.9, warmup=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 3, 8, 10), torch.randint(0, 3, (16,))
    start = [p.detach().clone() for p in model.parameters()]
    for step in range(20):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        ema.update(model, step=step)
    raw = list(model.parameters())
    averaged = list(ema.module.parameters())
    for r, a, s in zip(raw, averaged, start):
        assert not torch.equal(r, a)  # the EMA is its own copy of the weights ...
        assert (a - s).norm() < (r - s).norm()  # ... lagging behind the raw ones
    # one more step by hand: ema' = d * ema + (1 - d) * w
    before = [a.detach().clone() for a in averaged]
    ema.update(model, step=20)
    for b, a, r in zip(before, ema.module.parameters(), model.parameters()):
        torch.testing.assert_close(a, 0.9 * b + 0.1 * r)


def test_ema_wins_by_the_monitored_metric():
    assert ema_wins(0.81, 0.80, "val_acc") and not ema_wins(0.80, 0.80, "val_acc")
    assert ema_wins(0.5, 0.6, "val_loss") and not ema_wins(0.7, 0.6, "val_loss")
    assert not ema_wins(float("nan"), 0.6, "val_loss") and ema_wins(0.7, float("nan"), "val_loss")
    with pytest.raises(ValueError):
        make_ema(_net(), decay=1.0)


def test_tta_is_the_mean_of_flipped_and_unflipped_probabilities():
    model = _net().eval()
    x = torch.randn(5, 3, 8, 10)
    p = tta_proba(model, x)
    expected = (torch.softmax(model(x), -1) + torch.softmax(model(x.flip(3)), -1)) / 2
    torch.testing.assert_close(p, expected)
    torch.testing.assert_close(p.sum(-1), torch.ones(5))
    assert not torch.allclose(p, torch.softmax(model(x), -1))  # the mirror changed something
    # a mirror-symmetric image gives the plain prediction
    sym = torch.cat([x[..., :5], x[..., :5].flip(3)], dim=3)
    torch.testing.assert_close(tta_proba(model, sym), torch.softmax(model(sym), -1))
    # channels_last input gives the same result
    torch.testing.assert_close(tta_proba(model, x.to(memory_format=torch.channels_last)), p)
