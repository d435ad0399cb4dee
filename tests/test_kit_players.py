"""drumgen.kit played by the real programs: Hydrogen (h2cli), sfizz (sfizz_render) and FluidSynth play the exported
kit and .mid as the browser did, and Hydrogen's own schema accepts drumkit.xml.

The programs come from scripts/install.sh --test (Debian's hydrogen, fluidsynth, fluid-soundfont-gm and
libxml2-utils; sfizz_render from the pysfizz wheel in the test extras). A missing one fails with the command that
installs it, never skips. Every sound is synthesised here; no system kit is read.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from drumgen.dsp import synth
from drumgen.io.midi import TICKS_PER_BEAT
from drumgen.kit.export import export_kit
from drumgen.kit.pad import KitPad
from drumgen.pattern import Pattern

SCHEMA = Path("/usr/share/hydrogen/data/xsd/drumkit.xsd")
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RATE = 44100
INSTALL = "run scripts/install.sh --test as root, or: apt-get install -y"
PACKAGES = {"h2cli": "hydrogen", "xmllint": "libxml2-utils", "fluidsynth": "fluidsynth"}
H2_TICKS = 48  # Hydrogen's ticks per quarter note
NS = "{http://www.hydrogen-music.org/drumkit}"


# ------------------------------------------------------------------------------------------------ the programs


def program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: {INSTALL} {PACKAGES[name]}")
    return path


def sfizz_render() -> str:
    """The pysfizz wheel puts sfizz_render in site-packages/bin, not in the venv's bin; look in both."""
    candidates = [Path(sys.executable).parent / "sfizz_render"]
    spec = importlib.util.find_spec("pysfizz")
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent.parent / "bin" / "sfizz_render")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    pytest.fail("sfizz_render is missing: .venv/bin/python -m pip install pysfizz (it is in the test extras)")


def soundfont() -> Path:
    if not SOUNDFONT.is_file():
        pytest.fail(f"{SOUNDFONT} is missing: {INSTALL} fluid-soundfont-gm")
    return SOUNDFONT


def run(cmd: list[str], **kw) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    log = r.stdout + r.stderr
    assert r.returncode == 0, f"{' '.join(cmd)} failed ({r.returncode}):\n{log[-3000:]}"
    return log


def render_sfz(folder: Path, kit: str, mid: str, out: Path) -> np.ndarray:
    run([sfizz_render(), "--sfz", str(folder / f"{kit}.sfz"), "--midi", str(folder / mid), "--wav", str(out),
         "-s", str(RATE)])
    return read(out)


def render_fluidsynth(mid: Path, out: Path) -> np.ndarray:
    run([program("fluidsynth"), "-ni", "-F", str(out), "-r", str(RATE), str(soundfont()), str(mid)])
    return read(out)


def read(path: Path) -> np.ndarray:
    y, rate = sf.read(path, dtype="float64", always_2d=True)
    assert rate == RATE, f"{path}: {rate} Hz"
    return y  # [T, 2]


# ------------------------------------------------------------------------------------------------ Hydrogen


def hydrogen_env(home: Path) -> dict[str, str]:
    """h2cli keeps its kits and settings in ~/.hydrogen: a temporary HOME keeps the tests off the user's."""
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "HOME": str(home)}


def install_kit(zip_path: Path, home: Path) -> Path:
    log = run([program("h2cli"), "-i", str(zip_path)], env=hydrogen_env(home))
    kit = home / ".hydrogen" / "data" / "drumkits" / zip_path.stem
    assert (kit / "drumkit.xml").is_file(), f"h2cli -i did not install {kit}:\n{log[-2000:]}"
    return kit


