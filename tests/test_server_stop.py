"""Stopping: close() from another thread ends run(), shuts the listeners,
and lets a request already in the application finish (within a bounded wait).
"""

import os
import signal
import threading

import pytest
from fixtureapps import gate, hello
from server_support import (
    RawConnection,
    ThreadedServer,
    closing_in_background,
    get,
    listen_addresses,
    refuses_connections,
    request_held_in_flight,
    tcp_address,
    two_free_ports,
    wait_until,
)


def test_close_from_another_thread_ends_run_and_closes_the_listener():
    context = ThreadedServer(hello.app)
    server = context.__enter__()
    try:
        target = tcp_address(server)
        assert get(target, "/").status == 200
        assert context.stop(), "run() did not return after close()"
        assert context.run_error is None or isinstance(context.run_error, SystemExit)
        assert wait_until(lambda: refuses_connections(target), timeout=5), "still accepting after close()"
    finally:
        context.__exit__(None, None, None)


def test_close_of_a_multi_socket_server_closes_every_listener():
    context = ThreadedServer(hello.app, listen="127.0.0.1:%d 127.0.0.1:%d" % two_free_ports())
    server = context.__enter__()
    try:
        targets = listen_addresses(server)
        for target in targets:
            assert get(target, "/").status == 200
        assert context.stop()
        for target in targets:
            assert wait_until(lambda target=target: refuses_connections(target), timeout=5)
    finally:
        context.__exit__(None, None, None)


def test_close_lets_an_in_flight_request_finish(recorder):
    with request_held_in_flight() as (context, server, conn, opened):
        with closing_in_background(context.stop, tcp_address(server)):
            opened.set()
            response = conn.read_response()
            assert response.status == 200
            assert response.body == b"released"
        assert not context.thread.is_alive(), "run() did not return"


def test_close_does_not_wait_forever_for_a_stuck_request(recorder):
    """A request that never finishes must not keep close() from returning (bounded)."""
    context = ThreadedServer(gate.app, join_timeout=30)
    server = context.__enter__()
    try:
        conn = RawConnection(tcp_address(server))
        conn.request("GET", "/stuck")
        assert recorder.wait_for_kind("entered", timeout=10)
        closer = threading.Thread(target=server.close, daemon=True)
        closer.start()
        closer.join(gate.WAIT_LIMIT - 2)
        if closer.is_alive():
            pytest.fail("close() waited %s s for a stuck application" % (gate.WAIT_LIMIT - 2))
        conn.close()
    finally:
        gate.GATE.set()
        context.__exit__(None, None, None)


def test_idle_keep_alive_connections_do_not_delay_close():
    context = ThreadedServer(hello.app)
    server = context.__enter__()
    try:
        idle = RawConnection(tcp_address(server))
        idle.request("GET", "/")
        assert idle.read_response().status == 200
        assert context.stop(), "an idle keep-alive connection kept run() alive"
        assert idle.closed_by_server(timeout=10)
        idle.close()
    finally:
        context.__exit__(None, None, None)


def test_close_while_run_is_starting_in_another_thread():
    """close() may come just as run() begins on another thread (a test that
    starts a server and stops it at once): it must close, not raise, whatever
    run() has set so far."""
    from waitress import create_server

    server = create_server(hello.app, listen="127.0.0.1:0")
    starting = threading.Event()
    helper = threading.Thread(target=starting.wait, args=(10,), daemon=True)
    helper.start()
    try:
        server._loop_thread = helper  # run() has named its thread, nothing more
        server.close()
    finally:
        starting.set()
        helper.join(10)
    assert server.socket is None or server.socket.fileno() == -1


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGINT"),
    reason="signals reach the main thread only",
)
def test_ctrl_c_on_the_main_thread_drains_without_interrupting_the_loop_midway():
    """Raised wherever the loop happens to be, KeyboardInterrupt could land
    between a send and the note of what was sent (the drain would then send
    those bytes again).  The signal asks for the drain instead: the code it
    interrupted runs to its end, then the server stops."""
    from waitress.server import create_server

    server = create_server(hello.app, listen="127.0.0.1:0")
    steps = []

    def interrupted_midway():
        steps.append("begun")
        os.kill(os.getpid(), signal.SIGINT)  # handled on this thread, between two bytecodes
        for _ in range(1000):  # a few hundred checks for a pending signal
            pass
        steps.append("finished")

    def poke():
        assert wait_until(lambda: server._loop_thread is not None, timeout=10)
        server.trigger.pull_trigger(interrupted_midway)
        if not server._stopped.wait(10):  # never hang the session on a lost signal
            steps.append("not stopped by the signal")
            server.close()

    # Ctrl-C's own handler, whatever this process inherited: a background
    # job of a non-interactive shell starts with SIGINT ignored (POSIX), and
    # the server rightly leaves an ignored signal alone.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        poker = threading.Thread(target=poke, daemon=True)
        poker.start()
        server.run()  # on this, the main thread; returns once drained
        poker.join(10)
        assert steps == ["begun", "finished"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back
    finally:
        signal.signal(signal.SIGINT, inherited)
