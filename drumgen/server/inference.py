"""Inference off the event loop: admission (bounded queue -> 503), batching of concurrent sample requests, and
the sound store (an LRU of audio by bytes, plus an LRU of sound identities so evicted audio is re-created).

Everything here except the model calls runs on the event loop thread, so the counters need no locks; model calls
run in one thread of their own (`settings.workers`, 1), which alone starts torch's intra-op threads: once a second
thread has run torch ops in parallel, GNU OpenMP (which torch uses) has more threads than cores and stops letting
idle ones spin, so every parallel op waits for its workers to wake. Measured on 2 cores: a 1M-element add from 52
to 180 us, a 48-hit autoencoder batch from 200 to 290-320 ms. The engine is built the same way (`off_thread`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from drumgen.engine.engine import Engine, EngineError, Sound
from drumgen.eval import pictures
from drumgen.io import audio
from drumgen.server.settings import Settings

log = logging.getLogger("drumgen.server")


def off_thread(fn: Callable[[], Any]) -> Any:
    """fn() run in a thread of its own that then exits, its result returned: the torch intra-op threads that
    building an engine starts go with it, so the model thread's are the only ones (the module docstring)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # raised again in the caller's thread
            box["error"] = e

    thread = threading.Thread(target=run, name="drumgen-load")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class Busy(Exception):
    """The inference queue is full: the client should retry after `retry_after` seconds."""

    def __init__(self, retry_after: int = 1):
        self.retry_after = retry_after
        super().__init__("the server is busy generating sounds for other requests; retry in a moment")


# one sample request as the engine's sample_batch takes it: (n, seed, label or one label per sound)
Request = tuple[int, int | None, str | list[str | None] | None]


class SoundGone(EngineError):
    """A sound id the server no longer knows (evicted or from before a restart)."""


@dataclasses.dataclass
class Known:
    """What the store keeps about a sound for as long as it can: enough to re-create its audio."""

    sound: Sound  # .audio is an empty array here; the audio lives in the audio LRU
    peak: np.ndarray  # [64] float32 waveform overview
    duration: float

    @property
    def recreatable(self) -> bool:
        return self.sound.origin != "upload"


class LRU:
    """An ordered dict bounded by the summed size of its values."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.bytes = max_bytes, 0
        self._items: collections.OrderedDict[str, tuple[Any, int]] = collections.OrderedDict()

    def get(self, key: str) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: str, value: Any, size: int) -> None:
        if key in self._items:
            self.bytes -= self._items.pop(key)[1]
        self._items[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, (_, old) = self._items.popitem(last=False)
            self.bytes -= old

    def __len__(self) -> int:
        return len(self._items)


class SoundStore:
    def __init__(self, settings: Settings):
        self.audio = LRU(int(settings.cache_mb * 1e6))
        self.known = LRU(int(settings.meta_mb * 1e6))
        self.recreated = 0

    def add(self, sound: Sound) -> Known:
        before = self.known.get(sound.id)
        if sound.heard is None and before is not None:  # the same sound again: what the tagger heard stays
            sound = dataclasses.replace(sound, heard=before.sound.heard)
        clip = sound.clip()  # what the pad plays: the waveform and the length the page shows
        known = Known(dataclasses.replace(sound, audio=np.zeros(0, np.float32)),
                      np.asarray(pictures.waveform_peaks(clip), np.float32), round(clip.size / sound.sample_rate, 4))
        sid = sound.id
        self.known.put(sid, known, sound.latent.nbytes + known.peak.nbytes + 1500)  # + objects' overhead
        self.audio.put(sid, sound.audio, sound.audio.nbytes + 200)
        return known

    def lookup(self, sid: str) -> Known:
        known = self.known.get(sid)
        if known is None:
            raise SoundGone(f"unknown sound {sid!r}: it was never made here or has expired; re-create it from its "
                            f"model and latent with POST /api/decode")
        return known

    def audio_of(self, sid: str) -> np.ndarray | None:
        return self.audio.get(sid)

    def wav_of(self, sid: str) -> bytes | None:
        return self.audio.get(sid + ".wav")

    def add_wav(self, sid: str, data: bytes) -> None:
        """Encoded WAVs share the audio budget: a kit's pads are fetched again and again by the drum machine."""
        self.audio.put(sid + ".wav", data, len(data) + 200)


