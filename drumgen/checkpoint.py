"""Checkpoints: a directory holding `model.safetensors` (all a server needs) and, while training, the resume state.

model.safetensors: the model's serving tensors; its string metadata carries `format`, `kind`, `config` (JSON),
`sample_rate`, `slice_length`, `labels` (JSON) and `summary` (JSON: data, steps, CPU/GPU time, measures).
train_state.safetensors: every tensor of the model (a GAN's discriminator too), each optimizer's state, RNG
states and the step; its metadata holds the non-tensor parts as JSON.

Nothing is ever unpickled: safetensors holds only tensors and strings. Every write goes to a temporary file that
is renamed into place, so a crash or a full disk leaves the previous checkpoint intact.

Files written by an older drumgen load: `_upgrade` renames the tensors that have moved since (RENAMED) and leaves
out those no model keeps any more (RETIRED), in both files, in that one place.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from drumgen.io.files import atomic_write_bytes
from drumgen.models import model_class

FORMAT = "drumgen-1"
MODEL_FILE = "model.safetensors"
STATE_FILE = "train_state.safetensors"
CARD_FILE = "README.md"
# Tensor names an older drumgen wrote -> today's: the stored-latent bank became its own module (models/prior.py).
RENAMED = {"prior_latents": "prior.latents", "prior_labels": "prior.labels", "prior_count": "prior.count"}
# Tensors of a kind that no model keeps any more, ignored on load: the autoencoder's running latent mean and
# second moment, the Gaussian it sampled from before the stored-latent bank.
RETIRED = {"autoencoder": ("latent_mean", "latent_moment", "latent_updates")}

log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint that is missing, truncated, tampered with or of an unknown kind."""


def default_dir() -> Path:
    """checkpoints/ beside the package (the defaults shipped with drumgen), or $DRUMGEN_CHECKPOINTS."""
    env = os.environ.get("DRUMGEN_CHECKPOINTS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "checkpoints"


def user_dir() -> Path:
    """Where a user's own trained models live, never inside the repository: $DRUMGEN_MODELS_DIR, else
    $XDG_DATA_HOME/drumgen/models, else ~/.local/share/drumgen/models. The server installs finished training jobs
    here and serves them beside the defaults."""
    env = os.environ.get("DRUMGEN_MODELS_DIR")
    if env:
        return Path(env)
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data_home) / "drumgen" / "models"


def list_dir(checkpoints_dir: str | os.PathLike) -> list[Path]:
    """Checkpoint directories directly below `checkpoints_dir`, sorted by name."""
    root = Path(checkpoints_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / MODEL_FILE).is_file())


def resolve(name_or_path: str | os.PathLike, checkpoints_dir: str | os.PathLike | None = None) -> Path:
    """A checkpoint directory from a path, or from the name of one under checkpoints/."""
    p = Path(name_or_path)
    if (p / MODEL_FILE).is_file():
        return p
    if p.name == MODEL_FILE and p.is_file():
        return p.parent
    root = Path(checkpoints_dir) if checkpoints_dir else default_dir()
    for folder in (root, user_dir()):  # a name: the defaults first, then the user's own trained models
        if p.name == str(name_or_path) and (folder / p.name / MODEL_FILE).is_file():
            return folder / p.name
    known = ", ".join(c.name for c in list_dir(root) + list_dir(user_dir())) or "none"
    raise CheckpointError(f"no checkpoint at {name_or_path!r}: give a directory holding {MODEL_FILE} "
                          f"or the name of one in {root} or {user_dir()} (there: {known})")


def _tensors_for_file(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage; serving tensors are small, so copy.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def save(model, directory: str | os.PathLike, summary: dict[str, Any] | None = None) -> Path:
    """Write model.safetensors (serving tensors + metadata) atomically; returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = model.config
    state = model.serving_state_dict() if hasattr(model, "serving_state_dict") else model.state_dict()
    meta = {
        "format": FORMAT,
        "kind": model.kind,
        "config": json.dumps(config.to_dict()),
        "sample_rate": str(config.sample_rate),
        "slice_length": str(getattr(config, "slice_length", 0)),
        "labels": json.dumps(list(config.labels)),
        "summary": json.dumps(summary or {}),
    }
    path = directory / MODEL_FILE
    atomic_write_bytes(path, st_save(_tensors_for_file(state), metadata=meta))
    return path


MAX_HEADER = 100 << 20  # bytes of JSON header; safetensors itself refuses larger ones


def _read_header(f, path: Path, size: int) -> tuple[int, dict[str, Any]]:
    """(header length, header) from an open file, with the length checked against the file before reading."""
    head = f.read(8)
    if len(head) < 8:
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or tampered?): {size} bytes")
    n = int.from_bytes(head, "little")
    if n > min(MAX_HEADER, size - 8):
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or tampered?): its header "
                              f"claims {n} bytes, the file holds {size}")
    try:
        header = json.loads(f.read(n))
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or tampered?): {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or tampered?): bad header")
    return n, header


def _metadata(header: dict[str, Any], path: Path) -> dict[str, str]:
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{path} has damaged metadata: not a map of strings")
    return meta


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """Metadata and tensors of a safetensors file, read with plain reads rather than a memory map: a file cut
    short while mapped (a copy over it in place, a full disk) kills the reader with SIGBUS; a short read is
    only an error."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            _, header = _read_header(f, path, size)
            f.seek(0)
            data = f.read()
        tensors = st_load(data)
    except (SafetensorError, OSError, ValueError, RuntimeError, OverflowError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or tampered?): {e}") from None
    return _metadata(header, path), tensors


def read_metadata(directory: str | os.PathLike) -> dict[str, Any]:
    """The parsed metadata of a checkpoint: kind, config (dict), sample_rate, labels, summary."""
    path = Path(directory) / MODEL_FILE
    try:
        with open(path, "rb") as f:
            _, header = _read_header(f, path, os.fstat(f.fileno()).st_size)
    except OSError as e:
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or tampered?): {e}") from None
    return _parse_meta(_metadata(header, path), path)


