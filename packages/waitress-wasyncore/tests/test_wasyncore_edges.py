"""Edges of the event loop that a mutation audit found unpinned.

Each test names what a caller of waitress-wasyncore would see go wrong;
they run over socket pairs, without a loop thread unless one is needed.
"""

import errno
import gc
import io
import os
import select
import selectors
import socket
import struct
import subprocess
import sys
import weakref

import pytest
import waitress_wasyncore
from waitress_wasyncore import (
    ExitNow,
    call_later,
    close_all,
    dispatcher,
    dispatcher_with_send,
    loop,
    readwrite,
    trigger,
)
from waitress_wasyncore.buffers import (
    BodySpool,
    OutputBuffer,
    ReadOnlyFileBasedBuffer,
    TruncatedFileError,
)
from waitress_wasyncore.reactor import SocketMap, existing_reactor
from waitress_wasyncore.timers import TimerQueue


def read_exactly(sock, size):
    sock.settimeout(10)
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def pump(out, sender, receiver, size):
    """Send ``out`` and read it back until ``size`` bytes arrived (bounded)."""
    received = bytearray()
    receiver.settimeout(10)
    for _ in range(10000):
        out.send_to(sender)
        if len(received) >= size:
            break
        received += receiver.recv(1 << 20)
    return bytes(received)


# -- OutputBuffer ------------------------------------------------------------


def test_small_appends_after_a_complete_send_are_sent_too(pair):
    """A connection sends a small response, then a second one on the same
    buffer (keep-alive): the second must reach the peer, not be appended to
    the already-sent, dropped coalescing buffer and lost."""
    sender, receiver = pair
    sender.setblocking(False)
    out = OutputBuffer(overflow=1 << 20)
    out.append(b"first response")
    assert out.send_to(sender) == len(b"first response")
    assert read_exactly(receiver, 14) == b"first response"
    out.append(b"second")
    out.append(b" response")
    assert out.send_to(sender) == len(b"second response")
    assert len(out) == 0
    assert read_exactly(receiver, 15) == b"second response"


def test_a_large_two_dimensional_byte_view_is_sent_whole(pair):
    """A view of bytes shaped as rows (``cast("B", (rows, cols))``) is
    queued without a copy; it must still be counted and consumed in bytes,
    not in rows, or the send after the first loses its place."""
    sender, receiver = pair
    sender.setblocking(False)
    payload = bytes(range(200)) * 100
    out = OutputBuffer(overflow=1 << 20)
    out.append(memoryview(payload).cast("B", (100, 200)))
    out.append(b"tail")
    assert len(out) == len(payload) + 4
    received = pump(out, sender, receiver, len(payload) + 4)
    assert received == payload + b"tail"
    assert len(out) == 0


def test_the_owner_hears_only_when_the_last_of_two_files_is_sent(pair, tmp_path):
    """An application returned two files' worth of body: the owner must not
    release them (PEP 3333 close()) while the second still goes out."""
    sender, receiver = pair
    sender.setblocking(False)
    files = []
    out = OutputBuffer(overflow=1 << 20)
    for name, content in (("one", b"1" * 100), ("two", b"2" * 200)):
        path = tmp_path / name
        path.write_bytes(content)
        files.append(open(path, "rb"))
        assert out.append_file(ReadOnlyFileBasedBuffer(files[-1]), len(content))
    heard = []
    assert out.call_when_files_sent(lambda: heard.append((len(out), out.files)))
    assert pump(out, sender, receiver, 300) == b"1" * 100 + b"2" * 200
    assert heard == [(0, 0)]
    for f in files:
        f.close()


def test_one_send_takes_headers_and_a_file_when_the_socket_has_room(pair, tmp_path):
    """``send_to`` sends as much as the socket takes: a small response's
    headers and its file body go out in one call, not one part per loop
    iteration (each one more select() round per response)."""
    sender, receiver = pair
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sender.setblocking(False)
    path = tmp_path / "body"
    path.write_bytes(b"b" * 100)
    out = OutputBuffer(overflow=1 << 20)
    out.append(b"h" * 70000)  # one part of its own, past the coalescing size
    out.append(b"headers")
    with open(path, "rb") as f:
        out.append_file(ReadOnlyFileBasedBuffer(f), 100)
        out.append(b"end")
        assert out.send_to(sender) == 70000 + 7 + 100 + 3
    assert len(out) == 0
    assert read_exactly(receiver, 70110) == b"h" * 70000 + b"headers" + b"b" * 100 + b"end"


