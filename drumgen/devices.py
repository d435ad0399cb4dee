"""The one device choice every entry point takes: `--device auto|cpu|cuda|cuda:N|mps`.

`auto` is CUDA when there is a GPU, else Apple's MPS, else the CPU. Under torchrun each process takes its own GPU
(`LOCAL_RANK`) when the choice is CUDA, and the process group speaks NCCL there and gloo on the CPU. Latents are
always drawn on the CPU from seeded generators and moved to the device, so a seed gives the same sound on every
device; checkpoints are always written from CPU tensors and load onto any device.
"""

from __future__ import annotations

import os

import torch

CHOICES = "auto, cpu, cuda, cuda:N or mps"


class DeviceError(ValueError):
    """A device that this machine does not have, or a name that is not a device."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def resolve(choice: str | torch.device | None = "auto") -> torch.device:
    """The torch.device for a user's choice; DeviceError (one line: what is missing, what to use) otherwise."""
    text = str(choice or "auto").strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return local_cuda()
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise DeviceError(f"unknown device {choice!r}; choose {CHOICES}") from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {text}: this machine has no CUDA GPU that torch {torch.__version__} can use; "
                              "use --device cpu (or auto)")
        if device.index is None:
            return local_cuda()
        if device.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {text}: there are only {torch.cuda.device_count()} CUDA devices "
                              f"(cuda:0..cuda:{torch.cuda.device_count() - 1})")
        return device
    if device.type == "mps":
        if not _mps_available():
            raise DeviceError("--device mps: Apple's Metal (MPS) is not available here; use --device cpu (or auto)")
        return device
    raise DeviceError(f"unknown device {choice!r}; choose {CHOICES}")


def local_cuda() -> torch.device:
    """This process's GPU: the torchrun rank's own (LOCAL_RANK), else the first."""
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % max(1, torch.cuda.device_count()))


def backend(device: torch.device) -> str:
    """The torch.distributed backend for gradients that live on `device`."""
    return "nccl" if device.type == "cuda" else "gloo"


def prepare(device: torch.device) -> None:
    """Per-device speed settings: cuDNN picks its fastest convolution once per shape on CUDA."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
