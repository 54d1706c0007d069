"""The loggers the server writes to; the names are part of Waitress's interface.

``waitress`` gets every operational message; ``waitress.queue`` only the
task-queue depth warning, so that it can be silenced on its own.
"""

import logging

logger = logging.getLogger("waitress")
queue_logger = logging.getLogger("waitress.queue")


def log_quietly(log, message: str, *args, **kw) -> None:
    """``log(message, *args, **kw)``, unless the logging itself raises (a
    handler that breaks): the caller is handling an error, and what it does
    next (answer 500, close, keep listening, keep the worker) matters more."""
    try:
        log(message, *args, **kw)
    except Exception:
        pass
