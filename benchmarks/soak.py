"""Soak: the load pattern of benchmarks/load.py (POST /api/sample n=8 from N clients) at a steady rate for a fixed
time, loopback only; it stops by itself. Every 10 s: requests sent, answered, 503s, other errors, p95 latency and
the server's resident memory. Prints the table and appends it to RESULTS.md.

    python benchmarks/soak.py --tiny [--clients 8] [--rate 20] [--minutes 5]
    python benchmarks/soak.py --checkpoints DIR [--model NAME] ...     # starts `drumgen serve` over DIR
    python benchmarks/soak.py --url http://127.0.0.1:8000 --pid PID    # a server already running

Steady rate, not closed loop: each client sends on its own clock (rate / clients per second), whether or not
the last answer came, so a slow server sees its queue grow and must answer 503 + Retry-After rather than fall
over. A request still unanswered after 30 s counts as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
from common import add_server_args, record, rss_mb, table

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")
WINDOW = 10.0


class Window:
    def __init__(self) -> None:
        self.sent = self.ok = self.busy = 0
        self.errors: list[str] = []
        self.latency: list[float] = []


async def one(c: httpx.AsyncClient, model: str, w: Window) -> None:
    t0 = time.perf_counter()
    w.sent += 1
    try:
        r = await c.post("/api/sample", json={"model": model, "n": 8})
    except httpx.HTTPError as e:
        w.errors.append(type(e).__name__)
        return
    if r.status_code == 200 and len(r.json().get("sounds", [])) == 8:
        w.ok += 1
        w.latency.append(time.perf_counter() - t0)
    elif r.status_code == 503 and r.headers.get("Retry-After"):
        w.busy += 1
    else:
        w.errors.append(str(r.status_code))


async def soak(url: str, pid: int | None, model: str, clients: int, rate: float, seconds: float) -> list[list]:
    rows: list[list] = []
    windows = [Window()]
    start = time.monotonic()
    stop_at = start + seconds
    limits = httpx.Limits(max_connections=clients * 8)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as c:
        tasks: set[asyncio.Task] = set()

        async def client(i: int) -> None:
            period = clients / rate
            next_at = start + period * i / clients
            while next_at < stop_at:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                task = asyncio.ensure_future(one(c, model, windows[-1]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                next_at += period

        async def monitor() -> None:
            t = start
            while t < stop_at:
                await asyncio.sleep(max(0.0, min(t + WINDOW, stop_at) - time.monotonic()))
                t = time.monotonic()
                w = windows[-1]
                windows.append(Window())
                p95 = float(np.percentile(w.latency, 95)) * 1000 if w.latency else float("nan")
                rows.append([round(t - start), w.sent, w.ok, w.busy, len(w.errors),
                             ",".join(sorted(set(w.errors)))[:30] or "-", round(p95, 1), round(rss_mb(pid) or 0, 1) or "-"])
                print(" | ".join(str(v) for v in rows[-1]), flush=True)

        await asyncio.gather(monitor(), *(client(i) for i in range(clients)))
        if tasks:
            await asyncio.wait(tasks, timeout=35)
    for row, w in zip(rows, windows, strict=False):  # answers that came after their window closed
        row[1:6] = [w.sent, w.ok, w.busy, len(w.errors), ",".join(sorted(set(w.errors)))[:30] or "-"]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_server_args(ap)
    ap.add_argument("--model", help="model to sample (default: the first listed)")
    ap.add_argument("--rate", type=float, default=20.0, help="requests per second, all clients together")
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from drumgen.testing import ServerProcess, make_tiny_checkpoints

    with contextlib.ExitStack() as stack:
        if args.url:
            if urlsplit(args.url).hostname not in LOOPBACK:
                raise SystemExit("soak.py only talks to a server on this machine (127.0.0.1)")
            url, pid, what = args.url.rstrip("/"), args.pid, args.url
        else:
            folder = args.checkpoints
            if args.tiny:
                folder = stack.enter_context(tempfile.TemporaryDirectory())
                make_tiny_checkpoints(folder)
            srv = ServerProcess(folder, env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
            stack.callback(srv.stop)
            url, pid, what = srv.url, srv.pid, "tiny untrained checkpoints" if args.tiny else folder
        model = args.model or httpx.get(url + "/api/models").json()[0]["name"]
        rss0 = rss_mb(pid)
        print(f"soaking {url} ({model}) at {args.rate:g} req/s from {args.clients} clients for {args.minutes:g} min")
        rows = asyncio.run(soak(url, pid, model, args.clients, args.rate, args.minutes * 60))
        alive = httpx.get(url + "/api/health").status_code == 200
    sent = sum(r[1] for r in rows)
    errors = sum(r[4] for r in rows)
    rss = [r[7] for r in rows if isinstance(r[7], float)]
    notes = (f"{what}, model {model}: {sent} requests, {sum(r[2] for r in rows)} answered, "
             f"{sum(r[3] for r in rows)} 503s, {errors} errors; RSS {rss0 or 0:.0f} MB at start, "
             f"{max(rss, default=0):.0f} MB peak, {rss[-1] if rss else 0:.0f} MB at the end; "
             f"server answering afterwards: {alive}")
    text = table(["t (s)", "sent", "200", "503", "errors", "kinds", "p95 ms", "RSS MB"], rows)
    record(f"Soak: {args.rate:g} req/s of 8-sound kits, {args.clients} clients, {args.minutes:g} min", text, notes)
    print(notes)


if __name__ == "__main__":
    main()
