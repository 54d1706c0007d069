"""How the idle sweep judges a request body that arrives slowly or stops.

Found unpinned by a mutation audit: each test names the check in the
server it guards.  The bounds only keep a broken server from hanging a
test; ``channel_timeout`` is 1 s and the sweep runs every second.
"""

import socket

from server_support import ThreadedServer, connect, tcp_address

MIB = 1024 * 1024


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server ends ``sock`` (EOF, reset, or an answer then EOF) in time."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return True


def test_a_body_that_stops_halfway_is_swept_however_fast_its_first_half_came():
    """channel.py handle_read: a body's bytes earn the connection time
    (1 s per 500 bytes), but never past the present.  Uncapped, the first
    10 MiB of a body sent at once would earn hours, and a client stopping
    there would hold its connection and slot for as long."""
    def app(environ, start_response):  # never reached: the body never ends
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    with ThreadedServer(app, channel_timeout=1, cleanup_interval=1) as server:
        with connect(tcp_address(server), timeout=20) as client:
            client.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (20 * MIB))
            client.sendall(b"h" * (10 * MIB))
            assert _closed_within(client, 15), "the stalled upload was never swept"