def read_train_state_metadata(directory: str | os.PathLike) -> dict[str, Any]:
    """A resume state's step and extra (best score, history, seconds) from its header alone: plain reads, no
    memory map and no tensors. {} when there is no state."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as f:
            _, header = _read_header(f, path, os.fstat(f.fileno()).st_size)
        meta = _metadata(header, path)
        return {"step": int(meta.get("step", 0)), "extra": json.loads(meta.get("extra", "{}"))}
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable resume state (truncated or tampered?): {e}") from None


def _parse_meta(meta: dict[str, str], path: Path) -> dict[str, Any]:
    if meta.get("format") != FORMAT or "kind" not in meta:
        raise CheckpointError(f"{path} is not a drumgen checkpoint (metadata format {meta.get('format')!r})")
    try:
        return {
            "kind": meta["kind"],
            "config": json.loads(meta["config"]),
            "sample_rate": int(meta["sample_rate"]),
            "slice_length": int(meta.get("slice_length", "0")),
            "labels": json.loads(meta.get("labels", "[]")),
            "summary": json.loads(meta.get("summary", "{}")),
        }
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path} has damaged metadata: {e}") from None


def _upgrade(kind: str, tensors: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """A file's model tensors under today's names: RENAMED ones renamed, RETIRED ones left out."""
    retired = [k for k in tensors if k in RETIRED.get(kind, ())]
    if retired:
        log.debug("%s: ignoring %s (no longer used by a %s)", path, ", ".join(retired), kind)
    return {RENAMED.get(k, k): v for k, v in tensors.items() if k not in retired}


def build(kind: str, config: dict[str, Any]):
    """A fresh model of `kind` from a stored config dict (unknown keys ignored, missing keys defaulted)."""
    cls = model_class(kind)
    return cls(cls.Config.from_dict(config))


def load(directory: str | os.PathLike, checkpoints_dir: str | os.PathLike | None = None,
         device: str | torch.device = "cpu"):
    """Load a checkpoint (a directory or a name under checkpoints/) into a model in eval mode on `device`: the
    file holds CPU tensors whatever device trained it, so it loads anywhere."""
    directory = resolve(directory, checkpoints_dir)
    path = directory / MODEL_FILE
    meta, tensors = _read(path)
    info = _parse_meta(meta, path)
    tensors = _upgrade(info["kind"], tensors, path)
    model = _build_checked(info["kind"], info["config"], tensors, path, serving=True)
    _load_tensors(model, tensors, path, serving=True)
    model.to(device).eval()
    model.summary = info["summary"]
    model.name = directory.name
    return model


def _build_checked(kind: str, config: dict[str, Any], tensors: dict[str, torch.Tensor], path: Path,
                   serving: bool):
    """Build the model a file's metadata describes, refusing a config that does not fit the file's tensors.

    The config comes from the file and may be tampered with: it could ask for a layer of 10^5 channels (a
    100 GB allocation) or hold values the model code divides by. So the model is first built on the 'meta'
    device, which allocates nothing, and its shapes are compared with the tensors the file really holds; only
    a config that matches is built for real. Kinds whose constructor computes buffers from data (meta tensors
    cannot do that) skip the dry build; their real build still turns any failure into a CheckpointError.
    """
    try:
        cls = model_class(kind)
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None
    _check_config_types(cls.Config, config, path)
    try:
        with torch.device("meta"):
            probe = build(kind, config)
    except NotImplementedError:
        probe = None
    except Exception as e:  # any failure to build from a stored config means the config is damaged
        raise CheckpointError(f"{path}: cannot build a {kind} from its config: {e}") from None
    if probe is not None:
        _check_shapes(probe, tensors, path, serving)
    try:
        return build(kind, config)
    except Exception as e:
        raise CheckpointError(f"{path}: cannot build a {kind} from its config: {e}") from None


def _check_config_types(config_cls, config: Any, path: Path) -> None:
    """Each stored value has the type of its field's default: a model built from `sample_rate: null` would load
    and then fail on every request."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: the stored config is {type(config).__name__}, not an object")
    for f in dataclasses.fields(config_cls):
        if f.name not in config:
            continue
        default, value = getattr(config_cls, f.name, None), config[f.name]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        elif isinstance(default, tuple):
            ok = isinstance(value, (list, tuple))
        else:
            ok = True
        if not ok:
            raise CheckpointError(f"{path}: config field {f.name!r} should be like {default!r}, "
                                  f"the file holds {str(value)[:40]!r} (tampered or damaged)")


