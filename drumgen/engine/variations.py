"""Round robins and velocity layers made by the model: a pad that plays like a sampled instrument.

Round robins (`variations`): takes close to a sound, z' = z + amount * s * eps, eps ~ N(0, I) seeded per take,
where s is the model's latent spread per number: the standard deviation of its stored latents of the sound's class
(`model.prior`, drumgen.models.prior.LatentBank), else of all stored latents, else the fixed prior's (1 for
N(0, 1), 1/sqrt(3) for U(-1, 1)). z' is clamped to the prior's support (`latent_limit()`, widened where the sound
itself lies outside it). amount 0 gives the sound again, 1 a different hit of the same class.

Velocity layers (`velocity_layers`): k takes from soft to hard; the hardest is the sound itself. A layer is a
decoded Sound plus a `gain` and, for the fallback, a one-pole low-pass `cutoff_hz`, which the kit export and the
browser apply to the decoded audio (`Layer.audio`):

    learned   a model with `velocity.safetensors` beside its checkpoint (built by benchmarks/velocity_layers.py
              from the hydrogen-drumkits train kits' multi-layer instruments, through the model's encoder):
              z_j = z - (1 - v_j) * d_class, with d_class the mean latent step from an instrument's softest to its
              hardest recorded layer, and gain_j = (1 - v_j) * level_db_class dB, the level drop measured there.
              The file keeps d_class only for classes whose layers it checked to come out darker when soft; the
              other classes take the fallback's low-pass with the measured level drop, and with the velocity-0
              cutoff (`cutoff_hz/<class>`) at which the low-pass makes the train kits' hard layers as much
              darker as their recorded soft layers are (20 kHz, no filter, where soft hits are not darker).
    fallback  every other model (GANs have no encoder to learn d with): the same latent, gain (1 - v_j) * -12 dB
              and a gentle one-pole low-pass whose cutoff falls from open (hard) to 800 Hz (velocity 0)

v_j is how hard layer j is played (drumgen.kit.layer_velocity: the middle of its velocity range / 127, and 1 for
the hardest layer, which is the sound unchanged; drumgen.kit.velocity_ranges gives the hardest layer the
sequencer's accents, 101..127). Training hits are peak-normalised, so the latent step carries timbre, never level: the
gain always comes from outside the model.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from drumgen.engine.engine import Engine, EngineError, Sound
from drumgen.kit.pad import layer_velocity, velocity_ranges

MAX_TAKES = 8  # round robins per pad
MAX_LAYERS = 4  # velocity layers per pad
VELOCITY_FILE = "velocity.safetensors"
FALLBACK_DROP_DB = -12.0  # the softest layer's level (velocity 0) below the hardest, without a learned one
FALLBACK_MIN_CUTOFF_HZ = 800.0  # the fallback low-pass at velocity 0; it opens exponentially to OPEN_CUTOFF_HZ
OPEN_CUTOFF_HZ = 20000.0


def _latent_of(sound: Sound) -> np.ndarray:
    if sound.origin == "upload" or sound.latent.size == 0 or not sound.model:
        raise EngineError("this sound has no latent (an upload): re-synthesize it with a model first "
                          "(POST /api/resynthesize), then make variations or layers of that sound")
    return np.asarray(sound.latent, np.float32).reshape(-1)


def latent_spread(engine: Engine, name: str, label: str | None) -> torch.Tensor:
    """The model's per-number latent spread s [latent_size] (see the module docstring)."""
    model = engine.get(name)
    if model.prior is not None and model.prior.stored > 0:
        count = model.prior.stored
        bank, labels = model.prior.latents[:count].detach().cpu(), model.prior.labels[:count].cpu()
        if label is not None and label in (model.config.labels or ()):
            same = labels == model.config.labels.index(label)
            if int(same.sum()) > 1:
                bank = bank[same]
        if len(bank) > 1:
            return bank.std(0).clamp_min(1e-3)
    return torch.full((model.latent_size,), 1 / math.sqrt(3) if model.latent_prior == "uniform" else 1.0)


