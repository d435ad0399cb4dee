"""Bounded load on a drumgen server: N clients each asking for new 8-pad kits, for a fixed time, loopback only.

    python benchmarks/load.py --tiny [--clients 8] [--seconds 20] [--wavs]
    python benchmarks/load.py --checkpoints DIR [--model NAME] ...   # starts `drumgen serve` over DIR
    python benchmarks/load.py --url http://127.0.0.1:8000 --pid PID  # a server already running

A "kit" is POST /api/sample {n: 8} (with --wavs also the 8 WAVs, as the drum machine fetches them). Each client
sends its next request when the last one is answered; the run stops by itself after --seconds. Reports kits/s,
p50/p95/p99 latency, errors (503s counted apart) and the server's resident memory at start, peak and end, then
appends the table to RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from urllib.parse import urlsplit

import httpx
import numpy as np
from common import add_server_args, record, rss_mb, table

LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")


async def client_loop(c: httpx.AsyncClient, model: str, wavs: bool, stop_at: float, out: dict,
                      labels: list[str | None] | None = None, inline: bool = False) -> None:
    body = {"model": model, "n": 8, **({"labels": labels} if labels else {}), **({"audio": True} if inline else {})}
    while time.monotonic() < stop_at:
        t0 = time.perf_counter()
        try:
            r = await c.post("/api/sample", json=body)
            if r.status_code == 200 and wavs:
                answers = await asyncio.gather(*(c.get(s["url"]) for s in r.json()["sounds"]))
                bad = [a for a in answers if a.status_code != 200]
                r = bad[0] if bad else r
        except httpx.HTTPError as e:
            out["errors"].append(type(e).__name__)
            continue
        if r.status_code == 200:
            out["latency"].append(time.perf_counter() - t0)
        elif r.status_code == 503:
            out["busy"] += 1
            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
        else:
            out["errors"].append(str(r.status_code))


async def list_models(url: str) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        return [m["name"] for m in (await c.get("/api/models")).json()]


async def run(url: str, model: str, clients: int, seconds: float, wavs: bool, pid: int | None,
              labels: list[str | None] | None = None, inline: bool = False) -> dict:
    """`clients` concurrent clients asking for kits for `seconds` (labels: one class per pad, as the drum machine
    asks a class-conditional model; inline: the WAVs in the answer, as the drum machine asks for them, rather than
    fetched one by one with `wavs`); latencies, errors, 503s and the server's memory over the run."""
    # idle connections expire here before the server's 5 s keep-alive closes them under a request in flight
    limits = httpx.Limits(max_connections=clients * 9, keepalive_expiry=4.0)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as c:
        for _ in range(3):  # warm up
            await c.post("/api/sample", json={"model": model, "n": 8})
        out = {"latency": [], "errors": [], "busy": 0, "rss": [rss_mb(pid)]}
        stop_at = time.monotonic() + seconds

        async def watch() -> None:
            while time.monotonic() < stop_at:
                out["rss"].append(rss_mb(pid))
                await asyncio.sleep(0.5)

        started = time.monotonic()
        await asyncio.gather(watch(), *(client_loop(c, model, wavs, stop_at, out, labels, inline) for _ in range(clients)))
        out["elapsed"] = time.monotonic() - started
        out["rss"].append(rss_mb(pid))
        out["model"] = model
        out["health"] = (await c.get("/api/health")).json().get("stats", {})
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_server_args(ap)
    ap.add_argument("--model", help="model to sample (default: the first listed; 'all': each in turn)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--wavs", action="store_true", help="also fetch each kit's 8 WAVs, one GET each")
    ap.add_argument("--inline", action="store_true", help="ask for the WAVs inline, as the drum machine does")
    args = ap.parse_args()
    if not 1 <= args.clients <= 256 or not 0 < args.seconds <= 600:
        ap.error("--clients must be 1..256 and --seconds 0..600: this is a bounded benchmark")
    server = None
    with contextlib.ExitStack() as stack:
        if args.url:
            if urlsplit(args.url).hostname not in LOOPBACK:
                ap.error("--url must be a loopback address: this benchmark never sends load over a network")
            url, pid = args.url, args.pid
        else:
            from drumgen.testing import ServerProcess, make_tiny_checkpoints

            folder = args.checkpoints
            if args.tiny:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="drumgen-load-"))
                make_tiny_checkpoints(folder)
            server = stack.enter_context(ServerProcess(folder))
            url, pid = server.url, server.pid
        names = asyncio.run(list_models(url))
        chosen = names if args.model == "all" else [args.model or names[0]]
        outs = [asyncio.run(run(url, m, args.clients, args.seconds, args.wavs, pid, inline=args.inline))
                for m in chosen]
    rows, notes = [], []
    before = {"batches": 0, "sampled": 0}
    for out in outs:
        h = out["health"]
        per_batch = (h.get("sampled", 0) - before["sampled"]) / max(1, h.get("batches", 0) - before["batches"])
        before = h
        lat = np.array(out["latency"]) * 1000
        rss = [r for r in out["rss"] if r is not None]
        pct = (lambda q, lat=lat: float(np.percentile(lat, q))) if lat.size else (lambda q: float("nan"))
        rows.append([out["model"], args.clients, "kit, WAVs inline" if args.inline else "kit + 8 WAVs" if args.wavs else "kit (n=8)",
                     round(out["elapsed"], 1), lat.size, lat.size / out["elapsed"], pct(50), pct(95), pct(99),
                     round(per_batch, 1), len(out["errors"]), out["busy"],
                     f"{rss[0]:.0f} / {max(rss):.0f} / {rss[-1]:.0f}" if rss else "n/a",
                     f"{rss[-1] - rss[len(rss) // 2]:+.0f}" if rss else "n/a"])
        if out["errors"]:
            notes.append(f"{out['model']} errors: {sorted(set(out['errors']))}")
    headers = ["model", "clients", "request", "s", "kits", "kits/s", "p50 ms", "p95 ms", "p99 ms", "kits/batch",
               "errors", "503s", "server RSS MB start/peak/end", "RSS MB 2nd half"]
    source = "tiny untrained checkpoints" if args.tiny else (args.checkpoints or args.url)
    notes.insert(0, f"Server: {source}. The load generator runs on the same machine as the server; load average "
                    f"at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work shares them).")
    record("Server load: new 8-pad kits", table(headers, rows), "\n".join(notes))


if __name__ == "__main__":
    main()
