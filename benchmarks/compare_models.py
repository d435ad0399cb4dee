"""Several checkpoints measured on the same held-out kits: an old default against its retrained successor.

    python benchmarks/compare_models.py checkpoints/autoencoder runs/staging/autoencoder [--corpus runs/corpus-v2]

Every checkpoint gets the measures of its model card (drumgen.eval.evaluate.measure_model: 250 hits against the
corpus's held-out kits, with the shipped tagger), beside the real floor (the corpus's own train hits measured the
same way), so models trained on different corpora are compared on one reference. Prints the table and, unless
--no-record, appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import record, table  # noqa: E402

from drumgen import checkpoint  # noqa: E402
from drumgen.eval import evaluate  # noqa: E402


def row(name: str, result: dict, floor: float | None, hits: str) -> list:
    fd = result.get("frechet")
    tag = result.get("tagger", {})
    return [name, hits, round(fd, 1) if fd is not None else "-",
            ", ".join(f"{v:.1f}" for v in result.get("frechet_draws", [])) or "-",
            round(fd / floor, 2) if fd is not None and floor else "-",
            round(result.get("diversity_ratio", float("nan")), 2),
            round(result.get("near_copy_rate", float("nan")), 3),
            f"{100 * result['tagger_agreement']:.0f}%" if "tagger_agreement" in result else "-",
            len(tag.get("coverage") or []), round(tag.get("inception_score", float("nan")), 2)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", help="checkpoint folders to compare")
    ap.add_argument("--corpus", default="runs/corpus-v2", help="built corpus whose held-out kits are the reference")
    ap.add_argument("--tagger", default="checkpoints/tagger", help="tagger for the class measures")
    ap.add_argument("--draws", type=int, default=3, help="draws of 250 hits per checkpoint; Frechet is their mean")
    ap.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args(argv)
    t0 = time.time()
    stats, desc = evaluate.resolve_reference(args.corpus)
    tagger = checkpoint.load(args.tagger)
    real = evaluate.real_floor(args.corpus, stats, tagger)
    rows = [row("real train hits (floor)", real, real["frechet"], str(real["count"]))]
    for path in args.checkpoints:
        summary = checkpoint.read_metadata(path)["summary"]
        data = summary.get("data", {})
        result = evaluate.measure_model(path, stats, tagger, draws=args.draws)
        rows.append(row(path, result, real["frechet"], f"{data.get('hits', '?')} train hits, {result['count']} made"))
    text = table(["checkpoint", "hits", "Frechet", "Frechet per draw", "x real floor", "diversity ratio", "near-copy rate",
                  "asked class heard", "classes covered", "inception-style score"], rows)
    notes = (f"Reference: {desc}; tagger {args.tagger}. Lower Frechet is closer to the held-out kits; the floor is "
             f"what the corpus's own train hits score (one draw). Frechet: the mean of {args.draws} draws of 250 "
             f"generated hits (seeds {evaluate.MEASURE_SEED} + {evaluate.DRAW_STEP} k); the other measures are the "
             f"first draw's. {time.time() - t0:.0f} s.")
    if args.no_record:
        print(text + "\n\n" + notes)
    else:
        record("Models compared on the same held-out kits", text, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
