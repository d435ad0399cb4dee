"""Round robins and velocity layers of a sound (drumgen.engine.variations): what a pad plays on repeated and soft hits."""

from __future__ import annotations

import os

from fastapi import APIRouter

from drumgen.engine import variations
from drumgen.server.deps import Svc
from drumgen.server.schemas import LayersIn, LayersOut, SoundOut, SoundsOut, VariationsIn

router = APIRouter(prefix="/api", tags=["variations"])


@router.post("/variations", response_model=SoundsOut)
async def make_variations(body: VariationsIn, svc: Svc) -> SoundsOut:
    """n takes close to a sound (same model and class): round robins. Same seed, same takes."""
    sound = await svc.inference.sound(body.sound)
    seed = body.seed if body.seed is not None else int.from_bytes(os.urandom(4), "little") & 0x3FFFFFFF
    takes = await svc.inference.call(variations.variations, svc.engine, sound, body.n, body.amount, seed)
    return SoundsOut(sounds=[SoundOut.of(await svc.inference.add(t)) for t in takes])


@router.post("/layers", response_model=LayersOut)
async def make_layers(body: LayersIn, svc: Svc) -> LayersOut:
    """k velocity layers of a sound, soft to hard; the hardest is the sound itself."""
    sound = await svc.inference.sound(body.sound)
    layers = await svc.inference.call(variations.velocity_layers, svc.engine, sound, body.k)
    learned = variations.learned_direction(svc.engine, sound.model, sound.label) is not None
    return LayersOut(sounds=[SoundOut.of(await svc.inference.add(layer.sound)) for layer in layers],
                     gains=[round(layer.gain, 6) for layer in layers],
                     cutoffs=[None if layer.cutoff_hz is None else round(layer.cutoff_hz, 2) for layer in layers],
                     velocities=[layer.velocity for layer in layers], learned=learned)
