"""engine.py on tiny real checkpoints: seeds, decode round trip, interpolation ends, ranking, clear errors."""

import numpy as np
import pytest
import torch

from drumgen import checkpoint, testing
from drumgen.engine import Engine, EngineError, ModelNotFound
from drumgen.engine.engine import finish
from drumgen.io import audio


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("ck")
    testing.make_tiny_checkpoints(root)
    return Engine(root)


def test_same_seed_same_sounds_and_decode_recreates_them(engine):
    for name in engine.models:
        a = engine.sample(name, 3, seed=11)
        b = engine.sample(name, 1, seed=12)  # sound i of seed s does not depend on n
        assert np.allclose(a[1].audio, b[0].audio, atol=1e-6) and a[1].id == b[0].id  # batching: float rounding only
        again = engine.decode(name, a[0].latent, a[0].label)
        assert np.allclose(again.audio, a[0].audio, atol=1e-5)


def test_interpolation_ends_are_the_endpoints_in_the_same_latent_space(engine):
    a, b = engine.sample("wavegan-tiny", 2, seed=3)
    assert np.allclose(engine.interpolate(a, b, 0.0).audio, a.audio, atol=1e-4)
    assert np.allclose(engine.interpolate(a, b, 1.0).audio, b.audio, atol=1e-4)
    with pytest.raises(EngineError, match=r"\[0, 1\]"):
        engine.interpolate(a, b, 1.5)


def test_errors_name_the_problem(engine):
    with pytest.raises(ModelNotFound, match="unknown model 'nope'"):
        engine.sample("nope")
    with pytest.raises(EngineError, match="latents of"):
        engine.decode("wavegan-tiny", [0.0, 1.0])
    with pytest.raises(EngineError, match="NaN"):
        engine.decode("wavegan-tiny", [float("nan")] * engine.get("wavegan-tiny").latent_size)
    with pytest.raises(EngineError, match="not class-conditional"):
        engine.sample("wavegan-tiny", 1, label="kick")


def test_models_are_ranked_by_measured_quality(tmp_path):
    names = testing.make_tiny_checkpoints(tmp_path)
    for name, score in zip(names, (30.0, None, 10.0), strict=True):
        model = checkpoint.load(tmp_path / name)
        checkpoint.save(model, tmp_path / name, {"measures": {"frechet": score}} if score else {})
    assert Engine(tmp_path).ranked() == [names[2], names[0], names[1]]


def test_the_tagger_names_what_it_hears(tmp_path):
    import shutil

    testing.make_tiny_checkpoints(tmp_path, kinds=["wavegan"])
    shutil.copytree(checkpoint.default_dir() / "tagger", tmp_path / "tagger")  # the shipped tagger
    engine = Engine(tmp_path)
    assert list(engine.models) == ["wavegan-tiny"]  # the tagger is not a sound model
    sounds = engine.sample("wavegan-tiny", 4, seed=1)
    assert all(s.heard in engine.tagger.config.labels for s in sounds)


def test_every_generated_hit_fades_out_at_the_end_of_its_slice(engine):
    """A model's slice can stop mid-sound (an untrained WaveGAN's last samples are its biases): the last 10 ms ramp
    to zero, so a pad never clicks when its sound ends."""
    for name in engine.models:
        for sound in engine.sample(name, 4, seed=5):
            fade = int(0.01 * sound.sample_rate)
            tail = np.abs(sound.audio[-fade:])
            assert sound.audio[-1] == 0.0, name
            ramp = np.linspace(1.0, 0.0, fade)
            assert np.all(tail <= ramp * np.abs(sound.audio).max() + 1e-7), name


def test_an_engine_of_one_checkpoint_loads_only_it(tmp_path, monkeypatch):
    """`drumgen generate --model runs/x` needs runs/x (and the tagger to say what it hears), not every default."""
    root = tmp_path / "defaults"
    testing.make_tiny_checkpoints(root)
    monkeypatch.setenv("DRUMGEN_CHECKPOINTS", str(root))
    e, name = Engine.of(root / "wavegan-tiny")
    assert list(e.models) == ["wavegan-tiny"] == [name] and e.tagger is None  # the tiny folder has no tagger
    assert e.sample(name, 1, seed=1)[0].audio.size
    with pytest.raises(checkpoint.CheckpointError):
        Engine.of(tmp_path / "nothing-here")


