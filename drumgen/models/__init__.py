"""The model kinds drumgen knows, by name. Each lives in its own file (its Config and its whole network);
importing one is deferred until asked.

    wavegan.py      WaveGAN: a DCGAN on raw waveforms
    specgan.py      SpecGAN: a DCGAN on log-magnitude spectrograms, Griffin-Lim back to audio
    autoencoder.py  the VAE whose decoder is a noise path plus a wave path
    tagger.py       the drum class tagger (a CNN on log-mel spectrograms)
    layers.py       what the GANs share: their config fields, class conditioning of G and of the critic
    prior.py        the stored-latent bank new hits are blended from, and its sampler
    base.py         the Config base and the latent interface the engine and the checkpoint use

How each kind is trained is drumgen/train/steps.py.
"""

from __future__ import annotations

import importlib
from typing import Any

# kind -> "module:Class"
KINDS: dict[str, str] = {
    "wavegan": "drumgen.models.wavegan:WaveGAN",
    "specgan": "drumgen.models.specgan:SpecGAN",
    "autoencoder": "drumgen.models.autoencoder:Autoencoder",
    "tagger": "drumgen.models.tagger:Tagger",
}
GENERATIVE = ("wavegan", "specgan", "autoencoder")


def model_class(kind: str) -> Any:
    """The class of a model kind (a DrumModel, or the Tagger), imported on first use."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; drumgen knows {', '.join(KINDS)}")
    module, name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name)
