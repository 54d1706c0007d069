"""One response: PEP 3333 ``start_response``, header checks, framing, serializing.

Rules this module keeps:

* Nothing the application passes reaches the wire unchecked: the status and
  every header name and value are validated in ``start_response``, and the
  list is copied there, so a later change to the application's list cannot
  smuggle CR/LF into the head.
* Framing is decided once, when the head is produced, from what is known by
  then (the application's Content-Length, a one-chunk iterable, the request's
  method and version, the status).  After that ``body()`` and ``end()`` only
  follow the decision.
* It never touches a socket: it hands back lists of bytes-like buffers for the
  server to send (with ``socket.sendmsg``), and never joins a large body chunk
  into anything.
"""

import logging
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .dates import http_date
from .response_checks import (
    CACHE_LIMIT,
    HOP_BY_HOP_HEADERS,
    CheckedHeaders,
    check_header_value,
    check_headers,
    check_status,
    checked_headers,
    status_codes,
    status_text,
)

__all__ = ["Response", "CONTINUE_RESPONSE", "HOP_BY_HOP_HEADERS", "check_header_value"]

#: The interim response a server sends to ``Expect: 100-continue``.
CONTINUE_RESPONSE = b"HTTP/1.1 100 Continue\r\n\r\n"

_default_logger = logging.getLogger("waitress")
_time = time.time
# The caches' look-ups, bound once.  CPython 3.11 calls a method of a name
# imported with ``from ... import`` as a module attribute (LOAD_ATTR, not
# LOAD_METHOD): ``status_codes.get(status)`` made a bound method on every
# call, some 900 instructions per response for the two.
_known_status_code = status_codes.get
_known_headers = checked_headers.get

# How the body is framed, decided when the head is produced.
_UNDECIDED = 0
_LENGTH = 1  # Content-Length: exactly that many bytes, extra ones dropped
_CHUNKED = 2  # Transfer-Encoding: chunked
_UNTIL_CLOSE = 3  # HTTP/1.0 without a length: the close ends the body
_NO_BODY = 4  # HEAD, 1xx, 204, 205, 304, 2xx to CONNECT: no body bytes at all

_HEADS_PER_LIST = 16  # distinct heads kept per header list (statuses, lengths)
_SMALL_CHUNK = 1024  # chunked pieces up to this size are framed in one buffer
_CHUNKED_END = b"0\r\n\r\n"


def _has_content(code: int, tunnel: bool) -> bool:
    """Whether a response with this (final) code carries content: not a 204,
    205 (RFC 9110 15.3.5-6) or 304, nor a 2xx to CONNECT (9.3.6)."""
    if code == 204 or code == 205 or code == 304 or code < 200:
        return False
    return not (tunnel and code < 300)


# (whole second, ident, with Date, label) -> the Date and Server/Via lines
_date_lines: Tuple[Any, ...] = (None, None, None, None, "")


def _date_and_server(now: int, with_date: bool, ident: Optional[str], label: str) -> str:
    """The Date and Server (or Via) lines the server adds at second ``now``, made once a second."""
    global _date_lines
    cached = _date_lines
    if (
        cached[0] == now
        and cached[1] == ident
        and cached[2] is with_date
        and cached[3] == label
    ):
        return cached[4]
    text = "Date: " + http_date(now) + "\r\n" if with_date else ""
    if ident:
        text += label + ident + "\r\n"
    _date_lines = (now, ident, with_date, label, text)
    return text


def _refuse_write(data: bytes) -> None:
    raise RuntimeError("this server offers no write() callable")


