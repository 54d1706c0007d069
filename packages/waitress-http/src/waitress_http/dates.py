"""HTTP dates in the RFC 9110 IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT").

Every response carries a Date header, so the string for the current second is
formatted once and reused until the clock moves on.  The cache is one tuple
swapped in a single assignment: under the GIL a reader sees either the old
pair or the new one, never half of each, so no lock is needed.
"""

import time
from typing import Optional, Tuple

__all__ = ["http_date"]

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = (
    "",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

# (whole second since the epoch, its formatted date)
_current: Tuple[int, str] = (-1, "")


def _format(seconds: float) -> str:
    t = time.gmtime(seconds)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAY_NAMES[t.tm_wday],
        t.tm_mday,
        _MONTH_NAMES[t.tm_mon],
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


def http_date(seconds: Optional[float] = None) -> str:
    """Format ``seconds`` since the epoch (default: now) as an IMF-fixdate.

    The current time is formatted at most once per second; an explicit time
    is formatted on every call (it is only used by tests and callers that
    already know which moment they mean).
    """
    global _current
    if seconds is not None:
        return _format(seconds)
    now = int(time.time())
    cached = _current
    if cached[0] == now:
        return cached[1]
    text = _format(now)
    _current = (now, text)
    return text
