"""What the ``baibain`` commands share: a failure as one Japanese line and an exit code (usage
errors of the command line too), and the administrative database with the audit log that
records, in the same transaction, what is changed in it."""

from __future__ import annotations

import asyncio
import getpass
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from admin.audit import AuditedChange
from admin.audit_models import AuditEvent
from admin.db import create_db_engine, init_db, unavailable
from bot.entry import INTERRUPTED
from bot.services import Services, open_audit_log, open_services
from bot.settings import Settings
from knowledge.errors import BadInput, BaibainError, IndexBoundElsewhere

T = TypeVar("T")


def fail(exc: BaibainError, code: int | None = None, *, as_json: bool = False) -> typer.Exit:
    """Print the error for staff (and, ``as_json``, the REST API's error object on standard
    output, for scripts that read it); exit ``code``, by default 2 for bad input or an index
    of another database (the configuration to change) and 1 for a failure on our side."""
    typer.echo(f"エラー: {exc.user_message}", err=True)
    if as_json:
        error = {"error": {"code": exc.code, "message": exc.user_message}}
        typer.echo(json.dumps(error, ensure_ascii=False))
    if code is None:
        code = 2 if exc.status < 500 or isinstance(exc, IndexBoundElsewhere) else 1
    return typer.Exit(code=code)


def cli_user() -> str:
    """Who acts on the command line, as audit records name them: the OS account."""
    return f"cli:{getpass.getuser()}"


@contextmanager
def reported(*, as_json: bool = False) -> Iterator[None]:
    """Turn a ``BaibainError`` raised inside into its message and exit code (``fail``); a
    database gone or timed out after the command started is ``DatabaseUnavailable``."""
    try:
        try:
            yield
        except OperationalError as exc:
            raise unavailable(exc) from exc
    except BaibainError as exc:
        raise fail(exc, as_json=as_json) from exc
    except OSError as exc:
        if exc.filename is None:  # not a file's: a socket's, say, which callers report
            raise
        # The data folder or a file in it: a file where a folder should be, read-only, gone.
        where = f"{exc.filename}（{exc.strerror or type(exc).__name__}）"
        raise fail(
            BadInput(
                f"{where} にアクセスできませんでした。BAIBAIN_DATA_DIR（データの保存先）が、"
                "書き込めるフォルダを指しているか確認してください。"
            ),
            as_json=as_json,
        ) from exc


def run_async(coro_factory: Callable[[], Awaitable[T]], *, as_json: bool = False) -> T:
    """Run a coroutine to its end; a ``BaibainError`` becomes its message and exit code."""
    with reported(as_json=as_json):
        return asyncio.run(coro_factory())  # type: ignore[arg-type]


def run_with_services(
    settings: Settings, work: Callable[[Services], Awaitable[T]], *, as_json: bool = False
) -> T:
    """``work`` done with the process's services open (database, index, audit log); with
    ``as_json`` a failure is also printed as a JSON error object (``fail``)."""

    async def opened() -> T:
        services = await open_services(settings, show_progress=sys.stderr.isatty())
        try:
            return await work(services)
        finally:
            await services.close()

    return run_async(opened, as_json=as_json)


@contextmanager
def admin_db(settings: Settings | None = None, *, create: bool = False) -> Iterator[Engine]:
    """The administrative database, its schema brought up to date; errors inside are
    ``reported``. A database without Baibain's schema is refused (``NOT_INITIALIZED``), not
    filled with it, unless the command ``create``s the first organization: every other command
    reads or changes what an organization holds, which such a database has none of, and it is
    most likely not the database meant (a mistyped BAIBAIN_DATABASE_URL)."""
    with reported():
        engine = create_db_engine((settings or Settings()).sqlalchemy_url)
        try:
            init_db(engine, create=create)
            yield engine
        finally:
            engine.dispose()


@contextmanager
def admin_change(engine: Engine) -> Iterator[AuditedChange]:
    """An administrative change of the command line and its audit record, in one transaction
    (``AuditLog.change``) on ``engine``. The audit log is opened first, so a misconfigured
    audit key stops the command before it changes anything, and a record that cannot be
    written leaves nothing changed."""
    audit = open_audit_log(Settings(), engine)
    audit.check_writable()
    with audit.change() as change:
        yield change


