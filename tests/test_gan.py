"""WaveGAN and SpecGAN: shapes, checkpoints, the shared training loop (train, resume, dry run, DDP), conditioning,
seeded generation and the CLI, on tiny presets and synthesized hits."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from drumgen import checkpoint
from drumgen.cli import main
from drumgen.dsp import spectral, synth
from drumgen.engine import Engine
from drumgen.io import audio
from drumgen.losses import gradient_penalty
from drumgen.models import model_class, wavegan
from drumgen.models.wavegan import PhaseShuffle, WaveGAN
from drumgen.train import TrainingError, TrainOptions, steps, train

torch.set_num_threads(1)
KINDS = ["wavegan", "specgan"]
LABELS = ("kick", "snare", "hihat")
ROOT = Path(__file__).resolve().parent.parent


def tiny(kind: str, **overrides):
    cls = model_class(kind)
    module = sys.modules[cls.__module__]
    torch.manual_seed(0)
    return cls(cls.Config.from_dict({**module.PRESETS["tiny"], "preset": "tiny", **overrides}))


@pytest.fixture(scope="module")
def hits(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hits")
    synth.write_folder(root, per_class=2, sample_rate=16000, classes=LABELS)
    return root


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DRUMGEN_CACHE", str(tmp_path / "cache"))


def opts(kind: str, data: Path, out: Path | None, **kw) -> TrainOptions:
    return TrainOptions(**{"data": str(data), "out": out and str(out), "kind": kind, "preset": "tiny",
                           "progress": False, "augment": False, "save_every": 0, **kw})


def state_tensors(directory: Path, prefix: str = "model/") -> dict[str, torch.Tensor]:
    with safe_open(str(directory / checkpoint.STATE_FILE), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}


# -- architecture ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("labels", [(), LABELS])
def test_shapes(kind, labels):
    m = tiny(kind, labels=labels)
    y = torch.tensor([0, 2]) if labels else None
    z = m.sample_latents(2)
    assert z.shape == (2, 100) and m.latent_shape == (100,) and m.latent_prior == "uniform"
    assert z.min() >= -1 and z.max() <= 1
    with torch.no_grad():
        x = m.decode(z, y)
    assert x.shape == (2, 16384) and x.dtype == torch.float32
    assert torch.isfinite(x).all() and x.abs().max() <= 1
    critic_input = x[:, None] if kind == "wavegan" else m.normalize(x)
    assert critic_input.shape == ((2, 1, 16384) if kind == "wavegan" else (2, 1, 128, 128))
    assert m.D(critic_input, y).shape == (2,)


@pytest.mark.parametrize("length,layers", [(32768, 6), (65536, 6), (131072, 7)])
def test_wavegan_longer_slices_add_a_layer(length, layers):
    m = tiny("wavegan", slice_length=length, d=1)
    assert len([c for c in m.G.convs if isinstance(c, torch.nn.ConvTranspose1d)]) == layers
    with torch.no_grad():
        x = m.G(m.sample_latents(1))
    assert x.shape == (1, 1, length)
    assert m.D(x).shape == (1,)


def test_paper_generator_size():
    from drumgen.models.wavegan import PRESETS, Config

    g = WaveGAN(Config(**PRESETS["paper"])).G
    assert sum(p.numel() for p in g.parameters()) == 19_065_345  # 19.07 M as published


@pytest.mark.parametrize("kind,bad", [("wavegan", {"slice_length": 20000}), ("specgan", {"hop": 100}),
                                      ("wavegan", {"latent_prior": "cauchy"})])
def test_bad_config_is_a_clear_error(kind, bad):
    with pytest.raises(ValueError, match="must"):
        tiny(kind, **bad)


def test_phase_shuffle_shifts_by_at_most_n_and_is_off_in_eval():
    torch.manual_seed(0)
    ps = PhaseShuffle(2)
    x = torch.arange(20.0).repeat(64, 1)[:, None]  # [64, 1, 20]
    y = ps(x)
    shift = (y[:, 0, 5] - x[:, 0, 5]).long()
    assert set(shift.tolist()) == {-2, -1, 0, 1, 2}  # every shift appears in 64 draws
    for row, k in zip(y[:, 0], shift, strict=True):  # a pure shift in the middle, reflection at the edges
        assert torch.equal(row[2:-2], x[0, 0, 2 + k:18 + k])
    assert torch.equal(ps.eval()(x), x)


def test_gradient_penalty_is_zero_for_a_unit_slope_critic():
    w = torch.randn(1, 8)

    def critic(scale):
        return lambda x: (x.flatten(1) * w / w.norm() * scale).sum(1)

    real, fake = torch.randn(4, 2, 4), torch.randn(4, 2, 4)
    assert gradient_penalty(critic(1.0), real, fake).item() == pytest.approx(0.0, abs=1e-6)
    assert gradient_penalty(critic(3.0), real, fake).item() == pytest.approx(4.0, rel=1e-5)
    with pytest.raises(ValueError, match="shape"):
        gradient_penalty(critic(1.0), real, fake[:2])


def test_specgan_statistics_normalise_the_training_data():
    rng = np.random.default_rng(0)
    x = np.stack([audio.fit_length(synth.hit(k, rng, 16000), 16384, 16000) for k in synth.CLASSES])
    m = tiny("specgan")
    m.fit_statistics(x)
    s = m.log_spectrogram(torch.from_numpy(x))  # [7, 128, 128]
    assert torch.allclose(m.spec_mean, s.mean(dim=(0, 2)), atol=1e-3)
    assert torch.allclose(m.spec_std, s.std(dim=(0, 2), unbiased=False), atol=1e-3)
    n = m.normalize(torch.from_numpy(x))
    assert n.shape == (7, 1, 128, 128) and n.min() >= -1 and n.max() <= 1
    # the inverse: a real hit's normalised spectrogram decodes to audio with the same magnitudes (up to clipping)
    back = m.log_spectrogram(m.to_audio(n))
    assert (back - s).abs().mean() < 2.0  # in natural-log units; silence would be ~10 off


# -- conditioning, checkpoints ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_conditioning_changes_the_output(kind):
    m = tiny(kind, labels=LABELS)
    z = m.sample_latents(1).repeat(3, 1)
    with torch.no_grad():
        x = m.decode(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(x[0], x[1]) and not torch.allclose(x[1], x[2])
    with pytest.raises(ValueError, match="class-conditional"):
        m.decode(z, None)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_gives_identical_output(kind, tmp_path):
    m = tiny(kind, labels=LABELS)
    if kind == "specgan":
        m.fit_statistics(np.random.default_rng(0).normal(0, 0.1, (8, 16384)).astype(np.float32))
    checkpoint.save(m, tmp_path)
    loaded = checkpoint.load(tmp_path)
    with safe_open(str(tmp_path / checkpoint.MODEL_FILE), "pt") as f:
        keys = list(f.keys())
    assert keys and not any(k.startswith("D.") for k in keys)  # the critic is not served
    if kind == "specgan":
        assert {"spec_mean", "spec_std"} <= set(keys) and torch.equal(loaded.spec_std, m.spec_std)
    m.eval()
    z, y = m.sample_latents(2), torch.tensor([1, 2])
    with torch.no_grad():
        assert torch.equal(m.decode(z, y), loaded.decode(z, y))


# -- training through the shared loop ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_train_writes_a_checkpoint(kind, hits, tmp_path):
    summary = train(opts(kind, hits, tmp_path / "ck", steps=3))
    assert summary["steps"] == 3
    info = checkpoint.read_metadata(tmp_path / "ck")
    assert info["kind"] == kind and sorted(info["labels"]) == sorted(LABELS)
    assert info["config"]["preset"] == "tiny" and info["summary"]["steps"] == 3
    m = checkpoint.load(tmp_path / "ck")
    assert m.config.labels and len(list((tmp_path / "ck" / "previews").glob("*/0.wav"))) == 1
    if kind == "specgan":  # statistics fitted on the data, inside the checkpoint
        assert m.spec_mean.abs().sum() > 0 and not torch.equal(m.spec_std, torch.ones(128))
    trained = state_tensors(tmp_path / "ck")
    fresh = tiny(kind, labels=m.config.labels).state_dict()
    assert not torch.equal(trained["model/G.dense.weight"], fresh["G.dense.weight"])  # G was updated
    assert not torch.equal(trained["model/D.head.linear.weight"], fresh["D.head.linear.weight"])


@pytest.mark.parametrize("kind", KINDS)
def test_resume_continues_the_same_run(kind, hits, tmp_path):
    train(opts(kind, hits, tmp_path / "a", steps=4))
    stop_at = {"step": 0}

    def progress(event):
        stop_at["step"] = event["step"]

    train(opts(kind, hits, tmp_path / "b", steps=4), callback=progress, should_stop=lambda: stop_at["step"] >= 2)
    assert json.loads((tmp_path / "b" / "history.json").read_text())[-1]["step"] == 2  # interrupted at 2
    train(opts(kind, hits, tmp_path / "b", steps=4, resume=True))
    a, b = state_tensors(tmp_path / "a", ""), state_tensors(tmp_path / "b", "")
    weights = [k for k in a if k.startswith(("model/", "opt/"))]
    assert weights and set(a) == set(b)
    for k in weights:  # every weight and Adam moment, of G and of D
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("kind", KINDS)
def test_dry_run(kind, hits):
    summary = train(opts(kind, hits, None, dry_run=True))
    assert summary["dry_run"]["batch"] == [4, 16384] and summary["dry_run"]["generated"] == [1, 16384]
    assert {"d_loss", "gp", "wasserstein"} <= set(summary["dry_run"]["losses"])


# -- fine-tuning on a small kit: the latent fit -------------------------------------------------------------

@pytest.fixture(scope="module")
def base(hits, tmp_path_factory) -> dict[str, Path]:
    """A tiny adversarially trained checkpoint of each GAN, to fine-tune from."""
    root = tmp_path_factory.mktemp("base")
    for kind in KINDS:
        train(opts(kind, hits, root / kind, steps=4, save_every=0))
    return {kind: root / kind for kind in KINDS}


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """An 'unseen' kit: other synthesized hits, of two of the base's classes."""
    root = tmp_path_factory.mktemp("kit")
    synth.write_folder(root, per_class=3, seed=5, sample_rate=16000, classes=("kick", "snare"))
    return root


