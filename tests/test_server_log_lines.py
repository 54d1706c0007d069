"""What the server says when a connection goes wrong: each line word for
word, at its level, with or without its traceback.

Found unpinned by a mutation audit: a line's text or level could change,
or the line go, and no test failed.  Operators grep for these lines and
alert on their levels.
"""

import errno
import logging
import types

import waitress.lifecycle
from fixtureapps import gate
from server_support import (
    RawConnection,
    SocketStandIn,
    ThreadedServer,
    channel_with_socket,
    connect,
    open_channels,
    read_until_closed,
    request_held_in_flight,
    tcp_address,
    wait_until,
)
from waitress.channel import HTTPChannel
from waitress.task import WSGITask


def _lines(caplog, level=None):
    """(level, message) of the ``waitress`` logger's records."""
    return [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "waitress" and (level is None or r.levelno == level)
    ]


class _FailingRecv(SocketStandIn):
    """A socket whose reads fail with ``error``."""

    error: BaseException = OSError()

    def recv(self, *args):
        raise self.error


def _serve_with_failing_reads(caplog, error, **options):
    """Connect to a server whose connection reads fail with ``error``;
    return the client's address (the server's name for the connection)."""
    stand_in = type("Failing", (_FailingRecv,), {"error": error})
    caplog.set_level(logging.DEBUG, logger="waitress")
    with ThreadedServer(gate.app, **options) as server:
        server.channel_class = channel_with_socket(stand_in)
        with connect(tcp_address(server), timeout=20) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            read_until_closed(client)  # the server closed the connection
            assert wait_until(lambda: not open_channels(server), timeout=10)
            return client.getsockname()


def test_a_read_failing_with_an_os_error_is_a_warning_naming_the_connection(caplog):
    error = OSError(errno.EIO, "Input/output error")
    addr = _serve_with_failing_reads(caplog, error)
    assert _lines(caplog, logging.WARNING) == [
        (logging.WARNING, f"Socket error on {addr!r}: [Errno 5] Input/output error")
    ]


def test_a_read_failing_with_an_os_error_is_not_logged_under_log_socket_errors_false(caplog):
    addr = _serve_with_failing_reads(caplog, OSError(errno.EIO, "Input/output error"), log_socket_errors=False)
    assert not [line for line in _lines(caplog) if repr(addr) in line[1]]


def test_a_read_failing_with_a_reset_is_not_a_socket_error_line(caplog):
    # The client's own doing: logged, it would fill the log of a busy server.
    _serve_with_failing_reads(caplog, ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"))
    assert not [line for line in _lines(caplog) if "Socket error" in line[1]]


def test_an_unexpected_exception_in_a_connection_s_handler_is_an_error_with_its_traceback(caplog):
    addr = _serve_with_failing_reads(caplog, RuntimeError("a bug"))
    [record] = [r for r in caplog.records if r.name == "waitress" and r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"Unexpected error on connection {addr!r}"
    assert record.exc_info[0] is RuntimeError


def test_a_client_gone_while_its_response_streams_is_an_info_line_naming_the_path(caplog):
    """Not a warning: a client may always leave."""
    caplog.set_level(logging.DEBUG, logger="waitress")
    piece = b"s" * (1 << 20)

    def endless(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        for _ in range(512):  # bounded: far more than the kernels hold
            yield piece

    with ThreadedServer(endless, outbuf_high_watermark=1 << 20) as server:
        with RawConnection(tcp_address(server), timeout=20, receive_buffer=65536) as conn:
            conn.send(b"GET /some%20dir/dl?token=secret HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.sock.recv(1)  # the response has begun: its body streams
            conn.reset_close()
        assert wait_until(lambda: not open_channels(server) and _lines(caplog, logging.INFO), timeout=20)
    assert (logging.INFO, "Client disconnected while serving /some dir/dl") in _lines(caplog)
    assert not _lines(caplog, logging.WARNING) and not _lines(caplog, logging.ERROR)


class _BrokenEnvironTask(WSGITask):
    def get_environment(self):
        raise LookupError("an override's bug")


class _BrokenEnvironChannel(HTTPChannel):
    task_class = _BrokenEnvironTask


def test_an_environ_that_cannot_be_built_is_an_error_with_its_traceback_and_a_500(caplog):
    caplog.set_level(logging.DEBUG, logger="waitress")
    with ThreadedServer(gate.app) as server:
        server.channel_class = _BrokenEnvironChannel
        with RawConnection(tcp_address(server), timeout=20) as conn:
            conn.request("GET", "/env%2Fbroken?q=1")
            response = conn.read_response()
    assert response.status == 500
    [record] = [r for r in caplog.records if r.name == "waitress" and r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Exception while building the environ for /env/broken"
    assert record.exc_info[0] is LookupError


def test_a_stop_whose_deadline_never_fires_still_ends_and_says_so(recorder, caplog, monkeypatch):
    """The drain's deadline is a timer on the loop; should it never run
    (a loop stuck, a timer lost), ``close()`` gives up waiting
    SHUTDOWN_TIMEOUT + 5 s after the stop began, closes everything itself
    and logs it as an error."""
    caplog.set_level(logging.DEBUG, logger="waitress")
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 0.25)
    real = waitress.lifecycle.wasyncore
    no_timers = types.SimpleNamespace(**{name: getattr(real, name) for name in dir(real) if not name.startswith("__")})
    no_timers.call_later = lambda delay, fn, map=None: None
    monkeypatch.setattr(waitress.lifecycle, "wasyncore", no_timers)
    with request_held_in_flight("/stuck") as (_, server, stuck, _):
        server.close()  # returns: bounded by the fallback
        assert stuck.closed_by_server(timeout=10)
    assert (logging.ERROR, "The server did not stop within 5.25 s; closing it now") in _lines(caplog)

