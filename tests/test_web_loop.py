"""The browser's loop flow: open a loop and its hits land on the pads and its groove on the grid; play it, A/B the
original, quantize, replace a pad's slice, export MIDI, the kit and the bounced audio, and get it all back from the
autosaved session."""

from __future__ import annotations

import io
import zipfile

import mido
import numpy as np
import pytest
import soundfile as sf

from drumgen.io import audio
from tests import web_helpers as web
from tests.test_loop import SR, groove

pytestmark = pytest.mark.browser
browser, server = web.browser, web.server  # the fixtures


def download(page, name: str) -> bytes:
    with page.expect_download(timeout=60000) as d:
        web.button(page, name).click()
    return open(d.value.path(), "rb").read()


@pytest.mark.parametrize("size", [(1280, 720), (390, 844)])
def test_open_loop_play_replace_export(browser, server, tmp_path, size):
    x, _ = groove(100, 0.58, 2)
    path = tmp_path / "My Beat.wav"
    path.write_bytes(audio.wav_bytes(x, SR))
    page = web.open_page(browser, server, *size)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: failed.append(f"{r.url} {r.status}") if r.status >= 400 else None)

    page.get_by_label("Open loop", exact=True).set_input_files(str(path))
    page.wait_for_function("drumgen.loop.result !== null && !drumgen.pads.some(p => p.busy)", timeout=90000)
    result = page.evaluate("drumgen.loop.result")
    n = len(result["pads"])
    assert abs(float(page.locator("#tempo").input_value()) - 100) <= 1
    assert page.locator("#swing-out").inner_text() == f"{round(result['swing'] * 100)}%"
    # the grid is the loop's pattern, its pads hold the loop's slices on the loop's notes
    state = page.evaluate("drumgen.state()")
    assert [t["steps"] for t in state["pattern"]["tracks"][:n]] == [t["steps"] for t in result["pattern"]["tracks"]]
    assert page.evaluate(f"drumgen.pads.slice(0, {n}).map(p => p.sound.id)") == [p["sound"]["id"] for p in result["pads"]]
    assert page.evaluate(f"drumgen.pads.slice(0, {n}).map(p => p.note)") == [p["note"] for p in result["pads"]]
    assert "My Beat" in page.locator("#loop-text").inner_text()
    web.shot(page, f"loop-{size[0]}")

    # as played by default; quantize 1 puts every hit on the grid
    offsets = page.evaluate("drumgen.loop.result.onsets.map(o => drumgen.loop.offset(o.pad, o.step))")
    assert any(abs(o) > 0.0005 for o in offsets)
    page.get_by_label("Quantize strength", exact=True).fill("1")
    assert page.evaluate("drumgen.loop.result.onsets.every(o => drumgen.loop.offset(o.pad, o.step) === 0)")
    assert page.locator("#loop-quantize-out").text_content() == "on the grid"

    # the sequencer plays the slices; "Play original" plays the loop itself
    web.button(page, "▶ Play").click()
    page.wait_for_function("window.__starts.some(s => s.buffer === drumgen.engine.buffers[0])", timeout=10000)
    web.button(page, "Play original").click()  # stops the sequencer, plays the file
    assert page.evaluate("!drumgen.scheduler.playing")
    page.wait_for_function(f"window.__starts.some(s => s.buffer && Math.abs(s.buffer.duration - {len(x) / SR}) < 0.05)")
    web.button(page, "Stop original").click()

    # Replace keeps the groove and swaps the sound for a new one of the slice's class
    first = result["pads"][0]
    page.get_by_role("button", name=f"Replace pad 1 with a new {first['label']}", exact=True).click()
    page.wait_for_function("drumgen.pads[0].sound.origin !== 'upload' && !drumgen.pads[0].busy", timeout=30000)
    assert page.evaluate("drumgen.pads[0].sound.label") == first["label"]
    assert page.evaluate("drumgen.state().pattern.tracks[0].steps") == result["pattern"]["tracks"][0]["steps"]

    # "Drums for this": every loop pad gets a generated drum of its class; Undo brings the slices back
    web.button(page, "Drums for this").click()
    page.wait_for_function(f"drumgen.pads.slice(1, {n}).every(p => p.sound.origin !== 'upload') && "
                           "!drumgen.pads.some(p => p.busy)", timeout=60000)
    assert page.evaluate(f"drumgen.pads.slice(0, {n}).map(p => p.sound.label)") == [p["label"] for p in result["pads"]]
    page.locator("#undo").click()
    page.wait_for_function("drumgen.pads[1].sound.origin === 'upload'")

    # exports: the .mid has the loop's notes, the kit holds the slices, the bounce is the beat as a 24-bit WAV
    mid = mido.MidiFile(file=io.BytesIO(download(page, "Export MIDI")))
    notes = {m.note for track in mid.tracks for m in track if m.type == "note_on" and m.velocity}
    assert notes == {p["note"] for p in result["pads"]}
    kit = zipfile.ZipFile(io.BytesIO(download(page, "Export kit")))
    assert any(name.endswith(".sfz") for name in kit.namelist())
    wav = sf.info(io.BytesIO(download(page, "Export audio")))
    assert wav.samplerate == 44100 and wav.channels == 2 and wav.subtype == "PCM_24"
    assert wav.duration >= 2 * 4 * 60 / result["bpm"] - 0.05  # two bars

    # the autosaved session brings the slices back as the files they are
    page.wait_for_timeout(500)
    page.reload()
    page.evaluate("window.drumgen.ready")
    page.wait_for_function("drumgen.engine.buffers.every(b => b)")
    second = page.evaluate("drumgen.pads[1].sound")
    assert second["origin"] == "upload" and second["name"] == result["pads"][1]["sound"]["name"]
    assert second["label"] == result["pads"][1]["label"]
    # and the groove: each hit's offset from the grid, at the quantize strength it had
    assert page.evaluate("drumgen.loop.quantize.value") == "1"
    assert page.evaluate("drumgen.loop.offsets.flat().some(v => Math.abs(v) > 0.0005)")
    assert page.errors == [], page.errors
    assert failed == [], failed
    page.context.close()


