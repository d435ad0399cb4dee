"""drumgen.dsp.extension: the band above a 22.05 kHz model's Nyquist and the tail after its slice, made from what
it did generate; and the engine handing a 22.05 kHz model's hits out extended, at 44.1 kHz."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from drumgen import checkpoint
from drumgen.dsp import extension, spectral, synth
from drumgen.engine import Engine
from drumgen.models.wavegan import WaveGAN, WaveGANConfig

RATE = extension.RATE


def air(x: np.ndarray, cutoff: float = 11500.0) -> float:
    """Energy above `cutoff` over all, dB."""
    p = spectral.power(torch.from_numpy(np.asarray(x, np.float32))[None], 2048, 512)[0].sum(-1).numpy()
    f = np.fft.rfftfreq(2048, 1 / RATE)
    return float(10 * np.log10(p[f >= cutoff].sum() / p.sum() + 1e-30))


def band_db(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Level per STFT frame (hop 512) in [lo, hi) Hz, dB."""
    p = spectral.power(torch.from_numpy(np.asarray(x, np.float32))[None], 2048, 512)[0].numpy()
    f = np.fft.rfftfreq(2048, 1 / RATE)
    return 10 * np.log10(p[(f >= lo) & (f < hi)].sum(0) + 1e-20)


@pytest.fixture(scope="module")
def fitted() -> extension.Extension:
    """Fitted on synthesized hats, cymbals, snares and kicks: what each looks like below 10.5 kHz says what it
    has above."""
    hits = [synth.hit(kind, seed) for kind in ("hihat", "cymbal", "snare", "kick") for seed in range(6)]
    return extension.fit(hits, [RATE] * len(hits), {"corpus": "synthesized"})


def test_the_band_above_a_22khz_hit_is_made_to_the_level_its_kind_has(fitted):
    for kind, seed in (("hihat", 50), ("cymbal", 51), ("kick", 52)):
        full, low = extension.low_band(synth.hit(kind, seed), RATE)
        assert air(low) < -30, "the low-passed hit has (next to) nothing up there"
        made = fitted.band(torch.from_numpy(low)[None])[0].numpy()
        if kind == "kick":  # next to nothing up there, as in the real one (-71 dB)
            assert air(made) < -50, air(made)
        else:
            assert abs(air(made) - air(full)) < 6, (kind, air(made), air(full))
        # its own band is kept: the frames below 10 kHz are the low-passed hit's, within a fraction of a dB
        keep = np.abs(band_db(made, 100, 10000) - band_db(low, 100, 10000))
        loud = band_db(low, 100, 10000) > band_db(low, 100, 10000).max() - 40
        assert keep[loud].max() < 0.5, keep[loud].max()
    kick = extension.low_band(synth.hit("kick", 53), RATE)[1]
    assert air(fitted.band(torch.from_numpy(kick)[None])[0].numpy()) < -25, "a kick gets no hat's air"


def test_the_fit_is_saved_without_pickle_and_loads_back(fitted, tmp_path):
    path = fitted.save(tmp_path / extension.FILE)
    back = extension.load(path)
    np.testing.assert_array_equal(back.coef, fitted.coef)
    assert back.info["corpus"] == "synthesized" and back.info["hits"] == 24
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(Exception, match=r"."):
        extension.load(tmp_path / "bad.safetensors")
    with pytest.raises(extension.ExtensionError, match="no band extension"):
        extension.load(tmp_path / "missing.safetensors")


