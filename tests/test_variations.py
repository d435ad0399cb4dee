"""drumgen.engine.variations: round robins and velocity layers made by the model, in Python and over HTTP.

Tiny untrained checkpoints of every kind (drumgen.testing); sounds are sampled from them or synthesised here.
"""

from __future__ import annotations

import io
import shutil
import zipfile

import httpx
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from drumgen.dsp import spectral, synth
from drumgen.engine import Engine, EngineError, Sound, variations
from drumgen.io import audio
from drumgen.models.prior import LatentBank
from drumgen.testing import make_tiny_checkpoints, tiny_kinds

LABELS = ("kick", "snare")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    make_tiny_checkpoints(folder, labels=LABELS)
    return folder


@pytest.fixture(scope="module")
def engine(folder) -> Engine:
    return Engine(folder)


NAMES = [f"{k}-tiny" for k in tiny_kinds()]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def centroid(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[0])))
    return float(np.sum(np.fft.rfftfreq(x.shape[0], 1 / rate) * spectrum) / np.sum(spectrum))


# ------------------------------------------------------------------------------------------------ round robins


@pytest.mark.parametrize("name", NAMES)
def test_variations_are_reproducible_distinct_and_of_the_class(engine, name):
    source = engine.sample(name, 1, seed=5, label="snare")[0]
    takes = variations.variations(engine, source, 4, 0.5, seed=11)
    again = variations.variations(engine, source, 4, 0.5, seed=11)
    assert len(takes) == 4
    assert all(t.model == name and t.label == "snare" for t in takes)
    assert [t.seed for t in takes] == [11, 12, 13, 14]
    for a, b in zip(takes, again, strict=True):
        assert np.array_equal(a.latent, b.latent) and np.array_equal(a.audio, b.audio)
    audios = [source.audio, *(t.audio for t in takes)]
    for i in range(len(audios)):
        for j in range(i):
            assert not np.array_equal(audios[i], audios[j]), f"takes {j} and {i} are bit-identical"
    # take i of a seed is the same whatever n is
    assert np.array_equal(variations.variations(engine, source, 2, 0.5, seed=11)[1].latent, takes[1].latent)
    limit = engine.get(name).latent_limit()
    assert all(np.abs(t.latent).max() <= max(limit, np.abs(source.latent).max()) + 1e-6 for t in takes)


@pytest.mark.parametrize("name", NAMES)
def test_variation_distance_grows_with_amount(engine, name):
    source = engine.sample(name, 1, seed=2, label="kick")[0]
    same = variations.variations(engine, source, 1, 0.0)[0]
    assert np.array_equal(same.latent, source.latent) and np.array_equal(same.audio, source.audio)
    latent, timbre = [], []
    for amount in (0.1, 0.4, 1.0):
        takes = variations.variations(engine, source, 4, amount, seed=3)
        latent.append(np.mean([np.linalg.norm(t.latent - source.latent) for t in takes]))
        x, y = same_length([t.audio for t in takes], source.audio)
        timbre.append(envelope_distance(x, y, engine.get(name).config.sample_rate))
    assert latent[0] < latent[1] < latent[2], latent
    assert timbre[0] < timbre[2], timbre


