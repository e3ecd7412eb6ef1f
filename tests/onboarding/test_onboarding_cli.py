"""The operator's onboarding and pool commands, run in process against a store on tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voicebridge.cli import main


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_pool_settings_and_review_from_the_command_line(tmp_path: Path, capsys: Any) -> None:
    d = ["--data-dir", str(tmp_path / "data")]
    code, out, _ = _run(capsys, "tenant", "create", "CLI Co", "--json", *d)
    assert code == 0
    tid = json.loads(out)["id"]
    csv_file = tmp_path / "pool.csv"
    csv_file.write_text("number,city\n010 5888 7701,Beijing\n+862158887702,上海\n", encoding="utf-8")
    code, out, _ = _run(capsys, "pool", "load", str(csv_file), *d)
    assert code == 0 and out.startswith("added 2 of 2")
    code, out, _ = _run(capsys, "pool", "list", "--city", "北京", "--json", *d)
    assert [n["e164"] for n in json.loads(out)] == ["+861058887701"]

    code, out, _ = _run(capsys, "onboarding", "settings", tid, "--level", "V4", "--timezone", "Asia/Urumqi",
                        "--allow-fixed-line", "--json", *d)
    assert code == 0
    assert json.loads(out) == {"id": tid, "level": "V4", "timezone": "Asia/Urumqi", "region": "CN",
                               "allow_fixed_line": True}
    code, _, err = _run(capsys, "onboarding", "settings", tid, "--timezone", "Nope/Nowhere", *d)
    assert code == 1 and "--timezone" in err

    code, _, err = _run(capsys, "onboarding", "approve", tid, "activation", *d)
    assert code == 1 and "not submitted" in err
    code, out, _ = _run(capsys, "onboarding", "queue", "--json", *d)
    assert code == 0 and json.loads(out) == []
    code, out, _ = _run(capsys, "onboarding", "show", tid, "--json", *d)
    shown = json.loads(out)
    assert [s["state"] for s in shown["steps"]] == ["not_started"] * 3
    assert [h["action"] for h in shown["history"]] == ["tenant.settings"]
