"""Request and response bodies (pydantic), as documented in docs/API.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drumgen.server.inference import Known

SoundId = str


class Health(BaseModel):
    status: str
    version: str
    models: int
    broken: dict[str, str] = {}
    stats: dict[str, float] = {}


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    name: str
    kind: str
    sample_rate: int
    labels: list[str]
    conditional: bool
    can_encode: bool
    latent_size: int
    slice_length: int
    summary: dict[str, Any] = {}


class SoundOut(BaseModel):
    id: str
    url: str
    model: str
    latent: list[float]
    label: str | None
    seed: int | None
    name: str
    peak: list[float]
    duration: float
    origin: str
    sample_rate: int
    heard: str | None = None  # the tagger's class for this sound; `name` starts with it

    @classmethod
    def of(cls, known: Known) -> SoundOut:
        s = known.sound
        sid = s.id
        name = f"{s.heard or s.label or s.model} {sid[:4]}" if s.origin != "upload" else "upload"
        return cls(id=sid, url=f"/api/sounds/{sid}.wav", model=s.model, latent=s.latent.tolist(), label=s.label,
                   seed=s.seed, name=name, peak=known.peak.tolist(), duration=known.duration, origin=s.origin,
                   sample_rate=s.sample_rate, heard=s.heard)


class Strict(BaseModel):
    model_config = ConfigDict(protected_namespaces=())  # unknown fields are ignored, as browsers evolve


class SampleIn(Strict):
    model: str = Field(max_length=200)
    n: int = Field(1, ge=1, le=64, description="how many sounds")
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    label: str | None = Field(None, max_length=64)
    labels: list[Annotated[str, Field(max_length=64)] | None] | None = Field(
        None, max_length=64, description="one class per sound (n of them); null entries: any class")

    @model_validator(mode="after")
    def _one_way_to_ask(self) -> SampleIn:
        if self.labels is not None:
            if self.label is not None:
                raise ValueError("give either label (every sound) or labels (one per sound), not both")
            if len(self.labels) != self.n:
                raise ValueError(f"labels has {len(self.labels)} entries for n={self.n} sounds; give one per sound")
        return self

    def asked(self) -> str | list[str | None] | None:
        """What the engine's `label` takes: one class for all sounds, or one per sound."""
        return self.labels if self.labels is not None else self.label


class SoundsOut(BaseModel):
    sounds: list[SoundOut]


class OneSound(BaseModel):
    sound: SoundOut


class ResynthOut(BaseModel):
    sound: SoundOut
    original: SoundOut


class DecodeIn(Strict):
    model: str = Field(max_length=200)
    latent: list[float] = Field(max_length=1 << 16)
    label: str | None = Field(None, max_length=64)


class InterpolateIn(Strict):
    a: SoundId = Field(max_length=64)
    b: SoundId = Field(max_length=64)
    t: float = Field(ge=0.0, le=1.0, description="0 = a, 1 = b")


class Mix4In(Strict):
    a: SoundId = Field(max_length=64)
    b: SoundId = Field(max_length=64)
    c: SoundId = Field(max_length=64)
    d: SoundId = Field(max_length=64)
    x: float = Field(ge=0.0, le=1.0)
    y: float = Field(ge=0.0, le=1.0)


class PadIn(Strict):
    sound: SoundId = Field(max_length=64)
    name: str = Field(max_length=64)
    note: int = Field(ge=0, le=127)


class KitIn(Strict):
    name: str = Field(max_length=64)
    pads: list[PadIn] = Field(min_length=1, max_length=16)
    pattern: dict[str, Any] | None = Field(None, description="a Pattern, as for /api/export/midi")


JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class JobOut(BaseModel):
    id: str
    state: JobState
    kind: str
    name: str
    step: int
    total: int | None
    losses: dict[str, float]
    eta: float | None
    error: str | None = None
    model: str | None = None
    files: int = 0
    previews: list[str] = []


class JobEnvelope(BaseModel):
    job: JobOut
