"""The hits of a loop, named and grouped: each onset's slices -> tagged hits -> at most 8 pads with distinct notes.

Each hit is named by the shipped tagger: the full slice for the hit that owns the onset, the band-filtered slice
(choosing only among that band's classes) for a second one (a low or high band the first one's class does not
explain). Hits of one class are grouped by drumgen.eval.metrics.embed (average linkage); each pad keeps the hit
nearest its group's centre among the longer slices, and takes its class's General MIDI note (drumgen.pads),
distinct notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from drumgen.eval import metrics
from drumgen.io import audio
from drumgen.pads import GM_DRUMS

if TYPE_CHECKING:
    from drumgen.models.tagger import Tagger

MAX_PADS = 8
# the classes each analysis band (drumgen.loop.onsets.BANDS) names, and the band that measures each class's level
BAND_CLASSES = {"low": ("kick", "tom"), "mid": ("snare", "clap", "tom", "perc"), "high": ("hihat", "cymbal")}
CLASS_BAND = {"kick": "low", "tom": "low", "snare": "mid", "clap": "mid", "perc": "mid", "hihat": "high",
              "cymbal": "high"}
# the bands a class accounts for: another band attacking at its onset is a second hit (a snare owns its highs)
OWNS = {"kick": ("low",), "tom": ("low", "mid"), "snare": ("mid", "high"), "clap": ("mid", "high"),
        "perc": ("mid", "high"), "hihat": ("high",), "cymbal": ("high", "mid")}
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
    onset: int  # index of its onset
    band: str  # the band that names it
    label: str = ""
    level: float = 0.0  # dB in its class's band
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


def slice_of(x: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    """x [T] at `rate` from `start` to `end` (s), faded out over its last 10 ms (a quarter of it when shorter)."""
    a, b = int(start * rate), min(x.size, int(end * rate))
    s = x[a:b].astype(np.float32)
    return audio.fade_out(s, rate, min(0.01, s.size / rate / 4)) if s.size > 8 else s


def tag(active: list[list[str]], slices: dict[str, list[np.ndarray]], rate: int, model: Tagger) -> list[Hit]:
    """Each onset's full slice named by the tagger, plus a hit for a low or high band its class does not explain
    (named from that band's slice, among that band's classes)."""
    from drumgen.engine import tagging as tagger

    labels = list(model.labels)
    probs = tagger.predict_proba(model, _padded(slices["full"]), rate)
    hits = []
    for k, p in enumerate(probs):
        main = Hit(k, "full", labels[int(np.argmax(p))], audio=slices["full"][k])
        hits.append(main)
        hits.extend(Hit(k, b, audio=slices["full"][k]) for b in ("low", "high")
                    if b in active[k] and b not in OWNS.get(main.label, ()))
    extra = [h for h in hits if h.band != "full"]
    if extra:
        p2 = tagger.predict_proba(model, _padded([h.audio for h in extra]), rate)
        for h, p in zip(extra, p2, strict=True):
            h.label = max((c for c in BAND_CLASSES[h.band] if c in labels), key=lambda c: p[labels.index(c)])
    return hits


def group_pads(hits: list[Hit], rate: int) -> tuple[list[Pad], list[int]]:
    """Group hits by class, then by embedding; -> pads (at most 8) and the pad of each hit."""
    from scipy.cluster.hierarchy import fcluster, linkage

    emb = metrics.embed(_padded([h.audio for h in hits]), rate)
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
    while len(groups) > MAX_PADS:  # fold the smallest group into the nearest of its class (else the nearest)
        small = groups.pop()
        centre = emb[small].mean(axis=0)
        same = [g for g in groups if hits[g[0]].label == hits[small[0]].label] or groups
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
