"""The page reads PCM WAVs itself (web/js/wav.js): the server's 16-bit WAVs and a user's 16/24-bit or float files
become AudioBuffers with exactly the file's samples, at the file's rate; anything it does not read (8-bit, a
damaged file, not a WAV at all) goes to the browser's decodeAudioData as before, with its error."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from tests import web_helpers as web

pytestmark = pytest.mark.browser

browser, static_url, page = web.browser, web.static_url, web.blank_page  # Chromium, web/ as files, a blank page

# bytes -> {rate, channels: [[...]]} through the drum machine's AudioEngine.decode, or {error} when it rejects
DECODE = """
async (bytes) => {
  const { AudioEngine } = await import("/js/audio.js");
  const ctx = new OfflineAudioContext(1, 1, 44100);
  try {
    const b = await new AudioEngine(ctx, 1).decode(new Uint8Array(bytes).buffer);
    return { rate: b.sampleRate, channels: Array.from({ length: b.numberOfChannels }, (_, c) => Array.from(b.getChannelData(c))) };
  } catch (e) {
    return { error: String(e) };
  }
}
"""


def wav(x: np.ndarray, rate: int, subtype: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, subtype=subtype, format="WAV")
    return buf.getvalue()


def signal(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-0.9, 0.9, (frames, channels))
    x[:3] = [[-1.0] * channels, [0.999] * channels, [0.0] * channels]  # the extremes of every depth
    return x if channels > 1 else x[:, 0]


@pytest.mark.parametrize("subtype,channels,rate", [("PCM_16", 1, 44100), ("PCM_16", 2, 48000),
                                                   ("PCM_24", 2, 96000), ("FLOAT", 1, 22050), ("FLOAT", 3, 44100)])
def test_a_pcm_wav_becomes_the_files_samples_at_its_rate(page, subtype, channels, rate):
    data = wav(signal(1001, channels), rate, subtype)
    want, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)  # what the file holds, as soundfile reads it
    got = page.evaluate(DECODE, list(data))
    assert got["rate"] == rate  # not resampled to the context's 44.1 kHz: a source node resamples while playing
    assert np.array_equal(np.array(got["channels"], np.float32).T, want)


def riff(fmt: bytes, data: bytes, extra: bytes = b"", data_size: int | None = None) -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    body += b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_chunks_before_the_data_and_a_data_size_past_the_end(page):
    x = np.array([0, 16384, -32768, 32767, -1], np.int16)
    fmt = struct.pack("<HHIIHH", 1, 1, 44100, 88200, 2, 16)
    # a LIST chunk of odd size (padded to a word: the data lands 2 bytes past a multiple of 4)
    listed = riff(fmt, x.tobytes(), extra=b"LIST" + struct.pack("<I", 3) + b"abc\x00")
    assert page.evaluate(DECODE, list(listed))["channels"] == [list(x / 32768)]
    # a recorder that never came back to write the data chunk's size
    unsized = riff(fmt, x.tobytes(), data_size=0xFFFFFFFF)
    assert page.evaluate(DECODE, list(unsized))["channels"] == [list(x / 32768)]
    # WAVE_FORMAT_EXTENSIBLE with a PCM sub-format (how many programs write 24-bit and multichannel files)
    ext = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 44100, 88200, 2, 16, 22, 16, 4) + struct.pack("<H", 1) + bytes(14)
    assert page.evaluate(DECODE, list(riff(ext, x.tobytes())))["channels"] == [list(x / 32768)]


def test_what_it_does_not_read_goes_to_the_browsers_decoder(page):
    eight = wav(signal(500, 1), 44100, "PCM_U8")  # 8-bit: left to decodeAudioData, which reads it
    got = page.evaluate(DECODE, list(eight))
    assert "error" not in got and len(got["channels"][0]) == 500
    for bad in (b"", b"RIFF\x04\x00\x00\x00WAVE", b"not audio at all" * 40,
                riff(struct.pack("<HHIIHH", 1, 1, 44100, 88200, 2, 16), b"")):  # no frames
        assert "error" in page.evaluate(DECODE, list(bad)), bad[:20]


# many damaged copies of one WAV, decoded in the page: each becomes a buffer or decodeAudioData's own rejection
FUZZ = """
async (files) => {
  const { AudioEngine } = await import("/js/audio.js");
  const engine = new AudioEngine(new OfflineAudioContext(1, 1, 44100), 1);
  const out = [];
  for (const bytes of files) {
    try { const b = await engine.decode(new Uint8Array(bytes).buffer); out.push(`ok ${b.length}`); }
    catch (e) { out.push(`${e.name}: ${e.message}`); }
  }
  return out;
}
"""


def test_damaged_wavs_never_break_the_reader(page):
    rng = np.random.default_rng(11)
    good = bytearray(wav(signal(300, 2), 48000, "PCM_24"))
    files = []
    for i in range(150):
        x = bytearray(good)
        if i % 3 == 0:  # a header field overwritten: sizes, format, channels, rate, bits
            p = int(rng.integers(4, 44))
            x[p:p + 2] = rng.integers(0, 256, 2, dtype=np.uint8).tobytes()
        elif i % 3 == 1:  # cut short anywhere
            x = x[: int(rng.integers(0, len(x)))]
        else:  # random bytes over the header
            p = int(rng.integers(0, 40))
            x[p:p + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
        files.append(list(x))
    results = page.evaluate(FUZZ, files)
    broken = [r for r in results if not (r.startswith("ok ") or r.startswith("EncodingError"))]
    assert not broken, broken[:5]
    assert any(r.startswith("ok ") for r in results) and any(r.startswith("EncodingError") for r in results)
