"""Faults injected into the server's own code (a MemoryError, a logging
handler that raises, an application's SystemExit): each costs the request
or connection it hit, never the listener, the loop, a worker or a socket.
Found by a fault-injection audit; each test fails on the code before it.
"""

import errno
import logging
import os
import socket
import threading

import pytest
from fixtureapps import echo, hello
from server_support import RawConnection, ThreadedServer, get, tcp_address, wait_until
from waitress.channel import HTTPChannel
from waitress_wasyncore.buffers import OutputBuffer
from waitress_wasyncore.trigger import trigger


def _served(server) -> bool:
    return get(tcp_address(server), "/").status == 200


def _fail_once(monkeypatch, owner, name, error):
    """Make ``owner.name`` raise ``error`` on its first call only."""
    original = getattr(owner, name)
    calls = []

    def failing(*args, **kw):
        if not calls:
            calls.append(1)
            raise error
        return original(*args, **kw)

    monkeypatch.setattr(owner, name, failing)
    return calls


def test_a_memory_error_from_accept_rests_the_listener_instead_of_stopping_the_server(monkeypatch, caplog):
    with ThreadedServer(hello.app) as server:
        calls = _fail_once(monkeypatch, server, "_accept", MemoryError())
        with RawConnection(tcp_address(server)) as first:
            first.request("GET", "/")
            assert first.read_response().status == 200  # accepted once the listener rested
        assert calls == [1]
        assert "Unexpected exception while accepting a connection" in caplog.text
        assert _served(server)


class _RaisingHandler(logging.Handler):
    """A handler that raises on errors (a broken custom handler, say)."""

    def emit(self, record):
        if record.levelno >= logging.ERROR:
            raise RuntimeError("the log handler broke")


@pytest.fixture
def raising_log_handler():
    log = logging.getLogger("waitress")
    handler = _RaisingHandler()
    log.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)


def _app_raising(error):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/fail":
            raise error
        return hello.app(environ, start_response)

    return app


@pytest.mark.parametrize("error", [SystemExit(3), RuntimeError("boom")], ids=["SystemExit", "RuntimeError"])
def test_an_application_failure_gets_a_500_even_when_logging_fails(error, raising_log_handler):
    """The 500 and the close happen whatever the log does; the worker lives on."""
    with ThreadedServer(_app_raising(error), threads=1) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/fail")
            assert conn.read_response().status == 500
            assert conn.closed_by_server()
        assert _served(server) and _served(server)  # the one worker still serves
        assert wait_until(lambda: not server.active_channels)


def test_a_system_exit_from_the_application_answers_500(caplog):
    with ThreadedServer(_app_raising(SystemExit(3))) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/fail")
            assert conn.read_response().status == 500
            assert conn.closed_by_server()
        assert "Exception while serving /fail" in caplog.text
        assert wait_until(lambda: not server.active_channels)
        assert _served(server)


def test_a_failure_of_the_loop_s_error_handling_log_does_not_stop_the_loop(monkeypatch, raising_log_handler):
    """A channel's handler raises and the error log raises too: the channel
    is closed, the loop thread goes on."""
    with ThreadedServer(hello.app) as server:
        _fail_once(monkeypatch, HTTPChannel, "handle_read", RuntimeError("handler bug"))
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/")
            assert conn.closed_by_server()
        assert wait_until(lambda: not server.active_channels)
        assert _served(server)


def test_a_close_that_fails_halfway_still_closes_the_socket(monkeypatch):
    """``closed`` is set first: a failure after it (a spill file that will
    not close) must not leave the socket open and registered forever."""
    with ThreadedServer(hello.app) as server:
        _fail_once(monkeypatch, OutputBuffer, "close", OSError(errno.EIO, "spill file"))
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/", headers=[("Connection", "close")])
            assert conn.read_response().status == 200
            assert conn.closed_by_server()
        assert wait_until(lambda: not server.active_channels)
        assert wait_until(lambda: len(server._map) == 2)  # the listener and the trigger
        assert _served(server)


def test_a_passing_recv_failure_of_the_trigger_keeps_it(monkeypatch):
    """ENOMEM reading the wake-up byte: the trigger stays, so workers can
    still hand the loop work, and close() still stops the server."""
    ran = threading.Event()
    with ThreadedServer(hello.app) as server:
        original = trigger.handle_read
        failed = []

        def recv_fails_once(self):
            if not failed:
                failed.append(1)
                sock = self.socket
                self.socket = _FailingRecv(sock)
                try:
                    return original(self)
                finally:
                    self.socket = sock
            return original(self)

        monkeypatch.setattr(trigger, "handle_read", recv_fails_once)
        server.trigger.pull_trigger(lambda: None)
        assert wait_until(lambda: failed)
        server.trigger.pull_trigger(ran.set)
        assert ran.wait(10)
        assert _served(server)