class Response:
    """The response to one request, driven by the worker thread serving it.

    ``version`` is the request's HTTP version ("1.0" or "1.1"), ``method`` its
    method, ``keep_alive`` whether the request asked to keep the connection.
    ``ident`` is the Server header (none when empty or None), ``write`` the
    callable ``start_response`` returns, ``logger`` where application mistakes
    are reported (the ``waitress`` logger by default).  With ``send_later``
    instead of ``write``, ``start_response`` returns the response's own
    ``write`` method, which frames the data and hands the buffers to
    ``send_later`` (a server needs no closure per request for it).

    Use: the application calls ``start_response``; the server calls
    ``prepare(app_iter)``, then ``body(chunk)`` for each chunk and ``end()``,
    sending each returned list of buffers in order; the head goes out with
    the first non-empty chunk or with ``end()``.  ``close_connection`` is final
    once ``end()`` has returned.
    """

    __slots__ = (
        "close_connection",
        "_version",
        "_http11",
        "_is_head",
        "_tunnel",
        "_ident",
        "_write",
        "_send_later",
        "_logger",
        "_status",
        "_code",
        "_checked",
        "_length",
        "_one_chunk",
        "_forced_length",
        "_head",
        "_head_sent",
        "_mode",
        "_remaining",
        "_warned_extra",
        "_finished",
        "complete",
    )

    def __init__(
        self,
        version: str,
        method: str,
        keep_alive: bool,
        ident: Optional[str] = "waitress",
        write: Optional[Callable[[bytes], Any]] = None,
        logger: Optional[logging.Logger] = None,
        send_later: Optional[Callable[[List[Any]], Any]] = None,
    ) -> None:
        #: True when the connection must end after this response.
        self.close_connection = not keep_alive
        self._version = version
        self._http11 = version == "1.1"
        self._is_head = method == "HEAD"
        # A 2xx to CONNECT would open a tunnel: no content, no framing fields.
        self._tunnel = method == "CONNECT"
        self._ident = ident
        if write is None and send_later is None:
            write = _refuse_write
        self._write = write
        self._send_later = send_later
        self._logger = logger if logger is not None else _default_logger
        self._status: Optional[str] = None
        self._code = 0
        self._checked: Optional[CheckedHeaders] = None
        self._length: Optional[int] = None
        self._one_chunk = False
        self._forced_length: Optional[int] = None
        self._head: Optional[bytes] = None
        self._head_sent = False
        self._mode = _UNDECIDED
        self._remaining = 0
        self._warned_extra = False
        self._finished = False
        #: True once the head is out and the body has its declared length.
        #: Whatever the application produces afterwards is dropped, so a
        #: server that holds output back, to send more of it at once, has
        #: nothing left to wait for.  (An attribute, not a property: a
        #: server reads it for every piece of a streamed body.)
        self.complete = False

    # -- the PEP 3333 side -------------------------------------------------

    def start_response(
        self,
        status: str,
        headers: List[Tuple[str, str]],
        exc_info: Optional[Tuple[Any, Any, Any]] = None,
    ) -> Callable[[bytes], Any]:
        """Record the status and headers after checking them; return ``write``.

        A second call is allowed only with ``exc_info`` (an application
        reporting an error): it replaces the status and headers while the head
        is unsent, and re-raises the error once it is on the wire, since a
        sent head cannot be taken back.
        """
        if exc_info:
            try:
                if self._head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no frame -> traceback -> frame cycle
        elif self._status is not None:
            raise AssertionError("start_response was already called")

        code = _known_status_code(status) if type(status) is str else None
        if code is None:
            code = check_status(status)
        if type(headers) is not list:
            # PEP 3333 asks for a list; Waitress takes any iterable of pairs
            # (a tuple, ``dict.items()``), and applications rely on it.
            try:
                headers = list(headers)
            except TypeError:
                raise TypeError(
                    f"headers must be a list of (name, value) pairs, not {type(headers).__name__}"
                ) from None
        # The same header list recurs from one response to the next; what
        # checking it found is kept by value (a tuple of the items, which is
        # also the immutable copy the head is built from).
        try:
            frozen: Any = tuple(headers)
            checked = _known_headers(frozen)
        except TypeError:  # an unhashable item, e.g. a [name, value] list
            frozen = headers[:]
            checked = None
        if checked is None:
            checked = check_headers(frozen)
            if type(frozen) is tuple:
                if len(checked_headers) >= CACHE_LIMIT:
                    checked_headers.clear()
                checked_headers[frozen] = checked

        self._status = status
        self._code = code
        self._checked = checked
        self._length = checked.length
        self._head = None
        self._mode = _UNDECIDED
        write = self._write
        return write if write is not None else self.write

    def write(self, data: Any) -> None:
        """PEP 3333's ``write(data)`` when the response was given ``send_later``."""
        if self._status is None:
            raise RuntimeError("write() called before start_response()")
        if self._finished and data:
            # From the iterable's close(), or a thread the application left
            # behind: after a chunked, close-delimited or short body, the
            # bytes would land past its framing, where the client reads the
            # next response.  (Past a complete Content-Length, zero included,
            # or in a response without a body, body() drops them, as
            # Waitress does.)
            mode = self._mode
            if mode == _CHUNKED or mode == _UNTIL_CLOSE or (mode == _LENGTH and self._remaining > 0):
                raise RuntimeError("write() called after the response ended")
        buffers = self.body(data)
        if not buffers and not self._head_sent and not self._finished:
            # PEP 3333: the first write() sends the head, even of no bytes
            # (an application pushing its headers before a long wait); from
            # then on, an exc_info given to start_response is re-raised.
            self._head_sent = True
            buffers = [self.head_bytes()]
        if buffers:
            self._send_later(buffers)

    @property
    def headers_set(self) -> bool:
        """Whether ``start_response`` has been called successfully."""
        return self._status is not None

    @property
    def declared_length(self) -> Optional[int]:
        """The Content-Length the application gave, None if it gave none."""
        return self._length

    @property
    def headers_sent(self) -> bool:
        """Whether ``body()`` or ``end()`` has handed out the head."""
        return self._head_sent

    @property
    def status(self) -> Optional[str]:
        """The status the application gave, e.g. "200 OK" (None before)."""
        return self._status

    @property
    def status_code(self) -> Optional[int]:
        """The status code as an int (None before ``start_response``)."""
        return self._code if self._status is not None else None

    @property
    def delimited_by_close(self) -> bool:
        """Whether the body ends where the connection does (HTTP/1.0 without
        a length).  Such a body cut short, by the application or by the
        server, looks whole to the client unless the connection is reset
        rather than closed (RFC 9112 8), and only once everything before the
        cut was delivered: a reset discards what the kernel still holds."""
        return self._mode == _UNTIL_CLOSE

    @property
    def cut_looks_complete(self) -> bool:
        """Whether closing the connection now would pass off what was sent
        as the whole response: a body delimited by the close that ``end()``
        has not finished (the application raised, or is still producing)."""
        return self._mode == _UNTIL_CLOSE and not self._finished

    @property
    def send_body(self) -> bool:
        """False when the response has no body: HEAD, 1xx, 204, 205, 304, a 2xx to CONNECT."""
        if self._is_head:
            return False
        code = self._code
        if self._status is None:
            return True
        return _has_content(code, self._tunnel)

    # -- the server side ---------------------------------------------------

    def prepare(self, app_iter: Any) -> None:
        """Note whether the returned iterable is one chunk (its length is then known)."""
        try:
            self._one_chunk = len(app_iter) == 1
        except Exception:
            self._one_chunk = False

    def whole(self, chunk: Any) -> List[Any]:
        """All the buffers of a response whose body is this one chunk.

        The same as ``prepare([chunk])``, ``body(chunk)`` and ``end()``, for
        the commonest response (a one-item list): in the usual case, a
        non-empty ``bytes`` that matches the length, it is the head and the
        chunk, decided in one step.
        """
        self._one_chunk = True
        if chunk and type(chunk) is bytes and self._head is None and self._status is not None:
            size = len(chunk)
            head = self._build_head(size)
            if self._mode == _LENGTH and self._remaining == size:
                self._remaining = 0
                self._head_sent = True
                self._finished = True
                self.complete = True
                return [head, chunk]
        out = self.body(chunk)
        out += self.end()
        return out

    def set_content_length(self, length: int) -> None:
        """Use ``length`` as the Content-Length, replacing the application's.

        For ``wsgi.file_wrapper`` over a seekable file, whose remaining size
        the server knows better than the application.
        """
        if self._head is not None:
            raise RuntimeError("the head is already produced; too late to set Content-Length")
        if length < 0:
            raise ValueError(f"Content-Length cannot be negative: {length}")
        self._forced_length = int(length)

    def head_bytes(self) -> bytes:
        """The status line and headers, ending in an empty line, as one bytes object.

        Producing the head fixes the framing; ``body()`` and ``end()`` hand it
        out with their first result, so a caller using those does not send
        this itself.
        """
        if self._status is None:
            raise RuntimeError("start_response was not called")
        head = self._head
        if head is None:
            head = self._build_head(None)
        return head

    def start_file(self, size: int) -> bytes:
        """The head for a body of ``size`` bytes that the server sends itself.

        For ``wsgi.file_wrapper`` over a seekable file, which the server sends
        with ``os.sendfile`` rather than through ``body()``: Content-Length
        becomes ``size``, the head is handed out, and the body counts as
        complete, so ``end()`` has nothing left to add.
        """
        self.set_content_length(size)
        head = self.head_bytes()
        self._head_sent = True
        self._remaining = 0
        self._finished = True
        self.complete = True
        return head

    def body(self, chunk: Any) -> List[Any]:
        """The buffers to send for one chunk of the application's body, in order.

        The first non-empty chunk brings the head along.  The result is empty
        for an empty chunk and holds no body bytes for a response without
        a body; bytes past a declared Content-Length are dropped.
        """
        if type(chunk) is bytes:
            size = len(chunk)
        elif isinstance(chunk, (bytes, bytearray)):
            size = len(chunk)
        elif isinstance(chunk, memoryview):
            if not chunk.c_contiguous:  # (memoryview(b)[::2]): no system call sends it
                chunk = chunk.tobytes()
                size = len(chunk)
            else:
                size = chunk.nbytes
        else:
            raise TypeError(f"the application must produce bytes, not {type(chunk).__name__}")
        if not size:
            return []
        if self._status is None:
            raise RuntimeError("start_response must be called before the body is sent")
        if self._head is None:
            self._build_head(size if self._one_chunk else None)
        if self._head_sent:
            out: List[Any] = []
        else:
            self._head_sent = True
            out = [self._head]
        mode = self._mode
        if mode == _LENGTH:
            remaining = self._remaining
            if size > remaining:
                if not self._warned_extra:
                    self._warned_extra = True
                    self._logger.warning(
                        "application-written content exceeded the number of bytes "
                        "specified by Content-Length header (%s)",
                        self._length,
                    )
                if remaining <= 0:
                    return out
                chunk = memoryview(chunk).cast("B")[:remaining]
                size = remaining
            if size == remaining:
                self.complete = True
            self._remaining = remaining - size
            out.append(chunk)
        elif mode == _CHUNKED:
            if size <= _SMALL_CHUNK:
                out.append(b"%X\r\n%b\r\n" % (size, chunk))
            else:
                out.append(b"%X\r\n" % size)
                out.append(chunk)
                out.append(b"\r\n")
        elif mode == _UNTIL_CLOSE:
            out.append(chunk)
        elif not self._warned_extra and not self._is_head:
            self._warned_extra = True
            self._logger.warning(
                "application-written content was ignored due to HTTP response "
                "that may not contain a message-body: (%s)",
                self._status,
            )
        return out

    def end(self) -> List[bytes]:
        """The buffers that finish the response: the head if still unsent, the last chunk.

        Also notes a body shorter than its Content-Length: the client would
        wait for bytes that never come, so the connection must close.
        """
        if self._status is None:
            raise RuntimeError("start_response must be called before the response ends")
        if self._finished:
            return []
        self._finished = True
        if self._head is None:
            # Nothing was produced: for anything but HEAD the body is empty.
            self._build_head(None if self._is_head else 0)
        out: List[bytes] = []
        if not self._head_sent:
            self._head_sent = True
            out.append(self._head)  # type: ignore[arg-type]
        mode = self._mode
        if mode == _CHUNKED:
            out.append(_CHUNKED_END)
        elif mode == _LENGTH and self._remaining > 0:
            declared = self._length
            self._logger.warning(
                "application returned too few bytes (%s) for specified "
                "Content-Length (%s) via app_iter",
                declared - self._remaining,  # type: ignore[operator]
                declared,
            )
            self.close_connection = True
        return out

    # -- framing -----------------------------------------------------------

    def _build_head(self, known_length: Optional[int]) -> bytes:
        """Decide the framing and serialize the head (or reuse this second's).

        ``known_length`` is the whole body's size when the caller knows it
        (one chunk, or nothing at all by ``end()``), else None.
        """
        checked = self._checked
        if self._length is not None or self._forced_length is not None:
            known_length = None  # it cannot change the head
        key = (
            self._status,
            known_length,
            self._forced_length,
            self._http11,
            self._is_head,
            self._tunnel,
            self.close_connection,
            self._ident,
        )
        now = int(_time())
        heads = checked.heads
        made = heads.get(key)
        if made is None or made[0] != now:
            made = (now,) + self._serialize_head(known_length, now)
            if len(heads) >= _HEADS_PER_LIST:
                heads.clear()
            heads[key] = made
        _, head, mode, length, close = made
        # Only ever set, never cleared: a server may have set it meanwhile
        # (another thread, stopping); the head missed it, but the connection
        # must end.  (The key above holds close_connection, so ``close`` is
        # already True when it was set before.)
        if close:
            self.close_connection = True
        self._mode = mode
        self._length = length
        self._remaining = length if length is not None else 0
        self._head = head
        return head

    def _serialize_head(
        self, known_length: Optional[int], now: int
    ) -> Tuple[bytes, int, Optional[int], bool]:
        """The head (dated ``now``), the framing, the body length and whether to close."""
        checked = self._checked
        code = self._code
        headers: Sequence[Tuple[str, str]] = checked.headers
        length = self._length
        close = self.close_connection
        added = ""  # server-made framing and connection lines, each ending in CRLF
        if _has_content(code, self._tunnel):
            forced = self._forced_length
            if forced is not None:
                if checked.length_headers:
                    headers = [h for h in headers if h[0].lower() != "content-length"]
                length = forced
                added = "Content-Length: %d\r\n" % length
            elif length is None and known_length is not None:
                length = known_length
                added = "Content-Length: %d\r\n" % length
            if self._is_head:
                mode = _NO_BODY
            elif length is not None:
                mode = _LENGTH
            elif self._http11:
                mode = _CHUNKED
                added = "Transfer-Encoding: chunked\r\n"
            else:
                mode = _UNTIL_CLOSE
                close = True
        else:
            mode = _NO_BODY
            if checked.length_headers:
                headers = [h for h in headers if h[0].lower() != "content-length"]
            length = None
            if code == 205 and not self._tunnel:
                # RFC 9110 15.3.6: no content, said with a zero length.
                added = "Content-Length: 0\r\n"

        if close:
            added += "Connection: close\r\n"
        elif not self._http11:
            added += "Connection: Keep-Alive\r\n"
        added += _date_and_server(
            now,
            not checked.has_date, self._ident, "Via: " if checked.has_server else "Server: "
        )
        if headers is checked.headers:
            lines = checked.text
        else:  # some of the application's fields were left out
            lines = "".join([name + ": " + value + "\r\n" for name, value in headers])
        head = (
            ("HTTP/1.1 " if self._http11 else "HTTP/1.0 ")
            + status_text(self._status)
            + "\r\n"
            + lines
            + added
            + "\r\n"
        ).encode("latin-1")
        return head, mode, length, close
