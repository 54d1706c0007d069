"""CVE-2022-31015: many clients ask for a large streamed response and abort
mid-stream with an RST.  The server process must survive, answer a health
request, and free every descriptor (temporary spill files included).
"""

import select
import sys

import pytest
from fixtureapps.recorder import RECORD_PATH_VARIABLE, read_record_file
from server_support import RawConnection, SubprocessServer, get, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CLIENTS = 12
ROUNDS = 2


def _abort_each_once_its_response_starts(conns):
    """Reset every client as soon as its response begins.

    Only ``threads`` responses stream at once; the others start when a
    worker is freed by an earlier abort, so wait for them in turn.
    """
    waiting = list(conns)
    while waiting:
        ready, _, _ = select.select([c.sock for c in waiting], [], [], 15)
        assert ready, "%d responses never started after the others aborted" % len(waiting)
        for conn in [c for c in waiting if c.sock in ready]:
            conn.sock.recv(32768)
            conn.reset_close()
            waiting.remove(conn)


@pytest.mark.parametrize(
    "path", ["/stream/?n=800&size=65536", "/lengths/large?size=52428800&chunk=65536"]
)
def test_clients_aborting_large_responses_do_not_hurt_the_server(path):
    with SubprocessServer("fixtureapps.router:app", threads=4, outbuf_overflow=65536) as proc:
        assert get(proc.address, "/hello/warmup").status == 200
        baseline = proc.settled_fd_count()
        for _ in range(ROUNDS):
            conns = [RawConnection(proc.address) for _ in range(CLIENTS)]
            try:
                for conn in conns:
                    conn.request("GET", path)
                _abort_each_once_its_response_starts(conns)
            finally:
                for conn in conns:
                    conn.reset_close()
            health = get(proc.address, "/hello/health")
            assert health.status == 200
            assert proc.alive()
        count = proc.wait_fd_count_at_most(baseline, timeout=10)
        assert count <= baseline, "descriptors leaked: %d > %d\n%s" % (
            count,
            baseline,
            "\n".join(proc.descriptors()),
        )
        spent = proc.cpu_seconds_during(2.0)
        assert spent < 0.5, "the idle server used %.2f s of CPU in 2 s" % spent
        assert get(proc.address, "/hello/final").status == 200


def test_every_aborted_response_has_its_iterator_closed(tmp_path):
    """PEP 3333: close() is called even when the client resets mid-stream."""
    record = str(tmp_path / "notes.jsonl")
    with SubprocessServer(
        "fixtureapps.router:app", threads=4, env={RECORD_PATH_VARIABLE: record}
    ) as proc:
        conns = [RawConnection(proc.address) for _ in range(CLIENTS)]
        try:
            for index, conn in enumerate(conns):
                conn.request("GET", "/closing/stream?n=100000&size=65536&tag=c%d" % index)
            _abort_each_once_its_response_starts(conns)
        finally:
            for conn in conns:
                conn.reset_close()

        def closed_tags():
            return sorted(v for k, v in read_record_file(record) if k == "closed")

        expected = sorted("c%d" % index for index in range(CLIENTS))
        assert wait_until(lambda: closed_tags() == expected, timeout=15), closed_tags()
        assert get(proc.address, "/hello/").status == 200
