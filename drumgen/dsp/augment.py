"""Augmentation: random changes to real hits [B, T] (torch, seeded by a generator), in two strengths.

    gain_polarity_delay(x, g)                 what a listener does not hear as another drum: the generative
                                              models' training (drumgen train, on unless --no-augment)
    kit_and_mic(x, g, sample_rate, ...)       what differs between kits, mics and rooms but keeps the class:
                                              the tagger's training (drumgen.train.tagger)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gain_polarity_delay(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Gain (-3..0 dB), polarity, and a delay of up to 2 ms: changes a listener does not hear as a new drum."""
    b, t = x.shape
    gain = 10 ** (-3 * torch.rand(b, 1, generator=g) / 20)
    sign = torch.where(torch.rand(b, 1, generator=g) < 0.5, -1.0, 1.0)
    shift = torch.randint(0, max(1, t // 500), (b,), generator=g)
    idx = (torch.arange(t)[None] - shift[:, None]).clamp_min(0)
    shifted = torch.gather(x, 1, idx) * (torch.arange(t)[None] >= shift[:, None])
    return shifted * gain * sign


def _speed(x: torch.Tensor, speed: float, t: int) -> torch.Tensor:
    """Resample rows [B, T] by `speed` (pitch and length together), cut/zero-padded back to t samples."""
    x = F.interpolate(x[:, None], scale_factor=1 / speed, mode="linear", align_corners=False)[:, 0]
    return F.pad(x, (0, max(0, t - x.shape[1])))[:, :t]


def mix_second_hit(x: torch.Tensor, g: torch.Generator, sample_rate: int, share: float,
                   db: tuple[float, float] = (14.0, 30.0)) -> torch.Tensor:
    """On `share` of the rows of x [B, T], add another row of the batch `db` (peak to peak) down, 0-150 ms later:
    the bleed of other drums into a close mic, or a hit sliced from a beat. The label stays the loud hit's."""
    b, t = x.shape
    if share <= 0 or b < 2:
        return x
    r = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    other = x[(torch.arange(b) + 1 + torch.randint(0, b - 1, (1,), generator=g)) % b]  # never the row itself
    delay = int(r(1) * 0.15 * sample_rate)
    other = F.pad(other, (delay, 0))[:, :t]
    peak = lambda v: v.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)  # noqa: E731
    level = 10 ** (-(db[0] + (db[1] - db[0]) * r(b, 1)) / 20) * (r(b, 1) < share)
    return x + other / peak(other) * peak(x) * level


def kit_and_mic(x: torch.Tensor, g: torch.Generator, sample_rate: int, strong: bool = False,
                mix: float = 0.0, mix_db: tuple[float, float] = (14.0, 30.0), floor_share: float = 1.0,
                floor_db: tuple[float, float] = (30.0, 70.0)) -> torch.Tensor:
    """Random variations of real hits [B, T] that keep their class: what differs between kits and mics.

    Speed (pitch and length together; +-8%, or with `strong` +-3 semitones in four groups per batch), time shift
    (-5..+15 ms), spectral tilt (+-4 dB/octave, other mics and EQ), an early fade on a third of the hits (choked or
    shortened samples), a faint noise floor. `strong` adds a random peaking EQ (+-9 dB, a tuned drum or another
    room) and, on a third of the hits, a short noise-reverb tail (20-200 ms decay). Gain and polarity are left
    out: the model peak-normalises and looks at magnitudes, so both would be no-ops. `mix` > 0 adds a quiet
    second hit to that share of the rows first (see `mix_second_hit`). The noise floor goes on `floor_share` of
    the hits, `floor_db` (from, to) dB under the peak (30..70 by default); the rest stay clean.
    """
    x = mix_second_hit(x, g, sample_rate, mix, mix_db)
    b, t = x.shape
    r = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    if strong:
        groups = torch.arange(b) % 4
        speeds = 2 ** ((r(4) * 6 - 3) / 12)  # +-3 semitones
        x = torch.cat([_speed(x[groups == k], float(speeds[k]), t) for k in range(4)])[torch.argsort(torch.argsort(groups, stable=True))]
    else:
        x = _speed(x, float(0.92 + 0.16 * r(1)), t)
    shifts = ((r(b) * 0.020 - 0.005) * sample_rate).long()
    x = torch.stack([torch.roll(F.pad(row, (0, abs(int(s)))), int(s))[:t] if s >= 0 else
                     F.pad(row[-int(s):], (0, -int(s))) for row, s in zip(x, shifts, strict=True)])
    n = 2 * t if strong else t  # room for the reverb tail before it is cut
    spec = torch.fft.rfft(x, n=n, dim=1)
    f = torch.fft.rfftfreq(n, 1 / sample_rate).clamp_min(20.0)
    tilt_db = r(b, 1) * 8 - 4  # dB per octave around 1 kHz: gain = tilt_db * log2(f / 1k) dB
    gain_db = tilt_db * torch.log2(f / 1000.0)
    if strong:
        centre = 2 ** (r(b, 1) * 8 + 6)  # 64 Hz .. 16 kHz
        width = 0.3 + r(b, 1) * 1.2  # octaves
        gain_db = gain_db + (r(b, 1) * 18 - 9) * torch.exp(-0.5 * (torch.log2(f / centre) / width) ** 2)
        tau = (0.02 + 0.18 * r(b, 1)) * sample_rate
        k = torch.arange(t)[None].float()
        ir = torch.randn(b, t, generator=g) * torch.exp(-k / tau)
        ir = ir / ir.norm(dim=1, keepdim=True) * (0.05 + 0.4 * r(b, 1)) * (r(b, 1) < 0.33)
        ir[:, 0] += 1.0  # dry path
        spec = spec * torch.fft.rfft(ir, n=n, dim=1)
    x = torch.fft.irfft(spec * 10 ** (gain_db / 20), n=n, dim=1)[:, :t]
    fade_at = (0.05 + 0.6 * r(b, 1)) * t
    idx = torch.arange(t)[None].float()
    fade = torch.where(idx > fade_at, torch.exp(-(idx - fade_at) / (0.05 * sample_rate)), torch.ones(()))
    x = torch.where(r(b, 1) < 0.33, x * fade, x)
    peak = x.abs().amax(dim=1, keepdim=True)
    lo, hi = floor_db
    level = 10 ** (-(lo + (hi - lo) * r(b, 1)) / 20)
    if floor_share < 1:  # (drawn only then: the recipes before it keep their random stream)
        level = level * (r(b, 1) < floor_share)
    return x + torch.randn(x.shape, generator=g) * peak * level