def test_what_follows_a_file_without_descriptor_is_sent_too(pair):
    """A body from a file object without a descriptor (``io.BytesIO``) and
    then more output (the next response): once the file's bytes are out,
    the buffer must go on to what follows, not read the spent file again."""
    sender, receiver = pair
    sender.setblocking(False)
    content = b"0123456789" * 1000
    wrapper = ReadOnlyFileBasedBuffer(io.BytesIO(content))
    out = OutputBuffer(overflow=1 << 20)
    assert not out.append_file(wrapper, wrapper.prepare())
    out.append(b"next response")
    assert pump(out, sender, receiver, len(content) + 13) == content + b"next response"
    assert len(out) == 0


def test_the_file_wrapper_yields_the_last_byte_of_a_prepared_file():
    """A prepared ``wsgi.file_wrapper`` iterated block by block (the path
    for a socket the server cannot send a file to directly) must yield the
    file's very last byte, even when it is alone in the last block."""
    wrapper = ReadOnlyFileBasedBuffer(io.BytesIO(b"abcde"), block_size=2)
    assert wrapper.prepare() == 5
    assert list(wrapper) == [b"ab", b"cd", b"e"]


def test_a_descriptorless_file_shorter_than_announced_raises(pair):
    """A file object (no descriptor) that ends before the size it was queued
    with: the peer was promised more bytes, so ``send_to`` must raise
    (the owner closes the connection), not report 0 forever while the
    loop keeps asking to write the missing bytes."""
    sender, receiver = pair
    sender.setblocking(False)
    wrapper = ReadOnlyFileBasedBuffer(io.BytesIO(b"short"))
    out = OutputBuffer(overflow=1 << 20)
    out.append_file(wrapper, 100)
    with pytest.raises(TruncatedFileError):
        for _ in range(10):
            out.send_to(sender)
    assert read_exactly(receiver, 5) == b"short"


class UnseekableAfterAll(io.BytesIO):
    """Says it can seek, but seeking fails (a pipe behind a file-like API)."""

    def seek(self, *args):
        raise OSError(29, "Illegal seek")


class SeekableRaises(io.BytesIO):
    """Cannot even say whether it can seek."""

    def seekable(self):
        raise OSError(5, "Input/output error")


def test_prepare_reports_zero_when_seekable_raises():
    """A file that cannot say whether it can seek is streamed as it comes:
    ``prepare()`` does not measure it."""
    assert ReadOnlyFileBasedBuffer(SeekableRaises(b"data")).prepare() == 0


def test_prepare_reports_zero_when_seeking_fails():
    """``prepare()`` answers a byte count: 0 (stream it as it comes) when
    the file cannot be measured, an int a caller can compare and add."""
    wrapper = ReadOnlyFileBasedBuffer(UnseekableAfterAll(b"data"))
    size = wrapper.prepare(10)
    assert size == 0 and type(size) is int


# -- BodySpool ---------------------------------------------------------------


def test_a_small_body_in_one_piece_reaches_the_application_uncopied():
    """Most request bodies are a small form or JSON document that arrives
    in one recv(): the application must read that very bytes object, as
    for a large one, not a copy made for gathering small pieces."""
    piece = b'{"name": "value"}' * 10
    spool = BodySpool(overflow=1 << 20)
    spool.write(piece)
    assert spool.finish().read() is piece


# -- dispatcher --------------------------------------------------------------


def test_readable_is_false_once_reading_is_switched_off(pair, smap):
    """asyncore-style code asks ``readable()``: a dispatcher that only
    waits to write must not say it waits to read."""
    d = dispatcher(pair[0], map=smap)
    d.set_interest(False, True)
    assert not d.readable()
    assert d.writable()
    d.set_interest(True, False)
    assert d.readable()
    assert not d.writable()


