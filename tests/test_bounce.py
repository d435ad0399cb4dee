"""drumgen.kit.bounce and POST /api/export/audio: the beat as the browser plays it, as a stereo 24-bit WAV.

Unit tests on clicks at known steps (timing to the sample, velocity, pan, mute/solo, tune, decay, takes, choke,
tails, the peak guard); the loop round trip (a loop from synthesized hits -> drumgen.loop.analyse -> the bounce
of the recovered beat with the loop's own slices lines up with the loop and sounds like it; one pad replaced
changes only that pad's hits); and the route on a real server.
"""

from __future__ import annotations

import io
import math

import httpx
import numpy as np
import pytest
import soundfile as sf
import torch

from drumgen import loop
from drumgen.dsp import synth
from drumgen.dsp.spectral import log_spectral_distance_db
from drumgen.io import audio
from drumgen.kit.bounce import BounceError, bounce, bounce_wav, loop_samples, pan_gains, played
from drumgen.kit.export import KitError
from drumgen.kit.one_shots import decay_envelope
from drumgen.kit.pad import KitPad
from drumgen.loop.grid import grid_time
from drumgen.pattern import Pattern
from tests.test_loop import groove

SR = 44100
CENTRE = math.cos(math.pi / 4)  # a centred pad's gain in each channel


def click(n: int = 4000, level: float = 1.0) -> np.ndarray:
    """A single-sample click followed by silence: where it lands is where the hit starts."""
    x = np.zeros(n, np.float32)
    x[0] = level
    return x


def beat(rows: dict[int, dict[int, int]], bpm: float = 97.0, swing: float = 0.62, steps: int = 16) -> Pattern:
    """{note: {step: velocity}} -> a Pattern."""
    tracks = [{"note": note, "steps": [hits.get(s, 0) for s in range(steps)]} for note, hits in rows.items()]
    return Pattern.from_dict({"bpm": bpm, "swing": swing, "steps": steps, "tracks": tracks})


def dry(pads, pattern, **kw) -> np.ndarray:
    return bounce(pads, pattern, tails=kw.pop("tails", "cut"), peak=None, **kw)


# ------------------------------------------------------------------------------------------------ units


def test_each_hit_lands_on_its_swung_step_to_the_sample():
    steps = {0: 127, 3: 127, 6: 127, 11: 127, 15: 127}
    p = beat({36: steps})
    y = dry([KitPad("kick", 36, click(), SR)], p)
    assert y.shape == (2, loop_samples(p)) and y.dtype == np.float32
    assert loop_samples(p) == round(16 * 15 / 97 * SR)
    got = np.flatnonzero(np.abs(y[0]) > 1e-6)
    want = [round(grid_time(s, 97.0, 0.62) * SR) for s in steps]
    assert list(got) == want
    assert np.allclose(y[:, got], CENTRE)  # velocity 127 at volume 1, centred: -3 dB a channel


def test_velocity_volume_and_pan():
    p = beat({36: {0: 127, 8: 64}})
    y = dry([KitPad("kick", 36, click(), SR, volume=0.5)], p)
    a, b = round(grid_time(0, 97, 0.62) * SR), round(grid_time(8, 97, 0.62) * SR)
    assert y[0, a] == pytest.approx(0.5 * CENTRE) and y[0, b] == pytest.approx(0.5 * CENTRE * 64 / 127)
    left = dry([KitPad("kick", 36, click(), SR, pan=-1.0)], p)
    assert left[0, a] == pytest.approx(1.0) and abs(left[1, a]) < 1e-7
    half = dry([KitPad("kick", 36, click(), SR, pan=0.5)], p)
    gl, gr = pan_gains(0.5)
    assert half[1, a] > half[0, a] and half[0, a] / half[1, a] == pytest.approx(gl / gr, rel=1e-5)
    assert gl**2 + gr**2 == pytest.approx(1.0)  # equal power, as a StereoPannerNode


