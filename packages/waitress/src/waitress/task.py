"""What a worker thread does with one request: run the app, frame, send.

A task runs on a worker thread.  It hands its connection output only
through ``channel.write_soon`` / ``send_file_soon`` / ``write_later``
(which lock), reads the connection's state (``draining``,
``response_in_progress``, ``output_failed``, ``client_disconnected``),
reports a response cut at a stop through ``log_cut_at_stop``, and leaves
``close_after`` for the channel to read once the task returns.
"""

import io
import traceback
from typing import Any, Callable, Optional

from waitress_http import (
    HOP_BY_HOP_HEADERS,
    BadRequest,
    HTTPError,
    InternalServerError,
    RequestHead,
    Response,
    decode_path,
    split_target,
)
from waitress_proxy import LOG_MESSAGE as PROXY_LOG_MESSAGE
from waitress_proxy import MalformedProxyHeader, apply_proxy_headers
from waitress_wasyncore.buffers import ReadOnlyFileBasedBuffer, file_descriptor

from .error_pages import error_page
from .logs import logger, queue_logger  # noqa: F401 (Waitress's names here)
from .pool import ThreadedTaskDispatcher  # noqa: F401 (where Waitress keeps it)
from .request_view import RequestView

#: Waitress's names for two constants that code building on its tasks imports:
#: the header names an application may not set (RFC 2616's list, as
#: Waitress has it), and the two request headers whose environ keys have no
#: ``HTTP_`` prefix.
hop_by_hop = HOP_BY_HOP_HEADERS
rename_headers = {"CONTENT_LENGTH": "CONTENT_LENGTH", "CONTENT_TYPE": "CONTENT_TYPE"}

#: The 500 page's text (Waitress's), unless ``expose_tracebacks`` puts the traceback there.
INTERNAL_ERROR_DETAIL = "The server encountered an unexpected internal server error"

#: A list body is handed to the socket in sends of about this many bytes...
SEQUENCE_SEND_LIMIT = 1024 * 1024
#: ...and of at most this many buffers (each send offers at most IOV_MAX of them).
MAX_BUFFERS = 256


class ClientDisconnected(Exception):
    """The peer went away while a response was being written."""


class Task:
    """What the pool runs for a connection: ``service()`` on a worker thread,
    or ``cancel()`` when the pool shuts down before one takes it.

    The base of both task classes, under Waitress's name (code imports it to
    type or check tasks).
    """

    __slots__ = ()
    head = None  # the parsed request's head, for tasks that have one (WSGITask)

    def service(self) -> None:
        raise NotImplementedError

    def cancel(self) -> None:
        pass


class FileClose(Task):
    """Close a ``wsgi.file_wrapper`` once the loop has sent the last of its file.

    Run by a worker, so that the application's ``close()`` (which may do
    anything: Django's ends the request there) never holds up the loop
    thread.  Should the pool stop first, ``cancel()`` closes it all the
    same: PEP 3333 wants ``close()`` called once in every case.
    """

    __slots__ = ("close", "logger")

    def __init__(self, close: Callable[[], object], log: Any) -> None:
        self.close = close
        self.logger = log

    def service(self) -> None:
        try:
            self.close()
        except Exception:
            self.logger.exception("Exception while closing a file_wrapper after sending its file")

    cancel = service


class ErrorTask(Task):
    """Answer a request that could not be parsed, then close."""

    __slots__ = ("channel", "error", "close_after")

    def __init__(self, channel, error: HTTPError) -> None:
        self.channel = channel
        self.error = error
        self.close_after = True

    def service(self) -> None:
        self.channel.write_soon([error_page(self.error, self.channel.server.adj.ident)], True)


_BYTES_LIKE = (bytes, bytearray, memoryview)


def logged_path(head: RequestHead) -> str:
    """The request's path as its log lines name it, as Waitress's do:
    percent-decoded, without the query string, which may carry tokens
    (a password reset link's, say) that have no place in a log.

    Unlike Waitress's, control characters come out escaped (``\\x0a``):
    decoded from ``%0A`` and the like, they would let a client end a log
    line and forge the next one.
    """
    return decode_path(split_target(head.target)[0]).translate(_CONTROL_ESCAPES)


_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


