"""drumgen.kit: the zip's WAVs, SFZ, Hydrogen drumkit.xml and .mid agree with each other; names stay safe."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile

import mido
import numpy as np
import pytest
import soundfile as sf

from drumgen.dsp import synth
from drumgen.kit.export import KitError, export_kit, safe_name, unique_names
from drumgen.kit.one_shots import prepare_one_shot
from drumgen.kit.pad import KitPad, hat_role
from drumgen.pads import DEFAULT_PADS
from drumgen.pattern import Pattern

NS = {"h": "http://www.hydrogen-music.org/drumkit"}
CLASS_OF = {"kick": "kick", "snare": "snare", "closed_hat": "hihat", "open_hat": "hihat", "clap": "clap",
            "low_tom": "tom", "high_tom": "tom", "crash": "cymbal"}


def default_pads(sample_rate: int = 22050) -> list[KitPad]:
    """The eight default pads with synthesised hits at 22.05 kHz (so export must resample), with 5 ms of silence
    before each onset (so export must trim it)."""
    rng = np.random.default_rng(0)
    pads = []
    for name, note in DEFAULT_PADS:
        x = synth.hit(CLASS_OF[name], rng, sample_rate=sample_rate)[: sample_rate // 4]
        x = np.concatenate([np.zeros(sample_rate // 200, np.float32), 0.3 * x.astype(np.float32)])
        pads.append(KitPad(name, note, x, sample_rate))
    return pads


def beat() -> Pattern:
    tracks = [{"name": n, "note": note, "steps": [0] * 16} for n, note in DEFAULT_PADS]
    tracks[0]["steps"][0] = tracks[0]["steps"][8] = 120
    tracks[1]["steps"][4] = tracks[1]["steps"][12] = 100
    tracks[2]["steps"] = [80, 0] * 8
    tracks[3]["steps"][14] = 90
    return Pattern.from_dict({"bpm": 96, "swing": 0.6, "steps": 16, "tracks": tracks})


@pytest.fixture(scope="module")
def kit_zip() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(export_kit("My Kit", default_pads(), beat())))


def test_layout(kit_zip):
    names = kit_zip.namelist()
    assert all(n.startswith("my_kit/") for n in names)
    assert {"my_kit/my_kit.sfz", "my_kit/drumkit.xml", "my_kit/my_kit.mid", "my_kit/README.txt"} <= set(names)
    wavs = sorted(n for n in names if n.endswith(".wav"))
    # next to drumkit.xml: Hydrogen joins the kit folder to a layer's bare file name
    assert wavs == sorted(f"my_kit/{note:03d}_{name}.wav" for name, note in DEFAULT_PADS)
    assert "my_kit/my_kit_straight.mid" in names  # the beat swings, so the straight one comes too
    assert kit_zip.testzip() is None


def test_wavs_are_24_bit_44k_mono_one_shots(kit_zip):
    for n in (n for n in kit_zip.namelist() if n.endswith(".wav")):
        data = kit_zip.read(n)
        info = sf.info(io.BytesIO(data))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (44100, 1, "PCM_24", "WAV"), n
        x, _ = sf.read(io.BytesIO(data), dtype="float64")
        peak = np.max(np.abs(x))
        assert 20 * np.log10(peak) == pytest.approx(-1.0, abs=0.01), n
        onset = int(np.flatnonzero(np.abs(x) >= peak * 0.01)[0])  # -40 dB of the peak
        assert onset <= 45, f"{n}: onset at sample {onset}; the 5 ms of leading silence was not trimmed"
        fade = peak * np.linspace(1.0, 0.0, 441)  # a 10 ms linear fade-out bounds the last 441 samples
        assert np.all(np.abs(x[-441:]) <= fade + 1e-5), f"{n} does not fade out"


def sfz_regions(text: str) -> list[dict[str, str]]:
    return [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in text.splitlines()
            if line.startswith("<region>")]


def test_sfz_samples_exist_and_keys_match_the_midi(kit_zip):
    text = kit_zip.read("my_kit/my_kit.sfz").decode()
    assert "default_path" not in text  # sample paths are relative to the .sfz, next to it
    assert re.search(r"<control>\s*hint_ram_based=1", text)  # sfizz: no streaming that a fast bounce outruns
    assert re.search(r"<global>\s*loop_mode=one_shot", text)
    regions = sfz_regions(text)
    assert len(regions) == 8
    for r in regions:
        assert f"my_kit/{r['sample']}" in kit_zip.namelist()
        assert r["sample"].startswith(f"{int(r['key']):03d}_")
    keys = {int(r["key"]) for r in regions}
    mid = mido.MidiFile(file=io.BytesIO(kit_zip.read("my_kit/my_kit.mid")))
    played = {m.note for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0}
    assert played == {36, 38, 42, 46} and played <= keys
    assert all(m.channel == 9 for t in mid.tracks for m in t if m.type == "note_on")


def test_closed_hat_chokes_open_hat(kit_zip):
    regions = {int(r["key"]): r for r in sfz_regions(kit_zip.read("my_kit/my_kit.sfz").decode())}
    assert regions[42].get("group") == "1" and "off_by" not in regions[42]
    assert regions[46].get("group") == "1" and regions[46].get("off_by") == "1"
    assert "group" not in regions[36] and "off_by" not in regions[36]
    root = ET.fromstring(kit_zip.read("my_kit/drumkit.xml"))
    groups = {i.findtext("h:midiOutNote", namespaces=NS): i.findtext("h:muteGroup", namespaces=NS)
              for i in root.iterfind("h:instrumentList/h:instrument", NS)}
    assert groups["42"] == groups["46"] == "0" and groups["36"] == "-1"


# Element order of Hydrogen 1.x's drumkit.xsd (a sequence: order matters to its validator).
INSTRUMENT_TAGS = [
    "id", "name", "volume", "isMuted", "isSoloed", "pan", "pitchOffset", "randomPitchFactor", "gain", "applyVelocity",
    "filterActive", "filterCutoff", "filterResonance", "Attack", "Decay", "Sustain", "Release", "muteGroup",
    "midiOutChannel", "midiOutNote", "isStopNote", "sampleSelectionAlgo", "isHihat", "lower_cc", "higher_cc",
    "FX1Level", "FX2Level", "FX3Level", "FX4Level", "instrumentComponent",
]


def tags(e: ET.Element) -> list[str]:
    return [c.tag.split("}")[1] for c in e]


def test_hydrogen_drumkit_xml(kit_zip):
    raw = kit_zip.read("my_kit/drumkit.xml")
    assert raw.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = ET.fromstring(raw)
    assert root.tag == "{http://www.hydrogen-music.org/drumkit}drumkit_info"
    assert tags(root) == ["name", "author", "info", "license", "image", "imageLicense", "componentList",
                          "instrumentList"]
    assert root.findtext("h:name", namespaces=NS) == "my_kit"  # the folder name: songs find kits by name
    assert root.findtext("h:info", namespaces=NS).startswith("My Kit: ")
    assert tags(root.find("h:componentList/h:drumkitComponent", NS)) == ["id", "name", "volume"]
    instruments = root.findall("h:instrumentList/h:instrument", NS)
    assert len(instruments) == 8
    for i, (ins, (name, note)) in enumerate(zip(instruments, DEFAULT_PADS, strict=True)):
        assert tags(ins) == INSTRUMENT_TAGS
        assert ins.findtext("h:id", namespaces=NS) == str(i)
        assert ins.findtext("h:name", namespaces=NS) == name
        assert ins.findtext("h:midiOutNote", namespaces=NS) == str(note)
        part = ins.find("h:instrumentComponent", NS)
        assert tags(part) == ["component_id", "gain", "layer"]
        assert tags(part.find("h:layer", NS)) == ["filename", "min", "max", "gain", "pitch"]
        filename = part.findtext("h:layer/h:filename", namespaces=NS)
        assert filename == f"{note:03d}_{name}.wav"
        assert f"my_kit/{filename}" in kit_zip.namelist()


def test_readme_has_the_mapping(kit_zip):
    text = kit_zip.read("my_kit/README.txt").decode()
    for name, note in DEFAULT_PADS:
        assert re.search(rf"^\s+{note}\s+\S+\s+{name}\s+{note:03d}_{name}\.wav", text, re.M), name


def test_without_pattern_there_is_no_mid():
    z = zipfile.ZipFile(io.BytesIO(export_kit("k", default_pads()[:2])))
    assert not any(n.endswith(".mid") for n in z.namelist())
    assert len([n for n in z.namelist() if n.endswith(".wav")]) == 2


# ------------------------------------------------------------------------------------------------ hostile names


@pytest.mark.parametrize("raw, safe", [
    ("../../etc/passwd", "etc_passwd"),
    ("CON", "con_"),
    ("nul", "nul_"),
    ("", "pad"),
    ("..", "pad"),
    ("   ", "pad"),
    ("/", "pad"),
    ("C:\\Windows\\system32", "c_windows_system32"),
    ("Kick Drum #1", "kick_drum_1"),
    ("Grosse Caisse é", "grosse_caisse_e"),
    ("🥁", "pad"),
    ("a" * 200, "a" * 32),
    (None, "pad"),
])
def test_safe_name(raw, safe):
    assert safe_name(raw) == safe
    assert re.fullmatch(r"[a-z0-9_-]{1,33}", safe_name(raw))


def test_unique_names():
    assert unique_names(["kick", "kick", "snare", "kick", "kick_2"]) == ["kick", "kick_2", "snare", "kick_3",
                                                                          "kick_2_2"]


def test_hostile_names_never_become_paths():
    pads = default_pads()[:4]
    hostile = ["../../etc/passwd", "CON", "", "kick\n<region> key=1 sample=/etc/passwd"]
    pads = [p._replace(name=n) for p, n in zip(pads, hostile, strict=True)]
    z = zipfile.ZipFile(io.BytesIO(export_kit("../../../tmp/evil", pads, None)))
    for n in z.namelist():
        assert n.startswith("tmp_evil/") and ".." not in n and not n.startswith("/") and "\\" not in n
        assert re.fullmatch(r"tmp_evil/(README\.txt|[a-z0-9_/.-]+)", n), n
    regions = sfz_regions(z.read("tmp_evil/tmp_evil.sfz").decode())
    assert [r["sample"] for r in regions] == ["036_etc_passwd.wav", "038_con_.wav", "042_closed_hat.wav",
                                              "046_kick_region_key_1_sample_etc_pas.wav"]
    assert len(regions) == 4  # the newline did not add a region
    root = ET.fromstring(z.read("tmp_evil/drumkit.xml"))
    names = [e.text for e in root.iterfind("h:instrumentList/h:instrument/h:name", NS)]
    assert names[3] == "kick<region> key=1 sample=/etc/passwd"  # the newline (not printable) was dropped
    assert names[0] == "../../etc/passwd" and names[2] == "closed_hat"  # shown as text, escaped by the XML writer


def test_duplicate_names_get_suffixes():
    pads = [p._replace(name="Kick") for p in default_pads()[:3]]
    z = zipfile.ZipFile(io.BytesIO(export_kit("dups", pads)))
    assert sorted(n.split("/")[-1] for n in z.namelist() if n.endswith(".wav")) == [
        "036_kick.wav", "038_kick_2.wav", "042_kick_3.wav"]


# ------------------------------------------------------------------------------------------------ errors


def test_errors():
    pads = default_pads()
    with pytest.raises(KitError, match="note 36 is already used by pads\\[0\\]"):
        export_kit("k", [pads[0], pads[1]._replace(note=36)])
    with pytest.raises(KitError, match="1 to 16 pads, got 0"):
        export_kit("k", [])
    with pytest.raises(KitError, match="1 to 16 pads, got 17"):
        export_kit("k", [pads[0]._replace(note=n) for n in range(17)])
    with pytest.raises(KitError, match="note must be an integer 0..127"):
        export_kit("k", [pads[0]._replace(note=128)])
    with pytest.raises(KitError, match="got a huge integer"):
        export_kit("k", [pads[0]._replace(note=10**5000)])
    with pytest.raises(KitError, match="mono array"):
        export_kit("k", [pads[0]._replace(audio=np.zeros((2, 100), np.float32))])
    with pytest.raises(KitError, match="mono array"):
        export_kit("k", [pads[0]._replace(audio=np.zeros(0, np.float32))])
    with pytest.raises(KitError, match="sample_rate"):
        export_kit("k", [pads[0]._replace(sample_rate=0)])
    with pytest.raises(KitError, match="plays note 42, which no pad has"):
        export_kit("k", pads[:2], beat())
    assert issubclass(KitError, ValueError)


def test_silent_and_nan_audio_still_export():
    pads = [KitPad("silence", 36, np.zeros(4410, np.float32), 44100),
            KitPad("broken", 38, np.full(4410, np.nan, np.float32), 44100)]
    z = zipfile.ZipFile(io.BytesIO(export_kit("quiet", pads)))
    x, rate = sf.read(io.BytesIO(z.read("quiet/036_silence.wav")))
    assert rate == 44100 and x.shape == (4410,) and not np.any(x)


def test_prepare_one_shot_resamples():
    x = np.sin(2 * np.pi * 200 * np.arange(1600) / 16000).astype(np.float32)  # 0.1 s, no silence to trim
    y = prepare_one_shot(x, 16000)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(y.shape[0] - 4410) <= 2
    assert 20 * np.log10(np.max(np.abs(y))) == pytest.approx(-1.0, abs=1e-3)


def test_hat_roles():
    assert hat_role("closed_hat", 42) == "closed"
    assert hat_role("Open HH", 60) == "open"
    assert hat_role("OpenHat", 42) == "open"  # the name wins over the note
    assert hat_role("pad 7", 46) == "open"
    assert hat_role("kick", 36) is None


# ------------------------------------------------------------------------------------------------ knobs and fixes


def tone(seconds: float = 0.4, sample_rate: int = 44100, decays: bool = True) -> np.ndarray:
    """A 220 Hz cosine that starts at its peak (a click without a fade-in) and, if it `decays`, falls to -60 dB at
    its end."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (np.cos(2 * np.pi * 220 * t) * np.exp(-6.9 * t / seconds if decays else 0 * t)).astype(np.float32)


