"""loop(), poll(), close_all() and the reactor's robustness: stale events, broken fds, failing handlers."""

import inspect
import logging
import selectors
import socket
import threading

import pytest
import waitress_wasyncore
from waitress_wasyncore import ExitNow, SocketMap, close_all, dispatcher, loop, poll
from waitress_wasyncore.reactor import existing_reactor, reactor_for

SELECTORS = [selectors.DefaultSelector, selectors.SelectSelector]
if hasattr(selectors, "PollSelector"):
    SELECTORS.append(selectors.PollSelector)


class Reader(dispatcher):
    def __init__(self, sock=None, map=None, on_read=None):
        self.reads = 0
        self.received = bytearray()
        self.closes = 0
        self.on_read = on_read
        super().__init__(sock, map)

    def handle_read(self):
        self.reads += 1
        self.received += self.recv(65536)
        if self.on_read is not None:
            self.on_read(self)

    def handle_close(self):
        self.closes += 1
        self.close()


@pytest.fixture(params=SELECTORS, ids=lambda f: f.__name__)
def any_smap(request):
    """A socket map on each selector: on Linux the default one is read through
    the reactor's epoll fast path, the others through ``select()``."""
    socket_map = SocketMap(selector_factory=request.param)
    yield socket_map
    close_all(socket_map, ignore_all=True)


def make_pairs(count):
    pairs = [socket.socketpair() for _ in range(count)]
    return pairs


def close_pairs(pairs):
    for a, b in pairs:
        a.close()
        b.close()


def test_loop_signature_matches_asyncore():
    params = list(inspect.signature(loop).parameters.values())
    assert [p.name for p in params] == ["timeout", "use_poll", "map", "count"]
    assert [p.default for p in params] == [30.0, False, None, None]


def test_loop_with_positional_timeout_returns_when_the_map_empties(smap, pair):
    a, b = pair
    d = Reader(a, map=smap, on_read=lambda self: self.close())
    b.sendall(b"bye")
    loop(0.5, map=smap)  # as WebTest calls it
    assert d.reads == 1
    assert smap == {}


def test_count_bounds_the_iterations(smap, pair):
    class Counting(Reader):
        asked = 0

        def readable(self):
            self.asked += 1
            return True

    a, _ = pair
    d = Counting(a, map=smap)
    loop(0.001, map=smap, count=4)
    assert d.asked == 4


def test_poll_runs_one_iteration(smap, pair):
    a, b = pair
    d = Reader(a, map=smap)
    b.sendall(b"one")
    poll(1.0, smap)
    assert bytes(d.received) == b"one"
    assert waitress_wasyncore.poll2 is poll and waitress_wasyncore.poll3 is poll


@pytest.mark.parametrize("factory", SELECTORS, ids=lambda f: f.__name__)
def test_every_selector_serves_many_dispatchers(factory):
    socket_map = SocketMap(selector_factory=factory)
    pairs = make_pairs(20)
    try:
        readers = [Reader(a, map=socket_map) for a, _ in pairs]
        for index, (_, b) in enumerate(pairs):
            b.sendall(b"%d" % index)
        loop(0.05, map=socket_map, count=5)
        assert [bytes(r.received) for r in readers] == [b"%d" % i for i in range(20)]
        assert isinstance(reactor_for(socket_map)._selector, factory)
    finally:
        close_all(socket_map)
        close_pairs(pairs)
    assert socket_map._reactor is None


def test_webtest_style_shutdown_from_another_thread(smap):
    """WebTest runs loop(0.5, map=m) in a thread and empties the map with handle_close()."""
    pairs = make_pairs(5)
    try:
        readers = [Reader(a, map=smap) for a, _ in pairs]
        thread = threading.Thread(target=loop, args=(0.5,), kwargs={"map": smap}, daemon=True)
        thread.start()
        while smap:
            for d in list(smap.values()):
                d.handle_close()
        thread.join(10)
        assert not thread.is_alive()
        assert all(r.closes == 1 for r in readers)
        assert existing_reactor(smap) is None
    finally:
        close_pairs(pairs)


def test_deleting_a_map_entry_directly_stops_its_events(any_smap, pair):
    a, b = pair
    keeper_a, keeper_b = socket.socketpair()
    try:
        keeper = Reader(keeper_a, map=any_smap)
        d = Reader(a, map=any_smap)
        del any_smap[a.fileno()]
        b.sendall(b"unwanted")
        keeper_b.sendall(b"wanted")
        loop(0.01, map=any_smap, count=5)
        assert d.reads == 0
        assert bytes(keeper.received) == b"wanted"
        assert a.fileno() not in reactor_for(any_smap)._selected
    finally:
        keeper_a.close()
        keeper_b.close()


def test_replacing_a_map_entry_directly_delivers_to_the_new_object(any_smap, pair):
    a, b = pair
    first = Reader(a, map=any_smap)
    second = Reader(map=any_smap)
    second.socket = a
    second._fileno = a.fileno()
    second.connected = True
    any_smap[a.fileno()] = second
    b.sendall(b"for the second")
    loop(0.01, map=any_smap, count=3)
    assert first.reads == 0
    assert bytes(second.received) == b"for the second"


