"""Round robins and velocity layers in the browser: web/js/audio.js picks a pad's layer by velocity and turns
through its takes (rendered in an OfflineAudioContext, to the sample), and the page makes the takes from a pad's
settings through the server, keeps only the numbers in its session, and makes them again when it loads.
"""

from __future__ import annotations

import pytest

from drumgen.kit.pad import velocity_ranges
from tests import web_helpers as web

browser, page, server = web.browser, web.page, web.server  # the fixtures
STARTS, open_page, shot = web.STARTS, web.open_page, web.shot

pytestmark = pytest.mark.browser
RATE = 48000

# A pad with 2 layers x 3 takes; take r of layer j is DC at level (j + 1) / 10 + r / 100, so the rendered level
# says which take played; layer 0 plays at gain 0.5 through a low-pass (which passes DC unchanged).
RENDER = """
async ({ rate, velocities }) => {
  const { AudioEngine, velocityRanges } = await import("/js/audio.js");
  const spacing = 0.05;
  const ctx = new OfflineAudioContext(1, Math.ceil((velocities.length + 1) * spacing * rate), rate);
  const engine = new AudioEngine(ctx, 1);
  engine.setVolume(1);
  engine.setReverb(0);
  engine.setPad(0, { volume: 1 });
  const dc = (v) => { const b = ctx.createBuffer(1, Math.round(0.03 * rate), rate); b.getChannelData(0).fill(v); return b; };
  engine.setBuffer(0, dc(1));
  engine.setTakes(0, [0, 1].map((j) => ({ buffers: [0, 1, 2].map((r) => dc((j + 1) / 10 + r / 100)),
    gain: j ? 1 : 0.5, cutoff: j ? null : 2000 })));
  velocities.forEach((v, k) => engine.trigger(0, k * spacing, v));
  const out = (await ctx.startRendering()).getChannelData(0);
  // the level 25 ms into each hit, divided by the hit's velocity and the centred panner's sqrt(1/2) (mono out)
  return { levels: velocities.map((v, k) => out[Math.round((k * spacing + 0.025) * rate)] / v / Math.SQRT1_2),
           ranges: [1, 2, 3, 4].map(velocityRanges) };
}
"""


def take_of(level: float) -> tuple[int, int, float]:
    """(layer, take, gain) of a rendered level: layer 0 plays (0.1 + r/100) * 0.5, layer 1 0.2 + r/100."""
    for j, gain in ((1, 1.0), (0, 0.5)):
        r = round((level / gain - (j + 1) / 10) * 100)
        if 0 <= r <= 2 and abs(level - gain * ((j + 1) / 10 + r / 100)) < 2e-3:
            return j, r, gain
    raise AssertionError(f"level {level} is no take")


def test_layers_by_velocity_and_round_robins_in_turn(page):
    plain, accent = 100 / 127, 1.0
    velocities = [plain] * 6 + [accent] * 3 + [plain, accent, 30 / 127]
    got = page.evaluate(RENDER, {"rate": RATE, "velocities": velocities})
    assert got["ranges"] == [[list(r) for r in velocity_ranges(k)] for k in (1, 2, 3, 4)]  # as the kit's
    hits = [take_of(level) for level in got["levels"]]
    assert [j for j, _, _ in hits] == [0] * 6 + [1] * 3 + [0, 1, 0], "plain steps soft, accents loud"
    assert [r for _, r, _ in hits[:6]] == [0, 1, 2, 0, 1, 2], "the soft layer's takes in turn"
    assert [r for _, r, _ in hits[6:9]] == [0, 1, 2], "the loud layer turns on its own"
    assert all(a != b for a, b in zip(hits, hits[1:], strict=False)), "two neighbours played one take"
    assert hits[0][2] == 0.5 and hits[6][2] == 1.0, "the soft layer plays at its gain"


# ------------------------------------------------------------------------------------------------ the page


def set_counts(page, pad: int, round_robin: int, layers: int) -> None:
    page.get_by_role("button", name=f"Pad {pad + 1} settings").click() if page.viewport_size["width"] < 700 else None
    for label, value in (("round robins", round_robin), ("layers", layers)):
        box = page.get_by_label(f"Pad {pad + 1} {label}", exact=True)
        box.fill(str(value))
        box.dispatch_event("change")


def wait_for_takes(page, pad: int, round_robin: int, layers: int) -> None:
    page.wait_for_function(f"""() => {{ const t = drumgen.engine.takes[{pad}];
        return t && t.layers.length === {layers} && t.layers.every(l => l.buffers.length === {round_robin}); }}""",
                           timeout=60000)


