"""Health and the list of loaded models."""

from __future__ import annotations

from fastapi import APIRouter

from drumgen import __version__
from drumgen.server.deps import Svc
from drumgen.server.schemas import Health, ModelInfo

router = APIRouter(prefix="/api", tags=["models"])


@router.get("/health", response_model=Health)
async def health(svc: Svc) -> Health:
    return Health(status="ok", version=__version__, models=len(svc.engine.models), broken=svc.engine.errors)


@router.get("/models", response_model=list[ModelInfo])
async def models(svc: Svc) -> list[ModelInfo]:
    return [ModelInfo(**svc.engine.describe(name)) for name in sorted(svc.engine.models)]


@router.get("/models/{name}", response_model=ModelInfo)
async def model(name: str, svc: Svc) -> ModelInfo:
    return ModelInfo(**svc.engine.describe(name))
