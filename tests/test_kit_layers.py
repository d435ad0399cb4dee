"""Velocity layers and round robins in an exported kit, played by the real programs: sfizz turns through a pad's
round robins on repeated notes and picks its layer by velocity; Hydrogen loads the layered drumkit.xml (and its
schema accepts it) and plays it. Each take here is a tone burst of its own pitch, so a render says which take
played. Every sound is synthesised here; no system kit is read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import mido
import numpy as np
import pytest

from drumgen.kit.export import export_kit
from drumgen.kit.pad import KitPad, velocity_ranges
from tests.test_kit_players import (
    NS,
    RATE,
    SCHEMA,
    check_hydrogen_log,
    install_kit,
    onsets,
    peak,
    pitch,
    program,
    read,
    render_hydrogen,
    run,
    sfizz_render,
    unpack,
    window,
)

SPACING = 0.25  # seconds between notes: each 80 ms burst stands apart


def burst(freq: float, level: float = 1.0) -> np.ndarray:
    t = np.arange(int(0.08 * RATE)) / RATE
    return (level * np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.02)).astype(np.float32)


def midi_file(path: Path, note: int, velocities: list[int]) -> Path:
    """One note per entry, SPACING apart, on channel 10 at 120 BPM (480 ticks a beat)."""
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)])
    gap = int(SPACING * 2 * 480)
    for i, v in enumerate(velocities):
        track.append(mido.Message("note_on", channel=9, note=note, velocity=v, time=0 if i == 0 else gap - 48))
        track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=48))
    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(path)
    return path


def played(y: np.ndarray, n: int, freqs: list[float]) -> list[int]:
    """Which take (index into freqs) sounds at each of the n notes of a render."""
    found = onsets(y)
    assert len(found) == n, f"{len(found)} onsets for {n} notes: {np.round(found, 3)}"
    out = []
    for start in found:
        f = pitch(window(y, start, 0.07))
        out.append(int(np.argmin([abs(np.log2(f / g)) for g in freqs])))
    return out


def sfz_render(folder: Path, kit: str, mid: Path, out: Path) -> np.ndarray:
    run([sfizz_render(), "--sfz", str(folder / f"{kit}.sfz"), "--midi", str(mid), "--wav", str(out), "-s", str(RATE)])
    return read(out)


RR_FREQS = [300.0, 475.0, 750.0, 1190.0]
LAYER_FREQS = [330.0, 660.0, 1320.0]


def rr_pad() -> KitPad:
    takes = [burst(f) for f in RR_FREQS]
    return KitPad("snare", 38, takes[0], RATE, layers=(tuple(takes),))


def layer_pad() -> KitPad:
    layers = tuple((burst(f, level),) for f, level in zip(LAYER_FREQS, (0.25, 0.5, 1.0), strict=True))
    return KitPad("tom", 45, layers[-1][0], RATE, layers=layers)


def grid_pad() -> KitPad:
    """2 layers x 4 round robins: layer j, take r at RR_FREQS[r] * 2**j."""
    layers = tuple(tuple(burst(f * 2 ** j, 0.5 + 0.5 * j) for f in RR_FREQS) for j in range(2))
    return KitPad("kick", 36, layers[-1][0], RATE, layers=layers)


def test_layer_files_and_sfz_regions(tmp_path):
    folder = unpack(export_kit("Layers", [rr_pad(), layer_pad(), grid_pad()]), tmp_path)
    names = sorted(p.name for p in folder.glob("*.wav"))
    assert names == sorted([f"038_snare_v1_rr{r}.wav" for r in range(1, 5)] + [f"045_tom_v{j}_rr1.wav" for j in (1, 2, 3)]
                           + [f"036_kick_v{j}_rr{r}.wav" for j in (1, 2) for r in range(1, 5)])
    sfz = (folder / "layers.sfz").read_text()
    assert "<region> key=38 seq_length=4 seq_position=3 sample=038_snare_v1_rr3.wav" in sfz
    assert "<region> key=45 lovel=51 hivel=100 sample=045_tom_v2_rr1.wav" in sfz
    assert "<region> key=36 lovel=101 hivel=127 seq_length=4 seq_position=4 sample=036_kick_v2_rr4.wav" in sfz
    # levels stay relative: the tom's soft layer is 12 dB under its hard one, which peaks at -1 dBFS
    soft, hard = (peak(read(folder / f"045_tom_v{j}_rr1.wav")) for j in (1, 3))
    assert 20 * np.log10(hard) == pytest.approx(-1, abs=0.05) and soft / hard == pytest.approx(0.25, rel=0.05)
    readme = (folder / "README.txt").read_text()
    assert "036_kick_v2_rr4.wav" in readme and "velocity 101..127  round robin 4 of 4" in readme
    assert velocity_ranges(3) == [(0, 50), (51, 100), (101, 127)]
    assert velocity_ranges(4) == [(0, 33), (34, 66), (67, 100), (101, 127)] and velocity_ranges(1) == [(0, 127)]


@pytest.mark.slow
def test_sfizz_turns_through_round_robins(tmp_path):
    folder = unpack(export_kit("RR", [rr_pad()]), tmp_path)
    y = sfz_render(folder, "rr", midi_file(tmp_path / "rr.mid", 38, [100] * 16), tmp_path / "rr.wav")
    takes = played(y, 16, RR_FREQS)
    assert all(a != b for a, b in zip(takes, takes[1:], strict=False)), f"neighbours repeat: {takes}"
    assert takes == [(takes[0] + i) % 4 for i in range(16)], f"not a rotation through 4 takes: {takes}"


@pytest.mark.slow
def test_sfizz_picks_the_layer_by_velocity(tmp_path):
    folder = unpack(export_kit("Vel", [layer_pad()]), tmp_path)
    y = sfz_render(folder, "vel", midi_file(tmp_path / "vel.mid", 45, [30, 80, 120, 30]), tmp_path / "vel.wav")
    assert played(y, 4, LAYER_FREQS) == [0, 1, 2, 0]


@pytest.mark.slow
def test_sfizz_round_robins_within_each_layer(tmp_path):
    folder = unpack(export_kit("Grid", [grid_pad()]), tmp_path)
    velocities = [40, 120] * 6
    y = sfz_render(folder, "grid", midi_file(tmp_path / "grid.mid", 36, velocities), tmp_path / "grid.wav")
    freqs = [f * 2 ** j for j in range(2) for f in RR_FREQS]  # index = 4 * layer + take
    hits = played(y, len(velocities), freqs)
    assert [h // 4 for h in hits] == [0, 1] * 6, f"wrong layers: {hits}"
    for layer in (0, 1):
        takes = [h % 4 for h in hits[layer::2]]
        assert all(a != b for a, b in zip(takes, takes[1:], strict=False)), f"layer {layer} repeats: {takes}"


# ------------------------------------------------------------------------------------------------ Hydrogen


def test_layered_drumkit_xml_validates(tmp_path):
    if not SCHEMA.is_file():
        pytest.fail(f"{SCHEMA} is missing: apt-get install -y hydrogen")
    folder = unpack(export_kit("H2 Layers", [grid_pad(), layer_pad()]), tmp_path)
    run([program("xmllint"), "--noout", "--schema", str(SCHEMA), str(folder / "drumkit.xml")])
    root = ET.parse(folder / "drumkit.xml").getroot()
    kick, tom = root.iterfind(f"{NS}instrumentList/{NS}instrument")
    assert kick.findtext(f"{NS}sampleSelectionAlgo") == "ROUND_ROBIN"
    assert tom.findtext(f"{NS}sampleSelectionAlgo") == "VELOCITY"
    layers = [(e.findtext(f"{NS}filename"), float(e.findtext(f"{NS}min")), float(e.findtext(f"{NS}max")))
              for e in kick.iterfind(f"{NS}instrumentComponent/{NS}layer")]
    assert len(layers) == 8 and layers[0] == ("036_kick_v1_rr1.wav", 0.0, pytest.approx(100 / 127, abs=1e-4))
    assert layers[-1][0] == "036_kick_v2_rr4.wav" and layers[-1][2] == 1.0
    assert all((folder / f).is_file() for f, _, _ in layers)


def test_hydrogen_gets_at_most_16_layers(tmp_path):
    takes = tuple(tuple(burst(200 * (r + 1) * (j + 1)) for r in range(8)) for j in range(4))
    folder = unpack(export_kit("Big", [KitPad("kick", 36, takes[0][0], RATE, layers=takes)]), tmp_path)
    root = ET.parse(folder / "drumkit.xml").getroot()
    assert len(list(root.iter(f"{NS}layer"))) == 16  # 4 layers x the first 4 round robins
    assert len(list(folder.glob("*.wav"))) == 32  # the SFZ has them all
    assert "Hydrogen plays the first 4 of each layer" in (folder / "README.txt").read_text()


@pytest.mark.slow
def test_hydrogen_loads_and_plays_the_layered_kit(tmp_path):
    folder = unpack(export_kit("H2 Layers", [grid_pad(), layer_pad()]), tmp_path)
    home = tmp_path / "home"
    installed = install_kit(folder.parent / f"{folder.name}.zip", home)
    # 8 kicks at velocity 0.9 (the loud layer, turning through its takes), then the tom soft, medium and loud
    ticks = 24  # an eighth at 120 BPM: 0.25 s
    notes = [(0, i * ticks, 0.9) for i in range(8)] + [(1, (8 + i) * ticks, v) for i, v in enumerate((0.2, 0.6, 0.95))]
    y, log = render_hydrogen(installed, home, notes, 12 * ticks, 120, tmp_path / "hydrogen.wav")
    check_hydrogen_log(log, installed)
    assert "Unable to read" not in log
    assert peak(y) > 0.1, "Hydrogen's render is silent: it did not find the samples"
    hits = played(y, 11, [f * 2 for f in RR_FREQS] + LAYER_FREQS)
    kicks, toms = hits[:8], hits[8:]
    assert all(k < 4 for k in kicks), f"the kick played its soft layer at velocity 0.9: {kicks}"
    assert all(a != b for a, b in zip(kicks, kicks[1:], strict=False)), f"Hydrogen repeats takes: {kicks}"
    assert toms == [4, 5, 6], f"tom layers by velocity: {toms}"
