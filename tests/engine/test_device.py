"""Which device runs, and why: auto is cuda, else cpu, never mps; mps only by name, and then Adam through the
public torch.optim (the machine's devices are faked, whatever it really has)."""
import pytest
import torch

from mnist_hw.engine import optim
from mnist_hw.engine.device import device_reason, resolve_device
from mnist_hw.engine.optim import Adam, adam_route
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.models import SimpleMLP


@pytest.fixture
def machine(monkeypatch):
    """have(cuda=..., mps=...): pretend this machine has (or lacks) those devices, whatever it really has."""
    def have(cuda: bool, mps: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA Fake GPU")
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    return have


def test_unknown_or_absent_device_is_a_clear_error(machine):
    with pytest.raises(ValueError, match="device: .tpu. is not allowed"):
        resolve_device("tpu")
    machine(cuda=False, mps=False)
    for name in ("cuda", "mps"):
        with pytest.raises(RuntimeError, match=rf"device '{name}' is not available on this machine \(available: \['cpu'\]\)"):
            resolve_device(name)
    assert resolve_device("auto") == resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("cuda,mps,picked", [(True, True, "cuda"), (True, False, "cuda"), (False, True, "cpu"),
                                             (False, False, "cpu")])
def test_auto_picks_cuda_else_cpu_never_mps(machine, cuda, mps, picked):
    machine(cuda=cuda, mps=mps)
    assert resolve_device("auto") == torch.device(picked)


@pytest.mark.parametrize("cuda,mps,name,reason", [
    (True, True, "auto", "cuda (auto: NVIDIA Fake GPU found)"),
    (False, True, "auto", "cpu (auto: no CUDA GPU; this Mac's mps is used only when asked for by name)"),
    (False, False, "auto", "cpu (auto: no CUDA GPU)"),
    (True, True, "cpu", "cpu (asked for by name)"),
    (False, True, "mps", "mps (asked for by name; untested on hardware, Adam through torch.optim)"),
])
def test_the_reason_names_the_device_and_why(machine, cuda, mps, name, reason):
    machine(cuda=cuda, mps=mps)
    assert device_reason(name) == reason


def test_mps_only_by_name(machine):
    machine(cuda=False, mps=True)
    assert resolve_device("mps") == torch.device("mps")


def test_adam_on_mps_takes_the_public_path(monkeypatch):
    """Whatever torch lists as having a fused kernel (mps among them), Adam on mps uses torch.optim.Adam(fused=False);
    cpu and cuda, where the kernel has run, keep the direct call."""
    monkeypatch.setattr(optim, "_fused_devices", lambda: ["mps", "cuda", "cpu"])
    assert adam_route("mps") == adam_route("mps", direct=False) == "public"
    assert adam_route("cuda") == adam_route("cpu") == "kernel"
    assert adam_route("cuda", direct=False) == "fused"
    monkeypatch.setattr(optim, "_fused_devices", lambda: [])  # a torch without fused optimizers
    assert adam_route("cpu") == "public"


def test_the_public_path_steps_like_torch(monkeypatch):
    """The route adam_route picks for mps, run on the CPU: torch.optim.Adam unfused, same numbers as the kernel."""
    stack, other = MLPStack([SimpleMLP(5, 3, 2)]), MLPStack([SimpleMLP(5, 3, 2)])
    other.params.copy_(stack.params)
    kernel = Adam(stack.params, stack.grad, 0.01)
    monkeypatch.setattr(optim, "FUSED_RUN", ())  # the cpu treated as a device the kernel never ran on, as mps is
    public = Adam(other.params, other.grad, 0.01)
    assert (kernel.route, public.route) == ("kernel", "public")
    assert public.optimizer.defaults["fused"] is False
    for _ in range(3):
        g = torch.randn_like(stack.grad)
        stack.grad.copy_(g)
        other.grad.copy_(g)
        kernel.step()
        public.step()
    torch.testing.assert_close(stack.params, other.params)
