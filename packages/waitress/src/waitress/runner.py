"""The ``waitress-serve`` console script and ``python -m waitress``.

A thin shim: the command line itself lives in ``waitress_cli``, which is
handed the option table, ``serve`` and an ``Adjustments`` check, so a bad
option is reported before the application is imported or a socket bound.
"""

import logging
import os
import signal
import sys
import threading
import warnings
from typing import Any, Callable, Dict, List, Optional, TextIO

import waitress_cli

from .adjustments import Adjustments, ResolverUnavailable
from .lifecycle import interrupting
from .options import OPTIONS


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM: the server stops as on Ctrl-C."""


def check_options(kw: Dict[str, Any]) -> None:
    """Build the Adjustments once so serve()'s own messages appear before anything starts.

    A resolver that cannot answer for now is the machine's failure, not the
    command line's: it becomes an OSError, which the command line reports
    with the status of a server that could not start.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            Adjustments(**kw)
        except ResolverUnavailable as exc:
            raise OSError(str(exc)) from None


def program_name(argv0: str) -> str:
    """``python -m waitress`` when run as a module, else ``waitress-serve``."""
    if os.path.basename(argv0) == "__main__.py":
        return "python -m waitress"
    return "waitress-serve"


def show_serving_banner() -> None:
    """Let the INFO "Serving on ..." line through unless the user set a level."""
    logger = logging.getLogger("waitress")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


class _SigtermStops:
    """While active, SIGTERM raises Terminated in the main thread (restored afterwards)."""

    def __init__(self) -> None:
        self.previous: Any = None
        self.installed = False

    def __enter__(self) -> "_SigtermStops":
        if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
            self.installed = True
        return self

    @staticmethod
    @interrupting  # a server running meanwhile drains instead (see lifecycle)
    def _raise(signum: int, frame: Any) -> None:
        raise Terminated()

    def __exit__(self, *exc_info: Any) -> None:
        if self.installed:
            signal.signal(signal.SIGTERM, self.previous)


def __getattr__(name: str) -> Any:
    """``HELP``, Waitress's help text with ``{0}`` for the program's name
    (code that wraps the runner prints ``HELP.format(name)``); made when
    asked for, since serving never needs it."""
    if name == "HELP":
        text = waitress_cli.format_help(_NAME_MARK, OPTIONS)
        text = text.replace("{", "{{").replace("}", "}}")  # literal braces survive format()
        return text.replace(_NAME_MARK, "{0}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Stands for the program's name while HELP is made.
_NAME_MARK = "\x00program\x00"


def show_help(stream: TextIO, name: str, error: Optional[str] = None) -> None:
    """Write the full ``--help`` text for program ``name``, after ``Error: error`` if given.

    Waitress 3.0.2 had this helper; code that wraps the runner calls it.
    """
    if error is not None:
        stream.write(f"Error: {error}\n\n")
    stream.write(waitress_cli.format_help(name, OPTIONS))


def show_exception(stream: TextIO) -> None:
    """Describe the exception being handled as a failed import of the user's module.

    Waitress 3.0.2's wording, which tests of code wrapping the runner match:
    the exception's type, then its arguments numbered from 1.
    """
    exc = sys.exc_info()[1]
    if exc is None:
        return
    stream.write(f"There was an exception ({type(exc).__name__}) importing your module.\n\n")
    if not exc.args:
        stream.write("It had no arguments.\n")
        return
    stream.write("It had these arguments: \n")
    for number, arg in enumerate(exc.args, start=1):
        stream.write(f"{number}. {arg}\n\n")


def run(argv: Optional[List[str]] = None, _serve: Optional[Callable[..., Any]] = None) -> int:
    """Run the command line ``argv`` (``argv[0]`` is the program); return the exit status.

    0 after the server stops (Ctrl-C or SIGTERM), 2 on a usage error, 1 when
    the server cannot start (e.g. the port is taken).
    """
    if argv is None:
        argv = sys.argv
    if _serve is None:
        from . import serve as _serve
    from . import __version__

    show_serving_banner()
    try:
        with _SigtermStops():
            return waitress_cli.run(
                list(argv[1:]),
                options=OPTIONS,
                serve=_serve,
                prog=program_name(argv[0] if argv else ""),
                version=__version__,
                validate=check_options,
            )
    except Terminated:  # SIGTERM before serving began (e.g. while importing the app)
        return 0
