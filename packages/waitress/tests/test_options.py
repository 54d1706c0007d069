"""The option table: Waitress 3.0.2's 34 names, defaults and converters."""

import socket

import pytest
from waitress.adjustments import KNOWN_PROXY_HEADERS
from waitress.options import (
    OPTIONS,
    OPTIONS_BY_NAME,
    IntRange,
    Option,
    as_socket_list,
    asbool,
    aslist,
    asoctal,
    asset,
    slash_fixed_str,
    str_iftruthy,
)

# name -> default, in the order of the facts' table (waitress 3.0.2).
WAITRESS_302 = {
    "host": "0.0.0.0",
    "port": 8080,
    "listen": ("0.0.0.0:8080",),
    "ipv4": True,
    "ipv6": True,
    "unix_socket": None,
    "unix_socket_perms": 0o600,
    "sockets": (),
    "server_name": "waitress.invalid",
    "threads": 4,
    "trusted_proxy": None,
    "trusted_proxy_count": None,
    "trusted_proxy_headers": frozenset(),
    "log_untrusted_proxy_headers": False,
    "clear_untrusted_proxy_headers": True,
    "url_scheme": "http",
    "url_prefix": "",
    "ident": "waitress",
    "backlog": 1024,
    "recv_bytes": 8192,
    "send_bytes": 1,
    "outbuf_overflow": 1048576,
    "outbuf_high_watermark": 16777216,
    "inbuf_overflow": 524288,
    "connection_limit": 100,
    "cleanup_interval": 30,
    "channel_timeout": 120,
    "log_socket_errors": True,
    "max_request_header_size": 262144,
    "max_request_body_size": 1073741824,
    "expose_tracebacks": False,
    "asyncore_loop_timeout": 1,
    "asyncore_use_poll": False,
    "channel_request_lookahead": 0,
}

BOOLEANS = {
    "ipv4", "ipv6", "log_untrusted_proxy_headers", "clear_untrusted_proxy_headers",
    "log_socket_errors", "expose_tracebacks", "asyncore_use_poll",
}


def test_names_and_order_are_waitress_302():
    assert len(OPTIONS) == 34
    assert [option.name for option in OPTIONS] == list(WAITRESS_302)


@pytest.mark.parametrize("name, default", WAITRESS_302.items())
def test_defaults(name, default):
    assert OPTIONS_BY_NAME[name].default == default
    assert type(OPTIONS_BY_NAME[name].default) is type(default)


def test_flags_are_exactly_the_booleans():
    assert {option.name for option in OPTIONS if option.flag} == BOOLEANS
    for option in OPTIONS:
        assert (option.convert is asbool) == option.flag, option.name


def test_every_option_documented_and_grouped():
    for option in OPTIONS:
        assert isinstance(option, Option)
        assert option.help.strip().endswith((".", ")")), option.name
        assert 10 < len(option.help) < 260, option.name
        assert option.group in {"Standard options", "Proxy options", "Tuning options"}


def test_only_sockets_is_hidden_from_the_command_line():
    assert [option.name for option in OPTIONS if not option.cli] == ["sockets"]


def test_defaults_are_immutable_so_the_table_cannot_be_changed_by_accident():
    for option in OPTIONS:
        assert not isinstance(option.default, (list, set, dict)), option.name


@pytest.mark.parametrize("text", ["t", "true", "True", "Y", "yes", "ON", "1", " yes "])
def test_asbool_truthy(text):
    assert asbool(text) is True


@pytest.mark.parametrize("value", ["f", "false", "no", "off", "0", "", "2", "tru", None, False, 0])
def test_asbool_falsy(value):
    assert asbool(value) is False


def test_asbool_keeps_bools_and_reads_ints_as_text():
    assert asbool(True) is True
    assert asbool(1) is True


def test_aslist_splits_lines_then_whitespace():
    assert aslist("a b\n c\td \n\n e") == ["a", "b", "c", "d", "e"]
    assert aslist(["a b", "c"]) == ["a", "b", "c"]
    assert aslist("") == []


def test_asset():
    assert asset("X-Forwarded-For\nforwarded  forwarded") == {"X-Forwarded-For", "forwarded"}


