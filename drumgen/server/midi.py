"""The MIDI controller relay: note events from a mido input, read in a thread, fanned out to /ws/midi clients."""

from __future__ import annotations

import asyncio
import logging
import threading

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from drumgen.server.deps import _services

log = logging.getLogger("drumgen.server")
router = APIRouter(tags=["midi"])


class MidiHub:
    """Reads `relay.receive(timeout)` (a drumgen.io.midi_input.MidiRelay, or None) in a thread and hands each event to
    every subscribed WebSocket's queue on the event loop."""

    def __init__(self, relay=None):
        self.relay = relay
        self.subscribers: set[asyncio.Queue] = set()
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.relayed = 0

    @property
    def name(self) -> str | None:
        return None if self.relay is None else self.relay.name

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if self.relay is not None:
            self._thread = threading.Thread(target=self._pump, name="drumgen-midi", daemon=True)
            self._thread.start()

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                event = self.relay.receive(timeout=0.1)
            except Exception:
                log.exception("the MIDI input failed; relay stopped")
                return
            if event is not None and self._loop is not None:
                self.relayed += 1
                self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: dict) -> None:
        for q in list(self.subscribers):
            if q.qsize() < 256:  # a client that stopped reading drops notes rather than growing memory
                q.put_nowait(event)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        if self.relay is not None:
            self.relay.close()


@router.websocket("/ws/midi")
async def midi_events(websocket: WebSocket) -> None:
    hub: MidiHub = _services(websocket).midi
    await websocket.accept()
    q: asyncio.Queue = asyncio.Queue()
    hub.subscribers.add(q)
    await websocket.send_json({"type": "hello", "input": hub.name})
    receiver = asyncio.ensure_future(websocket.receive())  # notices the client leaving
    try:
        while True:
            getter = asyncio.ensure_future(q.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                msg = receiver.result()
                if msg["type"] == "websocket.disconnect":
                    return
                receiver = asyncio.ensure_future(websocket.receive())  # clients have nothing to say; ignore it
                if getter.cancelled() or not getter.done():
                    continue
            await websocket.send_json(getter.result())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.subscribers.discard(q)
        receiver.cancel()
