"""drumgen.train.steps: every kind's training step on a tiny model, called directly (the loop's tests are
test_gan.py and test_autoencoder.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from drumgen.dsp import synth
from drumgen.io import audio
from drumgen.losses import ClassLoss
from drumgen.models import GENERATIVE, model_class
from drumgen.train import steps

torch.set_num_threads(1)
EXPECTED = {"wavegan": ({"D", "G"}, {"d_loss", "wasserstein", "gp"}),
            "specgan": ({"D", "G"}, {"d_loss", "wasserstein", "gp"}),
            "autoencoder": ({"ae"}, {"stft", "mel", "kl", "loss", "lr"})}


def tiny(kind: str, **overrides):
    cls = model_class(kind)
    torch.manual_seed(0)
    return cls(cls.Config.from_dict({**sys.modules[cls.__module__].PRESETS["tiny"], **overrides}))


def hits(model, n: int) -> torch.Tensor:
    c = model.config
    return torch.from_numpy(np.stack([audio.fit_length(synth.hit(k, i, c.sample_rate), c.slice_length, c.sample_rate)
                                      for i, k in zip(range(n), ["kick", "snare"] * n, strict=False)]))


@pytest.mark.parametrize("kind", GENERATIVE)
def test_each_kind_steps_and_returns_named_losses(kind):
    model = tiny(kind)
    opt = steps.make_optimizers(model)
    names, losses = EXPECTED[kind]
    assert set(opt) == names
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = [steps.train_step(model, hits(model, 2), None, opt, step) for step in range(2)]
    assert all(isinstance(v, float) and np.isfinite(v) for r in out for v in r.values())
    assert set(out[0]) == losses
    if kind != "autoencoder":  # n_critic = 2 in the tiny preset: the second step updates G too
        assert set(out[1]) == losses | {"g_loss"}
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("kind", ["wavegan", "specgan"])
def test_a_latent_fit_starts_from_prior_samples_and_trains_the_bank(kind):
    model = tiny(kind, fit="latent", prior_size=4)
    x = hits(model, 4)
    steps.start_latent_fit(model, x.numpy(), None, torch.Generator().manual_seed(0))
    assert model.prior.stored == 4 and model.prior.latents.abs().max() <= 1
    opt = steps.make_optimizers(model)
    assert set(opt) == {"fit"}
    start, g = model.prior.latents.detach().clone(), [p.detach().clone() for p in model.G.parameters()]
    losses = steps.latent_fit_step(model, torch.tensor([0, 2]), x[[0, 2]], None, opt)
    assert set(losses) == {"reconstruction"}
    assert any(not torch.equal(p, q) for p, q in zip(model.G.parameters(), g, strict=True))  # G learns too
    assert torch.equal(model.prior.latents[[1, 3]], start[[1, 3]])  # only the batch's latents may move
    assert model.prior.latents.abs().max() <= 1  # kept inside the prior's support


def test_a_kind_without_a_step_is_a_clear_error():
    with pytest.raises(ValueError, match="no training step for a tagger"):
        steps.make_optimizers(model_class("tagger")(model_class("tagger").Config()))


def tiny_tagger(sample_rate: int = 22050) -> torch.nn.Module:
    cls = model_class("tagger")
    torch.manual_seed(0)
    return cls(cls.Config(sample_rate=sample_rate, length=sample_rate // 2, channels=[4, 8], hidden=8))


def test_the_class_loss_is_nought_for_the_input_itself_and_moves_only_the_re_synthesis():
    judge = ClassLoss(tiny_tagger(), 44100)
    x = torch.from_numpy(np.stack([audio.fit_length(synth.hit(k, 0, 44100), 44100, 44100)
                                   for k in ("kick", "hihat", "snare")]))
    assert judge(x, x).item() == pytest.approx(0.0, abs=1e-6)
    other = x.flip(0).clone().requires_grad_(True)
    loss = judge(other, x)
    assert loss.item() > 0
    loss.backward()
    assert other.grad is not None and other.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in judge.tagger.parameters())


def test_the_class_loss_hears_the_band_its_tagger_hears():
    judge = ClassLoss(tiny_tagger(22050), 44100)
    t = np.arange(44100) / 44100
    low = torch.from_numpy(np.sin(2 * np.pi * 1000 * t).astype(np.float32))[None]
    high = torch.from_numpy(np.sin(2 * np.pi * 15000 * t).astype(np.float32))[None]
    at_22k = np.sin(2 * np.pi * 1000 * np.arange(22050) / 22050)
    assert np.abs(judge.resample(low)[0].numpy() - at_22k).max() < 1e-3  # a whole number of periods: no wrap
    assert judge.resample(high).abs().max() < 1e-3  # above the tagger's Nyquist: gone, as soxr makes it


def test_an_autoencoder_step_with_a_judge_reports_its_class_loss_and_needs_one():
    model = tiny("autoencoder", class_weight=0.5)
    opt = steps.make_optimizers(model)
    judge = ClassLoss(tiny_tagger(model.config.sample_rate), model.config.sample_rate)
    out = steps.train_step(model, hits(model, 2), None, opt, 0, judge)
    assert set(out) == EXPECTED["autoencoder"][1] | {"class"} and np.isfinite(out["class"])
    with pytest.raises(ValueError, match="needs the tagger"):
        steps.train_step(model, hits(model, 2), None, opt, 1)
    gan = tiny("wavegan")
    with pytest.raises(ValueError, match="the autoencoder's"):
        steps.train_step(gan, hits(gan, 2), None, steps.make_optimizers(gan), 0, judge)
