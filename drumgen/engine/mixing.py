"""Mixing latents: the in-between points of a morph and of NSynth Super's four-corner pad.

Gaussian priors of decode-only models (the GANs) mix spherically, so in-between latents keep the norm the generator
was trained on (White 2016, "Sampling Generative Networks"); an autoencoder's embeddings and uniform priors mix
linearly.
"""

from __future__ import annotations

import torch


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation of flattened latents (White 2016, "Sampling Generative Networks")."""
    af, bf = a.reshape(-1), b.reshape(-1)
    cos = torch.dot(af, bf) / (af.norm() * bf.norm()).clamp_min(1e-8)
    omega = torch.arccos(cos.clamp(-1, 1))
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def mix(latents: list[torch.Tensor], weights: list[float], spherical: bool) -> torch.Tensor:
    """The weighted mix of latents (weights sum to 1): slerp for two on a sphere, a norm-kept bilinear mix for
    more, a plain weighted sum otherwise."""
    if spherical and len(latents) == 2:
        return slerp(latents[0], latents[1], weights[1])
    mixed = torch.zeros_like(latents[0])
    for w, z in zip(weights, latents, strict=True):
        mixed = mixed + w * z
    if spherical:  # a bilinear mix of Gaussian latents shrinks their norm; rescale to the weighted mean norm
        norm = sum(w * float(z.norm()) for w, z in zip(weights, latents, strict=True))
        return mixed * (norm / mixed.norm().clamp_min(1e-8))
    return mixed
