"""The ``artifactual`` command line's entry point: signals and errors become one line, never a traceback.

Only the standard library is imported here. The signal handlers are installed first and the project (2-3 s
of imports: the registries, torch, OpenCV) is loaded after, inside :func:`main`'s ``try``, so a Ctrl-C or a
SIGTERM at any moment, even during start-up, ends with one line and the command that resumes. The commands
themselves live in :mod:`artifactual.app.commands`.

>>> from artifactual.app.cli import build_parser
>>> build_parser().parse_args(["data", "summarize", "--dataset", "orl"]).dataset
'orl'
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from typing import Any

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM: the finished units are on disk; say so and how to resume."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Signals:
    """SIGINT and SIGTERM raise :class:`Interrupted` and are remembered, so one that Python swallows (raised
    inside a garbage-collector callback, where exceptions are dropped) still ends the command as interrupted."""

    def __init__(self, restore: bool = True) -> None:
        self.restore = restore  # False for the process's own entry point: after the command, signals are ignored
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._hook = sys.unraisablehook

    def __enter__(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
            for signum in EXIT_CODES:
                self._previous[signum] = signal.signal(signum, self._handle)
        sys.unraisablehook = self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            # the command has ended and its results are written: a signal while the interpreter shuts down (loky
            # stopping its workers) must not turn a finished run into a traceback
            signal.signal(signum, handler if self.restore else signal.SIG_IGN)
        sys.unraisablehook = self._hook

    def _handle(self, signum: int, frame: object) -> None:
        self.received = signum
        raise Interrupted(signum)

    def _unraisable(self, info: Any) -> None:
        if isinstance(info.exc_value, KeyboardInterrupt):
            return  # remembered in self.received; printing "Exception ignored ..." would be a traceback
        self._hook(info)


def _interrupted(signum: int, argv: list[str]) -> int:
    how = "terminated" if signum == signal.SIGTERM else "interrupted"
    print(f"artifactual: {how}; every finished unit is kept. Resume with: artifactual {shlex.join(argv)}",
          file=sys.stderr)
    return EXIT_CODES[signum]


def _user_error(exc: BaseException) -> str | None:
    """The one line for an error a user can mend; None for a bug (which keeps its traceback)."""
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
        # a full disk, a size limit, a folder made read-only mid-run: the path and what to do
        where = f" {exc.filename}" if exc.filename else ""
        return (f"could not write or read{where}: {exc.strerror or exc}; free space or fix the permissions, then run "
                "the same command again (finished units are kept)")
    from artifactual.app.commands import USER_ERRORS

    if isinstance(exc, USER_ERRORS):
        return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    entry_point, argv = argv is None, list(sys.argv[1:] if argv is None else argv)
    if entry_point:  # before torch loads anywhere: idle OpenMP threads sleep (analyses.audit.passive_openmp)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with _Signals(restore=not entry_point) as signals:
        try:
            from artifactual.app.commands import run

            rc = run(argv)
        except KeyboardInterrupt as exc:  # records already on disk stay; one line, not a traceback
            return _interrupted(getattr(exc, "signum", signal.SIGINT), argv)
        except Exception as exc:
            msg = _user_error(exc)
            if msg is None:
                raise
            print(f"artifactual: error: {msg}", file=sys.stderr)
            return 2
        if signals.received is not None:  # a signal that Python swallowed: the command still ends as interrupted
            return _interrupted(signals.received, argv)
        return rc


def build_parser():
    """The command line's parser (:func:`artifactual.app.commands.build_parser`)."""
    from artifactual.app.commands import build_parser as build

    return build()


if __name__ == "__main__":
    sys.exit(main())