class WSGITask(Task):
    """Run the application for one parsed request.

    Code written for Waitress extends this class, or patches it, through
    two of Waitress's names, and both work the same here:
    ``get_environment()`` (override it and call ``super()``; the channel
    builds tasks from ``HTTPChannel.task_class``) and ``request``, the
    parsed request (see ``RequestView``).
    """

    __slots__ = (
        "channel", "head", "spool", "close_after", "continue_sent", "environ", "response"
    )

    def __init__(self, channel, head) -> None:
        self.channel = channel
        self.head = head
        self.spool = None  # a BodySpool, made by the channel on the first body byte
        self.close_after = False
        self.continue_sent = False
        #: The environ once ``get_environment()`` has built it.
        self.environ = None
        #: The response once ``service()`` has begun it.
        self.response = None

    @property
    def request(self) -> RequestView:
        """The parsed request as Waitress's tasks expose it (``headers``, ``command``...)."""
        return RequestView(self.head, self.channel.adj.url_scheme)

    def cancel(self) -> None:
        if self.spool is not None:
            self.spool.close()

    def get_environment(self) -> dict:
        """The request's WSGI environ, built on the first call and kept.

        Proxy headers are applied afterwards, as Waitress's middleware
        applies them inside the application call.
        """
        environ = self.environ
        if environ is not None:
            return environ
        channel = self.channel
        head = self.head
        spool = self.spool
        if spool is None:
            body = io.BytesIO()
            content_length = 0 if head.chunked else head.content_length
        else:
            body = spool.finish()
            content_length = len(spool)  # the decoded length when chunked
        environ = self.environ = channel.server.environ_builder.build(
            head, channel.remote_addr, channel.remote_port, body, content_length
        )
        environ["waitress.client_disconnected"] = channel.client_disconnected
        return environ

    def service(self) -> None:
        channel = self.channel
        server = channel.server
        head = self.head
        try:
            environ = self.get_environment()
        except Exception:  # an override's bug: answer 500, keep the connection's order
            channel.logger.exception("Exception while building the environ for %s", logged_path(head))
            self._fail(InternalServerError(INTERNAL_ERROR_DETAIL, head.version))
            return
        proxy = server.proxy_settings
        if proxy is not None:
            try:
                apply_proxy_headers(environ, proxy, channel.logger)
            except MalformedProxyHeader as exc:
                channel.logger.warning(PROXY_LOG_MESSAGE, *exc.log_args(channel.remote_addr))
                self._fail(BadRequest(str(exc), head.version))
                return
        # Positional on purpose: keywords make CPython 3.11 build a dict per call.
        response = self.response = Response(
            head.version, head.method, head.keep_alive, server.adj.ident,
            None, channel.logger, channel.write_later)  # write=None, send_later=...
        # In progress first, draining read second: a drain beginning in
        # between marks the response itself (``_mark_response_last``).
        # Read before the application runs, as its write() may send the head.
        channel.response_in_progress = response
        if channel.draining:  # the server is stopping: this response is the last
            response.close_connection = True
        try:
            app_iter = server.application(environ, response.start_response)
            try:
                cls = app_iter.__class__
                if cls is list or cls is tuple:
                    if len(app_iter) == 1:
                        # The commonest body: head and chunk in one sendmsg.
                        channel.write_soon(response.whole(app_iter[0]), response.close_connection)
                    else:
                        self._send_sequence(response, app_iter)
                # A subclass of the wrapper too, as with Waitress: its length
                # is the file's, whatever it does when iterated.
                elif isinstance(app_iter, ReadOnlyFileBasedBuffer):
                    sent = self._send_file(response, app_iter)
                    if sent is None:
                        self._send_stream(response, app_iter)
                    elif sent:
                        app_iter = None  # the output closes it, once the file is out
                else:
                    self._send_stream(response, app_iter)
            finally:
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
            self.close_after = response.close_connection
        except ClientDisconnected:
            self.close_after = True
            if channel.output_failed:
                pass  # the server's own failure, logged where it happened
            elif channel.draining:
                channel.log_cut_at_stop(head)
            else:
                channel.logger.info("Client disconnected while serving %s", logged_path(head))
        except Exception:
            channel.logger.exception("Exception while serving %s", logged_path(head))
            if not response.headers_sent:
                self._fail(self._internal_error())
            elif response.send_body and not response.complete:
                self.close_after = True  # a body cut short: only the close can say so
            else:
                # Nothing was owed (HEAD, 204, 304, a Content-Length already
                # met): the response is whole, so the connection goes on, as
                # its head told the client.  (A chunked body is complete only
                # once its last chunk is out, after close(): it closes.)
                channel.write_soon([])  # what was gathered goes out
                self.close_after = response.close_connection
        finally:
            # (The channel drops ``response_in_progress`` once it has read
            # the response's framing: see ``HTTPChannel.service``.)
            if self.spool is not None:
                self.spool.close()

    def _send_sequence(self, response, body) -> None:
        """A list or tuple body of several chunks: all in memory, so gather it into few sends."""
        for chunk in body:
            if not isinstance(chunk, _BYTES_LIKE):
                # Refused now, before the head is built into the first send:
                # found later, it left a response begun and nothing sent,
                # and the client got no answer instead of the 500.
                response.body(chunk)  # raises its TypeError
        response.prepare(body)
        pending = []
        size = 0
        write_soon = self.channel.write_soon
        for chunk in body:
            if chunk:
                buffers = response.body(chunk)
                pending += buffers
                size += len(chunk)
                if size >= SEQUENCE_SEND_LIMIT or len(pending) >= MAX_BUFFERS:
                    write_soon(pending)
                    pending = []
                    size = 0
        pending += response.end()
        write_soon(pending, response.close_connection)

    def _send_stream(self, response, app_iter) -> None:
        """Any other iterable: pieces are gathered briefly (``write_later``).

        The piece that completes a declared Content-Length goes at once,
        with whatever was gathered: nothing can follow it.  That is the
        whole body of most framework responses (Flask's, Django's), which
        then cost one ``sendmsg`` and no flush timer.
        """
        response.prepare(app_iter)
        # Completed by the write() callable, whose pieces are only gathered.
        completed_before = response.complete
        write_later = self.channel.write_later
        for chunk in app_iter:
            if chunk:
                buffers = response.body(chunk)
                if buffers:
                    if response.complete:
                        self.channel.write_soon(buffers)
                    else:
                        write_later(buffers)
        tail = response.end()
        if tail or not response.complete or completed_before:
            self.channel.write_soon(tail)  # else the last piece took the rest along

    def _send_file(self, response, filebuffer) -> Optional[bool]:
        """Send a seekable ``wsgi.file_wrapper`` file without copying it.

        Returns None for a file whose size cannot be known; the caller then
        iterates it like any other body.  True: the file is still being
        sent, and the output closes it afterwards (``send_file_soon``);
        False: the caller closes it.
        """
        if not response.headers_set:
            raise RuntimeError("the application returned a file_wrapper before start_response()")
        # PEP 3333: no more than the application's Content-Length (a range).
        declared = response.declared_length
        size = filebuffer.prepare(declared)
        if not size or (declared is not None and size < declared):
            # Unknown, or shorter than the application said (a file cut
            # since it was measured): streamed like any body, which ends
            # the connection and logs the shortfall, as PEP 3333 asks,
            # rather than a complete-looking response of another length.
            return None
        head = response.start_file(size)
        self.channel.write_soon([head])
        if response.send_body:
            if file_descriptor(filebuffer.file) is not None:  # sent by the kernel
                return self.channel.send_file_soon(filebuffer, size)
            try:
                self._copy_file(filebuffer, size)
            except BaseException:
                # start_file() counted the body as sent; it was cut short,
                # so only the close can tell the client.
                response.close_connection = True
                raise
        return False

    def _copy_file(self, filebuffer, size: int) -> None:
        """A file without a descriptor (``BytesIO``...) is read here, block by
        block, into the output (which spills to disk past ``outbuf_overflow``):
        the worker is then tied to a slow client only past the high
        watermark, as with any streamed body, not for the whole download."""
        write_later = self.channel.write_later
        for block in filebuffer:
            write_later([block])
            size -= len(block)
        self.channel.write_soon([])  # flush what is gathered
        if size > 0:
            raise RuntimeError(f"the file_wrapper's file ended {size} bytes before its end")

    def answer_failure(self) -> None:
        """``service()`` itself raised (an override's bug): answer 500 if the
        response has not begun, and close the connection either way."""
        response = self.response
        if response is None or not response.headers_sent:
            self._fail(self._internal_error())
        self.close_after = True

    def _internal_error(self) -> InternalServerError:
        """The 500 for the exception being handled: Waitress's sentence, or
        with ``expose_tracebacks`` the traceback in its place, as Waitress does."""
        if self.channel.server.adj.expose_tracebacks:
            detail = traceback.format_exc()
        else:
            detail = INTERNAL_ERROR_DETAIL
        return InternalServerError(detail, self.head.version)

    def _fail(self, error: HTTPError) -> None:
        self.cancel()  # also on the paths that end before the app's ``finally``
        error.method = self.head.method  # the answer to HEAD is the head alone
        try:
            self.channel.write_soon([error_page(error, self.channel.server.adj.ident)], True)
        except ClientDisconnected:
            pass
        self.close_after = True
