"""Fixtures shared by the test files. Sounds are synthesized here; nothing is downloaded."""

from __future__ import annotations

import os

import pytest
import torch

# Tests run beside other work on two cores: one thread each keeps them from fighting over them.
torch.set_num_threads(1)
os.environ.setdefault("DRUMGEN_CACHE", os.path.join(os.path.dirname(__file__), "artifacts", "cache"))


@pytest.fixture
def hits_dir(tmp_path):
    """A folder of 2 synthesized hits per class at 22.05 kHz, in class folders."""
    from drumgen import synth

    synth.write_folder(tmp_path / "hits", per_class=2, seed=1, sample_rate=22050)
    return tmp_path / "hits"
