"""The ``baibain`` console script. Loading the command line takes seconds on a busy machine;
Ctrl-C meanwhile says 「中断しました。」 (exit code 130), as it does once a command runs, instead
of a Python traceback."""

from __future__ import annotations

import sys

# The exit code of a command stopped with Ctrl-C (128 + SIGINT), as Typer reports it.
INTERRUPTED = 130


def main() -> None:
    """Load the command line and run it."""
    try:
        from bot.cli import main as run
    except KeyboardInterrupt:
        print("中断しました。", file=sys.stderr)
        sys.exit(INTERRUPTED)
    run()