def test_a_dispatcher_closed_earlier_in_the_same_batch_gets_no_event(any_smap):
    pairs = make_pairs(2)
    try:
        readers = []

        def close_the_other(self):
            for other in readers:
                if other is not self:
                    other.close()

        readers.extend(Reader(a, map=any_smap, on_read=close_the_other) for a, _ in pairs)
        for _, b in pairs:
            b.sendall(b"both ready")
        poll(1.0, any_smap)
        assert sorted(r.reads for r in readers) == [0, 1]
    finally:
        close_pairs(pairs)


def test_a_reused_fd_in_the_same_batch_is_not_confused(any_smap):
    """Closing B and opening a new socket that gets B's fd number: B's pending event is dropped."""
    pairs = make_pairs(2)
    spare = []
    try:
        readers = []
        newcomers = []

        def replace_the_other(self):
            for other in readers:
                if other is not self and other._fileno is not None:
                    old_fd = other._fileno
                    other.close()
                    x, y = socket.socketpair()
                    spare.extend((x, y))
                    newcomers.append((old_fd, Reader(x, map=any_smap)))

        readers.extend(Reader(a, map=any_smap, on_read=replace_the_other) for a, _ in pairs)
        for _, b in pairs:
            b.sendall(b"ready")
        poll(1.0, any_smap)
        assert sorted(r.reads for r in readers) == [0, 1]
        assert len(newcomers) == 1
        assert newcomers[0][1]._fileno == newcomers[0][0], "the new socket did not reuse the fd"
        assert newcomers[0][1].reads == 0, "the stale event went to the newcomer"
        poll(0.01, any_smap)
        assert newcomers[0][1].reads == 0
    finally:
        close_pairs(pairs)
        for s in spare:
            s.close()


@pytest.mark.skipif(not hasattr(selectors, "EpollSelector"), reason="epoll is Linux only")
def test_the_default_selector_is_read_through_the_epoll_fast_path():
    """If a Python release renames what the fast path reads, this says so
    (the reactor would silently fall back to the slower select())."""
    socket_map = SocketMap()
    reactor = reactor_for(socket_map)
    try:
        assert type(reactor._selector) is selectors.EpollSelector
        assert reactor._keys is not None
    finally:
        reactor.close()


def test_a_raising_handler_is_logged_and_closed_alone(smap, caplog):
    caplog.set_level(logging.DEBUG, logger="waitress")
    pairs = make_pairs(2)
    try:

        def explode(self):
            raise ZeroDivisionError("handler bug")

        bad = Reader(pairs[0][0], map=smap, on_read=explode)
        good = Reader(pairs[1][0], map=smap)
        for _, b in pairs:
            b.sendall(b"x")
        loop(0.05, map=smap, count=3)
        assert bad._fileno is None and bad.closes == 1
        assert bytes(good.received) == b"x" and good.closes == 0
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert errors[0].exc_info[0] is ZeroDivisionError
        pairs[1][1].sendall(b"y")
        loop(0.05, map=smap, count=2)
        assert bytes(good.received) == b"xy"
    finally:
        close_pairs(pairs)


