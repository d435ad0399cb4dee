"""Request and response bodies (pydantic), as documented in docs/API.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drumgen.pattern import BPM_RANGE, MAX_NAME, MAX_TRACKS, STEP_CHOICES, SWING_RANGE, Pattern
from drumgen.server.inference import Known

SoundId = str
MAX_SOUNDS = 64  # per request, the most any server allows; Settings.max_n can lower it


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
    sample_rate: int  # the rate the model generates at
    output_rate: int = 0  # the rate of its sounds: 44.1 kHz where the engine extends a 22.05 kHz model's band
    band: dict[str, Any] = {}  # generated_hz [low, high], and extended_hz / tail where drumgen.dsp.extension adds them
    labels: list[str]
    conditional: bool
    can_encode: bool
    latent_size: int
    slice_length: int
    precision: str = "float32"  # the decoder's convolutions on a CPU: float32, or bfloat16 (`serve --precision`)
    summary: dict[str, Any] = {}


class SoundOut(BaseModel):
    id: str
    url: str
    model: str | None  # None for an upload: the user's own audio came from no model
    latent: list[float]
    label: str | None
    seed: int | None
    name: str
    peak: list[float]
    duration: float
    origin: str
    sample_rate: int
    heard: str | None = None  # the class the tagger hears: a hint where it differs from the asked `label`
    wav: str | None = None  # with /api/sample's `audio`: the WAV at `url`, base64, so a kit takes one round trip

    @classmethod
    def of(cls, known: Known) -> SoundOut:
        s = known.sound
        sid = s.id
        # A sound is named by what was asked for (its label), or by the user's file; the tagger only hints.
        name = s.name or f"{s.label or s.heard or s.model} {sid[:4]}"
        return cls(id=sid, url=f"/api/sounds/{sid}.wav", model=s.model or None, latent=s.latent.tolist(),
                   label=s.label, seed=s.seed, name=name, peak=known.peak.tolist(), duration=known.duration,
                   origin=s.origin, sample_rate=s.sample_rate, heard=s.heard)


class PadSlot(BaseModel):
    slot: str
    name: str
    note: int
    classes: list[str]


class PadsOut(BaseModel):
    pads: list[PadSlot]


class Strict(BaseModel):
    model_config = ConfigDict(protected_namespaces=())  # unknown fields are ignored, as browsers evolve


class SampleIn(Strict):
    model: str = Field(max_length=200)
    n: int = Field(1, ge=1, le=MAX_SOUNDS, description="how many sounds (a server may allow fewer: DRUMGEN_MAX_N)")
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    label: str | None = Field(None, max_length=64)
    labels: list[Annotated[str, Field(max_length=64)] | None] | None = Field(
        None, max_length=64, description="one class per sound (n of them); null entries: any class")
    audio: bool = Field(False, description="each sound's WAV inline (base64 in `wav`): a kit in one round trip")

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


class HeardIn(Strict):
    ids: list[Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]] = Field(
        max_length=MAX_SOUNDS, description="sound ids from /api/sample (a kit's pads)")


class HeardOut(BaseModel):
    heard: dict[str, str | None] = Field(description="the tagger's class per id (null: no tagger, or an upload)")


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


class TrackIn(Strict):
    name: str | None = Field(None, max_length=MAX_NAME, description="default: the note's GM name")
    note: int = Field(ge=0, le=127, description="MIDI note (36 = kick in General MIDI)")
    steps: list[int] = Field(max_length=max(STEP_CHOICES), description="velocity per step, 0 = rest")


class PatternIn(Strict):
    """A Pattern (the sequencer's grid), typed for OpenAPI. The rules beyond types (steps lists as long as
    `steps`, distinct notes, velocities 0..127) are drumgen.pattern.Pattern's own, applied by `pattern()`."""

    bpm: float = Field(ge=BPM_RANGE[0], le=BPM_RANGE[1])
    swing: float = Field(0.5, ge=SWING_RANGE[0], le=SWING_RANGE[1], description="MPC swing, 0.5 straight")
    steps: Literal[16, 32, 64] = Field(description="16th notes: one, two or four bars of 4/4")
    tracks: list[TrackIn] = Field(max_length=MAX_TRACKS)

    @model_validator(mode="after")
    def _rules(self) -> PatternIn:
        self.pattern()  # a PatternError (a ValueError) becomes a 422 naming the field
        return self

    def pattern(self) -> Pattern:
        return Pattern.from_dict(self.model_dump(exclude_none=True))


