"""`drumgen inspect DIR`: what loads from a folder of hits, and why files are skipped."""

from __future__ import annotations

import argparse
import json
import sys

PARSER = dict(help="report what loads from a folder of hits, and why files are skipped")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", metavar="DATA_DIR", help="folder of drum hits (searched recursively)")
    p.add_argument("--json", action="store_true", help="print one JSON document for machines")
    p.add_argument("--split", action="store_true", help="split long recordings into hits at their onsets")
    p.add_argument("--sample-rate", type=int, default=44100, help="rate to prepare hits at (default 44100)")
    p.add_argument("--no-cache", action="store_true", help="decode every file again, ignoring the cache")
    p.add_argument("-v", "--verbose", action="store_true", help="list every loaded file too")


def run(args: argparse.Namespace) -> int:
    from drumgen.data.dataset import inspect_folder
    from drumgen.io import audio

    report = inspect_folder(args.data_dir, args.sample_rate, split=args.split,
                            cache_dir=False if args.no_cache else None)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0 if report.loaded else 1
    print(f"{args.data_dir}: {len(report.loaded)} hits loaded, {len(report.skipped)} files skipped")
    if report.loaded:
        counts = report.counts()
        print("  classes: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        secs = [i.seconds for i in report.loaded]
        rates = sorted({i.sample_rate for i in report.loaded})
        print(f"  durations: {min(secs):.2f}-{max(secs):.2f} s (median {sorted(secs)[len(secs) // 2]:.2f} s); "
              f"sample rates: {', '.join(map(str, rates))} Hz")
    if args.verbose and report.loaded:
        for item in report.loaded:
            print(f"  ok       {item.path}  [{item.label or 'unlabelled'}] {item.seconds:.2f} s "
                  f"{item.sample_rate} Hz {item.channels} ch")
    for s in report.skipped:
        print(f"  skipped  {s.path}: {audio.REASONS.get(s.reason, s.reason)}" + (f" ({s.detail})" if s.detail else ""))
    if not report.loaded:
        print("error: no usable drum hits; see the reasons above", file=sys.stderr)
        return 1
    return 0
