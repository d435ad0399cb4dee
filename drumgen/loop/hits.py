"""The hits of a loop, named and grouped: Events -> one or two hits each -> named hits -> at most 8 pads.

An event holds a hit below 5 kHz (a kick, snare, tom, clap or perc: its "body"), a hat or cymbal above 6 kHz (its
"top"), or both. They are told apart against the loop's own hat, as drum-replacement tools separate hits against
templates: the hat template is the median patch (energy per EDGES band in 0-10, 10-30 and 30-60 ms) of the events
the tagger calls a hat whose body bands hold the least against their top bands. At each event the largest copy of
it that the top bands hold everywhere is taken (a snare's wires, which fill those bands unevenly, never pass for a
loud hat); the event has a top when that copy explains most of its top bands at a level the loop's hats reach, and
a body when the bands below 5 kHz keep most of their energy once the copy's own lower spectrum is taken off. A
kick and a hat on one step so come back as two hits, each at its own band's onset.

The tagger names the hits: a body from its slice low-passed at 5 kHz (running on to the next event with a body, so
the hats between are filtered out), among kick and tom where its low band attacks about as loud as its mid band,
among snare, clap, perc and tom where it does not; a top on a body is the loop's hat; a single top is named among
the top classes and perc, and an event the template does not speak for from its whole slice. Hits of one class are
grouped by drumgen.eval.metrics.embed of their first GROUP_MS (average linkage) into at most 8 pads; each keeps the
hit nearest its group's centre among the longer slices and takes its class's General MIDI note (drumgen.pads),
distinct notes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from drumgen.eval import metrics
from drumgen.io import audio
from drumgen.loop.onsets import FRAME, RATE, Events
from drumgen.pads import GM_DRUMS

if TYPE_CHECKING:
    from drumgen.models.tagger import Tagger

MAX_PADS = 8  # more than the 7 classes: a class never has to share a pad
GROUP_MS = 60  # hits are grouped into pads by their first this many ms
BODY = ("kick", "snare", "tom", "clap", "perc")  # the classes a hit below 5 kHz can be
TOP = ("hihat", "cymbal")  # ... above 6 kHz
BODY_HZ, TOP_HZ = 5000.0, 6000.0
# the band that measures each class's level (drumgen.loop.onsets.BANDS)
CLASS_BAND = {"kick": "low", "tom": "low", "snare": "mid", "clap": "mid", "perc": "mid", "hihat": "high",
              "cymbal": "high"}
BODY_BANDS, TOP_BANDS = slice(0, 7), slice(8, 11)  # drumgen.loop.onsets.EDGES bands below 5 kHz, above 6 kHz
PATCH_MS = ((0, 10), (10, 30), (30, 60))  # an event's patch: these parts of its first 60 ms
TOP_SHARE = 0.5  # a hat is on an event when it explains this share of its top bands
HAT_FLOOR_DB = -15.0  # ... at a level within this of the loop's median hat
BODY_SHARE = 0.5  # a body hit is there when the hat leaves this share of the body bands unexplained
BODY_FLOOR_DB = -30.0  # ... within this of the loop's loud bodies
SILENT_PART = 10 ** (-50 / 20)  # a slice (or its part) this far below the loudest slice holds no hit
PURE_DB = 6.0  # the hat template's events (hat_template)
SHIFT_MS = (0, 3, 6, 9, 12)  # where after the high band's onset a hat is looked for
# a body whose mid band is at most LOW_BODY_DB[0] over its low band is a kick or a tom, one more than LOW_BODY_DB[1]
# over it (or with no low onset) a snare, clap, perc or tom (kicks measure -20..+12 dB, snares +14..+34, toms
# -13..+13 in the hydrogen-drumkits train kits)
LOW_BODY_DB = (6.0, 16.0)
MID_BODY = ("snare", "clap", "perc", "tom")
# distinct GM notes per class, the first is the class's own (drumgen.pads.GM_DRUMS)
NOTES = {"kick": (GM_DRUMS["kick"], 35), "snare": (GM_DRUMS["snare"], 40, 37), "hihat": (GM_DRUMS["hihat"], 46, 44),
         "tom": (GM_DRUMS["tom"], 47, 48, 50, 43, 41), "cymbal": (GM_DRUMS["cymbal"], 51, 57, 55, 52),
         "clap": (GM_DRUMS["clap"], 54), "perc": (GM_DRUMS["perc"], 54, 75, 76, 69, 70)}


@dataclass
class Pad:
    name: str
    label: str
    note: int
    audio: np.ndarray  # the most typical slice, at LoopResult.sample_rate
    hits: int


@dataclass
class Hit:
    onset: int  # index of its event
    part: str  # "full" (the event's only hit), "body" (below 5 kHz) or "top" (above 6 kHz)
    time: float  # s: its own band's onset
    label: str = ""
    level: float = 0.0  # dB in its class's band
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))



def slice_of(x: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    """x [T] at `rate` from `start` to `end` (s), faded out over its last 10 ms (a quarter of it when shorter)."""
    a, b = int(start * rate), min(x.size, int(end * rate))
    s = x[a:b].astype(np.float32)
    return audio.fade_out(s, rate, min(0.01, s.size / rate / 4)) if s.size > 8 else s


def part_slice(s: np.ndarray, rate: int, part: str) -> np.ndarray:
    """A slice as its body (low-passed at BODY_HZ) or its top (high-passed at TOP_HZ); "full" as it is."""
    from scipy.signal import butter, sosfilt

    if part == "full" or s.size < 16:
        return s
    hz = min(BODY_HZ if part == "body" else TOP_HZ, 0.45 * rate)
    sos = butter(4, hz, btype="lowpass" if part == "body" else "highpass", fs=rate, output="sos")
    return sosfilt(sos, s).astype(np.float32)


def patch(ev: Events, k: int, start: float, rows: slice = slice(None)) -> np.ndarray:
    """[bands, 3]: event k's energy per EDGES band (`rows` of them) in 0-10, 10-30 and 30-60 ms after `start`,
    less what rang in the 3 ms before (nan for the parts after the next event)."""
    spec = ev.spec[rows]
    out = np.full((spec.shape[0], len(PATCH_MS)), np.nan)
    end = ev.time[k + 1] if k + 1 < len(ev) else np.inf
    i = int(round(start * RATE / FRAME))
    n = int(min(PATCH_MS[-1][1], (end - start) * RATE / FRAME - 1, spec.shape[1] - i))
    if n < 1:
        return out
    pre = spec[:, i - 4:i - 1].mean(axis=1, keepdims=True) if i >= 4 else 0.0
    v = np.maximum(spec[:, i:i + n] - pre, 0.0)
    for j, (a, b) in enumerate(PATCH_MS):
        if a < n:
            out[:, j] = v[:, a:b].sum(axis=1)
    return out


@dataclass
class HatTemplate:
    """The loop's own hat: its patch [bands, 3] scaled to 1 in the top bands' first 30 ms, that energy of the
    median hat, and what the tagger called those hats."""

    w: np.ndarray
    level: float
    label: str

    def fit(self, v: np.ndarray, top: np.ndarray | None = None) -> tuple[float, float, float]:
        """An event's patch (and its top bands' from the high band's onset) -> (a: the hat's energy in it, the
        hat's share of the top bands' first 30 ms, the share of the body bands the hat leaves unexplained). a is
        the largest hat the top bands hold in every band and part, so a snare's wires, which fill them unevenly,
        never pass for a louder hat, and a hat's own lower spectrum comes off the body bands."""
        top = v[TOP_BANDS] if top is None else top
        early = np.isfinite(top[0]) & (np.arange(top.shape[1]) < 2)
        w_top, v_top = self.w[TOP_BANDS][:, early], top[:, early]
        sig = w_top > 0.02 * w_top.max() if w_top.size else np.zeros(w_top.shape, bool)
        if not sig.any():
            return 0.0, 0.0, 1.0
        a = float(np.min(v_top[sig] / w_top[sig]))
        share = a * float(w_top.sum()) / (float(v_top.sum()) + 1e-20)
        ok = np.isfinite(v[0])
        body = v[BODY_BANDS][:, ok]
        left = np.maximum(body - a * self.w[BODY_BANDS][:, ok], 0.0)
        return a, share, float(left.sum()) / (float(body.sum()) + 1e-20)


