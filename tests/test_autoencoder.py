"""The autoencoder (drumgen.models.autoencoder), GAN inversion (drumgen.engine.inversion) and the engine/CLI paths that
use them: re-synthesis, interpolation, four-corner mixing. Tiny presets, synthesized hits, one core."""

from __future__ import annotations

import dataclasses
import math
import os
import time

import numpy as np
import pytest
import torch
from torch import nn

from drumgen import checkpoint
from drumgen.cli import main
from drumgen.dsp import synth
from drumgen.dsp.spectral import log_spectral_distance_db
from drumgen.engine import Engine, Sound, inversion
from drumgen.io import audio
from drumgen.losses import MultiResolutionSTFTLoss
from drumgen.models.autoencoder import PRESETS, Autoencoder, Config
from drumgen.models.base import BaseConfig, DrumModel
from drumgen.train import TrainOptions, steps, train

torch.set_num_threads(1)
os.environ.setdefault("DRUMGEN_CACHE", os.path.join(os.path.dirname(__file__), "artifacts", "cache"))

RATE = 22050  # the tiny preset's rate


def tiny(**kw) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(Config(**{**PRESETS["tiny"], **kw}))


@pytest.fixture(scope="module")
def hits_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("hits")
    synth.write_folder(root, per_class=3, seed=1, sample_rate=RATE, classes=("kick", "snare", "hihat", "tom"))
    return root


@pytest.fixture(scope="module")
def trained(hits_dir, tmp_path_factory):
    """A tiny autoencoder trained a few hundred steps through the shared loop: (checkpoint dir, wall seconds)."""
    out = tmp_path_factory.mktemp("ckpt") / "ae"
    t0 = time.monotonic()
    train(TrainOptions(data=str(hits_dir), out=str(out), kind="autoencoder", preset="tiny", steps=150,
                       conditional=False, eval_every=10_000, preview_every=10_000, save_every=1e9,
                       progress=False))
    return out, time.monotonic() - t0


def prepared(hits_dir, n: int | None = None) -> torch.Tensor:
    files = sorted(hits_dir.rglob("*.wav"))[:n]
    return torch.from_numpy(np.stack([audio.load(f, RATE, PRESETS["tiny"]["slice_length"]) for f in files]))


# -- the model ---------------------------------------------------------------------------------------------------

def test_shapes_and_range():
    t0 = time.monotonic()
    m = tiny().eval()
    assert time.monotonic() - t0 < 1.0
    c = m.config
    frames = c.slice_length // c.frame
    # per frame, the global timbre, each partial's frequency and level, the noise seed
    assert m.latent_shape == (frames * c.latent_dims + c.global_dims + 2 * c.partials + 1,) == (32 * 4 + 8 + 16 + 1,)
    x = torch.randn(3, c.slice_length) * 0.5
    with torch.no_grad():
        z = m.encode(x)
        y = m.decode(z)
        zs = m.decode(m.sample_latents(2, torch.Generator().manual_seed(0)))
    assert z.shape == (3, 153) and y.shape == (3, 8192) and zs.shape == (2, 8192)
    assert y.abs().max() <= 1.0 and torch.isfinite(y).all()
    with pytest.raises(ValueError, match="8192 samples"):
        m.encode(torch.zeros(1, 1000))
    with pytest.raises(ValueError, match="153 numbers"):
        m.decode(torch.zeros(1, 10))


def test_train_step_is_fast_and_lowers_loss():
    m = tiny()
    opt = steps.make_optimizers(m)
    x = torch.from_numpy(np.stack([audio.fit_length(synth.hit(k, 3, RATE), 8192, RATE) for k in ("kick", "snare")]))
    first = steps.train_step(m, x, None, opt, 0)
    t0 = time.monotonic()
    for s in range(1, 12):
        last = steps.train_step(m, x, None, opt, s)
    assert (time.monotonic() - t0) / 11 < 0.5  # ~0.05 s alone on one core; slack for shared cores
    assert set(first) == {"stft", "mel", "kl", "loss", "lr"} and last["stft"] < first["stft"]