def test_mute_and_solo():
    p = beat({36: {0: 100}, 38: {4: 100}})
    kick, snare = round(grid_time(0, 97, 0.62) * SR), round(grid_time(4, 97, 0.62) * SR)
    pads = [KitPad("kick", 36, click(), SR), KitPad("snare", 38, click(), SR)]
    muted = dry([pads[0]._replace(mute=True), pads[1]], p)
    assert muted[0, kick] == 0 and muted[0, snare] > 0
    soloed = dry(pads, p, solo={0})
    assert soloed[0, kick] > 0 and soloed[0, snare] == 0
    with pytest.raises(BounceError, match="muted"):
        dry([pads[0]._replace(mute=True), pads[1]], p, solo={0})


def test_tune_and_decay():
    t = np.arange(SR // 4) / SR
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    p = beat({45: {0: 127}}, swing=0.5)
    up = dry([KitPad("tom", 45, tone, SR, tune=12.0)], p)[0]
    assert np.count_nonzero(up) == pytest.approx(tone.size / 2, abs=2)  # an octave up plays twice as fast
    spectrum = np.abs(np.fft.rfft(up))
    assert np.fft.rfftfreq(up.size, 1 / SR)[np.argmax(spectrum)] == pytest.approx(2000, abs=5)
    short = dry([KitPad("tom", 45, tone, SR, decay=0.2)], p)[0]
    env = decay_envelope(tone, SR, 0.2)
    assert env.size == round((0.2 * 0.25 + 0.005) * SR)  # cut at decay * length + 5 ms, as audio.js stops it
    assert np.allclose(short[: env.size], CENTRE * env, atol=1e-6) and not short[env.size:].any()
    assert np.allclose(played(tone, SR, 0.0, 1.0), tone)


def test_velocity_layers_and_round_robins_turn_as_the_browser_does():
    # 2 layers x 2 round robins; take (layer j, round robin r) is a click of level 0.1 * (1 + 2j + r)
    layers = tuple(tuple(click(level=0.1 * (1 + 2 * j + r)) for r in range(2)) for j in range(2))
    pad = KitPad("snare", 38, layers[1][0], SR, layers=layers)
    vel = {0: 127, 2: 127, 4: 40, 6: 127, 8: 40, 10: 100}
    y = dry([pad], beat({38: vel}))[0]
    got = [y[round(grid_time(s, 97, 0.62) * SR)] / CENTRE / (v / 127) for s, v in vel.items()]
    # layer 2 answers 101..127 (hard), layer 1 0..100; each layer turns through its takes from the first
    assert np.allclose(got, [0.3, 0.4, 0.1, 0.3, 0.2, 0.1], atol=1e-6)


def test_hats_choke_each_other():
    ring = np.full(SR, 0.5, np.float32)  # an open hat that rings a second
    p = beat({46: {0: 127}, 42: {4: 127}}, swing=0.5)
    pads = [KitPad("open hat", 46, ring, SR), KitPad("closed hat", 42, click(), SR)]
    cut = round(grid_time(4, 97, 0.5) * SR)
    y = dry(pads, p)[0]
    assert y[cut - 200] == pytest.approx(0.5 * CENTRE)
    assert y[cut - 10] < 0.5 * 0.5 * CENTRE  # fading to the choke
    assert y[cut] == pytest.approx(CENTRE) and not y[cut + 1:].any()  # the closed hat's click, then silence
    free = dry(pads, p, choke=False)[0]
    assert free[cut + 1] == pytest.approx(0.5 * CENTRE)
    # a kick does not choke a hat
    kick = dry([pads[0], KitPad("kick", 36, click(), SR)], beat({46: {0: 127}, 36: {4: 127}}, swing=0.5))[0]
    assert kick[cut + 1] == pytest.approx(0.5 * CENTRE)


def test_tails_wrap_onto_the_start_or_are_cut():
    ring = np.full(SR // 2, 0.5, np.float32)
    p = beat({49: {15: 127}}, bpm=120, swing=0.5)  # the last 16th: 125 ms before the end, rings 500 ms
    n, start = loop_samples(p), round(grid_time(15, 120, 0.5) * SR)
    wrapped = dry([KitPad("crash", 49, ring, SR)], p, tails="wrap")[0]
    assert wrapped.size == n
    assert np.allclose(wrapped[: ring.size - (n - start)], 0.5 * CENTRE)  # the tail goes on from the start
    assert np.sum(np.abs(wrapped)) == pytest.approx(ring.size * 0.5 * CENTRE, rel=1e-5)  # all of it, once
    cut = dry([KitPad("crash", 49, ring, SR)], p, tails="cut")[0]
    assert not cut[:start].any() and cut.size == n
    assert abs(cut[-1]) < 1e-3 and cut[-200] == pytest.approx(0.5 * CENTRE)  # faded into the end, no click


def test_peak_guard_turns_down_only_what_would_clip():
    pads = [KitPad(f"p{k}", 36 + k, click(level=0.9), SR) for k in range(4)]
    loud = beat({36 + k: {0: 127} for k in range(4)})  # four clicks on one sample: 4 * 0.9 * 0.707 = 2.5
    y = bounce(pads, loud)
    assert np.max(np.abs(y)) == pytest.approx(audio.PEAK, rel=1e-5)
    data, gain_db = bounce_wav(pads, loud)
    assert gain_db == pytest.approx(20 * math.log10(audio.PEAK / (4 * 0.9 * CENTRE)), abs=0.01)
    quiet = beat({36: {0: 100}})
    assert np.array_equal(bounce(pads, quiet), dry(pads, quiet)) and bounce_wav(pads, quiet)[1] == 0.0
    x, rate = sf.read(io.BytesIO(data))
    info = sf.info(io.BytesIO(data))
    assert rate == 44100 and info.channels == 2 and info.subtype == "PCM_24" and x.shape == (loop_samples(loud), 2)


def test_nothing_to_bounce_is_an_error_that_says_so():
    pad = KitPad("kick", 36, click(), SR)
    with pytest.raises(BounceError, match="no hits"):
        bounce([pad], beat({36: {}}))
    with pytest.raises(BounceError, match="muted"):
        bounce([pad._replace(mute=True)], beat({36: {0: 100}}))
    with pytest.raises(KitError, match="note 38"):
        bounce([pad], beat({38: {0: 100}}))


# ------------------------------------------------------------------------------------------------ the loop

CASES = [(100, 0.58, 2), (90, 0.5, 6)]  # a swung and a straight groove, played on the grid


def onset_times(x: np.ndarray, rise_db: float = 9.0, floor_db: float = -45.0, gap: float = 0.025) -> np.ndarray:
    """Energy onsets of mono x at SR (s): 1 ms frames whose level jumps `rise_db` over the loudest of the 10 ms
    before, within `floor_db` of the peak, at least `gap` apart; on the signal and on its first difference (a
    high-pass that lets a hat over a kick's tail jump), merged. The same simple detector reads both signals."""
    frame = SR // 1000
    found = []
    for sig in (np.asarray(x, np.float64), np.diff(np.asarray(x, np.float64), prepend=0.0)):
        n = sig.size // frame
        env = 10 * np.log10(np.mean(sig[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
        before = np.lib.stride_tricks.sliding_window_view(np.concatenate([np.full(10, -120.0), env]), 10)[:n]
        up = (env - before.max(axis=1) >= rise_db) & (env >= env.max() + floor_db)
        found.extend(np.flatnonzero(up) * frame / SR)
    out: list[float] = []
    for t in sorted(found):
        if not out or t - out[-1] >= gap:
            out.append(t)
    return np.array(out)


def mono(y: np.ndarray) -> np.ndarray:
    """The mono signal a centred stereo bounce carries (each channel is it at -3 dB)."""
    return ((y[0] + y[1]) / (2 * CENTRE)).astype(np.float32)


def distance_db(a: np.ndarray, b: np.ndarray) -> float:
    """drumgen's multi-resolution STFT distance of two mono signals, each peak-normalised (level is a fader)."""
    n = min(a.size, b.size)
    a, b = (torch.from_numpy(audio.normalize(v[:n])[None]) for v in (a, b))
    return float(log_spectral_distance_db(a, b)[0])


@pytest.fixture(scope="module", params=CASES, ids=[f"{c[0]}bpm-swing{c[1]}" for c in CASES])
def recovered(request):
    bpm, swing, seed = request.param
    x, truth = groove(bpm, swing, seed, jitter_ms=0.0)
    r = loop.analyse(x, SR)
    pads = [KitPad(p.name, p.note, p.audio, r.sample_rate) for p in r.pads]
    return x, truth, r, pads


def test_bounce_of_a_recovered_loop_lines_up_and_sounds_like_it(recovered):
    x, truth, r, pads = recovered
    # tails cut: the loop was rendered once from silence (drumgen.loop.files.render cuts what rings past its end)
    y = bounce(pads, r.pattern, tails="cut")
    assert abs(y.shape[1] - x.size) <= 0.002 * SR  # the recovered tempo's bars are the loop's length
    original, bounced = onset_times(x), onset_times(mono(y))
    gaps = []
    for t in sorted({t for t, *_ in truth}):
        o = original[np.argmin(np.abs(original - t))]
        if abs(o - t) <= 0.005:  # a hit the detector finds in the original loop ...
            gaps.append(abs(bounced[np.argmin(np.abs(bounced - o))] - o))  # ... is where the bounce has one
    gaps_ms = 1000 * np.array(gaps)
    d = distance_db(x, mono(y))
    rotated = [p._replace(audio=q.audio) for p, q in zip(pads, pads[1:] + pads[:1], strict=True)]
    wrong = distance_db(x, mono(bounce(rotated, r.pattern, tails="cut")))  # the same beat on the wrong pads
    report = (f"{r.bpm:.2f} BPM swing {r.swing:.3f}: {len(gaps)} hits, onset gap max {gaps_ms.max():.1f} ms, "
              f"median {np.median(gaps_ms):.1f} ms; STFT distance {d:.2f} dB (pads rotated: {wrong:.2f} dB)")
    print(report)
    assert len(gaps) >= 0.9 * len({t for t, *_ in truth}), report
    assert gaps_ms.max() <= 5.0, report
    assert d < 2.5 and d < 0.35 * wrong, report


def test_one_pad_replaced_changes_only_its_hits(recovered):
    x, truth, r, pads = recovered
    k = next(i for i, p in enumerate(r.pads) if p.label == "snare")
    other = synth.hit("snare", 99)
    swapped = [p if i != k else p._replace(audio=other) for i, p in enumerate(pads)]
    a, b = (bounce(ps, r.pattern, peak=None) for ps in (pads, swapped))  # peak=None: one gain would move all
    n = a.shape[1]
    inside = np.zeros(n, bool)
    track = next(t for t in r.pattern.tracks if t.note == pads[k].note)
    length = max(played(v, SR, 0.0, 1.0).size for v in (pads[k].audio, other))
    for s, v in enumerate(track.steps):
        if v:
            start = round(grid_time(s, r.pattern.bpm, r.pattern.swing) * SR)
            inside[(start + np.arange(length)) % n] = True  # tails wrap
    diff = np.abs(a - b).max(axis=0)
    assert not diff[~inside].any(), f"{int(np.count_nonzero(diff[~inside]))} samples changed outside the snare"
    assert diff[inside].max() > 0.05
    assert 0 < inside.mean() < 0.9


# ------------------------------------------------------------------------------------------------ HTTP


@pytest.fixture(scope="module")
def client(server_factory):
    srv = server_factory(labels=("kick", "snare"))
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        yield c


def test_loop_bounced_over_http(client):
    x, _ = groove(100, 0.58, 2, jitter_ms=0.0)
    r = client.post("/api/loop", files={"file": ("beat.wav", audio.wav_bytes(x, SR))})
    assert r.status_code == 200, r.text
    body = r.json()
    pads = [{"sound": p["sound"]["id"], "name": p["name"], "note": p["note"]} for p in body["pads"]]
    pads[0]["pan"] = -0.5
    got = client.post("/api/export/audio", json={"name": "My Beat", "pads": pads, "pattern": body["pattern"]})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "audio/wav"
    assert got.headers["content-disposition"] == 'attachment; filename="My_Beat.wav"'
    assert float(got.headers["x-bounce-gain-db"]) <= 0.0
    info = sf.info(io.BytesIO(got.content))
    y, rate = sf.read(io.BytesIO(got.content), always_2d=True)
    p = Pattern.from_dict(body["pattern"])
    assert rate == 44100 and info.channels == 2 and info.subtype == "PCM_24"
    assert y.shape == (round(p.steps * 15 / p.bpm * 44100), 2) and np.max(np.abs(y)) <= audio.PEAK + 1e-4
    assert abs(y.shape[0] - x.size) <= 0.002 * SR
    cut = client.post("/api/export/audio", json={"pads": pads, "pattern": body["pattern"], "tails": "cut"})
    assert cut.status_code == 200 and 'filename="beat.wav"' in cut.headers["content-disposition"]


def test_bounce_errors_over_http(client):
    hit = client.post("/api/uploads", files={"file": ("kick.wav", audio.wav_bytes(synth.hit("kick", 3), SR))})
    assert hit.status_code == 200, hit.text
    sid = hit.json()["sound"]["id"]
    pad = {"sound": sid, "name": "kick", "note": 36}
    one = {"bpm": 120, "steps": 16, "tracks": [{"note": 36, "steps": [100] + [0] * 15}]}
    empty = {"bpm": 120, "steps": 16, "tracks": [{"note": 36, "steps": [0] * 16}]}
    cases = {
        "unknown sound": ({"pads": [{**pad, "sound": "f" * 16}], "pattern": one}, 404),
        "empty pattern": ({"pads": [pad], "pattern": empty}, 422),
        "no tracks": ({"pads": [pad], "pattern": {**empty, "tracks": []}}, 422),
        "all muted": ({"pads": [{**pad, "mute": True}], "pattern": one}, 422),
        "note without pad": ({"pads": [pad], "pattern": {**one, "tracks": [{"note": 38, "steps": [90] * 16}]}},
                             422),
        "no pattern": ({"pads": [pad]}, 422),
        "bad tails": ({"pads": [pad], "pattern": one, "tails": "ring"}, 422),
    }
    for name, (body, status) in cases.items():
        r = client.post("/api/export/audio", json=body)
        assert r.status_code == status, (name, r.text)
        detail = r.json()["detail"]
        assert isinstance(detail, str) and detail, (name, detail)
    assert "no hits" in client.post("/api/export/audio", json=cases["empty pattern"][0]).json()["detail"]
    ok = client.post("/api/export/audio", json={"pads": [pad], "pattern": one})
    assert ok.status_code == 200


def test_takes_of_a_model_sound_over_http(client):
    model = client.get("/api/models").json()[0]["name"]
    sound = client.post("/api/sample", json={"model": model, "n": 1, "seed": 5}).json()["sounds"][0]
    pad = {"sound": sound["id"], "name": "snare", "note": 38, "round_robin": 2, "velocity_layers": 2, "seed": 3}
    body = {"name": "takes", "pads": [pad], "pattern": {"bpm": 150, "steps": 16, "tracks": [
        {"note": 38, "steps": [127, 0, 60, 0] * 4}]}}
    a, b = (client.post("/api/export/audio", json=body) for _ in range(2))
    assert a.status_code == 200, a.text
    assert a.content == b.content  # the takes are made again from (sound, variation, seed): the same bounce
    y, rate = sf.read(io.BytesIO(a.content), always_2d=True)
    assert rate == 44100 and y.shape == (round(16 * 15 / 150 * 44100), 2) and np.abs(y).max() > 0