def hat_template(p: np.ndarray, full_labels: list[str]) -> HatTemplate | None:
    """From the events (patches p [N, bands, 3]) the tagger calls a hat or cymbal, the purest: those whose body
    bands hold at most PURE_DB more, against their top bands, than the least such event's (one hat at any
    velocity keeps its balance; a kick or a snare under it tips it). Their median patch; None with fewer than
    two."""
    ix = [k for k, c in enumerate(full_labels) if c in TOP and np.isfinite(p[k, 0, 1])]
    top = np.array([np.nansum(p[k, TOP_BANDS, :2]) for k in ix])
    body = np.array([np.nansum(p[k, BODY_BANDS]) for k in ix])
    ix, top, body = [k for k, e in zip(ix, top, strict=True) if e > 0], top[top > 0], body[top > 0]
    if len(ix) < 2:
        return None
    balance = 10 * np.log10((body + 1e-20) / top)
    pure = balance <= balance.min() + PURE_DB
    if pure.sum() < 2:
        pure = balance <= np.sort(balance)[1]
    with warnings.catch_warnings():  # a part after every one's next event is nan: no template there
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = np.nanmedian(p[np.array(ix)[pure]] / top[pure, None, None], axis=0)
    names = [full_labels[k] for k in np.array(ix)[pure]]
    return HatTemplate(np.where(np.isfinite(rows), rows, 0.0), float(np.median(top[pure])),
                       max(set(names), key=names.count))


