"""Where the server listens: TCP ports, several listeners, IPv6, UNIX sockets,
pre-bound sockets, and what it does to accepted sockets.

Each test talks to the real server over a real socket; a server that binds
the wrong place or serves through the wrong listener fails the request.
"""

import errno
import http.client
import json
import logging
import os
import socket
import stat
import threading

import pytest
from fixtureapps import echo, hello
from server_support import (
    RawConnection,
    ThreadedServer,
    get,
    ipv6_loopback_available,
    listen_addresses,
    needs_unix,
    tcp_address,
    two_free_ports,
    wait_until,
)
from waitress.server import BaseWSGIServer

needs_ipv6 = pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")


def test_port_zero_gets_an_ephemeral_port_reported_as_effective_port():
    with ThreadedServer(hello.app, host="127.0.0.1", port=0) as server:
        host, port = tcp_address(server)
        assert host == "127.0.0.1"
        assert 0 < port < 65536
        assert str(server.effective_port) == str(port)
        response = get((host, port), "/")
        assert response.status == 200
        assert response.body == hello.BODY


def test_server_port_in_environ_is_the_bound_port_as_a_string():
    with ThreadedServer(echo.app) as server:
        target = tcp_address(server)
        environ = get(target, "/").json()
        assert environ["SERVER_PORT"] == str(target[1])
        assert environ["REMOTE_ADDR"] == "127.0.0.1"
        assert environ["REMOTE_PORT"].isdigit()


def test_two_listen_entries_make_one_multi_socket_server_serving_both():
    from waitress.server import MultiSocketServer

    first, second = two_free_ports()
    with ThreadedServer(echo.app, listen="127.0.0.1:%d 127.0.0.1:%d" % (first, second)) as server:
        assert isinstance(server, MultiSocketServer)
        addresses = listen_addresses(server)
        assert sorted(port for _, port in addresses) == sorted([first, second])
        for port in (first, second):
            environ = get(("127.0.0.1", port), "/which").json()
            assert environ["SERVER_PORT"] == str(port)
            assert environ["PATH_INFO"] == "/which"


def test_multi_socket_server_print_listen_logs_every_listener(waitress_log):
    first, second = two_free_ports()
    with ThreadedServer(hello.app, listen="127.0.0.1:%d 127.0.0.1:%d" % (first, second)) as server:
        server.print_listen("Serving on http://{}:{}")
        messages = [r.getMessage() for r in waitress_log.records if r.name == "waitress"]
        for host, port in listen_addresses(server):
            assert "Serving on http://%s:%d" % (host, port) in messages


def test_print_listen_of_a_single_server(waitress_log):
    with ThreadedServer(hello.app) as server:
        host, port = tcp_address(server)
        server.print_listen("Serving on http://{}:{}")
        messages = [r.getMessage() for r in waitress_log.records if r.name == "waitress"]
        assert "Serving on http://%s:%d" % (host, port) in messages


@pytest.mark.parametrize("listeners", [1, 2])
def test_print_listen_goes_through_log_info(listeners, monkeypatch):
    """As in Waitress: code that overrides log_info gets the banner (audit AJ)."""
    listen = " ".join("127.0.0.1:%d" % port for port in two_free_ports()[:listeners])
    seen = []

    class Recording(BaseWSGIServer):
        def log_info(self, message, type="info"):
            seen.append((type, message))

    # A subclass overriding log_info, with several listeners too (audit AK).
    monkeypatch.setattr(BaseWSGIServer, "log_info", Recording.log_info)
    with ThreadedServer(hello.app, listen=listen) as server:
        server.print_listen("Serving on http://{}:{}")
    assert [message for _, message in seen] == [
        "Serving on http://%s:%d" % address for address in listen_addresses(server)
    ]


def test_a_listener_out_of_descriptors_rests_instead_of_spinning(waitress_log):
    """accept() failing with EMFILE used to be retried at once, for as long
    as it lasted: a core at 100% and 100,000 log lines a second (audit AJ)."""
    with ThreadedServer(hello.app) as server:
        real_accept = server._accept
        calls = []
        starved = threading.Event()
        starved.set()

        def accept():
            calls.append(1)
            if starved.is_set():
                raise OSError(errno.EMFILE, "Too many open files")
            return real_accept()

        server._accept = accept
        client = socket.create_connection(tcp_address(server), timeout=10)
        try:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert wait_until(lambda: len(calls) >= 2, timeout=5)
            threading.Event().wait(0.5)  # long enough for thousands of retries
            tries_while_starved = len(calls)
            starved.clear()  # descriptors again: the connection is served
            assert client.recv(1024).startswith(b"HTTP/1.1 200 ")
        finally:
            client.close()
    assert tries_while_starved < 20
    warnings = [r for r in waitress_log.records if "accept() threw" in r.getMessage()]
    assert len(warnings) == 1  # one line per episode


