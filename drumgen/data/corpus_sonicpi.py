"""The drum one-shots of Debian's `sonic-pi-samples` package as corpus kits (drumgen.data.corpus.Source).

Sonic Pi ships ~170 samples from freesound.org, each with its author and licence in Debian's copyright file. The
class of each comes from SAMPLES, a table reviewed by hand (file -> class, or None with the reason it is left out):
names alone mislead ("drum_cymbal_closed" is a hi-hat, "perc_snap" a finger snap, "elec_blip" no drum at all).
Loops, ambient pads, basses, guitars, robots and effects are left out and listed with the reason. Each family of
names is one kit (sonicpi-drum, sonicpi-elec, ...); a file the table does not know is left out, not guessed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from drumgen.data.corpus import Candidate, CorpusError, Kit, Source

SAMPLES_DIR = "/usr/share/sonic-pi/samples"
COPYRIGHT = "/usr/share/doc/sonic-pi-samples/copyright"
# The synthetic electronic family is held out whole: its snares, kicks and toms are unlike the acoustic ones.
DEFAULT_HELDOUT = ("sonicpi-elec",)
DEFAULT_VALIDATION: tuple[str, ...] = ()

_LOOP = "a loop of many hits, not a one-shot"
_TONE = "a synth tone or blip, no drum class"
_FX = "a sound effect, not a drum hit"
# file stem -> class, or None and why it is left out. Reviewed by name, the Sonic Pi docs and each file's length.
SAMPLES: dict[str, str | tuple[None, str]] = {
    # drum_*: one acoustic kit (menegass), plus a heavy kick, a cowbell and a roll
    "drum_bass_hard": "kick", "drum_bass_soft": "kick", "drum_heavy_kick": "kick",
    "drum_snare_hard": "snare", "drum_snare_soft": "snare",
    "drum_tom_hi_hard": "tom", "drum_tom_hi_soft": "tom", "drum_tom_mid_hard": "tom", "drum_tom_mid_soft": "tom",
    "drum_tom_lo_hard": "tom", "drum_tom_lo_soft": "tom",
    # closed / pedal / open are the hi-hat (0.2, 0.3, 1.8 s); hard / soft are crash-like cymbals (1.6, 1.0 s)
    "drum_cymbal_closed": "hihat", "drum_cymbal_pedal": "hihat", "drum_cymbal_open": "hihat",
    "drum_cymbal_hard": "cymbal", "drum_cymbal_soft": "cymbal",
    "drum_splash_hard": "cymbal", "drum_splash_soft": "cymbal",
    "drum_cowbell": "perc", "drum_roll": (None, "a snare roll (6 s), not one hit"),
    # elec_*: electronic hits (looppool); the pitched blips and tones are no drum class
    "elec_soft_kick": "kick", "elec_hollow_kick": "kick",
    "elec_snare": "snare", "elec_hi_snare": "snare", "elec_mid_snare": "snare", "elec_lo_snare": "snare",
    "elec_filt_snare": "snare", "elec_fuzz_tom": "tom", "elec_cymbal": "cymbal",
    "elec_triangle": "perc", "elec_wood": "perc", "elec_tick": "perc", "elec_bell": "perc",
    "elec_beep": (None, _TONE), "elec_blip": (None, _TONE), "elec_blip2": (None, _TONE), "elec_blup": (None, _TONE),
    "elec_bong": (None, _TONE), "elec_chime": (None, _TONE), "elec_flip": (None, _TONE), "elec_ping": (None, _TONE),
    "elec_plip": (None, _TONE), "elec_pop": (None, _TONE), "elec_twang": (None, _TONE), "elec_twip": (None, _TONE),
    # bd_* / sn_*: single kicks and snares from many authors
    **{f"bd_{n}": "kick" for n in ("808", "ada", "boom", "fat", "gas", "haus", "klub", "mehackit", "pure", "sone",
                                   "tek", "zome", "zum")},
    **{f"sn_{n}": "snare" for n in ("dolf", "dub", "generic", "zome")},
    # perc_*: a mixed bag
    "perc_bell": "perc", "perc_bell2": "perc", "perc_snap": "clap", "perc_snap2": "clap",  # finger snaps
    "perc_swash": (None, "a short swish, class unclear"), "perc_door": (None, _FX), "perc_impact1": (None, _FX),
    "perc_impact2": (None, _FX), "perc_swoosh": (None, _FX), "perc_till": (None, "a cash register, " + _FX),
    "glitch_perc1": (None, "a glitch sound, class unclear"), "glitch_perc2": (None, "a glitch sound, class unclear"),
    "glitch_perc3": (None, "a glitch sound, class unclear"), "glitch_perc4": (None, "a glitch sound, class unclear"),
    "glitch_perc5": (None, "a glitch sound, class unclear"),
    # tabla_*: single tabla strokes (hand drum: perc)
    **{f"tabla_{n}": "perc" for n in ("dhec", "ghe1", "ghe2", "ghe3", "ghe4", "ghe5", "ghe6", "ghe7", "ghe8", "ke1",
                                      "ke2", "ke3", "na", "na_o", "na_s", "re", "tas1", "tas2", "tas3", "te1", "te2",
                                      "te_m", "te_ne", "tun1", "tun2", "tun3")},
}
# Whole families left out by their prefix.
FAMILIES_LEFT_OUT = {"loop_": _LOOP, "ambi_": "an ambient sound", "bass_": "a bass synth note",
                     "guit_": "a guitar", "mehackit_": "a phone or robot sound", "misc_": _FX, "vinyl_": _FX,
                     "glitch_bass": _TONE, "glitch_robot": "a robot voice"}
# Sonic Pi name family -> kit.
KITS = {"drum": "sonicpi-drum", "elec": "sonicpi-elec", "bd": "sonicpi-bd", "sn": "sonicpi-sn",
        "perc": "sonicpi-perc", "glitch": "sonicpi-perc", "tabla": "sonicpi-tabla"}


def sample_class(stem: str) -> tuple[str | None, str]:
    """A Sonic Pi file stem -> (class, "") or (None, why it is left out)."""
    entry = SAMPLES.get(stem)
    if isinstance(entry, str):
        return entry, ""
    if entry is not None:
        return None, entry[1]
    for prefix, why in FAMILIES_LEFT_OUT.items():
        if stem.startswith(prefix):
            return None, why
    return None, "not in drumgen's reviewed table of Sonic Pi samples"


def sample_credits(path: str | os.PathLike = COPYRIGHT) -> dict[str, tuple[str, str, str]]:
    """File stem -> (author, licence, source URL) from Debian's machine-readable copyright file (empty if absent)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out = {}
    for para in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:\s*(\S+\.flac)\s*$", para, re.M)
        if not files:
            continue
        holder = re.search(r"^Copyright:\s*(.+)$", para, re.M)
        lic = re.search(r"^License:\s*(.+)$", para, re.M)
        url = re.search(r"^Source:\s*(.+)$", para, re.M)
        author = re.sub(r"^\d{4}(-\d{4})?\s+", "", holder.group(1).strip()) if holder else ""
        out[Path(files.group(1)).stem] = (author, lic.group(1).strip() if lic else "",
                                          url.group(1).strip() if url else "")
    return out


