"""Audio fuzzing with a fixed time budget: mutated files of every format fed to drumgen.io.audio.load.

    python benchmarks/fuzz.py [--seconds 300] [--seed 0] [--process]

Inputs: good one-shots in WAV (16/24/float), AIFF, FLAC, OGG and MP3, then truncated at a random byte, with
random bytes flipped, with a header word set to an extreme, random bytes behind a valid magic number, and WAV
headers with random rate, channels, bits, format tag and data size. The promise checked for each: an AudioError
with a known reason, or a finite one-shot; anything else is a failure, saved under benchmarks/fuzz_failures/.
A watchdog ends the run with a stack dump if one input takes longer than 30 s (a hang). --process decodes every
input through the server's decode worker (drumgen.server.uploads.decode_untrusted: a child process each,
so fewer inputs per second). Prints a table of outcomes
and appends it to RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import hashlib
import io
import struct
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile as sf
from common import record, table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import asyncio  # noqa: E402

from drumgen.dsp import synth  # noqa: E402
from drumgen.io import audio  # noqa: E402

FORMATS = [("WAV", "PCM_16", ".wav"), ("WAV", "PCM_24", ".wav"), ("WAV", "FLOAT", ".wav"),
           ("AIFF", "PCM_16", ".aiff"), ("FLAC", "PCM_16", ".flac"), ("OGG", "VORBIS", ".ogg"),
           ("MP3", "MPEG_LAYER_III", ".mp3")]
MAGICS = [b"RIFF\x00\x00\x00\x00WAVE", b"FORM\x00\x00\x00\x00AIFF", b"fLaC", b"OggS\x00\x02", b"ID3\x04\x00\x00",
          b"\xff\xfb\x90\x00", b"RF64\xff\xff\xff\xffWAVEds64", b".snd", b"caff\x00\x01", b"FORM\x00\x00\x00\x00AIFC"]


def seeds() -> dict[str, bytes]:
    out = {}
    for i, (fmt, sub, _) in enumerate(FORMATS):
        x = synth.hit(["kick", "snare", "hihat", "tom", "clap", "cymbal", "perc"][i], i, sample_rate=22050)[:8000]
        buf = io.BytesIO()
        sf.write(buf, np.stack([x, x[::-1]], 1) if i % 2 else x, 22050, format=fmt, subtype=sub)
        out[f"{fmt}/{sub}"] = buf.getvalue()
    return out


def wav(rate: int, channels: int, bits: int, tag: int, data_len: int, payload: bytes) -> bytes:
    block = (channels * bits // 8) & 0xFFFF
    fmt = struct.pack("<HHIIHH", tag & 0xFFFF, channels & 0xFFFF, rate & 0xFFFFFFFF, (rate * block) & 0xFFFFFFFF,
                      block, bits & 0xFFFF)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_len & 0xFFFFFFFF) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mutate(rng: np.random.Generator, good: dict[str, bytes]) -> tuple[str, bytes]:
    name = list(good)[rng.integers(len(good))]
    data = bytearray(good[name])
    how = ["truncate", "flip", "header-word", "magic", "wav-header", "flip+truncate"][rng.integers(6)]
    if how in ("truncate", "flip+truncate"):
        data = data[: rng.integers(0, len(data))]
    if how in ("flip", "flip+truncate") and data:
        for _ in range(rng.integers(1, 16)):
            data[rng.integers(len(data))] = rng.integers(256)
    if how == "header-word" and len(data) > 8:
        at = int(rng.integers(0, min(120, len(data) - 4)))
        data[at:at + 4] = struct.pack("<I", int(rng.choice([0, 1, 0x7F, 0x80, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])))
    if how == "magic":
        data = bytearray(MAGICS[rng.integers(len(MAGICS))] + rng.bytes(int(rng.integers(0, 8192))))
    if how == "wav-header":
        data = bytearray(wav(int(rng.choice([0, 1, 8000, 44100, 4_000_000_000, int(rng.integers(0, 2**32))])),
                             int(rng.choice([0, 1, 2, 64, 65535, int(rng.integers(0, 65536))])),
                             int(rng.choice([0, 8, 16, 24, 32, 64, int(rng.integers(0, 65536))])),
                             int(rng.choice([1, 3, 0xFFFE, 0x55, int(rng.integers(0, 65536))])),
                             int(rng.choice([0, 100, 0xFFFFFFF0, int(rng.integers(0, 2**32))])),
                             rng.bytes(int(rng.integers(0, 4096)))))
    return f"{how} {name}", bytes(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300.0, help="time budget (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--process", action="store_true", help="decode through the server's decode worker")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    good = seeds()
    outcomes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures: list[str] = []
    slowest, peak_mb, n = 0.0, 0.0, 0
    stop_at = time.monotonic() + args.seconds
    tracemalloc.start()
    while time.monotonic() < stop_at:
        how, data = mutate(rng, good)
        faulthandler.dump_traceback_later(30, exit=True)
        t0 = time.perf_counter()
        tracemalloc.reset_peak()
        try:
            if args.process:
                from drumgen.server import uploads
                from drumgen.server.settings import Settings

                try:
                    x, rate = asyncio.run(uploads.decode_untrusted(data, Settings(max_upload_seconds=30.0)))
                except uploads.UploadError as e:  # a crash or a hang, contained in the worker process
                    raise audio.AudioError("unreadable", str(e)) from None
                hit = audio.prepare(x, rate, 16000, 4096)
            else:
                hit = audio.load(data, 16000, 4096)
            ok = hit.shape == (4096,) and bool(np.all(np.isfinite(hit)))
            result = "ok" if ok else "BAD OUTPUT"
        except audio.AudioError as e:
            result = e.reason if e.reason in audio.REASONS else f"UNKNOWN REASON {e.reason}"
        except Exception as e:  # the failures this run looks for
            result = f"EXCEPTION {type(e).__name__}"
        faulthandler.cancel_dump_traceback_later()
        slowest = max(slowest, time.perf_counter() - t0)
        peak_mb = max(peak_mb, tracemalloc.get_traced_memory()[1] / 1e6)
        outcomes[how.split()[0]][result] += 1
        n += 1
        if result.isupper() or result.startswith(("EXCEPTION", "UNKNOWN", "BAD")):
            folder = ROOT / "benchmarks" / "fuzz_failures"
            folder.mkdir(exist_ok=True)
            path = folder / f"{hashlib.sha1(data).hexdigest()[:12]}.bin"
            path.write_bytes(data)
            failures.append(f"{how}: {result} ({path.name})")
    reasons = sorted({r for c in outcomes.values() for r in c})
    rows = [[how, sum(c.values()), *(c.get(r, 0) for r in reasons)] for how, c in sorted(outcomes.items())]
    text = table(["mutation", "inputs", *reasons], rows)
    notes = (f"{n} inputs in {args.seconds:g} s (seed {args.seed}{', through the decode worker' if args.process else ''}): "
             f"{len(failures)} failures; slowest input {slowest * 1000:.0f} ms; peak traced memory "
             f"{peak_mb:.0f} MB per input.")
    if failures:
        notes += "\n\nFailures:\n" + "\n".join(f"- {f}" for f in failures[:20])
    record(f"Audio fuzz: {args.seconds:g} s budget", text, notes)
    print(notes)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
