from pathlib import Path

import pytest

from voicebridge.config import Settings, SettingsError


def test_defaults_are_the_embedded_setup() -> None:
    s = Settings()
    assert s.server.host == "127.0.0.1" and s.server.port == 8080
    assert s.simulator.enabled is True
    assert s.db_path == Path("./data/voicebridge.sqlite3")


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "vb.toml"
    cfg.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n[dialer]\nchannels = 5\n')
    env = {"VOICEBRIDGE_DIALER__CHANNELS": "7", "VOICEBRIDGE_SIMULATOR__ENABLED": "false", "HOME": "/x"}
    s = Settings.load(cfg, env=env, overrides={"server": {"port": 9100, "host": None}})
    assert s.server.port == 9100  # the flag wins
    assert s.server.host == "0.0.0.0"  # None flags do not override
    assert s.dialer.channels == 7  # env beats the file
    assert s.simulator.enabled is False


@pytest.mark.parametrize(
    "text, message",
    [
        ("[server]\nprot = 1\n", "unknown setting server.prot"),
        ("[nope]\nx = 1\n", "unknown settings section [nope]"),
        ('[server]\nport = "eighty"\n', "server.port: expected an integer"),
        ("[dialer]\nchannels = 1.5\n", "dialer.channels: expected an integer"),
        ("[server\n", "config file"),
    ],
)
def test_bad_file_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Settings.load(cfg, env={})


def test_bad_env_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="dialer.channels"):
        Settings.load(None, env={"VOICEBRIDGE_DIALER__CHANNELS": "many"})
    with pytest.raises(SettingsError, match="VOICEBRIDGE_PORT"):
        Settings.load(None, env={"VOICEBRIDGE_PORT": "1"})


def test_missing_file() -> None:
    with pytest.raises(SettingsError, match="not found"):
        Settings.load("/nonexistent/vb.toml", env={})
