"""Fit the band extension (drumgen.dsp.extension) on a built corpus's train kits and install it beside the shipped
checkpoints; print how close the band it makes comes to the real band, on the validation and held-out kits.

    python scripts/fit_band_extension.py [--corpus runs/corpus-v2] [--out checkpoints/band_extension.safetensors]
                                         [--check-only]

Each real hit is low-passed as a 22.05 kHz model would give it (down to 22.05 kHz and back up) and its band above
10.5 kHz is made by the extension; the table compares that band's energy (benchmarks/fidelity.py's "air": energy
above 11.5 kHz in the first 0.5 s, dB of the whole) with the hit's own, per split and per class. Build the corpus
with `drumgen corpus all --out runs/corpus-v2`. A few CPU-seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from fidelity import air_db  # noqa: E402

from drumgen import checkpoint  # noqa: E402
from drumgen.data import corpus  # noqa: E402
from drumgen.data.labels import CLASSES  # noqa: E402
from drumgen.dsp import extension  # noqa: E402


def split_hits(corpus_dir: Path, split: str) -> tuple[np.ndarray, list[str]]:
    x, y, _ = corpus.load_split(corpus_dir, split, extension.RATE, 2 * extension.RATE)
    return x, [CLASSES[i] for i in y]


def check(ext: extension.Extension, x: np.ndarray, labels: list[str], split: str) -> list[list]:
    """One row per class and one for the split: median air of the real hits and of their extended low band."""
    real, made = [], []
    for hit in x:
        full, low = extension.low_band(hit, extension.RATE)
        real.append(air_db(full, extension.RATE))
        made.append(air_db(ext.band(torch.from_numpy(low)[None])[0].numpy(), extension.RATE))
    real_a, made_a = np.array(real), np.array(made)
    rows = [[split, "all", len(real), round(float(np.median(real_a)), 1), round(float(np.median(made_a)), 1),
             round(float(np.percentile(real_a, 90)), 1), round(float(np.percentile(made_a, 90)), 1),
             round(float(np.mean(np.abs(real_a - made_a))), 1)]]
    for c in CLASSES:
        k = np.array([lbl == c for lbl in labels])
        if k.any():
            rows.append([split, c, int(k.sum()), round(float(np.median(real_a[k])), 1),
                         round(float(np.median(made_a[k])), 1), "", "", round(float(np.mean(np.abs(real_a[k] - made_a[k]))), 1)])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(ROOT / "runs" / "corpus-v2"), help="a corpus built by `drumgen corpus all`")
    ap.add_argument("--out", default=str(checkpoint.default_dir() / extension.FILE), help="where to write it")
    ap.add_argument("--check-only", action="store_true", help="measure the installed extension, fit nothing")
    args = ap.parse_args()
    corpus_dir = Path(args.corpus)
    try:
        if args.check_only:
            ext = extension.load(args.out)
        else:
            t0 = time.perf_counter()
            x, _ = split_hits(corpus_dir, "train")
            ext = extension.fit(list(x), [extension.RATE] * len(x),
                                {"corpus": str(corpus_dir), "split": "train", "fitted": time.strftime("%Y-%m-%d")})
            ext.save(args.out)
            print(f"fitted on {ext.info['hits']} train hits ({ext.info['frames']} frames) in "
                  f"{time.perf_counter() - t0:.1f} s -> {args.out}")
        rows = []
        for split in ("validation", "heldout"):
            x, labels = split_hits(corpus_dir, split)
            rows += check(ext, x, labels, split)
    except (corpus.CorpusError, extension.ExtensionError) as e:
        raise SystemExit(f"fit_band_extension: {e}") from None
    head = ["split", "class", "hits", "real air median dB", "extended median dB", "real p90", "extended p90",
            "mean |difference| dB"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(str(v) for v in r) + " |")


if __name__ == "__main__":
    main()