def one_wav(pad: KitPad, **kw) -> np.ndarray:
    z = zipfile.ZipFile(io.BytesIO(export_kit("k", [pad], **kw)))
    x, _ = sf.read(io.BytesIO(z.read(next(n for n in z.namelist() if n.endswith(".wav")))), dtype="float64")
    return x


def test_wavs_fade_in_from_zero(kit_zip):
    x = one_wav(KitPad("click", 36, tone(), 44100))
    assert x[0] == 0.0 and np.all(np.abs(x[:44]) <= np.linspace(0, 1, 44) + 1e-4)  # a 1 ms ramp from silence
    assert np.max(np.abs(x[44:250])) > 0.8  # and the hit itself is intact
    for n in (n for n in kit_zip.namelist() if n.endswith(".wav")):
        assert sf.read(io.BytesIO(kit_zip.read(n)))[0][0] == 0.0, n


def test_tune_is_rendered_into_the_wav():
    plain = one_wav(KitPad("tom", 45, tone(), 44100))
    down = one_wav(KitPad("tom", 45, tone(), 44100, tune=-12.0))
    up = one_wav(KitPad("tom", 45, tone(), 44100, tune=12.0))
    assert down.shape[0] / plain.shape[0] == pytest.approx(2.0, rel=0.02)  # an octave down plays twice as long
    assert up.shape[0] / plain.shape[0] == pytest.approx(0.5, rel=0.02)
    crossings = [np.sum(np.diff(np.sign(x[:4410])) != 0) for x in (plain, down)]  # in the first 100 ms
    assert crossings[1] / crossings[0] == pytest.approx(0.5, rel=0.05)


