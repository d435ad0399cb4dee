"""Health, the list of loaded models and the pad table (names, GM notes, slot classes)."""

from __future__ import annotations

from fastapi import APIRouter

from drumgen import __version__, pads
from drumgen.server.deps import Svc
from drumgen.server.schemas import Health, ModelInfo, PadSlot, PadsOut

router = APIRouter(prefix="/api", tags=["models"])


@router.get("/health", response_model=Health)
async def health(svc: Svc) -> Health:
    inf = svc.inference
    stats = {"inflight": inf.inflight, "batches": inf.batches, "sampled": inf.sampled,
             "sounds_known": len(inf.store.known), "audio_cached_mb": round(inf.store.audio.bytes / 1e6, 1),
             "recreated": inf.store.recreated}
    return Health(status="ok", version=__version__, models=len(svc.engine.models), broken=svc.engine.errors,
                  stats=stats)


@router.get("/pads", response_model=PadsOut)
async def pad_table() -> PadsOut:
    """The pads of a new drum machine in order: slot id, name, default GM note, the classes a fresh kit asks for.
    The browser, its MIDI input and every export use these notes unless the user gives a pad another one."""
    return PadsOut(pads=[PadSlot(**p) for p in pads.table()])


@router.get("/models", response_model=list[ModelInfo])
async def models(svc: Svc) -> list[ModelInfo]:
    """Loaded models, best first by measured quality (Engine.ranked): the browser's first kit uses the first."""
    return [ModelInfo(**svc.engine.describe(name)) for name in svc.engine.ranked()]


@router.get("/models/{name}", response_model=ModelInfo)
async def model(name: str, svc: Svc) -> ModelInfo:
    return ModelInfo(**svc.engine.describe(name))