class PadIn(Strict):
    """A pad as the user hears it: its sound, name and note, and the pad strip's knobs (the browser's meaning)."""

    sound: SoundId = Field(max_length=64)
    name: str = Field(max_length=64)
    note: int = Field(ge=0, le=127)
    volume: float = Field(1.0, ge=0.0, le=1.0, description="linear gain")
    pan: float = Field(0.0, ge=-1.0, le=1.0, description="-1 left .. 1 right")
    tune: float = Field(0.0, ge=-24.0, le=24.0, description="semitones (played at rate 2**(tune/12))")
    decay: float = Field(1.0, ge=0.05, le=1.0, description="fraction of the hit kept before it fades out")
    mute: bool = Field(False, description="silent pad (muted or another pad soloed): its notes leave the .mid")
    round_robin: int = Field(1, ge=1, le=8, description="takes played in turn (1: the sound alone)")
    velocity_layers: int = Field(1, ge=1, le=4, description="layers chosen by velocity, soft to hard")
    variation: float = Field(0.3, ge=0.0, le=1.0, description="how different each round robin is (0 identical)")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="the round robins' seed (POST /api/variations)")


class KitIn(Strict):
    name: str = Field(max_length=64)
    pads: list[PadIn] = Field(min_length=1, max_length=16)
    pattern: PatternIn | None = Field(None, description="the beat, as for /api/export/midi")
    straight: bool = Field(False, description="the kit's .mid without swing (by default it is swung as played, "
                                              "with a straight copy beside it)")


class BouncePadIn(PadIn):
    solo: bool = Field(False, description="when any pad is soloed, only soloed pads sound (or send mute as heard)")


class BounceIn(Strict):
    """POST /api/export/audio: the beat (pattern and pads, as for /api/export/kit) rendered as heard."""

    name: str = Field("beat", max_length=64, description="the WAV's file name")
    pads: list[BouncePadIn] = Field(min_length=1, max_length=16)
    pattern: PatternIn = Field(description="the beat: its bars are the WAV's length")
    tails: Literal["wrap", "cut"] = Field("wrap", description="what rings past the end: wrap onto the start (the "
                                                              "loop as it repeats) or cut (the beat played once)")
    choke: bool = Field(True, description="the hi-hat pads cut each other, as in the browser")


class VariationsIn(Strict):
    sound: SoundId = Field(max_length=64)
    n: int = Field(4, ge=1, le=8, description="how many takes")
    amount: float = Field(0.3, ge=0.0, le=1.0, description="0: the sound itself .. 1: another hit of its class")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="take i uses seed + i (default: random)")


class LayersIn(Strict):
    sound: SoundId = Field(max_length=64)
    k: int = Field(3, ge=1, le=4, description="how many velocity layers")


class LayersOut(BaseModel):
    """k layers soft to hard: layer j plays sounds[j] at gains[j] through a one-pole low-pass at cutoffs[j]
    (null: none) for MIDI velocities velocities[j] = [lo, hi]."""

    sounds: list[SoundOut]
    gains: list[float]
    cutoffs: list[float | None]
    velocities: list[tuple[int, int]]
    learned: bool = Field(description="true: the timbre comes from a velocity direction learned from real layers")


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
    fraction: float | None = None  # 0..1 of the budget used, steps or minutes
    budget: float | None = None  # seconds, when the run is limited by minutes
    error: str | None = None
    model: str | None = None
    files: int = 0
    previews: list[str] = []


class JobEnvelope(BaseModel):
    job: JobOut


class LoopPad(BaseModel):
    sound: SoundOut
    name: str
    note: int
    hits: int
    label: str


class LoopOnset(BaseModel):
    time: float
    pad: int
    velocity: int
    step: int
    offset_ms: float


class LoopOut(BaseModel):
    bpm: float
    bars: int
    steps: int
    swing: float
    pattern: dict[str, Any]
    pads: list[LoopPad]
    onsets: list[LoopOnset]
    notes: list[str] = []


class DrumsIn(Strict):
    """POST /api/loop/drums: generated drums for a loop's pads (imitations such as beatboxed hits)."""

    sounds: list[SoundId] = Field(min_length=1, max_length=16, description="the imitations: a loop's pad sounds")
    labels: list[str | None] | None = Field(None, max_length=16, description="each pad's class (null: any)")
    model: str = Field(max_length=128, description="the model that makes the drums")
    candidates: int = Field(16, ge=1, le=64, description="sounds drawn per pad; the nearest is kept")
    seed: int = Field(0, ge=0, le=2**31 - 1)