def test_decay_is_rendered_into_the_wav():
    x = tone(1.0, decays=False)
    plain = one_wav(KitPad("tom", 45, x, 44100))
    half = one_wav(KitPad("tom", 45, x, 44100, decay=0.5))
    # the browser stops the sound at decay * L + 5 ms
    assert half.shape[0] == pytest.approx(0.5 * 44100 + 220, abs=2)
    assert np.max(np.abs(half)) == pytest.approx(np.max(np.abs(plain)), rel=1e-3)  # the level is kept
    t = 0.3  # then the envelope exp(-(t - 5 ms) / tau), tau = 0.5 * L / 5, is below the plain hit
    ratio = np.max(np.abs(half[int(t * 44100):][:441])) / np.max(np.abs(plain[int(t * 44100):][:441]))
    assert ratio == pytest.approx(np.exp(-(t - 0.005) / 0.1), rel=0.05)
    shortest = one_wav(KitPad("tom", 45, x[:4410], 44100, decay=0.05))  # max(10 ms, 0.05 * 0.1 s) + 5 ms
    assert shortest.shape[0] == pytest.approx(0.015 * 44100, abs=2)


def test_volume_and_pan_go_to_the_mixers():
    pads = [p._replace(volume=v, pan=pan) for p, v, pan in
            zip(default_pads()[:3], [1.0, 0.5, 0.0], [0.0, -1.0, 0.25], strict=True)]
    z = zipfile.ZipFile(io.BytesIO(export_kit("mix", pads)))
    regions = {int(r["key"]): r for r in sfz_regions(z.read("mix/mix.sfz").decode())}
    assert "volume" not in regions[36] and "pan" not in regions[36]  # default knobs: the SFZ is as before
    assert float(regions[38]["volume"]) == pytest.approx(-6.02, abs=0.01) and float(regions[38]["pan"]) == -100
    assert float(regions[42]["volume"]) == -144 and float(regions[42]["pan"]) == 25
    root = ET.fromstring(z.read("mix/drumkit.xml"))
    mix = [(float(i.findtext("h:volume", namespaces=NS)), float(i.findtext("h:pan", namespaces=NS)))
           for i in root.iterfind("h:instrumentList/h:instrument", NS)]
    assert mix == [(1.0, 0.0), (0.5, -1.0), (0.0, 0.25)]
    for x in (sf.read(io.BytesIO(z.read(n)))[0] for n in z.namelist() if n.endswith(".wav")):
        assert 20 * np.log10(np.max(np.abs(x))) == pytest.approx(-1.0, abs=0.01)  # the WAVs stay normalised


