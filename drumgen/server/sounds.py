"""Sounds: sample, fetch (JSON and WAV), decode a saved latent, interpolate, mix four, re-synthesize an upload."""

from __future__ import annotations

import base64
import dataclasses
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Response, UploadFile

from drumgen.engine.engine import Sound
from drumgen.server import uploads
from drumgen.server.deps import Svc
from drumgen.server.schemas import (
    DecodeIn,
    HeardIn,
    HeardOut,
    InterpolateIn,
    Mix4In,
    OneSound,
    ResynthOut,
    SampleIn,
    SoundOut,
    SoundsOut,
)

router = APIRouter(prefix="/api", tags=["sounds"])
SOUND_ID = Path(pattern=r"^[0-9a-f]{16}$", description="a sound id from /api/sample or /api/decode")


@router.post("/sample", response_model=SoundsOut)
async def sample(body: SampleIn, svc: Svc) -> SoundsOut:
    """n new sounds from a model's prior (same seed, same sounds)."""
    if body.n > svc.settings.max_n:
        raise HTTPException(422, f"n: this server makes at most {svc.settings.max_n} sounds per request")
    known = await svc.inference.sample(body.model, body.n, body.seed, body.asked())
    sounds = [SoundOut.of(k) for k in known]
    if body.audio:  # made with the decode (Inference._sample_and_encode): no model work here
        for s in sounds:
            s.wav = base64.b64encode(await svc.inference.wav(s.id)).decode("ascii")
    return SoundsOut(sounds=sounds)


@router.get("/sounds/{sid}.wav", response_class=Response,
            responses={200: {"content": {"audio/wav": {}},
                             "description": "mono 16-bit WAV at the model's own rate (or ?rate=)"}})
async def sound_wav(sid: Annotated[str, SOUND_ID], svc: Svc,
                    rate: Annotated[int | None, Query(ge=8000, le=192000,
                                                      description="resample to this rate (Hz)")] = None) -> Response:
    svc.inference.store.lookup(sid)  # 404 for ids never seen, even if a WAV were cached
    data = await svc.inference.wav(sid, rate)
    # the id is a content address: the same id always means the same audio
    return Response(data, media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400, immutable"})


@router.post("/heard", response_model=HeardOut)
async def heard(body: HeardIn, svc: Svc) -> HeardOut:
    """What the tagger hears in each sound: a hint beside the class a pad asked for. /api/sample leaves it out of
    a class-conditional model's answer, so a new kit plays before the tagger has listened."""
    return HeardOut(heard=await svc.inference.heard(body.ids))


@router.get("/sounds/{sid}", response_model=SoundOut)
async def sound_json(sid: Annotated[str, SOUND_ID], svc: Svc) -> SoundOut:
    return SoundOut.of(svc.inference.store.lookup(sid))


@router.post("/decode", response_model=OneSound)
async def decode(body: DecodeIn, svc: Svc) -> OneSound:
    """Re-create a sound from its model and latent (how a saved session comes back after a restart)."""
    svc.engine.get(body.model)
    s = await svc.inference.call(svc.engine.decode, body.model, np.asarray(body.latent, np.float32), body.label)
    return OneSound(sound=SoundOut.of(await svc.inference.add(s)))


@router.post("/interpolate", response_model=OneSound)
async def interpolate(body: InterpolateIn, svc: Svc) -> OneSound:
    a, b = await svc.inference.sound(body.a), await svc.inference.sound(body.b)
    s = await svc.inference.call(svc.engine.interpolate, a, b, body.t)
    return OneSound(sound=SoundOut.of(await svc.inference.add(s)))


@router.post("/mix4", response_model=OneSound)
async def mix4(body: Mix4In, svc: Svc) -> OneSound:
    """Bilinear mix of four sounds: a=(0,0) b=(1,0) c=(0,1) d=(1,1)."""
    corners = [await svc.inference.sound(i) for i in (body.a, body.b, body.c, body.d)]
    s = await svc.inference.call(svc.engine.mix4, *corners, body.x, body.y)
    return OneSound(sound=SoundOut.of(await svc.inference.add(s)))


@router.post("/resynthesize", response_model=ResynthOut)
async def resynthesize(file: Annotated[UploadFile, File(description="an audio file (one drum hit)")],
                       model: Annotated[str, Form(max_length=200)], svc: Svc,
                       audio: Annotated[bool, Form(description="both WAVs inline (base64 in `wav`)")] = False,
                       ) -> ResynthOut:
    """A hit of yours played through a model. The file is decoded in a separate process with a time limit."""
    svc.engine.get(model)
    original = await _upload(file, svc)
    # the tagger's hint on the result waits for POST /api/heard: the dropped sample plays first
    s = await svc.inference.call(svc.engine.resynthesize, model, original.audio, original.sample_rate, hear=False)
    s = dataclasses.replace(s, name=original.name)
    out = ResynthOut(sound=SoundOut.of(await svc.inference.add(s)),
                     original=SoundOut.of(await svc.inference.add(original)))
    if audio:
        for one in (out.sound, out.original):
            one.wav = base64.b64encode(await svc.inference.wav(one.id)).decode("ascii")
    return out


@router.post("/uploads", response_model=OneSound)
async def upload(file: Annotated[UploadFile, File(description="an audio file (one drum hit)")],
                 svc: Svc) -> OneSound:
    """Your own audio as a sound (no model): how a saved session brings back the samples you dropped on pads."""
    return OneSound(sound=SoundOut.of(await svc.inference.add(await _upload(file, svc))))


async def _upload(file: UploadFile, svc: Svc) -> Sound:
    """Decode an untrusted upload in a separate process with a time limit; name it by its file."""
    x, rate = await uploads.decode_untrusted(await file.read(), svc.settings)
    return Sound.upload(uploads.display_stem(file.filename), x, rate)
