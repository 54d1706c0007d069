"""The one error this package raises per request: a trusted header that cannot be used.

A malformed header from a peer we trust is a configuration or proxy bug, so the
request is refused (400) rather than served with half-applied values.  The
exception carries the header name, a short reason and the offending value so
that the caller can both answer the client and log what went wrong.
"""

__all__ = ["MalformedProxyHeader"]


class MalformedProxyHeader(ValueError):
    """A trusted proxy header whose value breaks its grammar.

    ``header`` is the header's name as sent on the wire (``"X-Forwarded-Proto"``),
    ``reason`` a short human explanation and ``value`` the raw value.  ``str()``
    gives the detail a server puts in its 400 response; it leaves the value out,
    since that is client-controlled and may be large.
    """

    code = 400
    reason_phrase = "Bad Request"

    def __init__(self, header: str, reason: str, value: str) -> None:
        super().__init__(header, reason, value)
        self.header = header
        self.reason = reason
        self.value = value

    def __str__(self) -> str:
        return "Header {!r} malformed: {}".format(self.header, self.reason)
