"""Settings: embedded defaults, then a TOML file, then ``VOICEBRIDGE_*`` environment.

One frozen :class:`Settings` object is built at the edge (the CLI) and handed to
each part as its own section. Nothing else reads ``os.environ``.

The TOML file has one table per section::

    [server]
    port = 8080

    [dialer]
    channels = 30

An environment variable names the section and the key:
``VOICEBRIDGE_DIALER__CHANNELS=30`` (double underscore between them). An
unknown section or key, or a value of the wrong type, stops start-up with a
:class:`SettingsError` that names it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from voicebridge.api.ratelimit import LimitSettings
from voicebridge.dialer.settings import SipSettings
from voicebridge.reminders.dispatcher import DispatchSettings
from voicebridge.reminders.policy import PolicySettings
from voicebridge.tts.service import TtsSettings
from voicebridge.jobs import JobSettings as BillingSettings
from voicebridge.webhooks.delivery import WebhookSettings

ENV_PREFIX = "VOICEBRIDGE_"


class SettingsError(ValueError):
    """A bad settings key or value; the message names it."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "./data"
    drain_seconds: float = 10.0  # on SIGTERM, how long calls in flight may finish
    max_body_bytes: int = 256 * 1024
    public_url: str = ""  # shown in logs and the demo; empty = http://host:port


@dataclass(frozen=True)
class StoreSettings:
    path: str = ""  # empty = <data_dir>/voicebridge.sqlite3


@dataclass(frozen=True)
class SimulatorSettings:
    enabled: bool = True  # start the built-in SIP simulator as the carrier
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port; the SIP adapter is pointed at it
    rules: tuple[dict[str, Any], ...] = ()  # overrides of the magic numbers
    ring_seconds: float = 0.5


@dataclass(frozen=True)
class ReminderSettings:
    app_name: str = "WeLink"  # "please log in to {app} to read it"
    max_recipients: int = 200
    max_text_chars: int = 2000  # accepted; the spoken prompt cuts the text at a boundary with "…"


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    dialer: DispatchSettings = field(default_factory=DispatchSettings)
    sip: SipSettings = field(default_factory=SipSettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)  # rent and arrears jobs
    policy: PolicySettings = field(default_factory=PolicySettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def db_path(self) -> Path:
        return Path(self.store.path) if self.store.path else self.data_dir / "voicebridge.sqlite3"

    def replace(self, section: str, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section), **changes)})

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> "Settings":
        """Defaults, then the TOML file at ``path``, then ``env``, then ``overrides``
        (the command line's flags)."""
        raw: dict[str, dict[str, Any]] = {}
        if path is not None:
            try:
                with open(path, "rb") as fh:
                    data = tomllib.load(fh)
            except FileNotFoundError:
                raise SettingsError(f"config file {path}: not found") from None
            except tomllib.TOMLDecodeError as exc:
                raise SettingsError(f"config file {path}: {exc}") from None
            for section, values in data.items():
                if not isinstance(values, dict):
                    raise SettingsError(f"{section}: expected a [{section}] table")
                raw.setdefault(section, {}).update(values)
        for name, value in (env if env is not None else os.environ).items():
            if not name.startswith(ENV_PREFIX):
                continue
            rest = name[len(ENV_PREFIX) :].lower()
            if "__" not in rest:
                raise SettingsError(f"{name}: expected VOICEBRIDGE_<SECTION>__<KEY>")
            section, key = rest.split("__", 1)
            raw.setdefault(section, {})[key] = _EnvText(value)
        for section, values in (overrides or {}).items():
            raw.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Mapping[str, Any]]) -> "Settings":
        sections = {f.name: f for f in dataclasses.fields(cls)}
        built: dict[str, Any] = {}
        for section, values in raw.items():
            if section not in sections:
                raise SettingsError(f"unknown settings section [{section}]; known: {', '.join(sections)}")
            sub_type = _resolve(sections[section].type, cls)
            built[section] = _build(section, sub_type, values)
        return cls(**built)


class _EnvText(str):
    """A value that came from the environment: parse it into the field's type."""


def _resolve(tp: Any, owner: type) -> Any:
    if isinstance(tp, str):
        hints = typing.get_type_hints(owner)
        for f in dataclasses.fields(owner):
            if f.type == tp:
                return hints[f.name]
    return tp


def _build(section: str, sub_type: type, values: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(sub_type)
    fields = {f.name for f in dataclasses.fields(sub_type)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise SettingsError(f"unknown setting {section}.{key}; known: {', '.join(sorted(fields))}")
        kwargs[key] = _coerce(f"{section}.{key}", hints[key], value)
    try:
        return sub_type(**kwargs)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"[{section}]: {exc}") from None


def _coerce(name: str, tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, _EnvText) and value == "") and type(None) in args:
            return None
        last: SettingsError | None = None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(name, arg, value)
            except SettingsError as exc:
                last = exc
        raise last or SettingsError(f"{name}: bad value {value!r}")
    if isinstance(value, _EnvText) and tp is not str:
        text = str(value)
        if tp is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise SettingsError(f"{name}: expected true or false, got {text!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise SettingsError(f"{name}: cannot read {text!r} as {_type_name(tp)}") from None
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                raise SettingsError(f"{name}: {value!r} is out of range") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise SettingsError(f"{name}: expected a finite number, got {value!r}")
            return number
    elif tp is str:
        if isinstance(value, str):
            return str(value)
    elif origin is tuple:
        if isinstance(value, (list, tuple)):
            inner = args[0] if args else Any
            return tuple(value if inner is Any else _coerce(f"{name}[]", inner, v) for v in value)
    elif origin is dict or tp is dict:
        if isinstance(value, dict):
            return dict(value)
    elif tp is Any:
        return value
    raise SettingsError(f"{name}: expected {_type_name(tp)}, got {value!r}")


def _type_name(tp: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, str(tp))
