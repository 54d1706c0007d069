"""The two ways a command line can go wrong before the server starts.

Each message is one line that a person can act on; the front end prints it
after ``Error: `` and exits with status 2.
"""


class CommandLineError(Exception):
    """Base of the errors the front end turns into one line and exit status 2."""


class UsageError(CommandLineError, ValueError):
    """The arguments themselves are wrong: unknown option, bad value, no app."""


class AppLoadError(CommandLineError):
    """The application named by ``MODULE:OBJECT`` could not be loaded or used."""
