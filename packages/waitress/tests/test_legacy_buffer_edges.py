"""waitress.buffers edges a mutation audit found unpinned: what code built on
Waitress 3.0.2's buffers would see change."""

import io

import pytest
from waitress.buffers import FileBasedBuffer


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
