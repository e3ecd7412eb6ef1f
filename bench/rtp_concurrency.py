"""Concurrent answered calls streaming RTP: p99 send lateness of the shared clock.

SIPp answers every call (``-sn uas``) and echoes all RTP back (``-rtp_echo``),
so each call carries 50 packets/s each way. For N concurrent calls we measure,
after all are answered, the lateness of each 20 ms tick (time the last packet
of the tick left minus its schedule). Same run, same machine, a baseline:
one asyncio task per call sleeping 20 ms (the design aiortp uses), sending the
same packets to the same echo. Prints the largest N each design holds with
p99 < ``--budget-ms`` and the ratio.

    python bench/rtp_concurrency.py [--levels 100,200,400,800] [--hold 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from voicebridge.g711 import tone_frames  # noqa: E402
from voicebridge.dialer.rtp import RtpSender  # noqa: E402
from voicebridge.dialer.settings import SipSettings  # noqa: E402
from voicebridge.dialer.sip_carrier import SipCarrier  # noqa: E402
from voicebridge.domain import CallRequest, Outcome  # noqa: E402


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    return data[min(len(data) - 1, int(0.99 * len(data)))]


async def ours(port: int, n: int, hold: float) -> tuple[float, int, float]:
    """p99 lateness (s), answered calls, CPU share while holding."""
    prompt = tone_frames(440.0, hold + 6.0)
    settings = SipSettings(trunk_port=port, rtp_port_min=0, t1=0.5)
    async with SipCarrier(settings) as carrier:
        answered = 0
        ready = asyncio.Event()

        def on_event(ev: object) -> None:
            nonlocal answered
            if getattr(ev, "kind").value == "answered":
                answered += 1
                if answered == n:
                    ready.set()

        tasks = [asyncio.ensure_future(carrier.dial(
            CallRequest(call_id=f"r{i}", caller="+861012345678", callee=f"+86139{i:08d}", prompt=prompt,
                        ring_timeout=20, max_duration=hold + 30), on_event)) for i in range(n)]
        try:
            await asyncio.wait_for(ready.wait(), 30)
        except asyncio.TimeoutError:
            pass
        await asyncio.sleep(0.5)
        carrier.clock.lateness.clear()
        c0, t0 = time.process_time(), time.monotonic()
        await asyncio.sleep(hold)
        cpu = (time.process_time() - c0) / (time.monotonic() - t0)
        late = list(carrier.clock.lateness)
        for i in range(n):
            carrier.abort(f"r{i}", "bench_done")
        outs = await asyncio.gather(*tasks)
    ok = sum(1 for o in outs if o.status is Outcome.ANSWERED)
    return p99(late), ok, cpu


async def per_call_tasks(media_port: int, n: int, hold: float) -> tuple[float, int, float]:
    """Baseline: one sleeping task per stream, lateness per packet."""
    loop = asyncio.get_running_loop()
    frame = tone_frames(440.0, 0.02)[0]
    late: list[float] = []
    stop = False
    transports = []

    class Sink(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            pass

    for _ in range(n):
        t, _ = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
        transports.append(t)

    async def stream(t: asyncio.DatagramTransport) -> None:
        sender = RtpSender(0)
        next_at = loop.time()
        while not stop:
            next_at += 0.02
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            t.sendto(sender.packet(frame), ("127.0.0.1", media_port))
            sender.advance()
            late.append(loop.time() - next_at)

    tasks = [loop.create_task(stream(t)) for t in transports]
    await asyncio.sleep(0.5)
    late.clear()
    c0, t0 = time.process_time(), time.monotonic()
    await asyncio.sleep(hold)
    cpu = (time.process_time() - c0) / (time.monotonic() - t0)
    result = p99(late)
    stop = True
    await asyncio.gather(*tasks)
    for t in transports:
        t.close()
    return result, n, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", default="200,400,800,1200,1600")
    ap.add_argument("--hold", type=float, default=4.0)
    ap.add_argument("--budget-ms", type=float, default=5.0)
    args = ap.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("sipp is not installed")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    logdir = tempfile.mkdtemp(prefix="rtp_concurrency_")
    port, media_port = free_port(), free_port()
    with open(os.path.join(logdir, "uas.log"), "wb") as out:
        uas = subprocess.Popen(
            ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media_port),
             "-rtp_echo", "-buff_size", str(4 * 1024 * 1024), "-nostdin", "-timeout", "900s"],
            stdout=out, stderr=subprocess.STDOUT, cwd=logdir)
    time.sleep(0.5)
    best = {"shared clock": 0, "task per call": 0}
    budget = args.budget_ms / 1000
    try:
        for n in map(int, args.levels.split(",")):
            late, ok, cpu = asyncio.run(ours(port, n, args.hold))
            passed = ok == n and late < budget
            print(f"shared clock   N={n:5d} answered {ok:5d} p99 lateness {late * 1000:7.2f} ms "
                  f"cpu {cpu:5.0%} {'PASS' if passed else 'FAIL'}", flush=True)
            if passed:
                best["shared clock"] = n
            base, _, bcpu = asyncio.run(per_call_tasks(media_port, n, args.hold))
            bpass = base < budget
            print(f"task per call  N={n:5d}                p99 lateness {base * 1000:7.2f} ms "
                  f"cpu {bcpu:5.0%} {'PASS' if bpass else 'FAIL'}", flush=True)
            if bpass:
                best["task per call"] = n
            if not passed and not bpass:
                break
    finally:
        uas.kill()
        uas.wait()
    ratio = best["shared clock"] / best["task per call"] if best["task per call"] else float("nan")
    print(f"RESULT rtp concurrency (p99 < {args.budget_ms} ms): shared clock {best['shared clock']} calls, "
          f"task per call {best['task per call']} streams, ratio {ratio:.2f} "
          f"(hold {args.hold}s, load {os.getloadavg()[0]:.2f}, logs {logdir})")


if __name__ == "__main__":
    main()
