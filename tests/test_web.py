"""The browser drum machine (web/) driven by Playwright against a real `drumgen serve` on 127.0.0.1.

The page's audio graph is observed, not heard: an init script wraps AudioBufferSourceNode.start/stop and records
each source's buffer and start time; the test maps buffers back to pads through `window.drumgen.engine.buffers`.
Web MIDI is replaced by a fake input the test plays. Screenshots land in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests import web_helpers as web
from tests.web_helpers import button, open_page, shot, sound_ids, starts, write_hit

browser, page, server = web.browser, web.page, web.server  # the fixtures

pytestmark = pytest.mark.browser


# ---- tests -------------------------------------------------------------------------------------------

def test_first_kit_comes_from_the_first_model_and_pads_play_at_once(page, server):
    with urllib.request.urlopen(f"{server}/api/models") as r:
        listed = json.load(r)
    first = listed[0]["name"]
    assert page.get_by_label("Model", exact=True).input_value() == first
    # each model says its rate, and where the server extends a 22.05 kHz one's band
    offered = page.evaluate("[...document.querySelectorAll('#model option')].map(o => o.textContent)")
    def rate(m):  # "22.05 → 44.1" where the server extends the band (drumgen.dsp.extension)
        out = f" → {m['output_rate'] / 1000:g}" if m["band"].get("extended_hz") else ""
        return f"{m['sample_rate'] / 1000:g}{out}"

    assert offered == [f"{m['name']} ({m['kind']}, {rate(m)} kHz)" for m in listed]
    assert page.evaluate("drumgen.pads.every(p => p.sound.model)") is True
    shot(page, "default", full_page=True)
    button(page, "Pad 3").click()
    page.keyboard.press("5")
    got = starts(page)
    assert [s["pad"] for s in got] == [2, 4]
    # Started at the audio clock's now (within one 128-frame render quantum), not in the lookahead's future.
    assert all(s["when"] <= s["now"] + 0.003 for s in got), "a live hit must start now, not in the lookahead"
    # Each pad has its name, model and a waveform drawn from `peak`.
    assert page.locator(".pad .meta").first.inner_text().startswith(first)


def test_pad_strip_controls_reach_the_audio_graph_and_closed_hat_chokes_open_hat(page):
    # Both pads clicked in one task: the open hat (a 0.37 s tiny-model sound) must still ring when the closed hat
    # comes, and two Playwright clicks can be further apart than that on a loaded machine.
    page.evaluate("""() => ['Pad 4', 'Pad 3'].forEach((name) => document.querySelector(
        `button.hit[aria-label="${name}"]`).dispatchEvent(new PointerEvent("pointerdown", {bubbles: true})))""")
    choked = page.evaluate("window.__stops.map(s => drumgen.engine.buffers.indexOf(s.buffer))")
    assert 3 in choked
    page.get_by_label("Pad 1 tune", exact=True).fill("12")
    button(page, "Pad 1").click()
    assert starts(page)[-1]["rate"] == pytest.approx(2.0)
    page.get_by_label("Pad 1 volume", exact=True).fill("0.5")
    assert page.evaluate("drumgen.engine.strips[0].gain.gain.value") == pytest.approx(0.5)
    button(page, "Solo pad 2").click()
    assert page.evaluate("drumgen.engine.strips.map(s => s.gain.gain.value > 0)") == [False, True] + [False] * 6
    button(page, "Solo pad 2").click()
    button(page, "Mute pad 2").click()
    assert page.evaluate("drumgen.engine.strips[1].gain.gain.value") == 0
    page.get_by_label("Volume", exact=True).fill("50")
    page.get_by_label("Reverb", exact=True).fill("0")
    assert page.evaluate("[drumgen.engine.master.gain.value, drumgen.engine.send.gain.value]") == [0.25, 0]


def test_steps_toggle_with_aria_pressed_and_shift_click_accents(page):
    step = button(page, "Pad 2 step 3")
    before = step.get_attribute("aria-pressed")
    step.click()
    assert step.get_attribute("aria-pressed") != before
    if step.get_attribute("aria-pressed") == "false":
        step.click()
    assert page.evaluate("drumgen.pattern.rows[1][2]") == 100
    step.click(modifiers=["Shift"])
    assert page.evaluate("drumgen.pattern.rows[1][2]") == 127
    button(page, "Clear").click()
    assert page.locator("button[aria-pressed=true][data-step]").count() == 0
    page.get_by_label("Steps", exact=True).select_option("32")
    assert button(page, "Pad 8 step 32").count() == 1


def _play_two_steps(page, bpm: int, swing: int) -> float:
    """Pattern: pad 1 on steps 1 and 2; returns the gap between the first two scheduled hits (seconds)."""
    button(page, "Clear").click()
    button(page, "Pad 1 step 1").click()
    button(page, "Pad 1 step 2").click()
    page.get_by_label("Tempo", exact=True).fill(str(bpm))
    page.get_by_label("Tempo", exact=True).dispatch_event("change")
    page.get_by_label("Swing", exact=True).fill(str(swing))
    page.evaluate("window.__starts = []")
    button(page, "▶ Play").click()
    page.wait_for_function("window.__starts.length >= 3", timeout=5000)
    button(page, "■ Stop").click()
    got = [s for s in starts(page) if s["pad"] == 0]
    assert all(s["when"] > s["now"] for s in got), "sequenced hits go through the lookahead"
    return got[1]["when"] - got[0]["when"]


def test_play_stop_and_tempo_and_swing_change_the_schedule(page):
    assert _play_two_steps(page, 120, 50) == pytest.approx(0.125, abs=1e-9)
    # 150 BPM, 66 %: the odd 16th starts 2 * 0.1 s * 0.66 after its pair.
    assert _play_two_steps(page, 150, 66) == pytest.approx(0.132, abs=1e-9)
    n = page.evaluate("window.__starts.length")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__starts.length") == n, "Stop must stop scheduling"
    # Space plays; the playhead moves on animation frames.
    page.get_by_label("Tempo", exact=True).fill("120")
    page.get_by_label("Tempo", exact=True).dispatch_event("change")
    page.evaluate("document.activeElement.blur()")  # keys typed into the Tempo box are not shortcuts
    page.keyboard.press("Space")
    page.wait_for_selector(".step.now", timeout=3000)
    assert button(page, "▶ Play").get_attribute("aria-pressed") == "true"
    shot(page, "playing", full_page=True)
    page.keyboard.press("Space")
    assert page.evaluate("drumgen.scheduler.playing") is False


def test_tap_tempo(page):
    taps = []
    for _ in range(4):
        button(page, "Tap tempo").click()
        taps.append(page.evaluate("performance.now()"))
        page.wait_for_timeout(400)
    bpm = int(page.get_by_label("Tempo", exact=True).input_value())
    mean_gap = (taps[-1] - taps[0]) / 3  # what the page saw, whatever the machine's load added to the 400 ms
    assert abs(bpm - 60000 / mean_gap) <= 0.12 * bpm


def test_new_kit_fetches_eight_sounds_in_one_request_lock_and_undo(page):
    requests = []
    page.on("request", lambda r: requests.append(r) if r.url.endswith("/api/sample") else None)
    old = sound_ids(page)
    button(page, "New kit").click()
    page.wait_for_function(f"drumgen.pads.every((p, i) => p.sound.id !== {json.dumps(old)}[i])")
    body = json.loads(requests[0].post_data)
    assert len(requests) == 1 and body["n"] == 8 and body["audio"] is True  # the 8 WAVs come in the same answer
    assert not page.evaluate("performance.getEntriesByType('resource').some((e) => "
                             f"{json.dumps(sound_ids(page))}.some((id) => e.name.includes(id)))"), "no WAV fetched"
    assert page.evaluate("drumgen.pads.every((p) => p.sound.wav === undefined)"), "pads keep ids, not audio"
    # a conditional model is asked for each pad's slot class: kick on pad 1, snare on pad 2, hats on 3
    assert body["labels"][:3] == ["kick", "snare", "hihat"] and len(body["labels"]) == 8
    assert page.evaluate("drumgen.pads.slice(0, 3).map((p) => p.sound.label)") == ["kick", "snare", "hihat"]
    kit = sound_ids(page)
    button(page, "Lock pad 1").click()
    button(page, "New kit").click()
    page.wait_for_function(f"drumgen.pads[1].sound.id !== {json.dumps(kit[1])}")
    assert json.loads(requests[1].post_data)["n"] == 7
    assert sound_ids(page)[0] == kit[0]
    # the page says what happened (after a model switch it had said "press New kit to hear it")
    page.wait_for_function("document.querySelector('#status').textContent.includes('7 unlocked pads')")
    page.locator("#undo").click()
    page.wait_for_function(f"drumgen.pads[1].sound.id === {json.dumps(kit[1])}")
    assert sound_ids(page) == kit
    # Shift+2 and the pad's New button each give that pad a new sound.
    page.keyboard.press("Shift+Digit2")
    page.wait_for_function(f"drumgen.pads[1].sound.id !== {json.dumps(kit[1])}")
    button(page, "New sound for pad 3").click()
    page.wait_for_function(f"drumgen.pads[2].sound.id !== {json.dumps(kit[2])}")
    label = page.evaluate("drumgen.pads[3].sound.label")
    with page.expect_request("**/api/sample") as req:
        button(page, "New sound of the same class for pad 4").click()
    assert json.loads(req.value.post_data) == {"model": page.get_by_label("Model", exact=True).input_value(),
                                               "n": 1, "label": label, "audio": True}


def test_morph_slider_and_xy_pad_make_new_sounds_that_go_on_a_pad(page):
    calls = []
    page.on("request", lambda r: calls.append(r.url.rsplit("/", 1)[-1]) if "/api/" in r.url else None)
    page.evaluate("window.__starts = []")
    t = page.get_by_label("Morph t", exact=True)
    t.fill("0.3")
    t.dispatch_event("change")
    page.wait_for_function("drumgen.morph.result !== null")
    assert "interpolate" in calls
    page.wait_for_function("window.__starts.length > 0")
    assert starts(page)[-1]["pad"] == -1  # auditioned, not on a pad yet
    first = page.evaluate("drumgen.morph.result.id")
    page.get_by_label("Put on which pad", exact=True).select_option("4")
    button(page, "Put on pad").click()
    page.wait_for_function(f"drumgen.pads[4].sound.id === {json.dumps(first)}")
    box = page.get_by_role("slider", name="XY pad").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2)
    page.wait_for_function(f"drumgen.morph.result.id !== {json.dumps(first)}")
    assert "mix4" in calls
    shot(page.locator("#morph"), "morph")


def test_resynthesis_keeps_original_and_resynth_with_ab(page, tmp_path):
    wav = write_hit(tmp_path / "my_snare.wav")
    old = sound_ids(page)[5]
    page.get_by_label("Re-synthesize a file on pad 6", exact=True).set_input_files(str(wav))
    page.wait_for_function(f"drumgen.pads[5].sound.id !== {json.dumps(old)} && drumgen.pads[5].pair")
    resynth = page.evaluate("drumgen.pads[5].sound.id")
    ab = button(page, "A/B pad 6")
    ab.click()
    page.wait_for_function("drumgen.pads[5].sound === drumgen.pads[5].pair.original")
    button(page, "Pad 6").click()
    assert starts(page)[-1]["pad"] == 5
    ab.click()
    page.wait_for_function(f"drumgen.pads[5].sound.id === {json.dumps(resynth)}")


def test_exports_download_files_that_parse(page):
    mido = pytest.importorskip("mido")
    sf = pytest.importorskip("soundfile")
    with page.expect_download() as d:
        button(page, "Export MIDI").click()
    mid = mido.MidiFile(d.value.path())
    hits = page.evaluate("drumgen.pattern.rows.flat().filter(v => v > 0).length")
    notes = [m for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0]
    assert len(notes) == hits
    with page.expect_download() as d:
        button(page, "Export kit").click()
    with zipfile.ZipFile(d.value.path()) as z:
        wavs = [n for n in z.namelist() if n.endswith(".wav")]
        assert len(wavs) == 8
        x, rate = sf.read(io.BytesIO(z.read(wavs[0])))
        assert rate == 44100 and len(x) > 0
    with page.expect_download() as d:
        button(page, "Save WAV pad 1").click()
    x, rate = sf.read(d.value.path())
    assert rate == page.evaluate("drumgen.pads[0].sound.sample_rate")  # the model's own rate, as the server says
    assert len(x) > 0 and d.value.suggested_filename.endswith(".wav")


def test_fake_midi_input_plays_pads_and_learns(page):
    button(page, "Enable MIDI").click()
    page.wait_for_function("document.querySelector('#midi-status').textContent.includes('Fake Pads')")
    page.evaluate("""() => {
      window.__hits = [];
      const trigger = drumgen.engine.trigger.bind(drumgen.engine);
      drumgen.engine.trigger = (pad, when, velocity) => { window.__hits.push([pad, velocity]); return trigger(pad, when, velocity); };
    }""")
    table = page.evaluate("drumgen.table")
    notes = {t["slot"]: t["note"] for t in table}
    page.evaluate(f"__midi([0x99, {notes['kick']}, 127])")   # the kick's note on channel 10 -> pad 1
    page.evaluate(f"__midi([0x90, {notes['crash']}, 64])")   # any channel; velocity sets gain
    page.evaluate(f"__midi([0x90, {notes['snare']}, 127])")  # a controller's GM snare plays the snare pad
    page.evaluate("__midi([0x90, 43, 127])")                   # no pad's note: nothing
    page.evaluate(f"__midi([0x80, {notes['kick']}, 0])")     # note-off: nothing
    hits = page.evaluate("window.__hits")
    assert [h[0] for h in hits] == [0, 7, 1]
    assert hits[1][1] == pytest.approx(64 / 127)
    button(page, "MIDI learn pad 2").click()
    page.evaluate("__midi([0x90, 60, 100])")  # learned, not played
    page.evaluate("__midi([0x90, 60, 100])")
    assert page.evaluate("window.__hits.map(h => h[0])") == [0, 7, 1, 1]
    assert page.evaluate("drumgen.pads[1].note") == 60
    assert page.get_by_label("Pad 2 note", exact=True).input_value() == "60"


def test_session_saves_and_loads_round_trip(browser, server, page):
    page.get_by_label("Tempo", exact=True).fill("97")
    page.get_by_label("Tempo", exact=True).dispatch_event("change")
    button(page, "Pad 7 step 5").click()
    page.get_by_label("Pad 2 volume", exact=True).fill("0.4")
    with page.expect_download() as d:
        button(page, "Save session").click()
    data = json.loads(Path(d.value.path()).read_text())
    assert data["pattern"]["bpm"] == 97 and len(data["pads"]) == 8
    assert all(p["model"] and p["latent"] for p in data["pads"])
    other = open_page(browser, server)
    decodes = []
    other.on("request", lambda r: decodes.append(r) if r.url.endswith("/api/decode") else None)
    other.get_by_label("Load session", exact=True).set_input_files(d.value.path())
    other.wait_for_function("document.querySelector('#tempo').value === '97'")
    other.wait_for_function(f"drumgen.pads.every((p, i) => JSON.stringify(p.sound.latent) === "
                            f"JSON.stringify({json.dumps([p['latent'] for p in data['pads']])}[i]))")
    assert len(decodes) == 8
    assert other.evaluate("drumgen.pattern.rows") == [t["steps"] for t in data["pattern"]["tracks"]]
    assert other.evaluate("drumgen.engine.settings[1].volume") == pytest.approx(0.4)
    # The last session also survives a reload, from localStorage.
    other.wait_for_timeout(500)
    other.reload()
    other.evaluate("window.drumgen.ready")
    assert other.get_by_label("Tempo", exact=True).input_value() == "97"
    other.context.close()


def test_errors_are_shown_in_words(page, tmp_path):
    alert = page.get_by_role("alert")
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    page.get_by_label("Re-synthesize a file on pad 2", exact=True).set_input_files(str(bad))
    page.wait_for_function("document.querySelector('#alert').textContent.length > 0")
    assert "rejected" in alert.inner_text().lower()
    page.route("**/api/sample", lambda r: r.fulfill(status=503, headers={"Retry-After": "3"},
                                                  content_type="application/json", body='{"detail": "busy"}'))
    button(page, "New kit").click()
    page.wait_for_function("document.querySelector('#alert').textContent.includes('busy')")
    assert "try again in 3 s" in alert.inner_text()
    page.unroute("**/api/sample")
    page.route("**/api/export/midi", lambda r: r.abort())
    button(page, "Export MIDI").click()
    page.wait_for_function("document.querySelector('#alert').textContent.includes('Cannot reach')")
    page.keyboard.press("?")
    assert page.get_by_role("dialog", name="Keyboard shortcuts").is_visible()


# True once "Start from" offers a model named by the JS expression `name`.
OFFERS = "[...document.querySelectorAll('#train-base option')].some(o => o.value === {})"


# Chromium does not show a multipart body with files to Playwright, so the page records each form it posts:
# the text fields of the last one are window.__form.
RECORD_FORMS = """() => {
  const send = window.fetch;
  window.fetch = (url, options = {}) => {
    if (options.body instanceof FormData) {
      window.__form = Object.fromEntries([...options.body].filter(([, v]) => typeof v === "string"));
    }
    return send(url, options);
  };
}"""


def _training_hits(tmp_path) -> list[str]:
    return [str(write_hit(tmp_path / f"{k}_{i}.wav", k, i)) for k in ("kick", "snare", "hihat") for i in range(2)]


def _start_training(page) -> dict:
    """Click Start training; the text fields the page posted to /api/train."""
    page.evaluate(RECORD_FORMS)
    with page.expect_request("**/api/train"):
        button(page, "Start training").click()
    return page.evaluate("window.__form")


def test_training_panel_uploads_follows_progress_and_uses_the_model(page, tmp_path):
    page.get_by_label("Training files", exact=True).set_input_files(_training_hits(tmp_path))
    page.get_by_label("Kind", exact=True).select_option("autoencoder")
    start_from = page.get_by_label("Start from", exact=True)
    assert start_from.input_value() == "autoencoder-tiny"  # fine-tuning is the default when a model is loaded
    start_from.select_option(label="new model (from scratch)")
    page.get_by_label("Minutes", exact=True).fill("0.05")
    page.get_by_label("Name", exact=True).fill("browser-test")
    form = _start_training(page)
    assert form["kind"] == "autoencoder" and "base" not in form
    page.wait_for_function("drumgen.trainer.history.length > 0", timeout=40000)
    use = button(page, "Use this model")
    use.wait_for(state="visible")
    page.wait_for_function("!document.querySelector('#train-use').disabled", timeout=50000)
    shot(page.locator("#train"), "training")
    # the model list refreshed: the new model can be fine-tuned next, and the user's choice of scratch stays
    page.wait_for_function(OFFERS.format("'browser-test'"))
    assert start_from.input_value() == ""
    made = page.evaluate("async () => (await (await fetch('/api/models')).json()).find(m => m.name === 'browser-test')")
    assert made["kind"] == "autoencoder" and made["summary"]["base"] is None
    use.click()
    page.wait_for_function("drumgen.pads.every(p => p.sound.model === 'browser-test')")
    assert page.get_by_label("Model", exact=True).input_value() == "browser-test"


def test_training_panel_fine_tunes_a_loaded_model_of_the_chosen_kind(page, tmp_path):
    page.get_by_label("Training files", exact=True).set_input_files(_training_hits(tmp_path))
    kind, start_from = page.get_by_label("Kind", exact=True), page.get_by_label("Start from", exact=True)
    kind.select_option("specgan")
    assert start_from.input_value() == "specgan-tiny"
    kind.select_option("wavegan")  # the choices follow the kind
    assert start_from.locator("option").all_inner_texts() == ["fine-tune wavegan-tiny", "new model (from scratch)"]
    assert start_from.input_value() == "wavegan-tiny"
    assert "Fine-tuning starts from a trained model" in page.locator("#train-base-hint").inner_text()
    page.get_by_label("Minutes", exact=True).fill("0.05")
    page.get_by_label("Name", exact=True).fill("browser-fine-tune")
    form = _start_training(page)
    assert form["kind"] == "wavegan" and form["base"] == "wavegan-tiny"
    page.wait_for_function("drumgen.trainer.model || /failed/.test(document.querySelector('#train-text').textContent)",
                           timeout=60000)
    assert page.evaluate("drumgen.trainer.model"), page.locator("#train-text").inner_text()
    tuned = page.evaluate("""async () => (await (await fetch('/api/models')).json())
                               .find(m => m.name === drumgen.trainer.model)""")
    assert tuned["kind"] == "wavegan" and tuned["summary"]["base"].endswith("wavegan-tiny")
    # the new model is offered once the model list refreshes, and the chosen base stays chosen
    page.wait_for_function(OFFERS.format("drumgen.trainer.model"))
    assert start_from.input_value() == "wavegan-tiny"


def test_narrow_screen_layout_fits(browser, server):
    page = open_page(browser, server, 390, 844)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert button(page, "Pad 8").is_visible()
    shot(page, "narrow", full_page=True)
    page.context.close()
