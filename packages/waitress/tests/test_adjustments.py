"""``Adjustments``: conversions, listen resolution, and every rule and message of 3.0.2."""

import socket
import warnings
from decimal import Decimal
from fractions import Fraction

import pytest
from waitress import adjustments as adjustments_module
from waitress.adjustments import Adjustments, split_listen_entry
from waitress.options import OPTIONS


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")

INET = socket.AF_INET
INET6 = socket.AF_INET6
TCP = (socket.SOCK_STREAM, socket.IPPROTO_TCP)


def make(**kw):
    """Build Adjustments with DeprecationWarnings turned into errors unless expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        return Adjustments(**kw)


def addresses(adj):
    return [(family, sockaddr[:2]) for family, _type, _proto, sockaddr in adj.listen]


# --- defaults and conversions -------------------------------------------------------


def test_every_option_is_an_attribute_with_its_default():
    adj = make()
    for option in OPTIONS:
        if option.name in ("listen", "trusted_proxy_count"):
            continue
        value = getattr(adj, option.name)
        expected = list(option.default) if isinstance(option.default, tuple) else option.default
        assert value == expected, option.name
    assert adj.trusted_proxy_count == 1
    assert adj.listen == [(INET, *TCP, ("0.0.0.0", 8080))]
    assert adj.host == "0.0.0.0" and adj.port == 8080


def test_mutable_defaults_are_private_copies():
    first, second = make(), make()
    assert isinstance(first.trusted_proxy_headers, set)
    assert isinstance(first.sockets, list)
    first.trusted_proxy_headers.add("x")
    first.sockets.append("x")
    assert second.trusted_proxy_headers == set() and second.sockets == []


def test_class_attributes_of_collections_are_a_list_and_a_set():
    """Waitress's class attributes are ``sockets = []`` and
    ``trusted_proxy_headers = set()``; code reading them off the class (a
    subclass adding to the set, a schema built from it) must find those types,
    not the table's immutable tuple and frozenset."""
    assert type(Adjustments.sockets) is list and Adjustments.sockets == []
    assert type(Adjustments.trusted_proxy_headers) is set
    assert type(Adjustments.listen) is list


def test_class_attributes_hold_the_defaults():
    assert Adjustments.threads == 4
    assert Adjustments.listen == ["0.0.0.0:8080"]
    assert Adjustments.unix_socket_perms == 0o600


