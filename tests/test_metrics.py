"""The measures behave: identical sets score zero, noise and sines score far from drums, copies are caught."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from drumgen.cli import eval as eval_verb
from drumgen.data.labels import CLASSES
from drumgen.dsp import synth
from drumgen.eval import evaluate, metrics
from drumgen.io import audio

SR = 22050


def synth_set(n: int, seed: int, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([audio.fit_length(synth.hit(CLASSES[i % 7], rng, sr), sr, sr) for i in range(n)])


def noise_bursts(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(SR) / SR
    return (rng.normal(size=(n, SR)) * np.exp(-t / rng.uniform(0.05, 0.5, (n, 1)))).astype(np.float32)


def sine_bursts(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(SR) / SR
    return (np.sin(2 * np.pi * rng.uniform(60, 2000, (n, 1)) * t) * np.exp(-t / rng.uniform(0.05, 0.5, (n, 1)))).astype(np.float32)


@pytest.fixture(scope="module")
def sets():
    return {"a": synth_set(70, 0), "b": synth_set(70, 1), "noise": noise_bursts(70, 2), "sine": sine_bursts(70, 3)}


def test_embed_shape_deterministic_and_level_invariant(sets):
    e = metrics.embed(sets["a"][:5], SR)
    assert e.shape == (5, metrics.EMBED_DIM) and e.dtype == np.float32
    assert np.array_equal(e, metrics.embed(sets["a"][:5], SR))
    assert np.allclose(e, metrics.embed(0.1 * sets["a"][:5], SR), atol=1e-4)
    assert np.all(np.isfinite(metrics.embed(np.zeros((2, SR), np.float32), SR)))
    # Features are standardised to about unit scale, not raw dB or Hz.
    assert np.abs(metrics.embed(sets["noise"], SR)).max() < 10


def test_embed_independent_of_sample_rate():
    x44 = synth_set(14, 5, 44100)
    x22 = np.stack([audio.resample(h, 44100, SR) for h in x44])
    assert np.abs(metrics.embed(x44, 44100) - metrics.embed(x22, SR)).max() < 0.05


def test_frechet_identical_is_zero_and_noise_sine_are_far(sets):
    ea, eb = metrics.embed(sets["a"], SR), metrics.embed(sets["b"], SR)
    assert metrics.frechet_distance(ea, ea) < 1e-6
    near = metrics.frechet_distance(ea, eb)
    for far in ("noise", "sine"):
        assert metrics.frechet(sets[far], sets["b"], SR) > 10 * near, far
    assert metrics.frechet(sets["a"], sets["b"], SR) == pytest.approx(near)


def test_frechet_stable_with_fewer_hits_than_dimensions(sets):
    d = metrics.frechet(sets["a"][:5], sets["b"][:7], SR)
    assert np.isfinite(d) and d >= 0
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet(sets["a"][:1], sets["b"], SR)


def test_diversity_and_near_copies(sets):
    ea, eb = metrics.embed(sets["a"], SR), metrics.embed(sets["b"], SR)
    collapsed = np.repeat(ea[:1], 20, axis=0) + 1e-3
    assert metrics.diversity_ratio(collapsed, ea) < 0.01
    assert 0.5 < metrics.diversity_ratio(eb, ea) < 2
    copies = metrics.embed(sets["a"][:30] * 0.5, SR)  # copies of training hits, at another level
    assert metrics.near_copy_rate(copies, ea) > 0.95
    assert metrics.near_copy_rate(eb, ea) < 0.3
    assert metrics.near_copy_rate(metrics.embed(sets["noise"], SR), ea) == 0.0


def lowpass(x: np.ndarray, cutoff: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(x.shape[0], 1 / SR) > cutoff] = 0
    return np.fft.irfft(spec, n=x.shape[0]).astype(np.float32)


def test_resynthesis_error_zero_for_identical_and_grows_with_lowpass(sets):
    x = sets["a"][2]  # a hihat: energy up high
    same = metrics.resynthesis_error(x, x.copy())
    assert same == {"log_mag_db": 0.0, "spectral_convergence": 0.0}
    errs = [metrics.resynthesis_error(x, lowpass(x, c)) for c in (8000, 4000, 1000)]
    assert 0 < errs[0]["log_mag_db"] < errs[1]["log_mag_db"] < errs[2]["log_mag_db"]
    assert errs[0]["spectral_convergence"] < errs[2]["spectral_convergence"]


def test_garbage_checks():
    t = np.arange(SR) / SR
    good = (0.8 * np.sin(2 * np.pi * 100 * t) * np.exp(-t * 5)).astype(np.float32)
    clipped = np.clip(good * 10, -1, 1)
    nan = good.copy()
    nan[10] = np.nan
    x = np.stack([good, np.zeros(SR, np.float32), clipped, nan, good + 0.2])
    g = metrics.garbage(x)
    assert {k: v["count"] for k, v in g.items()} == {"silent": 1, "clipped": 1, "nan": 1, "dc_offset": 1}
    assert g["silent"]["fraction"] == pytest.approx(0.2)


def test_class_scores():
    onehot = np.eye(7)[np.arange(70) % 7]
    assert metrics.inception_score(onehot) == pytest.approx(7, rel=1e-6)
    assert metrics.inception_score(np.full((10, 7), 1 / 7)) == pytest.approx(1.0)
    assert metrics.inception_score(np.eye(7)[np.zeros(10, int)]) == pytest.approx(1.0)
    assert metrics.class_coverage(onehot[:3], CLASSES) == ["kick", "snare", "hihat"]
    assert metrics.class_histogram(onehot[:8], CLASSES)["kick"] == 2
    assert metrics.mean_confidence(onehot) == 1.0


def test_reference_stats_round_trip(tmp_path, sets):
    stats = evaluate.reference_stats(sets["a"], SR, sets["a"])
    path = evaluate.save_reference_stats(tmp_path / "ref.safetensors", stats, {"note": "test"})
    loaded, info = evaluate.load_reference_stats(path)
    assert info == {"note": "test"} and set(loaded) == set(stats)
    r = evaluate.evaluate_hits(sets["a"], SR, loaded)
    assert r["near_copy_rate"] == 1.0 and r["frechet"] < 1e-6 and r["diversity_ratio"] == pytest.approx(1.0)
    assert evaluate.evaluate_hits(sets["b"], SR, loaded)["near_copy_rate"] < 0.3


def run_eval(argv: list[str], capsys) -> dict:
    p = argparse.ArgumentParser()
    eval_verb.add_args(p)
    assert eval_verb.run(p.parse_args(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_cmd_eval_folders_json(tmp_path, capsys):
    synth.write_folder(tmp_path / "ref", per_class=4, seed=0)
    synth.write_folder(tmp_path / "gen", per_class=2, seed=9)
    r = run_eval(["--gen", str(tmp_path / "gen"), "--ref", str(tmp_path / "ref"), "--train", str(tmp_path / "ref"),
                  "--tagger", "none", "--json"], capsys)
    assert r["count"] == 14 and r["frechet"] > 0 and 0 <= r["near_copy_rate"] <= 1
    assert r["garbage"]["silent"]["count"] == 0
    copies = run_eval(["--gen", str(tmp_path / "ref"), "--ref", str(tmp_path / "ref"), "--train",
                       str(tmp_path / "ref"), "--tagger", "none", "--json"], capsys)
    assert copies["near_copy_rate"] == 1.0 and copies["frechet"] < 1e-6


def test_cmd_eval_resynth(tmp_path, capsys):
    x = synth.hit("snare", 1)
    audio.write_wav(tmp_path / "in" / "a.wav", x, 44100)
    audio.write_wav(tmp_path / "in" / "b.wav", x, 44100)
    audio.write_wav(tmp_path / "out" / "a.flac.wav", x, 44100)  # no partner for b: reported, not fatal
    audio.write_wav(tmp_path / "out" / "a.wav", x, 44100)
    r = run_eval(["resynth", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--json"], capsys)
    assert r["mean"]["log_mag_db"] == 0.0 and r["unpaired"] == ["b.wav"]


def test_a_model_measured_over_several_draws_averages_their_frechet(tmp_path, sets, monkeypatch):
    from drumgen import testing
    from drumgen.engine.engine import Engine

    name = testing.make_tiny_checkpoints(tmp_path, kinds=["wavegan"])[0]
    seeds = []
    sample = Engine.sample
    monkeypatch.setattr(Engine, "sample", lambda self, *a, **kw: seeds.append(kw["seed"]) or sample(self, *a, **kw))
    stats = evaluate.reference_stats(sets["a"], SR, sets["a"])
    one = evaluate.measure_model(tmp_path / name, stats, n=20)
    three = evaluate.measure_model(tmp_path / name, stats, n=20, draws=3)
    assert "frechet_draws" not in one and len(three["frechet_draws"]) == 3
    assert three["frechet_draws"][0] == pytest.approx(one["frechet"])  # the first draw is the single one
    assert three["frechet"] == pytest.approx(np.mean(three["frechet_draws"]))
    assert seeds == [evaluate.MEASURE_SEED] + [evaluate.MEASURE_SEED + k * evaluate.DRAW_STEP for k in range(3)]
