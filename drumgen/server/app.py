"""Assemble the drumgen server: routers, limits, safety checks, error mapping, static web/; and run it.

`create_app(engine, settings)` builds the FastAPI app (tests may pass a MIDI relay); `serve(...)` is what
`drumgen serve` calls: it binds the socket itself (port 0 = a free port), prints the real URL once uvicorn is
listening, and runs until interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import sys
import tempfile
import webbrowser
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from drumgen import __version__, checkpoint
from drumgen.engine.engine import Engine, EngineError, ModelNotFound
from drumgen.io import audio
from drumgen.kit.export import KitError
from drumgen.pattern import PatternError
from drumgen.server import export, loop, midi, models, sounds, training, uploads, variations
from drumgen.server.deps import Services
from drumgen.server.inference import Busy, Inference, SoundGone, off_thread
from drumgen.server.jobs import JobManager
from drumgen.server.security import BodyLimitMiddleware, GuardMiddleware
from drumgen.server.settings import Settings
from drumgen.server.uploads import UploadError

log = logging.getLogger("drumgen.server")
WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"


def _body_limits(settings: Settings):
    def limit(path: str) -> int:
        if path == "/api/train":
            return settings.max_train_bytes
        if path in ("/api/resynthesize", "/api/uploads", "/api/loop"):
            return settings.max_upload_bytes + (64 << 10)  # the file plus the form's other fields
        return settings.max_json_bytes
    return limit


def _user_errors() -> list[tuple[type[Exception], int]]:
    """Exceptions that mean 'the request was wrong', most specific first, with their status codes."""
    return [(ModelNotFound, 404), (SoundGone, 404), (EngineError, 422), (audio.AudioError, 422),
            (UploadError, 422), (checkpoint.CheckpointError, 422), (PatternError, 422), (KitError, 422)]


def _readable(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form"))
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _install_error_handlers(app: FastAPI) -> None:
    user_errors = _user_errors()

    async def user_error(request: Request, exc: Exception) -> JSONResponse:
        status = next(code for cls, code in user_errors if isinstance(exc, cls))
        return JSONResponse({"detail": str(exc)}, status_code=status)

    async def busy(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Busy)
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after)})

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": _readable(exc)}, status_code=422)

    async def value_error(request: Request, exc: Exception) -> JSONResponse:
        # drumgen raises ValueError subclasses with a message for anything a user can get wrong
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": str(exc)}, status_code=422)

    for cls, _ in user_errors:
        app.add_exception_handler(cls, user_error)
    app.add_exception_handler(Busy, busy)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ValueError, value_error)


def create_app(engine: Engine, settings: Settings | None = None, midi_relay=None) -> FastAPI:
    """The FastAPI app over `engine`. `midi_relay` (a drumgen.io.midi_input.MidiRelay or anything with receive(timeout),
    close() and name) feeds /ws/midi."""
    settings = settings or Settings()
    jobs_dir = settings.jobs_dir or Path(tempfile.mkdtemp(prefix="drumgen-jobs-"))
    # users' models never go into the shipped checkpoints/: a git checkout would show them and updates clash
    models_dir = settings.models_dir or engine.models_dir or checkpoint.user_dir()
    services = Services(engine, settings, Inference(engine, settings),
                        JobManager(engine, models_dir, jobs_dir), midi.MidiHub(midi_relay))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        services.jobs.start(loop)
        services.midi.start(loop)
        uploads.SPARE.enable(settings)
        yield
        services.jobs.close()
        services.midi.close()
        services.inference.close()
        await uploads.SPARE.close()
        if settings.jobs_dir is None:  # ours, temporary
            shutil.rmtree(jobs_dir, ignore_errors=True)

    app = FastAPI(title="drumgen", version=__version__, lifespan=lifespan,
                  description="Generative drum models: sample, morph, re-synthesize, export, train. See docs/API.md.")
    app.state.services = services
    for module in (models, sounds, export, training, midi, variations, loop):
        app.include_router(module.router)
    _install_error_handlers(app)
    # outermost first: Host/Origin before anything reads the body
    app.add_middleware(BodyLimitMiddleware, limits=_body_limits(settings))
    app.add_middleware(GuardMiddleware, settings=settings)
    if (WEB_DIR / "index.html").is_file():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    else:
        @app.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse("/docs")
    return app


def _open_midi(name: str | None):
    if not name:
        return None
    try:
        from drumgen.io.midi_input import MidiRelay

        relay = MidiRelay.open(name)
    except Exception as e:  # no rtmidi, no ALSA, no such port: the drum machine works without it
        log.warning("MIDI input %r is not available, going on without it: %s", name, e)
        return None
    log.warning("relaying MIDI input %r to /ws/midi", relay.name)
    return relay


def serve(host: str = "127.0.0.1", port: int = 8000, checkpoints: str | None = None, midi_in: str | None = None,
          open_browser: bool = False, models_dir: str | None = None, device: str = "auto",
          precision: str | None = None, extend: bool | None = None) -> None:
    """Run the server until Ctrl-C. Prints "drumgen serving http://HOST:PORT" once it accepts connections."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("binding %s: other machines on the network can reach this server; every client that can "
                    "reach it can generate sounds and start training jobs", host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only for sockets that say TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        raise OSError(f"cannot listen on {host}:{port}: {e.strerror}; choose another --port (0 picks a free one)") from None
    port = sock.getsockname()[1]
    extra: set[str] = set()
    if host in ("0.0.0.0", "::"):  # all interfaces: accept this machine's own names and addresses too
        with contextlib.suppress(OSError):
            me = socket.gethostname()
            addresses = [str(a[4][0]) for a in socket.getaddrinfo(me, None)]
            extra = {me, *(f"[{a}]" if ":" in a else a for a in addresses)}
    settings = Settings.from_env(host=host, port=port, extra_hosts=tuple(sorted(extra)),
                                 **({"models_dir": Path(models_dir)} if models_dir else {}),
                                 **({"device": device} if device != "auto" else {}),  # else $DRUMGEN_DEVICE
                                 **({"precision": precision} if precision else {}),  # else $DRUMGEN_PRECISION
                                 **({"extend": extend} if extend is not None else {}))  # else $DRUMGEN_EXTEND
    engine = off_thread(lambda: Engine(checkpoints or checkpoint.default_dir(),
                                       models_dir=settings.models_dir or checkpoint.user_dir(),
                                       device=settings.device, precision=settings.precision,
                                       extend=settings.extend))
    for name, error in engine.errors.items():
        log.warning("checkpoint %s not loaded: %s", name, error)
    app = create_app(engine, settings, _open_midi(midi_in))
    config = uvicorn.Config(app, log_level="warning", ws_max_size=settings.ws_max_message_bytes,
                            timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    shown = "localhost" if host in ("0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)
    url = f"http://{shown}:{port}"

    async def run() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            print(f"drumgen serving {url} ({len(engine.models)} models from {engine.checkpoints_dir} and "
                  f"{engine.models_dir})", flush=True)
            if open_browser:
                webbrowser.open(url)
        await task

    try:
        if hasattr(asyncio, "Runner"):  # uvloop when installed (uvicorn[standard]), as uvicorn.run would choose
            with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
                runner.run(run())
        else:
            asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        sys.stdout.flush()
