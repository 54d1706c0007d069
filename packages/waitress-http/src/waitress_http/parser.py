"""The sans-IO request parser: bytes in, events out.

Rules of this module: it never touches a socket, a thread, a clock or a file;
the caller feeds bytes and pulls events.  The parser is a small state machine
whose state is the function that reads the next event (``_step``); each step
either returns an event or, only when it has too few bytes, ``NEED_DATA``.
A step that raises leaves the parser failed for good.  Bytes are never copied
into a growing buffer unless a section arrives in several pieces, and a body
piece is a slice of what was fed (the very object fed, when it fits).
"""

from typing import Optional, Union

from .chunked import MAX_CHUNK_LINE, check_trailers, parse_chunk_size
from .errors import (
    BadRequest,
    HTTPError,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    URITooLong,
    limit_detail,
)
from .events import END_OF_MESSAGE, NEED_DATA, Body, EndOfMessage, RequestHead, _NeedData
from .grammar import BARE_CR_OR_LF, TCHAR_BYTES, TOKEN
from .head import bare_line_end_error, parse_head

Event = Union[RequestHead, Body, EndOfMessage, _NeedData]

#: The bytes a request can start with: a method's tchar, or the CR of an empty line.
_REQUEST_START = frozenset(TCHAR_BYTES + b"\r")

#: Longer than any registered method; a refused head's method is looked for this far.
MAX_METHOD_SIZE = 32

#: Empty lines (CRLF) ignored before a request line (RFC 9112 2.2); more is abuse.
MAX_EMPTY_LINES = 4