def test_a_raising_handle_error_still_closes_the_dispatcher(smap, pair, caplog):
    class Hopeless(Reader):
        def handle_read(self):
            raise RuntimeError("first")

        def handle_error(self):
            raise RuntimeError("second")

    a, b = pair
    d = Hopeless(a, map=smap)
    b.sendall(b"x")
    loop(0.05, map=smap, count=3)
    assert d._fileno is None
    assert smap == {}
    assert any("handle_error" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("exc_type", [ExitNow, KeyboardInterrupt, SystemExit])
def test_exit_exceptions_leave_the_loop(smap, pair, exc_type):
    def leave(self):
        raise exc_type()

    a, b = pair
    d = Reader(a, map=smap, on_read=leave)
    b.sendall(b"x")
    with pytest.raises(exc_type):
        loop(1.0, map=smap)
    assert smap[a.fileno()] is d, "the dispatcher is left as it was"


@pytest.mark.skipif(
    selectors.DefaultSelector is selectors.SelectSelector, reason="select() reports no error per descriptor"
)
def test_a_socket_closed_behind_our_back_is_dropped_on_modify(smap, pair):
    a, _ = pair
    d = Reader(a, map=smap)
    fd = a.fileno()
    a.close()  # not d.close(): the loop does not know
    d.set_interest(True, True)
    assert fd not in smap
    assert d.closes == 1


def test_select_selector_drops_a_closed_fd_instead_of_spinning(pair):
    socket_map = SocketMap(selector_factory=selectors.SelectSelector)
    keeper_a, keeper_b = socket.socketpair()
    try:
        keeper = Reader(keeper_a, map=socket_map)
        a, _ = pair
        d = Reader(a, map=socket_map)
        a.close()  # select() now fails with EBADF for the whole set
        keeper_b.sendall(b"alive")
        loop(0.05, map=socket_map, count=3)
        assert d.closes == 1
        assert bytes(keeper.received) == b"alive"
    finally:
        close_all(socket_map)
        keeper_a.close()
        keeper_b.close()


def test_closing_from_a_handler(smap, pair):
    a, b = pair
    d = Reader(a, map=smap, on_read=lambda self: self.handle_close())
    b.sendall(b"x")
    loop(0.05, map=smap, count=2)
    assert d.closes == 1 and smap == {}


def test_close_all_closes_everything_and_releases_the_reactor(smap):
    pairs = make_pairs(3)
    try:
        readers = [Reader(a, map=smap) for a, _ in pairs]
        waitress_wasyncore.call_later(100, lambda: None, map=smap)
        close_all(smap)
        assert smap == {}
        assert all(r.socket.fileno() == -1 for r in readers)
        assert existing_reactor(smap) is None
    finally:
        close_pairs(pairs)


def test_close_all_reports_errors_unless_told_not_to(smap, pair):
    class Stubborn(Reader):
        def close(self):
            super().close()
            raise RuntimeError("close failed")

    Stubborn(pair[0], map=smap)
    with pytest.raises(RuntimeError):
        close_all(smap)
    assert smap == {}
    Stubborn(pair[1], map=smap)
    close_all(smap, ignore_all=True)
    assert smap == {}


def test_a_plain_map_reactor_is_released_when_empty(pair):
    socket_map = {}
    d = Reader(pair[0], map=socket_map)
    reactor = existing_reactor(socket_map)
    assert reactor is not None and not reactor.closed
    d.close()
    assert existing_reactor(socket_map) is None
    assert reactor.closed


def test_entries_put_in_the_map_directly_are_adopted(smap, pair):
    a, b = pair
    d = Reader(map={})
    d.socket = a
    d._fileno = a.fileno()
    d.connected = True
    smap[a.fileno()] = d  # no add_channel
    b.sendall(b"adopted")
    loop(0.05, map=smap, count=2)
    assert bytes(d.received) == b"adopted"


def test_foreign_objects_in_the_map_are_left_alone(smap, pair):
    a, b = pair
    d = Reader(a, map=smap)
    smap[10**6] = object()  # not a dispatcher: never dispatched to
    b.sendall(b"ok")
    loop(0.01, map=smap, count=2)
    assert bytes(d.received) == b"ok"
    del smap[10**6]


def test_a_handler_hitting_a_reset_closes_without_an_error_log(smap, pair, caplog):
    caplog.set_level(logging.DEBUG, logger="waitress")

    def reset(self):
        raise ConnectionResetError(104, "reset by peer")

    a, b = pair
    d = Reader(a, map=smap, on_read=reset)
    b.sendall(b"x")
    loop(0.05, map=smap, count=2)
    assert d.closes == 1 and smap == {}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_selector_sees_every_registration_change(any_smap):
    """Registrations written past the selector (the epoll fast path) leave
    it in the state its own register/modify/unregister would have: the
    same keys, and the OS-level poller watching the same bits."""
    a, b = socket.socketpair()
    try:
        Reader(b, map=any_smap)  # keeps the reactor (and its selector) open
        reader = Reader(a, map=any_smap)
        selector = reactor_for(any_smap)._selector
        fd = reader._fileno
        key = selector.get_key(fd)
        assert (key.fd, key.events, key.data) == (fd, selectors.EVENT_READ, reader)
        reader.set_interest(True, True)
        key = selector.get_key(fd)
        assert (key.events, key.data) == (selectors.EVENT_READ | selectors.EVENT_WRITE, reader)
        assert [(k.fd, mask) for k, mask in selector.select(0)] == [(fd, selectors.EVENT_WRITE)]
        b.send(b"x")
        assert [(k.fd, mask) for k, mask in selector.select(0)] == [
            (fd, selectors.EVENT_READ | selectors.EVENT_WRITE)
        ]
        reader.set_interest(False, False)
        with pytest.raises(KeyError):
            selector.get_key(fd)
        assert selector.select(0) == []
        reader.set_interest(True, False)
        assert selector.get_key(fd).events == selectors.EVENT_READ
        reader.close()
        with pytest.raises(KeyError):
            selector.get_key(fd)
    finally:
        a.close()
        b.close()


def test_max_sockets_is_only_windows_selects(monkeypatch):
    """Windows' select() takes 512 sockets; epoll, kqueue and poll no fixed count."""
    from waitress_wasyncore import max_sockets
    from waitress_wasyncore import reactor as reactor_module

    assert max_sockets(SocketMap()) is None
    monkeypatch.setattr(reactor_module, "SELECT_CAPACITY", 512)  # as on Windows
    assert max_sockets(SocketMap(selector_factory=selectors.SelectSelector)) == 512
    if hasattr(selectors, "PollSelector"):
        assert max_sockets(SocketMap(selector_factory=selectors.PollSelector)) is None
