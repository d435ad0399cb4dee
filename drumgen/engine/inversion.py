"""GAN inversion: find the latent whose decoded sound is closest to a given hit, for models without an encoder.

This is how "play this tom through my kit's WaveGAN" works: search the generator's latent space for the output
nearest to the user's hit (Zhu et al. 2016, "Generative Visual Manipulation on the Natural Image Manifold",
arXiv:1609.03552, do the same for images: a good starting point, then optimisation of z). Two stages:

1. pick the best of K latents drawn from the prior, by a multi-resolution STFT distance (decoded in batches);
2. refine it with Adam steps on z through the generator under a wall-clock budget, keeping z inside the prior's
   support (uniform priors: [-1, 1]; Gaussian: +-3 sigma per number), and keep the best latent seen.

Everything is seeded, so the same hit and model give the same latent.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch

from drumgen.losses import MultiResolutionSTFTLoss

if TYPE_CHECKING:
    from drumgen.models.base import DrumModel


class InversionError(ValueError):
    """The hit cannot be inverted (wrong shape, silent); the message says what to pass instead."""


def _distance(loss: MultiResolutionSTFTLoss, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-item multi-resolution STFT distance: [B, T] vs [1, T] -> [B]."""
    return torch.stack([loss(x_hat[i:i + 1], x) for i in range(x_hat.shape[0])])


def invert(model: DrumModel, x: torch.Tensor, seconds: float = 2.0, candidates: int = 32, batch: int = 8, lr: float = 0.05,
           label: torch.Tensor | None = None, seed: int = 0,
           fft_sizes: tuple[int, ...] = (2048, 512, 128)) -> torch.Tensor:
    """Audio [1, slice_length] -> latent [1, *latent_shape] whose decoding sounds closest to it.

    seconds: the budget for both stages: the candidate search takes up to 40% of it (at least one batch), the
    refinement the rest; neither starts a step that its last step's duration says would overrun.
    candidates: prior samples tried before refinement. label: class index [1] for conditional models.
    """
    if x.dim() != 2 or x.shape[0] != 1 or x.shape[1] != model.config.slice_length:
        raise InversionError(f"invert takes one hit shaped [1, {model.config.slice_length}]; got {list(x.shape)} "
                             f"(prepare it with drumgen.io.audio.prepare)")
    if not torch.isfinite(x).all() or x.abs().max() < 1e-6:
        raise InversionError("the hit is silent or holds NaN samples; nothing to invert")
    deadline = time.monotonic() + seconds
    loss = MultiResolutionSTFTLoss(fft_sizes)
    x = x.float()
    was_training = model.training
    model.eval()
    try:
        # (1) best of K prior samples
        g = torch.Generator().manual_seed(seed)
        best_z: torch.Tensor | None = None
        best_d = float("inf")
        search_end = time.monotonic() + 0.4 * seconds  # the rest of the budget refines
        with torch.no_grad():
            for start in range(0, candidates, batch):
                t0 = time.monotonic()
                z = model.sample_latents(min(batch, candidates - start), g).to(x.device)  # drawn on the CPU
                y = None if label is None else label.expand(z.shape[0])
                d = _distance(loss, model.decode(z, y), x)
                i = int(torch.argmin(d))
                if float(d[i]) < best_d:
                    best_z, best_d = z[i:i + 1].clone(), float(d[i])
                if time.monotonic() + (time.monotonic() - t0) > search_end:  # the next batch would overrun
                    break
        if best_z is None:  # every distance was NaN
            raise InversionError("the model decodes its prior samples to NaN audio; nothing to invert towards")
        # (2) refine z by gradient descent on the same distance, within the prior's support
        z = best_z.clone().requires_grad_(True)
        m1, m2 = torch.zeros_like(z), torch.zeros_like(z)  # Adam's moments (Kingma & Ba 2015), by hand:
        # torch.optim's first step imports torch._dynamo (seconds), which a serving process would pay per start.
        params = list(model.parameters())
        flags = [p.requires_grad for p in params]
        for p in params:  # gradients for z only: the weights' are not needed and cost time
            p.requires_grad_(False)
        try:
            last, step = 0.0, 0
            while time.monotonic() + last < deadline:  # stop before a step that would overrun the budget
                t0 = time.monotonic()
                d = loss(model.decode(z, label), x)
                if d.item() < best_d:
                    best_z, best_d = z.detach().clone(), d.item()
                (grad,) = torch.autograd.grad(d, z)
                step += 1
                with torch.no_grad():
                    m1.mul_(0.9).add_(0.1 * grad)
                    m2.mul_(0.999).add_(0.001 * grad**2)
                    update = (m1 / (1 - 0.9**step)) / ((m2 / (1 - 0.999**step)).sqrt() + 1e-8)
                    z.copy_((z - lr * update).clamp(-model.latent_limit(), model.latent_limit()))
                last = time.monotonic() - t0
        finally:
            for p, flag in zip(params, flags, strict=True):
                p.requires_grad_(flag)
        return best_z.detach()
    finally:
        model.train(was_training)
