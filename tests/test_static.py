"""The code as text: ruff's lint rules and the type checker (the files and settings in pyproject.toml) pass."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff():
    done = run("ruff", "check", "drumgen", "tests", "benchmarks", "scripts")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_types():
    done = run("mypy")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_one_spectral_module():
    """Short-time Fourier transforms and mel filterbanks have one home, drumgen/dsp/spectral.py: a second
    implementation elsewhere (with its own window, padding or filter shape) is how "spectrogram" came to mean
    four things. (dsp/synth.py filters whole signals with one FFT, which is not a short-time transform.)"""
    pattern = re.compile(r"torch\.(i?stft)\(|np\.fft\.(i?rfft|fft)\(|def \w*mel_filterbank|np\.hanning\(")
    found = []
    for path in sorted((ROOT / "drumgen").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ("drumgen/dsp/spectral.py", "drumgen/dsp/synth.py"):
            continue
        found += [f"{rel}:{i}" for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []
