"""The only module that reads or writes audio.

Everything else in drumgen works on mono float32 numpy arrays at a known sample rate. This module turns any file
libsndfile can read (WAV 8/16/24/32-bit and float, AIFF, FLAC, OGG, MP3; any rate, any channel count) into such
an array, prepares it as a one-shot for a model (onset trim, fixed length with a fade, peak normalisation), and
writes WAVs that a DAW accepts (44.1 kHz mono, 16- or 24-bit).

Bad input raises `AudioError`, whose `reason` is one short word a report can group by (see `REASONS`) and whose
message says what to do about it.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from drumgen.io.files import atomic_write_bytes

OUTPUT_RATE = 44100
AUDIO_EXTENSIONS = {".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".mp3"}

# Why a file was not used, as reported by `drumgen inspect` and the dataset report.
REASONS = {
    "empty": "the file has no audio frames (0 bytes or an empty data chunk)",
    "not-audio": "the file is not an audio format libsndfile knows (is it renamed text or an image?)",
    "unreadable": "the file is damaged or truncated and could not be decoded",
    "silent": "the file holds only silence",
    "too-short": "the sound is too short to hold a drum hit",
    "too-long": "the file is much longer than a one-shot; split it into hits first (drumgen inspect --split)",
    "bad-samples": "the audio contains NaN or infinite samples",
    "bad-format": "the file declares an impossible sample rate or channel count",
}

SILENCE_DB = -60.0  # a file whose peak is below this is 'silent'
ONSET_DB = -40.0  # leading audio more than this far below the peak is trimmed away
MIN_HIT_SECONDS = 0.01  # shorter than this after the onset trim cannot hold a hit
MAX_SECONDS = 30.0  # longer than this is a recording, not a one-shot
PEAK = 10 ** (-1.0 / 20)  # -1 dBFS, what one-shots are normalised to
FADE_SECONDS = 0.01
BLOCK_SAMPLES = 1 << 20  # samples (frames x channels) decoded at a time: 4 MB of float32


class AudioError(ValueError):
    """A file or buffer that cannot become a drum hit. `reason` is a key of REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        text = REASONS.get(reason, reason)
        super().__init__(f"{text}: {detail}" if detail else text)


Source = str | os.PathLike | bytes | BinaryIO


class _Buffer(io.BytesIO):
    """Bytes for libsndfile. A crafted header can make libsndfile seek before the start; BytesIO raises there,
    inside a C callback, where the exception is only printed. Staying put instead lets libsndfile see that the
    seek went nowhere and fail with its own error."""

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return super().seek(offset, whence)
        except (ValueError, OverflowError):
            return self.tell()


def _open(source: Source) -> sf.SoundFile:
    if isinstance(source, bytes):
        source = _Buffer(source)
    return sf.SoundFile(source)


def info(source: Source) -> tuple[int, int, int]:
    """(frames, sample_rate, channels) from the header alone, without decoding the samples."""
    if isinstance(source, (str, os.PathLike)) and os.path.getsize(source) == 0:
        raise AudioError("empty", "0 bytes")
    if isinstance(source, bytes) and len(source) == 0:
        raise AudioError("empty", "0 bytes")
    try:
        with _open(source) as f:
            _check_truncation(f.extra_info)
            return f.frames, f.samplerate, f.channels
    except sf.LibsndfileError as e:
        raise _classify(source, e) from None
    except (RuntimeError, EOFError, OSError) as e:
        raise AudioError("unreadable", str(e)) from None


_TRUNCATED = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _check_truncation(log: str) -> None:
    """libsndfile quietly reads what is left of a cut WAV or AIFF; its parser log says so. Refuse such files:
    a hit cut short mid-decay would train a model on clicks."""
    m = _TRUNCATED.search(log or "")
    if m and int(m.group(3)) < int(m.group(2)):
        raise AudioError("unreadable", f"truncated: the header declares {m.group(2)} bytes of audio, "
                                       f"the file holds {m.group(3)}")


# libsndfile's own words for a header that declares an impossible channel count or sample rate
_BAD_FORMAT_WORDS = ("channel count", "too many channels", "sf_info struct incomplete", "bad sample rate",
                     "samplerate", "sample rate")


def _classify(source: Source, error: Exception) -> AudioError:
    # "Error opening <_io.BytesIO object at 0x...>: " says nothing to a user and varies run to run
    text = re.sub(r"^Error opening [^:]*?: ", "", str(error)) if isinstance(source, (bytes, io.IOBase)) else str(error)
    lowered = text.lower()
    if any(w in lowered for w in _BAD_FORMAT_WORDS):
        return AudioError("bad-format", text)
    if "format not recognised" in lowered or "unknown format" in lowered or "not a valid" in lowered:
        return AudioError("not-audio", text)
    if "unsupported" in lowered and "format" in lowered:
        return AudioError("not-audio", text)
    return AudioError("unreadable", text)


