"""The training loop: a model, a uint8 image array, indices and labels in; weights, history, checkpoints out.

The trainer knows nothing of datasets, recipes or file formats: it is given an ``nn.Module`` (with a
``data_config`` for normalisation), an ``(N, H, W, 3)`` uint8 array, labels and the train/val row
indices. One step, on every process::

    x = normalise(augment(float(uint8 batch)))          on the device, one grid_sample per batch
    loss = sum(w_i * CE_i) / n_global * world_size       w_i = 0 for padding; DDP averages over processes
    (+ model.regularization_loss())                      the seed CNN's L1+L2 kernel penalty
    backward (GradScaler for fp16), clip, optimizer step, lr = initial_lr x schedule(step)   (train.policy)

Around that step, the recipe's techniques (each off by default):

* ``train.accumulate: N``: one optimizer step per N batches; each batch's loss is divided by the real images
  of its whole group, so the summed gradient is that of one batch N times as large (the schedule counts
  optimizer steps). Augmentation and dropout are keyed by sample, so only BatchNorm sees the smaller batches.
* ``train.class_balance: loss``: ``w_i x= n / (k n_{y_i})`` in the optimised loss (the reported train loss
  stays the plain cross-entropy, comparable with val); ``sampler``: each epoch's rows are a class-balanced
  draw (:mod:`trainlab.training.balance`).
* ``train.ema``: timm's ``ModelEmaV3`` after every optimizer step, validated each epoch beside the raw
  weights; ``best`` holds whichever validates better (``best_weights``: ``ema`` or ``raw``), ``last`` the raw
  weights with the average in its state.
* ``train.tta: flip``: validation and predictions average the probabilities of each image and its mirror.
* ``train.budget``: the first optimizer steps are timed, :func:`trainlab.training.budget.plan_epochs` sets
  ``epochs`` (``train.epochs`` is the cap) and the schedule's length; after each epoch ``replan`` may
  shorten it when the machine slowed down. The plan goes to the writer (``budget.json``).

Epoch metrics are weighted sums (loss x n, correct, n) reduced over processes, never means of means.
The loop writes nothing itself: after each epoch it hands its row to a :class:`~trainlab.training.writer.RunWriter`
(history, curves, checkpoints, run record). A non-finite loss stops the run (:class:`NonFiniteLoss`) before
anything is saved, so the last checkpoint stays the last good one.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from trainlab.config import TrainSection
from trainlab.data.augment import BatchAugment, KerasAffine, uint8_policy
from trainlab.data.dataconfig import DataConfig
from trainlab.data.device_loader import DeviceLoader, to_device_images, use_device_resident
from trainlab.data.loader import BatchLoader, Normalize
from trainlab.errors import TrainlabError
from trainlab.models.keyed_layers import convert_batchnorm
from trainlab.models.sample_context import sample_context
from trainlab.training import checkpoint as ckpt
from trainlab.training import randomness  # (#13) every process's RNG state; resume layout check
from trainlab.training.distributed import DistInfo, all_gather_objects, all_reduce_min, all_reduce_sum, barrier, sync_buffers
from trainlab.training.averaging import ema_wins, make_ema, tta_proba
from trainlab.training.balance import balanced_draw, class_weights
from trainlab.training.budget import describe_plan, format_eta, parse_duration, plan_epochs, replan
from trainlab.training.policy import amp_dtype, autocast, configure_determinism, make_optimizer, schedule_for, seed_everything, set_lr
from trainlab.utils.log import get_logger, progress
from trainlab.utils.device import pick_device

if TYPE_CHECKING:
    from trainlab.artifacts.budget_plan import BudgetPlan
    from trainlab.training.writer import RunWriter

log = get_logger("trainlab.training")

#: how much faster an evaluation pass runs than a training pass per image (forward only), for the budget's
#: estimate of validation and prediction time before they are measured (the first epoch then corrects it)
EVAL_SPEEDUP = 3.0
#: optimizer steps the budget's throughput is measured over (after one step of warm-up)
BUDGET_MEASURE_STEPS = 20


class NonFiniteLoss(TrainlabError):
    """The loss became NaN or infinite; the run is stopped and the last good checkpoint kept."""

    def __init__(self, message: str, *, epoch: int, step: int):
        super().__init__(message)
        self.epoch, self.step = epoch, step


@dataclass
class FitResult:
    status: str  # finished | stopped-early
    epochs_run: int
    best_epoch: int | None
    best_metric: float | None
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    best_weights: str | None = None  # ema | raw: which weights checkpoints/best holds
    budget_plan: BudgetPlan | None = None


class Trainer:
    def __init__(
        self, model: torch.nn.Module, cfg: TrainSection, *, images: np.ndarray, labels: np.ndarray,
        train_index: np.ndarray, val_index: np.ndarray | None = None, num_classes: int | None = None,
        data_config: DataConfig | dict | None = None, dist: DistInfo | None = None, writer: RunWriter | None = None,
        started: float | None = None, reserve_images: int = 0, reserve_s: float = 0.0,
    ):
        """``started`` (``time.perf_counter()``): when the run began, for ``train.budget`` (default: now);
        ``reserve_images``/``reserve_s``: what the run still predicts after the last epoch, kept out of the budget."""
        self.cfg = cfg
        self.started = time.perf_counter() if started is None else started
        self.reserve_images, self.reserve_s = reserve_images, reserve_s
        # without a DistInfo (the Python API, a notebook): one process on the device the recipe asks for (auto:
        # CUDA, then MPS, then CPU), as `trainlab train` chooses it
        self.dist = dist or DistInfo(device=pick_device(cfg.device))
        self.device = self.dist.device
        self.writer = writer  # history, plots, checkpoints, run record (None: the loop writes nothing)
        self.images, self.labels = images, np.asarray(labels, dtype=np.int64)
        self.train_index = np.asarray(train_index, dtype=np.int64)
        self.val_index = np.asarray(val_index if val_index is not None else [], dtype=np.int64)
        self.num_classes = int(num_classes if num_classes is not None else self.labels.max() + 1)
        if len(self.train_index) == 0:
            raise TrainlabError("there are no training images (the train split is empty)")
        configure_determinism(cfg.deterministic, self.device)
        seed_everything(cfg.seed + self.dist.rank)

        data_config = data_config or getattr(model, "data_config", None)
        if not data_config:
            raise TrainlabError("the model has no data_config (input_size, mean, std); build it with trainlab.models.factory.create_model")
        self.data_config = DataConfig.from_dict(data_config, where="the trainer's data_config")
        self.norm = Normalize(self.data_config.mean, self.data_config.std, channels_last=cfg.channels_last)

        self.model = model.to(self.device)
        if self.dist.enabled:  # (#13) BatchNorm statistics over the global batch's real rows, as on one process
            self.model = convert_batchnorm(self.model)
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = make_ema(self.model, decay=cfg.ema.decay, warmup=cfg.ema.warmup) if cfg.ema.decay > 0 else None
        self.class_weight = None  # train.class_balance=loss: n / (k n_c) per class, on the device
        if cfg.class_balance == "loss":
            self.class_weight = torch.as_tensor(class_weights(self.labels[self.train_index], self.num_classes),
                                                dtype=torch.float32, device=self.device)
        # mode=staged: the backbone is frozen for train.stage_epochs (0: unfrozen from the start)
        self.staged = getattr(model, "mode", None) == "staged" and hasattr(model, "unfreeze_backbone")

        a = cfg.augment
        self.augment = BatchAugment(
            KerasAffine(rotation=a.rotation, zoom=a.zoom, width_shift=a.width_shift, height_shift=a.height_shift, shear=a.shear, hflip=a.hflip)
            if a.policy == "keras" else None
        )
        self.mixup = None
        if a.mixup > 0 or a.cutmix > 0:
            from timm.data import Mixup

            if cfg.batch_size % 2:
                raise TrainlabError(f"train.augment.mixup/cutmix need an even train.batch_size; got {cfg.batch_size}")
            self.mixup = Mixup(mixup_alpha=a.mixup, cutmix_alpha=a.cutmix, label_smoothing=cfg.label_smoothing, num_classes=self.num_classes)

        extra = uint8_policy(a.extra) if a.extra != "none" else None
        # torchvision's policies draw from torch's global generator: keep them on the main thread when
        # the run must be reproducible (no loader thread interleaving its draws with dropout's).
        prefetch = 0 if (extra is not None and cfg.deterministic) else cfg.prefetch
        # train.device_resident: the whole uint8 cache on the device, batches gathered there (data/device_loader.py)
        resident = use_device_resident(cfg.device_resident, self.device, images.nbytes, host_transform=extra is not None)
        self.device_images = to_device_images(images, self.device) if resident else None
        self.train_loader = self._loader(
            self.train_index, batch_size=cfg.batch_size, shuffle=True, drop_last=cfg.drop_last or self.mixup is not None,
            prefetch=prefetch, uint8_transform=extra,
        )
        self.eval_batch_size = cfg.eval_batch_size or 4 * cfg.batch_size
        self.steps_per_epoch = -(-len(self.train_loader) // cfg.accumulate)  # optimizer steps
        if self.steps_per_epoch == 0:
            raise TrainlabError(
                f"train.batch_size={cfg.batch_size} x {self.dist.world_size} process(es) is larger than the "
                f"{len(self.train_index)} training images with drop_last on; lower the batch size"
            )

        self.amp_dtype = amp_dtype(cfg.amp, self.device, deterministic=cfg.deterministic)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        if self.dist.is_main:  # what train.amp=auto and train.device_resident=auto resolved to on this device
            log.info("training in %s (train.amp=%s)%s on %s%s", str(self.amp_dtype or torch.float32).replace("torch.", ""),
                     cfg.amp, ", channels_last" if cfg.channels_last else "", self.device,
                     ", image cache on the device" if self.device_images is not None else "")
        self.optimizer = make_optimizer(self.model, cfg, self.device)
        self.schedule = schedule_for(cfg, self.steps_per_epoch)  # step -> learning-rate factor
        set_lr(self.optimizer, self.schedule(0))
        self.eval_net = torch.compile(self.model) if cfg.compile else self.model
        self.net = self._wrap()

        self.epoch = 0  # completed epochs
        self.step = 0  # optimizer steps taken
        self.best_metric: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.history: list[dict] = []
        self.best_weights: str | None = None  # ema | raw
        self.budget_s = parse_duration(cfg.budget, what="train.budget") if cfg.budget else None
        self.plan: BudgetPlan | None = None
        self._replans = True  # False in a resumed session (its clock did not see the run's start)
        self._frozen: bool | None = None
        self._rng_ranks: list[dict] | None = None  # (#13) every process's RNG state at the last epoch end

    # ---- set-up helpers ----------------------------------------------------------------------
    def _wrap(self) -> torch.nn.Module:
        """DDP (only the trainable parameters at this moment) and optionally torch.compile."""
        net = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            net = DDP(net, device_ids=ids)
        return torch.compile(net) if self.cfg.compile else net

    def _set_stage(self, epoch: int) -> None:
        """mode=staged: the head alone for ``stage_epochs``, then every layer (DDP is rebuilt, as it
        registers only the parameters that were trainable when it was built)."""
        if not self.staged:
            return
        frozen = epoch < self.cfg.stage_epochs
        if frozen == self._frozen:
            return
        if frozen:
            self.model.freeze_backbone()
        else:
            self.model.unfreeze_backbone()
            if self._frozen is not None and self.dist.is_main:
                log.info("epoch %d: backbone unfrozen (staged fine-tuning)", epoch + 1)
        self._frozen = frozen
        self.net = self._wrap()

    def _autocast(self):
        return autocast(self.device, self.amp_dtype)

    # ---- one epoch ---------------------------------------------------------------------------
    def _per_sample_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The plain per-sample cross-entropy (label smoothing, soft targets), as reported."""
        if target.dtype.is_floating_point:  # mixup/cutmix soft targets (smoothing already inside)
            return -(target * F.log_softmax(logits, dim=-1)).sum(-1)
        return F.cross_entropy(logits, target, reduction="none", label_smoothing=self.cfg.label_smoothing)

    def loss_weights(self, labels: torch.Tensor, sample_weights: torch.Tensor) -> torch.Tensor:
        """Each sample's weight in the optimised loss: 0 for padding, times ``n / (k n_y)`` with class_balance=loss."""
        if self.class_weight is None:
            return sample_weights
        return sample_weights * self.class_weight[labels]

    def _epoch_rows(self, epoch: int) -> np.ndarray:
        """The training rows of this epoch: the train split, or a class-balanced draw from it (class_balance=sampler)."""
        if self.cfg.class_balance != "sampler":
            return self.train_index
        return self.train_index[balanced_draw(self.labels[self.train_index], seed=self.cfg.seed, epoch=epoch)]

    def _group_sizes(self, loader: BatchLoader) -> list[int]:
        """Real images (all processes) in each optimizer step's group of ``train.accumulate`` batches."""
        sizes = [step.global_size for step in loader.plan()]
        n = self.cfg.accumulate
        return [sum(sizes[k : k + n]) for k in range(0, len(sizes), n)]

    def train_epoch(self, epoch: int) -> dict:
        cfg, loader = self.cfg, self.train_loader
        self.model.train()
        loader.set_epoch(epoch)
        loader.indices = self._epoch_rows(epoch)
        groups = self._group_sizes(loader)
        accumulate = cfg.accumulate
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)  # loss*n, correct, n
        check_every = 1 if self.device.type == "cpu" else 25
        pending: list[torch.Tensor] = []
        params = [p for p in self.model.parameters()]
        reg = getattr(self.model, "regularization_loss", None)
        bar = progress(total=loader.num_samples, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="img", unit_scale=True,
                       leave=False, **({} if self.dist.is_main else {"disable": True}))
        t0 = time.perf_counter()
        seen = 0  # real images trained on this epoch (all processes)
        measure = None  # train.budget: (time, images) after the first optimizer step
        try:
            for i, batch in enumerate(loader):
                n_global = batch.global_size
                n_group = groups[i // accumulate]
                last_of_group = (i + 1) % accumulate == 0 or i == len(loader) - 1
                # (#13) augmentation and dropout keyed by (seed, epoch, global sample index): any process layout
                x = self.augment(self.norm.to_float(batch.images), keys=batch.index, seed=cfg.seed, epoch=epoch)
                x = self.norm.normalize(x)
                y = batch.labels
                target = y
                if self.mixup is not None:
                    x, target = self.mixup(x, y)
                with self._autocast(), sample_context(batch.index, weights=batch.weights, seed=cfg.seed, epoch=epoch):
                    logits = self.net(x)
                per_sample = self._per_sample_loss(logits.float(), target)
                # one group of `accumulate` batches = one batch of n_group images: each batch's share of its mean
                loss = (per_sample * self.loss_weights(y, batch.weights)).sum() * (self.dist.world_size / n_group)
                total = loss + reg() * (n_global / n_group) if reg is not None else loss
                if i % accumulate == 0:
                    self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(total).backward()
                seen += n_global
                if last_of_group:
                    if cfg.clip_grad_norm:
                        self.scaler.unscale_(self.optimizer)
                        torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad_norm)
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                    self.step += 1
                    if self.ema is not None:
                        self.ema.update(self.model, step=self.step)
                    set_lr(self.optimizer, self.schedule(self.step))
                    if self.budget_s is not None and self.plan is None:
                        measure = self._measure_budget(measure, seen, t0, i == len(loader) - 1)
                with torch.no_grad():
                    w = batch.weights.double()
                    sums += torch.stack([(per_sample.detach().double() * w).sum(),
                                         ((logits.detach().argmax(-1) == y).double() * w).sum(), w.sum()])
                pending.append(total.detach())
                if len(pending) >= check_every or i == len(loader) - 1:
                    self._check_finite(pending, epoch, i + 2 - len(pending))
                    pending = []
                    if not bar.disable:
                        bar.set_postfix(loss=f"{sums[0].item() / max(sums[2].item(), 1):.4f}", lr=f"{self._lr():.2e}",
                                        run=self.eta(), refresh=False)
                bar.update(n_global)
        finally:
            bar.close()
        seconds = time.perf_counter() - t0
        sums = all_reduce_sum(sums)
        loss_sum, correct, n = sums.tolist()
        return {"train_loss": loss_sum / n, "train_acc": correct / n, "train_seconds": seconds, "train_images": int(round(n))}

    # ---- the time budget and the whole-run ETA --------------------------------------------------
    def _measure_budget(self, measure, seen: int, t0: float, epoch_over: bool):
        """Time the optimizer steps after the first (its one-off costs excluded), then plan: over
        ``BUDGET_MEASURE_STEPS`` steps, or over the whole first epoch when it has too few."""
        now = time.perf_counter()
        if measure is None:
            if epoch_over:  # an epoch of one optimizer step: its own pace is all there is
                self._plan_budget(seen / max(now - t0, 1e-9), measured_steps=1, first_step_at=t0)
                return None
            return (now, seen, self.step, t0)
        t_mark, seen_mark, step_mark, first_at = measure
        steps = self.step - step_mark
        if steps >= BUDGET_MEASURE_STEPS or epoch_over:
            self._plan_budget((seen - seen_mark) / max(now - t_mark, 1e-9), measured_steps=steps, first_step_at=first_at)
            return None
        return measure

    def _plan_budget(self, images_per_s: float, *, measured_steps: int, first_step_at: float) -> None:
        """Set the run's epochs (and the schedule's length) from the measured pace, the same on every process."""
        passes = 2 if self.cfg.tta == "flip" else 1
        eval_rate = EVAL_SPEEDUP * images_per_s
        eval_s = len(self.val_index) * passes * (2 if self.ema is not None else 1) / eval_rate
        plan = plan_epochs(
            budget_s=self.budget_s, images_per_s=images_per_s, images_per_epoch=self.train_loader.num_samples,
            spent_s=first_step_at - self.started, eval_s_per_epoch=eval_s,
            reserve_s=self.reserve_s + self.reserve_images * passes / eval_rate, max_epochs=self.cfg.epochs,
            measured_steps=measured_steps,
        )
        epochs = int(all_reduce_min(torch.tensor([plan.epochs], device=self.device)).item())
        self.plan = plan if epochs == plan.epochs else plan.model_copy(update={"epochs": epochs})
        self._set_epochs(self.plan.epochs)
        if self.dist.is_main:
            log.info("%s", describe_plan(self.plan))
        if self.writer is not None:
            self.writer.budget_planned(self, self.plan)

    def _set_epochs(self, epochs: int) -> None:
        """The schedule's length is now ``epochs``; warm-up keeps its length but at most half the run, so the
        cosine still decays. The rate follows at once."""
        if epochs == self.cfg.epochs:
            return
        self.cfg = dataclasses.replace(self.cfg, epochs=epochs, warmup_epochs=min(self.cfg.warmup_epochs, epochs / 2))
        self.schedule = schedule_for(self.cfg, self.steps_per_epoch)
        set_lr(self.optimizer, self.schedule(self.step))

    def _replan(self, last_epoch_s: float) -> None:
        """After an epoch of a budgeted run: fewer epochs when the measured pace fell behind the plan."""
        if self.plan is None or not self._replans:
            return
        epochs = replan(self.plan, elapsed_s=time.perf_counter() - self.started, epochs_done=self.epoch,
                        last_epoch_s=last_epoch_s)
        epochs = int(all_reduce_min(torch.tensor([epochs], device=self.device)).item())
        if epochs < self.cfg.epochs:
            if self.dist.is_main:
                log.warning("train.budget: the run is slower than planned; it now ends after epoch %d (planned %d)",
                            epochs, self.cfg.epochs)
            self._set_epochs(epochs)
            if self.writer is not None:
                self.writer.update(epochs=epochs)

    def eta(self) -> str:
        """The whole run's progress and time left (``run 37%, 4m12s left (ends 12:41:07)``), from this session's pace."""
        start_step, start_time = getattr(self, "_session", (self.step, time.perf_counter()))
        total = self.cfg.epochs * self.steps_per_epoch - start_step
        if total <= 0:
            return "run 100%"
        return format_eta(elapsed_s=time.perf_counter() - start_time, done_steps=self.step - start_step, total_steps=total)

    def _check_finite(self, losses: list[torch.Tensor], epoch: int, first_step_in_epoch: int) -> None:
        """Stop at the first non-finite loss, on every process at once (the step is reduced with MIN)."""
        values = torch.stack(losses).float()
        bad = (~torch.isfinite(values)).nonzero()
        first = torch.tensor([first_step_in_epoch + int(bad[0]) if len(bad) else 2**62], device=self.device)
        first = int(all_reduce_min(first).item())
        if first < 2**62:
            k = first - first_step_in_epoch
            value = values[k].item() if 0 <= k < len(values) and not math.isfinite(values[k].item()) else "non-finite on another process"
            raise NonFiniteLoss(
                f"the loss became {value} at epoch {epoch + 1}, step {first} of {self.steps_per_epoch} "
                f"(optimizer step {epoch * self.steps_per_epoch + first}); training stopped. "
                f"The last good checkpoint is kept (epoch {self.epoch}). Lower train.lr, set train.clip_grad_norm, "
                "or check the data.",
                epoch=epoch + 1, step=first,
            )

    def _lr(self) -> float:
        return max(g["lr"] for g in self.optimizer.param_groups)

    # ---- evaluation --------------------------------------------------------------------------
    def _loader(self, index: np.ndarray, *, batch_size: int, shuffle: bool, drop_last: bool = False, prefetch: int = 0,
                uint8_transform=None) -> BatchLoader:
        """The host loader, or the device-resident one when the cache is on the device (same batches)."""
        common = dict(batch_size=batch_size, shuffle=shuffle, seed=self.cfg.seed, rank=self.dist.rank,
                      world_size=self.dist.world_size, drop_last=drop_last)
        if self.device_images is not None:
            return DeviceLoader(self.device_images, self.labels, index, **common)
        return BatchLoader(self.images, self.labels, index, device=self.device, prefetch=prefetch,
                           uint8_transform=uint8_transform, **common)

    def _eval_loader(self, index: np.ndarray) -> BatchLoader:
        return self._loader(index, batch_size=self.eval_batch_size, shuffle=False, prefetch=self.cfg.prefetch)

    def _proba_and_loss(self, net: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class probabilities of a normalised batch and each row's cross-entropy: one pass, or with
        ``train.tta=flip`` the mean probabilities over the image and its mirror (and their negative log)."""
        def forward(batch):
            with self._autocast():
                return net(batch).float()

        if self.cfg.tta == "flip":
            proba = tta_proba(forward, x)
            return proba, F.nll_loss(proba.clamp_min(1e-12).log(), labels, reduction="none")
        logits = forward(x)
        return torch.softmax(logits, -1), F.cross_entropy(logits, labels, reduction="none")

    @torch.inference_mode()
    def _forward_eval(self, index: np.ndarray, *, keep_proba: bool, net: torch.nn.Module | None = None):
        """Sharded evaluation without augmentation: (sums, list of (positions, proba)) on this process.
        ``net``: the weights to evaluate (default the raw model; ``self.ema.module`` for the average)."""
        self.model.eval()
        if net is None:
            net = self.eval_net
        else:
            net.eval()
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        parts = []
        for batch in self._eval_loader(index):
            proba, nll = self._proba_and_loss(net, self.norm(batch.images), batch.labels)
            w = batch.weights.double()
            sums += torch.stack([(nll.double() * w).sum(), ((proba.argmax(-1) == batch.labels).double() * w).sum(), w.sum()])
            if keep_proba:
                real = batch.weights.cpu().numpy() > 0
                parts.append((batch.index[real], proba.cpu().numpy()[real]))
        return sums, parts

    def evaluate(self, index: np.ndarray, *, net: torch.nn.Module | None = None) -> dict:
        """Mean loss and accuracy over ``index`` (rows of the image array), every image exactly once
        (``net``: other weights than the model's, e.g. ``self.ema.module``)."""
        if len(index) == 0:
            return {"loss": float("nan"), "acc": float("nan"), "n": 0}
        sums, _ = self._forward_eval(np.asarray(index), keep_proba=False, net=net)
        loss_sum, correct, n = all_reduce_sum(sums).tolist()
        return {"loss": loss_sum / n, "acc": correct / n, "n": int(round(n))}

    def predict_proba(self, index: np.ndarray) -> np.ndarray:
        """Class probabilities for ``index``, in that order, gathered from every process."""
        index = np.asarray(index, dtype=np.int64)
        if len(index) == 0:
            return np.zeros((0, self.num_classes), np.float32)
        _, parts = self._forward_eval(index, keep_proba=True)
        positions = np.concatenate([p for p, _ in parts]) if parts else np.zeros(0, np.int64)
        proba = np.concatenate([q for _, q in parts]) if parts else np.zeros((0, self.num_classes), np.float32)
        gathered = all_gather_objects((positions, proba))
        positions = np.concatenate([g[0] for g in gathered])
        proba = np.concatenate([g[1] for g in gathered])
        lookup = {int(p): k for k, p in enumerate(positions)}  # row of the image array -> its probabilities
        return proba[[lookup[int(i)] for i in index]]

    # ---- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "step": self.step, "best_metric": self.best_metric, "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs, "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(), "rng": ckpt.rng_state(), "history": self.history,
            "world_size": self.dist.world_size, "monitor": self.cfg.monitor,
            # (#13) every process's RNG state, in rank order (gathered at the epoch's end), and the batch layout
            "rng_ranks": self._rng_ranks if self._rng_ranks is not None else [ckpt.rng_state()],
            "batch_size": self.cfg.batch_size,
            "best_weights": self.best_weights,
            **({"ema": self.ema.module.state_dict()} if self.ema is not None else {}),
            # train.budget: the plan (and the run's length) a resume keeps
            **({"budget_plan": self.plan.model_dump(), "planned_epochs": self.cfg.epochs} if self.plan else {}),
        }

    def weights_for(self, checkpoint: str) -> torch.nn.Module:
        """The module whose weights go into ``checkpoint``: ``best`` holds the EMA's when they won, else the raw ones."""
        if checkpoint == "best" and self.best_weights == "ema" and self.ema is not None:
            return self.ema.module
        return self.model

    def load(self, folder: str | Path) -> None:
        """Restore weights, optimizer, scheduler, scaler, RNG and counters from a checkpoint folder."""
        state = ckpt.load_state(folder)
        randomness.check_resume_layout(state, folder=folder, world_size=self.dist.world_size,  # (#13)
                                       batch_size=self.cfg.batch_size, model=self.model, cfg=self.cfg)
        self._set_stage(state["epoch"])  # the parameters trainable at that point
        if state.get("budget_plan") and self.budget_s is not None:  # the plan the run made; not made again
            from trainlab.artifacts.budget_plan import BudgetPlan

            self.plan = BudgetPlan(**state["budget_plan"])
            self._set_epochs(int(state["planned_epochs"]))
            self._replans = False
        ckpt.load_model_weights(folder, self.model)
        if self.ema is not None:
            if "ema" not in state:
                raise TrainlabError(f"{folder}: the checkpoint has no EMA weights, but the recipe asks for train.ema")
            self.ema.module.load_state_dict(state["ema"])
        self.best_weights = state.get("best_weights")
        self.optimizer.load_state_dict(state["optimizer"])
        set_lr(self.optimizer, self.schedule(state["step"]))  # this session's schedule (train.epochs may have grown)
        self.scaler.load_state_dict(state["scaler"])
        randomness.restore_rng(state, rank=self.dist.rank, seed=self.cfg.seed)  # (#13) each process its own
        self.epoch, self.step = state["epoch"], state["step"]
        self.best_metric, self.best_epoch, self.bad_epochs = state["best_metric"], state["best_epoch"], state["bad_epochs"]
        self.history = list(state.get("history") or [])

    # ---- the loop ----------------------------------------------------------------------------
    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_metric is None:
            return True
        delta = self.cfg.min_delta
        return value > self.best_metric + delta if self.cfg.monitor == "val_acc" else value < self.best_metric - delta

    def patience_spent(self) -> bool:
        """Early stopping: the monitored metric has not improved for ``patience`` epochs."""
        return self.cfg.patience > 0 and self.bad_epochs >= self.cfg.patience

    def fit(self, *, resume_from: str | Path | None = None) -> FitResult:
        """Train until ``train.epochs`` or early stopping; a resumed run that is already there trains no more."""
        cfg, main = self.cfg, self.dist.is_main
        if resume_from is not None:
            self.load(resume_from)
            if main:
                log.info("resumed from %s: %d of %d epochs done", resume_from, self.epoch, cfg.epochs)
        if self.writer is not None:
            self.writer.begin(self)
        has_val = len(self.val_index) > 0
        metric = cfg.monitor if has_val else "train_" + cfg.monitor[4:]
        if not has_val and main:
            log.warning("no validation images: the best checkpoint and early stopping follow %s", metric)
        t_start = time.perf_counter()
        self._session = (self.step, t_start)  # the whole-run ETA's pace is this session's
        while self.epoch < self.cfg.epochs and not self.patience_spent():
            cfg = self.cfg  # train.budget may have set the epochs
            self._set_stage(self.epoch)
            t0 = time.perf_counter()
            train = self.train_epoch(self.epoch)
            sync_buffers(self.model)
            val = self.evaluate(self.val_index) if has_val else {"loss": float("nan"), "acc": float("nan")}
            self.epoch += 1
            row = {
                "epoch": self.epoch, "train_loss": train["train_loss"], "train_acc": train["train_acc"],
                "val_loss": val["loss"], "val_acc": val["acc"], "lr": self._lr(),
                "time_s": 0.0, "images_per_s": train["train_images"] / max(train["train_seconds"], 1e-9),
            }
            winner = "raw"
            if self.ema is not None and has_val:
                averaged = self.evaluate(self.val_index, net=self.ema.module)
                row["val_loss_ema"], row["val_acc_ema"] = averaged["loss"], averaged["acc"]
                if ema_wins(row[metric + "_ema"], row[metric], cfg.monitor):
                    winner = "ema"
            row["time_s"] = time.perf_counter() - t0
            value = row[metric + "_ema"] if winner == "ema" else row[metric]
            self.history.append(row)
            self._rng_ranks = randomness.gather_rng_states()  # (#13) a collective: before the main-only block
            improved = self._improved(value)
            if improved:
                self.best_metric, self.best_epoch, self.bad_epochs, self.best_weights = value, self.epoch, 0, winner
            else:
                self.bad_epochs += 1
            self._replan(row["time_s"])
            if main:
                ema = f"  ema val loss {row['val_loss_ema']:.4f} acc {row['val_acc_ema']:.4f}" if "val_acc_ema" in row else ""
                log.info(
                    "epoch %d/%d  train loss %.4f acc %.4f  val loss %.4f acc %.4f%s  lr %.2e  %.1fs  %.0f img/s  %s%s",
                    self.epoch, self.cfg.epochs, row["train_loss"], row["train_acc"], row["val_loss"], row["val_acc"], ema,
                    row["lr"], row["time_s"], row["images_per_s"], self.eta(),
                    f"  *best* ({winner})" if improved and self.ema is not None else "  *best*" if improved else "",
                )
            if self.writer is not None:
                self.writer.epoch_end(self, row, improved=improved)
            barrier()
        cfg = self.cfg
        stopped = self.epoch < cfg.epochs
        if stopped and main:
            log.info("early stopping: %s has not improved for %d epochs (best %s at epoch %s)",
                     metric, cfg.patience, f"{self.best_metric:.4f}" if self.best_metric is not None else "none", self.best_epoch)
        return FitResult("stopped-early" if stopped else "finished", self.epoch, self.best_epoch, self.best_metric,
                         list(self.history), time.perf_counter() - t_start, best_weights=self.best_weights,
                         budget_plan=self.plan)