DROP = """([bytes, name]) => {
  const file = new File([new Uint8Array(bytes)], name, { type: "audio/wav" });
  const dt = new DataTransfer();
  dt.items.add(file);
  const target = document.querySelector(".seq");
  target.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
  target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""


def test_a_loop_dropped_on_the_grid(browser, server):
    """Dragging a file from the desktop onto the step grid opens it as a loop (a DataTransfer holding a File); a
    file with no hits in it says so and changes nothing."""
    page = web.open_page(browser, server)
    before = page.evaluate("drumgen.pads.map(p => p.sound.id)")
    page.evaluate(DROP, [list(audio.wav_bytes(np.zeros(2 * SR, np.float32), SR)), "silence.wav"])
    page.wait_for_function("document.querySelector('#alert').classList.contains('show') || "
                           "document.querySelector('#alert .text').textContent.length > 0")
    assert page.locator("#alert .text").text_content().strip()
    assert page.locator("#loop-text").inner_text().startswith("No loop yet")
    assert page.evaluate("drumgen.pads.map(p => p.sound.id)") == before
    x, _ = groove(120, 0.5, 4)
    page.evaluate(DROP, [list(audio.wav_bytes(x, SR)), "dropped break.wav"])
    page.wait_for_function("drumgen.loop.result !== null && !drumgen.pads.some(p => p.busy)", timeout=90000)
    assert "dropped break" in page.locator("#loop-text").inner_text()
    assert abs(float(page.locator("#tempo").input_value()) - 120) <= 1
    assert page.evaluate("drumgen.pads[0].sound.origin") == "upload"
    assert page.errors == [], page.errors
    page.context.close()
