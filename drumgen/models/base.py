"""What every drumgen generative model offers the checkpoint and the engine: its Config and the latent interface.

A model is an nn.Module built only from its Config dataclass (`Model(Config(**stored))`). Generation goes through
latents: `sample_latents` draws from the prior, `decode` turns latents into audio at `config.sample_rate`, so a
latent (flattened to a list of floats) is a sound's identity. A model that owns a filled bank of stored latents
(models/prior.py) samples blends of them; otherwise it samples its fixed prior, N(0, 1) or U(-1, 1).

Training is not the model's: drumgen/train/steps.py holds each kind's update as a plain function.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import nn

from drumgen.models import fastconv
from drumgen.models.prior import LatentBank, PriorConfig

GAUSSIAN_LIMIT = 3.0  # a Gaussian-prior latent stays within +-3 sigma per number (uniform: [-1, 1])

C = TypeVar("C", bound="StoredConfig")


@dataclasses.dataclass
class StoredConfig:
    """A dataclass config that round-trips through a checkpoint's JSON metadata (its fields: the subclass's)."""

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        """Build from stored JSON, ignoring keys this version does not know (older/newer checkpoints)."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: (tuple(v) if isinstance(v, list) and isinstance(getattr(cls, k, None), tuple) else v)
                  for k, v in d.items() if k in names}
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class BaseConfig(StoredConfig, PriorConfig):
    """Fields every model's Config has (each model's Config subclasses this and adds its own), the stored-latent
    prior's knobs (PriorConfig: prior_size, prior_neighbours, prior_noise, prior_small_bank_noise) among them."""

    sample_rate: int = 22050
    slice_length: int = 16384
    labels: tuple[str, ...] = ()  # class names the model is conditioned on; () = unconditional
    batch_size: int = 32
    preset: str = "custom"


class DrumModel(nn.Module):
    kind: ClassVar[str]
    Config: ClassVar[type[BaseConfig]]
    latent_prior: str = "gaussian"  # "gaussian" -> slerp between latents, "uniform" -> lerp (a GAN's config sets it)
    can_encode: ClassVar[bool] = False
    # state_dict keys with these prefixes are needed only to train (a GAN's discriminator): the served checkpoint
    # leaves them out, and the resume state keeps them.
    training_only: ClassVar[tuple[str, ...]] = ()
    # state_dict keys with these prefixes may be missing from a file written by an older drumgen: the model keeps
    # their initial values (an empty bank of stored latents).
    optional_state: ClassVar[tuple[str, ...]] = ()
    # At most this many hits per decode call on a CPU (None: any): past it the activations fall out of the caches
    # and a big batch (the server's, of many players' kits) decodes slower per hit than in pieces.
    decode_batch: ClassVar[int | None] = None
    config: BaseConfig
    prior: LatentBank | None  # the stored latents new hits are blended from (models/prior.py), if the kind has them

    def __init__(self, config: BaseConfig):
        super().__init__()
        self.config = config
        self.prior = None

    def set_fast_dtype(self, dtype: torch.dtype) -> None:
        """The number type of the CPU inference path's convolution stacks (drumgen.models.fastconv): float32, the
        numbers training gives, or bfloat16 where the CPU multiplies it natively (fastconv.bfloat16_native)."""
        for module in self.modules():
            fast = getattr(module, "_fast", None)
            if isinstance(fast, fastconv.FastConv):
                fast.dtype = dtype

    @property
    def device(self) -> torch.device:
        """Where the weights live. Latents are always sampled on the CPU (seeded generators give the same latent
        on every device) and moved here to be decoded."""
        return next(self.parameters()).device

    # -- generation ------------------------------------------------------------------------------------
    @property
    def latent_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def latent_size(self) -> int:
        return math.prod(self.latent_shape)

    def sample_latents(self, n: int, generator: torch.Generator | None = None,
                       labels: torch.Tensor | None = None) -> torch.Tensor:
        """n latents for new hits [n, *latent_shape]: blends of the stored latents of the classes `labels` [n]
        (any class for None) when the model's bank holds some, else draws from the fixed prior."""
        if self.prior is not None and self.prior.stored:
            return self.prior.sample(n, generator, labels, self.config, self.measured_latent())
        return self.fixed_latents(n, generator)

    def fixed_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latents from the fixed prior a generator is trained on: U(-1, 1) or N(0, 1)."""
        if self.latent_prior == "uniform":
            return torch.rand((n, *self.latent_shape), generator=generator) * 2 - 1
        return torch.randn((n, *self.latent_shape), generator=generator)

    def latent_limit(self) -> float:
        """How far a searched or fitted latent may go per number: the fixed prior's support (+-3 sigma)."""
        return 1.0 if self.latent_prior == "uniform" else GAUSSIAN_LIMIT

    def held_latent(self) -> torch.Tensor | None:
        """A mask [latent_size] of numbers that are a sound's identity rather than its timbre (the autoencoder's
        noise seed): variations and velocity layers keep them from the source. None: every number is timbre."""
        return None

    def measured_latent(self) -> torch.Tensor | None:
        """A mask [latent_size] of numbers measured in a hit rather than learned (the autoencoder's partials: each
        a frequency and a level found in the hit's spectrum), plus held_latent's: a new hit blends them from two
        stored hits but adds no noise to them, which would detune every partial on its own. None: no such
        numbers."""
        return self.held_latent()

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

    @property
    def has_stored_prior(self) -> bool:
        return self.prior is not None and self.prior.stored > 0

    # -- data-dependent buffers and serving ------------------------------------------------------------
    def fit_statistics(self, x: np.ndarray) -> None:
        """Compute data-dependent buffers (SpecGAN's per-bin normalisation) from the training hits x [N, T]."""

    def serving_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith(self.training_only)}