def test_a_dispatcher_that_joined_the_map_itself_leaves_it_on_close(pair, smap):
    """asyncore code that overrides ``add_channel`` to write the map itself
    (as asyncore's own did) must still leave the map on ``close()``: a
    closed dispatcher left there would get the loop's events."""

    class OwnChannel(dispatcher):
        def add_channel(self, map=None):
            (self._map if map is None else map)[self._fileno] = self

    d = OwnChannel(pair[0], map=smap)
    fd = pair[0].fileno()
    assert smap[fd] is d
    d.close()
    assert fd not in smap


def test_close_leaves_the_entry_that_replaced_a_self_joined_dispatcher(pair, smap):
    """asyncore code that replaced a map entry (or removed it) before
    closing the old dispatcher: ``close()`` removes only its own entry,
    never the newcomer's, and does not fail when it has none."""

    class OwnChannel(dispatcher):
        def add_channel(self, map=None):
            (self._map if map is None else map)[self._fileno] = self

    fd = pair[0].fileno()
    old = OwnChannel(pair[0], map=smap)
    newcomer = object()
    smap[fd] = newcomer
    old.close()
    assert smap == {fd: newcomer}
    del smap[fd]
    again = OwnChannel(pair[1], map=smap)
    del smap[pair[1].fileno()]
    again.close()
    assert smap == {}


def test_a_write_event_on_a_socket_that_is_not_connecting_is_only_a_write(pair, smap):
    """A dispatcher whose peer could not be named (``connected`` False, as
    after a reset during accept) never called ``connect()``: a write event
    must not pretend a connection just completed (``handle_connect()``)."""
    seen = []

    class Recorder(dispatcher):
        def handle_connect(self):
            seen.append("connect")

        def handle_write(self):
            seen.append("write")

    d = Recorder(pair[0], map=smap)
    d.connected = False
    d.handle_write_event()
    assert seen == ["write"]
    assert not d.connected


def test_a_closed_asyncore_style_dispatcher_is_no_longer_asked(pair, smap):
    """A dispatcher that overrides ``readable()`` is asked every iteration
    while it is in the loop; once closed, the loop must stop asking it
    (and holding it), even while other dispatchers keep the loop running."""
    asked = []

    class Legacy(dispatcher):
        def readable(self):
            asked.append(1)
            return True

    dispatcher(pair[1], map=smap)  # keeps the loop running
    legacy = Legacy(pair[0], map=smap)
    waitress_wasyncore.poll(0, smap)
    assert asked, "asked while in the loop"
    legacy.close()
    ref = weakref.ref(legacy)
    del legacy
    asked.clear()
    for _ in range(3):
        waitress_wasyncore.poll(0, smap)
    assert asked == []
    gc.collect()
    assert ref() is None


def test_dispatcher_with_send_sends_an_out_buffer_of_bytes(pair, smap):
    """asyncore's ``dispatcher_with_send`` kept ``out_buffer`` as bytes, and
    code written for it assigns bytes there: sending must still work."""
    d = dispatcher_with_send(pair[0], map=smap)
    d.out_buffer = b"hello from asyncore code"
    d.initiate_send()
    assert read_exactly(pair[1], 24) == b"hello from asyncore code"
    assert not d.out_buffer
    assert not d.writable()


def test_dispatcher_with_send_keeps_reading_switched_off(pair, smap):
    """A ``dispatcher_with_send`` that stopped reading (back-pressure) and
    then sends must not start reading again behind its owner's back."""
    d = dispatcher_with_send(pair[0], map=smap)
    d.set_interest(False, False)
    d.send(b"reply")
    assert read_exactly(pair[1], 5) == b"reply"
    assert not d.readable()


def closing_dispatcher(closed: list):
    """A dispatcher class that closes on ``handle_close()`` and notes each call in ``closed``."""

    class Conn(dispatcher):
        def handle_close(self):
            closed.append(1)
            self.close()

    return Conn


