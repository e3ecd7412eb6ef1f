"""SIPp as the far end: start ``sipp`` on loopback with a scenario, bounded."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP = shutil.which("sipp")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


class Sipp:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, media_port: int, logdir: Path) -> None:
        self.proc = proc
        self.port = port
        self.media_port = media_port
        self.logdir = logdir

    def wait(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout)

    def log(self) -> str:
        parts = []
        for f in sorted(self.logdir.glob("*")):
            parts.append(f"--- {f.name}\n{f.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


@pytest.fixture
def sipp_uas(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    if SIPP is None:
        pytest.skip("sipp (Debian sip-tester) is not on PATH")
    started: list[Sipp] = []

    def start(scenario: str, *extra: str, calls: int = 1, timeout_s: int = 20) -> Sipp:
        port, media_port = free_udp_port(), free_udp_port()
        logdir = tmp_path / f"sipp-{len(started)}"
        logdir.mkdir()
        sf = scenario if scenario.startswith("-") else str(SCENARIOS / scenario)
        args = [SIPP, *(["-sf", sf] if not scenario.startswith("-") else scenario.split()),
                "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media_port),
                "-m", str(calls), "-timeout", f"{timeout_s}s", "-timeout_error", "-nostdin",
                "-trace_err", "-error_file", str(logdir / "errors.log"),
                "-trace_msg", "-message_file", str(logdir / "messages.log"), *extra]
        with open(logdir / "stdout.log", "wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=logdir)
        sipp = Sipp(proc, port, media_port, logdir)
        started.append(sipp)
        deadline = time.monotonic() + 5
        while not port_taken(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sipp did not start:\n{sipp.log()}")
            time.sleep(0.02)
        return sipp

    yield start
    for sipp in started:
        if sipp.proc.poll() is None:
            sipp.proc.kill()
            sipp.proc.wait(5)
