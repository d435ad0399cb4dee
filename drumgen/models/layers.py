"""What both GANs share: class conditioning for the generator (label embedding concatenated to z) and for the
critic (a projection head, Miyato & Koyama 2018), and the WGAN-GP update (Gulrajani et al. 2017).

Kept apart from the models because WaveGAN and SpecGAN use them identically; everything specific to one model
(phase shuffle, the convolution stacks) stays in that model's file.
"""

from __future__ import annotations

import torch
from torch import nn


class LabelConcat(nn.Module):
    """z [B, latent_dim] (+ class indices y [B]) -> [B, latent_dim + label_dim].

    Conditioning by concatenation (Mirza & Osindero 2014, "Conditional GANs"): a learned vector per class rides
    along with z into the generator's first dense layer. With no classes it is the identity.
    """

    def __init__(self, n_labels: int, label_dim: int):
        super().__init__()
        self.embed = nn.Embedding(n_labels, label_dim) if n_labels else None
        self.out_extra = label_dim if n_labels else 0

    def forward(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.embed is None:
            return z
        if y is None:
            raise ValueError("this generator is class-conditional: give class indices y [B]")
        return torch.cat([z, self.embed(y)], dim=1)


class ProjectionHead(nn.Module):
    """Critic output from flattened features h [B, F] (+ y [B]) -> scores [B].

    score = w.h + b (+ embed(y).h): the projection discriminator (Miyato & Koyama, "cGANs with Projection
    Discriminator", ICLR 2018), which conditions the critic without feeding labels through its convolutions.
    No sigmoid: a WGAN critic outputs an unbounded score.
    """

    def __init__(self, features: int, n_labels: int):
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(n_labels, features) if n_labels else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, std=features ** -0.5)

    def forward(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        score = self.linear(h)[:, 0]
        if self.embed is not None:
            if y is None:
                raise ValueError("this critic is class-conditional: give class indices y [B]")
            score = score + (self.embed(y) * h).sum(dim=1)
        return score


class WGANGP:
    """The WGAN-GP training of a model with a generator `G(z, y)` and a critic `D(h, y)`, where `real` is what the
    critic sees of a batch (a waveform for WaveGAN, a normalised spectrogram for SpecGAN). Mixed into the models."""

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        return {"D": torch.optim.Adam(self.D.parameters(), cfg.lr, betas),
                "G": torch.optim.Adam(self.G.parameters(), cfg.lr, betas)}

    def wgan_gp_step(self, real: torch.Tensor, y: torch.Tensor | None, opt: dict[str, torch.optim.Optimizer],
                     step: int) -> dict[str, float]:
        """One critic update; a generator update too on every n_critic-th step. Returns named losses."""
        from drumgen.losses import gradient_penalty

        cfg = self.config
        # (1) Update D: maximise D(real) - D(G(z)), with the gradient penalty keeping D 1-Lipschitz
        with torch.no_grad():
            fake = self.G(self.sample_latents(real.shape[0]), y)
        d_real, d_fake = self.D(real, y).mean(), self.D(fake, y).mean()
        gp = gradient_penalty(self.D, real, fake, y)
        d_loss = d_fake - d_real + cfg.gp_weight * gp
        self.optimize(opt["D"], d_loss)
        losses = {"d_loss": d_loss.item(), "wasserstein": (d_real - d_fake).item(), "gp": gp.item()}
        # (2) Update G: maximise D(G(z)), once per n_critic critic updates
        if (step + 1) % cfg.n_critic == 0:
            self.D.requires_grad_(False)  # no critic gradients needed here: saves a third of the backward
            try:
                g_loss = -self.D(self.G(self.sample_latents(real.shape[0]), y), y).mean()
                self.optimize(opt["G"], g_loss)
            finally:
                self.D.requires_grad_(True)
            losses["g_loss"] = g_loss.item()
        return losses