class Inference:
    """The only way routes reach model code."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine, self.settings = engine, settings
        self.store = SoundStore(settings)
        self.executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="drumgen-infer")
        self.inflight = 0
        self._pending: dict[str, list[tuple[Request, asyncio.Future]]] = {}
        self._busy: set[str] = set()  # models with a batch decoding now
        self.batches = 0  # decode calls for /api/sample
        self.sampled = 0  # sample requests served by them (sampled / batches = requests per batch)

    @contextlib.contextmanager
    def admit(self):
        """Count a request against the queue bound for as long as it waits for or runs model code."""
        if self.inflight >= self.settings.max_queue:
            raise Busy()
        self.inflight += 1
        try:
            yield
        finally:
            self.inflight -= 1

    async def call(self, fn: Callable, *args, **kwargs) -> Any:
        """Run fn(*args, **kwargs) in the inference pool, counted against the queue bound."""
        with self.admit():
            return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, **kwargs),
                                                                    *args)

    # -- batched sampling --------------------------------------------------------------------------------
    async def sample(self, model: str, n: int, seed: int | None,
                     label: str | list[str | None] | None) -> list[Known]:
        """New sounds. Requests for one model wait together: the first waits the batch window, and while a
        model decodes, every request that arrives joins the next batch (one decode call per model at a time)."""
        self.engine.get(model)  # unknown model: 404 now, not inside someone else's batch
        with self.admit():
            loop = asyncio.get_running_loop()
            fut: asyncio.Future = loop.create_future()
            queue = self._pending.setdefault(model, [])
            queue.append(((n, seed, label), fut))
            if model not in self._busy:
                if len(queue) == 1:
                    loop.call_later(self.settings.batch_window_ms / 1000, self._flush, model)
                elif sum(r[0] for r, _ in queue) >= self.settings.max_batch:
                    self._flush(model)
            sounds = await fut
        return [self.store.add(s) for s in sounds]

    def _flush(self, model: str) -> None:
        if model in self._busy:
            return  # the running batch flushes what waits when it ends
        queue = self._pending.get(model, [])
        batch: list[tuple[Request, asyncio.Future]] = []
        total = 0
        while queue and (not batch or total + queue[0][0][0] <= self.settings.max_batch):
            item = queue.pop(0)
            batch.append(item)
            total += item[0][0]
        if batch:
            self._busy.add(model)
            asyncio.ensure_future(self._run_batch(model, batch))

    async def _run_batch(self, model: str, batch: list) -> None:
        try:
            await self._decode_batch(model, batch)
        finally:
            self._busy.discard(model)
            if self._pending.get(model):
                self._flush(model)

    async def _decode_batch(self, model: str, batch: list) -> None:
        loop = asyncio.get_running_loop()
        self.batches += 1
        try:
            results = await loop.run_in_executor(self.executor, self._sample_and_encode, model,
                                                 [r for r, _ in batch])
        except Exception as e:
            if len(batch) > 1 and isinstance(e, EngineError):
                # one bad request (a label the model lacks) must not fail its neighbours: run them one by one
                for item in batch:
                    await self._decode_batch(model, [item])
                return
            if not isinstance(e, EngineError):
                log.exception("sampling %s failed", model)
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(e)
            return
        self.sampled += len(batch)
        for (_, fut), sounds in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(sounds)

    def _sample_and_encode(self, model: str, requests: list[Request]) -> list[list[Sound]]:
        """One decode for the batch, and each sound's WAV made in the same pool job: the drum machine asks for a
        kit's WAVs inline, and other clients fetch them as soon as they have the ids. A class-conditional model's sounds skip the tagger here (the
        asked class names them; POST /api/heard gives the tagger's hint when the page asks); an unconditional
        model's sounds are tagged now, since the page arranges them on pads by what they sound like."""
        hear = not self.engine.get(model).config.labels
        results = self.engine.sample_batch(model, requests, hear=hear)
        for sounds in results:
            for s in sounds:
                if self.store.wav_of(s.id) is None:
                    self.store.add_wav(s.id, audio.wav_bytes(s.clip(), s.sample_rate, rate=s.sample_rate))
        return results

    async def heard(self, ids: list[str]) -> dict[str, str | None]:
        """The tagger's class for each sound id (one batched pass over those not yet tagged), kept on the sound."""
        known = {sid: self.store.lookup(sid) for sid in ids}
        todo = [sid for sid, k in known.items() if k.sound.heard is None and k.sound.origin != "upload"]
        if todo and self.engine.tagger is not None:
            sounds = [await self.sound(sid) for sid in todo]
            by_rate: dict[int, list[int]] = {}
            for i, snd in enumerate(sounds):
                by_rate.setdefault(snd.sample_rate, []).append(i)
            for rate, idx in by_rate.items():
                width = max(sounds[i].audio.size for i in idx)
                x = np.stack([np.pad(sounds[i].audio, (0, width - sounds[i].audio.size)) for i in idx])
                for i, h in zip(idx, await self.call(self.engine.hear, x, rate), strict=True):
                    known[todo[i]].sound.heard = h
        return {sid: k.sound.heard for sid, k in known.items()}

    # -- sounds by id ---------------------------------------------------------------------------------------
    async def sound(self, sid: str) -> Sound:
        """The sound with its audio; audio evicted from the cache is re-created from model and latent."""
        known = self.store.lookup(sid)
        x = self.store.audio_of(sid)
        if x is None:
            if not known.recreatable:
                raise SoundGone(f"the uploaded sound {sid!r} has expired from the cache; upload it again")
            s = known.sound
            fresh = await self.call(self.engine.decode, s.model, s.latent, s.label, s.origin)
            self.store.recreated += 1
            self.store.add(fresh)
            x = fresh.audio
        return dataclasses.replace(known.sound, audio=x)

    async def wav(self, sid: str, rate: int | None = None) -> bytes:
        """The sound as a 16-bit WAV file at its model's own rate (a 22.05 kHz model's WAV says it holds nothing
        above 11 kHz), or resampled to `rate`; encoded once per rate and cached."""
        key = sid if rate is None else f"{sid}@{rate}"
        data = self.store.wav_of(key)
        if data is None:
            s = await self.sound(sid)
            data = await self.call(audio.wav_bytes, s.clip(), s.sample_rate, 16, rate or s.sample_rate)
            self.store.add_wav(key, data)
        return data

    async def add(self, sound: Sound) -> Known:
        return self.store.add(sound)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