def test_dropping_the_last_dispatcher_as_broken_releases_the_selector(smap):
    """When the only dispatcher of a map is dropped because its descriptor
    was closed behind its back (found when its interest changes), the map
    is empty: its reactor must release its selector descriptor then, as
    when a dispatcher closes."""
    closed = []
    Conn = closing_dispatcher(closed)

    sock = socket.socket()
    d = Conn(sock, map=smap)
    os.close(sock.detach())
    d.set_interest(True, True)
    assert closed == [1]
    assert not smap
    assert existing_reactor(smap) is None


def test_a_map_entry_whose_socket_was_closed_is_dropped_quietly(pair, smap):
    """A dispatcher put in the map directly (asyncore style) whose socket
    was closed meanwhile cannot be watched: the loop drops it and calls
    its ``handle_close()``, and keeps running for the others."""
    closed = []

    class OwnChannel(dispatcher):
        def add_channel(self, map=None):
            (self._map if map is None else map)[self._fileno] = self

        def handle_close(self):
            closed.append(self)
            self.close()

    dispatcher(pair[1], map=smap)
    sock = socket.socket()
    gone = OwnChannel(sock, map=smap)
    fd = sock.fileno()
    os.close(sock.detach())
    waitress_wasyncore.poll(0, smap)
    assert closed == [gone]
    assert fd not in smap
    assert list(smap) == [pair[1].fileno()]


def test_joining_retries_when_the_maps_reactor_closed_meanwhile(pair, smap, monkeypatch):
    """Another thread may close a map's reactor (its last dispatcher left)
    between ``add_channel`` finding it and attaching to it: the dispatcher
    must then join the map's new reactor, not believe it joined."""
    from waitress_wasyncore.reactor import reactor_for

    dispatcher_module = sys.modules["waitress_wasyncore.dispatcher"]

    stale = reactor_for(smap)
    stale.close()
    answers = [stale]
    monkeypatch.setattr(
        dispatcher_module, "reactor_for", lambda m: answers.pop() if answers else reactor_for(m)
    )
    d = dispatcher(pair[0], map=smap)
    assert smap[pair[0].fileno()] is d
    assert existing_reactor(smap) is not stale
    pair[1].sendall(b"x")
    seen = []
    d.handle_read = lambda: seen.append(d.recv(10))
    for _ in range(100):
        waitress_wasyncore.poll(0.01, smap)
        if seen:
            break
    assert seen == [b"x"]


@pytest.mark.parametrize("removed_first", [True, False], ids=["removed", "replaced"])
def test_a_dispatcher_put_where_a_foreign_entry_was_gets_events(pair, smap, removed_first):
    """Code that keeps its own objects in the map (never dispatched to)
    removes one, or simply overwrites it, and puts a real dispatcher under
    that fd: the loop must watch the dispatcher, not keep the fd reserved
    for the old entry.  Overwritten, the map's size does not change, which
    is all the loop's check looked at before."""
    seen = []

    class OwnChannel(dispatcher):
        def add_channel(self, map=None):
            (self._map if map is None else map)[self._fileno] = self

        def handle_read(self):
            seen.append(self.recv(10))

    dispatcher(pair[1], map=smap)  # keeps the loop running
    reader, writer = socket.socketpair()
    try:
        fd = reader.fileno()
        smap[fd] = object()  # someone else's entry
        waitress_wasyncore.poll(0, smap)
        if removed_first:
            del smap[fd]
            waitress_wasyncore.poll(0, smap)
        OwnChannel(reader, map=smap)
        writer.sendall(b"x")
        for _ in range(100):
            waitress_wasyncore.poll(0.01, smap)
            if seen:
                break
        assert seen == [b"x"]
    finally:
        reader.close()
        writer.close()


def test_close_ends_a_connect_in_progress(smap):
    """``close()`` during a non-blocking connect: the dispatcher is no
    longer connecting, so code that checks ``connecting`` (or a write event
    delivered late) does not try to finish a connection that is gone."""
    d = dispatcher(map=smap)
    d.create_socket()
    d.connecting = True  # as between connect() and its completion
    d.close()
    assert not d.connecting
    assert not d.connected


