"""Baselines for the quality table: how far simple sound sources are from real held-out drum kits.

    python benchmarks/eval_baselines.py --corpus /tmp/corpus   # builds the Hydrogen corpus there if missing

Rows: the corpus's own training kits (real drums: the floor any model should aim for), decaying noise bursts,
decaying sine bursts, and drumgen's procedural synthesizer; each scored against the held-out kits with the Frechet
distance, diversity ratio, near-copy rate against the training kits, and the tagger's measures. The table is
printed and appended to benchmarks/RESULTS.md with the date, machine and this command.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch

from drumgen.data import corpus, corpus_hydrogen
from drumgen.data.labels import CLASSES
from drumgen.dsp import synth
from drumgen.eval import evaluate
from drumgen.io import audio

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SR = evaluate.EVAL_RATE


def bursts(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(SR) / SR
    env = np.exp(-t / rng.uniform(0.03, 0.5, (n, 1)))
    src = rng.normal(size=(n, SR)) if kind == "noise" else np.sin(2 * np.pi * rng.uniform(40, 4000, (n, 1)) * t)
    return np.stack([audio.normalize(x) for x in (src * env).astype(np.float32)])


def synth_hits(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([audio.prepare(synth.hit(CLASSES[i % 7], rng, SR), SR, SR, SR) for i in range(n)])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="/tmp/drumgen-corpus", help="built corpus folder (built if missing)")
    p.add_argument("--n", type=int, default=300, help="hits per baseline set")
    p.add_argument("--tagger", default="default", help="tagger checkpoint ('none' to skip)")
    p.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    args = p.parse_args()
    torch.set_num_threads(1)
    if not (Path(args.corpus) / "manifest.json").is_file():
        corpus_hydrogen.build_hydrogen_corpus(args.corpus)
    x_ref, _, _ = corpus.load_split(args.corpus, "heldout", SR, SR)
    x_train, _, _ = corpus.load_split(args.corpus, "train", SR, SR)
    stats = evaluate.reference_stats(x_ref, SR, x_train)
    tagger = evaluate.load_tagger(args.tagger)
    # The real row excludes exact training hits from near-copy counting: it *is* the training set, so its rate
    # is 1 by definition; report it against itself only for Frechet/diversity.
    rows = {"real: corpus train kits": x_train, "noise bursts": bursts("noise", args.n, 1),
            "sine bursts": bursts("sine", args.n, 2), "procedural synth (drumgen.dsp.synth)": synth_hits(args.n, 3)}
    header = ("| set | hits | Frechet to held-out | diversity ratio | near-copy rate | inception-style score | "
              "tagger confidence | classes covered |")
    lines = [header, "|" + "---|" * 8]
    for name, x in rows.items():
        r = evaluate.evaluate_hits(x, SR, stats, tagger)
        t = r.get("tagger", {})
        ncr = "n/a (is the training set)" if name.startswith("real") else f"{r['near_copy_rate']:.3f}"
        lines.append(f"| {name} | {r['count']} | {r['frechet']:.2f} | {r['diversity_ratio']:.2f} | {ncr} | "
                     f"{t.get('inception_score', float('nan')):.2f} | {t.get('mean_confidence', float('nan')):.2f} | "
                     f"{len(t.get('coverage', []))} |")
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        machine = f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
        cmd = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
        with open(RESULTS, "a") as f:
            f.write(f"\n## Evaluation baselines ({datetime.date.today()})\n\nMachine: {machine}. Command: `{cmd}`. "
                    f"Reference: {len(x_ref)} hits of the held-out Hydrogen kits; training kits: {len(x_train)} hits. "
                    f"Embedding: drumgen.eval.metrics.embed v{evaluate.metrics.EMBED_VERSION}.\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
