"""Making a cut body detectable on a UNIX socket: the held-back byte.

A response body delimited by the close (an HTTP/1.0 request, a streamed
body of unknown length) that the application breaks off must not end the
way a whole one does.  Over TCP the server resets the connection
(``teardown.make_close_a_reset``).  A UNIX socket has no SO_LINGER reset,
but Linux resets it in another case: closing a socket whose receive queue
still holds unread bytes gives the peer ECONNRESET.  nginx, relaying to a
UNIX socket with its default upstream HTTP/1.0, then logs "Connection reset
by peer while reading upstream" and aborts its client's response; after a
plain close it relays the cut body as whole.

So on a UNIX socket the channel reads with ``MSG_PEEK`` and consumes what
it parsed, except, when the read completed an HTTP/1.0 request, its last
byte: that byte stays in the kernel while the response is made.  A
response that ends normally consumes it, before the close or before the
connection goes on (keep-alive); a cut one closes with it unread.  While a
byte is held the socket stays readable, so the channel does not watch it
for reading (a client of HTTP/1.0 waits for the response anyway).

A connection whose first request is HTTP/1.1 stops peeking: its responses
of unknown length are chunked, and a missing last chunk says enough.
"""

import select
import socket
import sys
from typing import Any

#: Whether UNIX sockets here reset the peer when closed with unread input.
SUPPORTED = sys.platform.startswith("linux") and hasattr(socket, "AF_UNIX")

_HANG_UP = select.POLLRDHUP | select.POLLHUP | select.POLLERR if SUPPORTED else 0
_SCRATCH = memoryview(bytearray(256 * 1024))  # what is consumed lands here, unread


def peeks(family: Any) -> bool:
    """Whether a channel accepted by a listener of ``family`` reads with
    ``MSG_PEEK`` (see module docstring).  The listener's family, not the
    socket's: ``socket.family`` costs 0.4 µs, on every accepted connection."""
    return SUPPORTED and family == socket.AF_UNIX


def consume(sock: Any, count: int) -> None:
    """Remove ``count`` bytes, already peeked and parsed, from ``sock``'s receive queue."""
    while count > 0:
        try:
            taken = sock.recv_into(_SCRATCH, min(count, len(_SCRATCH)))
        except OSError:  # gone: the close follows, nothing to hold any more
            return
        if not taken:
            return
        count -= taken


def peer_hung_up(sock: Any) -> bool:
    """Whether the client closed (or shut down its sending side), asked of
    the socket: a channel holding a byte back does not watch it."""
    try:
        poller = select.poll()
        poller.register(sock.fileno(), _HANG_UP)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed under us: gone
        return True


def last_request_head(channel: Any) -> Any:
    """The head of the request the read just parsed completed, or None
    (a request still arriving, none queued or already taken by a worker,
    an error response).  Called with the channel's lock held."""
    if channel.current is not None:
        return None
    try:
        last = channel.tasks[-1]
    except IndexError:
        return None
    return getattr(last, "head", None)


def may_end_with_the_close(head: Any) -> bool:
    """An HTTP/1.0 request: its response may be delimited by the close
    (without keep-alive, or an application's body of unknown length), so
    the read's last byte is worth holding back.  With keep-alive, the
    worker releases it once the connection goes on (``HTTPChannel.service``)."""
    return head.version == "1.0"
