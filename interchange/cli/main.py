"""The ``interchange`` command. Each command group lives in its own module with ``register``.

Exit codes: 0 success; 1 the input was refused (invalid document, failed verification, a
typed ``InterchangeError``); 2 usage errors (typer/click's own). Never a traceback: typed
errors become one line on stderr, usage errors too (``error: Invalid value for ...``, not
typer's box), anything unexpected one line naming its type.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from ..errors import InterchangeError

app = typer.Typer(
    name="interchange",
    help="Signed edXML interchange between state agencies (QCVN 102:2016).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command-group modules, each with ``register(app)``. Listed, not discovered: the CLI's
# surface is a contract other tools rely on.
_GROUPS = (
    "interchange.cli.documents",  # package, verify, validate, show
    "interchange.cli.pki",  # pki init | issue | revoke | crl
    "interchange.cli.directory",  # directory ...
    "interchange.cli.hub",  # hub serve
    "interchange.cli.node",  # serve, db upgrade
    "interchange.cli.demo",  # demo [--serve]
    "interchange.cli.operator",  # status, inbox, send, users, audit
    "interchange.cli.api",  # api serve
)

for _name in _GROUPS:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a group not written yet
        if exc.name != _name:
            raise
        continue
    _module.register(app)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _db_argument(argv: list[str]) -> str | None:
    """The ``--db`` the command was given (or ``INTERCHANGE_DB``), to name it in an error."""
    for i, arg in enumerate(argv):
        if arg == "--db" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--db="):
            return arg[len("--db=") :]
    return os.environ.get("INTERCHANGE_DB") or None


def _database_error(exc: Exception) -> str | None:
    """A database the driver could not open or use, in one line: no SQLAlchemy statement or
    link, no password. None when ``exc`` is not the database's."""
    from sqlalchemy.exc import DBAPIError

    from .dbopen import cannot_open, reason_of

    if not isinstance(exc, DBAPIError):
        return None
    if exc.statement is None:  # raised while connecting
        db = _db_argument(sys.argv[1:])
        return str(cannot_open(db, exc)) if db else f"cannot open database: {reason_of(exc)}"
    return f"database error: {reason_of(exc)}"


def _usage_line(exc: typer.TyperException) -> str:
    """A usage error as the one line scripts and people read: click's message without the
    box, the usage and the help hint typer draws around it (and without pydantic's
    ``Value error,`` that typer's parameter checks put before the reason)."""
    message = " ".join(exc.format_message().split()) or type(exc).__name__
    message = message.replace(": Value error, ", ": ", 1)
    ctx = getattr(exc, "ctx", None)  # where click knew the command: say where help is
    path: str = getattr(ctx, "command_path", "") if ctx is not None else ""
    if path:
        message += f" (see '{path} --help')"
    return message


def main() -> None:
    """Run the app outside click's standalone mode: click then raises its usage errors instead
    of printing them in typer's box, and each becomes one line on stderr (exit code kept)."""
    try:
        code = typer.main.get_command(app).main(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.TyperException as exc:  # click's usage errors (exit 2) and its other ones
        if type(exc).__name__ == "NoArgsIsHelpError":
            # typer's rich help has already been printed while the error was made (so its
            # message is empty); plain click's help is the message itself
            help_text = exc.format_message()
            if help_text.strip():
                typer.echo(help_text)
        else:
            typer.echo(f"error: {_usage_line(exc)}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:  # end of input at a prompt
        typer.echo("error: aborted", err=True)
        sys.exit(1)
    except InterchangeError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # last resort: one line, never a traceback
        message = _database_error(exc)
        if message is None:
            first = next((line for line in str(exc).splitlines() if line.strip()), "")
            message = f"unexpected {type(exc).__name__}: {first.strip()}"
        typer.echo(f"error: {message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