def notes_in(data: bytes) -> list[tuple[int, int]]:
    out, tick = [], 0
    for m in mido.MidiFile(file=io.BytesIO(data)).tracks[1]:
        tick += m.time
        if m.type == "note_on" and m.velocity > 0:
            out.append((tick, m.note))
    return out


def test_midi_files_swung_straight_and_muted():
    pads = default_pads()
    swinging = beat()
    swinging.tracks[2].steps[1] = 70
    z = zipfile.ZipFile(io.BytesIO(export_kit("b", pads, swinging)))
    swung, straight = notes_in(z.read("b/b.mid")), notes_in(z.read("b/b_straight.mid"))
    assert (144, 42) in swung and (120, 42) in straight  # step 1: 2 * 120 ticks * 0.6 after the pair's start
    readme = z.read("b/README.txt").decode()
    assert "b.mid" in readme and "b_straight.mid" in readme and "swing 0.6" in readme

    z = zipfile.ZipFile(io.BytesIO(export_kit("b", pads, swinging, straight=True)))
    assert [n for n in z.namelist() if n.endswith(".mid")] == ["b/b.mid"]
    assert notes_in(z.read("b/b.mid")) == straight

    muted = [p._replace(mute=p.note == 38) for p in pads]
    z = zipfile.ZipFile(io.BytesIO(export_kit("b", muted, swinging)))
    for mid in ("b/b.mid", "b/b_straight.mid"):
        assert 38 not in {n for _, n in notes_in(z.read(mid))}, mid
    assert [x for x in swung if x[1] != 38] == notes_in(z.read("b/b.mid"))
    assert "b/038_snare.wav" in z.namelist()  # the sound stays in the kit
    assert re.search(r"^\s+38 .*muted", z.read("b/README.txt").decode(), re.M)


def test_knob_errors():
    pad = default_pads()[0]
    for knob, bad in (("volume", 1.5), ("volume", -0.1), ("pan", 2.0), ("tune", 25.0), ("decay", 0.0),
                      ("decay", float("nan")), ("tune", "12"), ("volume", True)):
        with pytest.raises(KitError, match=f"pads\\[0\\] \\('kick'\\): {knob} must be a number"):
            export_kit("k", [pad._replace(**{knob: bad})])
    with pytest.raises(KitError, match="mute must be true or false"):
        export_kit("k", [pad._replace(mute="yes")])