def test_socket_options_is_a_class_attribute_not_an_option():
    assert Adjustments.socket_options == [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    with pytest.raises(ValueError, match=r"^Unknown adjustment 'socket_options'$"):
        make(socket_options=[])


def test_unknown_adjustment():
    with pytest.raises(ValueError) as info:
        make(thread=3)
    assert str(info.value) == "Unknown adjustment 'thread'"


def test_strings_are_converted_as_paste_deploy_passes_them():
    adj = make(
        threads="8", ipv6="false", expose_tracebacks="yes", url_prefix="app/",
        ident="", trusted_proxy="127.0.0.1", trusted_proxy_count="2",
        trusted_proxy_headers="X-Forwarded-For\nx-forwarded-host", unix_socket_perms="660",
        channel_request_lookahead="3", server_name="example.org", url_scheme="https",
        max_request_body_size="0", asyncore_use_poll="on",
    )
    assert adj.threads == 8
    assert adj.ipv6 is False and adj.expose_tracebacks is True and adj.asyncore_use_poll is True
    assert adj.url_prefix == "/app"
    assert adj.ident is None
    assert adj.trusted_proxy == "127.0.0.1" and adj.trusted_proxy_count == 2
    assert adj.trusted_proxy_headers == {"x-forwarded-for", "x-forwarded-host"}
    assert adj.unix_socket_perms == 0o660
    assert adj.channel_request_lookahead == 3
    assert (adj.server_name, adj.url_scheme, adj.max_request_body_size) == (
        "example.org", "https", 0)


def test_python_values_are_accepted_as_waitress_accepts_them():
    adj = make(threads=2, ipv6=False, trusted_proxy="*",
               trusted_proxy_headers={"Forwarded"}, listen=["127.0.0.1:0"])
    assert adj.threads == 2 and adj.ipv6 is False
    assert adj.trusted_proxy_headers == {"forwarded"}
    assert addresses(adj) == [(INET, ("127.0.0.1", 0))]


class _NumpyLikeInteger:
    """An integer type of another library (numpy's int64 has ``__index__``)."""

    def __index__(self):
        return 6


@pytest.mark.parametrize(
    "value, expected",
    [(_NumpyLikeInteger(), 6), (Decimal("7"), 7), (Fraction(8, 1), 8), (True, 1)],
    ids=["index", "Decimal", "Fraction", "bool"],
)
def test_whole_numbers_of_other_types_are_accepted_as_waitress_accepts_them(value, expected):
    """Waitress took ``int()`` of any value: a config library's numpy
    integer or Decimal was refused here."""
    assert make(threads=value).threads == expected


@pytest.mark.parametrize("value", [Decimal("7.5"), Fraction(1, 2)], ids=["Decimal", "Fraction"])
def test_fractions_are_refused_not_cut(value):
    with pytest.raises(ValueError):
        make(threads=value)


@pytest.mark.parametrize("value", [0, -1, "0", -1000000, str(-(2**40))])
def test_send_bytes_is_ignored_whatever_integer_it_is_as_in_waitress(value):
    """An old configuration's ``send_bytes=0`` must not stop the server
    over an option that does nothing (the DeprecationWarning says so)."""
    with pytest.warns(DeprecationWarning):
        Adjustments(send_bytes=value)


def test_unix_socket_perms_as_int_raises_type_error_as_in_waitress():
    """A TypeError as in Waitress, but naming the option (int() said only
    "can't convert non-string with explicit base")."""
    with pytest.raises(TypeError) as raised:
        make(unix_socket="/tmp/x.sock", unix_socket_perms=0o600)
    assert "unix_socket_perms must be an octal permission mode such as '600'" in str(raised.value)


def test_unix_socket():
    adj = make(unix_socket="/tmp/app.sock", unix_socket_perms="666")
    assert adj.unix_socket == "/tmp/app.sock" and adj.unix_socket_perms == 0o666


def test_empty_trusted_proxy_means_none():
    assert make(trusted_proxy="").trusted_proxy is None


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"threads": "abc"}, "threads must be a positive integer, not 'abc'"),
        ({"threads": 0}, "threads must be a positive integer, not 0"),
        ({"threads": None}, "threads must be a positive integer, not None"),
        ({"port": "abc"}, "port must be an integer from 0 to 65535, not 'abc'"),
        ({"port": 65536}, "port must be an integer from 0 to 65535, not 65536"),
        ({"port": -1}, "port must be an integer from 0 to 65535, not -1"),
        ({"backlog": "-5"}, "backlog must be a non-negative integer, not '-5'"),
        ({"inbuf_overflow": -1}, "inbuf_overflow must be a non-negative integer, not -1"),
        ({"max_request_header_size": "0"}, "max_request_header_size must be a positive integer, not '0'"),
        ({"channel_timeout": "1.5"}, "channel_timeout must be a positive integer, not '1.5'"),
        ({"connection_limit": "0"}, "connection_limit must be a positive integer, not '0'"),
        ({"unix_socket_perms": "rw"}, "unix_socket_perms must be an octal permission mode such as '600', not 'rw'"),
    ],
)
def test_bad_values_name_the_option_and_the_rule(kw, message):
    with pytest.raises(ValueError) as info:
        make(**kw)
    assert str(info.value) == message


