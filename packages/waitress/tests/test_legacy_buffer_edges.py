"""waitress.buffers edges a mutation audit found unpinned: what code built on
Waitress 3.0.2's buffers would see change."""

import io

import pytest
from waitress.buffers import FileBasedBuffer, OverflowableBuffer, TempfileBasedBuffer


def test_prune_of_the_base_class_fails_before_losing_the_bytes():
    """``FileBasedBuffer`` has no kind of file to prune into: ``prune()``
    says so (NotImplementedError, as in 3.0.2) and the queued bytes stay
    readable, rather than the buffer dropping its file."""
    buf = FileBasedBuffer(io.BytesIO())
    buf.append(b"queued bytes")
    with pytest.raises(NotImplementedError):
        buf.prune()
    assert buf.get(skip=True) == b"queued bytes"
    assert len(buf) == 0


def test_get_of_zero_bytes_returns_nothing_in_every_stage():
    """``get(0)`` asks for no bytes: a caller that computed 0 from a window
    or a limit must get b"" (and, with ``skip``, lose nothing), whether the
    buffer still holds its bytes in a plain ``bytes`` or already in a file."""
    small = OverflowableBuffer(overflow=1 << 20)
    small.append(b"abc")
    assert small.get(0) == b""
    assert small.get(0, skip=True) == b""
    assert small.get() == b"abc"
    large = OverflowableBuffer(overflow=1 << 20)
    large.append(b"x" * 10000)
    assert large.get(0, skip=True) == b""
    assert len(large) == 10000


def test_prune_keeps_a_buffer_still_over_its_limit_on_disk():
    """``prune()`` brings a buffer back into memory only once it shrank to
    its ``overflow`` limit: one still above it stays in its temporary file,
    or pruning a large response would pull it all into memory."""
    buf = OverflowableBuffer(overflow=10000)
    buf.append(b"a" * 20000)
    assert buf.overflowed
    buf.skip(5000)
    buf.prune()
    assert buf.overflowed
    assert isinstance(buf.buf, TempfileBasedBuffer)
    assert buf.get() == b"a" * 15000
    buf.skip(10000)
    buf.prune()
    assert not buf.overflowed
    assert buf.get() == b"a" * 5000
    buf.close()


def test_an_overflowable_buffer_is_true_even_when_empty():
    """Code built on 3.0.2 tests ``if channel.outbuf:`` for the presence of
    a buffer, not its length: an empty buffer, or one with data, is true."""
    buf = OverflowableBuffer(overflow=10)
    assert buf
    buf.append(b"x")
    assert buf
    buf.close()
