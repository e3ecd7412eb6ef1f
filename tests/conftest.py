"""Shared fixtures: a real SQLite file, the real service wired with the built-in
SIP simulator on loopback and the real TTS engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A run that collected nothing must fail, never pass quietly.
    if session.testscollected == 0 and exitstatus in (0, 5):
        session.exitstatus = 1


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def fast_settings(data_dir: Path, **sections: dict[str, Any]):  # noqa: ANN201
    from voicebridge.config import Settings

    raw: dict[str, dict[str, Any]] = {
        "server": {"data_dir": str(data_dir), "port": 0, "drain_seconds": 3.0},
        "dialer": {"ring_timeout": 3.0, "replay_wait": 0.5, "max_replays": 2, "calls_per_second": 50.0,
                   "poll_interval": 0.05, "channels": 30},
        # no retries and no quiet hours unless a test asks: results must not depend on the time of day
        "policy": {"retries": 0, "quiet_start": "00:00", "quiet_end": "00:00"},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return Settings.from_mapping(raw)


@pytest.fixture
def make_settings(data_dir: Path):  # noqa: ANN201
    """Settings with short timers; keyword sections override (``dialer={...}``)."""
    return lambda **sections: fast_settings(data_dir, **sections)


@pytest.fixture
def settings(data_dir: Path):  # noqa: ANN201
    return fast_settings(data_dir)


@pytest.fixture
async def service(aiohttp_client: Any, settings: Any) -> AsyncIterator[Any]:
    """The whole service in process, with an HTTP test client."""
    from voicebridge.app import build_app

    app = build_app(settings)
    client = await aiohttp_client(app)
    yield client


@pytest.fixture
async def sandbox(service: Any) -> Any:
    from voicebridge.api.keys import SERVICES
    from voicebridge.tenancy import new_tenant

    services = service.server.app[SERVICES]
    return await new_tenant(services.store, services.secret, "Test Co", sandbox=True)