def test_a_value_of_the_wrong_type_names_the_option_and_the_cause():
    """A converter without a stated rule (``aslist``) still fails with the
    option's name and what went wrong, so ``serve(app, listen=8080)`` does not
    end in a bare "'int' object is not iterable" naming nothing."""
    with pytest.raises(TypeError) as info:
        make(listen=8080)
    assert str(info.value) == "listen: invalid value 8080 ('int' object is not iterable)"


def test_port_zero_is_allowed():
    assert make(host="127.0.0.1", port="0").port == 0


# --- host, port and listen ------------------------------------------------------------


def test_host_and_port_keep_the_values_passed_and_become_listen():
    adj = make(host="127.0.0.1", port=8111)
    assert adj.host == "127.0.0.1" and adj.port == 8111
    assert adj.listen == [(INET, *TCP, ("127.0.0.1", 8111))]


def test_host_alone_uses_the_default_port():
    assert addresses(make(host="127.0.0.1")) == [(INET, ("127.0.0.1", 8080))]


def test_port_alone_uses_the_default_host():
    assert addresses(make(port="8123")) == [(INET, ("0.0.0.0", 8123))]


def test_listen_several_entries():
    adj = make(listen="127.0.0.1:8001 127.0.0.1:8002\nlocalhost:8003")
    assert addresses(adj)[:2] == [(INET, ("127.0.0.1", 8001)), (INET, ("127.0.0.1", 8002))]
    assert (INET, ("127.0.0.1", 8003)) in addresses(adj)


def test_listen_entry_without_port_takes_the_default_port():
    assert addresses(make(listen="127.0.0.1")) == [(INET, ("127.0.0.1", 8080))]


@needs_ipv6
def test_listen_ipv6_brackets():
    assert addresses(make(listen="[::1]:8004")) == [(INET6, ("::1", 8004))]
    assert addresses(make(listen="[::1]")) == [(INET6, ("::1", 8080))]


@needs_ipv6
def test_listen_host_port_with_ipv6_host():
    assert addresses(make(host="::1", port=8005)) == [(INET6, ("::1", 8005))]


def test_listen_wildcard_covers_every_enabled_family():
    families = {family for family, _ in addresses(make(listen="*:8006"))}
    assert INET in families
    if socket.has_ipv6:
        assert INET6 in families
    assert addresses(make(listen="*:8006", ipv6=False)) == [(INET, ("0.0.0.0", 8006))]


@needs_ipv6
def test_listen_wildcard_ipv6_only():
    assert addresses(make(listen="*:8007", ipv4=False)) == [(INET6, ("::", 8007))]


def test_ipv6_disabled_restricts_host_names():
    assert {family for family, _ in addresses(make(listen="localhost:8008", ipv6=False))} == {INET}


def test_duplicates_are_removed():
    adj = make(listen="127.0.0.1:8009 127.0.0.1:8009 localhost:8009")
    assert addresses(adj).count((INET, ("127.0.0.1", 8009))) == 1


def test_port_zero_entries_are_never_duplicates():
    assert len(make(listen="127.0.0.1:0 127.0.0.1:0").listen) == 2


def test_zone_ids_are_ignored_when_comparing(monkeypatch):
    def fake_getaddrinfo(host, port, family, socktype, proto, flags):
        return [(INET6, socket.SOCK_STREAM, 6, "", (f"fe80::1%{host[-1]}", int(port), 0, 1))]

    monkeypatch.setattr(adjustments_module.socket, "getaddrinfo", fake_getaddrinfo)
    adj = make(listen="[fe80::1%1]:80 [fe80::1%2]:80")
    assert len(adj.listen) == 1


def test_getaddrinfo_is_asked_for_passive_tcp(monkeypatch):
    calls = []
    real = socket.getaddrinfo

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(adjustments_module.socket, "getaddrinfo", spy)
    make(listen="127.0.0.1:8010 *:8011", ipv6=False)
    assert calls == [
        ("127.0.0.1", "8010", INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, socket.AI_PASSIVE),
        (None, "8011", INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, socket.AI_PASSIVE),
    ]


