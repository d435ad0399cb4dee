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

MAX_PRIOR_SIZE = 8192  # bounds the stored-prior buffers a (tampered) stored config can ask for
GAUSSIAN_LIMIT = 3.0  # a Gaussian-prior latent stays within +-3 sigma per number (uniform: [-1, 1])
# A small bank of stored latents samples with more noise: with a few hits per class, a blend of two neighbours lands
# next to one of them (a near-copy of a training hit). From LARGE_BANK stored latents down to SMALL_BANK the noise
# grows from the config's prior_noise to its prior_small_bank_noise of the class's spread, linearly in log(count).
SMALL_BANK, LARGE_BANK, SMALL_BANK_NOISE = 32, 256, 1.5


def bank_noise(prior_noise: float, count: int, small_bank_noise: float = SMALL_BANK_NOISE) -> float:
    """The noise a stored prior of `count` latents samples with: `prior_noise` for a bank of LARGE_BANK or more,
    rising to `small_bank_noise` (never below prior_noise) at SMALL_BANK or fewer, linearly in log(count)."""
    if count >= LARGE_BANK:
        return prior_noise
    w = min(1.0, math.log(LARGE_BANK / max(count, 1)) / math.log(LARGE_BANK / SMALL_BANK))
    return max(prior_noise, prior_noise + w * (small_bank_noise - prior_noise))


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
    # The stored-latent prior (the autoencoder's always, a GAN's after a latent fit): how many latents it keeps,
    # and how new hits blend them (DrumModel.sample_stored).
    prior_size: int = 1024  # training latents kept for sampling (a class-stratified subset of larger sets)
    prior_neighbours: int = 8  # a sample blends a latent with one of its nearest same-class latents
    prior_noise: float = 0.2  # ... plus this much of the class's per-number spread in Gaussian noise,
    prior_small_bank_noise: float = SMALL_BANK_NOISE  # ... rising to this for a bank of SMALL_BANK or fewer


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
        """n latents from the prior: [n, *latent_shape]. `labels` [n] are the classes the latents will be decoded
        with; a model whose prior depends on the class (the Autoencoder's) draws each latent from its class."""
        return self.fixed_latents(n, generator)

    def fixed_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latents from the fixed prior a generator is trained on: U(-1, 1) or N(0, 1)."""
        if self.latent_prior == "uniform":
            return torch.rand((n, *self.latent_shape), generator=generator) * 2 - 1
        return torch.randn((n, *self.latent_shape), generator=generator)

    def latent_limit(self) -> float:
        """How far a searched or fitted latent may go per number: the fixed prior's support (+-3 sigma)."""
        return 1.0 if self.latent_prior == "uniform" else GAUSSIAN_LIMIT

    def decode(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """[B, *latent_shape] (+ class indices [B]) -> audio [B, slice_length] in [-1, 1]."""
        raise NotImplementedError

    # -- the stored-latent prior (the Autoencoder's always; a GAN's after a latent fit to a kit) -------------
    def init_stored_prior(self) -> None:
        """Buffers for up to config.prior_size latents of real hits: the first prior_count rows are in use;
        labels are class indices, -1 for a hit without one. Needs config.prior_size, prior_neighbours and
        prior_noise."""
        size = self.config.prior_size
        if not 1 <= size <= MAX_PRIOR_SIZE:
            raise ValueError(f"prior_size must be 1..{MAX_PRIOR_SIZE}; got {size}")
        self.register_buffer("prior_latents", torch.zeros(size, self.latent_size))
        self.register_buffer("prior_labels", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("prior_count", torch.zeros((), dtype=torch.long))

    @property
    def has_stored_prior(self) -> bool:
        return int(getattr(self, "prior_count", 0)) > 0

    @torch.no_grad()
    def store_latents(self, z: torch.Tensor, y: np.ndarray | torch.Tensor | None) -> None:
        """Make latents z [N, latent_size] of real hits (classes y [N], -1 for none) the sampling prior."""
        n = len(z)
        if n > self.config.prior_size:
            raise ValueError(f"{n} latents do not fit a prior of {self.config.prior_size}")
        labels = torch.full((n,), -1, dtype=torch.long) if y is None else torch.as_tensor(np.asarray(y)).long()
        z, labels = z.to(self.prior_latents.device), labels.to(self.prior_labels.device)
        self.prior_latents.zero_()
        self.prior_labels.fill_(-1)
        self.prior_latents[:n] = z.reshape(n, -1)
        self.prior_labels[:n] = labels
        self.prior_count.fill_(n)

    def sample_stored(self, n: int, generator: torch.Generator | None, labels: torch.Tensor | None) -> torch.Tensor:
        """z = (1 - t) z_i + t z_j + s sigma eps: z_i a random stored latent of the asked class (any class when
        none is asked or the class has none stored), z_j one of its `prior_neighbours` nearest in that pool,
        t ~ U(0, 1), sigma the pool's per-number spread, s = `bank_noise(prior_noise, stored count)`."""
        c = self.config
        count = int(self.prior_count)
        noise = bank_noise(c.prior_noise, count, c.prior_small_bank_noise)
        bank, bank_labels = self.prior_latents[:count].detach().cpu(), self.prior_labels[:count].cpu()
        out = []
        for k in range(n):
            pool = torch.arange(count)
            if labels is not None and bool((bank_labels == labels[k]).any()):
                pool = torch.nonzero(bank_labels == labels[k])[:, 0]
            zs = bank[pool]  # [P, L]
            i = int(torch.randint(len(pool), (1,), generator=generator))
            near = torch.argsort(torch.cdist(zs[i:i + 1], zs)[0])[1:c.prior_neighbours + 1]  # excludes i itself
            j = int(near[torch.randint(len(near), (1,), generator=generator)]) if len(near) else i
            t = float(torch.rand((), generator=generator))
            spread = zs.std(0) if len(zs) > 1 else bank.std(0) if count > 1 else torch.ones(self.latent_size)
            eps = torch.randn(self.latent_size, generator=generator)
            out.append((1 - t) * zs[i] + t * zs[j] + noise * spread * eps)
        return torch.stack(out).reshape(n, *self.latent_shape)

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
            # each rank's gradients live on its own device (gloo: CPU tensors, NCCL: that rank's GPU)
            for group in opt.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
                    torch.distributed.all_reduce(p.grad)
                    p.grad /= world
        opt.step()

    def serving_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith(self.training_only)}
