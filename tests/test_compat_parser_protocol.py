"""An asyncio server built on waitress.parser.HTTPRequestParser, as public code builds one.

Some projects use Waitress's parser without its server: an asyncio
``Protocol`` makes one ``HTTPRequestParser(adj)`` per request, feeds it what
arrives, builds a WebOb request from its attributes and answers its
``error`` itself.  That code must run unchanged on this package; here it
serves real clients over 127.0.0.1.
"""

import asyncio
import http.client
import socket
import threading

import pytest
import webob
from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser


def application(environ, start_response):
    request = webob.Request(environ)
    body = b"%s %s body=%s xff=%s" % (
        request.method.encode(),
        request.path_info.encode("utf-8"),  # WebOb decodes the latin-1 PATH_INFO as UTF-8
        request.body,
        request.headers.get("X-Forwarded-For", "-").encode(),
    )
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class ParserProtocol(asyncio.Protocol):
    """The public pattern: one parser per request, fed until completed."""

    adj = Adjustments(max_request_body_size=1000)

    def connection_made(self, transport):
        self.transport = transport
        self.parser = None

    def data_received(self, data):
        while data:
            if self.parser is None:
                self.parser = HTTPRequestParser(self.adj)
            parser = self.parser
            taken = parser.received(data)
            data = data[taken:]
            if parser.completed:
                self.parser = None
                if not self.respond(parser):
                    return

    def respond(self, parser):
        """Write the response; False when the connection is to close."""
        if parser.error is not None:
            status, headers, body = parser.error.to_response()
            keep = False
        else:
            environ = {
                "REQUEST_METHOD": parser.command,
                "PATH_INFO": parser.path,
                "QUERY_STRING": parser.query,
                "SERVER_PROTOCOL": "HTTP/" + parser.version,
                "wsgi.url_scheme": parser.url_scheme,
                "wsgi.input": parser.get_body_stream(),
            }
            for key, value in parser.headers.items():
                if key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
                    environ[key] = value
                else:
                    environ["HTTP_" + key] = value
            response = webob.Request(environ).get_response(application)
            status, headers, body = response.status, response.headerlist, response.body
            keep = not parser.connection_close
            parser.close()
        head = "HTTP/1.1 %s\r\n" % status
        head += "".join("%s: %s\r\n" % pair for pair in headers)
        head += "Connection: %s\r\n\r\n" % ("keep-alive" if keep else "close")
        self.transport.write(head.encode("latin-1") + body)
        if not keep:
            self.transport.close()
        return keep


@pytest.fixture(scope="module")
def address():
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(ParserProtocol, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.sockets[0].getsockname()[:2]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


def test_get_and_post_over_one_connection(address):
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.request("GET", "/caf%C3%A9", headers={"X-Forwarded-For": "192.0.2.7"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == b"GET /caf\xc3\xa9 body= xff=192.0.2.7"
        conn.request("POST", "/form", body=b"a=1&b=2")
        response = conn.getresponse()
        assert response.read() == b"POST /form body=a=1&b=2 xff=-"
    finally:
        conn.close()


def test_a_chunked_upload(address):
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.request("PUT", "/up", body=iter([b"hello ", b"world"]), encode_chunked=True)
        response = conn.getresponse()
        assert response.read() == b"PUT /up body=hello world xff=-"
    finally:
        conn.close()


def exchange_raw(address, data):
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while True:
            piece = sock.recv(65536)
            if not piece:
                return received
            received += piece


def test_pipelined_requests_are_answered_in_order(address):
    data = (
        b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
        b"POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    )
    received = exchange_raw(address, data)
    assert received.count(b"HTTP/1.1 200 OK") == 3
    one, two, three = (received.index(b"GET /one"), received.index(b"/two body=abc"),
                       received.index(b"GET /three"))
    assert one < two < three


@pytest.mark.parametrize(
    "data, status",
    [
        (b"GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n", b"400 Bad Request"),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n", b"413 "),
        (b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", b"501 Not Implemented"),
    ],
)
def test_bad_requests_get_the_parsers_error(address, data, status):
    received = exchange_raw(address, data)
    assert received.startswith(b"HTTP/1.1 " + status)
    assert b"(generated by server)" in received  # to_response() without an ident, as in Waitress
