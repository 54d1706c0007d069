"""buffers: the file wrapper, the body spool and the output queue over real sockets."""

import gzip
import io
import os
import select
import socket
import time

import pytest
from waitress_wasyncore import buffers, output_queue
from waitress_wasyncore.buffers import (
    BodySpool,
    OutputBuffer,
    ReadOnlyFileBasedBuffer,
    TruncatedFileError,
)

# -- helpers -----------------------------------------------------------------


@pytest.fixture
def small_pair():
    """A non-blocking sender with a small send buffer, and its peer."""
    sender, receiver = socket.socketpair()
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sender.setblocking(False)
    receiver.setblocking(False)
    yield sender, receiver
    sender.close()
    receiver.close()


@pytest.fixture
def tcp_pair(tcp_connection):
    """A TCP connection on 127.0.0.1 (sendfile's usual target), sender non-blocking."""
    sender, receiver = tcp_connection
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    sender.setblocking(False)
    receiver.setblocking(False)
    return sender, receiver


def drain(receiver):
    data = bytearray()
    while True:
        try:
            chunk = receiver.recv(1 << 20)
        except BlockingIOError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk


def pump(out, sender, receiver, expected_size, deadline_seconds=30.0):
    """Alternate send_to and reading until ``expected_size`` bytes arrived.

    Bounded by time, not by rounds: on a busy machine loopback may hold the
    sender's window shut for a while (a delayed ACK), and a round count
    then ran out before the data did, which read as lost bytes.
    """
    received = bytearray()
    partial_sends = 0
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        pending_before = len(out)
        sent = out.send_to(sender)
        assert len(out) == pending_before - sent
        if len(out):
            partial_sends += 1
        arrived = drain(receiver)
        received += arrived
        if len(received) >= expected_size and not len(out):
            break
        if not sent and not arrived:
            select.select([receiver], [], [], 0.01)  # nothing moved: wait, do not spin
    return bytes(received), partial_sends


def real_file(tmp_path, content, name="data.bin"):
    path = tmp_path / name
    path.write_bytes(content)
    return open(path, "rb")