def test_learning_rate_halves_by_steps_down_to_a_floor():
    cfg = dataclasses.replace(tiny().config, lr=1e-3, lr_half_life=100)
    assert steps.vae_learning_rate(cfg, 0) == pytest.approx(1e-3)
    assert steps.vae_learning_rate(cfg, 100) == pytest.approx(5e-4)
    assert steps.vae_learning_rate(cfg, 10_000) == pytest.approx(5e-5)  # lr / 20, not 0
    assert steps.vae_learning_rate(dataclasses.replace(cfg, lr_half_life=0), 10_000) == 1e-3
    m = tiny()
    m.config.lr_half_life = 10
    opt = steps.make_optimizers(m)
    x = torch.from_numpy(np.stack([audio.fit_length(synth.hit("kick", 3, RATE), 8192, RATE)]))
    assert steps.train_step(m, x, None, opt, 20)["lr"] == pytest.approx(m.config.lr / 4)


def test_save_load_identical(tmp_path):
    m = tiny(labels=("kick", "snare")).eval()
    checkpoint.save(m, tmp_path / "ae")
    back = checkpoint.load(tmp_path / "ae")
    x = torch.randn(2, 8192) * 0.3
    y = torch.tensor([0, 2])  # 2 = "no label"
    with torch.no_grad():
        assert torch.equal(m.decode(m.encode(x), y), back.decode(back.encode(x), y))


def test_conditioning_changes_output_and_no_label_is_deterministic():
    m = tiny(labels=("kick", "snare")).eval()
    with torch.no_grad():  # give the label embedding a visible effect, as training would
        m.decoder.noise_head.weight.normal_(0, 0.3)
        z = m.sample_latents(1, torch.Generator().manual_seed(3))
        kick, snare = m.decode(z, m.label_index("kick", 1)), m.decode(z, m.label_index("snare", 1))
        unknown = [m.decode(z, m.label_index(None, 1)) for _ in range(2)]
    assert not torch.allclose(kick, snare)
    assert torch.equal(unknown[0], unknown[1])
    with pytest.raises(ValueError, match="unknown label"):
        m.label_index("cowbell", 1)


# -- the training loop ----------------------------------------------------------------------------------------------

def test_dry_run(hits_dir):
    s = train(TrainOptions(data=str(hits_dir), kind="autoencoder", preset="tiny", dry_run=True, progress=False))
    assert s["dry_run"]["generated"] == [1, 8192] and s["dry_run"]["batch"] == [8, 8192]


