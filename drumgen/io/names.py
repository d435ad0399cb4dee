"""Names from users and clients made safe: one rule for every file name drumgen builds (kit WAVs, training uploads,
installed models) and one for every name it shows or writes into a text format (SFZ, drumkit.xml, a pad's name).
A client's name never becomes a path without passing `safe_part`."""

from __future__ import annotations

import re
import unicodedata

# Windows refuses these as file or folder names, whatever the case or extension.
WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                              *(f"lpt{i}" for i in range(10))})


def safe_part(name: object, fallback: str = "file", limit: int = 48, lower: bool = False) -> str:
    """One path component made only of [A-Za-z0-9_-] (accents folded, other runs -> '_', words kept so labels in
    names survive), at most `limit` characters, never empty (then `fallback`), never '.', '..' or a leading '-',
    never a Windows device name such as 'nul' or 'COM1' (those get a trailing '_'). `lower` lowercases it."""
    cleaned = _slug(name, limit, lower) or _slug(fallback, limit, lower) or "file"
    return f"{cleaned}_" if cleaned.lower() in WINDOWS_RESERVED else cleaned


def _slug(s: object, limit: int, lower: bool) -> str:
    text = unicodedata.normalize("NFKD", s if isinstance(s, str) else "").encode("ascii", "ignore").decode()
    text = text.lower() if lower else text
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")[: max(1, limit)].strip("_-")


def display_text(s: object, default: str, limit: int = 64) -> str:
    """A name fit for XML, SFZ comments and the page: printable characters only (no surrogates, no newlines),
    stripped, at most `limit` of them; `default` when nothing is left."""
    text = s if isinstance(s, str) else ""
    text = "".join(c for c in text if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF).strip()[:limit]
    return text or default
