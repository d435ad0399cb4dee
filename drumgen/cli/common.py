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


def engine_for(model_arg: str, checkpoints: str | None, device: str = "auto"):
    from drumgen import checkpoint
    from drumgen.engine.engine import Engine

    return Engine.of(checkpoint.resolve(model_arg, checkpoints), device=device)  # that model only