class RequestParser:
    """Parse a stream of pipelined HTTP/1.0 and HTTP/1.1 requests.

    ``feed(data)`` hands over bytes as they arrive; ``next_event()`` returns a
    ``RequestHead``, then ``Body`` pieces (de-chunked), then ``END_OF_MESSAGE``,
    then the next request's head, or ``NEED_DATA`` when it must wait.  Bad
    input raises an ``HTTPError`` subclass carrying the status to answer with.

    A head (request line and fields, final empty line included) of
    ``max_header_size`` bytes or more is refused with 431 (414 when the
    request line alone is that long), as is a trailer section that long;
    a body of ``max_body_size`` bytes or more with 413,
    before it is read when Content-Length announces it.  A chunked body is
    measured as sent, its framing included.
    """

    __slots__ = (
        "max_header_size",
        "max_body_size",
        "_buf",
        "_start",
        "_scanned",
        "_step",
        "_remaining",
        "_body_size",
        "_version",
        "_error",
        "_empty_lines",
    )

    def __init__(self, max_header_size: int = 262144, max_body_size: int = 1073741824) -> None:
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        #: Bytes received; those before ``_start`` are consumed.  A ``bytes``
        #: object as fed, or a ``bytearray`` once a section spans feeds.
        self._buf: Union[bytes, bytearray] = b""
        self._start = 0
        #: How far past ``_start`` an unfinished section was already searched.
        self._scanned = 0
        self._step = RequestParser._read_head
        #: Bytes left in the Content-Length body or the current chunk.
        self._remaining = 0
        #: Bytes of the chunked body so far as they came, framing included
        #: (chunk-size lines, extensions, CRLFs): the limit is on what a
        #: client makes the server read, as Waitress counts it.  Data bytes
        #: alone let 4 KiB of extensions ride on each byte of data.
        self._body_size = 0
        self._version: Optional[str] = None
        self._error: Optional[HTTPError] = None
        #: Empty lines skipped before the current request line.
        self._empty_lines = 0

    @classmethod
    def for_chunked_body(
        cls, max_body_size: int = 1073741824, version: str = "1.1"
    ) -> "RequestParser":
        """A parser that starts inside a chunked body whose head was read elsewhere.

        It yields the de-chunked ``Body`` pieces, then ``END_OF_MESSAGE``, by
        the same rules as a whole request; bytes fed after the body's end stay
        ``buffered``.  For code that parses heads itself and only wants the
        body decoded.
        """
        parser = cls(max_body_size=max_body_size)
        parser._version = version
        parser._step = RequestParser._read_chunk_size
        return parser

    @property
    def buffered(self) -> int:
        """How many bytes were fed but not yet parsed."""
        return len(self._buf) - self._start

    @property
    def body_remaining(self) -> int:
        """Body bytes still expected (Content-Length body or current chunk), else 0.

        A caller reading from a socket may ask for that much at once rather
        than in small reads.
        """
        return self._remaining

    def feed(self, data: bytes) -> None:
        """Append received bytes; ``b""`` is ignored (the caller handles EOF)."""
        if not data or self._error is not None:
            return
        if type(data) is not bytes:
            data = bytes(data)  # the caller may reuse its buffer
        buf = self._buf
        start = self._start
        if start >= len(buf):
            self._buf = data
        elif type(buf) is bytearray:
            if start:
                del buf[:start]
            buf += data
        else:
            with memoryview(buf) as view:
                grown = bytearray(view[start:])
            grown += data
            self._buf = grown
        self._start = 0

    def next_event(self) -> Event:
        """The next event, or ``NEED_DATA``; raises ``HTTPError`` on bad input."""
        try:
            return self._step(self)
        except HTTPError as error:
            if self._error is None:
                # Every error found in a head (a field, the framing, the limit)
                # names the method the head begins with, for the HEAD rule.
                if error.method is None and self._step is RequestParser._read_head:
                    error.method = _method_of(self._buf, self._start)
                self._error = error
                self._step = RequestParser._raise_again
                self._buf = b""
                self._start = 0
            # Without the frames it came through: the kept error would keep
            # them alive, and their locals, the refused bytes among them
            # (up to max_header_size per connection, for as long as it lasts).
            raise error.with_traceback(None) from None

    # --- steps ----------------------------------------------------------------

    def _raise_again(self) -> Event:
        assert self._error is not None
        raise self._error.with_traceback(None)

    def _read_head(self) -> Event:
        buf = self._buf
        start = self._start
        if start >= len(buf):
            return NEED_DATA
        if buf.startswith(b"\r\n", start):
            start = self._skip_empty_lines(buf, start)
        limit = self.max_header_size
        end = buf.find(b"\r\n\r\n", start + self._scanned, start + limit)
        if end == -1:
            if start < len(buf) and buf[start] not in _REQUEST_START:
                # Not HTTP at all (a TLS ClientHello, say): say so now.
                raise BadRequest("Start line is invalid")
            return self._section_incomplete(buf, start, limit, None, "header")
        head_end = end + 4
        if head_end - start >= limit:
            raise _head_too_large(buf, start, limit)
        head = parse_head(buf[start : end + 2])
        self._version = head.version
        self._scanned = 0
        self._empty_lines = 0
        self._start = head_end
        if head.chunked:
            self._body_size = 0
            self._step = RequestParser._read_chunk_size
        elif head.content_length:
            if head.content_length >= self.max_body_size:
                error = RequestEntityTooLarge(
                    limit_detail("Request body", self.max_body_size), head.version
                )
                error.method = head.method
                raise error
            self._remaining = head.content_length
            self._step = RequestParser._read_body
        else:
            self._step = RequestParser._end_message
        return head

    def _skip_empty_lines(self, buf: Union[bytes, bytearray], start: int) -> int:
        while buf.startswith(b"\r\n", start):
            self._empty_lines += 1
            if self._empty_lines > MAX_EMPTY_LINES:
                raise BadRequest("Too many empty lines before the request line")
            start += 2
        self._start = start
        self._scanned = 0
        return start

    def _section_incomplete(
        self,
        buf: Union[bytes, bytearray],
        start: int,
        limit: int,
        version: Optional[str],
        what: str,
    ) -> Event:
        """A head or trailer section without its final CRLFCRLF yet."""
        pending = len(buf) - start
        if pending >= limit:
            if what == "header":
                raise _head_too_large(buf, start, limit)
            raise RequestHeaderFieldsTooLarge(limit_detail("Trailer fields", limit), version)
        # A section that can no longer end well: a client ending its lines
        # with LF alone would otherwise wait for a CRLFCRLF that never comes.
        if BARE_CR_OR_LF.search(buf, start + self._scanned) is not None:
            if what == "header":
                raise bare_line_end_error(bytes(buf[start:]).decode("latin-1"))
            raise BadRequest(f"Bare CR or LF found in {what} line", version)
        self._scanned = max(pending - 3, 0)
        return NEED_DATA

    def _read_body(self) -> Event:
        data = self._take_body()
        if data is None:
            return NEED_DATA
        if not self._remaining:
            self._step = RequestParser._end_message
        return Body(data)

    def _end_message(self) -> Event:
        self._step = RequestParser._read_head
        if self._start >= len(self._buf):
            self._buf = b""
            self._start = 0
        return END_OF_MESSAGE

    def _read_chunk_size(self) -> Event:
        buf = self._buf
        start = self._start
        newline = buf.find(b"\n", start, start + MAX_CHUNK_LINE)
        if newline == -1:
            if len(buf) - start >= MAX_CHUNK_LINE:
                raise BadRequest("Chunk size line is too long", self._version)
            return NEED_DATA
        if newline == start or buf[newline - 1] != 13:
            raise BadRequest("Bare LF found in chunk size line", self._version)
        size = parse_chunk_size(bytes(buf[start : newline - 1]), self._version)
        self._start = newline + 1
        # The chunk as sent: its size line, its data and the CRLF after it
        # (the last chunk: its line; the trailer section counts on its own).
        self._count_body_bytes(newline + 1 - start + (size + 2 if size else 0))
        if not size:
            self._step = RequestParser._read_trailers
            return self._read_trailers()
        self._remaining = size
        self._step = RequestParser._read_chunk_data
        return self._read_chunk_data()

    def _read_chunk_data(self) -> Event:
        data = self._take_body()
        if data is None:
            return NEED_DATA
        if not self._remaining:
            self._step = RequestParser._read_chunk_end
        return Body(data)

    def _read_chunk_end(self) -> Event:
        buf = self._buf
        start = self._start
        if not buf.startswith(b"\r\n", start):
            pending = len(buf) - start
            if pending >= 2 or pending == 1 and buf[start] != 13:
                raise BadRequest("Chunk not properly terminated", self._version)
            return NEED_DATA
        self._start = start + 2
        self._step = RequestParser._read_chunk_size
        return self._read_chunk_size()

    def _read_trailers(self) -> Event:
        buf = self._buf
        start = self._start
        if buf.startswith(b"\r\n", start):
            self._count_body_bytes(2)
            self._start = start + 2
            return self._end_message()
        limit = self.max_header_size
        end = buf.find(b"\r\n\r\n", start + self._scanned, start + limit)
        if end == -1:
            return self._section_incomplete(buf, start, limit, self._version, "trailer")
        if end + 4 - start >= limit:
            raise RequestHeaderFieldsTooLarge(limit_detail("Trailer fields", limit), self._version)
        check_trailers(bytes(buf[start : end + 2]), self._version)
        self._count_body_bytes(end + 4 - start)
        self._scanned = 0
        self._start = end + 4
        return self._end_message()

    # --- helpers --------------------------------------------------------------

    def _count_body_bytes(self, count: int) -> None:
        """Add ``count`` bytes of a chunked body as sent; 413 once the limit is reached."""
        total = self._body_size + count
        if total >= self.max_body_size:
            raise RequestEntityTooLarge(
                limit_detail("Request body", self.max_body_size), self._version
            )
        self._body_size = total

    def _take_body(self) -> Optional[bytes]:
        """Up to ``_remaining`` buffered body bytes, or None when there are none."""
        buf = self._buf
        start = self._start
        available = len(buf) - start
        if not available:
            return None
        remaining = self._remaining
        if available <= remaining:
            data = _slice(buf, start, len(buf))
            self._buf = b""
            self._start = 0
            self._remaining = remaining - available
        else:
            stop = start + remaining
            data = _slice(buf, start, stop)
            self._start = stop
            self._remaining = 0
        return data


