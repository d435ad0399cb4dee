"""benchmarks/fidelity.py's measures on synthesized signals: the air above 11.5 kHz, the -60 dB point, a cut hit; and
benchmarks/loop_bench.py on a synthesized kit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
RATE = 44100


def _bench(name: str):
    """benchmarks/<name>.py as a module (it imports its neighbours, such as common.py)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(f"{name}_under_test", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def fidelity():
    return _bench("fidelity")


@pytest.fixture(scope="module")
def gan_lines():
    return _bench("gan_lines")


def tone(seconds: float, hz: float = 440.0, tau: float | None = None, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * (np.exp(-t / tau) if tau else 1.0)).astype(np.float32)


def test_white_noise_is_full_band_and_a_low_sine_has_no_air(fidelity):
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32)
    # flat spectrum: (22050 - 11500) / 22050 of the energy, -3.2 dB
    assert fidelity.air_db(noise, RATE) == pytest.approx(10 * np.log10(10550 / 22050), abs=0.5)
    assert fidelity.air_db(tone(1.0, 200.0), RATE) < -100
    assert fidelity.air_db(np.cos(2 * np.pi * 200 * np.arange(RATE) / RATE), RATE) < -100  # a loud first sample
    # a 22.05 kHz hit has nothing above its Nyquist once resampled to 44.1 kHz: the floor
    assert fidelity.air_db(noise[:22050], 22050) < -90


def test_a_decaying_tone_falls_to_minus_60_db_where_its_time_constant_says(fidelity):
    tau = 0.1  # -60 dB after 60 / (20 log10 e) tau = 6.91 tau = 691 ms
    x = tone(1.5, tau=tau)
    assert fidelity.length_ms(x, RATE) == pytest.approx(1000 * 60 / (20 * np.log10(np.e)) * tau, abs=15)
    assert not fidelity.is_cut(x, RATE)


def test_a_tone_cut_while_loud_is_cut_and_its_length_is_all_of_it(fidelity):
    x = tone(1.0, tau=1.0)[: int(0.3 * RATE)]  # -2.6 dB when it stops
    assert fidelity.is_cut(x, RATE)
    assert fidelity.length_ms(x, RATE) == pytest.approx(300, abs=2)
    assert not fidelity.is_cut(np.pad(x, (0, RATE // 10)), RATE)  # the same tone with 100 ms of silence after it


def test_a_tone_that_rings_for_two_seconds_has_rung_long_enough(fidelity):
    x = tone(2.2, tau=1.0)  # -19 dB at 2.2 s, still ringing
    assert not fidelity.is_cut(x[: int(2.05 * RATE)], RATE)
    assert fidelity.is_cut(x[: int(1.9 * RATE)], RATE)



def test_a_tone_every_hit_shares_is_a_line_and_an_offset_is_dc(gan_lines):
    """Hits of decaying noise that all carry a quiet 5512.5 Hz tone (rate / 4, a stride-4 upsampler's) and a DC
    offset: both are found and named; the noise alone has neither."""
    rate, n = 22050, 16384
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate
    noise = rng.standard_normal((16, n)) * np.exp(-t / 0.1)
    hits = noise + 0.05 * np.sin(2 * np.pi * rate / 4 * t) + 0.02
    found = gan_lines.lines(gan_lines.spectra(hits, rate), rate)
    names = {gan_lines.name_of(hz, rate) for hz, share in found if share > 0.9}
    assert {"DC", "1 x rate/4"} <= names
    assert gan_lines.dc_db(hits, rate)[0] > -70
    assert not gan_lines.lines(gan_lines.spectra(noise, rate), rate)


def test_loop_bench_scores_a_synthesized_kit_with_the_tagger_it_is_given(monkeypatch):
    """loop_bench --synth: a made-up kit's loop is scored against what was played, its pads named by --tagger's."""
    loop_bench = _bench("loop_bench")
    from drumgen.engine import tagging
    from drumgen.loop import analysis

    kit = loop_bench.synth_kit(1)
    assert sorted(kit) == sorted(loop_bench.CLASSES) and all(x.size > loop_bench.SR // 20 for x in kit.values())
    tagger = tagging.load(Path(__file__).resolve().parent.parent / "checkpoints" / "tagger")
    used = []
    real = analysis.analyse
    monkeypatch.setattr(loop_bench.loop, "analyse", lambda x, rate, **kw: used.append(kw.get("model")) or real(x, rate, **kw))
    s = loop_bench.score(kit, "shuffle", 120, 0.66, seed=101, tagger=tagger)
    assert used == [tagger]
    assert abs(s["bpm_error"]) < 1 and s["f1"] > 0.9 and s["class"] > 0.6, s
