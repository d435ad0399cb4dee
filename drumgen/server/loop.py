"""POST /api/loop: a drum loop -> its pads (Sounds like any other) and its Pattern (drumgen.loop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from drumgen import loop
from drumgen.engine.engine import Sound
from drumgen.server import uploads
from drumgen.server.deps import Svc
from drumgen.server.schemas import LoopOnset, LoopOut, LoopPad, SoundOut

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
