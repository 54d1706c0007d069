"""Where the server stops taking a client's bytes, and where a worker waits for one.

Found unpinned by a mutation audit: each test names the check in the
server it guards and fails when that check's constant, comparison or call
is changed.  Where the behaviour has no other observable, a test looks at
the channel's state; its docstring says the behaviour.
"""

import socket
import threading
import types

import pytest
import waitress.connection_slots
import waitress.output
from fixtureapps import gate
from server_support import (
    RawConnection,
    ThreadedServer,
    connect,
    open_channels,
    read_until_closed,
    tcp_address,
    wait_until,
)
from waitress.channel import HTTPChannel

MIB = 1024 * 1024


def _only_channel(server) -> HTTPChannel:
    assert wait_until(lambda: open_channels(server))
    [channel] = open_channels(server)
    return channel


def _requests_of_exactly(size: int) -> bytes:
    """Pipelined GETs, ``size`` bytes in all (the last padded with a header)."""
    plain = b"GET /pipelined HTTP/1.1\r\nHost: x\r\n\r\n"
    shortest_padded = len(plain) + len(b"X-Pad: \r\n")
    count = (size - shortest_padded) // len(plain)
    last_size = size - count * len(plain)
    pad = last_size - shortest_padded
    last = b"GET /pipelined HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * pad + b"\r\n\r\n"
    data = plain * count + last
    assert len(data) == size
    return data


# -- channel.py _parse_locked: the pipelining pause -----------------------------


@pytest.mark.parametrize("over, paused", [(0, True), (-1, False)], ids=["at-four-reads", "one-byte-less"])
def test_pipelined_input_pauses_reading_at_four_reads_of_unparsed_bytes(recorder, over, paused):
    """A connection whose worker is busy buffers what the client pipelines
    behind, unparsed, up to four reads' worth (``recv_bytes * 4``): from
    that many bytes on it stops reading (the rest waits in the kernel), one
    byte less and it reads on.  The requests are served all the same."""
    with ThreadedServer(gate.app) as server, gate.released():
        limit = server.adj.recv_bytes * 4
        with RawConnection(tcp_address(server), timeout=30) as conn:
            conn.send(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
            assert recorder.wait_for_kind("entered", timeout=10)
            channel = _only_channel(server)
            pipelined = _requests_of_exactly(limit + over)
            conn.send(pipelined)
            assert wait_until(lambda: channel.parser.buffered == len(pipelined)), channel.parser.buffered
            assert channel.reading_paused is paused
            expected = 1 + pipelined.count(b"GET ")
            gate.GATE.set()
            bodies = [conn.read_response().body for _ in range(expected)]
    assert bodies == [b"released"] * expected


# -- channel.py MAX_DISCARDED: how much of a refused body is read ---------------


class _CountingDiscards(HTTPChannel):
    """Notes, as it closes, how many bytes it read and threw away."""

    closed_with = []

    def handle_close(self) -> None:
        if not self.closed:
            type(self).closed_with.append(self.discarded)
        super().handle_close()


def test_the_rest_of_a_body_answered_413_is_read_up_to_64_mib_then_the_connection_closes(monkeypatch):
    """After a 413 the server reads and throws away what the client still
    sends (so that the client can finish sending and read the answer), but
    64 MiB at most: past that it closes at once, though the linger (made
    long here) has not run out.  The count at the close is just past
    64 MiB, by less than one large read (256 KiB)."""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 60.0)
    monkeypatch.setattr(waitress.connection_slots, "LINGER_MAX_SECONDS", 60.0)
    budget = 100 * MIB  # more than 64 MiB plus every buffer the kernels hold
    _CountingDiscards.closed_with = []
    with ThreadedServer(gate.app, max_request_body_size=1000) as server:
        server.channel_class = _CountingDiscards
        client = connect(tcp_address(server), timeout=30)
        with client:
            client.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (budget * 2))
            outcome = {}

            def send_until_refused():
                sent = 0
                chunk = b"x" * (1 << 20)
                try:
                    while sent < budget:
                        sent += client.send(chunk)
                    client.shutdown(socket.SHUT_WR)  # all of it went: the server never stopped reading
                except OSError:
                    pass
                outcome["sent"] = sent

            sender = threading.Thread(target=send_until_refused, daemon=True)
            sender.start()
            received, _ = read_until_closed(client)
            sender.join(30)
            assert not sender.is_alive()
        assert wait_until(lambda: _CountingDiscards.closed_with, timeout=10)
    assert received.startswith(b"HTTP/1.1 413 ")
    assert outcome["sent"] < budget, "the server read all %d bytes" % outcome["sent"]
    [discarded] = _CountingDiscards.closed_with
    assert 64 * MIB < discarded <= 64 * MIB + 256 * 1024


# -- output.py _flush_locked: waking the workers at the watermark ---------------


class _NotedCondition(threading.Condition):
    """A Condition that notes, for each wait, whether a notify ended it."""

    def __init__(self, lock, notes):
        super().__init__(lock)
        self._notes = notes

    def wait(self, timeout=None):
        woken = super().wait(timeout)
        self._notes.append(woken)
        return woken


def test_a_worker_held_at_the_output_watermark_is_woken_when_the_client_reads(monkeypatch):
    """A worker that waits because more than ``outbuf_high_watermark`` bytes
    are queued is woken by the send that empties the queue, not left to
    find out at its next periodic look (once a second)."""
    waits = []
    monkeypatch.setattr(
        waitress.output, "threading", types.SimpleNamespace(Condition=lambda lock: _NotedCondition(lock, waits))
    )
    body = b"b" * (16 * MIB)

    def large(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    with ThreadedServer(large, outbuf_high_watermark=65536) as server:
        with RawConnection(tcp_address(server), timeout=30, receive_buffer=65536) as conn:
            conn.request("GET", "/")
            assert conn.read_response().body == body
            # The connection stays open until the worker is done with it
            # (the second response): its close would wake the worker too.
            conn.request("GET", "/")
            assert conn.read_response().body == body
    assert waits, "the worker never waited: the test did not reach the watermark"
    assert any(waits), "every wait at the watermark ran to its timeout"


# -- output.py write_later: how much a worker gathers before sending ------------


class _NotingGathered(HTTPChannel):
    """Notes the pieces and bytes of each batch gathered, as it is taken."""

    batches = []

    def _take_gathered_locked(self):
        if self.gathered is not None:
            type(self).batches.append((len(self.gathered), self.gathered_size))
        return super()._take_gathered_locked()


@pytest.mark.parametrize("pieces, size", [(5000, 10), (40, 100_000)], ids=["many-small", "few-large"])
def test_a_streamed_body_is_sent_by_128_pieces_or_256_kib_at_most(pieces, size):
    """What an application streams is gathered to go out in one send, but
    no more than 128 pieces (one ``sendmsg``'s worth, however fast they come)
    nor 256 KiB (memory held outside the output queue, which the watermark
    does not see)."""
    piece = b"g" * size

    def streaming(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        for _ in range(pieces):
            yield piece

    _NotingGathered.batches = []
    with ThreadedServer(streaming) as server:
        server.channel_class = _NotingGathered
        with RawConnection(tcp_address(server), timeout=30) as conn:
            conn.request("GET", "/")
            assert conn.read_response().body == piece * pieces
    batches = _NotingGathered.batches
    assert batches and sum(count for count, _ in batches) >= pieces
    assert max(count for count, _ in batches) <= 128
    assert max(total for _, total in batches) < 256 * 1024 + size
