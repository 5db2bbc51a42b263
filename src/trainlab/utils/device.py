"""Pick the compute device: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

from trainlab.errors import TrainlabError

CHOICES = ("auto", "cuda", "mps", "cpu")


def pick_device(preference: str = "auto"):
    """Return a ``torch.device`` for ``preference`` (one of auto, cuda, cuda:N, mps, cpu)."""
    import torch

    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainlabError(f"device '{preference}' was asked for but CUDA is not available here; use device=auto or device=cpu")
        return torch.device(pref)
    if pref == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise TrainlabError("device 'mps' was asked for but Apple MPS is not available here; use device=auto or device=cpu")
        return torch.device("mps")
    if pref == "cpu":
        return torch.device("cpu")
    raise TrainlabError(f"unknown device '{preference}'; allowed: auto, cuda, cuda:N, mps, cpu")