def test_a_connection_accepted_without_an_address_is_dropped_quietly(waitress_log):
    """macOS's accept() returns no address for a client that reset before
    it, on an IPv6 listener: that is a peer gone, not a server bug (it was
    logged as an ERROR with a traceback for each one)."""
    with ThreadedServer(hello.app) as server:
        real_accept = server._accept
        dropped = []

        def accept():
            sock, addr = real_accept()
            if not dropped:
                dropped.append(sock)
                return sock, None
            return sock, addr

        server._accept = accept
        gone = socket.create_connection(tcp_address(server), timeout=10)
        try:
            assert gone.recv(1024) == b"", "closed by the server"
        finally:
            gone.close()
        assert get(tcp_address(server), "/").status == 200
    assert dropped
    assert [r for r in waitress_log.records if r.levelno >= logging.WARNING] == []


def test_star_wildcard_listens_on_every_family():
    """``*`` means every address family getaddrinfo offers (may not be possible here)."""
    try:
        context = ThreadedServer(hello.app, listen="*:0")
        server = context.__enter__()
    except OSError as error:
        pytest.skip("cannot bind the wildcard here: %s" % error)
    try:
        addresses = listen_addresses(server)
        hosts = {host for host, _ in addresses}
        assert "0.0.0.0" in hosts
        if ipv6_loopback_available():
            assert "::" in hosts
        for host, port in addresses:
            loopback = "::1" if ":" in host else "127.0.0.1"
            assert get((loopback, port), "/").status == 200
    finally:
        context.__exit__(None, None, None)


@needs_ipv6
def test_ipv6_loopback_listener_serves_and_reports_peer():
    with ThreadedServer(echo.app, listen="[::1]:0") as server:
        host, port = tcp_address(server)
        assert host == "::1"
        environ = get(("::1", port), "/six").json()
        assert environ["REMOTE_ADDR"] == "::1"
        assert environ["PATH_INFO"] == "/six"


@needs_ipv6
def test_ipv4_and_ipv6_listeners_together():
    with ThreadedServer(echo.app, listen="127.0.0.1:0 [::1]:0") as server:
        addresses = listen_addresses(server)
        assert {host for host, _ in addresses} == {"127.0.0.1", "::1"}
        for host, port in addresses:
            assert get((host, port), "/").json()["REMOTE_ADDR"] == host


@needs_unix
def test_unix_socket_serves_with_requested_permissions(tmp_path):
    from waitress.server import UnixWSGIServer

    path = str(tmp_path / "server.sock")
    with ThreadedServer(echo.app, unix_socket=path, unix_socket_perms="660") as server:
        assert isinstance(server, UnixWSGIServer)
        assert str(server.effective_port) == path
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        environ = get(path, "/over/unix").json()
        assert environ["PATH_INFO"] == "/over/unix"
        assert environ["REMOTE_ADDR"] == "localhost"


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a UNIX socket: only connect() differs."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


@needs_unix
def test_unix_socket_with_http_client_keep_alive(tmp_path):
    path = str(tmp_path / "client.sock")
    with ThreadedServer(echo.app, unix_socket=path) as server:
        conn = UnixHTTPConnection(path)
        try:
            for index in range(3):
                conn.request("POST", "/n%d" % index, body=b"payload %d" % index)
                response = conn.getresponse()
                environ = json.loads(response.read())
                assert environ["PATH_INFO"] == "/n%d" % index
                assert environ["body"] == "payload %d" % index
                assert not response.will_close
            # The connection's address is the listener's fixed one, as in
            # Waitress (a UNIX peer has no address of its own).
            assert [c.addr for c in server.active_channels.values()] == [("localhost", None)]
        finally:
            conn.close()


@needs_ipv6
def test_ipv6_with_http_client():
    with ThreadedServer(hello.app, listen="[::1]:0") as server:
        conn = http.client.HTTPConnection("::1", tcp_address(server)[1], timeout=10)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, hello.BODY)
        finally:
            conn.close()


