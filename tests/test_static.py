"""The code as text: ruff's lint rules and the type checker (the files and settings in pyproject.toml) pass."""

from __future__ import annotations

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
