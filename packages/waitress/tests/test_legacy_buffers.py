"""waitress.buffers: Waitress 3.0.2's byte buffers, as code built on them uses them."""

import io

import pytest
from waitress import buffers
from waitress.buffers import (
    BytesIOBasedBuffer,
    OverflowableBuffer,
    ReadOnlyFileBasedBuffer,
    TempfileBasedBuffer,
)


@pytest.fixture(params=[BytesIOBasedBuffer, TempfileBasedBuffer])
def file_buffer(request):
    buf = request.param()
    yield buf
    buf.close()


def test_append_get_and_skip(file_buffer):
    file_buffer.append(b"hello ")
    file_buffer.append(b"world")
    assert len(file_buffer) == 11
    assert file_buffer.get(5) == b"hello"
    assert len(file_buffer) == 11  # get without skip leaves the bytes queued
    assert file_buffer.get(6, skip=True) == b"hello "
    assert len(file_buffer) == 5
    file_buffer.append(b"!")
    assert file_buffer.get() == b"world!"
    file_buffer.skip(2)
    assert file_buffer.get(-1, skip=True) == b"rld!"
    assert len(file_buffer) == 0 and file_buffer  # an empty buffer is still truthy


def test_skipping_more_than_is_queued_is_a_value_error(file_buffer):
    file_buffer.append(b"ab")
    with pytest.raises(ValueError):
        file_buffer.skip(3)
    assert file_buffer.get() == b"ab"


def test_getfile_is_positioned_at_the_first_queued_byte(file_buffer):
    file_buffer.append(b"abcdef")
    file_buffer.skip(2)
    assert file_buffer.getfile().read() == b"cdef"


def test_prune_keeps_only_the_queued_bytes(file_buffer):
    file_buffer.append(b"abcdef")
    file_buffer.skip(4)
    old = file_buffer.getfile()
    file_buffer.prune()
    assert old.closed and file_buffer.getfile() is not old
    assert file_buffer.getfile().tell() == 0
    assert file_buffer.get() == b"ef" and len(file_buffer) == 2


def test_a_buffer_made_from_another_takes_its_queued_bytes():
    source = BytesIOBasedBuffer()
    source.append(b"abcdef")
    source.skip(1)
    copy = TempfileBasedBuffer(source)
    assert copy.get() == b"bcdef"
    assert source.get() == b"bcdef"  # the source keeps its bytes and position
    assert BytesIOBasedBuffer(io.BytesIO(b"raw")).get() == b"raw"
    copy.close()


def test_overflowable_buffer_moves_from_bytes_to_memory_file_to_disk():
    buf = OverflowableBuffer(20000)
    buf.append(b"a" * 100)
    assert buf.buf is None and buf.strbuf == b"a" * 100
    buf.append(b"b" * buffers.STRBUF_LIMIT)
    assert isinstance(buf.buf, BytesIOBasedBuffer) and not buf.overflowed
    buf.append(b"c" * 20000)
    assert isinstance(buf.buf, TempfileBasedBuffer) and buf.overflowed
    assert len(buf) == 100 + buffers.STRBUF_LIMIT + 20000
    assert buf.get(101, skip=True) == b"a" * 100 + b"b"
    buf.skip(buffers.STRBUF_LIMIT - 1 + 15000)
    buf.prune()
    assert isinstance(buf.buf, BytesIOBasedBuffer) and not buf.overflowed
    assert buf.get() == b"c" * 5000
    buf.close()


def test_overflowable_buffer_in_its_bytes_stage():
    buf = OverflowableBuffer(100)
    buf.append(b"abc")
    assert buf.get(2) == b"ab" and buf.get(2, skip=True) == b"ab"
    with pytest.raises(ValueError):
        buf.skip(5)
    buf.skip(1)
    assert len(buf) == 0
    buf.append(b"xyz")
    assert buf.getfile().read() == b"xyz"  # a file is made when one is asked for


def test_the_file_wrapper_is_the_servers():
    from waitress_wasyncore.buffers import ReadOnlyFileBasedBuffer as servers

    assert ReadOnlyFileBasedBuffer is servers