@needs_unix
def test_unix_socket_default_permissions_are_600(tmp_path):
    path = str(tmp_path / "default.sock")
    with ThreadedServer(hello.app, unix_socket=path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert get(path, "/").status == 200


@needs_unix
def test_stale_unix_socket_file_is_replaced(tmp_path):
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays behind with nobody listening
    assert os.path.exists(path)
    with ThreadedServer(hello.app, unix_socket=path):
        assert get(path, "/").body == hello.BODY


@needs_unix
@pytest.mark.parametrize("in_the_way", ["file", "directory"])
def test_a_file_in_the_way_of_the_unix_socket_is_named_and_kept(tmp_path, in_the_way):
    """bind() said only "Address already in use"; nothing that is not a
    socket is ever removed."""
    from waitress import create_server

    path = tmp_path / "app.sock"
    if in_the_way == "file":
        path.write_text("keep me")
    else:
        path.mkdir()
    with pytest.raises(OSError) as refused:
        create_server(hello.app, unix_socket=str(path))
    assert refused.value.errno == errno.EADDRINUSE
    assert "is in the way" in str(refused.value) and str(path) in str(refused.value)
    assert path.exists()


@needs_unix
def test_a_unix_socket_path_too_long_for_an_address_says_the_limit(tmp_path):
    from waitress import create_server

    path = str(tmp_path / ("x" * 120))
    with pytest.raises(OSError) as refused:
        create_server(hello.app, unix_socket=path)
    assert "bytes at most" in str(refused.value) and path in str(refused.value)


def test_unix_socket_where_there_are_none_is_refused_not_replaced_by_a_public_port(monkeypatch, tmp_path):
    """Without AF_UNIX (Windows), ``unix_socket`` was ignored and the server
    listened on ``listen``, 0.0.0.0:8080 by default: a public port for a
    server meant to be reachable only locally."""
    import waitress.server
    from waitress import create_server

    def no_tcp_listener(*args, **kw):
        raise AssertionError("a TCP listener was made for unix_socket")

    monkeypatch.setattr(waitress.server, "TcpWSGIServer", no_tcp_listener)
    monkeypatch.delattr(socket, "AF_UNIX", raising=False)
    path = str(tmp_path / "app.sock")
    with pytest.raises(ValueError, match="UNIX sockets are not available") as refused:
        create_server(hello.app, unix_socket=path)
    assert path in str(refused.value)


@needs_unix
def test_a_live_unix_socket_is_not_taken_over(tmp_path):
    """Unlinking the socket of a running server would silently cut it off
    from every new client; a second server must refuse the path instead."""
    from waitress import create_server

    path = str(tmp_path / "live.sock")
    with ThreadedServer(hello.app, unix_socket=path):
        with pytest.raises(OSError) as refused:
            create_server(hello.app, unix_socket=path)
        assert refused.value.errno == errno.EADDRINUSE
        assert path in str(refused.value)
        assert get(path, "/").body == hello.BODY  # the first one still serves


@needs_unix
def test_a_unix_socket_too_busy_to_accept_is_not_taken_over(tmp_path):
    """A listener with a full backlog (a paused or overloaded server) does not
    refuse the probe, it fails it (EAGAIN): still not a stale file."""
    from waitress import create_server

    path = str(tmp_path / "busy.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(0)
    queued = []
    try:
        while True:  # fill the backlog; nobody accepts
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.setblocking(False)
            queued.append(client)
            try:
                client.connect(path)
            except BlockingIOError:
                break
        with pytest.raises(OSError) as refused:
            create_server(hello.app, unix_socket=path)
        assert refused.value.errno == errno.EADDRINUSE
        assert os.path.exists(path)
    finally:
        for client in queued:
            client.close()
        listener.close()


@needs_unix
def test_a_refused_unix_socket_leaves_no_worker_threads(tmp_path):
    from waitress import create_server

    path = str(tmp_path / "live.sock")
    with ThreadedServer(hello.app, unix_socket=path):
        before = threading.active_count()
        for _ in range(3):
            with pytest.raises(OSError):
                create_server(hello.app, unix_socket=path, threads=4)
        assert wait_until(lambda: threading.active_count() <= before, timeout=10)


@needs_unix
def test_a_server_failing_after_bind_removes_its_socket_file(tmp_path, monkeypatch):
    from waitress import create_server
    from waitress.server import UnixWSGIServer

    def broken(self):
        raise OSError(errno.EIO, "failing after bind")

    monkeypatch.setattr(UnixWSGIServer, "getsockname", broken)
    path = str(tmp_path / "failing.sock")
    with pytest.raises(OSError):
        create_server(hello.app, unix_socket=path)
    assert not os.path.exists(path)


@needs_unix
def test_the_socket_file_goes_when_the_server_stops(tmp_path):
    path = str(tmp_path / "gone.sock")
    with ThreadedServer(hello.app, unix_socket=path):
        assert get(path, "/").body == hello.BODY
    assert not os.path.exists(path)


@needs_unix
def test_a_socket_file_bound_since_by_another_is_left_alone(tmp_path):
    path = str(tmp_path / "replaced.sock")
    context = ThreadedServer(hello.app, unix_socket=path)
    context.__enter__()
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
        other.bind(path)  # someone else's socket at the same path now
        assert context.stop()
        assert os.path.exists(path)
    finally:
        other.close()
        context.__exit__(None, None, None)


def test_a_listener_that_cannot_bind_is_named_in_the_error():
    """With several listeners, the error says which address was taken."""
    from waitress import create_server

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(OSError) as refused:
            create_server(hello.app, listen="127.0.0.1:0 127.0.0.1:%d" % port)
    assert refused.value.errno == errno.EADDRINUSE
    assert "127.0.0.1:%d" % port in str(refused.value)


def test_prebound_tcp_socket_is_used_as_is():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    bound_port = sock.getsockname()[1]
    try:
        with ThreadedServer(echo.app, sockets=[sock]) as server:
            assert int(server.effective_port) == bound_port
            environ = get(("127.0.0.1", bound_port), "/prebound").json()
            assert environ["PATH_INFO"] == "/prebound"
            assert environ["SERVER_PORT"] == str(bound_port)
    finally:
        sock.close()


def test_two_prebound_sockets_are_both_served():
    socks = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        socks.append(sock)
    try:
        with ThreadedServer(hello.app, sockets=socks):
            for sock in socks:
                assert get(sock.getsockname(), "/").status == 200
    finally:
        for sock in socks:
            sock.close()


@needs_unix
def test_prebound_unix_socket(tmp_path):
    path = str(tmp_path / "prebound.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    try:
        with ThreadedServer(hello.app, sockets=[sock]):
            assert get(path, "/").body == hello.BODY
    finally:
        sock.close()


def test_backlog_is_accepted_and_kept():
    with ThreadedServer(hello.app, backlog=7) as server:
        assert server.adj.backlog == 7
        assert get(tcp_address(server), "/").status == 200


def _accepted_channel_sockets(server):
    """The sockets of the server's connection channels (not its listener)."""
    channels = getattr(server, "active_channels", None)
    objects = list(channels.values()) if channels else list(server._map.values())
    found = []
    for obj in objects:
        sock = getattr(obj, "socket", None)
        if obj is server or sock is None:
            continue
        try:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.getpeername():
                found.append(sock)
        except OSError:
            continue
    return found


def test_accepted_sockets_get_tcp_nodelay():
    with ThreadedServer(hello.app) as server:
        option = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert option in list(server.adj.socket_options)
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/")
            assert conn.read_response().status == 200  # accepted and alive
            sockets = wait_until(lambda: _accepted_channel_sockets(server), timeout=5)
            assert sockets, "no channel for the open connection"
            for sock in sockets:
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_connection_limit_defers_the_extra_connection_without_dropping_it(waitress_log):
    with ThreadedServer(hello.app, connection_limit=2) as server:
        target = tcp_address(server)
        first, second = RawConnection(target), RawConnection(target)
        try:
            for conn in (first, second):
                conn.request("GET", "/held")
                assert conn.read_response().status == 200  # both accepted, kept alive
            third = RawConnection(target)  # the kernel queues it; the server must not serve it yet
            try:
                third.request("GET", "/third")
                assert third.is_idle_open(0.5), "served a connection beyond connection_limit"
                first.close()
                response = third.read_response()
                assert response.status == 200
                assert response.body == hello.BODY
            finally:
                third.close()
        finally:
            first.close()
            second.close()
    messages = " ".join(r.getMessage() for r in waitress_log.records)
    assert "connection limit" in messages


def test_reading_in_connection_overflow_from_another_thread_makes_no_slots():
    """The slots are the loop thread's to make: a reader that made them
    first could have its copy replaced by the loop's (an overflow then
    recorded on the lost one was never ended)."""
    with ThreadedServer(hello.app) as server:
        assert server.in_connection_overflow is False
        assert server._slots is None, "made by a reader, not by the loop"
        assert get(tcp_address(server), "/").status == 200
        assert server._slots is not None


def test_reaching_the_connection_limit_again_soon_is_counted_not_logged(monkeypatch, waitress_log):
    """A busy server at its limit enters and leaves it many times a second
    (a chaos audit: 550 warnings in 55 s); the warning comes at most once
    per interval and counts the rest."""
    import waitress.connection_slots

    monkeypatch.setattr(waitress.connection_slots, "LIMIT_LOG_INTERVAL", 3600.0)
    with ThreadedServer(hello.app, connection_limit=1) as server:
        target = tcp_address(server)
        for _ in range(3):
            with RawConnection(target) as conn:
                conn.request("GET", "/")
                assert conn.read_response().status == 200
                assert wait_until(lambda: server.in_connection_overflow, timeout=10)
            assert wait_until(lambda: not server.in_connection_overflow, timeout=10)
        monkeypatch.setattr(waitress.connection_slots, "LIMIT_LOG_INTERVAL", 0.0)  # the next is due
        with RawConnection(target) as conn:
            conn.request("GET", "/")
            assert conn.read_response().status == 200
            assert wait_until(lambda: server.in_connection_overflow, timeout=10)
    messages = [r.getMessage() for r in waitress_log.records]
    reached = [m for m in messages if "reached the connection limit" in m]
    assert len(reached) == 2
    assert reached[1].endswith("(and 2 more times since the last such line)")
    # Said for the first and the last episodes, whose warnings were said.
    assert sum("listening again" in m for m in messages) == 2


def test_connection_limit_counts_the_connections_of_every_listener(waitress_log):
    """The limit is the server's, as Waitress's (which counted its loop's
    map): with two listeners, each counted its own, and the server held
    twice the limit."""
    first_port, second_port = two_free_ports()
    listen = f"127.0.0.1:{first_port} 127.0.0.1:{second_port}"
    with ThreadedServer(hello.app, listen=listen, connection_limit=2) as server:
        first_target, second_target = listen_addresses(server)
        first, second = RawConnection(first_target), RawConnection(second_target)
        try:
            for conn in (first, second):
                conn.request("GET", "/held")
                assert conn.read_response().status == 200
            third = RawConnection(second_target)  # its listener has only one
            try:
                third.request("GET", "/third")
                assert third.is_idle_open(0.5), "served a connection beyond connection_limit"
                assert sum(len(s.active_channels) for s in server.servers) == 2
                first.close()
                assert third.read_response().status == 200
            finally:
                third.close()
        finally:
            first.close()
            second.close()
    messages = [r.getMessage() for r in waitress_log.records]
    assert any("reached the connection limit" in m for m in messages)
    assert any("listening again" in m for m in messages)


@pytest.mark.parametrize("where", ["before", "after", "after, an OSError", "swapped socket"])
def test_a_connection_whose_setup_raises_costs_only_itself(where, caplog):
    """A bug (or MemoryError) while setting up one accepted connection, in a
    channel subclass before or after it joined the loop, loses that
    connection: the listener keeps serving, and nothing of the failed one
    stays in the loop, even when the subclass had put another socket object
    over the descriptor (as a TLS wrapper does).  (Waitress closed the
    listener: a silent outage.)"""
    from waitress.channel import HTTPChannel

    failures = []

    class FailsOnce(HTTPChannel):
        def __init__(self, server, sock, *args, **kw):
            if failures:
                super().__init__(server, sock, *args, **kw)
                return
            failures.append(1)
            if where == "before":
                raise RuntimeError("channel set-up failed")
            if where == "swapped socket":
                sock = socket.socket(sock.family, sock.type, sock.proto, fileno=sock.detach())
            super().__init__(server, sock, *args, **kw)
            if where == "after, an OSError":
                raise ConnectionResetError("the peer left during set-up")
            raise RuntimeError("channel set-up failed")

    with ThreadedServer(hello.app) as server:
        server.channel_class = FailsOnce
        with RawConnection(tcp_address(server)) as conn:
            assert conn.closed_by_server(timeout=10)
        assert failures == [1]
        assert wait_until(lambda: len(server._map) == 2)  # the listener and the trigger
        if where != "after, an OSError":  # the peer's own doing: not logged
            # (Logged on the loop thread just after the socket is closed.)
            assert wait_until(lambda: "channel set-up failed" in caplog.text)
            [record] = [r for r in caplog.records if r.exc_info and "set-up failed" in str(r.exc_info[1])]
            assert record.levelno == logging.ERROR
            assert record.getMessage().startswith("Exception while setting up a connection from ")
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/")
            assert conn.read_response().status == 200
        assert wait_until(lambda: len(server._map) == len(server.active_channels) + 2)
