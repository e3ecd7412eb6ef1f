"""The one entry point: ``voicebridge COMMAND``.

Logging is configured here and only here. Every command that touches the store
takes ``--config`` and ``--data-dir``. A usage error exits 2 with a message that
names the flag; a bad setting exits 2 naming the key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import logging.config
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from voicebridge import __version__

log = logging.getLogger("voicebridge.cli")


class UsageError(Exception):
    pass


def _setup_logging(level: str, json_lines: bool = False) -> None:
    fmt = "%(asctime)s %(levelname)s %(name)s %(message)s"
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"()": "voicebridge.logs.MaskingFormatter", "format": fmt},
            "json": {"()": "voicebridge.logs.JsonFormatter"},
        },
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json" if json_lines else "plain",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {"aiohttp.access": {"level": "WARNING"}},
    })


def _store_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML settings file")
    p.add_argument("--data-dir", metavar="DIR", help="where the SQLite file, prompt cache and secret live")


def load_settings(args: argparse.Namespace, **server: Any):  # noqa: ANN201
    from voicebridge.config import Settings

    overrides: dict[str, dict[str, Any]] = {"server": {"data_dir": getattr(args, "data_dir", None), **server}}
    return Settings.load(getattr(args, "config", None), overrides=overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicebridge", description="Phone the members of a chat who have not read a message.")
    parser.add_argument("--version", action="version", version=f"voicebridge {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-format", default="plain", choices=["plain", "json"],
                        help="json: one JSON object a line, with call_id; phone numbers are masked either way")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("serve", help="run the service (embedded default: SQLite + the built-in SIP simulator)")
    _store_flags(p)
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8080)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="the whole flow in one process: five simulated members")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the live view")
    p.add_argument("--data-dir", metavar="DIR", help="keep the demo's data here (default: a temporary folder)")
    p.add_argument("--lang", default="zh-CN", choices=["zh-CN", "en"], help="prompt language")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("tenant", help="operator: tenants")
    tsub = p.add_subparsers(dest="tenant_command", metavar="ACTION")
    t = tsub.add_parser("create", help="make a tenant and print its API key once")
    _store_flags(t)
    t.add_argument("name")
    t.add_argument("--sandbox", action="store_true", help="a ready-to-call trial tenant on the simulator's numbers")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_tenant_create)
    t = tsub.add_parser("topup", help="add prepaid balance in fen")
    _store_flags(t)
    t.add_argument("tenant_id")
    t.add_argument("--amount-fen", type=int, required=True)
    t.add_argument("--reference", required=True)
    t.set_defaults(func=cmd_tenant_topup)

    p = sub.add_parser("operator-key", help="make an operator API key and print it once")
    _store_flags(p)
    p.set_defaults(func=cmd_operator_key)

    p = sub.add_parser("call", help="one call through the SIP adapter to any trunk")
    p.add_argument("callee")
    p.add_argument("--trunk", required=True, metavar="HOST:PORT")
    p.add_argument("--caller", default="+861058880001")
    p.add_argument("--text", default="这是一条测试消息")
    p.add_argument("--lang", default="zh-CN", choices=["zh-CN", "en"])
    p.add_argument("--ring-timeout", type=float, default=30.0)
    p.add_argument("--max-duration", type=float, default=120.0)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--data-dir", metavar="DIR", help="prompt cache location (default ./data)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_call)

    p = sub.add_parser("tts", help="spoken prompts")
    ssub = p.add_subparsers(dest="tts_command", metavar="ACTION")
    s = ssub.add_parser("say", help="render TEXT to a WAV file")
    s.add_argument("text")
    s.add_argument("--lang", default="zh-CN", choices=["zh-CN", "en"])
    s.add_argument("-o", "--output", required=True, metavar="FILE.wav")
    _store_flags(s)
    s.set_defaults(func=cmd_tts_say)

    from voicebridge.billing.cli_finance import add_commands as add_finance_commands

    add_finance_commands(sub, _store_flags)  # cdr export, statement, reconcile

    from voicebridge.onboarding.cli import add_commands as add_onboarding_commands

    add_onboarding_commands(sub, _store_flags)  # onboarding queue/show/approve/reject/settings, pool load/list
    return parser


# -- commands -----------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from voicebridge.app import build_app

    settings = load_settings(args, host=args.host, port=args.port)

    async def run() -> None:
        app = build_app(settings)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.server.host, settings.server.port)
        await site.start()
        log.info("voicebridge %s listening on http://%s:%d (data in %s)", __version__, settings.server.host,
                 settings.server.port, settings.data_dir)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping: draining calls for up to %.0f s", settings.server.drain_seconds)
        await runner.cleanup()
        log.info("stopped")

    asyncio.run(run())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from voicebridge.demo import run_demo

    return asyncio.run(run_demo(data_dir=args.data_dir, as_json=args.json, language=args.lang))


def _with_store(args: argparse.Namespace, fn: Callable[..., Any]) -> Any:
    from voicebridge.app import load_secret
    from voicebridge.store.sqlite import SqliteStore

    settings = load_settings(args)

    async def run() -> Any:
        async with SqliteStore.open(settings.db_path) as store:
            return await fn(store, load_secret(settings.data_dir))

    return asyncio.run(run())


def cmd_tenant_create(args: argparse.Namespace) -> int:
    from voicebridge.tenancy import new_tenant

    made = _with_store(args, lambda store, secret: new_tenant(store, secret, args.name, sandbox=args.sandbox, actor="cli"))
    if args.json:
        print(json.dumps({"id": made.tenant["id"], "api_key": made.api_key, "number": made.number}))
    else:
        print(f"tenant   {made.tenant['id']}  {made.tenant['name']}")
        print(f"api key  {made.api_key}   (shown once: keep it)")
        if made.number:
            print(f"number   {made.number}  (sandbox, 10000 fen balance)")
    return 0


def cmd_tenant_topup(args: argparse.Namespace) -> int:
    from voicebridge.store import ledger
    from voicebridge.store.tenants import audit, get_tenant

    if args.amount_fen <= 0:
        raise UsageError("--amount-fen must be a positive whole number of fen")

    async def topup(store: Any, secret: bytes) -> int:
        if await get_tenant(store, args.tenant_id) is None:
            raise UsageError(f"no tenant {args.tenant_id}")
        async with store.transaction() as tx:
            if await ledger.add_entry(tx, args.tenant_id, ledger.TOPUP, args.amount_fen, args.reference):
                await audit(tx, "cli", args.tenant_id, "ledger.topup", {"amount_fen": args.amount_fen})
            from voicebridge.billing.accounts import settle
            from voicebridge.domain import utcnow

            await settle(tx, args.tenant_id, utcnow(), actor="cli")  # back to active at once if >= 0
        return await ledger.balance(store, args.tenant_id)

    print(f"balance {_with_store(args, topup)} fen")
    return 0


def cmd_operator_key(args: argparse.Namespace) -> int:
    from voicebridge.tenancy import operator_key

    print(_with_store(args, lambda store, secret: operator_key(store, secret)))
    return 0


def _trunk(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--trunk must be HOST:PORT, got {text!r}")
    return host, int(port)


def cmd_call(args: argparse.Namespace) -> int:
    from voicebridge.dialer.cli_call import outcome_to_json, run_call
    from voicebridge.numbers.e164 import InvalidPhone, parse_phone
    from voicebridge.tts.service import TtsService, TtsSettings

    host, port = _trunk(args.trunk)
    try:
        callee = parse_phone(args.callee, "CN", allow_any_type=True)
    except InvalidPhone as exc:
        raise UsageError(f"CALLEE {args.callee!r}: {exc}") from None
    try:
        caller = parse_phone(args.caller, "CN", allow_any_type=True)
    except InvalidPhone as exc:
        raise UsageError(f"--caller {args.caller!r}: {exc}") from None
    if (args.user is None) != (args.password is None):
        raise UsageError("--user and --password go together")

    async def run() -> dict[str, Any]:
        tts = TtsService(TtsSettings(), Path(args.data_dir or "./data"))
        await tts.start()
        try:
            from voicebridge.tts.templates import prompt_text

            prompt = await tts.render(prompt_text("voicebridge", args.text, args.lang), args.lang)
        finally:
            await tts.close()
        outcome = await run_call(callee, host, port, caller, prompt.frames(), args.ring_timeout, args.max_duration,
                                 args.user, args.password)
        return outcome_to_json(outcome)

    result = asyncio.run(run())
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:18} {value}")
    return 0


def cmd_tts_say(args: argparse.Namespace) -> int:
    from voicebridge.tts.cli_say import say

    settings = load_settings(args)  # [tts] from the config file: engine, voices, engine_en = "piper"
    prompt = asyncio.run(say(args.text, args.lang, Path(args.output), settings.data_dir, settings=settings.tts))
    print(f"wrote {args.output}: {prompt.duration_s:.2f} s of {args.lang} speech")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from voicebridge.config import SettingsError
    from voicebridge.errors import Problem

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    quiet = getattr(args, "json", False) or args.command in ("demo",)
    _setup_logging("WARNING" if quiet and args.log_level == "INFO" else args.log_level, args.log_format == "json")
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"voicebridge {args.command}: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"voicebridge: bad setting: {exc}", file=sys.stderr)
        return 2
    except Problem as problem:  # refused by the same rules as the API
        fields = "".join(f"\n  {e.field}: {e.message}" for e in problem.errors)
        print(f"voicebridge {args.command}: {problem.title}: {problem.detail}{fields}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
