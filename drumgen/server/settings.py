"""Server settings: limits and allowed hosts, typed (pydantic-settings), read by every router from app.state."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


class Settings(BaseSettings):
    """Every limit and choice of a server. Each field is overridable by an environment variable DRUMGEN_<FIELD>
    (DRUMGEN_MAX_QUEUE=16; tuples comma-separated: DRUMGEN_EXTRA_HOSTS=a,b); values given in code win."""

    model_config = SettingsConfigDict(env_prefix="DRUMGEN_", extra="ignore", protected_namespaces=())

    host: str = "127.0.0.1"
    port: int = 8000
    checkpoints_dir: Path | None = None
    jobs_dir: Path | None = None  # where training uploads and runs live (default: a temporary folder)
    device: str = "auto"  # where models run, and the training jobs (drumgen.devices)
    precision: Literal["float32", "bfloat16"] = "float32"  # the decoders' convolutions on a CPU (models/fastconv.py)
    extend: bool = True  # band above 10.5 kHz and ringing tails made (drumgen.dsp.extension; Registry.rings_on)
    models_dir: Path | None = None  # where finished training jobs are installed (default: checkpoint.user_dir())
    extra_hosts: Annotated[tuple[str, ...], NoDecode] = ()  # more Host names to accept (the bound address when it is not loopback)
    # inference
    workers: int = 1  # threads running model code: one (server/inference.py says why), torch's own threads inside
    max_queue: int = 64  # requests admitted to inference at once; more get 503 + Retry-After
    batch_window_ms: float = 4.0  # how long the first sample request of a batch waits for company
    max_batch: int = 256  # sounds per decode call
    max_n: int = 64  # sounds per sample request
    cache_mb: float = 128.0  # audio of generated sounds kept in memory (LRU); evicted sounds are re-created
    meta_mb: float = 32.0  # latents of known sounds (LRU); beyond this a sound must be re-sent via /api/decode
    # uploads
    max_json_bytes: int = 1 << 20
    max_upload_bytes: int = 20 << 20  # one audio file for /api/resynthesize
    max_upload_seconds: float = 10.0
    decode_timeout_s: float = 20.0
    max_train_bytes: int = 200 << 20  # the whole training upload (files or zip)
    max_train_files: int = 1000  # per request as files (the multipart parser's own limit) or per zip
    max_unzipped_bytes: int = 1 << 30
    max_zip_ratio: float = 200.0  # uncompressed / compressed per entry; beyond that it is a zip bomb
    max_train_steps: int = 1_000_000
    max_train_minutes: float = 24 * 60
    max_jobs_queued: int = 8
    # websockets
    ws_max_message_bytes: int = 64 << 10

    @field_validator("extra_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, v: object) -> object:
        return tuple(h for h in v.split(",") if h) if isinstance(v, str) else v

    @classmethod
    def from_env(cls, **values) -> Settings:
        """Defaults, overridden by DRUMGEN_<FIELD> environment variables, overridden by `values`."""
        return cls(**values)

    def allowed_hosts(self) -> set[str]:
        """Host names (without port) a request may name: loopback, plus the bound address when it is specific."""
        hosts = set(LOCAL_HOSTS) | {h.lower() for h in self.extra_hosts}
        if self.host not in ("0.0.0.0", "::", ""):
            hosts.add(self.host.lower() if ":" not in self.host else f"[{self.host.lower()}]")
        return hosts