def h2song(kit_folder: Path, notes: list[tuple[int, int, float]], ticks: int, bpm: float) -> bytes:
    """A Hydrogen song of one pattern `ticks` long (48 a quarter) playing (instrument id, tick, velocity 0..1) on
    the instruments of the installed kit, which it refers to by name as Hydrogen's own songs do."""
    kit = ET.parse(kit_folder / "drumkit.xml").getroot()
    song = ET.Element("song")
    for tag, value in (("version", "1.2.0"), ("bpm", bpm), ("volume", 1), ("metronomeVolume", 0),
                       ("name", "test"), ("author", "drumgen tests"), ("notes", ""), ("license", ""),
                       ("loopEnabled", "false"), ("patternModeMode", "false"), ("mode", "song"),
                       ("humanize_time", 0), ("humanize_velocity", 0), ("swing_factor", 0)):
        ET.SubElement(song, tag).text = str(value)
    song.append(_local(kit.find(f"{NS}componentList")))
    instruments = ET.SubElement(song, "instrumentList")
    for ins in kit.find(f"{NS}instrumentList"):
        ins = _local(ins)
        drumkit = ET.Element("drumkit")
        drumkit.text = kit.findtext(f"{NS}name")
        ins.insert(2, drumkit)
        for tag, neutral in (("volume", "1"), ("pan", "0")):  # the kit's own mixer settings come with -k
            ins.find(tag).text = neutral
        instruments.append(ins)
    pattern = ET.SubElement(ET.SubElement(song, "patternList"), "pattern")
    for tag, value in (("name", "beat"), ("category", ""), ("size", ticks), ("denominator", 4), ("info", "")):
        ET.SubElement(pattern, tag).text = str(value)
    note_list = ET.SubElement(pattern, "noteList")
    for instrument, tick, velocity in notes:
        note = ET.SubElement(note_list, "note")
        for tag, value in (("position", tick), ("leadlag", 0), ("velocity", velocity), ("pan", 0), ("pitch", 0),
                           ("probability", 1), ("key", "C0"), ("length", -1), ("instrument", instrument),
                           ("note_off", "false")):
            ET.SubElement(note, tag).text = str(value)
    ET.SubElement(song, "virtualPatternList")
    ET.SubElement(ET.SubElement(ET.SubElement(song, "patternSequence"), "group"), "patternID").text = "beat"
    return ET.tostring(song, encoding="UTF-8", xml_declaration=True)


def _local(e: ET.Element) -> ET.Element:
    """A copy of e without the drumkit namespace (songs use plain tags)."""
    e = ET.fromstring(ET.tostring(e))
    for el in e.iter():
        el.tag = el.tag.split("}")[-1]
    return e


def render_hydrogen(kit_folder: Path, home: Path, notes: list[tuple[int, int, float]], ticks: int, bpm: float,
                    out: Path) -> tuple[np.ndarray, str]:
    song = out.with_suffix(".h2song")
    song.write_bytes(h2song(kit_folder, notes, ticks, bpm))
    # -d alsa: the default driver probes JACK and PulseAudio for ~25 s first; exporting writes to the file anyway.
    log = run([program("h2cli"), "-VInfo", "-d", "alsa", "-s", str(song), "-k", kit_folder.name, "-o", str(out),
               "-r", str(RATE)], env=hydrogen_env(home))
    assert out.is_file(), f"h2cli wrote no {out}:\n{log[-3000:]}"
    return read(out), log


def check_hydrogen_log(log: str, kit_folder: Path) -> None:
    ours = [line for line in log.splitlines() if kit_folder.name in line or "Unable to read" in line]
    assert not [line for line in ours if "Unable to read" in line or "(E)" in line], "\n".join(ours)
    assert f"Setting drumkit [{kit_folder.name}] located at [{kit_folder}]" in log, "h2cli -k did not find the kit"
    assert "Upgrading drumkit" not in "\n".join(ours), "Hydrogen had to upgrade the kit: drumkit.xml is outdated"


def midi_notes(mid: Path) -> list[tuple[int, int, int]]:
    """(absolute tick, note, velocity) of every note-on."""
    out: list[tuple[int, int, int]] = []
    for track in mido.MidiFile(mid).tracks:
        tick = 0
        for m in track:
            tick += m.time
            if m.type == "note_on" and m.velocity > 0:
                out.append((tick, m.note, m.velocity))
    return sorted(out)


# ------------------------------------------------------------------------------------------------ analysis


