"""Short-time Fourier transforms, log-magnitude and mel spectrograms, and Griffin-Lim phase reconstruction (torch).

All functions take audio as [B, T] float tensors and use a periodic Hann window; `hop` defaults to n_fft // 4.
"""

from __future__ import annotations

import functools
import math

import torch


@functools.lru_cache(maxsize=32)
def _window(n_fft: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, device=device, dtype=dtype)


def stft(x: torch.Tensor, n_fft: int, hop: int | None = None, center: bool = True) -> torch.Tensor:
    """[B, T] -> complex [B, n_fft // 2 + 1, frames]."""
    hop = hop or n_fft // 4
    w = _window(n_fft, str(x.device), x.dtype)
    return torch.stft(x, n_fft, hop, window=w, center=center, return_complex=True)


def istft(spec: torch.Tensor, n_fft: int, hop: int | None = None, length: int | None = None) -> torch.Tensor:
    """complex [B, F, frames] -> [B, T]."""
    hop = hop or n_fft // 4
    w = _window(n_fft, str(spec.device), spec.real.dtype)
    return torch.istft(spec, n_fft, hop, window=w, length=length)


def magnitude(x: torch.Tensor, n_fft: int, hop: int | None = None) -> torch.Tensor:
    """[B, T] -> [B, F, frames] magnitudes."""
    return stft(x, n_fft, hop).abs()


def log_magnitude(x: torch.Tensor, n_fft: int, hop: int | None = None, eps: float = 1e-6) -> torch.Tensor:
    """[B, T] -> [B, F, frames] natural-log magnitudes, log(|X| + eps) as in SpecGAN."""
    return torch.log(magnitude(x, n_fft, hop) + eps)


def hz_to_mel(f: float | torch.Tensor):
    return 2595.0 * (math.log10(1 + f / 700.0) if isinstance(f, float) else torch.log10(1 + f / 700.0))


@functools.lru_cache(maxsize=16)
def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, fmin: float = 20.0, fmax: float | None = None) -> torch.Tensor:
    """Triangular HTK-mel filters, [n_mels, n_fft // 2 + 1], each filter's area normalised to 1."""
    fmax = fmax or sample_rate / 2
    mels = torch.linspace(float(hz_to_mel(float(fmin))), float(hz_to_mel(float(fmax))), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1)
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (center - lower).clamp_min(1e-6)
    down = (upper - freqs[None]) / (upper - center).clamp_min(1e-6)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    return fb / fb.sum(dim=1, keepdim=True).clamp_min(1e-9)


def log_mel(x: torch.Tensor, sample_rate: int, n_fft: int = 1024, hop: int | None = None, n_mels: int = 64,
            eps: float = 1e-5) -> torch.Tensor:
    """[B, T] -> [B, n_mels, frames] log mel energies."""
    fb = mel_filterbank(n_mels, n_fft, sample_rate).to(x.device, x.dtype)
    power = magnitude(x, n_fft, hop) ** 2
    return torch.log(torch.einsum("mf,bft->bmt", fb, power) + eps)


def griffin_lim(mag: torch.Tensor, n_fft: int, hop: int | None = None, iters: int = 16, length: int | None = None,
                momentum: float = 0.99, seed: int = 0) -> torch.Tensor:
    """Phase reconstruction from magnitudes [B, F, frames] -> audio [B, T].

    The fast variant (Perraudin et al. 2013): each iteration projects onto consistent spectrograms and adds
    `momentum` times the change, which reaches a given error in far fewer iterations than plain Griffin-Lim
    (momentum=0). The initial phase is random but seeded, so the same magnitudes give the same audio.
    """
    g = torch.Generator(device="cpu").manual_seed(seed)
    # one initial phase for every item ([F, frames], broadcast over the batch), so a sound's audio does not
    # depend on which batch it was decoded in
    angles = torch.exp(2j * math.pi * torch.rand(mag.shape[-2:], generator=g)).to(mag.device)
    prev = torch.zeros_like(angles)
    spec = mag * angles
    for _ in range(iters):
        x = istft(spec, n_fft, hop, length)
        rebuilt = stft(x, n_fft, hop)
        accelerated = rebuilt - (momentum / (1 + momentum)) * prev if momentum else rebuilt
        prev = rebuilt
        # unit phasors by division: several times faster than exp(1j * angle(.)) on CPU (where |X| ~ 0, mag is too)
        spec = mag * (accelerated / accelerated.abs().clamp_min(1e-12))
    return istft(spec, n_fft, hop, length)
