"""kill -9 the real service mid-reminder; a restart on the same SQLite file
closes the calls in flight as failed/service_restart with a CDR each, and
dials the jobs still queued."""

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

import pytest


POLICY = '[policy]\nretries = 0\nquiet_start = "00:00"\nquiet_end = "00:00"\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def start(data_dir: Path, port: int, config: Path) -> subprocess.Popen:
    with open(data_dir / f"serve-{port}.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicebridge", "serve", "--data-dir", str(data_dir), "--port", str(port),
             "--config", str(config)],
            stdout=subprocess.DEVNULL, stderr=log,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = http("GET", f"http://127.0.0.1:{port}/readyz")
            if status == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise AssertionError((data_dir / f"serve-{port}.log").read_text())
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("service did not become ready")


def prepare(tmp_path: Path, config_text: str) -> tuple[Path, Path, str]:
    """A data dir with a sandbox tenant (made by the CLI, as an operator would)
    and a config file; returns (data_dir, config, the tenant's API key)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = tmp_path / "vb.toml"
    config.write_text(config_text + POLICY)
    out = subprocess.run([sys.executable, "-m", "voicebridge", "tenant", "create", "Test Co", "--sandbox", "--json",
                          "--data-dir", str(data_dir)], check=True, capture_output=True, text=True)
    return data_dir, config, json.loads(out.stdout)["api_key"]


@pytest.mark.timeout(120)
def test_kill_and_restart(tmp_path: Path) -> None:
    # two channels and long rings: two calls in flight, the rest queued, when we kill
    data_dir, config, key = prepare(tmp_path, "[dialer]\nchannels = 2\nring_timeout = 20.0\npoll_interval = 0.05\n"
                                              "[server]\ndrain_seconds = 2.0\n")
    port = free_port()
    proc = start(data_dir, port, config)
    try:
        recipients = [{"user_id": f"u{i}", "phone": f"1380013{i:03d}6"} for i in range(6)]  # 6 = ring, never answer
        status, accepted = http("POST", f"http://127.0.0.1:{port}/v1/reminders", key, {
            "group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "S"}, "text": "测试",
            "recipients": recipients})
        assert status == 202
        rid = accepted["id"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            _, view = http("GET", f"http://127.0.0.1:{port}/v1/reminders/{rid}", key)
            if sum(c["status"] == "ringing" for c in view["calls"]) == 2:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(view)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    # restart with short rings so the queued ones finish quickly
    config.write_text("[dialer]\nchannels = 4\nring_timeout = 1.0\npoll_interval = 0.05\n" + POLICY)
    port = free_port()
    proc = start(data_dir, port, config)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, view = http("GET", f"http://127.0.0.1:{port}/v1/reminders/{rid}", key)
            if view["status"] != "active":
                break
            time.sleep(0.2)
        statuses = sorted((c["status"], c["cause"]) for c in view["calls"])
        assert statuses.count(("failed", "service_restart")) == 2, statuses
        assert [s for s, _ in statuses].count("no_answer") == 4, statuses
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0

    import sqlite3

    db = sqlite3.connect(data_dir / "voicebridge.sqlite3")
    rows = db.execute("SELECT call_id, attempt, status, cause FROM cdrs WHERE reminder_id = ?", (rid,)).fetchall()
    assert len(rows) == 6 and len({(r[0], r[1]) for r in rows}) == 6  # one CDR per attempt
    assert sum(r[3] == "service_restart" for r in rows) == 2
    charged = db.execute("SELECT COUNT(*) FROM ledger WHERE kind = 'call_charge'").fetchone()[0]
    assert charged == 0  # nothing was answered, nothing charged


@pytest.mark.timeout(90)
def test_sigterm_drains_then_hangs_up_and_writes_every_cdr(tmp_path: Path) -> None:
    data_dir, config, key = prepare(
        tmp_path, "[dialer]\nchannels = 10\nring_timeout = 60.0\npoll_interval = 0.05\nreplay_wait = 0.3\n"
                  "[server]\ndrain_seconds = 1.5\n")
    port = free_port()
    proc = start(data_dir, port, config)
    recipients = [{"user_id": f"u{i}", "phone": f"1380013{i:03d}6"} for i in range(4)]  # ring for ever
    recipients.append({"user_id": "short", "phone": "13800138001"})  # answers: a short English prompt
    status, accepted = http("POST", f"http://127.0.0.1:{port}/v1/reminders", key, {
        "group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "S"}, "text": "Hi",
        "language": "en", "recipients": recipients})
    assert status == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _, view = http("GET", f"http://127.0.0.1:{port}/v1/reminders/{accepted['id']}", key)
        if sum(c["status"] in ("ringing", "answered") for c in view["calls"]) == 5:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    import sqlite3

    db = sqlite3.connect(data_dir / "voicebridge.sqlite3")
    rows = db.execute("SELECT callee, status, cause FROM cdrs").fetchall()
    assert len(rows) == 5, rows  # every call in flight left its CDR
    ringing = [r for r in rows if r[0].endswith("6")]
    # hung up by the shutdown, not left to ring out their 60 s timeout
    assert all((s, c) == ("cancelled", "shutdown") for _, s, c in ringing), rows
    assert db.execute("SELECT COUNT(*) FROM calls WHERE status IN ('calling', 'ringing', 'answered')").fetchone()[0] == 0