def read(source: Source, max_seconds: float | None = MAX_SECONDS) -> tuple[np.ndarray, int]:
    """Decode a file, path or bytes into (mono float32 [T], sample_rate).

    The header is checked before any sample is decoded, so a file that declares hours of audio or an absurd rate
    is refused without reading it. Channels are averaged to mono.
    """
    frames, rate, channels = info(source)
    if rate < 1000 or rate > 768_000 or channels < 1 or channels > 64:
        raise AudioError("bad-format", f"{rate} Hz, {channels} channels")
    if frames == 0:
        raise AudioError("empty", "no frames")
    if max_seconds is not None and frames > max_seconds * rate * 1.01:
        raise AudioError("too-long", f"{frames / rate:.1f} s; the limit is {max_seconds:g} s")
    if hasattr(source, "seek"):
        source.seek(0)
    # Decode block by block and mix each block to mono at once: memory follows the audio actually decoded,
    # in mono, never frames x channels as a header declares them (a tiny Vorbis file may claim 64 channels
    # of 30 s silence, which read in one go would be a 1.5 GB array).
    block = max(1024, BLOCK_SAMPLES // channels)
    limit = frames if max_seconds is None else min(frames, int(max_seconds * rate * 1.01) + 1)
    pieces: list[np.ndarray] = []
    decoded = 0
    try:
        with _open(source) as f:
            for chunk in f.blocks(blocksize=block, dtype="float32", always_2d=True):
                pieces.append(chunk.mean(axis=1, dtype=np.float32))
                decoded += chunk.shape[0]
                if decoded >= limit:
                    break
    except sf.LibsndfileError as e:
        raise _classify(source, e) from None
    except (RuntimeError, EOFError, OSError, ValueError, MemoryError) as e:
        raise AudioError("unreadable", str(e)) from None
    if decoded == 0:
        raise AudioError("empty", "no frames could be decoded")
    x = np.concatenate(pieces)[:limit].astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise AudioError("bad-samples", f"{int(np.sum(~np.isfinite(x)))} of {x.size} samples")
    return x, int(rate)


def resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Band-limited resampling with soxr (its high-quality preset); rates need not be whole (a tuned pad)."""
    if rate_in == rate_out:
        return x.astype(np.float32, copy=False)
    return soxr.resample(x.astype(np.float32, copy=False), rate_in, rate_out, quality="HQ").astype(np.float32)


def peak_db(x: np.ndarray) -> float:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else -np.inf


def trim_onset(x: np.ndarray, sample_rate: int, threshold_db: float = ONSET_DB) -> np.ndarray:
    """Cut leading near-silence so the hit starts at sample 0 (keeping 1 ms before the onset)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0:
        return x
    above = np.flatnonzero(np.abs(x) >= peak * 10 ** (threshold_db / 20))
    start = max(0, int(above[0]) - sample_rate // 1000)
    return x[start:]


def fit_length(x: np.ndarray, length: int, sample_rate: int, fade_seconds: float = FADE_SECONDS) -> np.ndarray:
    """Pad with zeros or cut to `length`; a cut gets a short linear fade-out so it does not click."""
    if x.shape[0] >= length:
        return fade_out(x[:length], sample_rate, fade_seconds)  # fade_seconds 0: a plain cut
    return np.pad(x, (0, length - x.shape[0])).astype(np.float32)


def fade_out(x: np.ndarray, sample_rate: int, seconds: float = FADE_SECONDS) -> np.ndarray:
    """A copy of x [..., T] whose last `seconds` ramp linearly to zero, so a hit cut short does not click."""
    x = np.array(x, dtype=np.float32)
    fade = min(x.shape[-1], max(1, int(seconds * sample_rate)))
    x[..., -fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return x


TAIL_DB = -60.0  # a generated hit ends where it stays this far below its peak


def trim_tail(x: np.ndarray, sample_rate: int, floor_db: float = TAIL_DB, min_seconds: float = 0.05) -> np.ndarray:
    """A hit without its silent end: cut 10 ms after the last 10 ms block that reaches `floor_db` below the peak,
    faded out over those 10 ms. A model's slice is as long as its longest sound (a crash's tail), so a kick
    decoded in it would otherwise carry seconds of silence into every WAV and kit."""
    x = np.asarray(x, dtype=np.float32)
    block = max(1, int(FADE_SECONDS * sample_rate))
    n = x.shape[-1] // block
    if n < 2:
        return x
    level = np.abs(x[: n * block]).reshape(n, block).max(axis=1)
    loud = np.nonzero((level >= level.max() * 10 ** (floor_db / 20)) & (level > 0))[0]
    end = max(int(min_seconds * sample_rate), (int(loud[-1]) + 2) * block if len(loud) else 0)
    if end >= x.shape[-1]:
        return x
    return fade_out(x[:end], sample_rate)


def normalize(x: np.ndarray, peak: float = PEAK) -> np.ndarray:
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (peak / m)).astype(np.float32) if m > 0 else x.astype(np.float32)


def prepare(x: np.ndarray, rate: int, sample_rate: int, length: int | None) -> np.ndarray:
    """Decoded audio -> a model's one-shot: resampled, onset-trimmed, fixed length, peak at -1 dBFS.

    Raises AudioError('silent') or ('too-short') when there is no hit to keep.
    """
    if peak_db(x) < SILENCE_DB:
        raise AudioError("silent", f"peak {peak_db(x):.0f} dBFS")
    x = trim_onset(x, rate)
    if x.shape[0] < MIN_HIT_SECONDS * rate:
        raise AudioError("too-short", f"{1000 * x.shape[0] / rate:.1f} ms of sound")
    # Normalise before resampling too: a damaged float or MP3 file can decode to finite samples near 1e37,
    # which the resampler's filter sums past the float32 range into inf (and normalising inf gives NaN).
    x = resample(normalize(x), rate, sample_rate)
    if length is not None:
        x = fit_length(x, length, sample_rate)
    x = normalize(x)
    if not np.all(np.isfinite(x)):
        raise AudioError("bad-samples", "the audio could not be normalised")
    return x


def load(source: Source, sample_rate: int, length: int | None = None, max_seconds: float | None = MAX_SECONDS) -> np.ndarray:
    """Read any audio file and prepare it as a one-shot at `sample_rate`, `length` samples long."""
    x, rate = read(source, max_seconds=max_seconds)
    return prepare(x, rate, sample_rate, length)


def split_hits(x: np.ndarray, sample_rate: int, min_gap: float = 0.05, threshold_db: float = -30.0) -> list[np.ndarray]:
    """Split a long recording into hits at onsets: rises of a 5 ms RMS envelope above `threshold_db` of its peak.

    A simple energy onset detector, good for recordings of separate hits with some space between them.
    """
    hop = max(1, int(0.005 * sample_rate))
    n = x.shape[0] // hop
    if n < 2:
        return [x]
    env = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    level = 20 * np.log10(env / env.max())
    # Hysteresis: a hit starts when the level rises above the threshold and ends only when it falls 12 dB
    # below it, so a noisy decay hovering around the threshold is not cut into many hits.
    kept: list[int] = []
    gap = max(1, int(min_gap * sample_rate / hop))
    active = False
    for i in range(n):
        if not active and level[i] > threshold_db:
            active = True
            if not kept or i - kept[-1] >= gap:
                kept.append(i)
        elif active and level[i] < threshold_db - 12:
            active = False
    bounds = [i * hop for i in kept] + [x.shape[0]]
    return [x[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b - a > MIN_HIT_SECONDS * sample_rate]


def _to_output(x: np.ndarray, sample_rate: int, rate: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(resample(x, sample_rate, rate), -1.0, 1.0)


def wav_bytes(x: np.ndarray, sample_rate: int, bits: int = 16, rate: int = OUTPUT_RATE) -> bytes:
    """Encode audio as a WAV file in memory, resampled to `rate` (44.1 kHz unless told): mono x [T], or channels
    x [C, T] (a bounced beat is [2, T]: left, right)."""
    x = np.asarray(x, dtype=np.float32)
    out = (_to_output(x, sample_rate, rate) if x.ndim == 1
           else np.stack([_to_output(c, sample_rate, rate) for c in x], axis=1))  # [T, C], as soundfile writes
    buf = io.BytesIO()
    sf.write(buf, out, rate, subtype=_subtype(bits), format="WAV")
    return buf.getvalue()


def write_wav(path: str | os.PathLike, x: np.ndarray, sample_rate: int, bits: int = 16, rate: int = OUTPUT_RATE) -> Path:
    """Write a mono WAV atomically (a temporary file renamed into place), resampled to `rate`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = wav_bytes(x, sample_rate, bits=bits, rate=rate)
    atomic_write_bytes(path, data)
    return path


def _subtype(bits: int) -> str:
    subtypes = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}
    if bits not in subtypes:
        raise ValueError(f"bits must be 16, 24 or 32; got {bits}")
    return subtypes[bits]
