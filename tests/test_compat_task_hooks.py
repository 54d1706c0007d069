"""Code that extends Waitress's tasks, run unchanged against ours.

Two patterns found in public code:

* a ``WSGITask`` subclass whose ``get_environment()`` calls ``super()`` and
  adds the channel to the environ, installed through ``HTTPChannel.task_class``
  and the server's ``channel_class``; the application then reaches the
  socket through it and may close the connection itself (an emulator that
  fakes connection resets does this);
* a patch of ``WSGITask.get_environment`` on the class that reads the parsed
  request's headers (``self.request.headers['X_FORWARDED_FOR']``).
"""

import io
import json
import logging
import socket
import struct
import time
import warnings

import pytest
from fixtureapps import echo
from server_support import RawConnection, ThreadedServer, get, tcp_address, wait_until
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask, WSGITask


class ChannelInEnvironTask(WSGITask):
    def get_environment(self):
        environ = super().get_environment()
        environ["waitress.channel"] = self.channel
        return environ


class ChannelInEnvironChannel(HTTPChannel):
    task_class = ChannelInEnvironTask


def channel_app(environ, start_response):
    """``/reset`` aborts the connection through the channel; anything else
    describes the channel found in the environ."""
    channel = environ["waitress.channel"]
    if environ["PATH_INFO"] == "/reset":
        channel.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        channel.close()
    body = json.dumps({
        "channel": type(channel).__name__,
        "same_socket_family": channel.socket.family == socket.AF_INET,
        "server_software": environ["SERVER_SOFTWARE"],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def test_task_subclass_adds_to_the_environ_through_channel_class():
    with ThreadedServer(channel_app) as server:
        server.channel_class = ChannelInEnvironChannel
        described = get(tcp_address(server), "/").json()
    assert described == {
        "channel": "ChannelInEnvironChannel",
        "same_socket_family": True,
        "server_software": "waitress",
    }


def test_an_application_that_resets_its_own_connection_costs_nothing_else():
    """Closing the channel from the application (a worker thread) ends that
    connection only: the server answers the next client, and forgets the
    closed connection once the loop has seen the failure."""
    with ThreadedServer(channel_app, threads=2) as server:
        server.channel_class = ChannelInEnvironChannel
        target = tcp_address(server)
        for _ in range(5):
            conn = RawConnection(target)
            try:
                conn.send(b"GET /reset HTTP/1.1\r\nHost: x\r\n\r\n")
                assert conn.closed_by_server()
                assert conn.reset and not conn.buffer  # SO_LINGER 0: a reset, no response
            finally:
                conn.close()
            # Checked before the next connection can take the same descriptor.
            assert wait_until(lambda: not server.active_channels, timeout=10)
            assert get(target, "/").json()["channel"] == "ChannelInEnvironChannel"


def broken_stream_app(environ, start_response):
    """Promise 100 bytes more than it sends, close the channel, then fail:
    an emulator's "broken stream after N bytes" fault."""
    if environ["PATH_INFO"] == "/ok":
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    channel = environ["waitress.channel"]
    size = int(environ["QUERY_STRING"])

    def body():
        sent = 0
        while sent < size:
            piece = min(4 if size < 64 else 65536, size - sent)
            sent += piece
            yield b"x" * piece
        channel.close()
        raise RuntimeError("Injected 'broken stream' fault")

    start_response("200 OK", [("Content-Length", str(size + 100))])
    return body()


@pytest.mark.parametrize("size", [4, 4096, 1 << 20])
def test_closing_the_channel_mid_stream_still_sends_what_was_written(size, caplog):
    """The bytes the application wrote before ``channel.close()`` reach the
    client, then the connection ends; the server answers the next client."""
    with ThreadedServer(broken_stream_app, threads=2) as server:
        server.channel_class = ChannelInEnvironChannel
        target = tcp_address(server)
        conn = RawConnection(target)
        try:
            conn.send(b"GET /broken?%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
            assert conn.closed_by_server()
            head, _, body = bytes(conn.buffer).partition(b"\r\n\r\n")
        finally:
            conn.close()
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert body == b"x" * size
        assert wait_until(lambda: not server.active_channels, timeout=10)
        assert get(target, "/ok").body == b"ok"
    assert "Injected 'broken stream' fault" in caplog.text


@pytest.fixture
def forwarded_for_patch(monkeypatch):
    """Patch the class itself, the way a Zope product patches Waitress's task."""
    original = WSGITask.get_environment

    def get_environment(self):
        forwarded_for = dict(self.request.headers).get("X_FORWARDED_FOR", "").split(",", 1)[0].strip()
        environ = original(self)
        if forwarded_for:
            environ["REMOTE_HOST"] = environ["REMOTE_ADDR"] = forwarded_for
        return environ

    monkeypatch.setattr(WSGITask, "get_environment", get_environment)


def test_a_class_patch_of_get_environment_reads_the_parsed_headers(forwarded_for_patch):
    with ThreadedServer(echo.app) as server:
        environ = get(tcp_address(server), "/", headers=[
            ("X-Forwarded-For", "203.0.113.9, 10.0.0.1"),
        ]).json()
        plain = get(tcp_address(server), "/").json()
    assert environ["REMOTE_ADDR"] == environ["REMOTE_HOST"] == "203.0.113.9"
    assert plain["REMOTE_ADDR"] == "127.0.0.1"


def test_an_override_that_raises_is_a_500_and_the_server_goes_on(monkeypatch, caplog):
    def get_environment(self):
        raise RuntimeError("broken override")

    with ThreadedServer(echo.app) as server:
        target = tcp_address(server)
        monkeypatch.setattr(WSGITask, "get_environment", get_environment)
        failed = get(target, "/")
        monkeypatch.undo()
        served = get(target, "/after").json()
    assert failed.status == 500
    assert served["PATH_INFO"] == "/after"
    assert "broken override" in caplog.text


def test_a_failure_whose_500_fails_too_closes_the_connection_and_says_so(monkeypatch, caplog):
    """An override of ``service`` raises, and so does the 500 meant to answer
    it: the connection closes without an answer (it must not wait for
    one), the second failure is logged as an error of its own, and the
    server goes on."""

    def service(self):
        raise RuntimeError("broken service")

    def answer_failure(self):
        raise RuntimeError("broken answer")

    with ThreadedServer(echo.app) as server:
        target = tcp_address(server)
        monkeypatch.setattr(WSGITask, "service", service)
        monkeypatch.setattr(WSGITask, "answer_failure", answer_failure)
        with RawConnection(target, timeout=10) as conn:
            conn.request("GET", "/")
            assert conn.closed_by_server(timeout=10)
        monkeypatch.undo()
        served = get(target, "/after").json()
    assert served["PATH_INFO"] == "/after"
    [record] = [r for r in caplog.records if r.exc_info and "broken answer" in str(r.exc_info[1])]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("Exception while answering the failure of ")


def test_get_environment_is_built_once_and_kept():
    seen = []

    class CountingTask(WSGITask):
        def get_environment(self):
            environ = super().get_environment()
            seen.append(environ is super().get_environment())
            return environ

    class CountingChannel(HTTPChannel):
        task_class = CountingTask

    with ThreadedServer(echo.app) as server:
        server.channel_class = CountingChannel
        assert get(tcp_address(server), "/once").json()["PATH_INFO"] == "/once"
    assert seen == [True]


def test_an_override_that_raises_still_closes_a_spilled_body(monkeypatch):
    """The body was spooled to a temporary file; a 500 from the override must
    not leave that file open until the garbage collector finds it."""
    original = WSGITask.get_environment
    inputs = []

    def get_environment(self):
        environ = original(self)
        inputs.append(environ["wsgi.input"])
        raise RuntimeError("broken after building")

    monkeypatch.setattr(WSGITask, "get_environment", get_environment)
    with ThreadedServer(echo.app, inbuf_overflow=1024) as server:
        conn = RawConnection(tcp_address(server))
        try:
            body = b"x" * 100_000
            conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            assert conn.read_response().status == 500
        finally:
            conn.close()
    assert len(inputs) == 1
    assert not isinstance(inputs[0], io.BytesIO)  # it did spill to a file
    assert inputs[0].closed


def test_error_task_class_answers_an_unparseable_request():
    answered = []

    class CountingErrorTask(ErrorTask):
        def service(self):
            answered.append(self.error.code)
            super().service()

    class CountingChannel(HTTPChannel):
        error_task_class = CountingErrorTask

    with ThreadedServer(echo.app) as server:
        server.channel_class = CountingChannel
        conn = RawConnection(tcp_address(server))
        try:
            conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
            assert conn.read_response().status == 400
        finally:
            conn.close()
    assert answered == [400]


def test_a_channel_subclass_with_its_own_parser_class_is_warned_about():
    # Rules put in a Waitress parser subclass would not run here: a silent
    # skip could let through requests the application meant to refuse.
    from waitress.parser import HTTPRequestParser

    class StrictParser(HTTPRequestParser):
        pass

    with pytest.warns(RuntimeWarning, match="parser_class is not used"):

        class StrictChannel(HTTPChannel):
            parser_class = StrictParser

    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class PlainChannel(HTTPChannel):
            task_class = HTTPChannel.task_class


def test_a_channel_subclass_logger_takes_its_connections_errors(caplog):
    """Code sets HTTPChannel.logger on a subclass to keep request paths out of
    the server's log, as Waitress's channel logged through self.logger."""
    import logging

    private = logging.Logger("private-test", level=logging.DEBUG)
    seen = []
    private.addHandler(logging.Handler())
    private.handlers[0].emit = seen.append

    class PrivateChannel(HTTPChannel):
        logger = private

    def failing(environ, start_response):
        raise RuntimeError("boom")

    with caplog.at_level(logging.DEBUG, logger="waitress"):
        with ThreadedServer(failing) as server:
            address = tcp_address(server)
            assert get(address, "/secret/path").status == 500  # the default channel
            server.channel_class = PrivateChannel
            assert get(address, "/other/secret").status == 500
    in_waitress_log = [r.getMessage() for r in caplog.records if r.name.startswith("waitress")]
    assert any("/secret/path" in message for message in in_waitress_log)
    assert not any("/other/secret" in message for message in in_waitress_log)
    assert [r.getMessage() for r in seen] == ["Exception while serving /other/secret"]


class ForwardProxyTask(WSGITask):
    """A forward proxy's task: an absolute-form target becomes the full URL
    in PATH_INFO, read from the parsed request's proxy fields."""

    def get_environment(self):
        environ = super().get_environment()
        request = self.request
        if request.proxy_scheme and request.proxy_netloc:
            environ["PATH_INFO"] = "{}://{}{}".format(
                request.proxy_scheme, request.proxy_netloc, request.path)
        environ["test.request"] = (request.url_scheme, request.query, request.content_length,
                                   request.connection_close)
        return environ


class ForwardProxyChannel(HTTPChannel):
    task_class = ForwardProxyTask


def forward_proxy_app(environ, start_response):
    body = json.dumps([environ["PATH_INFO"], list(environ["test.request"])]).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def test_a_task_reads_the_proxy_fields_of_an_absolute_form_request():
    with ThreadedServer(forward_proxy_app, url_scheme="https") as server:
        server.channel_class = ForwardProxyChannel
        target = tcp_address(server)
        proxied = get(target, "http://example.com:8080/a%20b?q=1").json()
        direct = get(target, "/plain").json()
    assert proxied == ["http://example.com:8080/a b", ["https", "q=1", 0, False]]
    assert direct == ["/plain", ["https", "", 0, False]]


class RaisingBeforeTask(WSGITask):
    def service(self):
        self.start()  # Waitress's task method, absent here: AttributeError


class RaisingAfterTask(WSGITask):
    def service(self):
        super().service()
        raise RuntimeError("after the response")


@pytest.mark.parametrize("task_class, status", [(RaisingBeforeTask, 500), (RaisingAfterTask, 200)])
def test_a_task_whose_service_raises_is_answered_and_closed(task_class, status, caplog):
    """Waitress answers 500 when a task's ``service()`` raises before the
    response began; either way the connection closes instead of hanging."""

    class Channel(HTTPChannel):
        pass

    Channel.task_class = task_class
    with ThreadedServer(echo.app) as server:
        server.channel_class = Channel
        target = tcp_address(server)
        conn = RawConnection(target)
        try:
            conn.send(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.closed_by_server(), "the connection hung"
            assert bytes(conn.buffer).startswith(b"HTTP/1.1 %d " % status)
            assert bytes(conn.buffer).count(b"HTTP/1.1 ") == 1
        finally:
            conn.close()
        server.channel_class = HTTPChannel
        assert get(target, "/after").status == 200
    assert "Exception while serving /x" in caplog.text


class RawRecordingChannel(HTTPChannel):
    """Records every byte the client sends, as a raw-request echo server does."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.data = b""

    def received(self, data):
        self.data += data
        return super().received(data)


class RawRequestTask(WSGITask):
    def get_environment(self):
        environ = super().get_environment()
        environ["test.raw"] = self.channel.data.decode("latin-1")
        return environ


RawRecordingChannel.task_class = RawRequestTask


def raw_app(environ, start_response):
    body = environ["test.raw"].encode("latin-1")
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def test_a_channel_overriding_received_sees_every_byte_and_still_serves():
    first = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
    with ThreadedServer(raw_app) as server:
        server.channel_class = RawRecordingChannel
        conn = RawConnection(tcp_address(server))
        try:
            conn.send(first)
            assert conn.read_response().body == first
            conn.send(b"GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
            assert conn.read_response().body.endswith(b"GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
        finally:
            conn.close()


class DiscardingReturnChannel(HTTPChannel):
    def received(self, data):
        super().received(data)  # returns None: valid with Waitress, which ignores it


class AlwaysTrueChannel(HTTPChannel):
    def received(self, data):
        super().received(data)
        return True  # what Waitress's own received() returns


def slow_first_app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.5)
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


@pytest.mark.parametrize("channel_class", [DiscardingReturnChannel, AlwaysTrueChannel])
@pytest.mark.parametrize("lookahead", [0, 5])
def test_what_a_received_override_returns_does_not_matter(channel_class, lookahead):
    """Served, and in order, whatever the override returns (Waitress ignores it)."""
    with ThreadedServer(slow_first_app, threads=4, channel_request_lookahead=lookahead) as server:
        server.channel_class = channel_class
        conn = RawConnection(tcp_address(server))
        try:
            for path in (b"/slow", b"/two", b"/three"):
                conn.send(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                time.sleep(0.1)  # one read each, while /slow is served
            bodies = [conn.read_response().body for _ in range(3)]
        finally:
            conn.close()
    assert bodies == [b"/slow", b"/two", b"/three"]
