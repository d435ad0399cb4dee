"""A procedural drum synthesizer: one function per class, random parameters, numpy only.

Tests and benchmarks use it so that nothing needs downloaded audio, and it is a baseline for the quality tables
("how far is a simple synth from real drums?"). The recipes are the classic analogue ones: a kick is a sine with a
falling pitch and a click, a snare is a tone plus band-passed noise, hats are high-passed noise (or six detuned
square waves, as in the TR-808), and so on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drumgen.data.labels import CLASSES

SAMPLE_RATE = 44100


def _t(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr), dtype=np.float64) / sr


def _env(t: np.ndarray, decay: float, attack: float = 0.001) -> np.ndarray:
    """Exponential decay with a short linear attack; `decay` is the time to fall by 60 dB."""
    rise = np.clip(t / attack, 0, 1)
    return rise * np.exp(-6.9 * t / decay)


def _band(x: np.ndarray, sr: int, low: float, high: float) -> np.ndarray:
    """Brick-wall band-pass in the frequency domain (fine for noise sources)."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.shape[0], 1 / sr)
    low = min(low, 0.45 * sr)  # at low rates (16 kHz) a band above Nyquist would leave silence
    spec[(f < low) | (f > high)] = 0
    return np.fft.irfft(spec, n=x.shape[0])


def _sweep(t: np.ndarray, f0: float, f1: float, rate: float) -> np.ndarray:
    """Phase of a sine whose frequency falls exponentially from f0 to f1 with time constant 1/rate."""
    freq = f1 + (f0 - f1) * np.exp(-rate * t)
    return 2 * np.pi * np.cumsum(freq) / (1 / (t[1] - t[0]) if t.shape[0] > 1 else 1)


def kick(rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    decay = rng.uniform(0.25, 0.8)
    t = _t(decay + 0.05, sr)
    body = np.sin(_sweep(t, rng.uniform(120, 250), rng.uniform(40, 65), rng.uniform(20, 60))) * _env(t, decay)
    click = rng.normal(size=t.shape) * _env(t, rng.uniform(0.005, 0.02)) * rng.uniform(0.1, 0.5)
    return body + _band(click, sr, 1000, 8000)


def snare(rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    decay = rng.uniform(0.15, 0.4)
    t = _t(decay + 0.05, sr)
    f = rng.uniform(160, 260)
    tone = (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 1.6 * f * t)) * _env(t, decay * 0.5)
    noise = _band(rng.normal(size=t.shape), sr, rng.uniform(1000, 3000), rng.uniform(8000, 15000))
    return rng.uniform(0.3, 0.8) * tone + noise * _env(t, decay) * rng.uniform(0.6, 1.2)


def hihat(rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    is_open = rng.random() < 0.35
    decay = rng.uniform(0.3, 0.9) if is_open else rng.uniform(0.03, 0.12)
    t = _t(decay + 0.02, sr)
    base = rng.uniform(300, 420)
    metal = sum(np.sign(np.sin(2 * np.pi * base * r * t)) for r in (1.0, 1.4471, 1.6170, 1.9265, 2.5028, 2.6637))
    src = 0.5 * metal / 6 + rng.normal(size=t.shape)
    return _band(src, sr, rng.uniform(6000, 9000), 18000) * _env(t, decay)


def tom(rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    decay = rng.uniform(0.3, 0.7)
    t = _t(decay + 0.05, sr)
    f = rng.uniform(80, 250)
    body = np.sin(_sweep(t, f * 1.5, f, rng.uniform(10, 30))) * _env(t, decay)
    skin = _band(rng.normal(size=t.shape), sr, 200, 3000) * _env(t, 0.04) * 0.3
    return body + skin


def cymbal(rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    decay = rng.uniform(1.0, 2.0)
    t = _t(decay, sr)
    base = rng.uniform(250, 500)
    ratios = rng.uniform(1.0, 8.0, size=12)
    metal = sum(np.sign(np.sin(2 * np.pi * base * r * t + rng.uniform(0, 6.28))) for r in ratios) / 12
    src = 0.6 * metal + rng.normal(size=t.shape)
    return _band(src, sr, rng.uniform(3000, 5000), 19000) * _env(t, decay, attack=0.003)


def clap(rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    decay = rng.uniform(0.15, 0.35)
    t = _t(decay + 0.05, sr)
    env = _env(t, decay)
    gaps = np.cumsum(rng.uniform(0.006, 0.012, size=3))
    for g in gaps:  # the 'flam' of several hands before the main burst
        env = env + np.where((t >= g - 0.01) & (t < g), np.exp(-(t - g + 0.01) * 300), 0)
    noise = _band(rng.normal(size=t.shape), sr, rng.uniform(800, 1200), rng.uniform(3000, 6000))
    return noise * env


def perc(rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    decay = rng.uniform(0.05, 0.3)
    t = _t(decay + 0.03, sr)
    f = rng.uniform(500, 1200)
    src = np.sign(np.sin(2 * np.pi * f * t)) + np.sign(np.sin(2 * np.pi * f * rng.uniform(1.4, 1.6) * t))
    return _band(src, sr, f * 0.8, f * 4) * _env(t, decay)


MAKERS = {"kick": kick, "snare": snare, "hihat": hihat, "tom": tom, "cymbal": cymbal, "clap": clap, "perc": perc}
assert tuple(MAKERS) == CLASSES


def hit(kind: str, rng: np.random.Generator | int | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One random hit of class `kind`, mono float32 peaking at -1 dBFS."""
    if kind not in MAKERS:
        raise ValueError(f"unknown drum class {kind!r}; choose one of {', '.join(CLASSES)}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x = MAKERS[kind](rng, sample_rate)
    return (x / (np.max(np.abs(x)) + 1e-9) * 0.891).astype(np.float32)


def write_folder(out: str | Path, per_class: int = 4, seed: int = 0, sample_rate: int = SAMPLE_RATE,
                 classes: tuple[str, ...] = CLASSES) -> list[Path]:
    """Write `per_class` hits of each class as WAVs into class folders (out/kick/kick_000.wav, ...)."""
    from drumgen.io import audio

    rng = np.random.default_rng(seed)
    paths = []
    for kind in classes:
        for i in range(per_class):
            path = Path(out) / kind / f"{kind}_{i:03d}.wav"
            audio.write_wav(path, hit(kind, rng, sample_rate), sample_rate, rate=sample_rate)
            paths.append(path)
    return paths
