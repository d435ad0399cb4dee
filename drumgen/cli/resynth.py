"""`drumgen resynth`: play your hits through a model (same file names out)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from drumgen.cli import common

PARSER = dict(help="play your hits through a model (same file names out)")


def add_args(p: argparse.ArgumentParser) -> None:
    common.add_model_arg(p)
    p.add_argument("--input", required=True, metavar="FILE_OR_DIR", help="an audio file or a folder of them")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--bits", type=int, choices=[16, 24], default=24, help="WAV bit depth (default 24)")
    common.add_rate_arg(p)
    common.add_checkpoints_arg(p)
    common.add_device_arg(p)


def audio_inputs(path: Path) -> list[Path]:
    from drumgen.data.dataset import find_files
    from drumgen.io.audio import AUDIO_EXTENSIONS

    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return [p for p in find_files(path) if p.suffix.lower() in AUDIO_EXTENSIONS]


def run(args: argparse.Namespace) -> int:
    from drumgen.io import audio

    engine, name = common.engine_for(args.model, args.checkpoints, args.device)
    out_rate = common.output_rate(args, engine.output_rate(name))
    src = Path(args.input)
    files = audio_inputs(src)
    if not files:
        raise FileNotFoundError(f"no audio files in {src}")
    failed = 0
    for f in files:
        rel = f.name if src.is_file() else f.relative_to(src)
        try:
            x, rate = audio.read(f)
            sound = engine.resynthesize(name, x, rate)
        except audio.AudioError as e:
            print(f"skipped {rel}: {e}", file=sys.stderr)
            failed += 1
            continue
        target = (Path(args.out) / rel).with_suffix(".wav")
        audio.write_wav(target, sound.clip(), sound.sample_rate, bits=args.bits, rate=out_rate)
        print(f"{rel} -> {target}")
    return 1 if failed == len(files) else 0
