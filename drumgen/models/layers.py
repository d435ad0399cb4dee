"""What both GANs share: their config fields and class conditioning, for the generator (a label embedding
concatenated to z) and for the critic (a projection head, Miyato & Koyama 2018).

How they are trained (WGAN-GP, and the latent fit that adapts a trained generator to a small kit) is
drumgen/train/steps.py; everything specific to one model (phase shuffle, the convolution stacks) stays in its file.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from drumgen.models.base import BaseConfig

FITS = ("adversarial", "latent")
LATENT_FIT_MAX_HITS = 256  # `--fit auto` fits latents when fine-tuning a GAN on at most this many hits


@dataclasses.dataclass
class GANConfig(BaseConfig):
    """Fields WaveGAN's and SpecGAN's configs share."""

    latent_dim: int = 100
    latent_prior: str = "uniform"  # "uniform" z ~ U(-1, 1) as the paper, or "gaussian"
    d: int = 16  # model width: G's last hidden layer has d channels, its first 16d
    label_dim: int = 16  # size of the class embedding concatenated to z (conditional models)
    gp_weight: float = 10.0
    n_critic: int = 5  # critic updates per generator update
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    batch_size: int = 32
    fit: str = "adversarial"  # "adversarial" (WGAN-GP) or "latent" (fit latents + G to a small kit)
    fit_lr: float = 3e-4  # latent fit: the generator's learning rate
    fit_latent_lr: float = 0.02  # latent fit: the latents' learning rate
    prior_size: int = LATENT_FIT_MAX_HITS  # latent fit: stored latents (one per hit of the kit)

    def __post_init__(self) -> None:
        if self.latent_prior not in ("uniform", "gaussian"):
            raise ValueError(f"latent_prior must be 'uniform' or 'gaussian'; got {self.latent_prior!r}")
        if self.d < 1 or self.n_critic < 1:
            raise ValueError(f"d and n_critic must be positive; got d={self.d}, n_critic={self.n_critic}")
        if self.fit not in FITS:
            raise ValueError(f"fit must be one of {', '.join(FITS)}; got {self.fit!r}")


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
