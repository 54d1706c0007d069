"""``waitress.compat``: the platform constants Waitress 3.0.2 kept here.

Older code imports them from this module; the server itself reads them
from ``socket`` and ``sys`` directly.
"""

import socket
import sys

from .adjustments import HAS_IPV6, WIN  # noqa: F401 (IPv6 support; True on Windows)

#: The largest size an index can have (``sys.maxsize``).
MAXINT = sys.maxsize
#: The socket option pair that makes an IPv6 listener IPv6-only (Windows
#: builds of Python may lack the names; their values are fixed there).
IPPROTO_IPV6 = getattr(socket, "IPPROTO_IPV6", 41)
IPV6_V6ONLY = getattr(socket, "IPV6_V6ONLY", 27)