def onsets(y: np.ndarray, rate: int = RATE, floor_db: float = -45.0, jump_db: float = 12.0) -> np.ndarray:
    """Onset times (s) of a render [T, C]: 1 ms blocks louder than `floor_db` below the peak and `jump_db` above
    the loudest block 5..25 ms before (so a hit on another's tail counts), one per 30 ms."""
    block = rate // 1000
    env = np.abs(y).max(axis=1)[: y.shape[0] // block * block].reshape(-1, block).max(axis=1)
    db = 20 * np.log10(env + 1e-12)
    found: list[int] = []
    for k in np.flatnonzero(db > db.max() + floor_db):
        before = db[max(0, k - 25): max(0, k - 5)]
        if (before.size == 0 or db[k] > before.max() + jump_db) and (not found or k - found[-1] > 30):
            found.append(int(k))
    # refine to the first sample of the onset block that passes the floor
    threshold = env.max() * 10 ** (floor_db / 20)
    return np.array([(k * block + int(np.argmax(np.abs(y[k * block:(k + 1) * block]).max(axis=1) >= threshold)))
                     / rate for k in found])


def expected_onsets(pattern: Pattern, straight: bool = False, muted: frozenset[int] = frozenset()) -> np.ndarray:
    """Hit times from the pattern with MPC swing: an odd 16th at pair_start + 2 * sixteenth * swing."""
    sixteenth = 60.0 / pattern.bpm / 4
    swing = 0.5 if straight else pattern.swing
    times = set()
    for t in pattern.tracks:
        for s, v in enumerate(t.steps):
            if v and t.note not in muted:
                pair_start = (s // 2) * 2 * sixteenth
                times.add(pair_start + (2 * sixteenth * swing if s % 2 else 0.0))
    return np.array(sorted(times))


def assert_onsets(y: np.ndarray, expected: np.ndarray, what: str, tolerance: float = 0.005) -> None:
    found = onsets(y)
    assert len(found) == len(expected), f"{what}: onsets at {np.round(found, 4)}, expected {np.round(expected, 4)}"
    worst = float(np.max(np.abs(found - expected)))
    assert worst <= tolerance, f"{what}: onsets off by up to {worst * 1000:.1f} ms: {found} vs {expected}"


def window(y: np.ndarray, start: float, seconds: float) -> np.ndarray:
    return y[int(start * RATE): int((start + seconds) * RATE)]


def peak(y: np.ndarray) -> float:
    return float(np.max(np.abs(y))) if y.size else 0.0


def length_60db(x: np.ndarray) -> float:
    """Seconds from the first sample to the last one within 60 dB of the peak ([T] or [T, C])."""
    env = np.abs(x).max(axis=1) if x.ndim == 2 else np.abs(x)
    loud = np.flatnonzero(env >= env.max() * 1e-3)
    return (loud[-1] - loud[0] + 1) / RATE


def centroid(x: np.ndarray) -> float:
    """Spectral centroid (Hz) of a hit's first 200 ms."""
    x = (x.mean(axis=1) if x.ndim == 2 else x)[: RATE // 5]
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[0])))
    f = np.fft.rfftfreq(x.shape[0], 1 / RATE)
    return float(np.sum(f * spectrum) / np.sum(spectrum))


def pitch(x: np.ndarray) -> float:
    """The strongest frequency (Hz) of a hit's first 200 ms: a tom's body, which tune moves."""
    x = (x.mean(axis=1) if x.ndim == 2 else x)[: RATE // 5]
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[0]), n=1 << 16))
    return float(np.fft.rfftfreq(1 << 16, 1 / RATE)[np.argmax(spectrum)])


def browser_play(x: np.ndarray, rate: int, tune: float, decay: float) -> np.ndarray:
    """What web/js/audio.js plays, written out again here: playbackRate 2**(tune/12) (linear interpolation), gain
    held 5 ms, then setTargetAtTime(0, 5 ms, tau = D/5) and stop at D + 5 ms, D = max(10 ms, decay * L)."""
    speed = 2 ** (tune / 12)
    played = x.shape[0] / rate / speed  # L
    t = np.arange(int(played * RATE)) / RATE
    y = np.interp(t * speed * rate, np.arange(x.shape[0]), x)
    if decay < 1:
        ring = max(0.01, decay * played)
        y = (y * np.exp(-np.maximum(t - 0.005, 0) / (ring / 5)))[: int((ring + 0.005) * RATE)]
    return y


# ------------------------------------------------------------------------------------------------ the kit


def shortened(x: np.ndarray, seconds: float) -> np.ndarray:
    x = x[: int(seconds * RATE)].astype(np.float32)
    x[-441:] *= np.linspace(1, 0, 441, dtype=np.float32)
    return x


def short_pads() -> list[KitPad]:
    """Four hits of at most 80 ms, so that every onset in a render stands apart."""
    rng = np.random.default_rng(7)
    return [KitPad(name, note, shortened(synth.hit(kind, rng), 0.08), RATE)
            for name, note, kind in (("kick", 36, "kick"), ("snare", 38, "snare"), ("closed_hat", 42, "hihat"),
                                     ("tom", 45, "tom"))]