class _FailingRecv:
    def __init__(self, sock):
        self._sock = sock

    def recv(self, size):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _no_temporary_file(*args, **kw):
    raise OSError(errno.ENOSPC, "No space left on device")


def _unwritable_temporary_directory(*args, **kw):
    raise PermissionError(errno.EACCES, "Permission denied")


class _FullDiskFile:
    """A temporary file on a disk that fills after the first write."""

    def __init__(self):
        self.writes = 0

    def write(self, data):
        self.writes += 1
        if self.writes > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return len(data)

    def close(self):
        pass


@pytest.mark.parametrize(
    "temporary_file",
    [_no_temporary_file, _unwritable_temporary_directory, _FullDiskFile],
    ids=["disk-full-at-creation", "directory-unwritable", "disk-full-while-writing"],
)
def test_a_body_that_cannot_be_stored_gets_a_500_and_costs_only_its_connection(
    temporary_file, monkeypatch, caplog
):
    """A body past ``inbuf_overflow`` goes to a temporary file; when that
    fails, the client hears why (500, not a silent close) and the server
    goes on, reading bodies again once the disk has room."""
    import waitress_wasyncore.spool as spool

    real_temporary_file = spool.tempfile.TemporaryFile
    with ThreadedServer(echo.app, inbuf_overflow=1024) as server:
        monkeypatch.setattr(spool.tempfile, "TemporaryFile", temporary_file)
        with RawConnection(tcp_address(server)) as conn:
            # Sent in two reads' worth, so that a spill file, once made, is written again.
            conn.request("POST", "/", body=b"x" * 2048, headers=[("Content-Length", "300000")])
            conn.send(b"y" * 297952)
            response = conn.read_response("POST")
            assert response.status == 500
            assert b"could not store the request body" in response.body
            assert response.header("Connection") == "close"
            assert conn.closed_by_server()
        assert "Could not store the request body" in caplog.text
        monkeypatch.setattr(spool.tempfile, "TemporaryFile", real_temporary_file)
        with RawConnection(tcp_address(server)) as conn:
            conn.request("POST", "/", body=b"z" * 300000)
            response = conn.read_response("POST")
            assert response.status == 200 and response.json()["body"] == "z" * 300000


@pytest.mark.parametrize("pipelined", [False, True], ids=["first-request", "behind-a-served-one"])
def test_memory_running_out_inside_the_parser_gets_a_500_not_a_silent_close(pipelined, monkeypatch, caplog):
    """A MemoryError while parsing a head reached the loop, which logged
    "Unexpected error" and closed the connection with no answer (and,
    behind a pipelined request, cut nothing but left the client guessing).
    Now it is the server's failure: a 500 after the earlier responses, a
    log line naming the cause, and the next connection is served."""
    import waitress_http.parser as http_parser

    real_parse_head = http_parser.parse_head

    def parse_head(head):
        if b"/exhausted" in head:
            raise MemoryError()
        return real_parse_head(head)

    with ThreadedServer(hello.app) as server:
        monkeypatch.setattr(http_parser, "parse_head", parse_head)
        with RawConnection(tcp_address(server)) as conn:
            first = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" if pipelined else b""
            conn.send(first + b"GET /exhausted HTTP/1.1\r\nHost: x\r\n\r\n")
            if pipelined:
                assert conn.read_response().status == 200
            response = conn.read_response()
            assert response.status == 500
            assert b"could not read the request" in response.body
            assert response.header("Connection") == "close"
            assert conn.closed_by_server()
        assert "Could not parse the request, on" in caplog.text
        assert "MemoryError" in caplog.text
        assert "Unexpected error" not in caplog.text
        monkeypatch.setattr(http_parser, "parse_head", real_parse_head)
        assert _served(server)