@pytest.mark.parametrize("kind", KINDS)
def test_fine_tune_on_a_small_kit_fits_latents_and_samples_near_them(kind, base, kit, tmp_path):
    summary = train(opts(kind, kit, tmp_path / "ft", init=str(base[kind]), steps=30, eval_every=10,
                         config_overrides={"fit_lr": 3e-3}))  # a d=2 generator learns slowly at the default
    m = checkpoint.load(tmp_path / "ft")
    assert m.config.fit == "latent" and summary["steps"] == 30
    assert m.prior.stored == 6 and m.config.prior_size == 6  # one latent per hit of the kit
    names = [m.config.labels[int(i)] for i in m.prior.labels]
    assert sorted(names) == ["kick"] * 3 + ["snare"] * 3
    # it learns to play the kit back: the whole kit's reconstruction error is below the starting latents'
    from drumgen.data.dataset import load_folder

    data = load_folder(kit, m.config.sample_rate, m.config.slice_length, cache_dir=False)
    x, y = torch.from_numpy(data.x), torch.tensor([m.config.labels.index(data.labels[i]) for i in data.y])
    start = checkpoint.load(base[kind])
    steps.start_latent_fit(start, data.x, y.numpy(), torch.Generator().manual_seed(0))

    def error(model):
        fit = steps.GANS[kind]
        with torch.no_grad():
            return float(fit.reconstruction(model.G(model.prior.latents[:6], y), fit.real(model, x)))

    assert error(m) < error(start)  # (the kept checkpoint is the best by Frechet distance, maybe not the last)
    # new hits blend the fitted latents of the asked class, inside the prior's support
    z = m.sample_latents(16, torch.Generator().manual_seed(0), torch.full((16,), m.config.labels.index("kick")))
    kicks = m.prior.latents[m.prior.labels == m.config.labels.index("kick")]
    others = m.prior.latents[m.prior.labels != m.config.labels.index("kick")]
    assert z.abs().max() <= 1 and torch.cdist(z, kicks).min(1).values.mean() < torch.cdist(z, others).min(1).values.mean()
    # the engine serves it like any model
    engine = Engine(tmp_path / "none")
    sounds = engine.sample(engine.add(tmp_path / "ft"), 2, seed=1, label="snare")
    assert all(np.isfinite(s.audio).all() and np.abs(s.audio).max() > 0 for s in sounds)


