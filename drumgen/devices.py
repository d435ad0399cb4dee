"""The one device choice every entry point takes: `--device auto|cpu|cuda|cuda:N|mps`.

`auto` is CUDA when there is a GPU, else Apple's MPS, else the CPU. Under torchrun each process takes its own GPU
(`LOCAL_RANK`) when the choice is CUDA, and the process group speaks NCCL there and gloo on the CPU. Latents are
always drawn on the CPU from seeded generators and moved to the device, so a seed gives the same sound on every
device; checkpoints are always written from CPU tensors and load onto any device.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

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
    """Per-device speed settings: cuDNN picks its fastest convolution once per shape on CUDA; on Linux the C
    allocator keeps the memory a decode frees for the next one (`keep_freed_memory`)."""
    keep_freed_memory()
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
MMAP_THRESHOLD = 32 << 20  # glibc's largest: blocks up to 32 MB come from the heap, not a fresh mapping each
TRIM_THRESHOLD = 256 << 20  # free memory kept at the heap's top before it is given back


@functools.cache
def keep_freed_memory() -> bool:
    """Let glibc's malloc reuse large freed blocks instead of unmapping them. By default a block over 128 kB to
    32 MB (a kit's spectra and waveforms are 3-12 MB) is often a fresh mapping that goes back to the system when
    freed, so the next decode touches every page of it again: 10,130 page faults per 8-hit autoencoder kit,
    about a fifth of its time on this project's 2-core machine (benchmarks/speed.py). Memory stays at its peak
    instead of rising and falling with each request. True when set (Linux with glibc), else False (a no-op)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return (bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
            and bool(mallopt(_M_ARENA_MAX, 1)))
