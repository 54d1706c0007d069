"""What the parser hands back: a request head, body pieces, the end of a message."""

from typing import List, Optional, Tuple


class RequestHead:
    """The request line and header fields of one request, already validated.

    ``headers`` keeps every field in the order received, duplicates included,
    with names as the client spelled them and values stripped of SP/HTAB only.
    """

    __slots__ = (
        "method",
        "target",
        "version",
        "headers",
        "content_length",
        "chunked",
        "expect_continue",
        "keep_alive",
        "key",
    )

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        headers: List[Tuple[str, str]],
        content_length: Optional[int] = None,
        chunked: bool = False,
        expect_continue: bool = False,
        keep_alive: bool = True,
        key: Optional[bytes] = None,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.content_length = content_length
        self.chunked = chunked
        self.expect_continue = expect_continue
        self.keep_alive = keep_alive
        #: The head's bytes when the parser remembered it (equal keys, equal
        #: heads: a consumer may cache what it derives from a head by this).
        self.key = key

    def __repr__(self) -> str:
        return f"RequestHead({self.method!r}, {self.target!r}, {self.version!r}, {self.headers!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestHead):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)


class Body:
    """A piece of the request body (de-chunked when the request was chunked)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Body({self.data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Body) and other.data == self.data


class EndOfMessage:
    """The request's body is complete; the parser moves on to the next request."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EndOfMessage()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EndOfMessage)

    def __hash__(self) -> int:
        return 0


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


#: ``next_event()`` returns this when it needs more bytes.
NEED_DATA = _NeedData()
END_OF_MESSAGE = EndOfMessage()