def beat(swing: float = 0.6) -> Pattern:
    """Hits at least 100 ms apart at 120 BPM, three on swung (odd) 16ths."""
    steps = {"kick": {0: 120, 8: 127}, "snare": {4: 100, 12: 110}, "closed_hat": {1: 80, 5: 90, 9: 80, 13: 90},
             "tom": {6: 127, 14: 100}}
    notes = {"kick": 36, "snare": 38, "closed_hat": 42, "tom": 45}
    tracks = [{"name": n, "note": notes[n], "steps": [hits.get(s, 0) for s in range(16)]}
              for n, hits in steps.items()]
    return Pattern.from_dict({"bpm": 120, "swing": swing, "steps": 16, "tracks": tracks})


def unpack(data: bytes, where: Path) -> Path:
    """Write the zip as <where>/<kit>.zip, unzip it beside, return the kit folder."""
    z = zipfile.ZipFile(io.BytesIO(data))
    kit = z.namelist()[0].split("/")[0]
    (where / f"{kit}.zip").write_bytes(data)
    z.extractall(where)
    return where / kit


@pytest.fixture(scope="module")
def kit_dir(tmp_path_factory) -> Path:
    return unpack(export_kit("Player Kit", short_pads(), beat()), tmp_path_factory.mktemp("kit"))


# ------------------------------------------------------------------------------------------------ (1) schema


def test_drumkit_xml_validates_against_hydrogens_schema(kit_dir, tmp_path):
    if not SCHEMA.is_file():
        pytest.fail(f"{SCHEMA} is missing: {INSTALL} hydrogen")
    hostile = [p._replace(name=n, volume=0.0, pan=-1.0) for p, n in
               zip(short_pads(), ["<&>\"'", "", "é" * 80, "tab\there"], strict=True)]
    odd = unpack(export_kit("Odd & <Kit>", hostile), tmp_path)
    for folder in (kit_dir, odd):
        run([program("xmllint"), "--noout", "--schema", str(SCHEMA), str(folder / "drumkit.xml")])
        root = ET.parse(folder / "drumkit.xml").getroot()
        assert root.findtext(f"{NS}name") == folder.name  # songs and h2cli -k find a kit by this name
        for f in root.iterfind(f"{NS}instrumentList/{NS}instrument/{NS}instrumentComponent/{NS}layer/{NS}filename"):
            assert (folder / f.text).is_file(), f"{f.text}: Hydrogen looks for it next to drumkit.xml"


# ------------------------------------------------------------------------------------------------ (2) Hydrogen


@pytest.mark.slow
def test_hydrogen_installs_checks_and_plays_the_kit(kit_dir, tmp_path):
    home = tmp_path / "home"
    installed = install_kit(kit_dir.parent / f"{kit_dir.name}.zip", home)
    assert installed.name == "player_kit"
    # -c wants the .h2drumkit extension; the same zip under that name is a valid Hydrogen drumkit.
    h2drumkit = tmp_path / f"{kit_dir.name}.h2drumkit"
    shutil.copy(kit_dir.parent / f"{kit_dir.name}.zip", h2drumkit)
    log = run([program("h2cli"), "-c", str(h2drumkit)], env=hydrogen_env(home))
    assert f"Provided drumkit [{h2drumkit}] is valid" in log, log[-2000:]

    # one note per pad, half a second apart (at 120 BPM a quarter is 48 ticks = 0.5 s)
    notes = [(i, i * H2_TICKS, 1.0) for i in range(4)]
    y, log = render_hydrogen(installed, home, notes, 4 * H2_TICKS, 120, tmp_path / "hydrogen.wav")
    check_hydrogen_log(log, installed)
    assert peak(y) > 0.1, "Hydrogen's render is silent: it did not find the samples"
    assert_onsets(y, np.array([0.0, 0.5, 1.0, 1.5]), "Hydrogen")
    for i, pad in enumerate(short_pads()):
        wav = read_mono(installed / f"{pad.note:03d}_{pad.name}.wav")
        hit = window(y, i * 0.5, 0.1).mean(axis=1)
        assert centroid(hit) == pytest.approx(centroid(wav), rel=0.15), f"{pad.name} does not sound like its WAV"


def read_mono(path: Path) -> np.ndarray:
    return read(path)[:, 0]


# ------------------------------------------------------------------------------------------------ (3) sfizz


