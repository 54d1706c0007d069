"""The loggers the server writes to; the names are part of Waitress's interface.

``waitress`` gets every operational message; ``waitress.queue`` only the
task-queue depth warning, so that it can be silenced on its own.
"""

import logging

# ``log(message, ...)`` unless the logging itself raises: the event loop's
# helper, which the server's error paths use the same way.
from waitress_wasyncore import log_quietly  # noqa: F401

logger = logging.getLogger("waitress")
queue_logger = logging.getLogger("waitress.queue")
