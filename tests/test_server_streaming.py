"""Streamed bodies: gathered into few sends, yet never held back from the client.

The server gathers the small pieces of a streamed body (``write_later``) and
flushes them itself shortly after the first one, so a stream of events
reaches the client while the application waits for the next one.
"""

import socket
import threading

from server_support import ThreadedServer, tcp_address

FIRST = b"event: first\n\n"
SECOND = b"event: second\n\n"


def test_a_paused_stream_delivers_what_it_yielded_before_the_pause():
    first_seen = threading.Event()

    def events(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def body():
            yield FIRST
            # Only the client seeing FIRST lets the app go on: if the server
            # held FIRST back until the body ended, this would never happen.
            first_seen.wait(10)
            yield SECOND

        return body()

    with ThreadedServer(events) as server:
        with socket.create_connection(tcp_address(server), timeout=10) as client:
            client.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
            received = b""
            while FIRST not in received:
                data = client.recv(65536)
                assert data, "connection closed before the first event"
                received += data
            assert SECOND not in received
            first_seen.set()
            while not received.endswith(b"0\r\n\r\n"):
                data = client.recv(65536)
                assert data, "connection closed before the end of the stream"
                received += data
    assert b"Transfer-Encoding: chunked" in received
    assert received.index(FIRST) < received.index(SECOND)


def test_many_small_pieces_arrive_whole_and_in_order():
    pieces = [b"%05d," % i for i in range(3000)]

    def many(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter(pieces)

    with ThreadedServer(many) as server:
        with socket.create_connection(tcp_address(server), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            received = b""
            while not received.endswith(b"0\r\n\r\n"):
                data = client.recv(65536)
                assert data
                received += data
    head, _, body = received.partition(b"\r\n\r\n")
    decoded = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            break
        decoded += body[:size]
        body = body[size + 2 :]
    assert decoded == b"".join(pieces)
