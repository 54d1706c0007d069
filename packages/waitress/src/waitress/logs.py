"""The loggers the server writes to; the names are part of Waitress's interface.

``waitress`` gets every operational message; ``waitress.queue`` only the
task-queue depth warning, so that it can be silenced on its own.
"""

import logging

logger = logging.getLogger("waitress")
queue_logger = logging.getLogger("waitress.queue")