def ringing_hit(seconds: float = 0.743, tau: float = 0.4, seed: int = 0) -> np.ndarray:
    """Noise decaying with time constant tau (a crash), cut at `seconds` with the engine's 10 ms fade."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    x = rng.standard_normal(n) * np.exp(-np.arange(n) / (tau * RATE)) * 0.3
    x[-441:] *= np.linspace(1, 0, 441)
    return x.astype(np.float32)


def test_a_hit_cut_while_it_rings_rings_on_from_its_level_at_its_rate_of_decay():
    x = ringing_hit()
    assert extension.ringing(torch.from_numpy(x)[None], RATE).all()
    y = extension.tail(torch.from_numpy(x)[None], [7])[0].numpy()
    assert y.size > 1.5 * RATE, "it rings on"
    np.testing.assert_allclose(y[: x.size - 2048], x[: x.size - 2048], atol=1e-5)  # its own samples are kept
    level = band_db(y, 50, 22050)
    t = np.arange(level.size) * 512 / RATE
    before = level[(t > 0.55) & (t < 0.68)].mean() - 20 * np.log10(np.e) * (0.8 - 0.615) / 0.4  # extrapolated to 0.8 s
    after = level[(t > 0.78) & (t < 0.82)].mean()
    assert abs(after - before) < 2.5, (before, after)  # no step at the seam
    slope = np.polyfit(t[(t > 0.9) & (t < 1.5)], level[(t > 0.9) & (t < 1.5)], 1)[0]
    assert -25 < slope < -18.5, slope  # a time constant of 0.4 s is -21.7 dB/s, the fit's own
    slow = extension.tail(torch.from_numpy(ringing_hit(tau=2.0))[None], [7])[0].numpy()
    level = band_db(slow, 50, 22050)
    t = np.arange(level.size) * 512 / RATE
    slope = np.polyfit(t[(t > 0.9) & (t < 1.5)], level[(t > 0.9) & (t < 1.5)], 1)[0]
    assert -18 < slope < -15, slope  # a slower one decays at least at MIN_DECAY_DB_S (16 dB/s)
    assert np.abs(y[-2048:]).max() < 1e-3 * np.abs(x).max(), "and it has fallen silent at its end"


def test_a_tail_is_the_same_for_the_same_seed_and_another_for_another():
    x = torch.from_numpy(ringing_hit())[None]
    a, b, c = (extension.tail(x, [s])[0].numpy() for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a[RATE:] - c[RATE:]).max() > 1e-3


def test_a_tail_is_the_same_whatever_rings_beside_it_in_the_batch():
    # a hit's tail phases come from its seed alone: the same sound whether it is decoded alone or beside a hit
    # that rings for longer (a kit's pieces, a pad's New), up to the silence the shorter one is padded with
    short, long = ringing_hit(), ringing_hit(tau=2.0)
    alone = extension.tail(torch.from_numpy(short)[None], [123457])[0].numpy()
    beside = extension.tail(torch.from_numpy(np.stack([short, long])), [123457, 9])
    assert beside.shape[1] > alone.size, "the slower hit rings for longer"
    np.testing.assert_allclose(beside[0, : alone.size].numpy(), alone, atol=1e-5)
    assert np.abs(beside[0, alone.size:].numpy()).max() < 1e-4  # the last frame's overlap, -80 dB


def test_a_hit_that_has_died_away_is_not_extended():
    x = ringing_hit(tau=0.02)
    assert not extension.ringing(torch.from_numpy(x)[None], RATE).any()
    y = extension.tail(torch.from_numpy(x)[None], [1])
    np.testing.assert_array_equal(y[0].numpy(), x)
    with pytest.raises(extension.ExtensionError, match="44100"):
        extension.tail(torch.from_numpy(x)[None], [1], rate=22050)


def test_the_engine_hands_a_22khz_models_hits_out_full_band_at_44khz(fitted, tmp_path):
    """A 22.05 kHz WaveGAN in a folder with a fitted extension: its sounds leave at 44.1 kHz, /api/models says
    which band it made and which was extended; extend=False (or no file) gives the model's own output."""
    torch.manual_seed(0)
    model = WaveGAN(WaveGANConfig(sample_rate=22050, slice_length=16384, d=2)).eval()
    checkpoint.save(model, tmp_path / "wg22")
    fitted.save(tmp_path / extension.FILE)
    engine = Engine(tmp_path, device="cpu")
    plain = Engine(tmp_path, device="cpu", extend=False)
    assert engine.extends("wg22") and not plain.extends("wg22")
    info = engine.describe("wg22")
    assert info["sample_rate"] == 22050 and info["output_rate"] == RATE
    assert info["band"]["generated_hz"] == [0, 11025] and info["band"]["extended_hz"][1] == 22050
    sounds = engine.sample("wg22", 3, seed=5, hear=False)
    raw = plain.sample("wg22", 3, seed=5, hear=False)
    for s, r in zip(sounds, raw, strict=True):
        assert s.sample_rate == RATE and r.sample_rate == 22050
        assert s.audio.size >= 2 * r.audio.size and np.all(np.isfinite(s.audio))
        assert np.abs(s.audio).max() <= 0.892 + 1e-6  # audio.PEAK: turned down, never clipped
    again = engine.sample("wg22", 3, seed=5, hear=False)
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(sounds, again, strict=True))
    alone = engine.sample("wg22", 1, seed=7, hear=False)[0]  # sound 2 of seed 5, decoded alone
    n = min(alone.audio.size, sounds[2].audio.size)
    assert np.abs(alone.audio[:n] - sounds[2].audio[:n]).max() < 1e-3