def test_a_batch_larger_than_a_models_decode_batch_decodes_in_pieces_to_the_same_sounds(engine):
    """The server's batch of many players' kits decodes in cache-sized pieces (DrumModel.decode_batch): each
    sound is the one its request alone would have made."""
    name = next(n for n, m in engine.models.items() if m.decode_batch)
    step = engine.get(name).decode_batch
    requests = [(step, 100 + k * step, None) for k in range(3)]  # three requests, 3 * decode_batch sounds
    together = engine.sample_batch(name, requests, hear=False)
    for (n, seed, _), sounds in zip(requests, together, strict=True):
        alone = engine.sample(name, n, seed=seed, hear=False)
        for a, b in zip(alone, sounds, strict=True):
            assert a.id == b.id and np.allclose(a.audio, b.audio, atol=1e-6)


def test_a_sounds_clip_ends_where_it_falls_silent_and_an_upload_is_kept_whole():
    from drumgen.engine import Sound

    rate = 22050
    t = np.arange(2 * rate) / rate
    x = (np.sin(2 * np.pi * 80 * t) * np.exp(-t / 0.03)).astype(np.float32)  # silent after ~0.25 s of 2 s
    generated = Sound("ae", np.zeros(4, np.float32), x, rate)
    clip = generated.clip()
    assert 0.15 * rate < clip.size < 0.3 * rate and np.array_equal(clip[:500], x[:500])
    assert Sound.upload("mine.wav", x, rate).clip().size == x.size  # the user's own file, as they gave it


def test_a_latent_saved_with_a_retrained_default_is_decoded_by_its_predecessor(tmp_path):
    """A session from before the autoencoder was retrained holds latents of the old size; the old model kept
    beside the new one (checkpoints/autoencoder-1s) decodes them, and the sound says which model made it."""
    from drumgen.models.autoencoder import PRESETS, Autoencoder, Config

    old = Autoencoder(Config(**{**PRESETS["tiny"], "partials": 0, "noise_pool": 1, "wave_frames": 0}))
    new = Autoencoder(Config(**PRESETS["tiny"]))
    assert old.latent_size != new.latent_size
    checkpoint.save(new, tmp_path / "autoencoder")
    checkpoint.save(old, tmp_path / "autoencoder-1s")
    engine = Engine(tmp_path)
    saved = engine.sample("autoencoder-1s", 1, seed=4)[0]
    back = engine.decode("autoencoder", saved.latent)
    assert back.model == "autoencoder-1s" and np.allclose(back.audio, saved.audio, atol=1e-5)
    assert engine.decode("autoencoder", engine.sample("autoencoder", 1, seed=4)[0].latent).model == "autoencoder"
    with pytest.raises(EngineError, match="latents of"):
        engine.decode("autoencoder", [0.0, 1.0])  # no loaded model of that size: the error as before
    # the predecessor is kept for old sessions, never the page's first choice, however it measured
    checkpoint.save(old, tmp_path / "autoencoder-1s", {"measures": {"frechet": 1.0}})
    checkpoint.save(new, tmp_path / "autoencoder", {"measures": {"frechet": 50.0}})
    assert Engine(tmp_path).ranked() == ["autoencoder", "autoencoder-1s"]


def test_decoded_hits_are_finished_in_place_nan_free_turned_down_and_faded():
    x = torch.full((3, 1000), 0.5)
    x[0, 10] = float("nan")
    x[1, :] = 3.0  # an overshoot: turned down to -1 dBFS, not clipped
    x[2, 20] = float("-inf")
    out = finish(x, 10_000)
    assert out.data_ptr() == x.data_ptr()  # in place
    assert torch.isfinite(out).all() and out[0, 10] == 0 and out[2, 20] == 0
    assert torch.isclose(out[1, :900].amax(), torch.tensor(audio.PEAK)) and out[0, :900].amax() == 0.5
    assert (out[:, -1] == 0).all() and torch.allclose(out[0, -100:], 0.5 * torch.linspace(1, 0, 100))