def _clamp(engine: Engine, name: str, z: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    limit = engine.get(name).latent_limit()
    return torch.maximum(torch.minimum(z, torch.clamp(source, min=limit)), torch.clamp(source, max=-limit))


def variations(engine: Engine, sound: Sound, n: int, amount: float, seed: int = 0) -> list[Sound]:
    """n takes close to `sound` (same model and label): take i of seed s is the same whatever n is.
    amount 0..1: 0 gives the sound itself, 1 a different hit of the class. Raises EngineError for an upload."""
    if not 1 <= n <= MAX_TAKES:
        raise EngineError(f"n must be 1..{MAX_TAKES}; got {n}")
    if not 0.0 <= amount <= 1.0 or math.isnan(amount):
        raise EngineError(f"amount must lie in [0, 1]; got {amount}")
    z = torch.from_numpy(_latent_of(sound))
    s = latent_spread(engine, sound.model, sound.label)
    held = engine.get(sound.model).held_latent()  # the sound's own noise, say: a take varies its timbre
    if held is not None:
        s = torch.where(held, torch.zeros_like(s), s)
    out = []
    for i in range(n):
        eps = torch.randn(z.shape, generator=torch.Generator().manual_seed(seed + i))
        z_i = _clamp(engine, sound.model, z + amount * s * eps, z)
        take = engine.decode(sound.model, z_i.numpy(), sound.label, origin="variation")
        out.append(dataclasses.replace(take, seed=seed + i))
    return out


# ------------------------------------------------------------------------------------------------ velocity


@dataclasses.dataclass
class Layer:
    """One velocity layer: a decoded sound, its level (linear gain, 1 = the hardest layer) and, for the fallback,
    a one-pole low-pass cutoff; `velocity` is the (lovel, hivel) range it answers."""

    sound: Sound
    gain: float
    cutoff_hz: float | None
    velocity: tuple[int, int]

    @property
    def audio(self) -> np.ndarray:
        """The layer as it plays: [T] float32 at sound.sample_rate."""
        x = self.sound.audio.astype(np.float32)
        if self.cutoff_hz is not None:
            x = one_pole_lowpass(x, self.sound.sample_rate, self.cutoff_hz)
        return (x * self.gain).astype(np.float32)


def one_pole_coefficient(sample_rate: int, cutoff_hz: float) -> float:
    """a of y[n] = a x[n] + (1 - a) y[n-1], whose -3 dB point is near cutoff_hz (web/js/audio.js uses the same a
    in an IIRFilterNode: feedforward [a], feedback [1, a - 1])."""
    return float(1 - math.exp(-2 * math.pi * min(cutoff_hz, 0.49 * sample_rate) / sample_rate))


def one_pole_lowpass(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """The one-pole low-pass on x [T] (6 dB/octave: gentle), as its impulse response truncated at -140 dB."""
    a = one_pole_coefficient(sample_rate, cutoff_hz)
    length = min(x.shape[0], int(math.ceil(math.log(1e-7) / math.log(1 - a))) + 1) if a < 1 else 1
    h = a * (1 - a) ** np.arange(length)
    return np.convolve(x, h)[: x.shape[0]].astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Velocity:
    """How a class's soft layers differ from its hard one, per unit of velocity (velocity 1 -> 0)."""

    direction: torch.Tensor | None  # d [latent_size]: z_soft = z - (1 - v) d, or None for the low-pass
    level_db: float  # the level drop
    min_cutoff_hz: float  # the low-pass's cutoff at velocity 0 (OPEN_CUTOFF_HZ: none)


@lru_cache(maxsize=16)
def _velocity_file(path: str, mtime: float) -> dict[str, dict[str, torch.Tensor]]:
    """{"direction": {class: d}, "level_db": {class: dB}, "cutoff_hz": {class: Hz}, ...} from velocity.safetensors."""
    out: dict[str, dict[str, torch.Tensor]] = {}
    for key, v in load_file(path).items():
        kind, _, label = key.partition("/")
        out.setdefault(kind, {})[label] = v
    return out


def learned_velocity(engine: Engine, name: str, label: str | None) -> Velocity:
    """The class's Velocity from the model's velocity.safetensors (benchmarks/velocity_layers.py): d where one was
    kept for the class, the measured level drop and low-pass cutoff where there are ones ("all" for a class the
    file lacks); else no d, FALLBACK_DROP_DB and FALLBACK_MIN_CUTOFF_HZ."""
    fallback = Velocity(None, FALLBACK_DROP_DB, FALLBACK_MIN_CUTOFF_HZ)
    try:
        path = Path(engine.path_of(name)) / VELOCITY_FILE
    except EngineError:
        return fallback
    if not path.is_file():
        return fallback
    tables = _velocity_file(str(path), path.stat().st_mtime)
    levels, directions, cutoffs = (tables.get(k, {}) for k in ("level_db", "direction", "cutoff_hz"))
    key = label if label is not None and (label in levels or label in directions) else "all"
    d = directions.get(key)
    if d is not None and d.numel() != engine.get(name).latent_size:
        d = None
    held = engine.get(name).held_latent()
    if d is not None and held is not None:  # a softer layer of a sound keeps its noise
        d = torch.where(held, torch.zeros_like(d.reshape(-1)), d.reshape(-1))
    return Velocity(None if d is None else d.float().reshape(-1),
                    float(levels[key]) if key in levels else FALLBACK_DROP_DB,
                    float(cutoffs[key]) if key in cutoffs else FALLBACK_MIN_CUTOFF_HZ)


def learned_direction(engine: Engine, name: str, label: str | None) -> torch.Tensor | None:
    """The class's learned velocity direction d, or None where its layers use the low-pass fallback."""
    return learned_velocity(engine, name, label).direction


def soft_cutoff(min_cutoff_hz: float, soft: float) -> float | None:
    """The fallback low-pass's cutoff `soft` of the way from the hard layer (open) to velocity 0 (min_cutoff_hz),
    exponentially; None where it stays open."""
    if min_cutoff_hz >= OPEN_CUTOFF_HZ:
        return None
    return min_cutoff_hz * (OPEN_CUTOFF_HZ / min_cutoff_hz) ** (1 - soft)


def velocity_layers(engine: Engine, sound: Sound, k: int) -> list[Layer]:
    """k layers of `sound`, soft to hard (the last is the sound itself at gain 1): see the module docstring."""
    if not 1 <= k <= MAX_LAYERS:
        raise EngineError(f"k must be 1..{MAX_LAYERS}; got {k}")
    z = torch.from_numpy(_latent_of(sound))
    v = learned_velocity(engine, sound.model, sound.label)
    layers = []
    for j, (lo, hi) in enumerate(velocity_ranges(k)):
        soft = 1.0 - layer_velocity(k, j)  # 0 for the hard layer
        gain = 10 ** (soft * v.level_db / 20)
        if soft == 0:
            layers.append(Layer(sound, 1.0, None, (lo, hi)))
        elif v.direction is not None:
            z_j = _clamp(engine, sound.model, z - soft * v.direction, z)
            layers.append(Layer(engine.decode(sound.model, z_j.numpy(), sound.label, origin="layer"), gain, None,
                                (lo, hi)))
        else:
            layers.append(Layer(sound, gain, soft_cutoff(v.min_cutoff_hz, soft), (lo, hi)))
    return layers


def kit_takes(engine: Engine, sound: Sound, layers: int, round_robin: int, amount: float,
              seed: int = 0) -> list[list[np.ndarray]]:
    """Audio for a kit pad, [layer][round robin], soft to hard: take 1 is the sound itself, takes 2..N are
    `variations(..., seed)`; each take gets its velocity layers."""
    takes = [sound] + (variations(engine, sound, round_robin - 1, amount, seed) if round_robin > 1 else [])
    per_take = [velocity_layers(engine, t, layers) if layers > 1 else None for t in takes]
    return [[(t.audio if ls is None else ls[j].audio) for t, ls in zip(takes, per_take, strict=True)]
            for j in range(layers)]
