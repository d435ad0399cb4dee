"""`drumgen tag`: label hits by class with the tagger (per file, then how sure it is per folder), sort them into
class folders, or train a tagger on your own tags (`--train DIR --out CKPT`: sub-folder names are the tags)."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from drumgen.engine.tagging import (
    DEFAULT_CHECKPOINT,
    TaggerError,
    folder_confidence,
    format_confidence,
    load,
    load_tagged_folder,
    save,
    sort_into,
    tag_folder,
)
from drumgen.models.tagger import Config
from drumgen.train.tagger import train_tagger

PARSER = dict(help="label hits by class with the tagger, or train a tagger on your own tags")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", help="folder (or file) of hits to tag")
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="tagger checkpoint folder")
    p.add_argument("--json", action="store_true", help='print [{"path", "label", "confidence"}] as JSON')
    p.add_argument("--csv", metavar="FILE", help="also write path,label,confidence to a CSV file")
    p.add_argument("--sort-into", metavar="DIR", help="copy each hit into DIR/<label>/ (originals untouched)")
    p.add_argument("--link", action="store_true", help="with --sort-into: symlink instead of copying")
    p.add_argument("--train", metavar="DIR", help="train a tagger on DIR/<tag>/... (folder names are the tags)")
    p.add_argument("--out", metavar="CKPT", help="with --train: where to write the new tagger")
    p.add_argument("--steps", type=int, default=1500, help="with --train: training steps")
    p.add_argument("--low", type=float, default=0.6,
                   help="the per-folder report counts hits whose top probability is under this (default 0.6)")


def run(args: argparse.Namespace) -> int:
    if args.train:
        if not args.out:
            raise TaggerError("--train needs --out CKPT, the folder to write the new tagger to")
        cfg = Config()
        x, y, names = load_tagged_folder(args.train, cfg.sample_rate, cfg.length)
        model, summary = train_tagger(x, y, names, cfg.sample_rate, steps=args.steps,
                                      log=lambda s: print(s, file=sys.stderr))
        summary["data"] = str(args.train)
        save(model, args.out, summary)
        result = {"checkpoint": str(args.out), "tags": names, "hits": len(y), "cpu_seconds": summary["cpu_seconds"]}
        print(json.dumps(result) if args.json else f"trained a tagger for {', '.join(names)} on {len(y)} hits "
              f"in {summary['cpu_seconds']:.0f} CPU-s -> {args.out}")
        return 0
    if not args.dir:
        raise TaggerError("give a folder of hits to tag (drumgen tag DIR), or --train DIR --out CKPT")
    rows = tag_folder(load(args.checkpoint), args.dir)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label", "confidence"])
            w.writerows([r["path"], r["label"] or "", r["confidence"]] for r in rows)
    if args.sort_into:
        n = sort_into(rows, args.sort_into, link=args.link)
        print(f"{'linked' if args.link else 'copied'} {n} files into {args.sort_into}", file=sys.stderr)
    folders = folder_confidence(rows, args.low)
    if args.json:  # stdout stays the list of rows; the per-folder report goes beside it, on stderr
        print(json.dumps([{k: r[k] for k in ("path", "label", "confidence")} for r in rows if r["label"]]))
        print(json.dumps({"folders": folders, "low": args.low}), file=sys.stderr)
    else:
        width = max((len(r["path"]) for r in rows), default=4)
        for r in rows:
            tag = r["label"] or f"(skipped: {r['skipped']})"
            print(f"{r['path']:{width}}  {tag:8}  {r['confidence']:.2f}" if r["label"] else f"{r['path']:{width}}  {tag}")
        if folders:
            print(f"\nHow sure the tagger is, per folder (least sure first; check the tags of hits under {args.low:.2f}):")
            print(format_confidence(folders, args.low))
    return 0
