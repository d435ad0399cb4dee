"""Fixtures shared by the test files. Sounds are synthesized here; nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import torch

from drumgen import checkpoint

# Tests run beside other work on two cores: one thread each keeps them from fighting over them.
torch.set_num_threads(1)
os.environ.setdefault("DRUMGEN_CACHE", os.path.join(os.path.dirname(__file__), "artifacts", "cache"))
# Models trained by tests (server training jobs) go here, never into the user's ~/.local/share/drumgen/models.
os.environ.setdefault("DRUMGEN_MODELS_DIR", tempfile.mkdtemp(prefix="drumgen-test-models-"))


@pytest.fixture
def hits_dir(tmp_path):
    """A folder of 2 synthesized hits per class at 22.05 kHz, in class folders."""
    from drumgen.dsp import synth

    synth.write_folder(tmp_path / "hits", per_class=2, seed=1, sample_rate=22050)
    return tmp_path / "hits"


# -- the server (tests/test_server*.py): a real `drumgen serve` subprocess over tiny untrained checkpoints -------

@pytest.fixture(scope="module")
def server_factory(tmp_path_factory):
    """start(env=None, labels=(), args=None, tagger=False) -> a running drumgen.testing.ServerProcess; all are stopped after the module."""
    from drumgen.testing import ServerProcess, make_tiny_checkpoints

    started = []

    def start(env: dict[str, str] | None = None, labels: tuple[str, ...] = (),
              args: list[str] | None = None, tagger: bool = False) -> ServerProcess:
        folder = tmp_path_factory.mktemp("checkpoints")
        make_tiny_checkpoints(folder, labels=labels)
        if tagger:  # the shipped tagger (0.6 MB, in the repository) names what the tiny models make
            shutil.copytree(checkpoint.default_dir() / "tagger", folder / "tagger")
        cwd = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        models_dir = tmp_path_factory.mktemp("user_models")
        base_env = {"PYTHONPATH": cwd, "DRUMGEN_JOBS_DIR": str(tmp_path_factory.mktemp("jobs")),
                    "DRUMGEN_MODELS_DIR": str(models_dir), "OMP_NUM_THREADS": "1"}
        srv = ServerProcess(folder, env={**base_env, **(env or {})}, extra_args=args)
        srv.checkpoints, srv.models_dir = folder, models_dir
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
