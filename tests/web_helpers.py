"""Shared pieces of the browser tests (tests/test_web*.py): a real `drumgen serve` on 127.0.0.1, Debian's Chromium
through Playwright, and a page whose audio graph is observed, not heard.

The init script wraps AudioBufferSourceNode.start/stop and records each source's buffer and start time; a test maps
buffers back to pads through `window.drumgen.engine.buffers`. Web MIDI is replaced by a fake input the test plays.
Screenshots land in tests/artifacts/ for a person to look at.
"""


from __future__ import annotations

import functools
import http.server
import os
import shlex
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from drumgen import testing
from drumgen.dsp import synth
from drumgen.io import audio

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]

# Records every source start/stop, and replaces Web MIDI with one fake input the test can play.
INIT = """
window.__starts = [];
window.__stops = [];
const start = AudioBufferSourceNode.prototype.start;
AudioBufferSourceNode.prototype.start = function (when = 0, ...rest) {
  window.__starts.push({ buffer: this.buffer, when, now: this.context.currentTime, rate: this.playbackRate.value });
  return start.call(this, when, ...rest);
};
const stop = AudioBufferSourceNode.prototype.stop;
AudioBufferSourceNode.prototype.stop = function (when = 0) {
  window.__stops.push({ buffer: this.buffer, when });
  return stop.call(this, when);
};
const input = { id: "fake", name: "Fake Pads", onmidimessage: null };
window.__midi = (bytes) => input.onmidimessage && input.onmidimessage({ data: new Uint8Array(bytes) });
navigator.requestMIDIAccess = async () => ({ inputs: new Map([["fake", input]]), outputs: new Map() });
"""

# [{pad, when, now}] for every start so far; pad -1 for a buffer on no pad (an audition).
STARTS = ("() => window.__starts.map(s => ({ pad: drumgen.engine.buffers.indexOf(s.buffer), when: s.when, "
          "now: s.now, rate: s.rate }))")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `drumgen serve` on 127.0.0.1 with tiny checkpoints of every generative kind; yields its base URL.

    DRUMGEN_WEB_SERVER_CMD (a command template with {port} and {web}) runs another server instead, for
    developing the page against a stub.
    """
    template = os.environ.get("DRUMGEN_WEB_SERVER_CMD")
    if template:
        yield from _template_server(template)
        return
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    # Class-conditional, so "a new sound of the same class" has something to ask for.
    testing.make_tiny_checkpoints(checkpoints, labels=("kick", "snare", "hihat", "tom", "cymbal", "clap", "perc"))
    server = testing.ServerProcess(checkpoints, env={"PYTHONPATH": str(ROOT)})
    yield server.url
    server.stop()


def _template_server(template: str):
    port = _free_port()
    proc = subprocess.Popen(shlex.split(template.format(port=port, web=WEB)), cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class _StaticFiles(http.server.SimpleHTTPRequestHandler):
    """Serves web/ as files, plus an empty page at /blank.html to import its modules into."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/blank.html":
            body = b"<!doctype html><meta charset=utf-8><title>modules</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def static_url():
    """web/ without a drumgen server (a test of one module: the scheduler's timing, the WAV reader)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_StaticFiles, directory=str(WEB)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def blank_page(static_url, browser):
    """An empty page on `static_url` to import web/'s modules into (no drumgen server, no kit)."""
    page = browser.new_page()
    page.goto(f"{static_url}/blank.html")
    yield page
    page.close()


def open_page(browser, server, width=1280, height=800, context=None, init: str | None = None):
    """A fresh page (own storage unless `context` is given) with the kit loaded; `init` runs after INIT."""
    context = context or browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    context.add_init_script(INIT)
    if init:
        context.add_init_script(init)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(server + "/")
    page.evaluate("window.drumgen.ready")
    page.wait_for_function("drumgen.engine.buffers.every(b => b)")
    return page


@pytest.fixture
def page(browser, server):
    page = open_page(browser, server)
    yield page
    assert page.errors == [], f"uncaught errors in the page: {page.errors}"
    page.context.close()


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


def starts(page):
    return page.evaluate(STARTS)


def sound_ids(page):
    return page.evaluate("drumgen.pads.map(p => p.sound && p.sound.id)")


def shot(page, name, **kw):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), **kw)


def write_hit(path: Path, kind: str = "snare", seed: int = 0) -> Path:
    return audio.write_wav(path, synth.hit(kind, seed), synth.SAMPLE_RATE)
