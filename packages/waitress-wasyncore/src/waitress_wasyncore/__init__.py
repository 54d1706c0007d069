"""An event loop over selectors with the asyncore-style dispatcher API that Waitress users know."""

__version__ = "1.0.0"

import os

from . import buffers
from .dispatcher import compact_traceback, dispatcher, dispatcher_with_send, socket_map
from .errors import ExitNow, log_quietly
from .mainloop import (
    call_every,
    call_later,
    close_all,
    loop,
    poll,
    poll2,
    poll3,
    read,
    readwrite,
    write,
)
from .reactor import SocketMap, max_sockets
from .timers import Timer
from .trigger import trigger

__all__ = [
    "ExitNow",
    "SocketMap",
    "Timer",
    "buffers",
    "call_every",
    "call_later",
    "close_all",
    "compact_traceback",
    "dispatcher",
    "dispatcher_with_send",
    "log_quietly",
    "loop",
    "max_sockets",
    "poll",
    "poll2",
    "poll3",
    "read",
    "readwrite",
    "socket_map",
    "trigger",
    "write",
]

# Pipes and other descriptors: POSIX only, as in asyncore (Windows' select()
# watches sockets alone).
if os.name == "posix":
    from .files import file_dispatcher, file_wrapper

    __all__ += ["file_dispatcher", "file_wrapper"]
