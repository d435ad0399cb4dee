"""How well a tagger names the hits of a built corpus's held-out (or validation) kits, sliced every way.

    python benchmarks/tagger_eval.py checkpoints/tagger --corpus runs/corpus-v2            # held-out kits
    python benchmarks/tagger_eval.py CKPT --corpus runs/corpus-v2 --split validation --no-append

Prints accuracy over all hits, per class, per source (hydrogen, sonic-pi, and each soundfont), per kit, the mean of
per-class accuracies and the confusion matrix (rows: true class, columns: predicted), and appends them to
benchmarks/RESULTS.md through common.record(). Only score the held-out kits of a model that is already chosen:
choosing among models by their held-out score makes that score optimistic (use --split validation for that).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record, table  # noqa: E402

from drumgen.data.labels import CLASSES  # noqa: E402
from drumgen.engine import tagging as tagger  # noqa: E402


def report(r: dict) -> str:
    """drumgen.engine.tagging.evaluate_split's slices as Markdown tables."""
    parts = [table(["slice", "accuracy", "hits"],
                   [["all hits", round(r["accuracy"], 3), r["n"]], ["mean of per-class", round(r["balanced_accuracy"], 3), ""],
                    ["class unchanged over a -60 dBFS noise floor", round(r["steadiness"], 3), r["n"]]]
                   + [[f"class {c}", round(a, 3), n] for c, (a, n) in r["per_class"].items()]
                   + [[f"source {s}", round(a, 3), n] for s, (a, n) in r["per_source"].items()]
                   + [[f"kit {k}", round(a, 3), n] for k, (a, n) in r["per_kit"].items()])]
    parts.append("Confusion matrix (rows: true class, columns: predicted):\n\n"
                 + table(["true \\ pred", *CLASSES], [[c, *row] for c, row in zip(CLASSES, r["confusion"], strict=True)]))
    return "\n\n".join(parts)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="tagger checkpoint folder (e.g. checkpoints/tagger)")
    p.add_argument("--corpus", default="runs/corpus-v2", help="built corpus folder (drumgen corpus all --out DIR)")
    p.add_argument("--split", default="heldout", choices=["heldout", "validation", "train"])
    p.add_argument("--name", help="what to call the model in RESULTS.md (default: the folder)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON instead")
    p.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    args = p.parse_args()
    torch.set_num_threads(1)
    r = tagger.evaluate_split(tagger.load(args.model), args.corpus, args.split)
    if args.json:
        print(json.dumps(r))
        return 0
    text = report(r)
    title = f"Tagger {args.name or args.model} on the {args.split} kits of {args.corpus}"
    if args.no_append:
        print(text)
    else:
        record(title, text, f"Targets: >= 0.90 over all hits, >= 0.75 in every class. {r['n']} hits.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
