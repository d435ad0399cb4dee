"""Layers both GANs share: class conditioning for the generator (label embedding concatenated to z) and for the
critic (a projection head, Miyato & Koyama 2018).

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
