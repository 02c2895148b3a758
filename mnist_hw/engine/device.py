"""Which device trains: the resolved name, and a clock that waits for queued GPU work."""
from __future__ import annotations

import torch

from .rules import Choice

DEVICES = ("auto", "cpu", "cuda", "mps")
DEVICE = Choice(DEVICES)


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks cuda > mps > cpu; naming an absent device is an error."""
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    DEVICE.check("device", name)
    if name == "auto":
        return torch.device(next(d for d in ("cuda", "mps", "cpu") if available[d]))
    if not available[name]:
        present = [d for d, ok in available.items() if ok]
        raise RuntimeError(f"device {name!r} is not available on this machine (available: {present}); use 'auto' or 'cpu'")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so the clock measures work done rather than work launched."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