def test_resume_continues_the_same_run(hits_dir, tmp_path):
    def run(out, n_steps, resume=False):
        train(TrainOptions(data=str(hits_dir), out=str(out), kind="autoencoder", preset="tiny", steps=n_steps,
                           resume=resume, augment=False, save_every=0, eval_every=10_000, preview_every=10_000,
                           progress=False))
        m = tiny(labels=checkpoint.load(out).config.labels)
        checkpoint.load_train_state(out, m, steps.make_optimizers(m))
        return m.state_dict()

    straight = run(tmp_path / "a", 4)
    run(tmp_path / "b", 2)
    resumed = run(tmp_path / "b", 4, resume=True)
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_cli_fine_tune_that_keeps_the_class_stores_its_recipe_and_resumes(hits_dir, tmp_path, capsys):
    from drumgen.engine import tagging
    from drumgen.models.tagger import Tagger, TaggerConfig

    torch.manual_seed(0)
    tagging.save(Tagger(TaggerConfig(sample_rate=RATE, length=RATE // 2, channels=[4, 8], hidden=8)),
                 tmp_path / "tagger")
    out = tmp_path / "ft"
    args = ["train", "--model", "autoencoder", "--data", str(hits_dir), "--out", str(out), "--preset", "tiny",
            "--keep-class", "0.5", "--lr", "3e-4", "--tagger", str(tmp_path / "tagger"), "--eval-every", "10000",
            "--preview-every", "10000", "--quiet"]
    assert main([*args, "--steps", "2"]) == 0
    info = checkpoint.read_metadata(out)
    assert info["config"]["class_weight"] == 0.5 and info["config"]["lr"] == 3e-4
    assert info["summary"]["class_tagger"] == str(tmp_path / "tagger")
    assert main([*args, "--steps", "3", "--resume"]) == 0
    history = checkpoint.read_train_state_metadata(out)["extra"]["history"]
    assert [h["step"] for h in history if "class" in h] == [1, 2, 3]
    capsys.readouterr()
    lost = [a if a != str(tmp_path / "tagger") else str(tmp_path / "nowhere") for a in args]
    assert main([*lost, "--out", str(tmp_path / "ft2"), "--steps", "1"]) != 0
    assert "the class-keeping loss needs a tagger" in capsys.readouterr().err


def test_trained_round_trip_beats_trivial_baselines(trained, hits_dir):
    out, seconds = trained
    assert seconds < 60
    m = checkpoint.load(out)
    assert m.kind == "autoencoder" and m.summary["steps"] == 150
    x = prepared(hits_dir)
    with torch.no_grad():
        x_hat = m.decode(m.encode(x))
    g = torch.Generator().manual_seed(0)
    rms = x.pow(2).mean(1, keepdim=True).sqrt()
    noise = torch.randn(x.shape, generator=g) * rms  # same energy, constant envelope
    silence = torch.zeros_like(x)
    err = log_spectral_distance_db(x_hat, x).mean()
    for baseline in (noise, silence):
        assert err < 0.8 * log_spectral_distance_db(baseline, x).mean()
    assert err < 12.0
    # the checkpoint keeps the training hits' latents, and new latents are drawn among them, not from N(0, 1)
    assert m.prior.stored == len(x)
    with torch.no_grad():
        assert torch.allclose(m.prior.latents[: len(x)], m.encode(x), atol=1e-4)
    bank = m.prior.latents[: len(x)]
    # the large-bank sampler: these 12 hits are a small bank, which samples wider on purpose (tested below)
    m.config.prior_small_bank_noise = m.config.prior_noise
    z = m.sample_latents(512, torch.Generator().manual_seed(0))
    assert z.shape == (512, 153)
    def nearest(z):  # median distance to the closest stored latent
        return torch.cdist(z, bank).min(1).values.median()

    independent = bank.mean(0) + bank.std(0) * torch.randn(512, 153)  # same spread, no structure
    assert nearest(z) < 0.5 * nearest(independent) and nearest(z) < 0.5 * nearest(torch.randn(512, 153))


def test_stored_prior_samples_the_asked_class():
    """Latents of class k are blends of class-k training latents: with two far-apart class clusters, every
    sample lands in the cluster of its class; a subset keeps each class's share; labels=None mixes classes."""
    m = tiny(labels=("kick", "snare"), prior_size=16)
    n_lat = m.latent_size
    centres = torch.stack([torch.full((n_lat,), -5.0), torch.full((n_lat,), 5.0)])
    z_bank = torch.cat([centres[0] + 0.1 * torch.randn(30, n_lat), centres[1] + 0.1 * torch.randn(10, n_lat)])
    y_bank = np.array([0] * 30 + [1] * 10)
    m.encode = lambda x: z_bank[x[:, 0].long()]  # stand-in encoder: the "hit" is the index of its latent
    x = np.zeros((40, m.config.slice_length), dtype=np.float32)
    x[:, 0] = np.arange(40)
    steps.fit_latent_prior(m, x, y_bank)
    assert m.prior.stored == 16
    assert np.bincount(m.prior.labels.numpy(), minlength=2).tolist() == [12, 4]  # 30:10 kept as 12:4
    g = torch.Generator().manual_seed(0)
    for k in (0, 1):
        z = m.sample_latents(64, g, torch.full((64,), k))
        assert torch.cdist(z, centres).argmin(1).eq(k).all()
        assert z.std(0).mean() > 0.02  # new latents, not the stored ones repeated
    z = m.sample_latents(200, g)
    share = torch.cdist(z, centres).argmin(1).float().mean()
    assert 0.1 < share < 0.45  # about the 4 / 16 of stored latents that are class 1


def test_a_small_bank_samples_new_latents_not_its_own():
    """24 stored latents (a small kit): the median sample sits more than twice as far from its nearest stored
    latent as it would with the large-bank noise."""
    m = tiny(prior_size=24)
    bank = torch.randn(24, m.latent_size)
    m.prior.store(bank, None)
    def spread_from_bank():
        z = m.sample_latents(256, torch.Generator().manual_seed(0)).reshape(256, -1)
        return float(torch.cdist(z, bank).min(1).values.median())

    wide = spread_from_bank()
    m.config.prior_small_bank_noise = m.config.prior_noise  # the knob lives in the config
    narrow = spread_from_bank()
    assert wide > 2 * narrow


def test_checkpoint_without_stored_prior_still_loads(tmp_path):
    """A checkpoint from before the stored-latent prior loads (holding the running latent statistics a model
    kept then) and samples N(0, 1)."""
    m = tiny()
    checkpoint.save(m, tmp_path / "old")
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = tmp_path / "old" / checkpoint.MODEL_FILE
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = {k: v for k, v in load_file(str(path)).items() if not k.startswith("prior.")}
    n = m.latent_size
    tensors |= {"latent_mean": torch.zeros(n), "latent_moment": torch.eye(n), "latent_updates": torch.tensor(7)}
    save_file(tensors, str(path), metadata=meta)
    old = checkpoint.load(tmp_path / "old")
    assert old.prior.stored == 0 and "latent_moment" not in old.state_dict()
    z = old.sample_latents(3, torch.Generator().manual_seed(0))
    assert torch.equal(z, torch.randn((3, n), generator=torch.Generator().manual_seed(0)))


def test_checkpoint_with_the_old_tensor_names_loads_the_same(tmp_path):
    """Files written before the bank was its own module call its tensors prior_latents, prior_labels,
    prior_count, and hold the retired latent statistics beside them: they load with the same bank and weights."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    m = tiny(labels=("kick", "snare"), prior_size=16)
    m.prior.store(torch.randn(10, m.latent_size), np.array([0, 1] * 5))
    checkpoint.save(m, tmp_path / "new")
    path = tmp_path / "new" / checkpoint.MODEL_FILE
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    n = m.latent_size
    old = {k.replace("prior.", "prior_"): v for k, v in load_file(str(path)).items()}
    old |= {"latent_mean": torch.zeros(n), "latent_moment": torch.eye(n), "latent_updates": torch.tensor(3)}
    (tmp_path / "old").mkdir()
    save_file(old, str(tmp_path / "old" / checkpoint.MODEL_FILE), metadata=meta)
    a, b = checkpoint.load(tmp_path / "new"), checkpoint.load(tmp_path / "old")
    assert b.prior.stored == 10 and a.state_dict().keys() == b.state_dict().keys()
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    y = torch.tensor([1, 0, 1])
    za, zb = (model.sample_latents(3, torch.Generator().manual_seed(4), y) for model in (a, b))
    assert torch.equal(za, zb)


# -- engine: re-synthesis, interpolation, mixing -------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(trained, tmp_path_factory):
    e = Engine(tmp_path_factory.mktemp("empty_ckpts"))
    name = e.add(trained[0], name="ae")
    assert name == "ae" and not e.errors
    return e


def uploads(hits_dir, names):
    out = []
    for n in names:
        x, rate = audio.read(next(hits_dir.rglob(f"{n}_000.wav")))
        out.append(Sound("upload", np.zeros(1, np.float32), x, rate, origin="upload"))
    return out


def test_interpolation_endpoints_reproduce_resynthesis(engine, hits_dir):
    a, b = uploads(hits_dir, ("kick", "hihat"))
    ra, rb = (engine.resynthesize("ae", s.audio, s.sample_rate).audio for s in (a, b))
    assert np.array_equal(engine.interpolate(a, b, 0.0).audio, ra)
    assert np.array_equal(engine.interpolate(a, b, 1.0).audio, rb)
    mid = engine.interpolate(a, b, 0.5).audio
    assert not np.allclose(mid, ra) and not np.allclose(mid, rb)


def test_mix4_corners_reproduce_each_corner(engine, hits_dir):
    corners = uploads(hits_dir, ("kick", "snare", "hihat", "tom"))
    resynth = [engine.resynthesize("ae", s.audio, s.sample_rate).audio for s in corners]
    for (x, y), expect in zip(((0, 0), (1, 0), (0, 1), (1, 1)), resynth, strict=True):
        assert np.array_equal(engine.mix4(*corners, x, y).audio, expect)


def test_sampling_is_deterministic_per_seed(engine):
    a, b, c = engine.sample("ae", 2, seed=5), engine.sample("ae", 2, seed=5), engine.sample("ae", 1, seed=5)
    assert np.array_equal(a[0].audio, b[0].audio) and np.array_equal(a[0].latent, c[0].latent)
    np.testing.assert_allclose(a[0].audio, c[0].audio, atol=1e-5)  # batch size changes float rounding only
    assert not np.allclose(a[0].audio, a[1].audio)


def test_cli_resynth_and_interpolate(trained, hits_dir, tmp_path):
    ckpt = str(trained[0])
    assert main(["resynth", "--model", ckpt, "--input", str(hits_dir), "--out", str(tmp_path / "re")]) == 0
    src = sorted(p.relative_to(hits_dir) for p in hits_dir.rglob("*.wav"))
    got = sorted(p.relative_to(tmp_path / "re") for p in (tmp_path / "re").rglob("*.wav"))
    assert got == src
    x, rate = audio.read(tmp_path / "re" / src[0])
    # a 22.05 kHz model's sounds leave the engine at 44.1 kHz, their band above 10.5 kHz made (dsp/extension.py)
    assert rate == 44100 and x.shape[0] >= 2 * 8192 - 1
    assert main(["resynth", "--model", ckpt, "--input", str(hits_dir), "--out", str(tmp_path / "own"),
                 "--rate", str(RATE)]) == 0
    y, rate = audio.read(tmp_path / "own" / src[0])
    assert rate == RATE and abs(y.shape[0] - x.shape[0] * RATE / 44100) <= 1  # an odd length rounds either way
    a, b = (str(next(hits_dir.rglob(f"{k}_001.wav"))) for k in ("kick", "snare"))
    assert main(["interpolate", "--model", ckpt, "--a", a, "--b", b, "--steps", "4",
                 "--out", str(tmp_path / "morph")]) == 0
    assert len(list((tmp_path / "morph").glob("*.wav"))) == 4
    assert main(["interpolate", "--model", ckpt, "--a", a, "--b", b, "--c", a, "--d", b, "--steps", "2",
                 "--out", str(tmp_path / "grid")]) == 0
    assert len(list((tmp_path / "grid").glob("*.wav"))) == 4


# -- GAN inversion -----------------------------------------------------------------------------------------------

class StandIn(DrumModel):
    """A decode-only model: a small fixed network turns 8 uniform numbers into a decaying tone plus noise."""

    kind = "standin"
    Config = BaseConfig
    latent_prior = "uniform"

    def __init__(self, config: BaseConfig):
        super().__init__(config)
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 4))
        self.register_buffer("noise", torch.randn(config.slice_length, generator=torch.Generator().manual_seed(1)))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (8,)

    def decode(self, z, label=None):
        p = self.net(z)  # [B, 8] -> [B, 4]: pitch, decay, tone/noise balance, level
        t = torch.arange(self.config.slice_length) / self.config.sample_rate
        f = 80 * 2 ** (3 * torch.sigmoid(p[:, :1]))
        env = torch.exp(-t * 5 * 2 ** (3 * torch.sigmoid(p[:, 1:2])))
        mix = torch.sigmoid(p[:, 2:3])
        x = (mix * torch.sin(2 * torch.pi * f * t) + (1 - mix) * self.noise) * env * torch.sigmoid(p[:, 3:4])
        return x.clamp(-1, 1)


def test_inversion_reduces_distance_within_budget():
    m = StandIn(BaseConfig(sample_rate=RATE, slice_length=8192))
    with torch.no_grad():
        target = m.decode(torch.rand(1, 8, generator=torch.Generator().manual_seed(42)) * 2 - 1)
        first = m.sample_latents(1, torch.Generator().manual_seed(0))  # what a random pick would give
    loss = MultiResolutionSTFTLoss((2048, 512, 128))
    t0 = time.monotonic()
    z = inversion.invert(m, target, seconds=1.0)
    assert time.monotonic() - t0 < 1.5
    assert z.shape == (1, 8) and z.abs().max() <= 1.0
    with torch.no_grad():
        d_first, d_inv = float(loss(m.decode(first), target)), float(loss(m.decode(z), target))
    assert d_inv < 0.5 * d_first
    quick = [inversion.invert(m, target, seconds=0.0) for _ in range(2)]  # budget 0: the best prior sample
    assert torch.equal(quick[0], quick[1])
    with pytest.raises(inversion.InversionError, match=r"\[1, 8192\]"):
        inversion.invert(m, torch.zeros(2, 8192))
    with pytest.raises(inversion.InversionError, match="silent"):
        inversion.invert(m, torch.zeros(1, 8192))


def test_engine_resynthesizes_through_a_decode_only_model(hits_dir, tmp_path):
    import threading

    e = Engine(tmp_path)
    e.models["gan"], e._locks["gan"] = StandIn(BaseConfig(sample_rate=RATE, slice_length=8192)), threading.Lock()
    x, rate = audio.read(next(hits_dir.rglob("kick_000.wav")))
    t0 = time.monotonic()
    s = e.resynthesize("gan", x, rate)
    assert time.monotonic() - t0 < 3.0
    assert s.origin == "resynth" and s.latent.shape == (8,) and s.audio.shape == (8192,)


def test_engine_resynthesizes_through_a_conditional_wavegan(hits_dir, tmp_path):
    from drumgen.models.wavegan import PRESETS as GAN_PRESETS
    from drumgen.models.wavegan import Config as GanConfig
    from drumgen.models.wavegan import WaveGAN

    torch.manual_seed(0)
    gan = WaveGAN(GanConfig(**{**GAN_PRESETS["tiny"], "labels": ("kick", "snare")})).eval()
    checkpoint.save(gan, tmp_path / "gan")
    e = Engine(tmp_path / "none")
    name = e.add(tmp_path / "gan")
    x, rate = audio.read(next(hits_dir.rglob("snare_000.wav")))
    target = torch.from_numpy(audio.prepare(x, rate, 16000, 16384))[None]
    loss = MultiResolutionSTFTLoss((2048, 512, 128))
    t0 = time.monotonic()
    s = e.resynthesize(name, x, rate)
    assert time.monotonic() - t0 < 3.0
    assert s.label == "kick" and s.latent.shape == (100,) and np.abs(s.latent).max() <= 1.0  # no tagger: 1st class
    with torch.no_grad():
        y = gan.label_index("kick", 1)
        first = gan.decode(gan.sample_latents(1, torch.Generator().manual_seed(0)), y)
        assert float(loss(torch.from_numpy(s.audio)[None], target)) <= float(loss(first, target)) + 1e-6


def test_training_keeps_the_best_resynthesizer(hits_dir, tmp_path):
    """An encoder's first job is playing a user's hit back, so its run keeps the best re-synthesis error."""
    summary = train(TrainOptions(data=str(hits_dir), out=str(tmp_path / "ae"), kind="autoencoder", preset="tiny",
                                 steps=4, eval_every=2, preview_every=100, progress=False, save_every=0))
    assert summary["measure"] == "resynth_db" and 0 < summary["best_score"] < 80
    stored = checkpoint.read_metadata(tmp_path / "ae")["summary"]
    assert stored["measure"] == "resynth_db" and stored["best_score"] == pytest.approx(summary["best_score"])



def test_log_mel_loss_is_the_band_level_difference_and_trains():
    from drumgen.losses import LogMelLoss

    noise = 0.1 * torch.randn(2, 22050, generator=torch.Generator().manual_seed(0))
    mel = LogMelLoss(22050)
    assert float(mel(noise, noise)) == 0.0
    assert float(mel(0.5 * noise, noise)) == pytest.approx(math.log(4), rel=0.01)  # 6 dB in every band
    m = tiny()
    x = torch.from_numpy(np.stack([audio.fit_length(synth.hit("kick", 3, RATE), 8192, RATE)]))
    assert m.config.mel_weight > 0 and steps.train_step(m, x, None, steps.make_optimizers(m), 0)["mel"] > 0
    m.config.mel_weight = 0.0
    assert steps.train_step(m, x, None, steps.make_optimizers(m), 0)["mel"] == 0.0