def test_service_names_are_resolved(monkeypatch):
    try:
        socket.getservbyname("http", "tcp")
    except OSError:
        pytest.skip("no services database")
    assert addresses(make(listen="127.0.0.1:http")) == [(INET, ("127.0.0.1", 80))]


def test_service_names_refused_on_windows(monkeypatch):
    monkeypatch.setattr(adjustments_module, "IS_WINDOWS", True)
    with pytest.raises(ValueError) as info:
        make(listen="127.0.0.1:http")
    assert str(info.value) == "Windows does not support service names instead of port numbers"


@pytest.mark.parametrize(
    "listen", ["nosuch.invalid:80", "127.0.0.1:99999", "127.0.0.1:", "[::1:80", "[::1]x"]
)
def test_invalid_host_or_port(listen):
    with pytest.raises(ValueError, match=r"^Invalid host/port specified\. "):
        make(listen=listen)


@pytest.mark.parametrize(
    "listen, reason",
    [("127.0.0.1:99999", "port out of range"), ("127.0.0.1:65536", "port out of range"),
     ("127.0.0.1:", "no port after ':'"),
     ("[::1:80", "unbalanced brackets")],
)
def test_invalid_listen_entry_says_which_entry_and_why(listen, reason):
    """Waitress's bare "Invalid host/port specified." leaves a person guessing
    which of several --listen entries is wrong; the entry and the reason
    follow it in parentheses."""
    with pytest.raises(ValueError) as info:
        make(listen=listen)
    assert str(info.value) == f"Invalid host/port specified. ({listen!r}: {reason})"


def test_listen_takes_the_highest_port():
    """65535 is a valid TCP port; the range check refuses only what is above it."""
    assert addresses(make(listen="127.0.0.1:65535")) == [(INET, ("127.0.0.1", 65535))]


def test_resolver_down_is_a_value_error_of_its_own(monkeypatch):
    def resolver(*args, **kw):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(adjustments_module.socket, "getaddrinfo", resolver)
    with pytest.raises(adjustments_module.ResolverUnavailable) as info:
        make(listen="db.example:80")
    assert isinstance(info.value, ValueError)  # what Waitress raises, and callers catch
    assert str(info.value) == (
        "Invalid host/port specified. ('db.example:80': Temporary failure in name resolution)"
    )


def test_only_the_resolver_s_try_again_is_unavailable(monkeypatch):
    # Where socket has no EAI_AGAIN, an error without an errno (a host that
    # cannot be encoded) is still a plain refusal, not "try again later".
    def resolver(*args, **kw):
        raise UnicodeError("label too long")

    monkeypatch.setattr(adjustments_module, "EAI_AGAIN", None)
    monkeypatch.setattr(adjustments_module.socket, "getaddrinfo", resolver)
    with pytest.raises(ValueError) as info:
        make(listen="db.example:80")
    assert type(info.value) is ValueError


def test_empty_listen_is_refused():
    with pytest.raises(ValueError, match="listen must name at least one HOST:PORT"):
        make(listen="")


@pytest.mark.parametrize(
    "entry, split",
    [("a:1", ("a", "1")), ("a", ("a", "9")), ("*:1", (None, "1")), ("*", (None, "9")),
     ("[::1]:1", ("::1", "1")), ("[::1]", ("::1", "9")), ("::1:1", ("::1", "1"))],
)
def test_split_listen_entry(entry, split):
    assert split_listen_entry(entry, "9") == split


