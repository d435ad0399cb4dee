"""Drums for an imitation: a beatboxed (or any) hit -> the generated drum of its class that sounds most like it.

The talk drumgen grew from picks drums by voice, and beatbox-to-drums tools turn a "b" into a kick, a "k" or
"psh" into a snare and a "ts" into a hat. A loop's pads already carry the class the tagger heard
(drumgen.loop); `drums_for` asks the model for `candidates` hits of that class and keeps the one nearest the
imitation in the autoencoder's latent space (its per-frame envelope plus global timbre, so a short "ts" picks a
short, bright hat). With no autoencoder loaded, it keeps the candidate whose hand-built embedding
(drumgen.eval.metrics.embed) is nearest instead.

    sound, distances = drums_for(engine, "autoencoder", x, sample_rate, "kick", candidates=16, seed=0)
"""

from __future__ import annotations

import numpy as np

from drumgen.engine.engine import Engine, EngineError, Sound
from drumgen.eval import metrics
from drumgen.io import audio

MAX_CANDIDATES = 64
EMBED_INPUT_RATE = 44100  # hits of any rate go to the embedding as one second at this rate


def _space(engine: Engine) -> str | None:
    """The model whose latent space measures "sounds like": the first that can encode, or None."""
    try:
        return engine.autoencoder_name()
    except EngineError:
        return None


def _points(engine: Engine, space: str | None, hits: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """[N, D] points of the hits in the chosen space (latents, or the measures' embedding of their first second)."""
    if space is None:
        x = np.stack([audio.prepare(h, r, EMBED_INPUT_RATE, EMBED_INPUT_RATE) for h, r in hits])
        return metrics.embed(x, EMBED_INPUT_RATE)
    return np.stack([engine.encode(space, h, r) for h, r in hits])


def drums_for(engine: Engine, model: str, x: np.ndarray, sample_rate: int, label: str | None,
              candidates: int = 16, seed: int = 0) -> tuple[Sound, np.ndarray]:
    """The generated hit of `label` (any class when None) nearest the imitation x [T] at sample_rate, among
    `candidates` sounds of `model` drawn from `seed`; returns it and every candidate's distance (the chosen one's
    is the smallest). Reproducible: the same imitation, model, class and seed give the same sound."""
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise EngineError(f"candidates must be 1..{MAX_CANDIDATES}; got {candidates}")
    x = np.asarray(x, np.float32).reshape(-1)
    if not x.size or not np.isfinite(x).all() or not np.abs(x).max() > 0:
        raise EngineError("the imitation is empty, silent or holds NaNs: record the hit again")
    sounds = engine.sample(model, candidates, seed=seed, label=label)
    space = _space(engine)
    points = _points(engine, space, [(x, sample_rate)] + [(s.audio, s.sample_rate) for s in sounds])
    distances = np.linalg.norm(points[1:] - points[0], axis=1)
    return sounds[int(np.argmin(distances))], distances