def test_a_reset_from_the_peer_closes_quietly_on_recv(smap, tcp_connection):
    """A client that resets the connection (SO_LINGER 0) is an ordinary
    end: ``recv()`` calls ``handle_close()`` and returns b"", it does not
    raise into the loop (which would log a traceback per such client)."""
    closed = []
    Conn = closing_dispatcher(closed)

    client, server_side = tcp_connection
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # sends RST
    d = Conn(server_side, map=smap)
    select.select([server_side], [], [], 10)
    assert d.recv(100) == b""
    assert closed == [1]


def test_a_connect_that_fails_at_once_leaves_the_dispatcher_not_connecting(smap, tmp_path):
    """``connect()`` to an address that fails immediately (no such socket
    file) raises, and the dispatcher is not left "connecting", so a later
    write event does not try to finish a connection that never started."""
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("needs AF_UNIX")
    d = dispatcher(map=smap)
    d.create_socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with pytest.raises(OSError):
        d.connect(str(tmp_path / "nobody-listens-here"))
    assert not d.connecting
    assert not d.connected
    d.close()


def test_a_write_event_is_not_delivered_once_writing_was_switched_off(smap):
    """Two connections ready to write in one select() batch; the first
    handled switches the other's writing off (it has nothing left to send,
    say): the other must not then get the write event of that batch."""
    wrote = []

    class Writer(dispatcher):
        other = None

        def handle_write(self):
            wrote.append(self)
            self.other.set_interest(True, False)
            self.set_interest(True, False)

    a_end, a_peer = socket.socketpair()
    b_end, b_peer = socket.socketpair()
    try:
        a = Writer(a_end, map=smap)
        b = Writer(b_end, map=smap)
        a.other, b.other = b, a
        a.set_interest(False, True)
        b.set_interest(False, True)
        waitress_wasyncore.poll(1.0, smap)
        assert len(wrote) == 1
    finally:
        for sock in (a_end, a_peer, b_end, b_peer):
            sock.close()


def test_a_priority_event_reaches_handle_expt(pair, smap):
    """A loop of one's own that sees POLLPRI (``readwrite``) must reach the
    dispatcher's ``handle_expt()``: urgent data is otherwise never read."""
    seen = []

    class Urgent(dispatcher):
        def handle_expt(self):
            seen.append("expt")

    d = Urgent(pair[0], map=smap)
    d.handle_expt_event()
    readwrite(d, getattr(select, "POLLPRI", 2))
    assert seen == ["expt", "expt"]


# -- trigger -----------------------------------------------------------------


def test_a_pull_after_close_keeps_no_thunk(smap):
    """Pulls after ``close()`` are ignored: a worker that pulls on a server
    already shut down must not leave its thunk (and what the thunk holds,
    a whole response, say) referenced by the dead trigger."""

    class Payload:
        pass

    t = trigger(smap)
    t.close()
    payload = Payload()
    ref = weakref.ref(payload)
    t.pull_trigger(lambda held=payload: held)
    del payload
    gc.collect()
    assert ref() is None
    assert t._thunks == []


def test_a_dispatcher_that_waits_for_nothing_can_join_the_map(pair, smap):
    """A dispatcher told to wait for nothing before it has a socket (a
    paused channel being set up) must join the map on ``set_socket``, not
    fail: nothing is registered with the selector, nothing is unregistered."""
    d = dispatcher(map=smap)
    d.set_interest(False, False)
    d.set_socket(pair[0])
    fd = pair[0].fileno()
    assert smap[fd] is d
    d.set_interest(True, False)
    assert d.readable()
    d.close()
    assert fd not in smap


class ClosingFails:
    """Stands for a socket whose close() reports ``code`` (a reset on macOS)."""

    def __init__(self, sock, code):
        self.sock = sock
        self.code = code

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()
        raise OSError(self.code, "close failed")


def test_close_ignores_a_disconnect_reported_by_the_socket_close(pair, smap):
    """The peer resetting just before we close is no error: ``close()``
    must finish quietly, or the server logs a traceback per such client."""
    d = dispatcher(pair[0], map=smap)
    d.socket = ClosingFails(pair[0], errno.ECONNRESET)
    d.close()
    assert not smap


