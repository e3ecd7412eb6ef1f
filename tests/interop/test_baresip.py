"""Interop: our UAC against baresip (Debian 1.0.0) as a headless auto-answering UA.

baresip records what it decodes (``sndfile`` module) so we can check that the
prompt arrived as audio: its length and its pitch.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import wave
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from voicebridge.dialer.cli_call import run_call
from voicebridge.g711 import tone_frames
from voicebridge.dialer.settings import SipSettings
from voicebridge.domain import Cause, HangupBy, Outcome

from .conftest import free_udp_port, port_taken

pytestmark = [pytest.mark.baresip, pytest.mark.timeout(30)]

BARESIP = shutil.which("baresip")
CALLEE = "+8613800000000"
CONFIG = """\
poll_method epoll
sip_listen 127.0.0.1:{sip}
net_interface 127.0.0.1
audio_player aubridge,nil
audio_source aufile,{wav}
audio_alert aubridge,nil
audio_srate 8000
audio_channels 1
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
snd_path {rec}
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl}
"""


class Baresip:
    def __init__(self, proc: subprocess.Popen[bytes], sip: int, ctrl: int, rec: Path, log: Path) -> None:
        self.proc, self.sip, self.ctrl, self.rec, self.log = proc, sip, ctrl, rec, log

    async def command(self, command: str, params: str = "") -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ctrl)
        body = json.dumps({"command": command, "params": params, "token": "t1"}).encode()
        writer.write(b"%d:%s," % (len(body), body))
        await writer.drain()
        try:
            await asyncio.wait_for(reader.read(1), 1.0)
        except asyncio.TimeoutError:
            pass
        writer.close()
        await writer.wait_closed()

    def heard(self) -> np.ndarray:
        files = sorted(self.rec.glob("*-dec.wav"))
        assert files, self.log.read_text(errors="replace")
        with wave.open(str(files[-1])) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


@pytest.fixture
def baresip(tmp_path: Path) -> Iterator[Baresip]:
    if BARESIP is None or not Path("/usr/lib/baresip/modules/sndfile.so").exists():
        pytest.skip("baresip (with sndfile) is not installed")
    sox = shutil.which("sox")
    if sox is None:
        pytest.skip("sox is needed for baresip's source file")
    wav = tmp_path / "source.wav"
    subprocess.run([sox, "-n", "-r", "8000", "-c", "1", "-b", "16", str(wav), "synth", "60", "sine", "300",
                    "vol", "0.2"], check=True)
    rec = tmp_path / "rec"
    rec.mkdir()
    sip, ctrl = free_udp_port(), free_udp_port()
    (tmp_path / "config").write_text(CONFIG.format(sip=sip, wav=wav, rec=rec, ctrl=ctrl))
    (tmp_path / "accounts").write_text(f"<sip:{CALLEE}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU\n")
    log = tmp_path / "baresip.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([BARESIP, "-f", str(tmp_path), "-t", "25"], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not (port_taken(sip) and b"baresip is ready" in log.read_bytes()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"baresip did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield Baresip(proc, sip, ctrl, rec, log)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / 8000)[int(np.argmax(spectrum))])


async def test_baresip_answers_and_hears_the_prompt(baresip: Baresip) -> None:
    prompt = tone_frames(440.0, 1.0)
    out = await run_call(CALLEE, "127.0.0.1", baresip.sip, "+861012345678", prompt, 5.0, 10.0,
                         replay_wait=0.5, settings=SipSettings(t1=0.1, rtp_port_min=0))
    assert (out.status, out.cause, out.hangup_by, out.sip_code) == (
        Outcome.ANSWERED, Cause.PROMPT_FINISHED, HangupBy.CALLER, 200)
    assert out.media["packets_sent"] == 50 and out.media["codec"] == "PCMU"
    assert out.media["packets_received"] > 20  # baresip streams its own source back
    await asyncio.sleep(0.3)
    heard = baresip.heard()
    loud = heard[np.abs(heard) > 500]
    assert len(heard) >= 0.8 * 8000 and len(loud) > 0.5 * 8000
    assert abs(dominant_hz(heard) - 440.0) < 10


async def test_baresip_hangs_up(baresip: Baresip) -> None:
    prompt = tone_frames(440.0, 0.4)
    call = asyncio.ensure_future(run_call(CALLEE, "127.0.0.1", baresip.sip, "+861012345678", prompt, 5.0, 10.0,
                                          replay_wait=10.0, settings=SipSettings(t1=0.1, rtp_port_min=0)))
    await asyncio.sleep(1.0)
    await baresip.command("hangup")
    out = await asyncio.wait_for(call, 5)
    assert (out.status, out.cause, out.hangup_by) == (Outcome.ANSWERED, Cause.NORMAL_CLEARING, HangupBy.CALLEE)
