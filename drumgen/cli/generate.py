"""`drumgen generate`: new hits from a model, with their latents in sounds.json."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drumgen.cli import common

PARSER = dict(help="generate new hits from a model")


def add_args(p: argparse.ArgumentParser) -> None:
    common.add_model_arg(p)
    p.add_argument("--n", type=int, default=8, help="how many hits (default 8)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the WAVs and sounds.json")
    p.add_argument("--seed", type=int, help="same seed, same hits")
    p.add_argument("--label", help="class to generate (class-conditional models): kick, snare, ...")
    p.add_argument("--bits", type=int, choices=[16, 24], default=24, help="WAV bit depth (default 24)")
    common.add_rate_arg(p)
    common.add_checkpoints_arg(p)
    common.add_device_arg(p)


def run(args: argparse.Namespace) -> int:
    from drumgen.io import audio
    from drumgen.io.files import atomic_write_bytes

    engine, name = common.engine_for(args.model, args.checkpoints, args.device)
    sounds = engine.sample(name, args.n, seed=args.seed, label=args.label)
    out = Path(args.out)
    rate = common.output_rate(args, engine.output_rate(name))
    listing = []
    for i, s in enumerate(sounds):
        fname = f"{i:03d}_{s.label or name}.wav"
        audio.write_wav(out / fname, s.clip(), s.sample_rate, bits=args.bits, rate=rate)
        listing.append({"file": fname, "model": name, "seed": s.seed, "label": s.label, "latent": s.latent.tolist()})
    atomic_write_bytes(out / "sounds.json", json.dumps(listing, indent=1).encode())
    print(f"wrote {len(sounds)} hits to {out} ({rate / 1000:g} kHz {args.bits}-bit WAV; latents in sounds.json)")
    return 0