def test_close_raises_other_errors_of_the_socket_close(pair, smap):
    """An error of close() that is not the peer's (EIO) is not hidden."""
    d = dispatcher(pair[0], map=smap)
    d.socket = ClosingFails(pair[0], errno.EIO)
    with pytest.raises(OSError) as info:
        d.close()
    assert info.value.errno == errno.EIO
    assert not smap


# -- timers ------------------------------------------------------------------


def test_timers_dropped_by_close_all_say_they_are_cancelled(smap, pair):
    """``close_all()`` drops the map's timers: a caller asking its timer
    whether it will still run must hear that it will not."""
    dispatcher(pair[0], map=smap)
    timer = call_later(60, lambda: None, map=smap)
    assert not timer.cancelled
    close_all(smap)
    assert timer.cancelled


class SendFailsOnce:
    """Stands for the trigger's writing socket; its first send() fails (ENOBUFS)."""

    def __init__(self, sock):
        self.sock = sock
        self.failed = False

    def send(self, data):
        if not self.failed:
            self.failed = True
            raise OSError(errno.ENOBUFS, "no buffer space")
        return self.sock.send(data)

    def close(self):
        self.sock.close()


def test_a_pull_after_a_failed_wake_up_wakes_the_loop(smap):
    """If writing the wake-up byte failed once (a passing ENOBUFS), the next
    pull must write it: otherwise no pull ever wakes the loop again and
    every thunk, a server's close() among them, waits for a stray event."""
    t = trigger(smap)
    t._writer = SendFailsOnce(t._writer)
    ran = []
    t.pull_trigger(lambda: ran.append(1))
    t.pull_trigger(lambda: ran.append(2))
    for _ in range(100):
        waitress_wasyncore.poll(0.05, smap)
        if ran:
            break
    assert ran == [1, 2]
    t.close()



def test_exitnow_keeps_a_thunk_pulled_while_the_batch_ran(smap):
    """A thunk pulled by a thunk of the running batch (a worker finishing
    meanwhile) must survive another thunk's ExitNow: the rest of the batch
    goes back ahead of it, and it still runs after them."""
    t = trigger(smap)
    ran = []

    def stop():
        t.pull_trigger(lambda: ran.append("pulled meanwhile"))
        raise ExitNow()

    t.pull_trigger(stop)
    t.pull_trigger(lambda: ran.append("rest of the batch"))
    with pytest.raises(ExitNow):
        loop(0.5, map=smap)
    for _ in range(10):
        loop(0.05, map=smap, count=1)
        if len(ran) == 2:
            break
    assert ran == ["rest of the batch", "pulled meanwhile"]
    t.close()


# -- trigger, when its socket fails ------------------------------------------


class RecvFails:
    """Stands for the trigger's reading socket, whose recv() fails with ``code``."""

    def __init__(self, sock, code):
        self.sock = sock
        self.code = code

    def recv(self, size):
        raise OSError(self.code, "recv failed")

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()


def test_a_trigger_whose_socket_is_gone_closes_itself(smap):
    """EBADF from the trigger's own socket: it can never wake the loop
    again, so it closes (and says so) rather than spin on a dead socket."""
    t = trigger(smap)
    t.socket = RecvFails(t.socket, errno.EBADF)
    ran = []
    t.pull_trigger(lambda: ran.append(1))
    t.handle_read()
    assert not smap, "the trigger left the loop"
    assert ran == []


def test_a_trigger_whose_recv_fails_for_a_passing_reason_still_runs_thunks(smap):
    """A passing recv() failure (ENOMEM) must not close the trigger: the
    thunks queued so far, a server's close() among them, still run."""
    t = trigger(smap)
    real = t.socket
    t.socket = RecvFails(real, errno.ENOMEM)
    ran = []
    t.pull_trigger(lambda: ran.append(1))
    t.handle_read()
    assert ran == [1]
    assert list(smap.values()) == [t], "the trigger stays in the loop"
    t.socket = real
    t.close()


# -- the module-level functions ----------------------------------------------


