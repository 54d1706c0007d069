"""argv -> keyword arguments, driven entirely by the caller's option table.

Nothing here knows any option by name except the runner's own four (help,
version, app, call); an option marked ``repeatable`` may be given more than
once, its values joined with spaces (waitress's ``--listen``).
Values are checked with the option's ``convert`` but handed on as the strings
typed, the way PasteDeploy hands them over; flags become True or False.
"""

import difflib
from typing import Any, Dict, Iterable, List, NamedTuple, Sequence, Tuple

from .errors import UsageError

#: Runner flags that take no value.
RUNNER_FLAGS = ("help", "version", "call")
#: Runner options that take a value.
RUNNER_VALUED = ("app",)


class ParsedCommandLine(NamedTuple):
    """What the command line asked for, before the application is loaded."""

    kw: Dict[str, Any]
    apps: List[str]
    call: bool
    help: bool
    version: bool


def spelling(name: str) -> str:
    """The command-line spelling of an option name: ``url_prefix`` -> ``url-prefix``."""
    return name.replace("_", "-")


def is_cli_option(option: Any) -> bool:
    """Whether ``option`` may be given on the command line (``cli`` defaults to True)."""
    return bool(getattr(option, "cli", True))


class OptionIndex:
    """The option table keyed by every spelling the command line accepts."""

    def __init__(self, options: Iterable[Any]) -> None:
        self.options: List[Any] = list(options)
        self.by_spelling: Dict[str, Any] = {}
        for option in self.options:
            key = spelling(option.name)
            if key in RUNNER_FLAGS or key in RUNNER_VALUED:
                raise ValueError(f"option {option.name!r} clashes with a runner option")
            if key in self.by_spelling:
                raise ValueError(f"option {option.name!r} is declared twice")
            self.by_spelling[key] = option

    def known_spellings(self) -> List[str]:
        """Every ``--word`` accepted, for suggestions after a typo."""
        words = list(RUNNER_FLAGS) + list(RUNNER_VALUED)
        for key, option in self.by_spelling.items():
            if not is_cli_option(option):
                continue
            words.append(key)
            if option.flag:
                words.append("no-" + key)
        return ["--" + word for word in words]

    def expand(self, key: str) -> str:
        """``key``, or the one spelling it abbreviates (``thread`` -> ``threads``).

        The rule of ``getopt``, which Waitress's command line was built on:
        an exact spelling wins, a prefix of exactly one spelling stands for
        it, and a prefix of several is an error naming them.
        """
        words = [word[2:] for word in self.known_spellings()]
        if key in words:
            return key
        matches = [word for word in words if word.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            listed = ", ".join("--" + word for word in sorted(matches))
            raise UsageError(f"--{key} is ambiguous: it could be {listed}")
        return key

    def lookup(self, key: str) -> Tuple[Any, bool]:
        """Return ``(option, negated)`` for a spelling, or raise UsageError."""
        option = self.by_spelling.get(key)
        if option is not None:
            return option, False
        if key.startswith("no-"):
            option = self.by_spelling.get(key[3:])
            if option is not None and option.flag:
                return option, True
            if option is not None:
                raise UsageError(
                    f"--{key}: --{key[3:]} is not a flag; give it a value with --{key[3:]}=VALUE"
                )
        raise UsageError(self.unknown_message("--" + key))

    def unknown_message(self, word: str) -> str:
        """Say the option is unknown and suggest the nearest known one."""
        close = difflib.get_close_matches(word, self.known_spellings(), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown option {word!r}{hint}"


def wants(argv: Sequence[str], words: Iterable[str]) -> bool:
    """Whether any of ``words`` appears before a ``--`` terminator."""
    wanted = set(words)
    for arg in argv:
        if arg == "--":
            return False
        if arg in wanted:
            return True
    return False


def check_value(option: Any, key: str, value: str) -> None:
    """Run the option's converter now so a bad value is reported before serving."""
    try:
        option.convert(value)
    except (ValueError, TypeError) as exc:
        detail = str(exc) or "not accepted"
        raise UsageError(f"--{key}: invalid value {value!r} ({detail})")


def parse(argv: Sequence[str], options: Iterable[Any]) -> ParsedCommandLine:
    """Parse ``argv`` (without the program name) against an option table.

    Accepts ``--name=value`` and ``--name value``, ``--flag`` and
    ``--no-flag``, an unambiguous prefix of any of these (``--thread=4``,
    as getopt allows), a ``repeatable`` option repeated (its values joined
    with spaces; any other takes its last value), ``-h``,
    ``--`` to end the options, and positional application specs.
    Raises UsageError with a one-line message on anything else.
    """
    index = options if isinstance(options, OptionIndex) else OptionIndex(options)
    kw: Dict[str, Any] = {}
    repeated: Dict[str, List[str]] = {}
    apps: List[str] = []
    seen = {"help": False, "version": False, "call": False}
    args = list(argv)
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if arg == "--":
            apps.extend(args[position:])
            break
        if arg == "-h":
            seen["help"] = True
            continue
        if not arg.startswith("-") or arg == "-":
            apps.append(arg)
            continue
        if not arg.startswith("--"):
            raise UsageError(index.unknown_message(arg))
        name, has_value, value = arg[2:].partition("=")
        key = index.expand(spelling(name))
        if key in RUNNER_FLAGS:
            if has_value:
                raise UsageError(f"--{key} takes no value")
            seen[key] = True
            continue
        option = None  # stays None for --app, the runner's one valued option
        if key not in RUNNER_VALUED:
            option, negated = index.lookup(key)
            if not is_cli_option(option):
                raise UsageError(f"--{key} cannot be given on the command line: {option.help}")
            if option.flag:
                if has_value:
                    bare = spelling(option.name)
                    raise UsageError(f"--{key} takes no value (use --{bare} or --no-{bare})")
                kw[option.name] = not negated
                continue
        if not has_value:
            if position >= len(args) or args[position].startswith("--"):
                raise UsageError(f"--{key} needs a value")
            value = args[position]
            position += 1
        if option is None:
            apps.append(value)
            continue
        check_value(option, key, value)
        if getattr(option, "repeatable", False):
            repeated.setdefault(option.name, []).append(value)
        else:
            kw[option.name] = value
    for name, values in repeated.items():
        kw[name] = " ".join(values)
    return ParsedCommandLine(kw, apps, seen["call"], seen["help"], seen["version"])
