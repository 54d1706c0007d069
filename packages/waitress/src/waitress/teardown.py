"""Closing a connection without destroying its last response (RFC 9112 9.6).

Closing a socket whose receive queue holds unread bytes, or that receives
bytes after it was closed (the client's next request, the rest of a body we
answered 413), makes the kernel send a reset; a reset discards whatever of
our response the client has not yet acknowledged, and on some systems what
it has received but not yet read.  The RFC's remedy is a staged close:
shut down our sending side, keep reading (and discarding) until the client
closes too, then close (bounded: ``LINGER_IDLE_SECONDS`` of silence, ``LINGER_MAX_SECONDS``
in all).

That costs a round trip, so it is done only when it can matter: when the
client may still be sending (a request cut short by an error, bytes behind
the last request) or when part of the response is still unacknowledged.
Where the kernel cannot say (no ``SIOCOUTQ``), it is always done.
"""

import socket
import sys
from typing import Optional

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # our sockets are non-blocking anyway

#: A lingering connection is closed once the client has sent nothing for
#: this many seconds (nginx's ``lingering_timeout`` is 5)...
LINGER_IDLE_SECONDS = 2.0
#: ...and after this many in all, even if it keeps sending (nginx: 30).
LINGER_MAX_SECONDS = 10.0

if sys.platform.startswith("linux"):
    import fcntl
    import struct
    import termios

    _SIOCOUTQ = termios.TIOCOUTQ  # the same request number on sockets

    def unacknowledged_bytes(sock: socket.socket) -> Optional[int]:
        """Bytes of ours the peer has not acknowledged yet (None if unknown)."""
        try:
            answer = fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0")
        except (OSError, ValueError):
            return None
        return struct.unpack("i", answer)[0]

else:

    def unacknowledged_bytes(sock: socket.socket) -> Optional[int]:
        """Bytes of ours the peer has not acknowledged yet (None if unknown)."""
        return None


def needs_staged_close(sock: socket.socket, input_pending: bool) -> bool:
    """Whether closing ``sock`` now could reset away the response just sent:
    input known to be pending, response bytes unacknowledged, or the
    client's next bytes already waiting unread in the kernel."""
    if input_pending:
        return True
    unacknowledged = unacknowledged_bytes(sock)
    if unacknowledged is None or unacknowledged > 0:
        return True
    return has_unread_input(sock)


def has_unread_input(sock: socket.socket) -> bool:
    """Whether bytes from the client wait in ``sock``'s receive queue."""
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | _DONTWAIT))
    except OSError:  # nothing yet (EAGAIN), or the socket failed
        return False


def shut_down_sending(sock: socket.socket) -> bool:
    """Send our FIN after the queued response; False if the socket is gone."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return False
    return True
