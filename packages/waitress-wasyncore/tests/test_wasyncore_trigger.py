"""trigger: thunks from other threads run on the loop thread, in order, with one wake-up per batch."""

import logging
import socket
import threading

import pytest
from waitress_wasyncore import ExitNow, dispatcher, loop, trigger


def test_thunks_run_on_the_loop_thread_in_order(loop_thread):
    seen = []
    done = threading.Event()
    for index in range(100):
        loop_thread.trigger.pull_trigger(
            lambda index=index: seen.append((index, threading.current_thread().name))
        )
    loop_thread.trigger.pull_trigger(done.set)
    assert done.wait(10)
    assert [index for index, _ in seen] == list(range(100))
    assert {name for _, name in seen} == {"test-loop"}


def test_pulls_from_many_threads_all_run(loop_thread):
    counts = []
    lock = threading.Lock()
    per_thread = 200

    def record(tag, index):
        with lock:
            counts.append((tag, index))

    threads = []
    for tag in range(8):

        def produce(tag=tag):
            for index in range(per_thread):
                loop_thread.trigger.pull_trigger(lambda tag=tag, index=index: record(tag, index))

        threads.append(threading.Thread(target=produce))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    loop_thread.call(lambda: None)  # everything pulled before this has run
    assert len(counts) == 8 * per_thread
    for tag in range(8):
        assert [i for t, i in counts if t == tag] == list(range(per_thread))


def test_repeated_pulls_write_a_single_byte(smap):
    t = trigger(smap)
    ran = []
    for index in range(50):
        t.pull_trigger(lambda index=index: ran.append(index))
    assert len(t.socket.recv(100, socket.MSG_PEEK)) == 1
    loop(0.5, map=smap, count=1)
    assert ran == list(range(50))
    t.socket.setblocking(False)
    with pytest.raises(BlockingIOError):
        t.socket.recv(100, socket.MSG_PEEK)
    t.pull_trigger()
    assert len(t.socket.recv(100, socket.MSG_PEEK)) == 1, "a new batch wakes the loop again"


def test_a_failing_thunk_is_logged_and_the_others_run(smap, caplog):
    caplog.set_level(logging.ERROR, logger="waitress")
    t = trigger(smap)
    ran = []
    t.pull_trigger(lambda: ran.append(1))
    t.pull_trigger(lambda: 1 / 0)
    t.pull_trigger(lambda: ran.append(3))
    loop(0.5, map=smap, count=1)
    assert ran == [1, 3]
    assert len(caplog.records) == 1
    assert caplog.records[0].exc_info[0] is ZeroDivisionError
    assert smap[t._fileno] is t, "the trigger survives a failing thunk"


def test_exitnow_from_a_thunk_leaves_the_loop_and_keeps_the_rest(smap):
    t = trigger(smap)
    ran = []

    def stop():
        raise ExitNow()

    t.pull_trigger(lambda: ran.append("before"))
    t.pull_trigger(stop)
    t.pull_trigger(lambda: ran.append("after"))
    with pytest.raises(ExitNow):
        loop(0.5, map=smap)
    assert ran == ["before"]
    loop(0.5, map=smap, count=1)
    assert ran == ["before", "after"]


def test_close_is_safe_and_later_pulls_are_ignored(smap):
    t = trigger(smap)
    t.pull_trigger(lambda: None)
    t.close()
    t.close()
    t.pull_trigger(lambda: pytest.fail("must not run"))
    assert smap == {}


def test_closing_a_channel_from_another_thread_through_the_trigger(loop_thread):
    a, b = socket.socketpair()
    closed = threading.Event()

    class Channel(dispatcher):
        def handle_read(self):
            self.recv(100)

        def handle_close(self):
            self.close()
            closed.set()

    channel = loop_thread.call(lambda: Channel(a, map=loop_thread.map))

    def worker():
        loop_thread.trigger.pull_trigger(channel.handle_close)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert closed.wait(10)
    assert loop_thread.call(lambda: channel._fileno is None and a.fileno() == -1)
    b.settimeout(10)
    assert b.recv(10) == b"", "the peer sees the connection closed"
    b.close()


def test_a_trigger_whose_writer_vanished_closes_instead_of_spinning(smap):
    t = trigger(smap)
    t._writer.close()  # EOF on the reading end: readable forever if ignored
    loop(0.5, map=smap, count=3)
    assert smap == {}
    t.pull_trigger(lambda: None)  # after close: ignored, no error


def test_a_tcp_socket_pair_sends_each_wake_up_at_once(smap, monkeypatch):
    """Where socketpair() is TCP (Windows), Nagle's algorithm must not hold a
    wake-up byte behind the previous one's delayed ACK."""

    def tcp_pair():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            writer = socket.create_connection(listener.getsockname())
            reader, _ = listener.accept()
        return reader, writer

    monkeypatch.setattr(socket, "socketpair", tcp_pair)
    pulled = trigger(smap)
    try:
        assert pulled._writer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        pulled.close()
