"""Closing a connection without destroying its last response (RFC 9112 9.6).

Closing a socket whose receive queue holds unread bytes, or that receives
bytes after it was closed (the client's next request, sent as we close; the
rest of a body we answered 413), makes the kernel send a reset; a reset
discards whatever of our response the client has not yet acknowledged, and
on some systems what it has received but not yet read.  The RFC's remedy
is a staged close: shut down our sending side, keep reading (and
discarding) until the client closes too, then close, bounded by
``LINGER_IDLE_SECONDS`` of silence and ``LINGER_MAX_SECONDS`` in all.

Every close after a response is staged, except when the client's own
request asked for it and nothing it sent since is known: such a client
must send nothing more (RFC 9112 9.6), so nothing of it can reset the
connection.  That is the path of every request a front end like nginx
sends with its default ``Connection: close``, where staging cost
``hello-close`` about 7% (an extra event and read per connection).  A
close the server decides (an error, the drain, a body delimited by the
close, the application's ``Connection: close``) is always staged: judging
those from the kernel (nothing unread, everything acknowledged) lost the
race with a client whose next request arrived just then.  The drain closes
an idle connection at once unless the kernel still holds its last response
(``unsent_bytes``): an idle pool connection would make every stop wait.

The one close that must be a reset is that of a body delimited by the
close and cut short: closed plainly, what the client got looks whole
(RFC 9112 8).  The reset waits until ``unsent_bytes`` is 0, as it would
discard the output before it too.
"""

import socket
import struct
import sys
from typing import Optional

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # our sockets are non-blocking anyway
#: The flag of a send whose data should wait for what follows at once (Linux):
#: the FIN then shares the response's last segment.  0 where there is none.
MSG_MORE = getattr(socket, "MSG_MORE", 0)
_LINGER_ZERO = struct.pack("ii", 1, 0)
_INT_ZERO = struct.pack("i", 0)
_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)

# How to ask the kernel for the bytes of ours it still holds (sent but not
# acknowledged, or not yet sent): an ioctl request, or a socket option.
_UNSENT_IOCTL: Optional[int] = None
_UNSENT_SOCKOPT: Optional[int] = None
if sys.platform.startswith("linux"):
    import termios

    _UNSENT_IOCTL = termios.TIOCOUTQ  # SIOCOUTQ: the same request number for sockets
elif sys.platform.startswith("freebsd"):  # pragma: no cover
    _UNSENT_IOCTL = 0x40046677  # FIONWRITE, _IOR('f', 119, int) in sys/filio.h
elif sys.platform.startswith("netbsd"):  # pragma: no cover
    _UNSENT_IOCTL = 0x40046679  # FIONWRITE, _IOR('f', 121, int) in sys/filio.h
elif sys.platform == "darwin":  # pragma: no cover
    _UNSENT_SOCKOPT = 0x1024  # SO_NWRITE: bytes in the send buffer
if _UNSENT_IOCTL is not None:
    import fcntl

#: A lingering connection is closed once the client has sent nothing for
#: this many seconds (nginx's ``lingering_timeout`` is 5)...
LINGER_IDLE_SECONDS = 2.0
#: ...and after this many in all, even if it keeps sending (nginx: 30).
LINGER_MAX_SECONDS = 10.0
#: How often a connection that waits only for the client's acknowledgement
#: of what was sent (``HTTPChannel.awaits_delivery``) is checked.
DELIVERY_POLL_SECONDS = 0.02


def has_unread_input(sock: socket.socket) -> bool:
    """Whether bytes from the client wait in ``sock``'s receive queue."""
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | _DONTWAIT))
    except OSError:  # nothing yet (EAGAIN), or the socket failed
        return False


def make_close_a_reset(sock: socket.socket) -> None:
    """Make ``sock``'s close a reset (SO_LINGER 0): for a response cut short
    whose end the client could not otherwise tell from a complete one."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    except OSError:  # gone already: nothing to mislead
        pass


def unsent_bytes(sock: socket.socket) -> Optional[int]:
    """Bytes of ours still in ``sock``'s send queue, not yet acknowledged:
    Linux's SIOCOUTQ, FreeBSD's and NetBSD's FIONWRITE, macOS's SO_NWRITE.
    None where the system cannot say (Windows): a caller must then not take
    the output for delivered, only for "not known to be pending".

    Always 0 on a UNIX socket: there SIOCOUTQ counts what the client has
    not *read*, and a close loses none of it (it stays readable, and the
    client's reset comes only after it, when our side closes with input
    unread; see ``holdback``), so an idle client that had not read its last
    response made every stop wait out its deadline.  0 too for a socket
    already closed: nothing of it can be delivered any more."""
    if sock.family not in _TCP_FAMILIES:
        return 0
    try:
        if _UNSENT_IOCTL is not None:
            return struct.unpack("i", fcntl.ioctl(sock.fileno(), _UNSENT_IOCTL, _INT_ZERO))[0]
        if _UNSENT_SOCKOPT is not None:  # pragma: no cover
            return sock.getsockopt(socket.SOL_SOCKET, _UNSENT_SOCKOPT)
    except (OSError, ValueError):  # closed
        return 0
    return None


def shut_down_sending(sock: socket.socket) -> bool:
    """Send our FIN after the queued response; False if the socket is gone."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return False
    return True
