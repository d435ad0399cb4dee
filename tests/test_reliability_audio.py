"""Hostile audio: whatever bytes arrive, drumgen.io.audio answers with an AudioError naming a known reason, or with a
prepared hit, never another exception, never a hang, and never an allocation a header merely declares.

Hand-made files cover the known crafted-file shapes (huge declared sizes, absurd rates and channel counts, NaN and
infinite floats, wrong headers); hypothesis covers truncation at any byte in every format, flipped bytes, and
random payloads behind valid magic numbers.
"""

from __future__ import annotations

import faulthandler
import io
import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drumgen.data import dataset
from drumgen.dsp import synth
from drumgen.io import audio

RATE, LENGTH = 16000, 4096
FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@pytest.fixture(autouse=True)
def no_hang():
    """A decoder stuck inside C cannot be interrupted by a Python signal handler; faulthandler's watchdog
    thread can: it dumps the stack and ends the process, which fails the run loudly instead of hanging it."""
    faulthandler.dump_traceback_later(50, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def _hit() -> np.ndarray:
    return synth.hit("snare", 3, sample_rate=22050)[:6000]


def _encode(fmt: str, subtype: str, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.tile(_hit()[:, None], (1, channels)), 22050, format=fmt, subtype=subtype)
    return buf.getvalue()


FORMATS = [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "FLOAT"), ("AIFF", "PCM_16"), ("FLAC", "PCM_16"),
           ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")]
ENCODED = {f"{fmt}/{sub}": _encode(fmt, sub, channels=2 if fmt == "FLAC" else 1) for fmt, sub in FORMATS}
MAGICS = [b"RIFF\x00\x00\x00\x00WAVE", b"RIFF\xff\xff\xff\xffWAVEfmt ", b"FORM\x00\x00\x00\x00AIFF", b"fLaC",
          b"OggS\x00\x02", b"ID3\x04\x00\x00", b"\xff\xfb\x90\x00", b"RF64\xff\xff\xff\xffWAVEds64", b".snd",
          b"caff\x00\x01", b"riff.\x91\xcf\x11"]


def wav(rate: int = 44100, channels: int = 1, bits: int = 16, tag: int = 1, data_len: int | None = None,
        payload: bytes = b"\x10\x00" * 2000) -> bytes:
    """A WAV file with every header field under the caller's control, however impossible."""
    block = (channels * bits // 8) & 0xFFFF
    fmt = struct.pack("<HHIIHH", tag & 0xFFFF, channels & 0xFFFF, rate & 0xFFFFFFFF,
                      (rate * block) & 0xFFFFFFFF, block, bits & 0xFFFF)
    size = len(payload) if data_len is None else data_len
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size & 0xFFFFFFFF) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def check(data: bytes, max_peak_mb: float = 64.0) -> str:
    """Decode and prepare `data`; return the AudioError reason or 'ok'. Fails on any other outcome."""
    tracemalloc.start()
    try:
        try:
            hit = audio.load(data, RATE, LENGTH)
        except audio.AudioError as e:
            assert e.reason in audio.REASONS, f"unknown reason {e.reason!r}: {e}"
            assert str(e), "an AudioError must say what is wrong"
            return e.reason
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hit.shape == (LENGTH,) and hit.dtype == np.float32
    assert np.all(np.isfinite(hit)) and np.max(np.abs(hit)) <= 1.0
    assert peak < max_peak_mb * 1e6, f"decoding a {len(data)}-byte file peaked at {peak / 1e6:.0f} MB"
    return "ok"


HOSTILE = {
    "4 GB of declared data": (wav(data_len=0xFFFFFFF0), {"unreadable", "too-long"}),
    "1 Hz": (wav(rate=1), {"bad-format"}),
    "4 GHz": (wav(rate=4_000_000_000), {"bad-format"}),
    "0 channels": (wav(channels=0), {"bad-format", "unreadable"}),
    "65535 channels": (wav(channels=65535), {"bad-format", "unreadable"}),
    "0 bits": (wav(bits=0), {"unreadable", "not-audio"}),
    "NaN floats": (wav(tag=3, bits=32, payload=np.full(1000, np.nan, np.float32).tobytes()), {"bad-samples"}),
    "inf floats": (wav(tag=3, bits=32, payload=np.full(1000, np.inf, np.float32).tobytes()), {"bad-samples"}),
    "-inf doubles": (wav(tag=3, bits=64, payload=np.full(500, -np.inf).tobytes()), {"bad-samples"}),
    "one NaN among samples": (wav(tag=3, bits=32, payload=np.r_[np.ones(999), np.nan].astype(np.float32).tobytes()),
                              {"bad-samples"}),
    "MP3 tag in a WAV": (wav(tag=0x55), {"unreadable", "not-audio"}),
    "unknown format tag": (wav(tag=0x1234), {"unreadable", "not-audio"}),
    "empty data chunk": (wav(payload=b"", data_len=0), {"empty", "unreadable"}),
    "0 bytes": (b"", {"empty"}),
    "text": (b"kick,snare,hat\n" * 50, {"not-audio"}),
    "PNG": (b"\x89PNG\r\n\x1a\n" + bytes(200), {"not-audio"}),
    "a pickle": (b"\x80\x04\x95" + bytes(100), {"not-audio"}),
    "zeros after RIFF": (b"RIFF" + bytes(400), {"not-audio", "unreadable"}),
    "silence": (wav(payload=bytes(8000)), {"silent"}),
    # finite but near float32's limit: the resampler's filter once summed these into inf, then NaN (found by
    # benchmarks/fuzz.py in a truncated MP3 that decoded to 1.9e37)
    "huge finite floats": (wav(tag=3, bits=32, payload=np.r_[np.zeros(100), np.full(100, 3e38), np.full(100, -3e38),
                                                            np.zeros(700)].astype(np.float32).tobytes()), {"ok"}),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hand_made_hostile_files(name):
    data, reasons = HOSTILE[name]
    assert check(data) in reasons


def test_a_tiny_file_declaring_much_audio_does_not_allocate_it():
    """A 8-channel 192 kHz FLAC of 25 s near-silence is ~140 kB; decoding it whole would allocate 150 MB of
    frames x channels. Block-wise mono decoding keeps the peak near the mono result (4.8 M samples, 19 MB)."""
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", 192000, 8, format="FLAC", subtype="PCM_16") as f:
        second = np.zeros((192000, 8), np.float32)
        second[:100] = 0.5
        for _ in range(25):
            f.write(second)
    data = buf.getvalue()
    assert len(data) < 400_000
    tracemalloc.start()
    try:
        x, rate = audio.read(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rate == 192000 and x.shape == (25 * 192000,)
    assert peak < 60e6, f"peak {peak / 1e6:.0f} MB for a {len(data) / 1e3:.0f} kB file"


def test_a_declared_hour_is_refused_from_the_header():
    """A WAV whose header claims 4 GB of 8-bit audio (27 hours at 44.1 kHz) is refused before decoding."""
    data = wav(bits=8, data_len=0xFFFFFFF0, payload=bytes(100))
    tracemalloc.start()
    try:
        with pytest.raises(audio.AudioError) as e:
            audio.read(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert e.value.reason in {"unreadable", "too-long"}
    assert peak < 5e6


@pytest.mark.parametrize("fmt", list(ENCODED))
def test_every_format_decodes_before_fuzzing(fmt):
    """The fuzzers below start from these files; each must be a good hit, or the fuzzing proves nothing."""
    assert check(ENCODED[fmt]) == "ok"


@FUZZ
@given(fmt=st.sampled_from(list(ENCODED)), cut=st.floats(0, 1))
def test_truncated_anywhere(fmt, cut):
    data = ENCODED[fmt]
    check(data[: int(cut * (len(data) - 1))])


@FUZZ
@given(fmt=st.sampled_from(list(ENCODED)), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                                           min_size=1, max_size=8))
def test_flipped_bytes(fmt, flips):
    data = bytearray(ENCODED[fmt])
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    check(bytes(data))


@FUZZ
@given(fmt=st.sampled_from(list(ENCODED)), where=st.integers(0, 80), value=st.sampled_from(
    [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
def test_header_words_set_to_extremes(fmt, where, value):
    """Every 32-bit word of the first 84 header bytes set to 0, 1, or the largest values."""
    data = bytearray(ENCODED[fmt])
    data[where:where + 4] = struct.pack("<I", value)
    check(bytes(data))


@FUZZ
@given(magic=st.sampled_from(MAGICS), rest=st.binary(max_size=4096))
def test_random_bytes_behind_valid_magic(magic, rest):
    check(magic + rest)


@FUZZ
@given(rate=st.integers(0, 2**32 - 1), channels=st.integers(0, 65535), bits=st.sampled_from([0, 1, 8, 12, 16, 24,
       32, 64, 65535]), tag=st.sampled_from([0, 1, 2, 3, 6, 7, 0x55, 0xFFFE, 0xFFFF]),
       data_len=st.integers(0, 2**32 - 1), payload=st.binary(max_size=2048))
def test_any_wav_header(rate, channels, bits, tag, data_len, payload):
    check(wav(rate, channels, bits, tag, data_len, payload))


@FUZZ
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=2000))
def test_any_float_samples(values):
    """Float WAVs holding any float32 values: NaN/inf -> bad-samples; huge finite values still make a hit."""
    reason = check(wav(tag=3, bits=32, payload=np.array(values, np.float32).tobytes()))
    if not np.all(np.isfinite(np.array(values, np.float32))):
        assert reason == "bad-samples"


def test_load_folder_skips_every_hostile_file_with_its_reason(tmp_path):
    """A samples folder full of broken files loads the good hits and reports each broken one."""
    root = tmp_path / "kit"
    (root / "kick").mkdir(parents=True)
    audio.write_wav(root / "kick" / "good.wav", _hit(), 22050)
    for i, (data, _) in enumerate(HOSTILE.values()):
        (root / "kick" / f"bad{i}.wav").write_bytes(data)
    for fmt, data in ENCODED.items():
        ext = {"WAV": ".wav", "AIFF": ".aiff", "FLAC": ".flac", "OGG": ".ogg", "MP3": ".mp3"}[fmt.split("/")[0]]
        (root / f"cut_{fmt.replace('/', '_')}{ext}").write_bytes(data[: len(data) // 2 + 7])
    (root / "notes.txt").write_text("not audio")
    ds = dataset.load_folder(root, RATE, LENGTH, cache_dir=False, workers=2)
    assert len(ds) >= 1 and np.all(np.isfinite(ds.x))
    assert "kick/good.wav" in [item.path for item in ds.report.loaded]
    assert all(s.reason in audio.REASONS for s in ds.report.skipped)
    assert len(ds.report.loaded) + len(ds.report.skipped) == len(HOSTILE) + len(ENCODED) + 2


def test_load_folder_of_only_broken_files_says_so(tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    for i, (data, reasons) in enumerate(HOSTILE.values()):
        if "ok" not in reasons:
            (root / f"{i}.wav").write_bytes(data)
    with pytest.raises(dataset.EmptyDatasetError, match="could be used"):
        dataset.load_folder(root, RATE, LENGTH, cache_dir=False, workers=2)
