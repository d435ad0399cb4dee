"""Export: a pattern as a Standard MIDI File, a kit (sounds + SFZ + Hydrogen drumkit.xml + MIDI) as a zip, and the
beat bounced to a stereo WAV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from drumgen import kit
from drumgen.engine import variations
from drumgen.io import midi
from drumgen.kit import bounce
from drumgen.server.deps import Services, Svc
from drumgen.server.schemas import BounceIn, KitIn, PadIn, PatternIn
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
    pads = await _kit_pads(body.pads, svc)
    data = await svc.inference.call(kit.export_kit, body.name, pads, pattern, straight=straight or body.straight)
    filename = safe_part(body.name, "kit")
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.zip"'})


@router.post("/audio", response_class=Response,
             responses={200: {"content": {"audio/wav": {}}, "description": "44.1 kHz 24-bit stereo WAV, the "
                                                                          "pattern's bars long"}})
async def export_audio(body: BounceIn, svc: Svc) -> Response:
    """The beat bounced to audio as the browser plays it (drumgen.kit.bounce): each pad's takes, tune, decay,
    volume, pan, mute and solo, the hats' choke, swing and velocity per step. Exactly the pattern's bars long;
    `tails` says where what rings past the end goes. Turned down (only) when it would peak over -1 dBFS: the
    X-Bounce-Gain-Db header says by how much."""
    pads = await _kit_pads(body.pads, svc)
    solo = {i for i, p in enumerate(body.pads) if p.solo}
    data, gain_db = await svc.inference.call(bounce.bounce_wav, pads, body.pattern.pattern(), tails=body.tails,
                                             solo=solo, choke=body.choke)
    filename = safe_part(body.name, "beat")
    return Response(data, media_type="audio/wav",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.wav"',
                             "X-Bounce-Gain-Db": f"{gain_db:.2f}"})


async def _kit_pads(pads: Sequence[PadIn], svc: Services) -> list[kit.KitPad]:
    """The request's pads with their sounds' audio (unknown or expired sound ids: 404) and, for a pad with round
    robins or velocity layers, its takes, made here from its sound, variation and seed as the browser made them
    (drumgen.engine.variations.kit_takes)."""
    out = []
    for pad in pads:
        s = await svc.inference.sound(pad.sound)
        layers = ()
        if pad.round_robin > 1 or pad.velocity_layers > 1:
            layers = await svc.inference.call(variations.kit_takes, svc.engine, s, pad.velocity_layers,
                                              pad.round_robin, pad.variation, pad.seed)
        out.append(kit.KitPad(pad.name, pad.note, s.audio, s.sample_rate, volume=pad.volume, pan=pad.pan,
                              tune=pad.tune, decay=pad.decay, mute=pad.mute, layers=layers))
    return out
