"""``waitress.compat``: the platform constants Waitress 3.0.2 kept here.

Older code imports them from this module; the server itself reads them
from ``socket`` and ``sys`` directly.
"""

import socket
import sys

from .adjustments import WIN  # noqa: F401 (True on Windows)

#: The largest size an index can have (``sys.maxsize``).
MAXINT = sys.maxsize
#: Whether this Python was built with IPv6 support.
HAS_IPV6 = socket.has_ipv6
#: The socket option pair that makes an IPv6 listener IPv6-only (Windows
#: builds of Python may lack the names; their values are fixed there).
IPPROTO_IPV6 = getattr(socket, "IPPROTO_IPV6", 41)
IPV6_V6ONLY = getattr(socket, "IPV6_V6ONLY", 27)
