"""MIDI controller input for the server's /ws/midi relay: a mido input port as plain note dicts.

`MidiRelay` turns a mido input port (a hardware controller through python-rtmidi, or any `mido.ports.BaseInput`)
into {"type", "note", "velocity", "channel"} dicts that the server forwards to browsers, which play the pad whose
note matches (drumgen.pads is the note map). python-rtmidi is optional (`pip install drumgen[midi]`): without it,
or without MIDI ports, opening a port raises `MidiUnavailable` and everything else still works.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import mido
from mido.ports import BaseInput


class MidiUnavailable(RuntimeError):
    """No MIDI input could be opened (python-rtmidi missing, no ALSA sequencer, or no such port)."""


def message_to_event(msg: mido.Message) -> dict[str, int | str] | None:
    """A note message as {"type": "note_on"|"note_off", "note", "velocity", "channel"}; None for anything else.

    A note_on with velocity 0 is a note_off (running-status controllers send those).
    """
    if msg.type not in ("note_on", "note_off"):
        return None
    kind = "note_on" if msg.type == "note_on" and msg.velocity > 0 else "note_off"
    return {"type": kind, "note": int(msg.note), "velocity": int(msg.velocity), "channel": int(msg.channel)}


def input_names() -> list[str]:
    """Names of the MIDI inputs on this machine. Raises MidiUnavailable without python-rtmidi or a MIDI system."""
    try:
        return list(mido.get_input_names())
    except Exception as e:  # ImportError without rtmidi; rtmidi's SystemError without an ALSA sequencer
        raise MidiUnavailable(_unavailable(e)) from None


def _unavailable(e: Exception) -> str:
    if isinstance(e, ImportError):
        return ("MIDI input needs python-rtmidi: pip install 'drumgen[midi]' (building it needs the ALSA headers, "
                f"apt install libasound2-dev) ({e})")
    return f"no MIDI system is available on this machine ({type(e).__name__}: {e})"


class MidiRelay:
    """Note events from a mido input port, as dicts, without threads of its own.

    Give it any `mido.ports.BaseInput` (a hardware port, a `QueueInput` in tests) or use `MidiRelay.open(name)`.
    The server calls `receive(timeout)` in a worker thread and forwards each dict over a WebSocket; `poll()` and
    `iter_pending()` never block.
    """

    def __init__(self, port: BaseInput):
        if not isinstance(port, BaseInput):
            raise TypeError(f"MidiRelay needs a mido input port, got {type(port).__name__}")
        self.port = port

    @classmethod
    def open(cls, name: str | None = None) -> MidiRelay:
        """Open the named input (None: the system's default). Raises MidiUnavailable listing the inputs there are."""
        names = input_names()
        if name is not None and name not in names:
            known = ", ".join(repr(n) for n in names) or "none"
            raise MidiUnavailable(f"no MIDI input named {name!r}; inputs on this machine: {known}")
        try:
            return cls(mido.open_input(name))
        except Exception as e:
            raise MidiUnavailable(f"could not open MIDI input {name!r}: {_unavailable(e)}") from None

    @property
    def name(self) -> str:
        return str(self.port.name)

    def poll(self) -> dict[str, int | str] | None:
        """The next pending note event, or None; non-note messages (clock, CC, sysex) are skipped."""
        while True:
            msg = self.port.poll()
            if msg is None:
                return None
            event = message_to_event(msg)
            if event is not None:
                return event

    def iter_pending(self) -> Iterator[dict[str, int | str]]:
        """Every note event pending now."""
        while (event := self.poll()) is not None:
            yield event

    def receive(self, timeout: float | None = None, interval: float = 0.001) -> dict[str, int | str] | None:
        """Wait up to `timeout` seconds (None: forever) for a note event; None on timeout or when the port closed.

        Polls every `interval` seconds rather than blocking inside mido, so a caller's stop flag is honoured within
        `timeout` and a closed port never hangs the thread.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            event = self.poll()
            if event is not None:
                return event
            if self.port.closed or (deadline is not None and time.monotonic() >= deadline):
                return None
            time.sleep(interval)

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> MidiRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
