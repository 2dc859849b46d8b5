"""One error path for user mistakes: a message naming the file, field or value and the fix, exit code 2, no
traceback (unless `--debug`), for every `profit` command and for `python -m training.cli` under a launcher."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

EXIT_USER_ERROR = 2


class UserError(ValueError):
    """A mistake in the user's input (config, data, model folder, output folder, flags); the message says which and
    how to fix it. Every command prints it on one line and exits 2."""


def pop_debug(argv: list[str]) -> tuple[list[str], bool]:
    """`--debug` anywhere on the command line (or PROFIT_DEBUG=1): show tracebacks of user errors too."""
    debug = "--debug" in argv or os.environ.get("PROFIT_DEBUG", "").lower() in ("1", "true", "yes")
    return [a for a in argv if a != "--debug"], debug


def run_command(prog: str, main: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    """Run a command's `main(argv)`; a UserError becomes `prog: error: message` and exit 2, a closed stdout pipe
    (`profit eval --list | head`) a quiet exit, Ctrl-C exit 130."""
    args, debug = pop_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        return int(main(args) or 0)
    except UserError as err:
        if debug:
            traceback.print_exc()
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        # The reader went away: stop writing, and keep Python from complaining while it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished work is kept, run the same command again to resume", file=sys.stderr)
        return 130
