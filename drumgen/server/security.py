"""Who may drive the server: a Host header check (against DNS rebinding), an Origin check (against other web pages
posting forms or opening WebSockets to 127.0.0.1), and request body limits enforced while the body streams in.

Both are plain ASGI middleware so they see WebSocket handshakes as well as HTTP requests, and run before any
route or body parsing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException

from drumgen.server.settings import Settings

log = logging.getLogger("drumgen.server")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _header(scope: dict, name: bytes) -> str | None:
    """The header's value; a header sent twice counts as a bad one (which of two Hosts would a proxy believe?)."""
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]
    if len(values) > 1:
        return "\x00ambiguous"
    return values[0] if values else None


def split_host(value: str) -> tuple[str, int | None]:
    """'127.0.0.1:8000' -> ('127.0.0.1', 8000); '[::1]:80' -> ('[::1]', 80); bad port -> (host, -1)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        host, rest = value[:end + 1], value[end + 1:]
    else:
        host, _, rest = value.partition(":")
        rest = ":" + rest if rest else ""
    if not rest:
        return host, None
    try:
        return host, int(rest[1:])
    except ValueError:
        return host, -1


class Guard:
    """Reject requests whose Host or Origin names a site that is not this server."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def host_ok(self, value: str | None) -> bool:
        if not value:
            return False
        host, port = split_host(value)
        default = 80
        return host in self.settings.allowed_hosts() and (port or default) == self.settings.port

    def origin_ok(self, value: str | None) -> bool:
        """No Origin (a script, curl, a non-browser client) is fine; a browser page must be one of ours."""
        if value is None:
            return True
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        return self.host_ok(parts.netloc)


async def _send_json(send: Callable, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    def __init__(self, app, settings: Settings):
        self.app, self.guard = app, Guard(settings)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = _header(scope, b"host")
        if not self.guard.host_ok(host):
            log.warning("refused a request for Host %r", host)
            if scope["type"] == "websocket":
                await receive()  # websocket.connect
                return await send({"type": "websocket.close", "code": 1008, "reason": "unknown Host"})
            return await _send_json(send, 400, f"this server answers to http://127.0.0.1:{self.guard.settings.port}"
                                    f" only, not to Host {host!r}")
        origin = _header(scope, b"origin")
        if (scope["type"] == "websocket" or scope["method"] in UNSAFE_METHODS) and not self.guard.origin_ok(origin):
            log.warning("refused a %s from Origin %r", scope["type"], origin)
            if scope["type"] == "websocket":
                await receive()
                return await send({"type": "websocket.close", "code": 1008, "reason": "foreign Origin"})
            return await _send_json(send, 403, f"requests from web pages at {origin} are not accepted")
        return await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised from `receive` while a body streams in: FastAPI passes HTTPExceptions through body parsing, so the
    client gets a 413 with the message instead of a generic parse error."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than this route's limit of {limit / 1e6:.1f} MB")


class BodyLimitMiddleware:
    """413 when a request body is larger than its route's limit: checked on Content-Length, then while streaming
    (so a chunked upload cannot get around it), before anything parses or stores it."""

    def __init__(self, app, limits: Callable[[str], int]):
        self.app, self.limits = app, limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limits(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _send_json(send, 413, BodyTooLarge(limit).detail)
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return msg

        async def tracking_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as e:
            if not started:
                await _send_json(send, 413, e.detail)
