"""`drumgen interpolate`: morph from hit A to hit B, or mix four corners on a grid."""

from __future__ import annotations

import argparse
from pathlib import Path

from drumgen.cli import common

PARSER = dict(help="morph from hit A to hit B (or mix four corners)")


def add_args(p: argparse.ArgumentParser) -> None:
    common.add_model_arg(p)
    p.add_argument("--a", required=True, metavar="A.wav")
    p.add_argument("--b", required=True, metavar="B.wav")
    p.add_argument("--c", metavar="C.wav", help="third corner, for four-corner mixing (with --d)")
    p.add_argument("--d", metavar="D.wav", help="fourth corner")
    p.add_argument("--steps", type=int, default=5, help="points along the path (per side for four corners)")
    p.add_argument("--out", required=True, metavar="DIR")
    common.add_checkpoints_arg(p)
    common.add_rate_arg(p)
    common.add_device_arg(p)


def run(args: argparse.Namespace) -> int:
    from drumgen.engine.engine import Sound
    from drumgen.io import audio

    engine, name = common.engine_for(args.model, args.checkpoints, args.device)
    corners = [args.a, args.b] + ([args.c, args.d] if args.c or args.d else [])
    if len(corners) == 4 and not (args.c and args.d):
        raise ValueError("four-corner mixing needs both --c and --d")
    sounds = []
    for path in corners:
        x, rate = audio.read(path)
        z = engine.encode(name, x, rate)
        sounds.append(Sound(name, z, x, rate, origin="encoded"))
    out = Path(args.out)
    out_rate = common.output_rate(args, engine.output_rate(name))
    k = args.steps
    if k < 2:
        raise ValueError("--steps must be at least 2 (the two ends)")
    if len(sounds) == 2:
        for i in range(k):
            s = engine.interpolate(sounds[0], sounds[1], i / (k - 1))
            audio.write_wav(out / f"{i:03d}_t{i / (k - 1):.2f}.wav", s.clip(), s.sample_rate, rate=out_rate)
        print(f"wrote {k} hits from A to B in {out}")
    else:
        for j in range(k):
            for i in range(k):
                s = engine.mix4(*sounds, i / (k - 1), j / (k - 1))
                audio.write_wav(out / f"x{i:02d}_y{j:02d}.wav", s.clip(), s.sample_rate, rate=out_rate)
        print(f"wrote a {k}x{k} grid mixing A (0,0), B (1,0), C (0,1), D (1,1) in {out}")
    return 0