@pytest.mark.slow
def test_sfizz_plays_the_mid_on_time(kit_dir, tmp_path):
    pattern = beat()
    y = render_sfz(kit_dir, "player_kit", "player_kit.mid", tmp_path / "sfizz.wav")
    assert_onsets(y, expected_onsets(pattern), "sfizz, swung")
    y = render_sfz(kit_dir, "player_kit", "player_kit_straight.mid", tmp_path / "straight.wav")
    assert_onsets(y, expected_onsets(pattern, straight=True), "sfizz, straight")


@pytest.mark.slow
def test_sfizz_velocity_is_linear_as_in_the_browser(tmp_path):
    x = shortened(synth.hit("tom", 3), 0.2)
    pattern = Pattern.from_dict({"bpm": 120, "steps": 16, "tracks": [
        {"name": "tom", "note": 45, "steps": [127, 0, 0, 0, 64, 0, 0, 0, 32] + [0] * 7}]})
    folder = unpack(export_kit("vel", [KitPad("tom", 45, x, RATE)], pattern), tmp_path)
    y = render_sfz(folder, "vel", "vel.mid", tmp_path / "vel.wav")
    loud = peak(window(y, 0.0, 0.2))
    for start, velocity in ((0.5, 64), (1.0, 32)):  # the browser's envelope gain is velocity / 127
        assert peak(window(y, start, 0.2)) / loud == pytest.approx(velocity / 127, rel=0.05)


# ------------------------------------------------------------------------------------------------ (4) FluidSynth


def sparse_beat() -> Pattern:
    """Hits 350 ms or more apart (General MIDI drums ring longer than ours), three on swung 16ths."""
    notes = {0: 36, 3: 42, 6: 38, 9: 42, 13: 45}  # the tom rings longest: last
    tracks = [{"name": name, "note": note, "steps": [127 if notes.get(s) == note else 0 for s in range(16)]}
              for name, note in (("kick", 36), ("snare", 38), ("closed_hat", 42), ("tom", 45))]
    return Pattern.from_dict({"bpm": 120, "swing": 0.6, "steps": 16, "tracks": tracks})


@pytest.mark.slow
def test_fluidsynth_plays_the_mid_on_time(tmp_path):
    folder = unpack(export_kit("GM Kit", short_pads(), sparse_beat()), tmp_path)
    mid = folder / "gm_kit.mid"
    assert {note for _, note, _ in midi_notes(mid)} == {36, 38, 42, 45}  # General MIDI drums on channel 10
    y = render_fluidsynth(mid, tmp_path / "fluidsynth.wav")
    # FluidR3's drum samples start 2-5 ms after their note (measured one note at a time): a common latency of up
    # to 8 ms is FluidSynth's, not the file's; what follows it must be on time.
    found = onsets(y)
    expected = expected_onsets(sparse_beat())
    assert len(found) == len(expected), f"onsets at {np.round(found, 4)}, expected {np.round(expected, 4)}"
    latency = float(np.median(found - expected))
    assert 0 <= latency <= 0.008, f"FluidSynth plays {latency * 1000:.1f} ms late"
    assert_onsets(y, expected + latency, "FluidSynth")


# ------------------------------------------------------------------------------------------------ (5) knobs


def knob_sounds() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {"kick": shortened(synth.hit("kick", rng), 0.3), "snare": shortened(synth.hit("snare", rng), 0.3),
            "hat": shortened(synth.hit("hihat", rng), 0.1), "tom": synth.hit("tom", rng)}


KNOB_NOTES = {"kick": 36, "snare": 38, "hat": 42, "tom": 45}
KNOB_TIMES = {"kick": 0.0, "snare": 1.0, "hat": 2.0, "tom": 3.0}  # 32 steps at 120 BPM: 4 s, each hit 1 s apart
KNOBS = {"snare": {"mute": True}, "hat": {"volume": 0.2}, "tom": {"tune": -12.0, "decay": 0.5}, "kick": {"pan": -1.0}}


def knob_pattern() -> Pattern:
    tracks = []
    for name, start in KNOB_TIMES.items():
        steps = [0] * 32
        steps[int(start * 8)] = 127  # 8 sixteenths a second at 120 BPM
        tracks.append({"name": name, "note": KNOB_NOTES[name], "steps": steps})
    tracks[0]["steps"][4] = 64  # a softer kick at 0.5 s: velocity plays linearly everywhere
    return Pattern.from_dict({"bpm": 120, "steps": 32, "tracks": tracks})


