"""How fast a folder of hits becomes a training set: files per second, cold (decoding) and cached.

    python benchmarks/load_speed.py [--files 1000] [--data DIR]

Without --data it writes --files synthesized hits (WAV 16/24-bit, FLAC, AIFF, OGG mixed; 44.1 and 48 kHz) to a
temporary folder first.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from common import record, table

from drumgen.data.dataset import load_folder
from drumgen.data.labels import CLASSES
from drumgen.dsp import synth

FORMATS = [("wav", "WAV", "PCM_16", 44100), ("wav", "WAV", "PCM_24", 48000), ("flac", "FLAC", "PCM_16", 44100),
           ("aiff", "AIFF", "PCM_24", 44100), ("ogg", "OGG", "VORBIS", 44100)]


def write_hits(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        kind = CLASSES[i % len(CLASSES)]
        ext, fmt, sub, sr = FORMATS[i % len(FORMATS)]
        path = root / kind / f"{kind}_{i:04d}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, synth.hit(kind, rng, sr), sr, format=fmt, subtype=sub)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--data", type=Path, help="a folder of your own hits instead of synthesized ones")
    ap.add_argument("--sample-rate", type=int, default=44100)
    ap.add_argument("--length", type=int, default=44100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "hits"
        if not args.data:
            write_hits(data, args.files)
        cache = Path(tmp) / "cache"
        rows = []
        for label in ("cold (decode, resample, trim, cache)", "cached"):
            t = time.perf_counter()
            ds = load_folder(data, args.sample_rate, args.length, cache_dir=cache)
            dt = time.perf_counter() - t
            rows.append([label, len(ds), round(dt, 2), round(len(ds) / dt, 1)])
    text = table(["load", "hits", "seconds", "files/s"], rows)
    record(f"Dataset loading ({args.sample_rate} Hz, {args.length}-sample slices)", text)


if __name__ == "__main__":
    main()