def record_admin(
    change: AuditedChange, org_id: str | None, action: str, details: Mapping[str, object]
) -> None:
    """Record the administrative action ``change`` makes, taken on the command line by the OS
    account."""
    event = AuditEvent.admin(
        org_id=org_id,
        platform="cli",
        user_id=cli_user(),
        action=action,
        details=details,
    )
    change.record(event)


class JapaneseUsageGroup(TyperGroup):
    """The ``baibain`` command group: a usage error (an unknown command or option, a missing
    or malformed value) is reported in Japanese like every other message, with where to find
    the usage, and exits with code 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def run() -> Any:
            return super(JapaneseUsageGroup, self).main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )

        if not standalone_mode:
            return run()
        try:
            result = run()
        except typer.Abort:
            typer.echo("中断しました。", err=True)
            sys.exit(1)
        except typer.TyperException as exc:  # the root of the parser's usage errors
            if type(exc).__name__ != "NoArgsIsHelpError":  # that one has shown the help
                typer.echo(f"エラー: {usage_error_text(exc)}", err=True)
                ctx = getattr(exc, "ctx", None)
                if ctx is not None:
                    typer.echo(f"使い方は `{ctx.command_path} --help` で確認できます。", err=True)
            sys.exit(exc.exit_code)
        if result == INTERRUPTED:  # Ctrl-C: Typer turns KeyboardInterrupt into this code
            typer.echo("中断しました。", err=True)
        sys.exit(result if isinstance(result, int) else 0)


def usage_error_text(exc: typer.TyperException) -> str:
    """What was wrong with the command line, in Japanese (by the kind of error the parser
    raised; anything else keeps the parser's own words)."""
    kind = type(exc).__name__
    name = _parameter_name(getattr(exc, "param", None))
    option = str(getattr(exc, "option_name", "") or "")
    if kind == "MissingParameter":
        return f"{name}を指定してください。"
    if kind == "BadParameter":
        spaced = name if name.endswith("）") else f"{name} "  # 「--k には」, not 「--kには」
        return f"{spaced}{_expected(getattr(exc, 'param', None))}"
    if kind == "NoSuchOption" and re.fullmatch(r"-[0-9][0-9,.]*", option):
        return f"{option} は指定できません。負の数は使えません。"
    if kind == "NoSuchOption":
        known = sorted(getattr(exc, "possibilities", None) or ())
        hint = f"（似たオプション: {', '.join(known)}）" if known else ""
        return f"{option} というオプションはありません{hint}。"
    if kind == "BadOptionUsage" and "requires an argument" in exc.message:
        return f"{option} に続けて値を指定してください。"
    if found := re.match(r"No such command '([^']+)'\.(?: Did you mean (.+)\?)?", exc.message):
        similar = (found[2] or "").replace("'", "")
        hint = f"（もしかして: {similar}）" if similar else ""
        return f"「{found[1]}」というコマンドはありません{hint}。"
    if found := re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.+)\)$", exc.message):
        return (
            f"余分な引数があります（{found[1]}）。"
            '空白を含む質問や名前は引用符で囲んでください（例: "住民票 写し"）。'
        )
    return f"コマンドの指定が正しくありません（{exc.format_message()}）。"


def _expected(param: Any) -> str:
    """What a number parameter takes (「には 1〜100 の整数を指定してください。」), as the
    parser's own words do not say it in Japanese; other parameters: that the value is wrong."""
    described = getattr(param, "type_descriptor", None)
    if getattr(described, "annotation", None) is not int:
        return "の値が正しくありません。"
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        return f"には {low}〜{high} の整数を指定してください。"
    if low is not None:
        return f"には {low} 以上の整数を指定してください。"
    return "には整数を指定してください。"


def _parameter_name(param: Any) -> str:
    """「--corpus（コーパス JSONL）」 for an option, 「QUESTION（質問）」 for an argument."""
    if param is None:
        return "値"
    if getattr(param, "param_type_name", "") == "option":
        label = max(param.opts, key=len)
    else:
        label = (param.metavar or param.name or "").upper()
    help_text = getattr(param, "help", None)
    return f"{label}（{help_text}）" if help_text else str(label)