@pytest.mark.parametrize("kind", KINDS)
def test_latent_fit_resumes_exactly(kind, base, kit, tmp_path):
    train(opts(kind, kit, tmp_path / "a", init=str(base[kind]), steps=6))
    stop_at = {"step": 0}
    train(opts(kind, kit, tmp_path / "b", init=str(base[kind]), steps=6),
          callback=lambda e: stop_at.update(step=e["step"]), should_stop=lambda: stop_at["step"] >= 3)
    train(opts(kind, kit, tmp_path / "b", steps=6, resume=True))
    a, b = state_tensors(tmp_path / "a", ""), state_tensors(tmp_path / "b", "")
    assert any(k.startswith("opt/fit/") for k in a) and set(a) == set(b)
    for k in a:
        if k.startswith(("model/", "opt/")):
            assert torch.equal(a[k], b[k]), k


def test_fit_choice(base, kit, hits, tmp_path):
    # a fine-tune on more hits than the latent fit takes, or --fit adversarial, trains the WGAN-GP way
    summary = train(opts("wavegan", kit, tmp_path / "adv", init=str(base["wavegan"]), steps=2, fit="adversarial"))
    m = checkpoint.load(tmp_path / "adv")
    assert m.config.fit == "adversarial" and m.prior.stored == 0 and summary["steps"] == 2
    # from scratch, auto stays adversarial
    train(opts("specgan", hits, tmp_path / "scratch", steps=2))
    assert checkpoint.load(tmp_path / "scratch").config.fit == "adversarial"
    with pytest.raises(TrainingError, match="for the GANs"):
        train(opts("autoencoder", kit, tmp_path / "ae", steps=1, fit="latent"))
    with pytest.raises(TrainingError, match="same hits"):
        train(opts("wavegan", kit, tmp_path / "ft", init=str(base["wavegan"]), steps=2))
        synth.write_folder(tmp_path / "other", per_class=2, sample_rate=16000, classes=("kick", "snare"))
        train(opts("wavegan", tmp_path / "other", tmp_path / "ft", steps=4, resume=True))


