"""An event loop over selectors with the asyncore-style dispatcher API that Waitress users know."""

from . import buffers
from .dispatcher import compact_traceback, dispatcher, dispatcher_with_send, socket_map
from .errors import ExitNow
from .mainloop import call_every, call_later, close_all, loop, poll, poll2, poll3
from .reactor import SocketMap
from .timers import Timer
from .trigger import trigger

__version__ = "1.0.0"

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
    "loop",
    "poll",
    "poll2",
    "poll3",
    "socket_map",
    "trigger",
]