def test_poll_without_a_map_serves_the_default_map(pair):
    """asyncore code calls ``poll()`` with no map: that must serve the
    dispatchers of the default map, not do nothing."""
    seen = []

    class Reader(dispatcher):
        def handle_read(self):
            seen.append(self.recv(100))

    d = Reader(pair[0])
    try:
        assert waitress_wasyncore.socket_map[pair[0].fileno()] is d
        pair[1].sendall(b"ping")
        for _ in range(100):
            waitress_wasyncore.poll(0.1)
            if seen:
                break
        assert seen == [b"ping"]
    finally:
        d.close()


def test_select_on_posix_has_no_fixed_socket_count():
    """Only Windows' select() stops at 512 sockets; elsewhere select() is
    bounded by descriptor numbers, so a server must not cap its
    connections at 512 because its map uses select()."""
    if os.name == "nt":
        pytest.skip("Windows' select() does take 512 at most")
    assert waitress_wasyncore.max_sockets(SocketMap(selector_factory=selectors.SelectSelector)) is None


def test_max_sockets_opens_no_selector(smap):
    """Asking a map's capacity (a server does it before it listens) must not
    create the map's reactor, whose selector descriptor nothing would close."""
    assert waitress_wasyncore.max_sockets(smap) is None
    assert existing_reactor(smap) is None



@pytest.mark.parametrize("cancelled_first", [False, True])
def test_a_cancelled_timer_leaves_the_loop_sound(pair, smap, cancelled_first):
    """A connection's timeout cancelled next to another due timer (before
    or behind it in the heap): once both are past, the loop's count of
    pending timers must still be right, or closing the last connection
    fails (a negative length) instead of releasing the loop's selector."""
    d = dispatcher(pair[0], map=smap)
    ran = []
    if cancelled_first:
        call_later(0, lambda: ran.append("cancelled"), map=smap).cancel()
    call_later(0, lambda: ran.append("live"), map=smap)
    if not cancelled_first:
        call_later(0, lambda: ran.append("cancelled"), map=smap).cancel()
    for _ in range(100):
        waitress_wasyncore.poll(0.01, smap)
        if ran:
            break
    assert ran == ["live"]
    d.close()
    assert not smap
    assert existing_reactor(smap) is None


def test_cancelling_a_timer_that_already_ran_is_harmless(pair, smap):
    """``cancel()`` of a one-shot timer after it ran (a request finished
    just as its timeout fired) changes nothing: the loop's count of
    pending timers stays right, so closing the last connection releases
    the loop's selector instead of failing."""
    d = dispatcher(pair[0], map=smap)
    ran = []
    timer = call_later(0, lambda: ran.append(1), map=smap)
    for _ in range(100):
        waitress_wasyncore.poll(0.01, smap)
        if ran:
            break
    assert ran == [1]
    timer.cancel()
    d.close()
    assert existing_reactor(smap) is None


def test_a_repeating_timer_keeps_its_schedule():
    """``call_every`` runs at fixed times (first due + n * interval): a run
    that happens a little late must not push every later run back.  The
    timer's ``due`` is the only thing that shows it without a clock."""
    queue = TimerQueue()
    timer = queue.add(0, lambda: None, interval=10.0)
    first_due = timer.due
    queue.run_due()
    assert timer.due == first_due + 10.0
    timer.cancel()


# -- file_wrapper ------------------------------------------------------------

DESCRIPTOR_ZERO = """
import os
from waitress_wasyncore import file_wrapper
read_end, write_end = os.pipe()
os.close(0)  # a daemon without stdin: the next descriptor is 0
wrapper = file_wrapper(read_end)
assert wrapper.fileno() == 0, wrapper.fileno()
wrapper.close()
try:
    os.fstat(0)
except OSError:
    print("closed")
else:
    print("leaked")
"""

FAILED_WRAPPER = """
import gc, os, warnings
from waitress_wasyncore import file_wrapper
read_end, write_end = os.pipe()
os.close(read_end)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        file_wrapper(read_end)
    except OSError:
        pass
    gc.collect()
os.fstat(0)  # raises if the failed wrapper closed stdin
print(len(caught))
"""