def split(ev: Events, full_labels: list[str]) -> tuple[list[tuple[str, ...]], dict[int, float], str]:
    """-> per event its hits' parts (("full",), ("body",), ("top",) or ("body", "top")), the onset of each
    event's top hit, and the name of the loop's hat. `full_labels`: the tagger's name for each event's whole
    slice (it picks the loop's hat events for the template)."""
    p = np.stack([patch(ev, k, ev.time[k]) for k in range(len(ev))])
    t = hat_template(p, full_labels)
    if t is None:
        return [("full",)] * len(ev), {}, ""
    body_e = np.nansum(p[:, BODY_BANDS, :], axis=(1, 2))
    has_body = np.array(["low" in ev.active(k) or "mid" in ev.active(k) for k in range(len(ev))])
    loud = float(np.percentile(body_e[has_body], 90)) if has_body.any() else 0.0
    out: list[tuple[str, ...]] = []
    top_time: dict[int, float] = {}
    for k in range(len(ev)):
        a, share, left, when = 0.0, 0.0, 1.0, float(ev.time[k])
        high = ev.band_time["high"][k]
        if np.isfinite(high):
            # the hat may start up to a few ms after the kick or snare whose highs began the high band's onset
            fits = [(t.fit(p[k], patch(ev, k, high + d / 1000, TOP_BANDS)), high + d / 1000) for d in SHIFT_MS]
            (a, share, left), when = max(fits, key=lambda f: f[0][0] * min(f[0][1], 1.0))
        top = np.isfinite(high) and share >= TOP_SHARE and a >= t.level * 10 ** (HAT_FLOOR_DB / 10)
        body = bool(has_body[k]) and left >= BODY_SHARE and left * body_e[k] >= loud * 10 ** (BODY_FLOOR_DB / 10)
        if top:
            top_time[k] = when
        out.append(("body", "top") if top and body else ("top",) if top else ("body",) if body else ("full",))
    return out, top_time, t.label


def hit_time(ev: Events, k: int, part: str) -> float:
    """A hit's onset: the high band's for a top, the earlier of the low and mid bands' for a body."""
    bands = {"top": ("high",), "body": ("low", "mid")}.get(part, ())
    t = [ev.band_time[b][k] for b in bands if np.isfinite(ev.band_time[b][k])]
    return float(min(t)) if t else float(ev.time[k])


def tag_slices(slices: list[np.ndarray], rate: int, model: Tagger) -> list[str]:
    """The tagger's name for each slice."""
    from drumgen.engine import tagging as tagger

    probs = tagger.predict_proba(model, _padded(slices), rate)
    return [model.labels[int(i)] for i in probs.argmax(axis=1)]


