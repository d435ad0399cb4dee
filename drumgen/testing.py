"""Helpers for tests and benchmarks: tiny untrained checkpoints of every generative model kind."""

from __future__ import annotations

import os
from pathlib import Path

from drumgen import checkpoint
from drumgen.models import GENERATIVE, KINDS, model_class


def tiny_kinds() -> list[str]:
    """The generative kinds whose code is present (plus any registered at run time, except the tagger)."""
    kinds = []
    for kind in dict.fromkeys([*GENERATIVE, *KINDS]):
        if kind == "tagger" or kind not in KINDS:
            continue
        try:
            model_class(kind)
        except (ImportError, AttributeError):
            continue
        kinds.append(kind)
    return kinds


def make_tiny_checkpoints(directory: str | os.PathLike, kinds: list[str] | None = None,
                          labels: tuple[str, ...] = ()) -> list[str]:
    """Write an untrained checkpoint of each kind's `tiny` preset as directory/<kind>-tiny; returns their names."""
    import sys

    import torch

    names = []
    for kind in kinds or tiny_kinds():
        cls = model_class(kind)
        presets = getattr(sys.modules[cls.__module__], "PRESETS", {})
        values = dict(presets.get("tiny", {}))
        values["labels"] = labels
        torch.manual_seed(0)
        model = cls(cls.Config.from_dict({**values, "preset": "tiny"} if "tiny" in presets else values))
        name = f"{kind}-tiny"
        checkpoint.save(model.eval(), Path(directory) / name, {"note": "untrained, for tests"})
        names.append(name)
    return names
