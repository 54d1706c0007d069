"""Property tests (hypothesis): any header text gives a result or our error, and
generated hop lists always pick the hop ``trusted_proxy_count`` from the right."""

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from waitress_proxy import (  # noqa: E402
    MalformedProxyHeader,
    ProxySettings,
    apply_proxy_headers,
)

PROXY = "10.0.0.1"
KEYS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_BY")
X_TRUST = "x-forwarded-for x-forwarded-host x-forwarded-proto x-forwarded-port x-forwarded-by"

latin1_text = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255), max_size=60)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: "%d.%d.%d.%d" % t)


def base_environ():
    return {"REMOTE_ADDR": PROXY, "REMOTE_HOST": PROXY, "REMOTE_PORT": "1",
            "wsgi.url_scheme": "http", "SERVER_NAME": "waitress.invalid",
            "SERVER_PORT": "8080", "HTTP_HOST": "example.org"}


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(st.sampled_from(KEYS), latin1_text, min_size=1),
       forwarded=st.booleans(), count=st.integers(1, 4))
def test_any_value_gives_a_result_or_our_error(values, forwarded, count):
    proxy_settings = ProxySettings(trusted_proxy=PROXY, trusted_proxy_count=count,
                                   trusted_proxy_headers="forwarded" if forwarded else X_TRUST)
    environ = base_environ()
    environ.update(values)
    before = dict(environ)
    try:
        apply_proxy_headers(environ, proxy_settings)
    except MalformedProxyHeader as error:
        assert environ == before
        assert error.header in ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
                                "X-Forwarded-Proto", "X-Forwarded-Port")
        return
    assert environ["wsgi.url_scheme"] in ("http", "https")
    assert "[" not in environ["REMOTE_ADDR"]
    assert environ["SERVER_PORT"].isdigit() and int(environ["SERVER_PORT"]) <= 65535


@settings(max_examples=200, deadline=None)
@given(hops=st.lists(ipv4, min_size=1, max_size=12), count=st.integers(1, 15),
       spaces=st.sampled_from([",", ", ", " ,\t"]))
def test_xff_picks_the_hop_count_from_the_right(hops, count, spaces):
    environ = base_environ()
    environ["HTTP_X_FORWARDED_FOR"] = spaces.join(hops)
    apply_proxy_headers(environ, ProxySettings(trusted_proxy=PROXY, trusted_proxy_count=count,
                                               trusted_proxy_headers="x-forwarded-for"))
    trusted = hops[-count:]
    assert environ["REMOTE_ADDR"] == trusted[0]
    assert environ["HTTP_X_FORWARDED_FOR"] == ", ".join(trusted)


@settings(max_examples=200, deadline=None)
@given(hops=st.lists(ipv4, min_size=1, max_size=12), count=st.integers(1, 15))
def test_forwarded_picks_the_element_count_from_the_right(hops, count):
    environ = base_environ()
    environ["HTTP_FORWARDED"] = ", ".join("for=" + hop for hop in hops)
    apply_proxy_headers(environ, ProxySettings(trusted_proxy=PROXY, trusted_proxy_count=count,
                                               trusted_proxy_headers="forwarded"))
    trusted = hops[-count:]
    assert environ["REMOTE_ADDR"] == trusted[0]
    assert environ["HTTP_FORWARDED"] == ", ".join("for=" + hop for hop in trusted)


@settings(max_examples=200, deadline=None)
@given(values=st.dictionaries(st.sampled_from(KEYS), latin1_text, min_size=1),
       peer=st.sampled_from(["203.0.113.5", "localhost", "::1"]))
def test_untrusted_peer_is_never_influenced(values, peer):
    environ = base_environ()
    environ["REMOTE_ADDR"] = peer
    environ.update(values)
    apply_proxy_headers(environ, ProxySettings(trusted_proxy=PROXY,
                                               trusted_proxy_headers=X_TRUST))
    expected = base_environ()
    expected["REMOTE_ADDR"] = peer
    assert environ == expected