def tag(ev: Events, parts: list[tuple[str, ...]], top_time: dict[int, float], hat: str,
        slices: dict[str, list[np.ndarray]], rate: int, model: Tagger) -> list[Hit]:
    """The hits of each event (split's parts), named. A top on a body is the loop's hat (`hat`, its template's
    name); a top alone is named by the tagger among the top classes and perc. A body is named from its slice
    low-passed (to the next event with a body: a hat between is filtered out, a snare's wires are not a hat),
    among kick and tom where its low band attacks about as loud as its mid band, else among snare, clap, perc
    and tom. `slices`: "full" (onset to the next event) and "body" (to the next body) per event."""
    from drumgen.engine import tagging as tagger

    labels = list(model.labels)
    hits, heard = [], []
    loudest = max((float(np.abs(s).max()) for s in slices["full"] if s.size), default=0.0)
    for k, ps in enumerate(parts):
        for p in ps:
            when = top_time.get(k, float(ev.time[k])) if p == "top" else hit_time(ev, k, p)
            s = slices["full"][k]
            x = s if len(ps) == 1 else part_slice(s, rate, p)
            if not x.size or float(np.abs(x).max()) <= loudest * SILENT_PART:
                continue  # nothing sounds there (an onset in digital silence, or at the loop's very end)
            hits.append(Hit(k, p, when, audio=x))
            heard.append(part_slice(slices["body"][k], rate, "body") if p == "body" else s)
    if not hits:
        return hits
    probs = tagger.predict_proba(model, _padded(heard), rate)
    for h, pr in zip(hits, probs, strict=True):
        if h.part == "top" and len(parts[h.onset]) > 1 and hat in labels:
            h.label = hat
            continue
        allowed: tuple[str, ...] = tuple(labels)
        if h.part == "top":
            allowed = TOP + ("perc",)
        elif h.part == "body":
            over = ev.level["mid"][h.onset] - ev.level["low"][h.onset] if "low" in ev.active(h.onset) else np.inf
            allowed = ("kick", "tom") if over <= LOW_BODY_DB[0] else BODY if over <= LOW_BODY_DB[1] else MID_BODY
        h.label = max((c for c in allowed if c in labels), key=lambda c: pr[labels.index(c)], default=labels[0])
    return hits


def group_pads(hits: list[Hit], rate: int) -> tuple[list[Pad], list[int]]:
    """Group hits by class, then by embedding; -> pads (at most 8) and the pad of each hit. Hits are compared
    over their first GROUP_MS (a slice's length is where the next hit came, not part of its sound)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = int(GROUP_MS / 1000 * rate)
    emb = metrics.embed(_padded([audio.fade_out(h.audio[:n], rate, 0.005) for h in hits]), rate)
    groups: list[list[int]] = []
    by_class: dict[str, list[int]] = {}
    for i, h in enumerate(hits):
        by_class.setdefault(h.label, []).append(i)
    centres = {c: emb[ix].mean(axis=0) for c, ix in by_class.items()}
    between = [float(np.linalg.norm(a - b)) for i, a in enumerate(centres.values())
               for j, b in enumerate(centres.values()) if i < j]
    spread = float(np.median(np.linalg.norm(emb - emb.mean(0), axis=1)))
    limit = (min(between) if between else spread) + 1e-6
    for ix in by_class.values():
        if len(ix) < 4:
            groups.append(ix)
            continue
        z = fcluster(linkage(emb[ix], "average"), t=limit, criterion="distance")
        groups.extend([[ix[j] for j in np.flatnonzero(z == g)] for g in np.unique(z)])
    groups.sort(key=len, reverse=True)
    while len(groups) > MAX_PADS:  # fold the smallest group that has one of its class into the nearest of those
        labels = [hits[g[0]].label for g in groups]
        small = groups.pop(max(i for i, c in enumerate(labels) if labels.count(c) > 1))
        centre = emb[small].mean(axis=0)
        same = [g for g in groups if hits[g[0]].label == hits[small[0]].label]
        min(same, key=lambda g: float(np.linalg.norm(emb[g].mean(axis=0) - centre))).extend(small)
    pads: list[Pad] = []
    pad_of, used = [0] * len(hits), set()
    for k, g in enumerate(groups):
        label = hits[g[0]].label
        note = next((n for n in NOTES.get(label, ()) if n not in used), None)
        note = note if note is not None else next(n for n in range(35, 82) if n not in used)
        used.add(note)
        centre = emb[g].mean(axis=0)
        long_enough = [i for i in g if hits[i].audio.size >= np.median([hits[j].audio.size for j in g])]
        best = min(long_enough, key=lambda i: float(np.linalg.norm(emb[i] - centre)))
        n_of_class = sum(1 for p in pads if p.label == label)
        name = label if n_of_class == 0 else f"{label}_{n_of_class + 1}"
        pads.append(Pad(name, label, note, audio.normalize(hits[best].audio), len(g)))
        for i in g:
            pad_of[i] = k
    return pads, pad_of


def _padded(slices: list[np.ndarray]) -> np.ndarray:
    n = max((s.size for s in slices), default=1)
    out = np.zeros((len(slices), max(n, 1)), np.float32)
    for i, s in enumerate(slices):
        out[i, : s.size] = s
    return out


_TAGGER: Tagger | None = None


def default_tagger() -> Tagger:
    """The shipped tagger (checkpoints/tagger), loaded once by path (not through a server's engine)."""
    global _TAGGER
    if _TAGGER is None:
        from drumgen import checkpoint
        from drumgen.engine import tagging as tagger

        _TAGGER = tagger.load(checkpoint.default_dir() / "tagger")
    return _TAGGER
