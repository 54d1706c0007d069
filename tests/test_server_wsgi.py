"""PEP 3333 obligations of the server, end to end: the environ, exc_info,
the write() callable, close() on the app iterator, Content-Length mismatches,
application errors before and after the headers, and wsgi.file_wrapper.
"""

import io
import logging
import socket
import sys

import pytest
from fixtureapps import closing, echo, error, filewrapper, lengths, writer
from server_support import (
    RawConnection,
    ThreadedServer,
    build_request,
    exchange,
    get,
    read_until_closed,
    tcp_address,
    wait_until,
)


def test_wsgi_errors_is_the_stderr_of_the_request(monkeypatch):
    """As with Waitress: replaced after the server was made (a redirect,
    a daemonizing wrapper), sys.stderr still gets what the application writes."""

    def app(environ, start_response):
        environ["wsgi.errors"].write("written by the application\n")
        start_response("200 OK", [("Content-Length", "0")])
        return []

    with ThreadedServer(app) as server:
        later = io.StringIO()
        monkeypatch.setattr(sys, "stderr", later)
        assert get(tcp_address(server), "/").status == 200
    assert later.getvalue() == "written by the application\n"


def _raising_after(status, length=None):
    """An application whose body generator raises after its first chunk."""

    def app(environ, start_response):
        headers = [("Content-Type", "text/plain")]
        if length is not None:
            headers.append(("Content-Length", str(length)))
        start_response(status, headers)

        def body():
            yield b"x" * 5
            raise RuntimeError("the application failed after its first chunk")

        return body()

    return app


@pytest.mark.parametrize(
    "status, method, length",
    [("200 OK", "HEAD", None), ("204 No Content", "GET", None), ("304 Not Modified", "GET", None),
     ("200 OK", "GET", 5)],
)
def test_a_whole_response_stays_kept_alive_when_the_application_raises_after_it(
    status, method, length, waitress_log
):
    """Nothing more was owed (no body, or the Content-Length met): the head
    kept the connection, so the next request on it must be answered (it
    was closed under the client, an h11 client-side audit found)."""
    with ThreadedServer(_raising_after(status, length)) as server:
        with RawConnection(tcp_address(server)) as conn:
            for _ in range(2):
                conn.request(method, "/")
                response = conn.read_response(method)
                assert response.status == int(status[:3])
                assert "close" not in response.connection_tokens()
    assert "the application failed" in waitress_log.text


