"""Full band and whole tails for a model whose output stops short: the band above its Nyquist, the tail after its
slice, both made from what it did generate (issue 18).

A GAN trained at 22.05 kHz (the shipped SpecGAN; the WaveGAN until 2026-12-04) has nothing above 11 kHz, where
hats, rides and cymbals keep their air, and its 0.74 s slice cuts a crash while it still rings; the 44.1 kHz
WaveGAN's 1.49 s cuts most crashes too. The engine passes such hits through classic audio coding (`rings_on`: the
band for a 22.05 kHz model, the tail for it and for a full-band generator whose slice is under RING_SECONDS):

- Band extension (spectral band replication, as HE-AAC does it; Dietz et al., AES 2002): at 44.1 kHz, STFT
  (1024 / 256), the bins above CUT_HZ are copies of the octave below (4.5-10 kHz, inside the resampler's
  passband, shifted up by whole multiples of 4 bins, so each copy's phase still advances consistently from frame
  to frame), its long-term tilt flattened and its steady lines (a GAN's upsampling tones) replaced by noise at
  their neighbours' level, then scaled in HIGH_BANDS bands (gains interpolated between band centres) to the
  energy a ridge regression predicts for each from the frame's spectral shape below CUT_HZ. The regression is
  fitted on real hits (`fit`: the corpus's train kits, low-passed as a 22.05 kHz model would make them, against
  their own band above), stored in checkpoints/band_extension.safetensors.
- Tail extension: a hit still above TAIL_DB of its peak at the slice's end goes on ringing: each band's decay
  over the last TAIL_FIT_SECONDS is fitted (at least MIN_DECAY_DB_S), and frames with the last frames' spectrum,
  decaying at those rates with fresh phases drawn from the hit's seed, are appended until it is SILENT_DB down
  (at most MAX_SECONDS in all). The overlap-add of the inverse STFT crossfades the seam.

Both are deterministic: the same hit and seed give the same audio. They never touch a hit's own band or its
samples before the slice's last frame.

    ext = extension.load(path)                  # or extension.fit(hits, rates)
    y = ext.band(x)                             # [B, T] at 44.1 kHz (a 22.05 kHz hit resampled) -> full band
    y = extension.tail(x, seeds, rate)          # [B, T] -> [B, T'] with the ringing hits' tails
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file

from drumgen.dsp import spectral
from drumgen.io import audio
from drumgen.io.files import atomic_write_bytes

RATE = audio.OUTPUT_RATE
N_FFT, HOP = 1024, 256
CUT_HZ = 10500.0  # a 22.05 kHz model's band, resampled to 44.1 kHz (soxr HQ passes it to about 10.5 kHz)
LINE_DB, LINE_HALF_WIDTH = 3.0, 6  # a bin this far over the median of its 13 neighbours is a steady line
SOURCE_GAP = 12  # bins between the copied block and CUT_HZ (10-10.5 kHz: soxr's transition band), a multiple of 4
SOURCE_BINS = 128  # the copied block: 5.5 kHz wide, a multiple of N_FFT / HOP so copies keep their phase advance
FEATURE_EDGES = np.geomspace(400.0, CUT_HZ, 21)  # 20 log-spaced bands of the frame's shape below CUT_HZ
HIGH_BANDS = 8  # linear bands from CUT_HZ to Nyquist, each scaled to its predicted energy
RIDGE = 1.0
FILE = "band_extension.safetensors"  # in the shipped checkpoints folder
VERSION = "1"

TAIL_DB = -50.0  # a hit whose last 50 ms are within this of its loudest frame is still ringing at the cut
TAIL_FIT_SECONDS = 0.2
MIN_DECAY_DB_S = 16.0  # a tail decays at least this fast (60 dB in 3.75 s), whatever its last frames did
SILENT_DB = -60.0
MAX_SECONDS = 4.0
END_FADE_SECONDS = 0.5  # a tail still sounding at MAX_SECONDS fades out over its last half second
TAIL_BANDS = np.concatenate([[0.0], np.geomspace(80.0, RATE / 2, 16)[:-1], [RATE / 2 + 1]])  # 16 bands, every bin in one


EXTENDS_FROM = 22050  # the lowest model rate whose band reaches CUT_HZ
RING_SECONDS = 2.0  # a 44.1 kHz model whose slice is shorter than this gets the tail (a crash rings longer)


class ExtensionError(ValueError):
    pass


def applies(sample_rate: int) -> bool:
    """Whether a model at this rate stops short in a way the extension mends: a band up to about 10.5 kHz at
    least (a 16 kHz model's stops at 7.6 kHz: the regression was not fitted from there) and below 44.1 kHz."""
    return EXTENDS_FROM <= sample_rate < RATE


def rings_on(sample_rate: int, slice_seconds: float, encodes: bool) -> bool:
    """Whether a model's hits get the tail extension: every model the band extension serves, and a full-band
    generator whose slice ends before RING_SECONDS (the 44.1 kHz WaveGAN's 1.49 s cuts most crashes while they
    ring). A full-band model that encodes is left as it plays a hit back (the one-second autoencoder is kept so
    that sessions saved with it keep their sounds)."""
    return applies(sample_rate) or (not encodes and sample_rate == RATE and slice_seconds < RING_SECONDS)


def _freqs() -> np.ndarray:
    return np.fft.rfftfreq(N_FFT, 1 / RATE)


def _masks(edges: np.ndarray) -> torch.Tensor:
    """[bands, bins] 0/1 membership of each rfft bin in [edges[i], edges[i + 1]) (built once per set of edges)."""
    return _masks_of(tuple(float(e) for e in edges))


@functools.lru_cache(maxsize=8)
def _masks_of(edges: tuple[float, ...]) -> torch.Tensor:
    f = _freqs()
    m = np.stack([(f >= a) & (f < b) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    return torch.from_numpy(m.astype(np.float32))


def _cut_bin() -> int:
    return int(np.searchsorted(_freqs(), CUT_HZ))


def _high_edges() -> np.ndarray:
    return np.linspace(_freqs()[_cut_bin()], RATE / 2 + 1, HIGH_BANDS + 1)


@functools.lru_cache(maxsize=1)
def _band_interpolation() -> torch.Tensor:
    """[HIGH_BANDS, high bins]: each bin's gain interpolated linearly between the two nearest band centres, so
    the made band has no steps at its band edges."""
    edges = _high_edges()
    centres = (edges[:-1] + edges[1:]) / 2
    f = _freqs()[_cut_bin():]
    eye = np.eye(HIGH_BANDS)
    return torch.from_numpy(np.stack([np.interp(f, centres, eye[b]) for b in range(HIGH_BANDS)]).astype(np.float32))


def _tile(block: torch.Tensor, n: int) -> torch.Tensor:
    """[..., k] -> [..., n]: the block repeated along its last dimension (copies of slices, where an index
    gather along the last dimension is several times slower)."""
    k = block.shape[-1]
    return torch.cat([block] * (n // k) + [block[..., : n % k]], dim=-1)


def _features(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Power [B, n, bins] (frames before bins) -> per-frame features [B, n, 23] (band shape below CUT_HZ
    relative to the frame's level, the level, its change, 1) and the frame's log power below CUT_HZ [B, n]."""
    m = _masks(FEATURE_EDGES)
    c = _cut_bin()  # every feature band lies below it
    below = p[..., :c]
    bands = torch.log(below @ (m / m.sum(1, keepdim=True))[:, :c].T + 1e-10)  # [B, n, 20]: mean power per band
    total = torch.log(below.sum(-1) + 1e-10)  # [B, n]
    delta = torch.diff(total, dim=1, prepend=total[:, :1])
    feats = torch.cat([bands - total[..., None], total[..., None] / 10, delta[..., None] / 10,
                       torch.ones_like(total)[..., None]], dim=-1)
    return feats, total


def _high_levels(p: torch.Tensor) -> torch.Tensor:
    """Power [B, n, bins] -> log mean power per high band [B, n, HIGH_BANDS]."""
    m = _masks(_high_edges())
    return torch.log(p @ (m / m.sum(1, keepdim=True)).T + 1e-10)


def _abs2(s: torch.Tensor) -> torch.Tensor:
    """|s|^2 of a complex tensor, without the square root of abs()."""
    return s.real.square() + s.imag.square()


def _power(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, T] -> its STFT and power, frames before bins ([B, n, bins]: the inverse STFT takes them so, and the
    per-bin work below runs along contiguous rows)."""
    s = spectral.stft_frames(x.float(), N_FFT, HOP)
    return s, _abs2(s)


def low_band(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """A real hit at 44.1 kHz, and the same hit as a 22.05 kHz model would give it (down to 22.05 kHz and back)."""
    full = audio.resample(x, rate, RATE)
    return full, audio.resample(audio.resample(full, RATE, 22050), 22050, RATE)[: full.size]


@dataclasses.dataclass
class Extension:
    """The fitted regression: coefficients [23, HIGH_BANDS] from a frame's features to its high bands' log power
    relative to its power below CUT_HZ, and what it was fitted on."""

    coef: np.ndarray
    info: dict

    def band(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T] at 44.1 kHz whose band stops near CUT_HZ -> [B, T] with the bins above CUT_HZ made (float32)."""
        if x.shape[-1] < N_FFT:
            return x
        s, p = _power(x)  # [B, n, bins]
        feats, total = _features(p)
        coef = torch.from_numpy(self.coef).to(feats.dtype)
        want = torch.exp(feats @ coef + total[..., None])  # [B, n, bands]: predicted mean power per bin
        c, bins = _cut_bin(), s.shape[-1]
        lo = c - SOURCE_GAP - SOURCE_BINS  # the source block: 4.5-10 kHz, inside the resampler's passband
        src = _tile(s[..., lo:lo + SOURCE_BINS], bins - c)  # [B, n, high bins]: the octave below, copied up with
        src_p = _tile(p[..., lo:lo + SOURCE_BINS], bins - c)  # its phases (the hit's timing), and its power
        # Its long-term tilt is flattened (each copy would start high and end low: a saw-tooth of steps), and a
        # steady line below (a GAN's upsampling tone) is not copied up as new lines: a bin standing LINE_DB over
        # its neighbours' median in the hit's long-term spectrum is copied with fresh phases, as noise.
        w = LINE_HALF_WIDTH
        long_term = p[..., lo:lo + SOURCE_BINS].mean(1).clamp_min(1e-20).log10() * 10  # [B, SOURCE_BINS] dB
        padded = torch.nn.functional.pad(long_term[:, None], (w, w), mode="replicate")[:, 0]
        around = padded.unfold(1, 2 * w + 1, 1).median(-1).values  # [B, SOURCE_BINS]: the smooth envelope
        flat = _tile(torch.pow(10.0, -(around - around.mean(1, keepdim=True)) / 20), bins - c)[:, None]
        lined = _tile(long_term - around > LINE_DB, bins - c)[:, None]  # [B, 1, high bins]
        if bool(lined.any()):  # a line's bin takes, frame by frame, the level of the bins either side of it
            side = p[..., lo - w - 1:lo + SOURCE_BINS + w + 1].sqrt()  # [B, n, SOURCE_BINS + 2 w + 2]
            beside = _tile((side[..., : SOURCE_BINS] + side[..., 2 * w + 2:]) / 2, bins - c)  # bins i -+ (w + 1)
            noise = _phasors()[: s.shape[1], : bins - c]  # [n, high bins] unit phasors
            src = torch.where(lined, beside * noise, src)
            src_p = torch.where(lined, beside.square(), src_p)
        # The gains, all in power and real numbers, then one complex multiply: each band scaled to its predicted
        # energy with gains interpolated between band centres (no steps at band edges), then, as the interpolated
        # gains miss each band's energy by a little (about 1 dB), one more pass per band puts it back.
        m = _masks(_high_edges())[:, c:]  # [bands, high bins]
        mean = (m / m.sum(1, keepdim=True)).T  # [high bins, bands]
        made = src_p * flat.square()
        gain = torch.sqrt(want / (made @ mean).clamp_min(1e-20)).clamp_max(1e4) @ _band_interpolation()
        again = torch.sqrt(want / ((made * gain.square()) @ mean).clamp_min(1e-20)).clamp(0.25, 4.0) @ m
        gain.mul_(again).mul_(flat)
        if bool(lined.any()):  # frames of fresh phases overlap-add in power: raised so they come out at that energy
            gain.mul_(torch.where(lined, _RANDOM_PHASE_GAIN, 1.0))
        s[..., c:] = src * gain
        y = spectral.istft_frames(s, N_FFT, HOP, x.shape[-1])
        return y.to(x.dtype)

    def save(self, path: str | os.PathLike) -> Path:
        from safetensors.numpy import save as to_bytes

        path = Path(path)
        meta = {"kind": "band_extension", "version": VERSION, "info": json.dumps(self.info)}
        atomic_write_bytes(path, to_bytes({"coef": np.ascontiguousarray(self.coef, np.float64)}, metadata=meta))
        return path


def fit(hits: list[np.ndarray], rates: list[int], info: dict | None = None, seconds: float = 2.0) -> Extension:
    """Ridge regression of each frame's high-band log power on its features below CUT_HZ, over real hits (each
    low-passed as a 22.05 kHz model's, against its own band above), then one offset per band so that the median
    hit's predicted energy per band is its real one (a fit of logs is biased low in energy)."""
    xs, ys, per_hit = [], [], []
    for x, r in zip(hits, rates, strict=True):
        full, low = low_band(np.asarray(x, np.float32)[: int(seconds * r)], r)
        if full.size < N_FFT:
            continue
        _, p_full = _power(torch.from_numpy(full)[None])
        _, p_low = _power(torch.from_numpy(low)[None])
        feats, total = _features(p_low)
        target = _high_levels(p_full) - total[..., None]
        loud = total[0] > total[0].max() - np.log(1e6)  # frames within 60 dB of the hit's loudest
        xs.append(feats[0][loud].numpy())
        ys.append(target[0][loud].numpy())
        per_hit.append((feats[0].numpy(), target[0].numpy(), total[0].numpy()))
    if not xs:
        raise ExtensionError("fitting the band extension needs hits of at least 1024 samples")
    a, b = np.concatenate(xs), np.concatenate(ys)
    coef = np.linalg.solve(a.T @ a + RIDGE * np.eye(a.shape[1]), a.T @ b)
    ratios = [np.log(np.exp(t + tot[:, None]).sum(0) / np.exp(f @ coef + tot[:, None]).sum(0))
              for f, t, tot in per_hit]
    coef[-1] += np.median(np.stack(ratios), axis=0)  # the constant feature carries the offset
    return Extension(coef, {**(info or {}), "hits": len(xs), "frames": int(a.shape[0])})


def load(path: str | os.PathLike) -> Extension:
    path = Path(path)
    if not path.is_file():
        raise ExtensionError(f"no band extension at {path}; fit one with `python scripts/fit_band_extension.py`")
    from safetensors import safe_open

    try:  # a damaged file is the user's to mend, with a message, never a crash of whoever loads it
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except Exception as e:  # safetensors raises its own SafetensorError for a file that is not one
        raise ExtensionError(f"{path} is not a readable safetensors file ({e}); fit it again with "
                             "`python scripts/fit_band_extension.py`") from None
    if meta.get("kind") != "band_extension" or meta.get("version") != VERSION or "coef" not in tensors:
        raise ExtensionError(f"{path} is not a version {VERSION} band extension (metadata {meta})")
    coef = tensors["coef"]
    if coef.shape != (FEATURE_EDGES.size + 2, HIGH_BANDS):
        raise ExtensionError(f"{path}: coefficients of shape {coef.shape}, expected "
                             f"{(FEATURE_EDGES.size + 2, HIGH_BANDS)}")
    return Extension(coef, json.loads(meta.get("info", "{}")))


GUARD = int(audio.FADE_SECONDS * RATE)  # the engine fades a slice's last 10 ms out: the tail is fitted before them


def ringing(x: torch.Tensor, rate: int, floor_db: float = TAIL_DB) -> torch.Tensor:
    """[B, T] -> [B] bool: the 50 ms before the slice's faded end within `floor_db` of the loudest 10 ms (the
    hit is cut while it still rings)."""
    w = max(1, int(0.01 * rate))
    frames = x[:, : x.shape[1] // w * w].reshape(len(x), -1, w).pow(2).mean(-1)
    end = x[:, -int(0.05 * rate) - GUARD:-GUARD].pow(2).mean(-1)
    return 10 * torch.log10(end.clamp_min(1e-20) / frames.amax(1).clamp_min(1e-20)) >= floor_db


def tail(x: torch.Tensor, seeds: list[int], rate: int = RATE) -> torch.Tensor:
    """[B, T] -> [B, T'] (T <= T' <= MAX_SECONDS at `rate`): each ringing hit goes on decaying as its last
    TAIL_FIT_SECONDS did (per band, at least MIN_DECAY_DB_S) until it is SILENT_DB under its peak, with phases
    drawn from its seed; the others are padded with silence. `rate` must be 44.1 kHz (the bands are laid out for
    it). The hit's samples are kept up to its last whole frame; the inverse STFT's overlap-add crossfades the rest."""
    if rate != RATE:
        raise ExtensionError(f"tail extension works at {RATE} Hz; got {rate}")
    n = x.shape[1]
    total = int(MAX_SECONDS * rate)
    if n >= total or n < N_FFT + GUARD + int(0.05 * rate):
        return x
    ring = ringing(x, rate).nonzero()[:, 0]
    if not len(ring):
        return x
    s, p = _power(x[ring])  # [R, frames, bins]
    last = (n - N_FFT // 2 - GUARD) // HOP  # the last frame whose window ends before the faded end
    fit = max(4, int(TAIL_FIT_SECONDS * RATE / HOP))
    m = _masks(TAIL_BANDS)  # [bands, bins]
    level = 10 * torch.log10(torch.einsum("kf,rnf->rkn", m, p[:, max(0, last - fit):last + 1]) + 1e-20)
    t = torch.arange(level.shape[2], dtype=level.dtype)
    t = t - t.mean()
    slope = (level * t).sum(2) / (t * t).sum()  # [R, bands]: dB per frame
    slope = slope.clamp_max(-MIN_DECAY_DB_S * HOP / RATE)
    per_bin = slope @ m  # [R, bins] (every bin lies in one band at 44.1 kHz)
    start = p[:, max(0, last - 7):last + 1].mean(1).sqrt()  # [R, bins]: the last frames' magnitude
    peak = 10 * torch.log10(p.sum(2).amax(1).clamp_min(1e-20))  # [R]
    now = level[:, :, -1]  # [R, bands]: each band's level at the last frame
    # frames until the last band to fall is SILENT_DB under the peak (then 8 frames of fade), or to MAX_SECONDS
    # (then END_FADE_SECONDS of fade)
    quiet = ((peak[:, None] - now + SILENT_DB) / slope).amax(1)  # [R]
    room = (total + N_FFT // 2) // HOP - last
    n_new = min(int(quiet.amax().ceil()) + 8, room)
    length = min(total, (last + n_new) * HOP)
    if n_new <= 0 or length <= n:
        return x
    j = torch.arange(1, n_new + 1, dtype=per_bin.dtype)
    end_fade = int(END_FADE_SECONDS * RATE / HOP)
    ends = torch.where(quiet + 8 <= room, quiet + 8, torch.full_like(quiet, room - 4))  # [R]: last frame heard
    width = torch.where(quiet + 8 <= room, torch.full_like(quiet, 8.0), torch.full_like(quiet, float(end_fade)))
    fade = torch.clamp((ends[:, None] - j) / width[:, None], 0.0, 1.0)  # [R, n_new]
    # frames before bins, as the inverse STFT takes them: the hit's own frames, then the new ones in place
    spec = torch.empty(len(ring), last + 1 + n_new, s.shape[2], dtype=s.dtype)
    spec[:, : last + 1] = s[:, : last + 1]
    new = spec[:, last + 1:]
    mags = torch.exp(j[None, :, None] * (per_bin[:, None, :] * (np.log(10) / 20)))  # [R, n_new, bins]: the decay
    mags.mul_(start[:, None, :] * fade[:, :, None] * _RANDOM_PHASE_GAIN)
    table = _phasors()
    for r, i in enumerate(ring.tolist()):  # the offset is the seed's alone, not the batch's (its longest tail)
        o = int(seeds[i]) % (table.shape[0] - room)
        torch.mul(table[o:o + n_new], mags[r], out=new[r])
    y = spectral.istft_frames(spec, N_FFT, HOP, length)
    out = torch.nn.functional.pad(x, (0, length - n))
    out[ring] = y.to(x.dtype)
    return out


PHASE_SEED = 20261203
# A frame with fresh phases spreads its energy over the whole window instead of the window's shape: through the
# inverse STFT (synthesis window w, divided by the windows' summed square S = sum_t w^2) such frames come out at
# mean(w^2) / S of the power of the signal whose STFT they are (0.375 / 1.5 = 1/4, -6 dB, for Hann at hop N/4).
# Their magnitudes are raised by the inverse, so the tail goes on at the level the hit had.
_W = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64)
_RANDOM_PHASE_GAIN = float(((_W**2).sum() / HOP / (_W**2).mean()).sqrt())


@functools.lru_cache(maxsize=1)
def _phasors() -> torch.Tensor:
    """A fixed table of unit phasors [2 * MAX_SECONDS of frames, bins]: a tail takes the frames from its seed's
    offset on, so its phases are fresh noise and the same for the same seed."""
    g = torch.Generator().manual_seed(PHASE_SEED)
    frames = 2 * int(MAX_SECONDS * RATE / HOP) + 16
    return torch.polar(torch.ones(frames, N_FFT // 2 + 1), 2 * torch.pi * torch.rand(frames, N_FFT // 2 + 1, generator=g))