def knob_kit(knobs: dict[str, dict], where: Path) -> Path:
    pads = [KitPad(name, KNOB_NOTES[name], x, RATE, **knobs.get(name, {})) for name, x in knob_sounds().items()]
    return unpack(export_kit("Knob Kit", pads, knob_pattern()), where)


def renders(folder: Path, tmp: Path) -> dict[str, np.ndarray]:
    """The kit's .mid through its .sfz (sfizz) and, as a song of the same notes, through Hydrogen."""
    out = {"sfizz": render_sfz(folder, "knob_kit", "knob_kit.mid", tmp / "sfizz.wav")}
    home = tmp / "home"
    installed = install_kit(folder.parent / "knob_kit.zip", home)
    ids = {note: i for i, note in enumerate(KNOB_NOTES.values())}
    notes = []
    for tick, note, velocity in midi_notes(folder / "knob_kit.mid"):
        assert tick * H2_TICKS % TICKS_PER_BEAT == 0, "the test pattern should sit on Hydrogen's grid"
        notes.append((ids[note], tick * H2_TICKS // TICKS_PER_BEAT, velocity / 127))
    out["hydrogen"], log = render_hydrogen(installed, home, notes, 8 * H2_TICKS, 120, tmp / "hydrogen.wav")
    check_hydrogen_log(log, installed)
    return out


@pytest.fixture(scope="module")
def knob_renders(tmp_path_factory) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Renders of the kit with default knobs and with KNOBS, by player."""
    plain_dir, knob_dir = tmp_path_factory.mktemp("plain"), tmp_path_factory.mktemp("knobs")
    return renders(knob_kit({}, plain_dir), plain_dir), renders(knob_kit(KNOBS, knob_dir), knob_dir)


def test_muted_pad_leaves_the_mid_but_not_the_kit(tmp_path):
    folder = knob_kit(KNOBS, tmp_path)
    assert 38 not in {note for _, note, _ in midi_notes(folder / "knob_kit.mid")}
    assert (folder / "038_snare.wav").is_file()
    assert "038_snare.wav" in (folder / "knob_kit.sfz").read_text()
    assert "muted" in (folder / "README.txt").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("player", ["sfizz", "hydrogen"])
def test_knobs_play_as_in_the_browser(knob_renders, player):
    plain, knobbed = knob_renders
    plain, knobbed = plain[player], knobbed[player]
    assert peak(plain) > 0.05 and peak(knobbed) > 0.05, f"{player}: silent render"

    # mute: the snare's second is silent; volume 0.2: the hat is 14 dB down
    assert peak(window(plain, KNOB_TIMES["snare"], 0.9)) > 0.05
    assert peak(window(knobbed, KNOB_TIMES["snare"], 0.9)) < 1e-4, f"{player}: the muted snare sounds"
    hat = peak(window(knobbed, KNOB_TIMES["hat"], 0.3)) / peak(window(plain, KNOB_TIMES["hat"], 0.3))
    assert hat == pytest.approx(0.2, rel=0.05), f"{player}: hat at volume 0.2 plays at {hat:.3f}"

    # pan -1: the kick is hard left
    kick = window(knobbed, KNOB_TIMES["kick"], 0.9)
    assert peak(kick[:, 1]) < 1e-3 * peak(kick[:, 0]), f"{player}: kick at pan -1 is not hard left"

    # velocity 64 plays at 64/127 of velocity 127 (the browser's envelope gain is linear in velocity)
    soft = peak(window(plain, 0.5, 0.3)) / peak(window(plain, KNOB_TIMES["kick"], 0.4))
    assert soft == pytest.approx(64 / 127, rel=0.05), f"{player}: velocity 64 plays at {soft:.3f}"

    # tune -12 and decay 0.5: an octave lower, and as long as the browser plays it
    tom = knob_sounds()["tom"]
    start = KNOB_TIMES["tom"]
    plain_tom, tuned_tom = window(plain, start, 0.99), window(knobbed, start, 0.99)
    browser = browser_play(tom, RATE, -12.0, 0.5)
    assert pitch(tuned_tom) < 0.6 * pitch(plain_tom), f"{player}: tune -12 did not lower the tom"
    assert pitch(tuned_tom) == pytest.approx(pitch(browser), rel=0.03), player
    assert length_60db(tuned_tom) == pytest.approx(length_60db(browser), abs=0.015), player
    assert length_60db(plain_tom) == pytest.approx(length_60db(browser_play(tom, RATE, 0, 1)), abs=0.015), player
