"""Export: a pattern as a Standard MIDI File, and a kit (sounds + SFZ + Hydrogen drumkit.xml + MIDI) as a zip."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from drumgen import kit
from drumgen.engine import variations
from drumgen.io import midi
from drumgen.server.deps import Svc
from drumgen.server.schemas import KitIn, PatternIn
from drumgen.server.uploads import safe_part

router = APIRouter(prefix="/api/export", tags=["export"])
PATTERN_EXAMPLE = {"bpm": 96, "swing": 0.58, "steps": 16,
                   "tracks": [{"name": "kick", "note": 36, "steps": [100, 0, 0, 0] * 4}]}


@router.post("/midi", response_class=Response,
             responses={200: {"content": {"audio/midi": {}}, "description": "type-1 SMF, 480 ticks per beat"}})
async def export_midi(pattern: Annotated[PatternIn, Body(examples=[PATTERN_EXAMPLE])],
                      straight: Annotated[bool, Query(description="ignore swing")] = False) -> Response:
    data = midi.pattern_to_midi(pattern.pattern(), straight=straight)
    return Response(data, media_type="audio/midi", headers={"Content-Disposition": 'attachment; filename="beat.mid"'})


@router.post("/kit", response_class=Response,
             responses={200: {"content": {"application/zip": {}}, "description": "WAVs, .sfz, drumkit.xml, .mid"}})
async def export_kit(body: KitIn, svc: Svc,
                     straight: Annotated[bool, Query(description="the .mid without swing (as body.straight)")] = False
                     ) -> Response:
    """The kit as the user hears it: each pad's tune and decay are rendered into its WAV, volume and pan go into
    the SFZ and drumkit.xml, muted pads' notes leave the .mid (see the kit's README.txt). A pad's round robins
    and velocity layers are made here from its sound, variation and seed (drumgen.engine.variations.kit_takes)."""
    pattern = body.pattern.pattern() if body.pattern is not None else None
    pads = []
    for pad in body.pads:
        s = await svc.inference.sound(pad.sound)
        layers = ()
        if pad.round_robin > 1 or pad.velocity_layers > 1:  # the pad's takes, made as the browser made them
            layers = await svc.inference.call(variations.kit_takes, svc.engine, s, pad.velocity_layers,
                                              pad.round_robin, pad.variation, pad.seed)
        pads.append(kit.KitPad(pad.name, pad.note, s.audio, s.sample_rate, volume=pad.volume, pan=pad.pan,
                               tune=pad.tune, decay=pad.decay, mute=pad.mute, layers=layers))
    data = await svc.inference.call(kit.export_kit, body.name, pads, pattern, straight=straight or body.straight)
    filename = safe_part(body.name, "kit")
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.zip"'})
