"""Fixtures shared by the waitress-wasyncore tests: a private socket map and a loop thread."""

import socket
import threading
import time
from typing import Any, Callable

import pytest
from waitress_wasyncore import close_all, loop, trigger


class LoopThread:
    """Runs ``loop()`` over one map in a daemon thread until ``stop()``.

    ``call(fn)`` runs ``fn`` on the loop thread (through a trigger) and
    returns its result, so tests create and inspect dispatchers where the
    loop owns them.
    """

    def __init__(self, socket_map: dict) -> None:
        self.map = socket_map
        self.trigger = trigger(socket_map)
        self.error = None
        self._stopping = False
        self.thread = threading.Thread(target=self._run, name="test-loop", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stopping and self.map:
                loop(0.5, map=self.map, count=1)
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def start(self) -> "LoopThread":
        self.thread.start()
        return self

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        done = threading.Event()
        box = {}

        def thunk():
            try:
                box["value"] = fn()
            except BaseException as exc:
                box["error"] = exc
            finally:
                done.set()

        self.trigger.pull_trigger(thunk)
        assert done.wait(timeout), "the loop thread did not run the call"
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def wait_for(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """``call(fn)`` until it returns something true, or ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.call(fn)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.005)

    def stop(self) -> None:
        self._stopping = True
        self.trigger.pull_trigger()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the loop thread did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def smap():
    """A fresh plain-dict socket map, emptied (and its sockets closed) afterwards."""
    socket_map = {}
    yield socket_map
    close_all(socket_map, ignore_all=True)


@pytest.fixture
def loop_thread(smap):
    runner = LoopThread(smap).start()
    yield runner
    runner.stop()


@pytest.fixture
def pair():
    """A connected socket pair, closed afterwards."""
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def tcp_connection():
    """A TCP connection on 127.0.0.1: (client, the accepted socket), closed afterwards."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname(), timeout=10)
    accepted, _ = listener.accept()
    listener.close()
    yield client, accepted
    client.close()
    accepted.close()