def descriptors_on(path) -> int:
    """How many of this process's descriptors refer to ``path`` (Linux's /proc)."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                count += 1
        except OSError:
            pass
    return count


# -- ReadOnlyFileBasedBuffer ---------------------------------------------------------


def test_file_wrapper_iterates_in_blocks():
    wrapper = ReadOnlyFileBasedBuffer(io.BytesIO(b"abcdefghij"), block_size=4)
    assert list(wrapper) == [b"abcd", b"efgh", b"ij"]


def test_prepare_reports_the_rest_from_the_current_position(tmp_path):
    f = real_file(tmp_path, b"0123456789")
    f.seek(3)
    wrapper = ReadOnlyFileBasedBuffer(f)
    assert wrapper.prepare() == 7
    assert f.tell() == 3, "prepare puts the position back"
    assert wrapper.prepare(5) == 5
    assert b"".join(wrapper) == b"34567", "iteration stops at the prepared size"
    wrapper.close()
    assert f.closed


def test_prepare_is_zero_for_files_that_cannot_seek():
    class Pipe:
        def read(self, n):
            return b""

    class Unseekable(io.BytesIO):
        def seekable(self):
            return False

    assert ReadOnlyFileBasedBuffer(Pipe()).prepare() == 0
    assert ReadOnlyFileBasedBuffer(Unseekable(b"abc")).prepare() == 0
    reader, writer = os.pipe()
    try:
        with open(reader, "rb", closefd=False) as pipe:
            assert ReadOnlyFileBasedBuffer(pipe).prepare() == 0
    finally:
        os.close(reader)
        os.close(writer)


def test_file_wrapper_exposes_what_the_file_has(tmp_path):
    f = real_file(tmp_path, b"xyz")
    wrapper = ReadOnlyFileBasedBuffer(f)
    assert wrapper.seekable() and wrapper.tell() == 0
    wrapper.seek(1)
    assert f.tell() == 1
    assert wrapper.fileno() == f.fileno()
    f.close()

    class ReadOnly:
        def read(self, n):
            return b""

    bare = ReadOnlyFileBasedBuffer(ReadOnly())
    assert not hasattr(bare, "fileno") and not hasattr(bare, "seek")
    bare.close()  # no close() on the file: nothing to do
    memory = ReadOnlyFileBasedBuffer(io.BytesIO(b""))
    assert hasattr(memory, "fileno")  # BytesIO has one, which raises when called


# -- BodySpool -------------------------------------------------------------------


def test_small_bodies_stay_in_memory():
    spool = BodySpool(overflow=10)
    spool.write(b"12345")
    spool.write(memoryview(b"67890"))
    assert len(spool) == 10 and not spool.spilled
    stream = spool.finish()
    assert isinstance(stream, io.BytesIO)
    assert stream.read() == b"1234567890"


def test_large_bodies_spill_to_a_temporary_file():
    spool = BodySpool(overflow=10)
    spool.write(b"line one\n")
    spool.write(b"line two\nline three\n")
    assert spool.spilled and len(spool) == 29
    stream = spool.finish()
    assert not isinstance(stream, io.BytesIO)
    assert stream.tell() == 0
    assert stream.readline() == b"line one\n"
    assert stream.readline(4) == b"line"
    assert stream.readlines() == [b" two\n", b"line three\n"]
    stream.seek(0)
    assert list(stream) == [b"line one\n", b"line two\n", b"line three\n"]
    assert stream.read(3) == b""
    spool.close()
    assert stream.closed


# -- OutputBuffer: memory ---------------------------------------------------------------


def test_small_appends_are_coalesced_and_large_bytes_kept_as_is():
    out = OutputBuffer(overflow=1 << 30)
    for _ in range(100):
        out.append(b"ab")
    big = b"B" * 100000
    out.append(big)
    out.append(bytearray(b"c"))
    assert len(out) == 100 * 2 + 100000 + 1
    parts = list(out._parts)
    assert len(parts) == 3
    assert parts[1] is big, "a large bytes object is queued without a copy"


def test_bytearrays_are_copied_so_the_caller_may_reuse_them(small_pair):
    sender, receiver = small_pair
    out = OutputBuffer(overflow=1 << 30)
    scratch = bytearray(b"a" * 20000)
    out.append(scratch)
    scratch[:] = b"b" * 20000
    data, _ = pump(out, sender, receiver, 20000)
    assert data == b"a" * 20000


class Scratch(bytearray):
    pass


@pytest.mark.parametrize("make", [
    lambda owner: memoryview(owner),
    lambda owner: memoryview(owner)[1000:],
    lambda owner: memoryview(owner).cast("I"),
    lambda owner: memoryview(owner).toreadonly(),  # read-only, yet its owner writes
    lambda owner: owner,  # a bytearray subclass itself
])
def test_what_its_owner_may_change_is_copied_views_of_bytes_are_not(small_pair, make):
    sender, receiver = small_pair
    out = OutputBuffer(overflow=1 << 30)
    owner = Scratch(b"a" * 20000)
    queued = make(owner)
    size = memoryview(queued).nbytes
    out.append(queued)
    owner[:] = b"b" * 20000
    data, _ = pump(out, sender, receiver, size)
    assert data == b"a" * size
    frozen = b"c" * 20000
    out.append(memoryview(frozen)[100:])
    assert list(out._parts)[-1].obj is frozen, "a view of bytes is queued without a copy"


def test_a_view_that_is_not_contiguous_is_queued_as_its_bytes(small_pair):
    sender, receiver = small_pair
    out = OutputBuffer(overflow=1 << 30)
    source = bytes(range(256)) * 200
    out.append(memoryview(source)[::2])
    data, _ = pump(out, sender, receiver, len(source) // 2)
    assert data == source[::2]


def test_partial_sends_over_a_small_socket_buffer_keep_every_byte(small_pair):
    sender, receiver = small_pair
    out = OutputBuffer(overflow=1 << 30)
    expected = bytearray()
    for index in range(300):
        chunk = (b"%05d" % index) * (index % 37 + 1)
        piece = memoryview(chunk) if index % 3 == 0 else chunk
        out.append(piece)
        expected += chunk
    out.append(b"T" * 200000)
    expected += b"T" * 200000
    data, partial_sends = pump(out, sender, receiver, len(expected))
    assert data == bytes(expected)
    assert partial_sends > 0, "the small buffer should have forced partial sends"
    assert len(out) == 0


def test_send_to_returns_zero_when_the_socket_is_full(small_pair):
    sender, receiver = small_pair
    out = OutputBuffer(overflow=1 << 30)
    out.append(b"x" * 1000000)
    first = out.send_to(sender)
    assert 0 < first < 1000000
    assert out.send_to(sender) == 0
    assert len(out) == 1000000 - first


def test_memoryviews_of_other_shapes_are_sent_as_bytes(small_pair):
    sender, receiver = small_pair
    out = OutputBuffer(overflow=1 << 30)
    import array

    numbers = array.array("i", range(10000))
    out.append(memoryview(numbers))
    data, _ = pump(out, sender, receiver, numbers.itemsize * 10000)
    assert data == numbers.tobytes()


def test_errors_other_than_eagain_propagate(small_pair):
    sender, receiver = small_pair
    out = OutputBuffer(overflow=1 << 30)
    out.append(b"x" * 100000)
    receiver.close()
    with pytest.raises(OSError):
        for _ in range(100):
            out.send_to(sender)


def test_sockets_without_sendmsg_get_plain_sends(small_pair):
    sender, receiver = small_pair

    class NoSendmsg:
        def send(self, data):
            return sender.send(data)

        def sendmsg(self, buffers):
            raise NotImplementedError  # as ssl.SSLSocket does

    out = OutputBuffer(overflow=1 << 30)
    expected = b"".join(b"%d," % i for i in range(3000))
    for i in range(3000):
        out.append(b"%d," % i)
    data, _ = pump(out, NoSendmsg(), receiver, len(expected))
    assert data == expected


# -- OutputBuffer: spilling and files ------------------------------------------------


def test_memory_overflow_spills_in_order(small_pair):
    sender, receiver = small_pair
    out = OutputBuffer(overflow=1000)
    out.append(b"A" * 600)
    out.append(b"B" * 600)  # over the limit: goes to a temporary file
    out.append(b"C" * 10)  # after a spill, appends follow it in the file
    assert any(isinstance(p, output_queue._SpillPart) for p in out._parts)
    assert len(out) == 1210
    data, _ = pump(out, sender, receiver, 1210)
    assert data == b"A" * 600 + b"B" * 600 + b"C" * 10
    out.append(b"D" * 5)  # the spill was drained: memory again
    assert not any(isinstance(p, output_queue._SpillPart) for p in out._parts)
    data, _ = pump(out, sender, receiver, 5)
    assert data == b"D" * 5


def test_large_spill_over_tcp(tcp_pair):
    sender, receiver = tcp_pair
    out = OutputBuffer(overflow=50000)
    expected = bytearray()
    for index in range(200):
        chunk = bytes([index % 251]) * 5000
        out.append(chunk)
        expected += chunk
    data, partial = pump(out, sender, receiver, len(expected))
    assert data == bytes(expected) and partial > 0


@pytest.mark.parametrize("use_sendfile", [True, False], ids=["sendfile", "read-send"])
def test_files_are_sent_in_order_between_memory_parts(
    tmp_path, tcp_pair, monkeypatch, use_sendfile
):
    sender, receiver = tcp_pair
    calls = []
    if use_sendfile:
        if not hasattr(os, "sendfile"):
            pytest.skip("no os.sendfile on this platform")
        real = os.sendfile

        def counting(*args):
            calls.append(args[3])
            return real(*args)

        monkeypatch.setattr(os, "sendfile", counting)
    else:
        monkeypatch.delattr(os, "sendfile", raising=False)
    content = os.urandom(300000)
    f = real_file(tmp_path, b"skip" + content + b"tail that is not sent")
    f.seek(4)
    wrapper = ReadOnlyFileBasedBuffer(f)
    size = wrapper.prepare(len(content))
    out = OutputBuffer(overflow=1 << 30)
    out.append(b"HEAD")
    assert out.append_file(wrapper, size), "a real file is queued through a descriptor of its own"
    f.close()  # so the caller may close its file at once
    out.append(b"TRAILER")
    assert len(out) == 4 + len(content) + 7
    assert descriptors_on(f.name) == 1
    data, _ = pump(out, sender, receiver, len(out))
    assert data == b"HEAD" + content + b"TRAILER"
    assert bool(calls) == use_sendfile
    assert descriptors_on(f.name) == 0, "the buffer closes its descriptor once the file is sent"


def test_the_owner_hears_when_its_queued_file_is_sent(tmp_path, tcp_pair):
    """So that it can release the file only then (PEP 3333's close())."""
    sender, receiver = tcp_pair
    content = os.urandom(3000000)  # more than the socket pair holds at once
    f = real_file(tmp_path, content)
    out = OutputBuffer(overflow=1 << 30)
    assert not out.call_when_files_sent(lambda: None), "nothing queued: nothing to wait for"
    out.append(b"HEAD")
    assert out.append_file(ReadOnlyFileBasedBuffer(f), len(content))
    out.append(b"TAIL")
    heard = []
    assert out.call_when_files_sent(lambda: heard.append(len(out)))
    out.send_to(sender)
    assert not heard, "the socket took only part of the file"
    data, _ = pump(out, sender, receiver, 4 + len(content) + 4)
    assert data == b"HEAD" + content + b"TAIL"
    assert heard == [4], "called once, as the file's last byte went"
    f.close()


def test_the_owner_hears_when_its_queued_file_is_dropped(tmp_path):
    f = real_file(tmp_path, b"x" * 1000)
    out = OutputBuffer(overflow=1 << 30)
    assert out.append_file(ReadOnlyFileBasedBuffer(f), 1000)
    heard = []
    assert out.call_when_files_sent(lambda: heard.append(True))
    out.close()
    out.close()
    assert heard == [True]
    assert descriptors_on(f.name) == 1, "only the caller's own"
    f.close()


def test_reading_a_queued_file_leaves_the_callers_position_alone(tmp_path, tcp_pair, monkeypatch):
    sender, receiver = tcp_pair
    monkeypatch.delattr(os, "sendfile", raising=False)
    content = os.urandom(100000)
    f = real_file(tmp_path, content)
    f.seek(10)
    out = OutputBuffer(overflow=1 << 30)
    assert out.append_file(ReadOnlyFileBasedBuffer(f), len(content) - 10)
    data, _ = pump(out, sender, receiver, len(content) - 10)
    assert data == content[10:]
    assert f.tell() == 10
    f.close()


def test_a_file_whose_descriptor_cannot_be_duplicated_is_read_as_it_goes(
    tmp_path, tcp_pair, monkeypatch
):
    sender, receiver = tcp_pair

    def no_more_descriptors(fd):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(os, "dup", no_more_descriptors)
    content = os.urandom(200000)
    f = real_file(tmp_path, content)
    out = OutputBuffer(overflow=1 << 30)
    assert not out.append_file(ReadOnlyFileBasedBuffer(f), len(content)), "the caller keeps it open"
    data, _ = pump(out, sender, receiver, len(content))
    assert data == content
    assert not f.closed
    f.close()


def test_only_a_plain_binary_file_is_sent_from_its_descriptor(tmp_path):
    """Other objects' fileno() may hold other bytes than read() returns."""
    plain = real_file(tmp_path, b"abc")
    assert buffers.file_descriptor(plain) == plain.fileno()
    raw = open(plain.name, "rb", buffering=0)
    assert buffers.file_descriptor(raw) == raw.fileno()
    updating = open(plain.name, "r+b")
    assert buffers.file_descriptor(updating) == updating.fileno()

    class Decoding(io.BufferedReader):
        pass

    others = [
        gzip.open(plain.name, "rb"),  # its fileno() is the compressed file
        Decoding(io.FileIO(plain.name)),
        open(plain.name, "r"),  # text: read() gives str
        io.BytesIO(b"abc"),
    ]
    for other in others:
        assert buffers.file_descriptor(other) is None, other
    for f in [plain, raw, updating] + others:
        f.close()
    assert buffers.file_descriptor(plain) is None  # closed


def test_a_block_size_below_one_reads_blocks_of_the_default_size():
    for block_size in (0, -1, None):
        wrapper = ReadOnlyFileBasedBuffer(io.BytesIO(b"x" * 70000), block_size)
        assert [len(block) for block in wrapper] == [32768, 32768, 4464]


def test_file_without_fileno_uses_read_and_send(tcp_pair):
    sender, receiver = tcp_pair
    content = b"0123456789" * 50000
    wrapper = ReadOnlyFileBasedBuffer(io.BytesIO(content))
    out = OutputBuffer(overflow=1 << 30)
    assert not out.append_file(wrapper, wrapper.prepare())
    data, _ = pump(out, sender, receiver, len(content))
    assert data == content


def test_tls_like_sockets_never_get_sendfile(tmp_path, tcp_pair, monkeypatch):
    sender, receiver = tcp_pair

    class Wrapped(socket.socket):
        def sendfile(self, file, offset=0, count=None):  # as ssl.SSLSocket overrides it
            raise AssertionError("not used")

    def forbidden(*args):
        raise AssertionError("os.sendfile must not bypass a socket that overrides sendfile")

    monkeypatch.setattr(os, "sendfile", forbidden, raising=False)
    wrapped = Wrapped(fileno=sender.detach())
    content = b"secret" * 10000
    f = real_file(tmp_path, content)
    try:
        wrapper = ReadOnlyFileBasedBuffer(f)
        out = OutputBuffer(overflow=1 << 30)
        out.append_file(wrapper, wrapper.prepare())
        data, _ = pump(out, wrapped, receiver, len(content))
        assert data == content
    finally:
        wrapped.close()
        f.close()


def test_a_file_shorter_than_announced_raises(tmp_path, tcp_pair):
    sender, receiver = tcp_pair
    f = real_file(tmp_path, b"short")
    wrapper = ReadOnlyFileBasedBuffer(f)
    out = OutputBuffer(overflow=1 << 30)
    out.append_file(wrapper, 100)
    with pytest.raises(TruncatedFileError):
        for _ in range(10):
            out.send_to(sender)
    out.close()
    f.close()


def test_close_closes_spill_files_and_the_descriptors_of_queued_files(tmp_path):
    f = real_file(tmp_path, b"abc")
    out = OutputBuffer(overflow=2)
    out.append(b"12345")
    spill = out._parts[-1]
    out.append_file(ReadOnlyFileBasedBuffer(f), 3)
    assert descriptors_on(f.name) == 2
    out.close()
    assert spill.file.closed and descriptors_on(f.name) == 1
    assert not f.closed, "the caller's file stays the caller's"
    assert len(out) == 0
    f.close()


def test_empty_appends_and_empty_files_queue_nothing(tmp_path):
    f = real_file(tmp_path, b"")
    out = OutputBuffer(overflow=10)
    out.append(b"")
    assert out.append_file(ReadOnlyFileBasedBuffer(f), 0)
    assert len(out) == 0 and not out._parts
    assert descriptors_on(f.name) == 1
    f.close()


def test_a_body_received_in_one_piece_is_never_copied():
    piece = b"x" * 65536
    spool = BodySpool(overflow=1 << 20)
    spool.write(piece)
    stream = spool.finish()
    assert stream.read() is piece  # BytesIO shares a bytes object it was made from


def test_pieces_are_joined_once_and_a_reused_buffer_cannot_change_them():
    spool = BodySpool(overflow=100)
    reused = bytearray(b"abc")
    spool.write(reused)
    reused[:] = b"XYZ"
    spool.write(b"def")
    stream = spool.finish()
    assert stream.read() == b"abcdef"
    assert spool.finish() is stream and stream.tell() == 0


def test_finish_on_an_empty_spool_gives_an_empty_stream():
    spool = BodySpool(overflow=10)
    assert spool.finish().read() == b""


def test_many_small_pieces_cost_about_their_size_in_memory():
    """A chunked body of one-byte chunks: kept one object each, 500 KB of
    body held some 20 MB."""
    import tracemalloc

    pieces = [bytes((i % 256,)) for i in range(500_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        spool = BodySpool(overflow=1 << 20)
        for piece in pieces:
            spool.write(piece)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 2 * len(pieces), "%d bytes held for %d bytes of body" % (held, len(pieces))
    assert not spool.spilled
    assert spool.finish().read() == b"".join(pieces)


@pytest.mark.parametrize("overflow", [1 << 20, 5000])
def test_small_and_large_pieces_keep_their_order(overflow):
    pieces = [b"a", b"bb", b"c" * 5000, b"d", b"e" * 3, b"f" * 4096, b"g"]
    spool = BodySpool(overflow=overflow)
    for piece in pieces:
        spool.write(memoryview(piece) if piece[:1] == b"e" else piece)
    assert spool.spilled is (overflow == 5000)
    assert spool.finish().read() == b"".join(pieces)
    assert len(spool) == sum(map(len, pieces))
    spool.close()


def _raise(error):
    def raising(*args, **kw):
        raise error

    return raising


@pytest.mark.parametrize("where", ["new-spill-file", "existing-spill-file", "memory"])
def test_an_append_that_fails_counts_nothing_of_its_data(where, monkeypatch):
    """A failed append left its size in ``pending``: the owner's loop kept
    asking to send bytes that were not there, at full CPU."""
    out = OutputBuffer(overflow=1000 if where != "memory" else 1 << 20)
    out.append(b"x" * 100)
    if where == "new-spill-file":
        monkeypatch.setattr(output_queue.tempfile, "TemporaryFile", _raise(OSError(28, "No space left on device")))
        data = b"y" * 2000
    elif where == "existing-spill-file":
        out.append(b"z" * 2000)  # spills
        spill = out._parts[-1]
        monkeypatch.setattr(spill, "file", type("Full", (), {"write": _raise(OSError(28, "full"))})())
        data = b"y" * 10
    else:
        out.append(b"w" * (output_queue.COALESCE_MAX + 1))  # kept as is: the next small piece starts a new tail
        monkeypatch.setattr(output_queue, "bytearray", _raise(MemoryError()), raising=False)
        data = b"y" * 10
    before = out.pending
    with pytest.raises((OSError, MemoryError)):
        out.append(data)
    assert out.pending == before
    monkeypatch.undo()  # the real spill file back, so that close() closes it (not the GC, later)
    out.close()


@pytest.mark.parametrize(
    "error, file_side",
    [(OSError(5, "Input/output error"), True), (BrokenPipeError(32, "Broken pipe"), False),
     (ConnectionResetError(104, "reset"), False)],
    ids=["EIO", "EPIPE", "ECONNRESET"],
)
def test_sendfile_errors_say_whether_the_file_or_the_peer_failed(error, file_side, tmp_path, tcp_pair, monkeypatch):
    """The owner logs a file's I/O error as the server's failure, and a
    peer's as a disconnect: the error's class tells them apart."""
    from waitress_wasyncore.buffers import QueuedFileError

    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    sender, _ = tcp_pair
    out = OutputBuffer(overflow=1 << 20)
    with open(path, "rb") as f:
        out.append_file(ReadOnlyFileBasedBuffer(f), 1000)
    monkeypatch.setattr(output_queue.os, "sendfile", _raise(error))
    with pytest.raises(OSError) as raised:
        out.send_to(sender)
    assert isinstance(raised.value, QueuedFileError) is file_side
    out.close()
