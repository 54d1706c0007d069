"""How the idle sweep judges a request body that arrives slowly or stops.

Found unpinned by a mutation audit: each test names the check in the
server it guards.  The bounds only keep a broken server from hanging a
test; ``channel_timeout`` is 1 s and the sweep runs every second.
"""

import socket
import threading
import time

from server_support import (
    RawConnection,
    ThreadedServer,
    connect,
    open_channels,
    tcp_address,
    wait_until,
)

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


def _echo_length(environ, start_response):
    body = environ["wsgi.input"].read()
    answer = b"%d" % len(body)
    start_response("200 OK", [("Content-Length", str(len(answer)))])
    return [answer]


def _send_slowly(sock: socket.socket, pieces: int, size: int) -> bool:
    """``pieces`` pieces of ``size`` bytes, one every 100 ms; False once the server cut it."""
    pause = threading.Event()
    try:
        for _ in range(pieces):
            sock.sendall(b"s" * size)
            pause.wait(0.1)
    except OSError:
        return False
    return True


def test_a_body_arriving_at_three_times_the_minimum_rate_is_served():
    """channel.py MIN_BODY_RATE (500 bytes a second): 1,500 bytes a second
    for three times ``channel_timeout`` is a slow upload, and is served."""
    pieces, size = 60, 150
    with ThreadedServer(_echo_length, channel_timeout=2, cleanup_interval=1) as server:
        with RawConnection(tcp_address(server), timeout=20) as conn:
            conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (pieces * size))
            assert _send_slowly(conn.sock, pieces, size)
            response = conn.read_response()
    assert (response.status, response.body) == (200, b"%d" % (pieces * size))


def test_a_body_arriving_at_a_fifth_of_the_minimum_rate_is_swept():
    """channel.py MIN_BODY_RATE (500 bytes a second): 100 bytes a second is
    cut off once it is ``channel_timeout`` behind, though bytes keep coming."""
    with ThreadedServer(_echo_length, channel_timeout=2, cleanup_interval=1) as server:
        with connect(tcp_address(server), timeout=20) as client:
            client.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            # 15 s at most: the cut comes some 3 s in.
            assert not _send_slowly(client, 150, 10), "a body at 100 bytes a second was never cut"


def test_a_connection_s_idle_time_counts_from_the_last_byte_of_its_response():
    """output.py _send_locked: what a worker sends at once is activity, as
    what the loop sends is.  Otherwise a connection whose response took
    longer than ``channel_timeout`` to stream out (to a client reading as
    fast as it came) was idle, for the sweep, from its request on, and was
    closed under the client's next request."""
    sent_last = []

    def paced(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        pause = threading.Event()
        for index in range(3):
            pause.wait(0.2)
            if index == 2:
                sent_last.append(time.monotonic())
            yield b"piece %d\n" % index

    with ThreadedServer(paced, channel_timeout=30) as server:
        with RawConnection(tcp_address(server), timeout=20) as conn:
            conn.request("GET", "/")
            assert conn.read_response().body == b"piece 0\npiece 1\npiece 2\n"
            [channel] = open_channels(server)
            assert wait_until(lambda: not channel.busy)
            assert channel.last_output >= sent_last[0]
            assert channel.last_activity >= sent_last[0]
