"""More than 1024 connections at once: beyond select()'s FD_SETSIZE, every one is served."""

import socket

import pytest
from waitress_wasyncore import dispatcher

resource = pytest.importorskip("resource", reason="RLIMIT_NOFILE needs the resource module (POSIX)")

CONNECTIONS = 1100
# client and server ends live in this process, plus pytest's own descriptors
NEEDED_FDS = 2 * CONNECTIONS + 200


@pytest.fixture
def enough_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= NEEDED_FDS or soft == resource.RLIM_INFINITY:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < NEEDED_FDS:
        pytest.skip(
            "RLIMIT_NOFILE hard limit %d is below the %d descriptors needed" % (hard, NEEDED_FDS)
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (NEEDED_FDS, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Echo(dispatcher):
    def handle_read(self):
        data = self.recv(4096)
        if data:
            self.send(data)  # a byte always fits in an empty socket buffer

    def handle_close(self):
        self.close()


class Listener(dispatcher):
    def __init__(self, socket_map):
        super().__init__(map=socket_map)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(2048)
        self.port = self.socket.getsockname()[1]

    def handle_accepted(self, sock, addr):
        Echo(sock, map=self._map)


def test_more_than_1024_connections_are_all_served(enough_descriptors, loop_thread):
    listener = loop_thread.call(lambda: Listener(loop_thread.map))
    clients = []
    try:
        for _ in range(CONNECTIONS):
            clients.append(socket.create_connection(("127.0.0.1", listener.port), timeout=30))
        for index, client in enumerate(clients):
            client.sendall(bytes([index % 256]))
        for index, client in enumerate(clients):
            assert client.recv(1) == bytes([index % 256]), "connection %d got no echo" % index
        highest_fd = loop_thread.call(lambda: max(loop_thread.map))
        assert highest_fd >= 1024, "the test did not go past FD_SETSIZE"
        assert loop_thread.call(lambda: len(loop_thread.map)) >= CONNECTIONS + 2
    finally:
        for client in clients:
            client.close()