def test_a_full_band_generator_with_a_short_slice_gets_only_the_tail(fitted, tmp_path):
    """A 44.1 kHz WaveGAN whose 0.74 s slice ends while its hits still ring (an untrained one rings everywhere):
    its hits ring on past the slice, the band it made is its own (nothing extended), and the first 0.7 s are
    the model's samples; a model with a 2 s slice, or extend=False, is handed out as it was made."""
    torch.manual_seed(0)
    checkpoint.save(WaveGAN(WaveGANConfig(sample_rate=RATE, slice_length=32768, d=2)).eval(), tmp_path / "wg44")
    checkpoint.save(WaveGAN(WaveGANConfig(sample_rate=RATE, slice_length=131072, d=2)).eval(), tmp_path / "wg3s")
    fitted.save(tmp_path / extension.FILE)
    engine, plain = Engine(tmp_path, device="cpu"), Engine(tmp_path, device="cpu", extend=False)
    assert engine.rings_on("wg44") and not engine.extends("wg44") and not plain.rings_on("wg44")
    assert not engine.rings_on("wg3s")
    band = engine.describe("wg44")["band"]
    assert band["generated_hz"] == [0, RATE // 2] and "extended_hz" not in band and "ring on" in band["tail"]
    assert engine.output_rate("wg44") == RATE
    rung = engine.sample("wg44", 2, seed=3, hear=False)
    raw = plain.sample("wg44", 2, seed=3, hear=False)
    for s, r in zip(rung, raw, strict=True):
        assert s.sample_rate == r.sample_rate == RATE and r.audio.size == 32768
        assert s.audio.size > 1.5 * r.audio.size and np.all(np.isfinite(s.audio))
        n = int(0.7 * RATE)  # before the slice's last frame: the model's own samples, at most re-levelled
        scale = np.dot(s.audio[:n], r.audio[:n]) / np.dot(r.audio[:n], r.audio[:n])
        np.testing.assert_allclose(s.audio[:n], scale * r.audio[:n], atol=1e-5)
    assert engine.sample("wg3s", 1, seed=3, hear=False)[0].audio.size == 131072


def test_the_shipped_extension_loads_and_records_what_it_was_fitted_on():
    ext = extension.load(checkpoint.default_dir() / extension.FILE)
    assert ext.info["split"] == "train" and ext.info["hits"] > 500


def test_a_steady_tone_below_is_not_copied_up_as_new_lines(fitted):
    """A GAN's upsampling leaves steady tones (WaveGAN's at 9.6 kHz): the made band must not repeat them."""
    t = np.arange(int(0.74 * RATE)) / RATE
    hat = synth.hit("hihat", 60)
    x = np.zeros_like(t, dtype=np.float32)
    x[: hat.size] = hat[: x.size]
    x += 0.02 * np.sin(2 * np.pi * 9646.875 * t).astype(np.float32)
    low = extension.low_band(x, RATE)[1]
    made = fitted.band(torch.from_numpy(low)[None])[0].numpy()
    spec = np.abs(np.fft.rfft(made * np.hanning(made.size), 32768)) ** 2
    f = np.fft.rfftfreq(32768, 1 / RATE)
    level = 10 * np.log10(spec + 1e-20)
    tone = level[np.abs(f - 9646.875) < 3].max()
    high = (f > 10600) & (f < 21800)
    assert tone > np.median(level[f < 10000]) + 30, "the tone is there below"
    # copied as it was, it stood at the tone's own level at 15.7 kHz (and at 21.2 kHz)
    assert level[high].max() < tone - 10, f[high][np.argmax(level[high])]


@pytest.mark.parametrize("extend", [True, False])
def test_a_real_server_says_and_serves_the_extended_band(fitted, tmp_path, extend):
    """Over HTTP: /api/models gives the generated and the served band, the kit's inline WAVs and the sound URLs
    are 44.1 kHz full band; `drumgen serve --no-extend` serves the model's own 22.05 kHz."""
    import base64
    import io

    import httpx
    import soundfile as sf

    from drumgen.testing import ServerProcess

    torch.manual_seed(0)
    checkpoint.save(WaveGAN(WaveGANConfig(sample_rate=22050, slice_length=16384, d=2)).eval(), tmp_path / "wg22")
    fitted.save(tmp_path / extension.FILE)
    with ServerProcess(tmp_path, env={"OMP_NUM_THREADS": "1"}, extra_args=[] if extend else ["--no-extend"]) as srv:
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            info = c.get("/api/models/wg22").json()
            assert info["sample_rate"] == 22050
            assert info["output_rate"] == (RATE if extend else 22050)
            assert ("extended_hz" in info["band"]) is extend
            sounds = c.post("/api/sample", json={"model": "wg22", "n": 2, "seed": 1, "audio": True}).json()["sounds"]
            inline, rate = sf.read(io.BytesIO(base64.b64decode(sounds[0]["wav"])))
            fetched, rate2 = sf.read(io.BytesIO(c.get(sounds[0]["url"]).content))
    want = RATE if extend else 22050
    assert rate == rate2 == want and sounds[0]["sample_rate"] == want
    np.testing.assert_array_equal(inline, fetched)
    if extend:
        assert air(inline.astype(np.float32)) > -60, "the band above 11.5 kHz is there"
