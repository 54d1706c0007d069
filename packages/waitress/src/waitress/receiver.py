"""``waitress.receiver``: Waitress 3.0.2's request-body receivers.

``waitress.parser.HTTPRequestParser`` hands a request's body bytes to one of
these (its ``body_rcv``): ``FixedStreamReceiver`` for a Content-Length body,
``ChunkedReceiver`` for a chunked one.  Each stores the body in a buffer from
``waitress.buffers`` and says how many of the bytes it was given belong to
the body (``received`` returns that count; the rest start the next request).

Chunked decoding is waitress-http's, the same code the server runs, so a
chunked body is accepted or refused here exactly as by the server.
"""

import sys
from typing import IO, Any, Optional

from waitress_http import NEED_DATA, Body, HTTPError, RequestParser

from .error_pages import error_from
from .utilities import Error

__all__ = ["FixedStreamReceiver", "ChunkedReceiver"]


class _Receiver:
    """What both receivers give: the body's buffer, its file and its length so far."""

    buf: Any

    def __len__(self) -> int:
        return len(self.buf)

    def getfile(self) -> IO[bytes]:
        return self.buf.getfile()

    def getbuf(self) -> Any:
        return self.buf


class FixedStreamReceiver(_Receiver):
    """Receives a body of exactly ``cl`` bytes into ``buf``."""

    def __init__(self, cl: int, buf: Any) -> None:
        self.buf = buf
        #: Body bytes still to come.
        self.remain = cl
        self.completed = cl <= 0
        self.error: Optional[Error] = None

    def received(self, data: bytes) -> int:
        """Store the body's part of ``data``; return how many bytes that was."""
        if self.completed:
            return 0
        taken = data[: self.remain]
        if taken:
            self.buf.append(taken)
        self.remain -= len(taken)
        if not self.remain:
            self.completed = True
        return len(taken)


class ChunkedReceiver(_Receiver):
    """Receives a chunked body into ``buf``, de-chunked.

    ``max_body_size`` (None: no limit) bounds the decoded body: a chunk that
    would reach it is refused from its size line, before its data is stored.
    Bad framing ends the body with ``error`` set (a 400, or the 413).
    """

    def __init__(self, buf: Any, max_body_size: Optional[int] = None) -> None:
        self.buf = buf
        self.completed = False
        self.all_chunks_received = False
        self.error: Optional[Error] = None
        self._decoder = RequestParser.for_chunked_body(sys.maxsize)
        self.max_body_size = max_body_size

    @property
    def max_body_size(self) -> Optional[int]:
        limit = self._decoder.max_body_size
        return None if limit == sys.maxsize else limit

    @max_body_size.setter
    def max_body_size(self, limit: Optional[int]) -> None:
        self._decoder.max_body_size = sys.maxsize if limit is None else limit

    def received(self, data: bytes) -> int:
        """Store the body's part of ``data``; return how many bytes of it were framing or body."""
        if self.completed:
            return 0
        decoder = self._decoder
        decoder.feed(data)
        try:
            while True:
                event = decoder.next_event()
                if event is NEED_DATA:
                    return len(data)
                if type(event) is not Body:
                    break
                self.buf.append(event.data)
        except HTTPError as exc:
            self.error = error_from(exc)
            self.completed = True
            return len(data)
        # End of the body: what the decoder still holds is the next request's.
        self.all_chunks_received = True
        self.completed = True
        return len(data) - decoder.buffered
