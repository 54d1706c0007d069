"""The listener's accept(): a plain socket is accepted without socket.accept()'s
per-call costs, and the result is the socket socket.accept() would make."""

import os
import socket

import pytest
from waitress.server import _accept_function


def _listener(family, address):
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen()
    return listener


FAMILIES = [(socket.AF_INET, ("127.0.0.1", 0))]
if hasattr(socket, "AF_UNIX"):
    FAMILIES.append((socket.AF_UNIX, None))


@pytest.mark.parametrize("family, address", FAMILIES)
def test_a_plain_listener_accepts_what_socket_accept_would(family, address, tmp_path):
    if address is None:
        address = str(tmp_path / "s.sock")
    with _listener(family, address) as listener:
        accept = _accept_function(listener)
        assert accept != listener.accept
        fast = []
        for take in (accept, listener.accept):
            client = socket.socket(family, socket.SOCK_STREAM)
            client.connect(listener.getsockname())
            sock, addr = take()
            with client, sock:
                fast.append((sock.family, sock.type, sock.proto, type(sock), type(addr)))
                sock.sendall(b"x")
                assert client.recv(1) == b"x"
        assert fast[0] == fast[1]


def test_a_socket_subclass_keeps_its_own_accept():
    class Wrapped(socket.socket):
        pass

    with Wrapped(socket.AF_INET, socket.SOCK_STREAM) as listener:
        assert _accept_function(listener) == listener.accept


def test_a_socket_object_that_cannot_be_made_does_not_leak_its_descriptor():
    """A MemoryError making the socket object after accept(): the accepted
    descriptor is closed (a fault-injection audit found it leaked)."""
    made = []

    def fails_once(*args):
        if not made:
            made.append(args[-1])  # the accepted descriptor
            raise MemoryError
        return socket.socket(*args)

    with _listener(socket.AF_INET, ("127.0.0.1", 0)) as listener:
        accept = _accept_function(listener, fails_once)
        with socket.create_connection(listener.getsockname()) as client:
            with pytest.raises(MemoryError):
                accept()
            with pytest.raises(OSError):
                os.fstat(made[0])  # closed
            client.settimeout(10)
            assert client.recv(1) == b""  # the connection is gone, not stuck open
