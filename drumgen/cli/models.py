"""`drumgen models`: the checkpoints in a folder, with kind, rate, size and classes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drumgen.cli import common

PARSER = dict(help="list checkpoints")


def add_args(p: argparse.ArgumentParser) -> None:
    common.add_checkpoints_arg(p)
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from drumgen import checkpoint

    root = Path(args.checkpoints) if args.checkpoints else checkpoint.default_dir()
    rows = []
    for path in checkpoint.list_dir(root):
        try:
            meta = checkpoint.read_metadata(path)
        except checkpoint.CheckpointError as e:
            rows.append({"name": path.name, "error": str(e)})
            continue
        size = (path / checkpoint.MODEL_FILE).stat().st_size
        rows.append({"name": path.name, "kind": meta["kind"], "sample_rate": meta["sample_rate"],
                     "labels": meta["labels"], "steps": meta["summary"].get("steps"), "megabytes": round(size / 1e6, 2),
                     "path": str(path)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no checkpoints in {root}")
        return 0
    for r in rows:
        if "error" in r:
            print(f"{r['name']:<16} BROKEN: {r['error']}")
        else:
            labels = ",".join(r["labels"]) or "unconditional"
            print(f"{r['name']:<16} {r['kind']:<12} {r['sample_rate']:>6} Hz  {r['megabytes']:>6} MB  "
                  f"steps {r['steps']}  {labels}")
    return 0
