"""audio.py: every format and rate in, prepared one-shots and 44.1 kHz WAVs out, bad files refused by reason."""

import io

import numpy as np
import pytest
import soundfile as sf

from drumgen.dsp import synth
from drumgen.io import audio


def _hit(sr=44100):
    return synth.hit("snare", 3, sr)


@pytest.mark.parametrize("fmt,subtype,rate,channels", [
    ("WAV", "PCM_16", 44100, 1), ("WAV", "PCM_24", 48000, 2), ("WAV", "PCM_32", 22050, 1),
    ("WAV", "FLOAT", 96000, 2), ("WAV", "PCM_U8", 11025, 1), ("AIFF", "PCM_24", 44100, 2),
    ("FLAC", "PCM_16", 32000, 1), ("OGG", "VORBIS", 44100, 2), ("MP3", "MPEG_LAYER_III", 44100, 1),
])
def test_reads_every_format_as_mono_float(fmt, subtype, rate, channels):
    x = _hit(rate)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    buf = io.BytesIO()
    sf.write(buf, data, rate, format=fmt, subtype=subtype)
    y, got_rate = audio.read(buf.getvalue())
    assert got_rate == rate and y.dtype == np.float32 and y.ndim == 1
    assert abs(y.shape[0] - x.shape[0]) < 0.05 * rate  # mp3 pads a little
    assert np.max(np.abs(y)) == pytest.approx(np.max(np.abs(x)), abs=0.15)


def test_prepare_trims_onset_fits_length_and_normalises():
    sr = 22050
    x = np.concatenate([np.zeros(5000, np.float32), _hit(sr) * 0.2])
    y = audio.prepare(x, sr, 16000, 8192)
    assert y.shape == (8192,) and y.dtype == np.float32
    assert np.max(np.abs(y)) == pytest.approx(audio.PEAK, rel=1e-4)
    assert np.max(np.abs(y[:64])) > 0.05  # the hit starts within the first few ms
    assert abs(y[-1]) < 1e-3  # faded out at the cut


def test_prepare_pads_short_hits():
    x = _hit(16000)[:1000]
    y = audio.prepare(x, 16000, 16000, 4096)
    assert y.shape == (4096,) and np.all(y[1100:] == 0)


def test_resample_keeps_a_tone_in_place():
    sr = 48000
    t = np.arange(sr) / sr
    y = audio.resample(np.sin(2 * np.pi * 1000 * t).astype(np.float32), sr, 16000)
    spectrum = np.abs(np.fft.rfft(y))
    assert y.shape == (16000,) and abs(np.argmax(spectrum) - 1000) <= 1


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"this is a text file, not a wav\n" * 20, "not-audio"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200)), "unreadable"),
])
def test_bad_bytes_are_refused_with_a_reason(data, reason):
    with pytest.raises(audio.AudioError) as e:
        audio.read(data)
    assert e.value.reason == reason and str(e.value)


def test_truncated_wav_is_refused():
    buf = io.BytesIO()
    sf.write(buf, _hit(), 44100, format="WAV", subtype="PCM_16")
    data = buf.getvalue()
    with pytest.raises(audio.AudioError, match="truncated") as e:
        audio.read(data[: len(data) // 2])
    assert e.value.reason == "unreadable"


def test_silent_and_nan_and_long_audio_are_refused():
    with pytest.raises(audio.AudioError) as e:
        audio.prepare(np.zeros(4000, np.float32), 16000, 16000, 4096)
    assert e.value.reason == "silent"
    buf = io.BytesIO()
    bad = _hit()
    bad[100] = np.nan
    sf.write(buf, bad, 44100, format="WAV", subtype="FLOAT")
    with pytest.raises(audio.AudioError) as e:
        audio.read(buf.getvalue())
    assert e.value.reason == "bad-samples"
    buf = io.BytesIO()
    sf.write(buf, np.zeros(8000 * 40, np.float32), 8000, format="WAV", subtype="PCM_16")
    with pytest.raises(audio.AudioError) as e:
        audio.read(buf.getvalue())
    assert e.value.reason == "too-long"


def test_written_wavs_are_44k_mono_at_the_requested_depth(tmp_path):
    x = _hit(16000)
    for bits, subtype in ((16, "PCM_16"), (24, "PCM_24")):
        path = audio.write_wav(tmp_path / f"out{bits}.wav", x, 16000, bits=bits)
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (44100, 1, subtype)
        y, _ = sf.read(path)
        assert abs(y.shape[0] - x.shape[0] * 44100 / 16000) < 2
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary files


def test_split_hits_finds_each_onset():
    sr = 22050
    gap = np.zeros(sr // 2, np.float32)
    take = np.concatenate([_hit(sr)[: sr // 3], gap, _hit(sr)[: sr // 3], gap, _hit(sr)[: sr // 3]])
    assert len(audio.split_hits(take, sr)) == 3


def test_trim_tail_cuts_the_silence_after_a_hit_and_keeps_a_ringing_one():
    rate = 44100
    t = np.arange(2 * rate) / rate
    kick = (np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.05)).astype(np.float32)  # -60 dB after ~0.35 s
    crash = (np.random.default_rng(0).standard_normal(2 * rate) * np.exp(-t / 1.5)).astype(np.float32)
    short, long = audio.trim_tail(kick, rate), audio.trim_tail(crash, rate)
    assert 0.3 * rate < len(short) < 0.4 * rate  # ends where it falls 60 dB below its peak
    assert short[-1] == 0.0 and np.array_equal(short[:1000], kick[:1000])  # faded out; the hit untouched
    assert len(long) == len(crash) and np.array_equal(long, crash)  # still ringing at the end: kept whole
    assert len(audio.trim_tail(np.zeros(rate, np.float32), rate)) == int(0.05 * rate)  # silence: a stub
