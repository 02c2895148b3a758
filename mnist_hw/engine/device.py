"""Which device trains and why: the resolved name, the reason in words, a CUDA run's versions, and a clock that
waits for queued GPU work.

`auto` is cuda when an NVIDIA GPU is there, else cpu. Apple's mps is used only when asked for by name: this code has
never run on it, and the earlier report found the CPU faster than mps for these models (docs/devices.md).
"""
from __future__ import annotations

import subprocess
from typing import Any

import torch

from .rules import Choice

DEVICES = ("auto", "cpu", "cuda", "mps")
DEVICE = Choice(DEVICES)


def available_devices() -> dict[str, bool]:
    """Each device type this code knows, and whether this machine has it now."""
    return {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks cuda, else cpu (never mps: see device_reason); naming an absent device is an error."""
    DEVICE.check("device", name)
    available = available_devices()
    if name == "auto":
        return torch.device("cuda" if available["cuda"] else "cpu")
    if not available[name]:
        present = [d for d, ok in available.items() if ok]
        raise RuntimeError(f"device {name!r} is not available on this machine (available: {present}); use 'auto' or 'cpu'")
    return torch.device(name)


def device_reason(name: str = "auto") -> str:
    """Which device `name` runs on and why, in one phrase that the notebooks print (through Run.describe):
    'cuda (auto: NVIDIA H100 80GB HBM3 found)', 'cpu (auto: no CUDA GPU)', 'mps (asked for by name; untested on
    hardware)'."""
    device = resolve_device(name)
    if name != "auto":
        untested = "; untested on hardware, Adam through torch.optim" if device.type == "mps" else ""
        return f"{device.type} (asked for by name{untested})"
    if device.type == "cuda":
        return f"cuda (auto: {torch.cuda.get_device_name(device)} found)"
    mps = "; this Mac's mps is used only when asked for by name" if available_devices()["mps"] else ""
    return f"cpu (auto: no CUDA GPU{mps})"


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so the clock measures work done rather than work launched."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def gpu_versions(device: torch.device) -> dict[str, Any]:
    """What a CUDA run's numbers depend on besides the GPU (device_name): the CUDA that torch was built with and the
    NVIDIA driver (nvidia-smi's answer; None where it cannot say). Nothing for other devices."""
    if device.type != "cuda":
        return {}
    index = device.index if device.index is not None else torch.cuda.current_device()
    try:
        driver = subprocess.run(["nvidia-smi", f"--id={index}", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        driver = None
    return {"cuda_version": torch.version.cuda, "driver_version": driver}
