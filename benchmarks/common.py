"""What every benchmark shares: the machine it ran on, a plain-text table, and appending to RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, torch {torch.__version__}"


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table whose columns line up in a terminal too."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.0f}"
    return str(v)


def record(title: str, text: str, notes: str = "") -> None:
    """Print the table and append it to RESULTS.md with the date, machine and the exact command."""
    print(text)
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0])] + sys.argv[1:])
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()[0]  # other work on the machine slows every timing: say how busy it was
    block = f"\n## {title}\n\n{stamp} · `{command}` · {machine()} · load average {load:.1f}\n\n{text}\n"
    if notes:
        block += f"\n{notes}\n"
    with RESULTS.open("a") as f:
        f.write(block)


def add_server_args(ap) -> None:
    """Which server a load benchmark talks to: a running one, or one it starts over checkpoints (loopback only)."""
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server on this machine (loopback only)")
    where.add_argument("--checkpoints", help="start `drumgen serve` over this folder of checkpoints")
    where.add_argument("--tiny", action="store_true", help="start a server over tiny untrained checkpoints")
    ap.add_argument("--pid", type=int, help="the server's process id, to read its memory (with --url)")
    ap.add_argument("--clients", type=int, default=8)


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process in MB (Linux /proc), or None when unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
