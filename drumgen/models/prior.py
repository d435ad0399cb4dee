"""The stored-latent prior: a bank of latents of real hits, and the sampler that blends new hits out of it.

The Autoencoder banks the encoded latents of its training hits (drumgen.train.steps.fit_latent_prior); a GAN, the
latents a latent fit gave each hit of a kit (drumgen.train.steps.latent_fit_step). A model owns its bank as
`model.prior`; an empty bank means the model samples its fixed prior instead.

A new hit of class k: z = (1 - t) z_i + t z_j + s sigma_k eps, where z_i is a random stored latent of class k (of
any class when none is asked or class k has none stored), z_j one of its `prior_neighbours` nearest in that pool,
t ~ U(0, 1), sigma_k the pool's per-number spread (0 for numbers the model measured in the hit rather than learned,
DrumModel.measured_latent: a partial's frequency), eps ~ N(0, I), and s = bank_noise(prior_noise, stored count).
A small bank (a fine-tune on a kit of a few dozen hits) samples with more noise: with a few hits per class, a blend
of two neighbours lands next to one of them, a near-copy of a training hit (benchmarks/bank_noise.py measures it).

The knobs are PriorConfig's fields. Every model's Config has them (models/base.py BaseConfig), so they are stored
in the checkpoint's config under the names they always had, and a sampler reads them from the config it is given.
The bank's tensors are saved with the model's as `prior.latents`, `prior.labels`, `prior.count` (files written
before the bank was its own module call them `prior_latents`, ...: drumgen/checkpoint.py maps the old names).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import nn

MAX_PRIOR_SIZE = 8192  # bounds the bank a (tampered) stored config can ask for
# From LARGE_BANK stored latents down to SMALL_BANK the noise grows from the config's prior_noise to its
# prior_small_bank_noise of the class's spread, linearly in log(count).
SMALL_BANK, LARGE_BANK, SMALL_BANK_NOISE = 32, 256, 1.5


@dataclasses.dataclass
class PriorConfig:
    """How a bank samples. Field names are the stored config keys (every model's Config has them)."""

    prior_size: int = 1024  # training latents kept for sampling (a class-stratified subset of larger sets)
    prior_neighbours: int = 8  # a sample blends a latent with one of its nearest same-class latents
    prior_noise: float = 0.2  # ... plus this much of the class's per-number spread in Gaussian noise,
    prior_small_bank_noise: float = SMALL_BANK_NOISE  # ... rising to this for a bank of SMALL_BANK or fewer


def bank_noise(prior_noise: float, count: int, small_bank_noise: float = SMALL_BANK_NOISE) -> float:
    """The noise a bank of `count` latents samples with: `prior_noise` for a bank of LARGE_BANK or more, rising to
    `small_bank_noise` (never below prior_noise) at SMALL_BANK or fewer, linearly in log(count)."""
    if count >= LARGE_BANK:
        return prior_noise
    w = min(1.0, math.log(LARGE_BANK / max(count, 1)) / math.log(LARGE_BANK / SMALL_BANK))
    return max(prior_noise, prior_noise + w * (small_bank_noise - prior_noise))


def stratified_subset(y: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most `size` of the hits of classes y [N] in which every class keeps its share."""
    n = len(y)
    if n <= size:
        return np.arange(n)
    order = np.random.default_rng(seed).permutation(n)
    # round-robin over classes in a random order: each class keeps its share of the subset
    rank = np.empty(n)
    for cls in np.unique(y):
        members = order[y[order] == cls]
        rank[members] = np.arange(len(members)) / len(members)
    return np.sort(np.argsort(rank, kind="stable")[:size])


class LatentBank(nn.Module):
    """Up to `size` latents of real hits: the first `count` rows of `latents` [size, latent_size] are in use, with
    class indices `labels` [size] (-1 for a hit without one)."""

    latents: torch.Tensor
    labels: torch.Tensor
    count: torch.Tensor

    def __init__(self, size: int, latent_shape: tuple[int, ...]):
        super().__init__()
        if not 1 <= size <= MAX_PRIOR_SIZE:
            raise ValueError(f"prior_size must be 1..{MAX_PRIOR_SIZE}; got {size}")
        self.latent_shape = latent_shape
        self.latent_size = math.prod(latent_shape)
        self.register_buffer("latents", torch.zeros(size, self.latent_size))
        self.register_buffer("labels", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @property
    def stored(self) -> int:
        """How many latents are in use (0: an empty bank)."""
        return int(self.count)

    @torch.no_grad()
    def store(self, z: torch.Tensor, y: np.ndarray | torch.Tensor | None) -> None:
        """Make latents z [N, latent_size] of real hits (classes y [N], -1 for none) the bank's contents."""
        n, size = len(z), len(self.latents)
        if n > size:
            raise ValueError(f"{n} latents do not fit a prior of {size}")
        labels = torch.full((n,), -1, dtype=torch.long) if y is None else torch.as_tensor(np.asarray(y)).long()
        z, labels = z.to(self.latents.device), labels.to(self.labels.device)
        self.latents.zero_()
        self.labels.fill_(-1)
        self.latents[:n] = z.reshape(n, -1)
        self.labels[:n] = labels
        self.count.fill_(n)

    def sample(self, n: int, generator: torch.Generator | None, labels: torch.Tensor | None,
               knobs: PriorConfig, noiseless: torch.Tensor | None = None) -> torch.Tensor:
        """n latents [n, *latent_shape] blended from the stored ones (see the module docstring); labels [n] are
        the classes asked for, or None for any; noiseless [latent_size] (bool): numbers that are blended but get
        no noise (DrumModel.measured_latent). On the CPU, as every prior: a seed gives one latent everywhere."""
        noise = bank_noise(knobs.prior_noise, self.stored, knobs.prior_small_bank_noise)
        out = []
        for k in range(n):
            pool = self._pool(None if labels is None else int(labels[k]), knobs.prior_neighbours)
            i = int(torch.randint(len(pool.latents), (1,), generator=generator))
            near = pool.neighbours[i]  # excludes i
            j = int(near[torch.randint(len(near), (1,), generator=generator)]) if len(near) else i
            t = float(torch.rand((), generator=generator))
            eps = torch.randn(self.latent_size, generator=generator)
            spread = pool.spread if noiseless is None else torch.where(noiseless.cpu(), 0.0, pool.spread)
            out.append((1 - t) * pool.latents[i] + t * pool.latents[j] + noise * spread * eps)
        return torch.stack(out).reshape(n, *self.latent_shape)

    def _pool(self, label: int | None, neighbours: int) -> _Pool:
        """The stored latents a sound of class `label` blends (its class's, or all when it has none stored), their
        spread and each one's nearest neighbours: worked out once per class and bank contents, not per sound."""
        key = (self.latents.data_ptr(), self.latents._version, self.labels._version, self.stored, neighbours)
        if getattr(self, "_pools_key", None) != key:
            self._pools: dict[int | None, _Pool] = {}
            self._pools_key = key
        count = self.stored
        bank, bank_labels = self.latents[:count].detach().cpu(), self.labels[:count].cpu()
        chosen = label if label is not None and bool((bank_labels == label).any()) else None
        if chosen not in self._pools:
            members = torch.arange(count) if chosen is None else torch.nonzero(bank_labels == chosen)[:, 0]
            zs = bank[members]  # [P, L]
            near = [torch.argsort(torch.cdist(zs[i:i + 1], zs)[0])[1:neighbours + 1] for i in range(len(zs))]
            spread = zs.std(0) if len(zs) > 1 else bank.std(0) if count > 1 else torch.ones(self.latent_size)
            self._pools[chosen] = _Pool(zs, spread, near)
        return self._pools[chosen]


@dataclasses.dataclass
class _Pool:
    latents: torch.Tensor  # [P, L]: the stored latents a class's new sounds blend
    spread: torch.Tensor  # [L]: their standard deviation (the noise's scale)
    neighbours: list[torch.Tensor]  # per latent, its nearest others in the pool, nearest first
