"""``voicebridge call`` itself, as an operator runs it, against SIPp scenarios:
the real TTS prompt, the real SIP adapter, the JSON outcome on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(60)]


def run_cli(port: int, data_dir: Path, *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "voicebridge", "call", "13800000000", "--trunk", f"127.0.0.1:{port}",
         "--caller", "+861012345678", "--lang", "en", "--text", "Release tonight", "--ring-timeout", "2", "--json",
         "--data-dir", str(data_dir),
         *extra],
        capture_output=True, text=True, timeout=50,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize(("scenario", "status", "cause", "code"), [
    ("uas_busy.xml", "busy", "user_busy", 486),
    ("uas_decline.xml", "rejected", "call_rejected", 603),
    ("uas_ring_cancel.xml", "no_answer", "ring_timeout", 487),
])
def test_refusals(sipp_uas: Any, tmp_path: Path, scenario: str, status: str, cause: str, code: int) -> None:
    sipp = sipp_uas(scenario)
    result = run_cli(sipp.port, tmp_path)
    assert (result["status"], result["cause"], result["sip_code"]) == (status, cause, code)
    assert result["billable_seconds"] == 0
    assert sipp.wait(10) == 0, sipp.log()


def test_press_1_then_far_end_bye(sipp_uas: Any, tmp_path: Path) -> None:
    sipp = sipp_uas("uas_dtmf_bye.xml")
    result = run_cli(sipp.port, tmp_path)
    assert (result["status"], result["digits"], result["hangup_by"]) == ("answered", "1", "callee")
    assert result["billable_seconds"] > 0 and result["billable_minutes"] == 1
    assert sipp.wait(10) == 0, sipp.log()


def test_407_with_credentials(sipp_uas: Any, tmp_path: Path) -> None:
    sipp = sipp_uas("uas_407.xml")
    result = run_cli(sipp.port, tmp_path, "--user", "vbuser", "--password", "s3cret")
    assert (result["status"], result["cause"]) == ("answered", "prompt_finished")
    assert sipp.wait(10) == 0, sipp.log()


def test_usage_errors_name_the_flag(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "voicebridge", "call", "13800000000", "--trunk", "nohost"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--trunk" in out.stderr
    out = subprocess.run([sys.executable, "-m", "voicebridge", "call", "12", "--trunk", "127.0.0.1:5060"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "CALLEE" in out.stderr
