"""The model kinds drumgen knows, by name. Each lives in its own file; importing one is deferred until asked."""

from __future__ import annotations

import importlib

# kind -> "module:Class"
KINDS: dict[str, str] = {
    "wavegan": "drumgen.models.wavegan:WaveGAN",
    "specgan": "drumgen.models.specgan:SpecGAN",
    "autoencoder": "drumgen.models.autoencoder:Autoencoder",
    "tagger": "drumgen.models.tagger:Tagger",
}
GENERATIVE = ("wavegan", "specgan", "autoencoder")


def model_class(kind: str):
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; drumgen knows {', '.join(KINDS)}")
    module, name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name)
