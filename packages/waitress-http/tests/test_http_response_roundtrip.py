"""Property: any head the serializer accepts reads back the same through the stdlib."""

import http.client
import io
import string

from hypothesis import given, settings
from hypothesis import strategies as st
from waitress_http.response import HOP_BY_HOP_HEADERS, Response

TCHAR = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
VCHAR_AND_OBS_TEXT = "".join(chr(c) for c in range(0x21, 0x7F)) + "".join(
    chr(c) for c in range(0x80, 0x100)
)
SERVER_ADDED = {"content-length", "transfer-encoding", "connection", "date", "server", "via"}

names = st.text(alphabet=TCHAR, min_size=1, max_size=20).filter(
    lambda n: n.lower() not in HOP_BY_HOP_HEADERS and n.lower() != "content-length"
)
# A field value: no leading or trailing whitespace (parsers strip it as OWS),
# interior SP and HTAB allowed.
values = st.one_of(
    st.just(""),
    st.builds(
        lambda first, middle, last: first + middle + last if middle else first,
        st.sampled_from(VCHAR_AND_OBS_TEXT),
        st.text(alphabet=VCHAR_AND_OBS_TEXT + " \t", max_size=40),
        st.sampled_from(VCHAR_AND_OBS_TEXT),
    ),
)
statuses = st.builds(
    lambda code, reason: "%d %s" % (code, reason),
    st.integers(min_value=200, max_value=599),  # 1xx is refused, 600 and above invalid
    st.text(alphabet=VCHAR_AND_OBS_TEXT + " \t", max_size=30),
)


def read_back(head):
    """Split a head the way a client does: status line, then an RFC 5322 header block."""
    status_line, _, block = head.partition(b"\r\n")
    version, _, status = status_line.decode("latin-1").partition(" ")
    message = http.client.parse_headers(io.BytesIO(block))
    return version, status, [(name, value.strip(" \t")) for name, value in message.items()]


@settings(max_examples=300, deadline=None)
@given(
    status=statuses,
    headers=st.lists(st.tuples(names, values), max_size=15),
    version=st.sampled_from(["1.0", "1.1"]),
    method=st.sampled_from(["GET", "HEAD", "POST"]),
    keep_alive=st.booleans(),
    length=st.one_of(st.none(), st.integers(min_value=0, max_value=10**12)),
)
def test_head_round_trips(status, headers, version, method, keep_alive, length):
    if length is not None:
        headers = headers + [("Content-Length", str(length))]
    response = Response(version, method, keep_alive, "waitress")
    response.start_response(status, headers)
    head = response.head_bytes()
    assert head.endswith(b"\r\n\r\n")
    assert head.count(b"\r\n\r\n") == 1

    got_version, got_status, got_headers = read_back(head)
    assert got_version == "HTTP/" + version
    assert got_status == status

    code = int(status[:3])
    no_body = code < 200 or code in (204, 205, 304)  # 205: the server says 0
    expected = [h for h in headers if not (no_body and h[0] == "Content-Length")]
    assert got_headers[: len(expected)] == expected
    added = got_headers[len(expected) :]
    assert {name.lower() for name, _ in added} <= SERVER_ADDED
    # The framing the head announces is never ambiguous.
    lowered = [name.lower() for name, _ in got_headers]
    assert lowered.count("content-length") <= 1
    assert not ("content-length" in lowered and "transfer-encoding" in lowered)
