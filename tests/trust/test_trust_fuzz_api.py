"""Fuzzing the HTTP API with schemathesis (issue 7 item 9).

The real service runs as ``python -m voicebridge serve`` on loopback with the
built-in SIP simulator; ``schemathesis run`` reads its OpenAPI document and
sends generated (valid and invalid) requests to every operation, once with a
tenant key and once with the operator key. Checks: no 5xx, status codes,
content types, headers and response bodies as documented. The service's log
must hold no unhandled error either.

Bounded: a fixed seed, a small number of examples per operation, no stateful
phase (it would find the key's own id in GET /v1/keys and revoke it), webhook
delivery off (fuzzed URLs must not leave the machine), a subprocess time-out.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("schemathesis", reason="schemathesis is a test dependency (pip install schemathesis)")

MAX_EXAMPLES = 25  # per operation and phase
SEED = 20260701
CHECKS = ",".join((
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance",
))  # fmt: skip
CONFIG = """
[server]
drain_seconds = 1.0

[policy]
retries = 0
quiet_start = "00:00"
quiet_end = "00:00"

[limits]
requests_per_second = 100000.0
request_burst = 100000.0

[webhooks]
enabled = false

[dialer]
ring_timeout = 2.0
replay_wait = 0.5
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vb(tmp: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "voicebridge", *args, "--config", str(tmp / "vb.toml"), "--data-dir", str(tmp / "data")],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return out.stdout.strip()


class Server:
    def __init__(self, tmp: Path, port: int, tenant_key: str, operator_key: str, log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.tmp, self.tenant_key, self.operator_key, self.log = tmp, tenant_key, operator_key, log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "vb.toml").write_text(CONFIG)
    tenant = json.loads(_vb(tmp, "tenant", "create", "Fuzz Co", "--sandbox", "--json"))
    op = _vb(tmp, "operator-key").split()[-1]
    port = _free_port()
    log = tmp / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicebridge", "serve", "--config", str(tmp / "vb.toml"),
             "--data-dir", str(tmp / "data"), "--port", str(port)],
            stdout=fh, stderr=subprocess.STDOUT,
        )
    srv = Server(tmp, port, tenant["api_key"], op, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(srv.base + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the service did not become ready: " + log.read_text()[-3000:]
            time.sleep(0.2)
        yield srv
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _openapi_operations(base: str) -> int:
    with urllib.request.urlopen(base + "/v1/openapi.json", timeout=5) as resp:
        doc = json.load(resp)
    return sum(1 for ops in doc["paths"].values() for m in ops if m in ("get", "put", "post", "patch", "delete"))


def _fuzz(server: Server, key: str, name: str) -> dict[str, Any]:
    report = server.tmp / f"report-{name}.json"
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "run", server.base + "/v1/openapi.json",
        "--header", f"Authorization: Bearer {key}",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "2",
        "--generation-database", "none", "--request-timeout", "10", "--max-failures", "50",
        "--no-color", "--report", "json", "--report-json-path", str(report),
    ]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=150, cwd=server.tmp, env=env)
    assert report.exists(), out.stdout[-5000:] + out.stderr[-3000:]
    data: dict[str, Any] = json.loads(report.read_text())
    summary = (f"schemathesis with the {name} key: {data['operations']['tested']} operations, "
               f"{data['test_cases']['generated']} test cases, {data['running_time']:.1f} s")
    print(summary)
    assert out.returncode == 0 and not data["failures"] and not data["errors"], (
        summary + "\n" + out.stdout[-12000:] + out.stderr[-3000:])
    return data


def _no_unhandled_errors(server: Server) -> None:
    log = server.log.read_text(errors="replace")
    for needle in ("unhandled error", "Task exception was never retrieved", "Unhandled exception"):
        assert needle not in log, log[log.index(needle) - 200: log.index(needle) + 4000]


def test_fuzz_with_a_tenant_key(server: Server) -> None:
    data = _fuzz(server, server.tenant_key, "tenant")
    assert data["operations"]["tested"] == _openapi_operations(server.base) - 1  # all but the schema document
    assert data["test_cases"]["generated"] >= 500
    _no_unhandled_errors(server)


def test_fuzz_with_the_operator_key(server: Server) -> None:
    data = _fuzz(server, server.operator_key, "operator")
    assert data["operations"]["tested"] == _openapi_operations(server.base) - 1  # all but the schema document
    assert data["test_cases"]["generated"] >= 500
    _no_unhandled_errors(server)
