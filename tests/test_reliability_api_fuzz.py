"""The whole HTTP API of a real `drumgen serve` on 127.0.0.1, fuzzed with schemathesis from its own /openapi.json:
valid and invalid bodies, odd parameters and headers for every operation. No answer may be a 5xx, and the server
answers normally afterwards. DRUMGEN_FUZZ_EXAMPLES sets the examples per operation (default 12)."""

from __future__ import annotations

import os

import httpx
import schemathesis  # a test dependency: missing, the suite fails rather than skipping the fuzz
from hypothesis import HealthCheck, given, settings

import drumgen.server.app  # noqa: F401  (the code under test: a broken import fails here)

EXAMPLES = int(os.environ.get("DRUMGEN_FUZZ_EXAMPLES", "12"))


def _runner(op, base_url: str, failures: list[str], calls: list[int]):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(op.as_strategy())
    def run(case):
        response = case.call(base_url=base_url, timeout=30)
        calls.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{op.method.upper()} {op.path} -> {response.status_code}: {response.text[:200]} "
                            f"(body {str(case.body)[:200]}, query {case.query}, path {case.path_parameters})")
    return run


def test_no_5xx_for_any_generated_request(server_factory):
    """POST /api/train is left out: valid requests there start training processes (covered by
    tests/test_server_jobs.py and test_reliability_server.py)."""
    srv = server_factory()
    schema = schemathesis.openapi.from_url(srv.url + "/openapi.json")
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path == "/api/train" and op.method.upper() == "POST":
            continue
        operations += 1
        _runner(op, srv.url, failures, calls)()
    assert operations >= 10 and len(calls) > 5 * operations
    assert not failures, f"{len(failures)} of {len(calls)} requests got a 5xx:\n" + "\n".join(failures[:10])
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        assert c.get("/api/health").json()["status"] == "ok"
        model = c.get("/api/models").json()[0]["name"]
        assert c.post("/api/sample", json={"model": model, "n": 2}).status_code == 200