@pytest.mark.parametrize("size", [(1280, 720), (390, 844)])
def test_page_makes_plays_and_restores_takes(browser, server, size):
    page = open_page(browser, server, *size)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: failed.append(f"{r.url} {r.status}") if r.status >= 400 else None)
    set_counts(page, 0, 3, 2)
    wait_for_takes(page, 0, 3, 2)
    shot(page, f"variations-{size[0]}")
    layer_buffers = page.evaluate("drumgen.engine.takes[0].layers.length")
    assert layer_buffers == 2

    # "Takes" auditions the whole set: each layer soft to hard, its round robins in turn
    page.wait_for_timeout(500)  # let a second, debounced makeTakes (one per changed count) land first
    page.evaluate("""() => { window.__aud = []; window.__pick = drumgen.engine.pick;
      const pick = drumgen.engine.pick.bind(drumgen.engine);
      drumgen.engine.pick = (pad, velocity) => { const got = pick(pad, velocity);
        const layer = drumgen.engine.takes[pad].layers.find(l => l.gain === got.gain);
        window.__aud.push({ velocity, gain: got.gain, take: layer.buffers.indexOf(got.buffer) });
        return got; }; }""")
    page.get_by_role("button", name="Audition pad 1's takes, soft to hard").click()
    page.wait_for_function("window.__aud.length >= 6")
    heard = page.evaluate("() => { drumgen.engine.pick = window.__pick; return window.__aud; }")
    assert [a["take"] for a in heard] == [0, 1, 2, 0, 1, 2], heard
    assert heard[0]["gain"] < heard[3]["gain"] == 1 and heard[2]["velocity"] < heard[3]["velocity"], heard
    assert "2 layer(s) x 3 round robin(s)" in page.locator("#status").inner_text()

    # Web MIDI: plain hits (velocity 100) turn through the soft layer, accents (127) play the loud one
    if size[0] < 700:
        page.get_by_role("button", name="Pad 1 settings").click()  # fold the pad's settings away again
    page.get_by_role("button", name="Enable MIDI", exact=True).click()
    page.wait_for_function("document.querySelector('#midi-status').textContent.includes('Fake Pads')")
    note = page.evaluate("drumgen.pads[0].note")
    # fallback layers share their takes' buffers (gain and low-pass make them soft): record what each hit picks
    page.wait_for_timeout(500)  # let a second, debounced makeTakes (one per changed count) land first
    page.evaluate("""() => { window.__picks = []; drumgen.engine.takes[0].next.fill(0);
      const pick = drumgen.engine.pick.bind(drumgen.engine);
      drumgen.engine.pick = (pad, velocity) => { const got = pick(pad, velocity);
        const layer = drumgen.engine.takes[pad].layers.find(l => l.gain === got.gain);
        window.__picks.push({ pad, gain: got.gain, take: layer.buffers.indexOf(got.buffer) });
        return got; }; }""")
    for velocity in [100] * 4 + [127] * 3:
        page.evaluate(f"window.__midi([0x99, {note}, {velocity}])")
    page.wait_for_function("window.__picks.length >= 7")
    picks = page.evaluate("window.__picks")
    gains = page.evaluate("drumgen.engine.takes[0].layers.map(l => l.gain)")
    assert gains[0] < gains[1] == 1, gains
    assert [p["gain"] for p in picks] == [gains[0]] * 4 + [1] * 3, picks
    assert [p["take"] for p in picks] == [0, 1, 2, 0, 0, 1, 2], picks
    heard = page.evaluate("() => window.__starts.slice(-7).map(s => s.buffer === drumgen.engine.buffers[0])")
    assert heard == [True, False, False, True, True, False, False], "a start per hit, takes in turn"

    # the session keeps the numbers, never the takes' audio; a reload makes the same takes again
    saved = page.evaluate("drumgen.state().pads[0]")
    assert saved["settings"]["roundRobin"] == 3 and saved["settings"]["velocityLayers"] == 2
    assert "takes" not in saved and "wav" not in str(saved.get("upload"))
    ids = page.evaluate("drumgen.engine.takes[0].layers.map(l => l.buffers.length)")
    page.wait_for_timeout(400)  # the autosave waits 300 ms
    page.reload()
    page.evaluate("window.drumgen.ready")
    wait_for_takes(page, 0, 3, 2)
    assert page.evaluate("drumgen.engine.takes[0].layers.map(l => l.buffers.length)") == ids
    assert page.evaluate("drumgen.engine.settings[0].roundRobin") == 3
    assert page.errors == [], page.errors
    assert failed == [], failed
    page.context.close()
