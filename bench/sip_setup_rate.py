"""Call set-up rate: our dialer vs SIPp's own UAC, against the same SIPp UAS.

Both sides use equal socket buffers (``-buff_size``; our ``socket_buffer``).
For each side the rate is stepped up; a step passes when the achieved rate
is >= 90 % of the target and failures stay under the threshold (ours 0.1 %,
SIPp 1 %). Prints both best rates and their ratio. Bounded: each step lasts
``--step-seconds`` and there are at most a handful of steps per side.

    python bench/sip_setup_rate.py [--step-seconds 2] [--buff 4194304]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from voicebridge.dialer.settings import SipSettings  # noqa: E402
from voicebridge.dialer.sip_carrier import SipCarrier  # noqa: E402
from voicebridge.domain import CallRequest, Outcome  # noqa: E402


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_uas(buff: int, logdir: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with open(os.path.join(logdir, "uas.log"), "wb") as out:
        proc = subprocess.Popen(
            ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-buff_size", str(buff), "-nostdin",
             "-timeout", "600s", "-mi", "127.0.0.1", "-mp", str(free_port()), "-trace_err"],
            stdout=out, stderr=subprocess.STDOUT, cwd=logdir)
    time.sleep(0.5)
    return proc, port


def sipp_uac_step(port: int, rate: int, seconds: float, buff: int, logdir: str) -> tuple[float, int, int]:
    n = int(rate * seconds)
    t0 = time.monotonic()
    try:
        res = subprocess.run(
            ["sipp", "-sn", "uac", f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(free_port()), "-r", str(rate),
             "-m", str(n), "-buff_size", str(buff), "-nostdin", "-timeout", f"{int(seconds * 4 + 10)}s",
             "-mi", "127.0.0.1", "-mp", str(free_port())],
            capture_output=True, cwd=logdir, timeout=seconds * 4 + 30)
    except subprocess.TimeoutExpired:  # run() has killed it
        return 0.0, 0, n
    elapsed = time.monotonic() - t0
    text = res.stdout.decode(errors="replace")
    ok = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    bad = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    success = int(ok[-1]) if ok else 0
    failed = int(bad[-1]) if bad else n - success
    return success / elapsed, success, failed


async def ours_step(port: int, rate: int, seconds: float, buff: int) -> tuple[float, int, int]:
    settings = SipSettings(trunk_port=port, rtp_port_min=0, socket_buffer=buff, t1=0.5)
    n = int(rate * seconds)
    statuses: dict[Outcome, int] = {}
    causes: dict[str, int] = {}
    async with SipCarrier(settings) as carrier:
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[None]] = []

        async def one(i: int) -> None:
            req = CallRequest(call_id=f"b{i}", caller="+861012345678", callee=f"+86138{i:08d}", prompt=[],
                              ring_timeout=10.0, replay_wait=0.0, max_duration=10.0)
            try:
                out = await carrier.dial(req, lambda e: None)
                statuses[out.status] = statuses.get(out.status, 0) + 1
                if out.status is not Outcome.ANSWERED:
                    causes[out.cause] = causes.get(out.cause, 0) + 1
            except OSError:
                statuses[Outcome.FAILED] = statuses.get(Outcome.FAILED, 0) + 1

        t0 = loop.time()
        launched = 0
        while launched < n:
            due = min(n, int((loop.time() - t0) * rate) + 1)
            while launched < due:
                tasks.append(loop.create_task(one(launched)))
                launched += 1
            await asyncio.sleep(0.005)
        await asyncio.wait(tasks, timeout=seconds * 4 + 10)
        elapsed = loop.time() - t0
    success = statuses.get(Outcome.ANSWERED, 0)
    if n - success:
        print("   not answered:", {str(k): v for k, v in statuses.items() if k is not Outcome.ANSWERED},
              "causes:", causes, "unfinished:", n - sum(statuses.values()), flush=True)
    return success / elapsed, success, n - success


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--step-seconds", type=float, default=2.0)
    ap.add_argument("--buff", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--ours", default="500,1000,1500,2000,2500,3000,3500,4000")
    ap.add_argument("--sipp", default="5000,10000,20000,30000,40000,50000")
    args = ap.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("sipp is not installed")
    logdir = tempfile.mkdtemp(prefix="sip_setup_rate_")
    best = {"ours": 0.0, "sipp": 0.0}

    def step(side: str, rate: int) -> bool:
        # a fresh UAS per step: an overloaded step must not poison the next one
        uas, port = start_uas(args.buff, logdir)
        try:
            if side == "sipp":
                achieved, ok, bad = sipp_uac_step(port, rate, args.step_seconds, args.buff, logdir)
                limit, label = 0.01, "sipp uac   "
            else:
                achieved, ok, bad = asyncio.run(ours_step(port, rate, args.step_seconds, args.buff))
                limit, label = 0.001, "voicebridge"
        finally:
            uas.kill()
            uas.wait()
        fail = bad / max(1, ok + bad)
        passed = achieved >= 0.9 * rate and fail < limit
        print(f"{label} target {rate:6d}/s achieved {achieved:8.1f}/s ok {ok} failed {bad} "
              f"({fail:.2%}) {'PASS' if passed else 'FAIL'}", flush=True)
        if passed:
            best[side] = max(best[side], achieved)
        return passed

    for rate in map(int, args.sipp.split(",")):
        if not step("sipp", rate):
            break
    for rate in map(int, args.ours.split(",")):
        if not step("ours", rate):
            break
    ratio = best["ours"] / best["sipp"] if best["sipp"] else float("nan")
    print(f"RESULT setup rate: voicebridge {best['ours']:.0f}/s, sipp uac {best['sipp']:.0f}/s, "
          f"ratio {ratio:.3f} "
          f"(buff_size {args.buff}, step {args.step_seconds}s, load {os.getloadavg()[0]:.2f}, logs {logdir})")


if __name__ == "__main__":
    main()