def same_length(takes: list[np.ndarray], source: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Takes and the source as [n, T] tensors, zero-padded to the longest (each sound ends where it does)."""
    n = max(len(source), *(len(t) for t in takes))
    pad = [np.pad(a, (0, n - len(a))) for a in (*takes, source)]
    return torch.from_numpy(np.stack(pad[:-1])), torch.from_numpy(np.stack([pad[-1]] * len(takes)))


def envelope_distance(x: torch.Tensor, y: torch.Tensor, rate: int) -> float:
    """Mean absolute difference of 32-band log-mel energies: the timbre and envelope, not the fine spectrum. A model
    whose noise is drawn per sound (the autoencoder's) gives every take its own noise, as real round robins are,
    so their fine spectra differ at any amount; what should grow with the amount is this."""
    mx, my = (spectral.log_mel(a, rate, 1024, 256, 32) for a in (x, y))
    return float((mx - my).abs().mean())


def test_variation_spread_is_the_classes_stored_spread(folder):
    engine = Engine(folder)
    model = engine.get("wavegan-tiny")
    g = torch.Generator().manual_seed(0)
    z = torch.cat([0.01 * torch.randn(8, model.latent_size, generator=g),  # kicks: tight
                   0.5 * torch.randn(8, model.latent_size, generator=g)])  # snares: wide
    model.prior = LatentBank(16, model.latent_shape)
    model.prior.store(z, np.array([0] * 8 + [1] * 8))
    kick = variations.latent_spread(engine, "wavegan-tiny", "kick")
    snare = variations.latent_spread(engine, "wavegan-tiny", "snare")
    assert torch.allclose(kick, z[:8].std(0).clamp_min(1e-3)) and float(snare.mean()) > 10 * float(kick.mean())


def test_uploads_have_no_latent(engine):
    upload = Sound.upload("mine.wav", synth.hit("kick", 0), 44100)
    with pytest.raises(EngineError, match="no latent"):
        variations.variations(engine, upload, 2, 0.3)
    with pytest.raises(EngineError, match="no latent"):
        variations.velocity_layers(engine, upload, 2)


# ------------------------------------------------------------------------------------------------ velocity layers


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [2, 3, 4])
def test_layers_rise_in_level_and_brightness(engine, name, k):
    source = engine.sample(name, 1, seed=9, label="kick")[0]
    layers = variations.velocity_layers(engine, source, k)
    assert [lay.velocity for lay in layers][-1] == (101, 127)  # accents play the hard layer
    assert np.array_equal(layers[-1].audio, source.audio)  # the hard layer is the sound itself
    rate = source.sample_rate
    levels = [rms(lay.audio) for lay in layers]
    brightness = [centroid(lay.audio, rate) for lay in layers]
    assert levels == sorted(levels) and len(set(levels)) == k, levels
    assert brightness == sorted(brightness) and len(set(brightness)) == k, brightness


def test_one_pole_lowpass_is_gentle_and_darkens():
    x = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    assert centroid(variations.one_pole_lowpass(x, 22050, 500), 22050) < 0.6 * centroid(x, 22050)
    impulse = np.zeros(22050, np.float32)
    impulse[0] = 1
    response = np.abs(np.fft.rfft(variations.one_pole_lowpass(impulse, 22050, 500)))  # 1 Hz bins
    assert response[500] == pytest.approx(2 ** -0.5, abs=0.05)  # -3 dB at the cutoff
    assert response[4000] / response[2000] == pytest.approx(0.5, abs=0.08)  # 6 dB an octave


def test_learned_direction_moves_the_latent(folder, tmp_path):
    shutil.copytree(folder / "autoencoder-tiny", tmp_path / "ae")
    engine, name = Engine.of(tmp_path / "ae", tagger=False)
    size = engine.get(name).latent_size
    d = torch.linspace(-1, 1, size)
    save_file({"direction/kick": d, "level_db/kick": torch.tensor(-18.0)}, str(tmp_path / "ae" / "velocity.safetensors"))
    source = engine.sample(name, 1, seed=1, label="kick")[0]
    layers = variations.velocity_layers(engine, source, 2)
    soft = 1 - 50 / 127  # layer 1 of 2 answers 0..100
    held = engine.get(name).held_latent()  # the noise seed: a softer layer keeps the sound's own noise
    assert held is not None and held.sum() == 1
    moved = torch.where(held, torch.zeros_like(d), d)
    assert np.allclose(layers[0].sound.latent, source.latent - soft * moved.numpy(), atol=1e-5)
    assert layers[0].cutoff_hz is None and layers[0].gain == pytest.approx(10 ** (soft * -18 / 20))
    snare = engine.sample(name, 1, seed=1, label="snare")[0]  # no direction, no level for snares: the fallback
    layer = variations.velocity_layers(engine, snare, 2)[0]
    assert layer.cutoff_hz is not None and layer.gain == pytest.approx(10 ** (soft * -12 / 20))
    # a level measured without a kept direction: the low-pass at the measured level
    save_file({"direction/kick": d, "level_db/kick": torch.tensor(-18.0), "level_db/all": torch.tensor(-6.0)},
              str(tmp_path / "ae" / "velocity.safetensors"))
    variations._velocity_file.cache_clear()
    layer = variations.velocity_layers(engine, snare, 2)[0]
    assert layer.cutoff_hz is not None and layer.gain == pytest.approx(10 ** (soft * -6 / 20))
    # a measured low-pass: the cutoff falls from open to the class's velocity-0 cutoff; open means no filter
    save_file({"level_db/snare": torch.tensor(-6.0), "cutoff_hz/snare": torch.tensor(2000.0),
               "level_db/kick": torch.tensor(-6.0), "cutoff_hz/kick": torch.tensor(variations.OPEN_CUTOFF_HZ)},
              str(tmp_path / "ae" / "velocity.safetensors"))
    variations._velocity_file.cache_clear()
    layer = variations.velocity_layers(engine, snare, 2)[0]
    assert layer.cutoff_hz == pytest.approx(2000.0 * (variations.OPEN_CUTOFF_HZ / 2000.0) ** (1 - soft))
    layer = variations.velocity_layers(engine, source, 2)[0]  # the kick, now without a direction
    assert layer.cutoff_hz is None and layer.gain == pytest.approx(10 ** (soft * -6 / 20))
    assert np.allclose(layer.audio, layer.sound.audio * layer.gain)


def test_kit_takes_grid(engine):
    source = engine.sample("wavegan-tiny", 1, seed=4, label="kick")[0]
    grid = variations.kit_takes(engine, source, 3, 4, 0.3, seed=8)
    assert len(grid) == 3 and all(len(row) == 4 for row in grid)
    assert np.array_equal(grid[-1][0], source.audio)
    assert all(rms(grid[0][r]) < rms(grid[2][r]) for r in range(4))


# ------------------------------------------------------------------------------------------------ HTTP


@pytest.fixture(scope="module")
def client(server_factory):
    srv = server_factory(labels=LABELS)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        yield c


def first_sound(client, label="kick") -> dict:
    r = client.post("/api/sample", json={"model": "wavegan-tiny", "n": 1, "seed": 3, "label": label})
    assert r.status_code == 200, r.text
    return r.json()["sounds"][0]


def test_http_variations(client):
    sound = first_sound(client)
    r = client.post("/api/variations", json={"sound": sound["id"], "n": 4, "amount": 0.4, "seed": 21})
    assert r.status_code == 200, r.text
    takes = r.json()["sounds"]
    assert len(takes) == 4 and len({t["id"] for t in takes} | {sound["id"]}) == 5
    assert all(t["label"] == "kick" and t["model"] == "wavegan-tiny" and t["origin"] == "variation" for t in takes)
    assert [t["seed"] for t in takes] == [21, 22, 23, 24]
    again = client.post("/api/variations", json={"sound": sound["id"], "n": 4, "amount": 0.4, "seed": 21}).json()
    assert [t["id"] for t in again["sounds"]] == [t["id"] for t in takes]
    wav = client.get(takes[0]["url"])
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    for bad in ({"n": 9}, {"n": 0}, {"amount": 1.5}):
        r = client.post("/api/variations", json={"sound": sound["id"], "n": 2, "amount": 0.3, **bad})
        assert r.status_code == 422, r.text


def test_http_layers(client):
    sound = first_sound(client, "snare")
    r = client.post("/api/layers", json={"sound": sound["id"], "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["sounds"]) == 3 and body["sounds"][-1]["id"] == sound["id"]
    assert body["gains"] == sorted(body["gains"]) and body["gains"][-1] == 1.0
    assert body["velocities"] == [[0, 50], [51, 100], [101, 127]]
    assert body["learned"] is False and body["cutoffs"][-1] is None and body["cutoffs"][0] < body["cutoffs"][1]
    assert client.post("/api/layers", json={"sound": sound["id"], "k": 5}).status_code == 422


def test_http_uploads_need_a_latent(client):
    data = audio.wav_bytes(synth.hit("kick", 0), 44100)
    up = client.post("/api/uploads", files={"file": ("mine.wav", data, "audio/wav")})
    assert up.status_code == 200, up.text
    sid = up.json()["sound"]["id"]
    for route, body in (("/api/variations", {"n": 2, "amount": 0.3}), ("/api/layers", {"k": 2})):
        r = client.post(route, json={"sound": sid, **body})
        assert r.status_code == 422 and "no latent" in r.json()["detail"], r.text


def test_http_kit_export_with_round_robins_and_layers(client):
    kick, snare = first_sound(client), first_sound(client, "snare")
    pads = [{"sound": kick["id"], "name": "kick", "note": 36, "round_robin": 3, "velocity_layers": 2,
             "variation": 0.4, "seed": 5},
            {"sound": snare["id"], "name": "snare", "note": 38}]
    r = client.post("/api/export/kit", json={"name": "layered", "pads": pads})
    assert r.status_code == 200, r.text
    z = zipfile.ZipFile(io.BytesIO(r.content))
    wavs = sorted(n.split("/")[1] for n in z.namelist() if n.endswith(".wav"))
    assert wavs == sorted([f"036_kick_v{v}_rr{k}.wav" for v in (1, 2) for k in (1, 2, 3)] + ["038_snare.wav"])
    sfz = z.read("layered/layered.sfz").decode()
    assert "lovel=0 hivel=100 seq_length=3 seq_position=1 sample=036_kick_v1_rr1.wav" in sfz
    readme = z.read("layered/README.txt").decode()
    assert "036_kick_v2_rr3.wav" in readme and "round robin 3 of 3" in readme