def _streamed_past_the_socket(environ, start_response):
    """A streamed body (no length) far larger than the kernel takes from a
    client that does not read, so that output queues, then more pieces."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def pieces():
        yield b"a" * (4 << 20)
        for _ in range(64):
            yield b"b" * 65536

    return pieces()


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"), MemoryError()],
                         ids=["disk-full", "out-of-memory"])
@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"], ids=["chunked", "close-delimited"])
def test_output_that_cannot_be_queued_ends_the_connection_in_a_way_the_client_detects(
    error, version, monkeypatch, caplog
):
    """The output queue failed to take a piece (its spill file on a full
    disk, memory): the piece was dropped, the response went on, and a
    chunked one ended with its last chunk, a hole in the middle, looking
    complete; the queue's byte count also kept the loop writing, at full
    CPU, bytes that were not there.  Now nothing more goes out and the
    connection ends in a reset."""
    from server_support import read_until_closed

    original = OutputBuffer.append
    queued = []

    def failing_append(self, data):
        queued.append(1)
        if len(queued) == 20:  # output is queued by now: the socket is full
            raise error
        return original(self, data)

    with ThreadedServer(_streamed_past_the_socket, outbuf_overflow=1 << 20) as server:
        monkeypatch.setattr(OutputBuffer, "append", failing_append)
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        client.settimeout(20)
        with client:
            client.connect(tcp_address(server))
            client.sendall(f"GET / {version}\r\nHost: x\r\n\r\n".encode())
            assert wait_until(lambda: len(queued) >= 20)
            received, how = read_until_closed(client)
        monkeypatch.setattr(OutputBuffer, "append", original)
        assert how == "reset"
        assert not received.endswith(b"\r\n0\r\n\r\n")
        assert len(received) < (4 << 20) + 64 * 65536
        assert "Could not queue the response" in caplog.text
        assert wait_until(lambda: not any(isinstance(ch, HTTPChannel) for ch in list(server._map.values())))
        assert _served(server)


def _failing_on_call(original, call, error):
    calls = []

    def failing(*args, **kw):
        calls.append(1)
        if len(calls) == call:
            raise error
        return original(*args, **kw)

    return failing


@pytest.mark.parametrize("call", [1, 2], ids=["worker", "loop"])
@pytest.mark.parametrize("path", ["sendfile", "read"])
def test_a_file_that_fails_to_read_is_logged_as_such_not_as_a_client_disconnect(path, call, monkeypatch, caplog):
    """An I/O error of the file's disk halfway through a ``wsgi.file_wrapper``
    response: the body is short of its Content-Length and the connection
    closes, as before, but the log blamed the client ("Client disconnected")
    or said nothing at all."""
    import waitress_wasyncore.output_queue as output_queue
    from fixtureapps import filewrapper
    from server_support import read_until_closed

    eio = OSError(errno.EIO, "Input/output error")
    if path == "sendfile" and not hasattr(os, "sendfile"):
        pytest.skip("no os.sendfile on this platform")
    if path == "sendfile":
        monkeypatch.setattr(output_queue.os, "sendfile", _failing_on_call(output_queue.os.sendfile, call, eio))
    else:
        monkeypatch.setattr(output_queue, "_sendfile_target", lambda sock: None)
        monkeypatch.setattr(output_queue, "_pread", _failing_on_call(output_queue._pread, call, eio))
    with ThreadedServer(filewrapper.app) as server:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        client.settimeout(20)
        with client:
            client.connect(tcp_address(server))
            client.sendall(b"GET /large HTTP/1.1\r\nHost: x\r\n\r\n")
            received, how = read_until_closed(client)
        monkeypatch.undo()
        head, _, body = received.partition(b"\r\n\r\n")
        assert b"Content-Length: %d" % filewrapper.LARGE_SIZE in head
        assert len(body) < filewrapper.LARGE_SIZE
        assert "Reading the response's file failed" in caplog.text
        assert "Input/output error" in caplog.text
        assert "Client disconnected" not in caplog.text
        assert _served(server)


def test_gathered_output_that_cannot_be_queued_after_an_application_error_is_logged_once(
    monkeypatch, caplog
):
    """The application streamed a small piece (gathered, not yet sent), then
    raised; queuing the gathered piece for the close then failed.  The
    failure escaped the worker's close-up as a ClientDisconnected, and the
    pool logged it a second time, with a traceback, as a failure of its own."""
    original = OutputBuffer.append
    broken = []

    def failing_append(self, data):
        if broken:
            raise MemoryError()
        return original(self, data)

    def streams_then_raises(environ, start_response):
        if environ["PATH_INFO"] != "/break":
            return hello.app(environ, start_response)
        start_response("200 OK", [("Content-Type", "text/plain")])

        def pieces():
            yield b"gathered"
            broken.append(1)
            raise RuntimeError("the application broke off")

        return pieces()

    monkeypatch.setattr(OutputBuffer, "append", failing_append)
    with ThreadedServer(streams_then_raises) as server:
        client = socket.create_connection(tcp_address(server), timeout=20)
        with client:
            client.sendall(b"GET /break HTTP/1.1\r\nHost: x\r\n\r\n")
            from server_support import read_until_closed

            read_until_closed(client)
        broken.clear()
        assert wait_until(lambda: not any(isinstance(ch, HTTPChannel) for ch in list(server._map.values())))
        assert _served(server)
    assert "Could not queue the response" in caplog.text
    assert "ClientDisconnected" not in caplog.text
