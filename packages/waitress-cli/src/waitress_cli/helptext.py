"""The ``--help`` text, built from the option table so it cannot fall behind it.

Groups appear in the order their first option appears in the table, and
options keep table order inside their group.
"""

import textwrap
from typing import Any, Dict, Iterable, List, Tuple

from .parsing import is_cli_option, spelling

WIDTH = 79
INDENT = "      "

RUNNER_HELP: Tuple[Tuple[str, str], ...] = (
    ("-h, --help", "Show this help and exit."),
    ("--version", "Show the program's version and exit."),
    ("--app=MODULE:OBJECT", "The application to serve, instead of the positional argument."),
    (
        "--call",
        "Call OBJECT with no arguments (it is an application factory) and serve "
        "what it returns.",
    ),
)


def describe_default(option: Any) -> str:
    """The default as a person would type it, e.g. ``on``, ``8080``, ``not set``."""
    text = getattr(option, "default_text", None)
    if text is not None:
        return str(text)
    value = option.default
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "not set"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        return " ".join(str(item) for item in items) if items else "empty"
    if value == "":
        return "empty"
    return str(value)


def option_heading(option: Any) -> str:
    """``--name=METAVAR`` for valued options, ``--[no-]name`` for flags."""
    key = spelling(option.name)
    if option.flag:
        return f"--[no-]{key}"
    metavar = getattr(option, "metavar", None) or "VALUE"
    return f"--{key}={metavar}"


def wrapped(text: str) -> List[str]:
    """Help prose indented under its heading."""
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=INDENT,
        subsequent_indent=INDENT,
        break_on_hyphens=False,  # keep --option-names and header-names whole
        break_long_words=False,
    )


def format_help(prog: str, options: Iterable[Any]) -> str:
    """The whole help text: usage, the runner's options, then each group."""
    lines = [
        f"Usage: {prog} [OPTIONS] MODULE:OBJECT",
        f"       {prog} [OPTIONS] --app=MODULE:OBJECT",
        "",
        *textwrap.wrap(
            "Serve the WSGI application OBJECT found in MODULE. OBJECT may be a "
            "dotted path of attributes (MODULE:app.wsgi); the current directory "
            "is searched for MODULE first. Options take their Python names with "
            "'-' for '_'; on/off options are flags with a --no- form.",
            WIDTH,
        ),
        "",
        "Runner options:",
    ]
    for heading, text in RUNNER_HELP:
        lines.append("  " + heading)
        lines.extend(wrapped(text))
    groups: Dict[str, List[Any]] = {}
    for option in options:
        if is_cli_option(option):
            groups.setdefault(option.group, []).append(option)
    for group, members in groups.items():
        lines.append("")
        lines.append(f"{group}:")
        for option in members:
            lines.append("  " + option_heading(option))
            text = option.help.strip()
            lines.extend(wrapped(f"{text} Default: {describe_default(option)}."))
    return "\n".join(lines) + "\n"
