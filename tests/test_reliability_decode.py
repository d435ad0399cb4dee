"""drumgen.safe_decode: a decoder crash, hang or runaway allocation costs one child process, never the caller."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from drumgen import audio, safe_decode, synth


def _wav() -> bytes:
    return audio.wav_bytes(synth.hit("kick", 1, 22050), 22050)


def _stand_in(monkeypatch, code: str) -> None:
    """Replace the child with a misbehaving one (it receives the same argument and stdin)."""
    monkeypatch.setattr(safe_decode, "WORKER", [sys.executable, "-c", code])


def test_decodes_exactly_what_audio_read_decodes():
    data = _wav()
    x, rate = safe_decode.decode_untrusted(data, timeout=20)
    y, rate2 = audio.read(data)
    assert rate == rate2 == 44100 and x.dtype == np.float32 and np.array_equal(x, y)


@pytest.mark.parametrize("data, reason", [(b"RIFF" + bytes(100), "not-audio"), (b"", "empty"),
                                          (b"\x89PNG\r\n\x1a\n" + bytes(50), "not-audio")])
def test_bad_files_keep_their_reason(data, reason):
    with pytest.raises(audio.AudioError) as e:
        safe_decode.decode_untrusted(data, timeout=20)
    assert e.value.reason == reason


def test_too_long_limit_is_passed_to_the_child():
    with pytest.raises(audio.AudioError) as e:
        safe_decode.decode_untrusted(_wav(), timeout=20, max_seconds=0.1)
    assert e.value.reason == "too-long"


def test_a_crashing_decoder_is_an_unreadable_file(monkeypatch):
    _stand_in(monkeypatch, "import os, signal, sys; sys.stdin.buffer.read(); os.kill(os.getpid(), signal.SIGSEGV)")
    with pytest.raises(audio.AudioError, match="crashed.*signal 11") as e:
        safe_decode.decode_untrusted(_wav(), timeout=20)
    assert e.value.reason == "unreadable"


def test_a_hanging_decoder_is_killed_at_the_time_limit(monkeypatch):
    _stand_in(monkeypatch, "import time; time.sleep(60)")
    start = time.monotonic()
    with pytest.raises(audio.AudioError, match="longer than 1 s") as e:
        safe_decode.decode_untrusted(_wav(), timeout=1)
    assert e.value.reason == "unreadable" and time.monotonic() - start < 10


def test_a_runaway_allocation_fails_in_the_child(monkeypatch):
    """The child's address space is capped: a decoder asking for 8 GB gets MemoryError there."""
    _stand_in(monkeypatch, "import sys, numpy as np, drumgen.safe_decode as s; "
                           "s.audio.read = lambda *a, **k: (np.ones(1 << 31, np.float32), 8000); "
                           "sys.exit(s._child(sys.argv[1:]))")
    with pytest.raises(audio.AudioError, match="too much memory") as e:
        safe_decode.decode_untrusted(_wav(), timeout=20)
    assert e.value.reason == "unreadable"


def test_garbage_output_is_not_trusted(monkeypatch):
    _stand_in(monkeypatch, "import sys; sys.stdin.buffer.read(); "
                           "sys.stdout.buffer.write(b'{\"rate\": 8000, \"frames\": 1000}\\n' + bytes(12))")
    with pytest.raises(audio.AudioError, match="cut-off"):
        safe_decode.decode_untrusted(_wav(), timeout=20)
