"""The sequencer's timing, proven to the sample: web/js/scheduler.js drives an OfflineAudioContext.

No drumgen server is needed: web/ is served by a tiny static server in a thread, and the page imports the same
ES modules the drum machine uses (scheduler.js and audio.js). The timer is replaced by ctx.suspend() callbacks
every `interval` seconds of audio time, so tick() runs exactly as the 25 ms timer would run it online. Each step
of one bar triggers a 64-sample DC click through the real AudioEngine; the test finds the rising edges in the
rendered buffer and compares them with the MPC swing formula: odd 16th at pair_start + 2 * sixteenth * swing.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests import web_helpers as web

pytestmark = pytest.mark.browser

browser, static_url, page = web.browser, web.static_url, web.blank_page  # Chromium, web/ as files, a blank page
SAMPLE_RATE = 48000


# Renders one bar (16 steps) through the real Scheduler and AudioEngine; returns the rising edges (samples).
RENDER = """
async ({bpm, swing, sampleRate, pattern, tempoChangeAt}) => {
  const { Scheduler } = await import("/js/scheduler.js");
  const { AudioEngine } = await import("/js/audio.js");
  const bar = 4 * 60 / bpm;
  const ctx = new OfflineAudioContext(1, Math.ceil((bar * 2 + 0.3) * sampleRate), sampleRate);
  const engine = new AudioEngine(ctx, 1);
  engine.setVolume(1);
  engine.setReverb(0);
  engine.setPad(0, { volume: 1 });
  const click = ctx.createBuffer(1, 64, sampleRate);
  click.getChannelData(0).fill(1);
  engine.setBuffer(0, click);
  let scheduled = 0;
  const s = new Scheduler({ ctx, bpm, swing, length: () => 16, onStep: (step, when) => {
    if (scheduled >= 16) return;             // one bar only
    scheduled += 1;
    if (pattern[step]) engine.trigger(0, when, 1);
    if (tempoChangeAt !== null && scheduled === tempoChangeAt) s.bpm = bpm * 2;
  }});
  s.start(0, { timer: false });
  // The online timer fires every `interval`; here the audio clock itself wakes tick() at the same spacing.
  for (let k = 1; k * s.interval < bar * 2; k++) {
    ctx.suspend(k * s.interval).then(() => { s.tick(); ctx.resume(); });
  }
  const out = (await ctx.startRendering()).getChannelData(0);
  const edges = [];
  for (let i = 0; i < out.length; i++) if (out[i] > 0.3 && (i === 0 || out[i - 1] <= 0.3)) edges.push(i);
  return edges;
}
"""


def expected_onsets(bpm: int, swing: float, pattern: list[int]) -> list[int]:
    """Onset samples from the MPC rule, in exact arithmetic: step k of pair p at 2*p*six (+ 2*six*swing if odd)."""
    six = Fraction(60, bpm * 4)
    s = Fraction(swing).limit_denominator(1000)
    onsets = []
    for step, on in enumerate(pattern):
        if on:
            t = 2 * six * (step // 2) + (2 * six * s if step % 2 else 0)
            onsets.append(round(t * SAMPLE_RATE))
    return onsets


@pytest.mark.parametrize("bpm", [90, 120, 150])
@pytest.mark.parametrize("swing", [0.5, 0.66])
def test_every_onset_lands_on_the_expected_sample(page, bpm, swing):
    pattern = [1] * 16
    got = page.evaluate(RENDER, {"bpm": bpm, "swing": swing, "sampleRate": SAMPLE_RATE, "pattern": pattern,
                                 "tempoChangeAt": None})
    want = expected_onsets(bpm, swing, pattern)
    assert got == want, f"{bpm} BPM swing {swing}: first differences {[(g, w) for g, w in zip(got, want, strict=False) if g != w][:4]}"


def test_swing_moves_only_the_odd_sixteenths(page):
    pattern = [1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    args = {"bpm": 120, "sampleRate": SAMPLE_RATE, "pattern": pattern, "tempoChangeAt": None}
    straight = page.evaluate(RENDER, {**args, "swing": 0.5})
    swung = page.evaluate(RENDER, {**args, "swing": 0.75})
    assert straight == expected_onsets(120, 0.5, pattern)
    assert swung == expected_onsets(120, 0.75, pattern)
    hits = [i for i, on in enumerate(pattern) if on]
    moved = {step for step, a, b in zip(hits, straight, swung, strict=True) if a != b}
    assert moved == {i for i in hits if i % 2}
    # 0.75 at 120 BPM: an odd 16th moves by 0.25 * 2 * 0.125 s = 3000 samples at 48 kHz.
    assert all(b - a in (0, 3000) for a, b in zip(straight, swung, strict=True))


def test_a_tempo_change_takes_effect_at_the_next_pair(page):
    # After the 4th step (end of pair 1) the tempo doubles: pairs 2.. are half as long, measured from there.
    got = page.evaluate(RENDER, {"bpm": 120, "swing": 0.5, "sampleRate": SAMPLE_RATE, "pattern": [1] * 16,
                                 "tempoChangeAt": 4})
    six = 6000  # samples per 16th at 120 BPM, 48 kHz
    want = [0, six, 2 * six, 3 * six] + [4 * six + k * six // 2 for k in range(12)]
    assert got == want


# One hit of a 0.5 s DC buffer through the real AudioEngine with the pad's decay below 1: it must sound, then end.
DECAY = """
async ({sampleRate, decay}) => {
  const { AudioEngine } = await import("/js/audio.js");
  const ctx = new OfflineAudioContext(1, sampleRate, sampleRate);
  const engine = new AudioEngine(ctx, 1);
  engine.setVolume(1);
  engine.setReverb(0);
  engine.setPad(0, { volume: 1, decay });
  const hit = ctx.createBuffer(1, sampleRate / 2, sampleRate);
  hit.getChannelData(0).fill(1);
  engine.setBuffer(0, hit);
  let error = null;
  try { engine.trigger(0, 0.1, 1); } catch (e) { error = `${e.name}: ${e.message}`; }
  const out = (await ctx.startRendering()).getChannelData(0);
  const last = out.findLastIndex((v) => Math.abs(v) > 1e-4);
  return { error, peak: Math.max(...out.slice(0, sampleRate / 2)), last };
}
"""


@pytest.mark.parametrize("decay", [1.0, 0.5, 0.05])
def test_a_shorter_decay_still_sounds_and_ends_sooner(page, decay):
    got = page.evaluate(DECAY, {"sampleRate": SAMPLE_RATE, "decay": decay})
    assert got["error"] is None
    assert got["peak"] > 0.5, "the hit must sound"
    # it ends by 0.1 s + decay * 0.5 s (+ the 5 ms tail of the stop)
    assert got["last"] <= round((0.1 + decay * 0.5 + 0.006) * SAMPLE_RATE)
