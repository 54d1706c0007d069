"""A command-line front end that turns argv into server options from an option table."""

__version__ = "1.0.0"

from .command import run
from .errors import AppLoadError, CommandLineError, UsageError
from .helptext import format_help
from .loading import load_app, resolve
from .parsing import ParsedCommandLine, parse

__all__ = [
    "AppLoadError",
    "CommandLineError",
    "ParsedCommandLine",
    "UsageError",
    "format_help",
    "load_app",
    "parse",
    "resolve",
    "run",
]
