"""What several verbs share: the --model, --checkpoints and --device arguments, and an engine of one model."""

from __future__ import annotations

import argparse


def add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="CKPT",
                   help="a checkpoint directory, or the name of one under checkpoints/ (see `drumgen models`)")


def add_device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", metavar="DEV",
                   help="auto (default: a CUDA GPU, else Apple MPS, else the CPU), cpu, cuda, cuda:N or mps")


def add_checkpoints_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoints", metavar="DIR", default=None,
                   help="folder of checkpoint directories (default: the checkpoints/ shipped with drumgen)")


def add_rate_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate", type=int, metavar="HZ", default=None,
                   help="resample the WAVs to this rate (default: the rate of the model's sounds: 44.1 kHz, with a "
                        "22.05 kHz model's band above 10.5 kHz made by drumgen.dsp.extension; a 16 kHz model's own)")


def output_rate(args: argparse.Namespace, model_rate: int) -> int:
    """The rate a verb writes its WAVs at: --rate, else the rate of the model's sounds (Engine.output_rate)."""
    rate = args.rate or model_rate
    if not 8000 <= rate <= 192000:
        raise SystemExit(f"drumgen: --rate must be 8000..192000 Hz; got {rate}")
    return rate


def engine_for(model_arg: str, checkpoints: str | None, device: str = "auto"):
    from drumgen import checkpoint
    from drumgen.engine.engine import Engine

    return Engine.of(checkpoint.resolve(model_arg, checkpoints), device=device)  # that model only