def test_no_socket_is_created(monkeypatch):
    def refuse(*args, **kw):
        raise AssertionError("Adjustments created a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    make(listen="127.0.0.1:0 localhost:8012", threads="2")


# --- conflicts: the key's presence counts, not its value ----------------------------------


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"listen": "127.0.0.1:1", "host": "127.0.0.1"}, "host or port may not be set if listen is set."),
        ({"listen": "127.0.0.1:1", "port": 8080}, "host or port may not be set if listen is set."),
        ({"listen": "127.0.0.1:1", "sockets": []}, "socket may not be set if listen is set."),
        ({"sockets": [], "host": "0.0.0.0"}, "host or port may not be set if sockets is set."),
        ({"sockets": [], "port": 1}, "host or port may not be set if sockets is set."),
        ({"sockets": [], "unix_socket": "/tmp/s"}, "unix_socket may not be set if sockets is set"),
        ({"unix_socket": "/tmp/s", "host": "0.0.0.0"}, "unix_socket may not be set if host or port is set"),
        ({"unix_socket": "/tmp/s", "port": 8080}, "unix_socket may not be set if host or port is set"),
        ({"unix_socket": "/tmp/s", "listen": "127.0.0.1:1"}, "unix_socket may not be set if listen is set"),
        ({"trusted_proxy_count": 2}, "trusted_proxy_count has no meaning without setting trusted_proxy"),
        ({"trusted_proxy_headers": "x-forwarded-for"},
         "trusted_proxy_headers has no meaning without setting trusted_proxy"),
        ({"trusted_proxy": "*", "trusted_proxy_headers": "forwarded x-forwarded-for"},
         "The Forwarded proxy header and the X-Forwarded-{By,Host,Proto,Port,For} headers are "
         "mutually exclusive. Can't trust both!"),
        ({"trusted_proxy": "*", "trusted_proxy_headers": "x-foo x-forwarded-for X-Bar"},
         "Received unknown trusted_proxy_headers value (x-bar, x-foo) expected one of forwarded, "
         "x-forwarded-by, x-forwarded-for, x-forwarded-host, x-forwarded-port, x-forwarded-proto"),
    ],
)
def test_rules_and_messages(kw, message):
    with pytest.raises(ValueError) as info:
        make(**kw)
    assert str(info.value) == message


def test_default_values_passed_explicitly_still_conflict():
    with pytest.raises(ValueError, match="unix_socket may not be set if host or port is set"):
        make(unix_socket="/tmp/s", host=Adjustments.host)


def test_proxy_settings_that_are_not_errors():
    make(clear_untrusted_proxy_headers=False, log_untrusted_proxy_headers=True)
    make(trusted_proxy_headers="")


def test_trusted_proxy_count_defaults_to_one():
    adj = make(trusted_proxy="10.0.0.1", trusted_proxy_headers="x-forwarded-for")
    assert adj.trusted_proxy_count == 1


def test_forwarded_alone_is_fine():
    adj = make(trusted_proxy="*", trusted_proxy_headers="Forwarded")
    assert adj.trusted_proxy_headers == {"forwarded"}


# --- warnings ----------------------------------------------------------------------------


