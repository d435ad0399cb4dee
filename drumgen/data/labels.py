"""The seven drum classes and the keyword map that labels a hit from its file and folder names.

Names are split into lowercase words ("SnareRim_02.wav" -> snare, rim, 02; "BD-hard" -> bd, hard); the file name
is tried first, then its folders from the nearest up, so "kit/snares/bd_like.wav" is a kick. The first class whose
keyword matches wins; the order of KEYWORDS settles names that match two ("hat" before "ride" is irrelevant, but
"ride bell" must be a cymbal, not perc).
"""

from __future__ import annotations

import re
from pathlib import PurePath

CLASSES: tuple[str, ...] = ("kick", "snare", "hihat", "tom", "cymbal", "clap", "perc")

# Whole words that name a class. Order matters: earlier classes win when a name holds words of two.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "hihat": ("hihat", "hihats", "hh", "hat", "hats", "chh", "ohh", "phh", "chat", "ohat", "hatclosed",
              "hatopen", "closedhat", "openhat", "pedalhat"),
    "cymbal": ("cymbal", "cymbals", "crash", "ride", "china", "splash", "cym", "cy", "cr", "rd",
               "paiste", "zildjian", "sabian", "meinl"),  # cymbal makers: "Paiste Bell" is a ride bell
    "clap": ("clap", "claps", "handclap", "handclaps", "cp", "snap", "snaps", "clp"),
    "kick": ("kick", "kicks", "kik", "bd", "bassdrum", "kickdrum", "bass", "kck", "bdrum"),
    "snare": ("snare", "snares", "sd", "sn", "snr", "rim", "rimshot", "sidestick", "stick", "brush"),
    "tom": ("tom", "toms", "tomtom", "floortom", "hitom", "lotom", "midtom", "ht", "mt", "lt", "floor"),
    "perc": ("perc", "percussion", "cowbell", "bell", "clave", "claves", "shaker", "shake", "tamb", "tambourine",
             "conga", "congas", "bongo", "bongos", "woodblock", "block", "triangle", "cabasa", "guiro", "maraca",
             "maracas", "agogo", "timbale", "timbales", "cb", "cowb", "wood", "tabla", "djembe", "cajon", "fx",
             "whistle", "zap", "glass", "waterglass", "sangban", "kenkeni", "dununba", "dundun"),
}
# Multi-word names that must be matched before single words ("ride bell" is not a cowbell).
PHRASES: tuple[tuple[str, str], ...] = (
    ("ride bell", "cymbal"), ("bell ride", "cymbal"), ("hi hat", "hihat"), ("high hat", "hihat"),
    ("bass drum", "kick"), ("kick drum", "kick"), ("side stick", "snare"), ("floor tom", "tom"),
    ("hand clap", "clap"), ("wood block", "perc"), ("cow bell", "perc"),
)
# Hand drums are perc whatever else their name says: "Djembe Bass" and "Conga Low Tom" are not a kick or a tom.
HAND_DRUMS = frozenset({"djembe", "conga", "congas", "bongo", "bongos", "cajon", "tabla", "sangban", "kenkeni",
                        "dununba", "dundun", "timbale", "timbales"})
_WORD_TO_CLASS = {w: c for c, words in KEYWORDS.items() for w in words}


def words(name: str) -> list[str]:
    """Split a file or folder name into lowercase words at separators, camelCase and letter/digit boundaries."""
    name = re.sub(r"\.[A-Za-z0-9]{2,5}$", "", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    name = re.sub(r"([A-Za-z])([0-9])|([0-9])([A-Za-z])", r"\1\3 \2\4", name)
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def label_from_name(name: str) -> str | None:
    """The class named by one file or folder name, or None."""
    ws = words(name)
    joined = " ".join(ws)
    for phrase, cls in PHRASES:
        if re.search(rf"\b{phrase}\b", joined):
            return cls
    if HAND_DRUMS.intersection(ws):
        return "perc"
    hits = [_WORD_TO_CLASS[w] for w in ws if w in _WORD_TO_CLASS]
    if not hits:
        # Glued names such as "kickhard" or "snareroll": a keyword of 4+ letters at the start of a word.
        hits = [c for w in ws for c, kws in KEYWORDS.items() for k in kws if len(k) >= 4 and w.startswith(k)]
    if not hits:
        return None
    order = {c: i for i, c in enumerate(KEYWORDS)}
    return min(hits, key=order.__getitem__)


def label_from_path(path: str | PurePath, root: str | PurePath | None = None) -> str | None:
    """The class of a hit from its file name, else from its folders (nearest first, not above `root`)."""
    path = PurePath(path)
    parts = path.relative_to(root).parts if root is not None else path.parts
    for name in reversed(parts):
        cls = label_from_name(name)
        if cls is not None:
            return cls
    return None
