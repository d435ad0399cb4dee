"""A loop's analysis as files (pads as WAVs, pattern.json, a .mid, report.json), and a loop rendered from one-shots.

`render` is the inverse direction: tests and benchmarks build loops with known onsets with it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from drumgen.io import audio, names
from drumgen.io.files import atomic_write_bytes
from drumgen.loop.analysis import LoopResult


def write(result: LoopResult, out: str | os.PathLike, stem: str = "loop") -> dict[str, Any]:
    """Pads as WAVs (NNN_name.wav), pattern.json, STEM.mid and report.json into `out`; -> the report with the
    file names."""
    from drumgen.io.midi import pattern_to_midi

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = result.report()
    for p, entry in zip(result.pads, report["pads"], strict=True):
        name = f"{p.note:03d}_{names.safe_part(p.name, 'pad', lower=True)}.wav"
        audio.write_wav(out / name, p.audio, result.sample_rate)
        entry["file"] = name
    (out / "pattern.json").write_text(json.dumps(result.pattern.to_dict(), indent=1))
    atomic_write_bytes(out / f"{stem}.mid", pattern_to_midi(result.pattern))
    report["files"] = {"pattern": "pattern.json", "midi": f"{stem}.mid", "report": "report.json"}
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def render(kit: dict[str, np.ndarray], events: list[tuple[float, str, float]], duration: float,
           sample_rate: int) -> np.ndarray:
    """A loop from one-shots: kit {class: hit [T]}, events [(time s, class, gain)] -> mono [duration s], peak
    0.9 (tests and benchmarks build loops with known onsets this way)."""
    x = np.zeros(int(duration * sample_rate) + 1, np.float32)
    for t, c, g in events:
        i = int(round(t * sample_rate))
        h = kit[c][: max(0, x.size - i)] * g
        x[i:i + h.size] += h
    return (x / (np.max(np.abs(x)) + 1e-9) * 0.9).astype(np.float32)
