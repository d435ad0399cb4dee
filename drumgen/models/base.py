"""What every drumgen generative model offers the training loop, the checkpoint and the engine.

A model is an nn.Module built only from its Config dataclass (`Model(Config(**stored))`). Generation goes through
latents: `sample_latents` draws from the prior, `decode` turns latents into audio at `config.sample_rate`, so a
latent (flattened to a list of floats) is a sound's identity. Training is one `train_step` per batch that returns
a flat dict of named losses; the loop around it (train.py) is the same for every model.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn


class StoredConfig:
    """A dataclass config that round-trips through a checkpoint's JSON metadata."""

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Build from stored JSON, ignoring keys this version does not know (older/newer checkpoints)."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: (tuple(v) if isinstance(v, list) and isinstance(getattr(cls, k, None), tuple) else v)
                  for k, v in d.items() if k in names}
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class BaseConfig(StoredConfig):
    """Fields every model's Config has (each model's Config subclasses this and adds its own)."""

    sample_rate: int = 22050
    slice_length: int = 16384
    labels: tuple[str, ...] = ()  # class names the model is conditioned on; () = unconditional
    batch_size: int = 32
    preset: str = "custom"


class DrumModel(nn.Module):
    kind: ClassVar[str]
    Config: ClassVar[type[BaseConfig]]
    latent_prior: ClassVar[str] = "gaussian"  # "gaussian" -> slerp between latents, "uniform" -> lerp
    can_encode: ClassVar[bool] = False
    # state_dict keys with these prefixes are needed only to train (a GAN's discriminator): the served checkpoint
    # leaves them out, and the resume state keeps them.
    training_only: ClassVar[tuple[str, ...]] = ()
    # state_dict keys with these prefixes may be missing from a file written by an older drumgen: the model keeps
    # their initial values (the Autoencoder's stored-latent prior).
    optional_state: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: BaseConfig):
        super().__init__()
        self.config = config

    # -- generation ------------------------------------------------------------------------------------
    @property
    def latent_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def latent_size(self) -> int:
        return math.prod(self.latent_shape)

    def sample_latents(self, n: int, generator: torch.Generator | None = None,
                       labels: torch.Tensor | None = None) -> torch.Tensor:
        """n latents from the prior: [n, *latent_shape]. `labels` [n] are the classes the latents will be decoded
        with; a model whose prior depends on the class (the Autoencoder's) draws each latent from its class."""
        if self.latent_prior == "uniform":
            return torch.rand((n, *self.latent_shape), generator=generator) * 2 - 1
        return torch.randn((n, *self.latent_shape), generator=generator)

    def decode(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """[B, *latent_shape] (+ class indices [B]) -> audio [B, slice_length] in [-1, 1]."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """audio [B, slice_length] -> latents [B, *latent_shape] (models with can_encode only)."""
        raise NotImplementedError(f"{self.kind} has no encoder")

    def label_index(self, label: str | None, n: int) -> torch.Tensor | None:
        """Class name -> index tensor [n] for a conditional model; None for unconditional ones."""
        if not self.config.labels:
            if label is not None:
                raise ValueError(f"this {self.kind} model is not class-conditional; leave out the label")
            return None
        if label is None:
            return torch.randint(len(self.config.labels), (n,))
        if label not in self.config.labels:
            raise ValueError(f"unknown label {label!r}; this model knows {', '.join(self.config.labels)}")
        return torch.full((n,), self.config.labels.index(label), dtype=torch.long)

    # -- training --------------------------------------------------------------------------------------
    def fit_statistics(self, x: np.ndarray) -> None:
        """Compute data-dependent buffers (SpecGAN's per-bin normalisation) from the training hits [N, T]."""

    def fit_latent_prior(self, x: np.ndarray, y: np.ndarray | None = None) -> None:
        """Fit a learned prior over latents to the training hits x [N, T] (labels y [N]); the training loop calls
        it before each checkpoint it writes. Models whose prior is fixed (the GANs) have nothing to fit."""

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, x: torch.Tensor, y: torch.Tensor | None, opt: dict[str, torch.optim.Optimizer],
                   step: int) -> dict[str, float]:
        """One update on a batch x [B, slice_length] (labels y [B] or None); returns named losses."""
        raise NotImplementedError

    def optimize(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """zero_grad, backward, average gradients over processes (torchrun), step. Every train_step uses it."""
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            world = torch.distributed.get_world_size()
            for group in opt.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
                    torch.distributed.all_reduce(p.grad)
                    p.grad /= world
        opt.step()

    def serving_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith(self.training_only)}