def test_asoctal():
    assert asoctal("600") == 0o600
    assert asoctal("0777") == 0o777
    with pytest.raises(ValueError, match="expected an octal permission mode"):
        asoctal("800")
    with pytest.raises(ValueError):
        asoctal("17777")


def test_asoctal_takes_every_mode_up_to_7777():
    """chmod takes the setuid, setgid and sticky bits too: "7777" is a mode a
    person may write for a UNIX socket, and 10000 is the first that is not."""
    assert asoctal("7777") == 0o7777
    assert asoctal("0") == 0
    with pytest.raises(ValueError):
        asoctal("10000")


def test_asoctal_refuses_ints_as_waitress_does():
    with pytest.raises(TypeError):
        asoctal(0o600)


@pytest.mark.parametrize(
    "text, fixed",
    [("", ""), ("  ", ""), ("/", ""), ("app", "/app"), ("/app/", "/app"),
     ("//app//", "/app"), ("a/b/", "/a/b"), (" /x ", "/x")],
)
def test_slash_fixed_str(text, fixed):
    assert slash_fixed_str(text) == fixed


@pytest.mark.parametrize("value", [None, 5, b"/app"])
def test_slash_fixed_str_takes_only_strings(value):
    with pytest.raises(ValueError):
        slash_fixed_str(value)


def test_str_iftruthy():
    assert str_iftruthy("") is None
    assert str_iftruthy(None) is None
    assert str_iftruthy("x") == "x"
    assert str_iftruthy(5) == "5"


def test_as_socket_list_drops_what_is_not_a_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        assert as_socket_list([sock, "x", 3, None]) == [sock]
        assert as_socket_list("abc") == []
    finally:
        sock.close()


def test_int_range_messages():
    assert IntRange(1).expects == "a positive integer"
    assert IntRange(0).expects == "a non-negative integer"
    assert IntRange(0, 65535).expects == "an integer from 0 to 65535"
    assert IntRange(2).expects == "an integer of at least 2"
    with pytest.raises(ValueError, match="^expected a positive integer$"):
        IntRange(1)("0")


@pytest.mark.parametrize("value, number", [("12", 12), (" 12 ", 12), (7, 7), (3.0, 3), (True, 1)])
def test_int_range_accepts(value, number):
    assert IntRange(0)(value) == number


@pytest.mark.parametrize("value", ["", "abc", "1.5", "-1", 2.5, None, [1], "0x10"])
def test_int_range_refuses(value):
    with pytest.raises(ValueError):
        IntRange(0)(value)


def test_known_proxy_headers():
    assert KNOWN_PROXY_HEADERS == {
        "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
        "x-forwarded-port", "x-forwarded-by", "forwarded",
    }


@pytest.mark.parametrize(
    "arg, message",
    [
        ("--unix-socket-perms=rw",
         "--unix-socket-perms: invalid value 'rw' (expected an octal permission mode such as '600')"),
        ("--unix-socket-perms=17777",
         "--unix-socket-perms: invalid value '17777' (expected an octal permission mode such as '600')"),
        ("--port=70000", "--port: invalid value '70000' (expected an integer from 0 to 65535)"),
        ("--backlog=-1", "--backlog: invalid value '-1' (expected a non-negative integer)"),
        ("--send-bytes=x", "--send-bytes: invalid value 'x' (expected an integer)"),
    ],
)
def test_command_line_shows_the_converters_own_words(arg, message):
    """The command line prints the converter's message after the value, so
    that message is the rule a person reads when a value is refused."""
    from waitress_cli import UsageError, parse

    with pytest.raises(UsageError) as info:
        parse([arg, "app:app"], OPTIONS)
    assert str(info.value) == message


def test_a_refused_ident_is_reported_as_the_server_header():
    """--ident becomes the Server header; a refused value is explained in
    terms of that header, which is where the person will look for it."""
    from waitress_cli import UsageError, parse

    with pytest.raises(UsageError) as info:
        parse(["--ident=a\x01b", "app:app"], OPTIONS)
    assert str(info.value).startswith("--ident: invalid value 'a\\x01b' (")
    assert "header 'Server'" in str(info.value)
