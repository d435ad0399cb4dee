"""drumgen.models.prior: the stored-latent bank and its sampler, on its own and as the models own it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from drumgen.models.prior import (
    LARGE_BANK,
    MAX_PRIOR_SIZE,
    SMALL_BANK_NOISE,
    LatentBank,
    PriorConfig,
    bank_noise,
    stratified_subset,
)


def test_sampling_noise_grows_as_the_stored_bank_shrinks():
    """The default corpus's 535 latents sample with the config's prior_noise; a kit of a few dozen hits samples
    with SMALL_BANK_NOISE of the class spread, so its new hits are not the kit's own hits blended back."""
    assert bank_noise(0.2, 535) == bank_noise(0.2, LARGE_BANK) == 0.2
    assert bank_noise(0.2, 30) == bank_noise(0.2, 1) == SMALL_BANK_NOISE
    assert bank_noise(1.5, 30) == 1.5  # never less than asked for
    between = [bank_noise(0.2, n) for n in (40, 64, 128, 200)]
    assert between == sorted(between, reverse=True) and 0.2 < min(between) and max(between) < SMALL_BANK_NOISE


def test_a_bank_samples_blends_of_the_asked_class_with_the_knobs_it_is_given():
    bank = LatentBank(8, (4,))
    assert bank.stored == 0 and set(bank.state_dict()) == {"latents", "labels", "count"}
    z = torch.cat([torch.full((3, 4), -5.0), torch.full((3, 4), 5.0)]) + 0.1 * torch.randn(6, 4)
    bank.store(z, np.array([0, 0, 0, 1, 1, 1]))
    assert bank.stored == 6 and bank.labels.tolist() == [0, 0, 0, 1, 1, 1, -1, -1]
    quiet = PriorConfig(prior_noise=0.0, prior_small_bank_noise=0.0)
    out = bank.sample(16, torch.Generator().manual_seed(0), torch.full((16,), 1), quiet)
    assert out.shape == (16, 4) and bool((out > 4).all())  # class 1's latents, blended without noise
    again = bank.sample(16, torch.Generator().manual_seed(0), torch.full((16,), 1), quiet)
    assert torch.equal(out, again)
    loud = bank.sample(16, torch.Generator().manual_seed(0), torch.full((16,), 1), PriorConfig(prior_noise=3.0))
    assert not torch.equal(out, loud)
    with pytest.raises(ValueError, match="do not fit"):
        bank.store(torch.zeros(9, 4), None)
    with pytest.raises(ValueError, match="prior_size"):
        LatentBank(MAX_PRIOR_SIZE + 1, (4,))


def test_a_subset_keeps_every_class_share():
    y = np.array([0] * 30 + [1] * 10)
    keep = stratified_subset(y, 16, seed=0)
    assert len(keep) == 16 and list(keep) == sorted(keep) and np.bincount(y[keep]).tolist() == [12, 4]
    assert list(stratified_subset(y, 100)) == list(range(40))
