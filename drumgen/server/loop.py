"""POST /api/loop: a drum loop -> its pads (Sounds like any other) and its Pattern (drumgen.loop); POST
/api/loop/drums: generated drums for a loop's pads, each the nearest of its class to the hit it replaces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile

from drumgen import loop
from drumgen.engine.engine import Sound
from drumgen.engine.imitation import drums_for as imitation_drums
from drumgen.server import uploads
from drumgen.server.deps import Svc
from drumgen.server.schemas import DrumsIn, LoopOnset, LoopOut, LoopPad, SoundOut, SoundsOut

router = APIRouter(prefix="/api", tags=["loop"])


@router.post("/loop", response_model=LoopOut)
async def slice_loop(file: Annotated[UploadFile, File(description="an audio file holding a drum loop")], svc: Svc,
                     bpm: Annotated[float | None, Form()] = None, bars: Annotated[int | None, Form(ge=1, le=16)] = None,
                     steps: Annotated[int, Form()] = 16) -> LoopOut:
    """Onsets, classes, tempo and grid of a loop; each pad's slice becomes an upload Sound."""
    loop.check_bpm(bpm)
    # a loop may run longer than one hit: decode up to loop.MAX_SECONDS (the byte limit still holds)
    settings = svc.settings.model_copy(update={"max_upload_seconds": max(svc.settings.max_upload_seconds,
                                                                         loop.MAX_SECONDS)})
    x, rate = await uploads.decode_untrusted(await file.read(), settings)
    result = await svc.inference.call(loop.analyse, x, rate, bpm=bpm, bars=bars, steps=steps)
    stem = uploads.display_stem(file.filename)
    pads = []
    for p in result.pads:
        known = await svc.inference.add(Sound.upload(f"{stem} {p.name}", p.audio, result.sample_rate))
        pads.append(LoopPad(sound=SoundOut.of(known), name=p.name, note=p.note, hits=p.hits, label=p.label))
    onsets = [LoopOnset(time=round(o.time, 4), pad=o.pad, velocity=o.velocity, step=o.step,
                        offset_ms=round(o.offset_ms, 2)) for o in result.onsets]
    return LoopOut(bpm=round(result.bpm, 2), bars=result.bars, steps=result.steps, swing=round(result.swing, 3),
                   pattern=result.pattern.to_dict(), pads=pads, onsets=onsets, notes=result.notes)


@router.post("/loop/drums", response_model=SoundsOut)
async def drums_for_imitations(body: DrumsIn, svc: Svc) -> SoundsOut:
    """For each imitation (a loop's pad: a beatboxed "b", "k", "ts" ...), the generated drum of its class that
    sounds most like it, among `candidates` sounds of `model` (drumgen.engine.imitation)."""
    if body.labels is not None and len(body.labels) != len(body.sounds):
        raise HTTPException(422, f"labels: give one class (or null) per sound; got {len(body.labels)} for "
                                 f"{len(body.sounds)} sounds")
    labels = body.labels or [None] * len(body.sounds)
    out = []
    for i, (sid, label) in enumerate(zip(body.sounds, labels, strict=True)):
        imitation = await svc.inference.sound(sid)
        sound, _ = await svc.inference.call(imitation_drums, svc.engine, body.model, imitation.audio,
                                            imitation.sample_rate, label, body.candidates, body.seed + i)
        out.append(SoundOut.of(await svc.inference.add(sound)))
    return SoundsOut(sounds=out)
