"""The one error this package raises per request: a trusted header that cannot be used.

A malformed header from a peer we trust is a configuration or proxy bug, so the
request is refused (400) rather than served with half-applied values.  The
exception carries the header name, a short reason and the offending value so
that the caller can both answer the client and log what went wrong.
"""

__all__ = ["LOG_MESSAGE", "MalformedProxyHeader"]

#: The warning a malformed trusted header is logged with, in Waitress's
#: words; ``MalformedProxyHeader.log_args(peer)`` gives its arguments.
LOG_MESSAGE = 'Malformed proxy header "%s" from "%s": %s value: %s'

#: Characters of the offending value a log line quotes (the rest is counted).
LOGGED_VALUE_LIMIT = 256

# Control characters as they are quoted in a log line: C0 and DEL cannot
# reach a header value, but C1 can (obs-text, read as Latin-1), and NEL
# (U+0085) ends a line for readers such as str.splitlines(): a client
# could forge the next line of the log.
_CONTROL_ESCAPES = {c: "\\x%02x" % c for c in (*range(0x20), *range(0x7F, 0xA0))}


class MalformedProxyHeader(ValueError):
    """A trusted proxy header whose value breaks its grammar.

    ``header`` is the header's name as sent on the wire (``"X-Forwarded-Proto"``),
    ``reason`` a short human explanation and ``value`` the raw value.  ``str()``
    gives the detail a server puts in its 400 response (Waitress's words, then
    the reason); it leaves the value out, since that is client-controlled and
    may be large.  A server and the middleware answer and log alike.
    """

    code = 400
    reason_phrase = "Bad Request"

    def __init__(self, header: str, reason: str, value: str) -> None:
        super().__init__(header, reason, value)
        self.header = header
        self.reason = reason
        self.value = value

    def __str__(self) -> str:
        return 'Header "{}" malformed. {}'.format(self.header, self.reason)

    def log_args(self, peer: object) -> tuple:
        """The arguments of ``LOG_MESSAGE`` for a request from ``peer``, the
        value cut short (a 200 KB header is not logged whole) and its control
        characters escaped (``\\x85``), as is the reason, which may quote it."""
        value = self.value
        if len(value) > LOGGED_VALUE_LIMIT:
            value = "{}... ({} more characters)".format(
                value[:LOGGED_VALUE_LIMIT], len(value) - LOGGED_VALUE_LIMIT
            )
        return (
            self.header,
            peer,
            self.reason.translate(_CONTROL_ESCAPES),
            value.translate(_CONTROL_ESCAPES),
        )
