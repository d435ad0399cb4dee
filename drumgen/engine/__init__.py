"""Loaded models and what they make: the registry, latents <-> audio, mixing, inversion, tagging, variations.

    from drumgen.engine import Engine
    engine = Engine()                       # the shipped defaults (and the user's models folder)
    hits = engine.sample("autoencoder", n=8, seed=1)   # 8 Sounds
"""

from drumgen.engine.engine import Engine, Sound
from drumgen.engine.registry import EngineError, ModelNotFound

__all__ = ["Engine", "EngineError", "ModelNotFound", "Sound"]
