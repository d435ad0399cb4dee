"""`drumgen loop`: a drum loop -> its pads (WAVs), pattern.json, a .mid and a report (drumgen.loop)."""

from __future__ import annotations

import argparse
import json

PARSER = dict(help="slice a drum loop into a kit and a beat: pads as WAVs, pattern.json, .mid, report")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="an audio file holding a drum loop (at most 60 s)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--bpm", type=float, help="the loop's tempo when known (60..200); else it is estimated")
    p.add_argument("--bars", type=int, help="the loop's length in bars when known; else it is estimated")
    p.add_argument("--steps", type=int, choices=[16, 32], default=16, help="grid steps per bar (default 16)")
    p.add_argument("--quantize", type=float, default=0.0,
                   help="0 = offsets as played ... 1 = on the grid, for the offsets reported (default 0)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON document")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from drumgen import loop
    from drumgen.io import audio

    x, rate = audio.read(args.file, max_seconds=loop.MAX_SECONDS)
    result = loop.analyse(x, rate, bpm=args.bpm, bars=args.bars, steps=args.steps, quantize=args.quantize)
    report = loop.write(result, args.out, stem=Path(args.file).stem or "loop")
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['bpm']:g} BPM, {report['bars']} bars, swing {report['swing']:g}, "
          f"{report['onsets_found']} hits -> {args.out}")
    for p in report["pads"]:
        print(f"  {p['file']:<24} {p['class']:<7} note {p['note']:<3} {p['hits']} hits")
    for note in report["notes"]:
        print(f"  note: {note}")
    return 0
