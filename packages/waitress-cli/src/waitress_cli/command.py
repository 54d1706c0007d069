"""``run()``: the whole command line, from argv to ``serve(app, **kw)`` and an exit status.

Everything a person can get wrong is checked before ``serve`` is called, in
the order cheapest first: the arguments, the option values, the caller's
``validate`` hook, then the application import.  Each failure is one
``Error:`` line and a hint on stderr, and status 2.
"""

import sys
from typing import Any, Callable, Dict, Iterable, Optional, TextIO

from .errors import CommandLineError, UsageError
from .helptext import format_help
from .loading import load_app
from .parsing import ParsedCommandLine, parse, wants

#: The exit status of a command line that cannot be served.
USAGE_ERROR = 2
#: The exit status when serving failed at the operating system (e.g. port in use).
SERVE_ERROR = 1


def one_line(text: str) -> str:
    """Collapse a message onto one line, so each error is exactly one line."""
    return " ".join(str(text).split())


def pick_app(parsed: ParsedCommandLine) -> str:
    """The single application spec, or a UsageError for none or several."""
    if not parsed.apps:
        raise UsageError("no application given: name one as MODULE:OBJECT or --app=MODULE:OBJECT")
    if len(parsed.apps) > 1:
        listed = " and ".join(repr(spec) for spec in parsed.apps)
        raise UsageError(f"two applications given ({listed}); serve one per process")
    return parsed.apps[0]


def run(
    argv: Iterable[str],
    *,
    options: Iterable[Any],
    serve: Callable[..., Any],
    prog: str = "waitress-serve",
    version: Optional[str] = None,
    stdout: Optional[TextIO] = None,
    stderr: Optional[TextIO] = None,
    validate: Optional[Callable[[Dict[str, Any]], Any]] = None,
) -> int:
    """Parse ``argv`` (without the program name), load the app and call ``serve``.

    ``options`` is the server's option table: objects with ``name``, ``flag``,
    ``default``, ``help``, ``group`` and ``convert`` (and optionally
    ``metavar``, ``default_text``, ``cli`` and ``repeatable``).
    ``serve(app, **kw)`` receives only the options given, as the strings
    typed (flags as True/False, a repeatable option's values joined with
    spaces).  ``validate(kw)``,
    when given, may raise ValueError to reject a combination of options
    before the application is imported, or OSError for a failure of the
    machine rather than of the command line (a resolver down).

    Returns 0 after ``serve`` returns or is interrupted (Ctrl-C, also while
    the application imports), 2 on a usage error, 1 when ``serve`` or
    ``validate`` fails with an OSError such as a port in use.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    args = list(argv)
    table = list(options)

    def show(help_wanted: bool) -> int:
        out.write(format_help(prog, table) if help_wanted
                  else f"{prog} {version}\n" if version else f"{prog}\n")
        return 0

    # Asked for anywhere, even beside a mistake; abbreviations once parsed.
    if wants(args, ("-h", "--help")):
        return show(True)
    if wants(args, ("--version",)):
        return show(False)
    try:
        parsed = parse(args, table)
        if parsed.help or parsed.version:
            return show(parsed.help)
        spec = pick_app(parsed)
        if validate is not None:
            try:
                validate(dict(parsed.kw))
            except (ValueError, TypeError) as exc:
                raise UsageError(str(exc)) from exc
        app = load_app(spec, call=parsed.call)
        serve(app, **parsed.kw)
    except CommandLineError as exc:
        err.write(f"Error: {one_line(str(exc))}\n")
        err.write(f"Run '{prog} --help' for usage.\n")
        return USAGE_ERROR
    except KeyboardInterrupt:  # Ctrl-C, also while the application imports: a stop
        return 0
    except OSError as exc:  # the machine's refusal (a port in use), here or from validate
        err.write(f"Error: {one_line(str(exc))}\n")
        return SERVE_ERROR
    return 0