def test_a_body_cut_by_the_application_still_closes_the_connection():
    """5 bytes of a promised 10: only the close can tell the client."""
    with ThreadedServer(_raising_after("200 OK", 10)) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data, _ = read_until_closed(conn.sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Length: 10" in head and body == b"xxxxx"


def test_a_file_wrapper_cut_while_copied_closes_the_connection():
    """A file without a descriptor is copied after its head went out with
    the file's length; a read that fails halfway leaves the body short, so
    the connection must close, not serve a pipelined request inside it."""

    class FailingHalfway(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 8192:
                raise OSError("the medium failed")
            return super().read(min(size, 8192) if size and size > 0 else 8192)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](FailingHalfway(b"f" * 100000))

    with ThreadedServer(app) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            data, _ = read_until_closed(conn.sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Length: 100000" in head
    assert body == b"f" * 8192, "cut, then closed: nothing of the next response"


@pytest.fixture(scope="module")
def error_server():
    with ThreadedServer(error.app) as server:
        yield server


@pytest.fixture(scope="module")
def closing_target():
    with ThreadedServer(closing.app) as server:
        yield tcp_address(server)


@pytest.fixture(scope="module")
def filewrapper_target():
    with ThreadedServer(filewrapper.app) as server:
        yield tcp_address(server)


# --- the environ ------------------------------------------------------------------


def test_environ_has_the_pep3333_keys():
    with ThreadedServer(echo.app) as server:
        environ = get(
            tcp_address(server), "/a%20b/c?q=1&r=%2F", headers=[("X-Custom", "yes")]
        ).json()
    assert environ["wsgi.version"] == [1, 0]
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is True
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["PATH_INFO"] == "/a b/c"
    assert environ["QUERY_STRING"] == "q=1&r=%2F"
    assert environ["REQUEST_URI"] == "/a%20b/c?q=1&r=%2F"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["HTTP_X_CUSTOM"] == "yes"
    assert "wsgi.input" in environ and "wsgi.errors" in environ and "wsgi.file_wrapper" in environ


def test_content_type_and_length_have_no_http_prefix():
    with ThreadedServer(echo.app) as server:
        request = build_request("POST", "/", [("Content-Type", "text/plain")], body=b"12345")
        environ = exchange(tcp_address(server), request).json()
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "5"
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ


# --- exc_info and write() ----------------------------------------------------------


def test_start_response_with_exc_info_before_output_replaces_the_status(error_server):
    response = get(tcp_address(error_server), "/exc_info_before")
    assert response.status == 503
    assert response.body == b"replaced by the error page"


def test_start_response_with_exc_info_after_output_closes_the_connection(error_server):
    with RawConnection(tcp_address(error_server)) as conn:
        conn.request("GET", "/exc_info_after")
        response = conn.read_response(allow_incomplete=True)
        assert response.status == 200
        assert not response.complete, "the body must not look complete after the error"
        assert response.body.startswith(error.FIRST_CHUNK)
        assert b"never sent" not in response.body
        assert conn.eof


def test_write_callable_output_precedes_the_iterable():
    with ThreadedServer(writer.app) as server:
        target = tcp_address(server)
        sized = get(target, "/sized")
        assert sized.body == writer.BODY
        assert sized.header("Content-Length") == str(len(writer.BODY))
        with RawConnection(target) as conn:
            conn.request("GET", "/unsized")
            response = conn.read_response()
            assert response.body == writer.BODY
            conn.request("GET", "/sized")
            assert conn.read_response().body == writer.BODY  # the connection survived


def test_a_write_after_the_body_ended_is_refused_not_sent(caplog):
    """Written from close(), the bytes would follow the last chunk's framing,
    where the client reads the next response (audit AB)."""
    with ThreadedServer(writer.app) as server, RawConnection(tcp_address(server)) as conn:
        conn.send(build_request("GET", "/late") + build_request("GET", "/sized"))
        response = conn.read_response()
        assert response.body == writer.BODY
        assert response.header("Transfer-Encoding") == "chunked"
        rest = conn.read_until_eof()
        assert b"LATE" not in rest
        assert rest == b"" or rest.startswith(b"HTTP/1.1 200 OK\r\n")
    assert any("after the response ended" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


@pytest.mark.parametrize("container", [list, tuple])
def test_list_and_tuple_bodies_of_one_or_several_chunks(container):
    """One chunk takes the one-sendmsg path and gets a Content-Length; several
    take the gathered path and are chunked (the app gives no length).  Both
    keep the connection."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        count = int(environ["QUERY_STRING"])
        return container(b"chunk%d;" % i for i in range(count))

    with ThreadedServer(app) as server:
        with RawConnection(tcp_address(server)) as conn:
            for count in (1, 3, 1):
                conn.request("GET", "/?%d" % count)
                response = conn.read_response()
                expected = b"".join(b"chunk%d;" % i for i in range(count))
                assert response.body == expected
                if count == 1:
                    assert response.header("Content-Length") == str(len(expected))
                else:
                    assert response.header("Transfer-Encoding") == "chunked"


# --- close() on the app iterator -------------------------------------------------


def test_close_is_called_after_a_normal_response(closing_target, recorder):
    response = get(closing_target, "/normal?tag=normal")
    assert response.body == b"x" * 30
    assert recorder.wait_for_kind("closed", timeout=10)
    assert recorder.notes("closed") == ["normal"]


def test_close_is_called_when_the_iterator_fails(closing_target, recorder):
    with RawConnection(closing_target) as conn:
        conn.request("GET", "/error?tag=failing")
        response = conn.read_response(allow_incomplete=True)
        assert response.status == 200
        assert not response.complete
        assert conn.eof
    assert recorder.wait_for_kind("closed", timeout=10)
    assert recorder.notes("closed") == ["failing"]


def test_close_is_called_when_the_client_disconnects(closing_target, recorder):
    conn = RawConnection(closing_target)
    conn.request("GET", "/stream?tag=abandoned&n=1000000&size=65536")
    assert conn.read_head().status == 200
    conn.sock.recv(65536)
    conn.reset_close()
    assert recorder.wait_for_kind("closed", timeout=15), (
        "close() never called after the client left"
    )
    assert recorder.notes("closed") == ["abandoned"]
    assert get(closing_target, "/normal?tag=after").status == 200


# --- Content-Length mismatches -----------------------------------------------------


def test_too_many_bytes_are_truncated_and_the_connection_kept(lengths_target):
    with RawConnection(lengths_target) as conn:
        conn.request("GET", "/too_many")
        response = conn.read_response()
        assert response.header("Content-Length") == "5"
        assert response.body == b"01234"
        conn.request("GET", "/too_many")  # the extra bytes did not leak into this response
        again = conn.read_response()
        assert again.status == 200
        assert again.body == b"01234"


def test_too_few_bytes_close_the_connection(lengths_target):
    with RawConnection(lengths_target) as conn:
        conn.request("GET", "/too_few")
        response = conn.read_response(allow_incomplete=True)
        assert response.header("Content-Length") == "100"
        assert response.body == b"0123456789"
        assert not response.complete
        assert conn.eof


def test_large_response_with_content_length_arrives_whole(lengths_target):
    size = 3 * 1024 * 1024 + 5
    response = get(lengths_target, "/large?size=%d&chunk=65536" % size, timeout=30)
    assert response.body == lengths.large_body(size)


# --- application errors ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/before_start_response", "/after_start_response", "/not_bytes_later"])
def test_error_before_output_gives_a_500_in_the_error_format(error_server, caplog, path):
    caplog.set_level(logging.ERROR, logger="waitress")
    with RawConnection(tcp_address(error_server)) as conn:
        conn.request("GET", path)
        response = conn.read_response()
        assert response.status == 500
        assert sorted(name.lower() for name in response.header_names) == [
            "connection",
            "content-length",
            "content-type",
            "date",
            "server",
        ]
        assert response.connection_tokens() == ["close"]
        assert response.header("Content-Type").startswith("text/plain")
        assert b"Internal Server Error" in response.body
        assert conn.closed_by_server()
    messages = [r.getMessage() for r in caplog.records if r.name == "waitress"]
    assert any("Exception while serving" in m for m in messages), messages
    logged = [r for r in caplog.records if "Exception while serving" in r.getMessage()]
    assert logged[0].exc_info is not None  # the traceback goes to the log


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"HEAD /before_start_response HTTP/1.1\r\nHost: x\r\n\r\n", 500),  # the application's
        (b"HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),  # in the head
        (b"HEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),  # body
        (b"HEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"HEAD / HTTP/2.0\r\nHost: x\r\n\r\n", 505),  # a request line refused
        (b"HEAD / HTTP/1.1\r\nX: " + b"a" * 262144 + b"\r\n\r\n", 431),  # a head refused
    ],
    ids=["500", "400-head", "400-body", "501", "505", "431"],
)
def test_an_error_answer_to_head_is_the_head_alone(error_server, request_bytes, status):
    """RFC 9110 9.3.2: no content in a response to HEAD, errors included;
    the Content-Length stays that of the page a GET would get."""
    with socket.create_connection(tcp_address(error_server), timeout=10) as client:
        client.sendall(request_bytes)
        received = b""
        while True:
            data = client.recv(65536)
            if not data:
                break
            received += data
    assert received.startswith(b"HTTP/1.") and received[9:13] == b"%d " % status
    assert received.endswith(b"\r\n\r\n") and received.count(b"\r\n\r\n") == 1
    assert b"\r\nContent-Length: 0\r\n" not in received


def test_error_after_headers_sent_closes_the_connection(error_server, caplog):
    caplog.set_level(logging.ERROR, logger="waitress")
    with RawConnection(tcp_address(error_server)) as conn:
        conn.request("GET", "/after_headers_sent")
        response = conn.read_response(allow_incomplete=True)
        assert response.status == 200
        assert response.body == error.FIRST_CHUNK
        assert not response.complete
        assert conn.eof
    assert any("Exception while serving" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "path, closed_by",
    [("/after_headers_sent", "reset"), ("/whole_stream", "fin")],
    ids=["cut-by-an-error", "whole"],
)
def test_an_http10_body_cut_by_an_error_ends_with_a_reset(error_server, caplog, path, closed_by):
    """An HTTP/1.0 body without a length ends where the connection does:
    closed normally, a cut body would pass for the whole response (nginx,
    which speaks HTTP/1.0 to its upstream by default, relayed it as
    complete).  The reset tells the client, and nginx, that it is not."""
    caplog.set_level(logging.ERROR, logger="waitress")
    with socket.create_connection(tcp_address(error_server), timeout=10) as client:
        client.sendall(b"GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path.encode())
        received, how = read_until_closed(client)
    assert how == closed_by
    if how == "fin":
        assert received.startswith(b"HTTP/1.0 200 ") and received.endswith(b"\r\n\r\n" + error.FIRST_CHUNK)
        assert b"Content-Length" not in received  # delimited by the close, too


def test_server_keeps_serving_after_application_errors(error_server):
    target = tcp_address(error_server)
    for _ in range(3):
        assert get(target, "/before_start_response").status == 500
    assert get(target, "/exc_info_before").status == 503


# --- wsgi.file_wrapper ---------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 1000, 102399])
def test_seekable_file_gets_content_length_from_the_remaining_size(filewrapper_target, offset):
    filewrapper.OPENED.clear()
    with RawConnection(filewrapper_target) as conn:
        conn.request("GET", "/seekable?offset=%d" % offset)
        response = conn.read_response()
        assert response.status == 200
        assert response.header("Content-Length") == str(len(filewrapper.DATA) - offset)
        assert not response.chunked
        assert response.body == filewrapper.DATA[offset:]
        conn.request("GET", "/seekable?offset=%d" % offset)  # framing was exact
        assert conn.read_response().body == filewrapper.DATA[offset:]
    assert wait_until(lambda: all(f.closed for f in filewrapper.OPENED), timeout=10)
    assert len(filewrapper.OPENED) == 2


@pytest.mark.parametrize("path", ["/gzip", "/odd-fileno", "/block0"])
def test_a_file_wrapper_body_is_what_the_file_reads(filewrapper_target, path):
    """Not what its fileno() holds (a gzip file's is compressed), whatever
    fileno() raises, and whatever block size the application asked for."""
    filewrapper.OPENED.clear()
    with RawConnection(filewrapper_target) as conn:
        conn.request("GET", path)
        response = conn.read_response()
        assert response.header("Content-Length") == str(len(filewrapper.DATA))
        assert response.body == filewrapper.DATA
        conn.request("GET", "/seekable")
        assert conn.read_response().body == filewrapper.DATA  # the connection survived
    assert wait_until(lambda: all(f.closed for f in filewrapper.OPENED), timeout=10)


def test_non_seekable_file_like_is_streamed_and_closed(filewrapper_target, recorder):
    with RawConnection(filewrapper_target) as conn:
        conn.request("GET", "/nonseekable")
        response = conn.read_response()
        assert response.status == 200
        assert response.body == filewrapper.DATA
        assert response.chunked or response.header("Content-Length") == str(len(filewrapper.DATA))
    assert recorder.wait_for_kind("file-closed", timeout=10)


def test_head_of_a_file_wrapper_response_sends_no_body(filewrapper_target):
    with RawConnection(filewrapper_target) as conn:
        conn.request("HEAD", "/seekable?offset=0")
        response = conn.read_response("HEAD")
        assert response.status == 200
        assert response.header("Content-Length") == str(len(filewrapper.DATA))
        conn.request("GET", "/seekable?offset=102300")
        follow = conn.read_response()
        assert follow.body == filewrapper.DATA[102300:]