def sonicpi_source(samples_dir: str | os.PathLike = SAMPLES_DIR,
                   copyright_file: str | os.PathLike | None = None) -> Source:
    """The labelled drum one-shots of `samples_dir`, one kit per name family (credits from `copyright_file`,
    default Debian's). Raises CorpusError if there are none."""
    files = sorted(Path(samples_dir).glob("*.flac"))
    if not files:
        raise CorpusError(f"no Sonic Pi samples under {samples_dir}; install them with "
                          "`apt-get install sonic-pi-samples` or pass --samples-dir")
    credits = sample_credits(COPYRIGHT if copyright_file is None else copyright_file)
    kits: dict[str, Kit] = {}
    hits, left_out = [], {}
    for f in files:
        label, why = sample_class(f.stem)
        if label is None:
            left_out[f"sonic-pi:{f.name}"] = why
            continue
        kit_name = KITS[f.stem.split("_", 1)[0]]
        author, lic, _ = credits.get(f.stem, ("", "", ""))
        kit = kits.setdefault(kit_name, Kit(kit_name, f"Sonic Pi {kit_name.split('-', 1)[1]}_* samples", "", "",
                                            "", source="sonic-pi"))
        hits.append(Candidate(kit_name, f.stem, label, f.name, str(f), license=lic, author=author))
    for kit in kits.values():
        mine = [h for h in hits if h.kit == kit.name]
        kit.author = ", ".join(sorted({h.author for h in mine if h.author}))
        kit.license = kit.debian_license = ", ".join(sorted({h.license for h in mine if h.license}))
    return Source("sonic-pi", list(kits.values()), hits, left_out, {"samples_dir": str(samples_dir)})