def test_send_bytes_warning_points_at_the_line_that_passed_it():
    """A DeprecationWarning is only useful if it names the caller's line (the
    configuration to fix), not a line inside waitress that nobody can change."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Adjustments(send_bytes="9000")
    assert [w.filename for w in caught if w.category is DeprecationWarning] == [__file__]


def test_send_bytes_is_deprecated():
    with pytest.warns(DeprecationWarning, match="^send_bytes will be removed in a future release$"):
        adj = Adjustments(send_bytes="9000")
    assert adj.send_bytes == 9000


def test_trusted_proxy_without_headers_warns_and_implies_x_forwarded_proto():
    with pytest.warns(DeprecationWarning, match="^No proxy headers were marked as trusted, but "):
        adj = Adjustments(trusted_proxy="127.0.0.1")
    assert adj.trusted_proxy_headers == {"x-forwarded-proto"}


# --- address families ----------------------------------------------------------------------


def test_ipv4_disabled_without_ipv6_refuses_cowardly(monkeypatch):
    monkeypatch.setattr(adjustments_module, "HAS_IPV6", False)
    with pytest.raises(ValueError) as info:
        make(ipv4=False)
    assert str(info.value) == (
        "IPv4 is disabled but IPv6 is not available. Cowardly refusing to start."
    )


def test_both_families_disabled_is_refused():
    with pytest.raises(ValueError, match="ipv4 and ipv6 may not both be disabled"):
        make(ipv4=False, ipv6=False)


# --- pre-bound sockets ---------------------------------------------------------------------


@pytest.fixture
def open_sockets():
    made = []

    def opener(family, kind=socket.SOCK_STREAM):
        sock = socket.socket(family, kind)
        made.append(sock)
        return sock

    yield opener
    for sock in made:
        sock.close()


def test_sockets_are_kept_and_non_sockets_dropped(open_sockets):
    sock = open_sockets(INET)
    adj = make(sockets=[sock, "not a socket"])
    assert adj.sockets == [sock]


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")
def test_internet_and_unix_sockets_may_not_be_mixed(open_sockets):
    with pytest.raises(ValueError) as info:
        make(sockets=[open_sockets(INET), open_sockets(socket.AF_UNIX)])
    assert str(info.value) == "Internet and UNIX sockets may not be mixed."


def test_only_stream_sockets(open_sockets):
    with pytest.raises(ValueError) as info:
        make(sockets=[open_sockets(INET, socket.SOCK_DGRAM)])
    assert str(info.value) == "Only Internet or UNIX stream sockets may be used."


def _vsock_stream_socket():
    """A stream socket of a family neither Internet nor UNIX, where the system has one."""
    try:
        return socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    except (AttributeError, OSError):
        pytest.skip("no AF_VSOCK stream sockets here")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")
def test_a_stream_socket_of_another_family_is_refused():
    """A stream socket that is neither Internet nor UNIX (AF_VSOCK, a VM's
    channel to its host) is not something the server knows how to serve:
    it must be refused at start, not taken for a UNIX socket."""
    with _vsock_stream_socket() as vsock:
        with pytest.raises(ValueError) as info:
            make(sockets=[vsock])
    assert str(info.value) == "Only Internet or UNIX stream sockets may be used."


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")
def test_unix_stream_sockets_alone_are_fine(open_sockets):
    Adjustments.check_sockets([open_sockets(socket.AF_UNIX), open_sockets(socket.AF_UNIX)])


# --- parse_args (3.0.2's shape) ------------------------------------------------------------


def test_parse_args_returns_kw_and_args():
    kw, args = Adjustments.parse_args(
        ["--port=8080", "--no-ipv6", "--expose-tracebacks", "--listen=a:1", "--listen=b:2",
         "--call", "pkg.mod:factory"]
    )
    assert kw == {
        "help": False, "call": True, "port": "8080", "ipv6": "false",
        "expose_tracebacks": "true", "listen": "a:1 b:2",
    }
    assert args == ["pkg.mod:factory"]


def test_parse_args_help():
    kw, args = Adjustments.parse_args(["--help"])
    assert kw == {"help": True, "call": False} and args == []


def test_parse_args_refuses_unknown_options():
    with pytest.raises(ValueError, match="unknown option '--prot'"):
        Adjustments.parse_args(["--prot=1"])


def test_parse_args_output_builds_adjustments():
    kw, _args = Adjustments.parse_args(["--host=127.0.0.1", "--port=0", "--no-ipv6"])
    del kw["help"], kw["call"]
    adj = make(**kw)
    assert adj.ipv6 is False and adj.port == 0


@pytest.mark.parametrize("ident", ["sn\u2603w", "a\r\nX-Injected: y", "tab\tok\x7f"])
def test_an_ident_that_cannot_be_a_header_is_refused_at_start(ident):
    """It goes out as the Server header: non-Latin-1 made every response
    fail, and CR LF would have written a header of its own (audit AK)."""
    with pytest.raises(ValueError, match="ident must be a header value"):
        Adjustments(ident=ident)


def test_an_ident_with_latin1_and_tabs_is_taken():
    assert Adjustments(ident="caf\xe9\tserver").ident == "caf\xe9\tserver"