def _check_shapes(model, tensors: dict[str, torch.Tensor], path: Path, serving: bool) -> None:
    expected = model.state_dict()
    optional = tuple(getattr(model, "optional_state", ())) + (tuple(getattr(model, "training_only", ())) if serving else ())
    missing = [k for k in expected if k not in tensors and not k.startswith(optional)]
    unexpected = [k for k in tensors if k not in expected]
    wrong = [k for k in tensors if k in expected and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{path} does not match its {model.kind} config: missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}, wrong shape {wrong[:3]}")


def _load_tensors(model, tensors: dict[str, torch.Tensor], path: Path, serving: bool) -> None:
    _check_shapes(model, tensors, path, serving)
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{path} holds NaN or infinite weights in {bad[:3]}: the run that wrote it diverged")
    model.load_state_dict(tensors, strict=False)


# -- resume state ----------------------------------------------------------------------------------------

def save_train_state(directory: str | os.PathLike, model, optimizers: dict[str, torch.optim.Optimizer],
                     step: int, extra: dict[str, Any] | None = None,
                     rng: dict[str, torch.Tensor] | None = None) -> Path:
    """Everything needed to continue a run exactly: all model tensors, optimizer states, RNG states, step."""
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt_meta = {}
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        plain: dict[str, dict[str, Any]] = {}
        for pid, st in sd["state"].items():
            for key, value in st.items():
                if torch.is_tensor(value):
                    tensors[f"opt/{name}/{pid}/{key}"] = value
                else:
                    plain.setdefault(str(pid), {})[key] = value
        opt_meta[name] = {"param_groups": sd["param_groups"], "plain": plain}
    for key, value in (rng or {}).items():
        tensors[f"rng/{key}"] = value
    meta = {"format": FORMAT, "kind": model.kind, "step": str(step), "optimizers": json.dumps(opt_meta),
            "config": json.dumps(model.config.to_dict()), "extra": json.dumps(extra or {})}
    path = Path(directory) / STATE_FILE
    Path(directory).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, st_save(_tensors_for_file(tensors), metadata=meta))
    return path


def read_train_state_config(directory: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """(kind, config) of a resume state, so the loop can rebuild the same model before loading it."""
    path = Path(directory) / STATE_FILE
    meta, tensors = _read(path)
    try:
        kind, config = meta["kind"], json.loads(meta["config"])
    except (KeyError, ValueError) as e:
        raise CheckpointError(f"{path} has damaged metadata: {e}") from None
    if not isinstance(kind, str) or not isinstance(config, dict):
        raise CheckpointError(f"{path} has damaged metadata: kind {kind!r}, config of type {type(config).__name__}")
    model = _upgrade(kind, {k[6:]: v for k, v in tensors.items() if k.startswith("model/")}, path)
    _build_checked(kind, config, model, path, serving=False)
    return kind, config


def load_train_state(directory: str | os.PathLike, model, optimizers: dict[str, torch.optim.Optimizer]
                     ) -> tuple[int, dict[str, Any], dict[str, torch.Tensor]]:
    """Restore model and optimizers in place; returns (step, extra, rng tensors)."""
    path = Path(directory) / STATE_FILE
    meta, tensors = _read(path)
    if meta.get("format") != FORMAT or meta.get("kind") != model.kind:
        raise CheckpointError(f"{path} is not a resume state of a {model.kind} (found {meta.get('kind')!r})")
    try:
        opt_meta = json.loads(meta["optimizers"])
        step, extra = int(meta["step"]), json.loads(meta["extra"])
    except (KeyError, ValueError) as e:
        raise CheckpointError(f"{path} has damaged metadata: {e}") from None
    state = _upgrade(model.kind, {k[6:]: v for k, v in tensors.items() if k.startswith("model/")}, path)
    _load_tensors(model, state, path, serving=False)
    for name, opt in optimizers.items():
        if not isinstance(opt_meta, dict) or name not in opt_meta:
            raise CheckpointError(f"{path} has no state for optimizer {name!r}")
        try:
            state: dict[int, dict[str, Any]] = {}
            for key, value in tensors.items():
                parts = key.split("/")
                if parts[0] == "opt" and parts[1] == name:
                    state.setdefault(int(parts[2]), {})[parts[3]] = value
            for pid, plain in opt_meta[name]["plain"].items():
                state.setdefault(int(pid), {}).update(plain)
            opt.load_state_dict({"state": state, "param_groups": opt_meta[name]["param_groups"]})
        except (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError) as e:
            raise CheckpointError(f"{path}: the state of optimizer {name!r} is damaged: {e!r}") from None
    rng = {k[4:]: v for k, v in tensors.items() if k.startswith("rng/")}
    return step, extra, rng
