"""Systems whose ``sendmsg`` takes few buffers (IOV_MAX is 16 on illumos
and AIX): every kind of response still goes out whole.

Past IOV_MAX buffers ``sendmsg`` fails (EMSGSIZE) instead of sending less,
and the server took that failure for a client gone: a response gathered
from more pieces than that was cut.  Here the accepted sockets refuse more
than ``LIMIT`` buffers, as such a system does, and the server is told the
limit, as it reads it there from ``sysconf``.
"""

import errno

import pytest
import waitress.output
import waitress_wasyncore.buffers
import waitress_wasyncore.output_queue
from fixtureapps import lengths, router, streaming
from server_support import (
    SocketStandIn,
    ThreadedServer,
    assert_served_whole_twice,
    channel_with_socket,
)

LIMIT = 4


class _FewBuffersSocket(SocketStandIn):
    """An accepted socket whose ``sendmsg`` refuses more than LIMIT buffers."""

    def sendmsg(self, buffers, *args):
        buffers = list(buffers)
        if len(buffers) > LIMIT:
            raise OSError(errno.EMSGSIZE, "Message too long")
        return self._sock.sendmsg(buffers, *args)


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(waitress.output, "IOV_MAX", LIMIT, raising=False)
    monkeypatch.setattr(waitress_wasyncore.output_queue, "SENDMSG_MAX_BUFFERS", LIMIT)
    with ThreadedServer(router.app) as server:
        server.channel_class = channel_with_socket(_FewBuffersSocket)
        yield server


@pytest.mark.parametrize(
    "path, expected",
    [
        # A length and many small pieces: sent in one write, many buffers.
        ("/lengths/large?size=300000&chunk=1000", lengths.large_body(300000)),
        # Chunked: each piece framed, gathered by the hundred.
        ("/stream/?n=300&size=1000", streaming.expected_body(300, 1000)),
    ],
    ids=["length", "chunked"],
)
def test_responses_of_many_pieces_go_out_whole(server, path, expected):
    assert_served_whole_twice(server, path, expected)


def test_iov_max_is_read_from_the_system():
    limit = waitress_wasyncore.buffers.IOV_MAX
    assert limit >= 16
    assert waitress_wasyncore.output_queue.SENDMSG_MAX_BUFFERS <= limit