def _head_too_large(buf: Union[bytes, bytearray], start: int, limit: int) -> HTTPError:
    """The error for a head of ``limit`` bytes or more: 414 when its request
    line alone is that long (RFC 9112 3: a target longer than the server
    parses), else 431."""
    if buf.find(b"\r\n", start, start + limit) == -1 and _method_of(buf, start) is not None:
        return URITooLong(limit_detail("Request line", limit))
    return RequestHeaderFieldsTooLarge(limit_detail("Header fields", limit))


def _method_of(buf: Union[bytes, bytearray], start: int) -> Optional[str]:
    """The method a refused head begins with, if it begins with one and a space.

    A head refused whole (too large, a bad request line) is still answered
    as its method requires: no content for HEAD (RFC 9110 9.3.2).
    """
    space = buf.find(b" ", start, start + MAX_METHOD_SIZE + 1)
    if space <= start:
        return None
    method = bytes(buf[start:space]).decode("latin-1")
    if TOKEN.fullmatch(method) is None:
        return None
    return method


def _slice(buf: Union[bytes, bytearray], start: int, stop: int) -> bytes:
    """``buf[start:stop]`` as bytes with one copy at most (none for a whole bytes)."""
    if type(buf) is bytes:
        return buf[start:stop]
    with memoryview(buf) as view, view[start:stop] as piece:
        return piece.tobytes()