UNCLOSED_ZERO = """
import gc, os, warnings
from waitress_wasyncore import file_wrapper
read_end, write_end = os.pipe()
os.close(0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    wrapper = file_wrapper(read_end)
    assert wrapper.fileno() == 0
    del wrapper
    gc.collect()
try:
    os.fstat(0)
except OSError:
    print("closed", [w.category.__name__ for w in caught])
else:
    print("leaked", [w.category.__name__ for w in caught])
"""


def run_snippet(code):
    if not hasattr(waitress_wasyncore, "file_wrapper"):
        pytest.skip("file_wrapper is POSIX only")
    return subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )


def test_a_pipe_that_cannot_be_made_non_blocking_is_not_kept(monkeypatch):
    """If the descriptor cannot be set non-blocking, ``file_dispatcher``
    fails and leaves nothing behind, rather than hand back a closed
    dispatcher that looks fine."""
    if not hasattr(waitress_wasyncore, "file_dispatcher"):
        pytest.skip("file_dispatcher is POSIX only")

    def refuse(fd, blocking):
        raise OSError(errno.EINVAL, "cannot")

    smap = {}
    read_end, write_end = os.pipe()
    monkeypatch.setattr(os, "set_blocking", refuse)
    try:
        with pytest.raises(OSError):
            waitress_wasyncore.file_dispatcher(read_end, map=smap)
        assert not smap
    finally:
        monkeypatch.undo()
        os.close(read_end)
        os.close(write_end)


def test_the_regular_file_refusal_names_the_callers_descriptor_once(tmp_path):
    """The EPERM message tells the user which of their descriptors the
    loop cannot watch, once (it is read in a traceback)."""
    if not hasattr(waitress_wasyncore, "file_dispatcher"):
        pytest.skip("file_dispatcher is POSIX only")
    path = tmp_path / "plain.txt"
    path.write_bytes(b"not pollable")
    smap = SocketMap()
    with open(path, "rb") as f:
        fd = f.fileno()
        try:
            waitress_wasyncore.file_dispatcher(f, smap)
        except PermissionError as exc:
            message = str(exc)
        else:
            waitress_wasyncore.close_all(smap)
            pytest.skip("this platform's selector watches regular files")
    assert message.count("file_dispatcher:") == 1
    assert "cannot watch descriptor %d " % fd in message


class RefusingSelector(selectors.SelectSelector):
    """A selector that refuses every descriptor with EACCES (a security module, say)."""

    def register(self, fileobj, events, data=None):
        raise PermissionError(errno.EACCES, "refused")


def test_a_pipe_refused_for_another_reason_keeps_its_error():
    """Only epoll's EPERM (a regular file) gets the explanatory message:
    another refusal (EACCES) reaches the caller as it was, not disguised
    as EPERM with advice that does not apply."""
    if not hasattr(waitress_wasyncore, "file_dispatcher"):
        pytest.skip("file_dispatcher is POSIX only")
    smap = SocketMap(selector_factory=RefusingSelector)
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(PermissionError) as info:
            waitress_wasyncore.file_dispatcher(read_end, map=smap)
        assert info.value.errno == errno.EACCES
        assert str(info.value) == "[Errno 13] refused"
        assert not smap
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_wrapper_that_could_not_duplicate_closes_nothing():
    """``file_wrapper(fd)`` of a closed descriptor fails in ``os.dup``: the
    half-made wrapper, once collected, must close nothing (not stdin, not
    whatever descriptor 0 is) and warn about nothing."""
    result = run_snippet(FAILED_WRAPPER)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"0"
    assert result.stderr == b"", "nothing raised in __del__ either"


def test_an_unclosed_wrapper_on_descriptor_zero_is_closed_with_a_warning():
    """A ``file_wrapper`` dropped without ``close()`` warns and closes its
    duplicate, descriptor 0 included (a process started without stdin)."""
    result = run_snippet(UNCLOSED_ZERO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"closed ['ResourceWarning']"


def test_a_wrapper_closes_its_duplicate_even_when_it_is_descriptor_zero():
    """In a process started without stdin the duplicate a ``file_wrapper``
    makes can be descriptor 0: ``close()`` must close it like any other,
    or each pipe dispatcher leaks a descriptor there."""
    result = run_snippet(DESCRIPTOR_ZERO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"closed"