def test_old_gan_checkpoints_without_stored_latents_still_load(base, tmp_path):
    m = checkpoint.load(base["wavegan"])
    state = {k: v for k, v in m.serving_state_dict().items() if not k.startswith("prior.")}
    old = tmp_path / "old"
    old.mkdir()
    from safetensors.torch import save_file

    save_file(state, str(old / checkpoint.MODEL_FILE), metadata=dict(safe_open(
        str(base["wavegan"] / checkpoint.MODEL_FILE), "pt").metadata()))
    loaded = checkpoint.load(old)
    assert loaded.prior.stored == 0 and loaded.sample_latents(3).shape == (3, 100)


# -- CLI and engine ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_cli_train_and_generate_deterministic_per_seed(kind, hits, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert main(["train", "--model", kind, "--data", str(hits), "--out", str(ck), "--preset", "tiny",
                 "--steps", "2", "--quiet"]) == 0
    assert main(["train", "--model", kind, "--data", str(hits), "--preset", "tiny", "--dry-run", "--quiet"]) == 0
    assert "dry run ok" in capsys.readouterr().out
    for out in ("g1", "g2"):
        assert main(["generate", "--model", str(ck), "--n", "3", "--seed", "7", "--label", "snare",
                     "--out", str(tmp_path / out)]) == 0
    listing = json.loads((tmp_path / "g1" / "sounds.json").read_text())
    assert [s["seed"] for s in listing] == [7, 8, 9] and all(s["label"] == "snare" for s in listing)
    assert all(len(s["latent"]) == 100 for s in listing)
    for s in listing:
        x1, sr = audio.read(tmp_path / "g1" / s["file"])
        x2, _ = audio.read(tmp_path / "g2" / s["file"])
        assert sr == 16000 and len(x1) == 16384 and np.array_equal(x1, x2)  # the model's own rate
    assert listing == json.loads((tmp_path / "g2" / "sounds.json").read_text())
    engine = Engine(tmp_path / "none")
    name = engine.add(ck)
    a, b = engine.sample(name, 2, seed=1, label="kick"), engine.sample(name, 2, seed=2, label="kick")
    assert not np.array_equal(a[0].latent, b[0].latent)
    # a sound re-created alone from its latent matches the batch it came from (up to float rounding)
    np.testing.assert_allclose(engine.decode(name, a[1].latent, "kick").audio, a[1].audio, atol=1e-5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_two_processes(hits, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "DRUMGEN_CACHE": str(tmp_path / "c")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--nnodes", "1",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "-m", "drumgen", "train",
           "--model", "wavegan", "--preset", "tiny", "--data", str(hits), "--out", str(out), "--steps", "3",
           "--quiet", "--no-augment"]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trained 3 steps") == 1  # only the first process reports
    info = checkpoint.read_metadata(out)
    assert info["summary"]["processes"] == 2 and info["summary"]["steps"] == 3
    m = checkpoint.load(out)
    with torch.no_grad():
        x = m.decode(m.sample_latents(2), torch.tensor([0, 1]))
    assert x.shape == (2, 16384) and torch.isfinite(x).all()
    # a run started on two processes resumes on one (any world size): the state holds no per-rank tensors
    one = [sys.executable, "-m", "drumgen", "train", "--model", "wavegan", "--preset", "tiny", "--data", str(hits),
           "--out", str(out), "--steps", "5", "--quiet", "--no-augment", "--resume", "--device", "cpu"]
    done = subprocess.run(one, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained 5 steps" in done.stdout, done.stdout
    with safe_open(str(out / checkpoint.STATE_FILE), "pt") as f:
        assert f.metadata()["step"] == "5"


def test_fine_tune_keeps_its_bases_kind(hits, tmp_path):
    """`train --model specgan --init <a wavegan>` is refused (it used to train a WaveGAN silently); without
    --model the base's kind is taken. The server's training jobs ask the same rule (drumgen.train.choose_kind)."""
    base = tmp_path / "base"
    train(opts("wavegan", hits, base, steps=1))
    with pytest.raises(TrainingError, match="is a wavegan"):
        train(opts("specgan", hits, tmp_path / "ft", steps=1, init=str(base)))
    summary = train(opts(None, hits, tmp_path / "ft2", steps=1, init=str(base)))
    assert checkpoint.read_metadata(tmp_path / "ft2")["kind"] == "wavegan" and summary["steps"] == 1
    with pytest.raises(TrainingError, match="either steps or minutes"):
        train(opts("wavegan", hits, tmp_path / "x", steps=1, minutes=1.0))


def test_a_batch_size_asked_for_applies_to_a_fine_tune_and_a_bad_one_is_refused(hits, tmp_path):
    """--batch-size replaces the preset's and a base model's (a fine-tune on a GPU may want more than the preset's
    16); zero, negative or absurd sizes are a clear error, not a run with a batch of one, and the CLI exits 1."""
    base = tmp_path / "base"
    train(opts("wavegan", hits, base, steps=1, batch_size=3))
    assert checkpoint.read_metadata(base)["config"]["batch_size"] == 3
    train(opts(None, hits, tmp_path / "ft", steps=1, init=str(base), batch_size=5))
    assert checkpoint.read_metadata(tmp_path / "ft")["config"]["batch_size"] == 5
    for bad in (0, -3, 10 ** 6):
        with pytest.raises(TrainingError, match="batch size"):
            train(opts("wavegan", hits, tmp_path / "bad", steps=1, batch_size=bad))
    assert main(["train", "--model", "wavegan", "--preset", "tiny", "--data", str(hits), "--out",
                 str(tmp_path / "cli"), "--steps", "1", "--batch-size", "-3"]) == 1


def test_a_wavegan_hit_is_high_passed_so_it_carries_no_dc():
    """The transposed convolutions leave a DC offset in most WaveGAN hits (benchmarks/gan_lines.py); decode takes
    out what lies below config.high_pass_hz (20 Hz) and leaves the drums."""
    rate, t = 22050, 16384
    n = torch.arange(t, dtype=torch.float64) / rate
    x = torch.stack([0.3 + 0.5 * torch.sin(2 * torch.pi * 200 * n), 0.5 * torch.sin(2 * torch.pi * 8 * n)])
    y = spectral.high_pass(x, rate, 20.0)
    middle = slice(t // 4, 3 * t // 4)
    assert abs(float(y[0, middle].mean())) < 2e-3  # the offset is gone
    assert torch.allclose(y[0, middle], 0.5 * torch.sin(2 * torch.pi * 200 * n[middle]), atol=5e-3)  # 200 Hz kept
    assert float(y[1, middle].abs().max()) < 0.5 * 0.2  # 8 Hz: more than 14 dB down
    torch.manual_seed(0)
    model = wavegan.WaveGAN(wavegan.Config(**wavegan.PRESETS["tiny"])).eval()
    with torch.no_grad():
        model.G.convs[-2].bias.fill_(0.3)  # a generator whose every hit sits on an offset (before its tanh)
        z = model.sample_latents(2, torch.Generator().manual_seed(1))
        raw = model.G(z)[:, 0]
        out = model.decode(z)
        model.config.high_pass_hz = 0.0
        assert torch.equal(model.decode(z), raw)  # 0: no filter
    assert float(raw[:, middle].mean()) > 0.1 and abs(float(out[:, middle].mean())) < 0.02


def _line_prominence_db(x: np.ndarray, n: int = 1024) -> list[float]:
    """Hits [N, T] -> how far the mean spectrum stands above its neighbours' median at rate/4, rate/2, rate/8."""
    frames = np.lib.stride_tricks.sliding_window_view(x, n, axis=1)[:, :: n // 2]
    db = 10 * np.log10((np.abs(np.fft.rfft(frames * np.hanning(n), axis=-1)) ** 2).mean(axis=(0, 1)) + 1e-30)
    return [float(db[k] - np.median(np.r_[db[k - 20:k - 2], db[k + 3:k + 21]])) for k in (n // 4, n // 2, n // 8)]


def test_nearest_neighbour_upsampling_leaves_no_lines_at_the_strides_rates():
    """A transposed-convolution generator puts steady lines at multiples of rate / stride into every hit from its
    first step (benchmarks/gan_lines.py found them in the shipped WaveGAN); the "nearest" upsampler (the `cpu`
    preset's) does not."""
    z = torch.rand(16, 100, generator=torch.Generator().manual_seed(1)) * 2 - 1
    prominence = {}
    for upsample in ("transposed", "nearest"):
        torch.manual_seed(0)
        model = WaveGAN(wavegan.Config(d=4, upsample=upsample, sample_rate=16000, high_pass_hz=0.0)).eval()
        with torch.no_grad():
            prominence[upsample] = _line_prominence_db(model.decode(z).numpy())
    assert min(prominence["transposed"]) > 20, prominence
    assert max(prominence["nearest"]) < 6, prominence
    assert wavegan.PRESETS["cpu"]["upsample"] == "nearest" and wavegan.PRESETS["cpu"]["sample_rate"] == 44100
    with pytest.raises(ValueError, match="upsample"):
        wavegan.Config(upsample="linear")
