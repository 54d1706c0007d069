"""The Waitress 3.0.2 Python API that code in the wild uses directly:
create_server + effective_port + a thread, TcpWSGIServer subclassing,
waitress.wasyncore, Adjustments, and the errors for bad options.
"""

import socket
import sys
import threading

import pytest
from fixtureapps import echo, hello
from server_support import ThreadedServer, get, needs_unix, tcp_address, wait_until


def test_create_server_thread_close_idiom():
    from waitress import create_server

    server = create_server(hello.app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert get(("127.0.0.1", int(server.effective_port)), "/").body == hello.BODY
    finally:
        server.close()
        thread.join(15)
    assert not thread.is_alive()


def test_create_server_rejects_none_app():
    from waitress import create_server

    with pytest.raises(ValueError, match="app"):
        create_server(None, listen="127.0.0.1:0")


def test_unknown_option_is_a_value_error_before_binding():
    from waitress import create_server

    with pytest.raises(ValueError, match="Unknown adjustment 'no_such_option'"):
        create_server(hello.app, listen="127.0.0.1:0", no_such_option=1)


@pytest.mark.parametrize(
    "kw",
    [
        {"listen": "127.0.0.1:0", "host": "127.0.0.1"},
        {"listen": "127.0.0.1:0", "port": 0},
        {"unix_socket": "/tmp/never.sock", "port": 0},
    ],
)
def test_conflicting_location_options_are_rejected(kw):
    from waitress import create_server

    with pytest.raises(ValueError):
        create_server(hello.app, **kw)


def test_adjustments_keep_given_values():
    from waitress.adjustments import Adjustments

    adj = Adjustments(host="127.0.0.1", port="0", threads="3", url_prefix="/x/", ident="")
    assert adj.host == "127.0.0.1"
    assert int(adj.port) == 0
    assert adj.threads == 3
    assert adj.url_prefix == "/x"


def test_server_classes_and_loop_module_are_where_waitress_keeps_them():
    import waitress.server
    import waitress.wasyncore

    for name in ("TcpWSGIServer", "MultiSocketServer", "BaseWSGIServer", "create_server"):
        assert hasattr(waitress.server, name), name
    if hasattr(socket, "AF_UNIX"):
        assert hasattr(waitress.server, "UnixWSGIServer")
    for name in ("dispatcher", "loop", "socket_map", "close_all"):
        assert hasattr(waitress.wasyncore, name), name


def test_a_dispatcher_from_waitress_task_can_be_given_to_the_server():
    """Waitress keeps ThreadedTaskDispatcher in waitress.task; code that sizes
    its own pool imports it from there and passes it as ``dispatcher``."""
    from waitress.server import TcpWSGIServer
    from waitress.task import ThreadedTaskDispatcher

    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(2)
    server = TcpWSGIServer(hello.app, host="127.0.0.1", port=0, dispatcher=dispatcher)
    assert server.task_dispatcher is dispatcher
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert get(("127.0.0.1", int(server.effective_port)), "/").body == hello.BODY
        assert dispatcher.threads == {0, 1}  # Waitress's thread numbers
        names = {t.name for t in threading.enumerate()}
        assert {"waitress-0", "waitress-1"} <= names
    finally:
        server.close()
        thread.join(15)
    assert not thread.is_alive()


def test_waitress_utilities_gives_the_logger_and_http_dates():
    """Applications configure the server's log through waitress.utilities.logger."""
    import email.utils
    import logging

    from waitress.utilities import build_http_date, logger, queue_logger

    assert logger is logging.getLogger("waitress")
    assert queue_logger is logging.getLogger("waitress.queue")
    for when in (0, 784111777, 1700000000.75, 4102444800):
        assert build_http_date(when) == email.utils.formatdate(when, usegmt=True)


def test_the_converters_are_where_waitress_keeps_them():
    """Applications import asbool and aslist from waitress.adjustments."""
    from waitress import adjustments

    truths = [True, "true", "TRUE", " yes ", "on", "1", 1, "t", "y"]
    falsehoods = [None, False, 0, 2, "false", "no", "off", "0", "", "x"]
    assert [adjustments.asbool(v) for v in truths] == [True] * len(truths)
    assert [adjustments.asbool(v) for v in falsehoods] == [False] * len(falsehoods)
    assert adjustments.truthy == frozenset({"t", "true", "y", "yes", "on", "1"})
    assert adjustments.aslist("a b\nc d") == ["a", "b", "c", "d"]
    assert adjustments.aslist_cronly("a b\n c d\n") == ["a b", "c d"]
    assert adjustments.aslist_cronly("\n\n x \n") == ["x"]
    assert adjustments.aslist_cronly(["a b", " c "]) == ["a b", " c "]
    assert adjustments.asset("a b a") == {"a", "b"}
    assert adjustments.asoctal("600") == 0o600
    assert adjustments.slash_fixed_str("/x/") == "/x"
    assert adjustments.slash_fixed_str("") == ""
    assert adjustments.str_iftruthy(None) is None and adjustments.str_iftruthy(5) == "5"
    assert adjustments.PROXY_HEADERS == frozenset(
        {"X_FORWARDED_FOR", "X_FORWARDED_HOST", "X_FORWARDED_PROTO", "X_FORWARDED_PORT",
         "X_FORWARDED_BY", "FORWARDED"}
    )
    assert adjustments.WIN is sys.platform.startswith("win")


def _environ_seen_behind(middleware, **environ):
    seen = {}

    def app(env, start_response):
        seen.update(env)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.url_scheme": "http"}
    base.update(environ)
    statuses = []
    body = b"".join(middleware(app)(base, lambda status, headers, exc=None: statuses.append(status)))
    return seen, statuses[0], body


def test_proxy_headers_middleware_from_waitress_proxy_headers():
    """Applications wrap themselves with it, importing it from where Waitress keeps it."""
    from waitress.proxy_headers import proxy_headers_middleware

    forwarded = {
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_FORWARDED_FOR": "203.0.113.9",
        "HTTP_X_FORWARDED_PROTO": "https",
    }

    def trusting(app):
        return proxy_headers_middleware(
            app,
            trusted_proxy="127.0.0.1",
            trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
        )

    seen, status, _ = _environ_seen_behind(trusting, **forwarded)
    assert status == "200 OK"
    assert seen["REMOTE_ADDR"] == "203.0.113.9"
    assert seen["wsgi.url_scheme"] == "https"

    # Waitress's defaults: nothing trusted, untrusted proxy headers removed.
    seen, _, _ = _environ_seen_behind(proxy_headers_middleware, **forwarded)
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    assert "HTTP_X_FORWARDED_FOR" not in seen and "HTTP_X_FORWARDED_PROTO" not in seen

    def malformed(app):
        return proxy_headers_middleware(
            app, trusted_proxy="*", trusted_proxy_headers="x-forwarded-proto"
        )

    seen, status, body = _environ_seen_behind(
        malformed, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_PROTO="gopher, ftp"
    )
    assert status.startswith("400") and not seen
    assert b"X-Forwarded-Proto" in body


def test_trigger_from_waitress_trigger_runs_thunks_on_the_loop():
    from waitress import wasyncore
    from waitress.trigger import trigger

    socket_map = {}
    pulled = trigger(socket_map)
    ran = []
    try:
        pulled.pull_trigger(lambda: ran.append(True))
        wasyncore.loop(0.5, map=socket_map, count=3)
        assert ran == [True]
    finally:
        wasyncore.close_all(socket_map)


def test_tcp_wsgi_server_can_be_subclassed_and_run_by_hand():
    from waitress.server import TcpWSGIServer

    accepted = []

    class CountingServer(TcpWSGIServer):
        def handle_accept(self):
            accepted.append(True)
            super().handle_accept()

    server = CountingServer(echo.app, host="127.0.0.1", port=0)
    assert server.adj.host == "127.0.0.1"

    def run_loop():
        try:
            server.asyncore.loop(0.5, map=server._map)
        except OSError:  # closing from another thread may race select(); WebTest ignores it too
            pass

    thread = threading.Thread(target=run_loop, daemon=True)
    thread.start()
    try:
        environ = get(("127.0.0.1", int(server.effective_port)), "/sub").json()
        assert environ["PATH_INFO"] == "/sub"
        assert accepted
    finally:
        while server._map:
            for obj in list(server._map.values()):
                obj.handle_close()
        server.task_dispatcher.shutdown()
        thread.join(10)
    assert not thread.is_alive()


def test_threaded_server_serves_concurrent_clients():
    with ThreadedServer(echo.app, threads=4) as server:
        target = tcp_address(server)
        results = []
        lock = threading.Lock()

        def client(index):
            environ = get(target, "/client/%d" % index).json()
            with lock:
                results.append(environ["PATH_INFO"])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        assert wait_until(lambda: len(results) == 20, timeout=5)
        assert sorted(results) == sorted("/client/%d" % i for i in range(20))


@needs_unix
def test_cleanup_unix_socket_removes_a_stale_socket_file_only(tmp_path):
    """``waitress.utilities.cleanup_unix_socket``: what code that binds its own
    UNIX socket calls first; the server uses the same function."""
    from waitress.utilities import cleanup_unix_socket

    stale = tmp_path / "stale.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(stale))
    listener.close()  # closing leaves the file behind, as a crashed server does
    assert stale.exists()
    cleanup_unix_socket(str(stale))
    assert not stale.exists()

    regular = tmp_path / "data.txt"
    regular.write_text("keep me")
    cleanup_unix_socket(str(regular))
    assert regular.read_text() == "keep me"
    cleanup_unix_socket(str(tmp_path / "missing.sock"))  # nothing there: no error


def test_waitress_compat_and_task_constants():
    import waitress.compat
    import waitress.task

    assert waitress.compat.MAXINT == sys.maxsize
    assert waitress.compat.HAS_IPV6 == socket.has_ipv6
    assert waitress.compat.WIN is (sys.platform == "win32")
    if hasattr(socket, "IPV6_V6ONLY"):
        assert (waitress.compat.IPPROTO_IPV6, waitress.compat.IPV6_V6ONLY) == (
            socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
    assert issubclass(waitress.task.WSGITask, waitress.task.Task)
    assert issubclass(waitress.task.ErrorTask, waitress.task.Task)
    assert {"connection", "transfer-encoding", "upgrade"} <= waitress.task.hop_by_hop
    assert waitress.task.rename_headers == {
        "CONTENT_LENGTH": "CONTENT_LENGTH", "CONTENT_TYPE": "CONTENT_TYPE"}


# Every module of Waitress 3.0.2.  Frozen-application builds (PyInstaller
# specs) list them as hidden imports, and older code imports from several.
WAITRESS_MODULES = [
    "adjustments", "buffers", "channel", "compat", "parser", "proxy_headers", "receiver",
    "rfc7230", "runner", "server", "task", "trigger", "utilities", "wasyncore",
]


@pytest.mark.parametrize("name", WAITRESS_MODULES)
def test_every_waitress_module_imports(name):
    import importlib

    importlib.import_module("waitress." + name)


def test_the_pool_figures_monitoring_code_reads():
    """Metrics exporters read Waitress's pool: len(queue), len(threads),
    active_count, the queue under ``lock``."""
    import concurrent.futures
    import json

    release = threading.Event()
    started = threading.Semaphore(0)
    holder = {}

    def app(environ, start_response):
        dispatcher = holder["server"].task_dispatcher
        if environ["PATH_INFO"] == "/metrics":
            with dispatcher.lock:
                figures = [len(dispatcher.queue), len(dispatcher.threads), dispatcher.active_count]
            body = json.dumps(figures).encode()
        else:
            started.release()
            release.wait(10)
            body = b"done"
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    with ThreadedServer(app, threads=2) as server:
        holder["server"] = server
        address = tcp_address(server)
        dispatcher = server.task_dispatcher
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            try:
                blocked = [pool.submit(get, address, "/slow") for _ in range(3)]
                assert started.acquire(timeout=10) and started.acquire(timeout=10)
                assert wait_until(lambda: len(dispatcher.queue) == 1)
                assert dispatcher.active_count == 2 and len(dispatcher.threads) == 2
            finally:
                release.set()
            assert [f.result(15).body for f in blocked] == [b"done"] * 3
        assert wait_until(lambda: dispatcher.active_count == 0)
        # Served by the one thread it occupies, with nothing waiting.
        assert json.loads(get(address, "/metrics").body) == [0, 2, 1]


def test_total_outbufs_len_counts_what_a_slow_client_has_not_taken():
    """Graceful-shutdown code polls channel.total_outbufs_len until it is 0."""
    body = b"x" * (64 * 1024 * 1024)  # more than the kernel's socket buffers hold

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    with ThreadedServer(app) as server:
        client = socket.create_connection(tcp_address(server), timeout=10)
        try:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

            def queued():
                return sum(c.total_outbufs_len for c in list(server.active_channels.values()))

            assert wait_until(lambda: queued() > 0)
            received = 0
            while received < len(body):  # the head too, then at least the body's size
                piece = client.recv(1 << 20)
                assert piece
                received += len(piece)
            assert wait_until(lambda: queued() == 0)
        finally:
            client.close()


def test_a_hand_driven_loop_stops_accepting_and_lets_the_pool_drain():
    """A shutdown pattern in public code: its own loop over the socket map,
    then ``accepting = False`` and ``set_thread_count(0)``, polling until the
    pool's ``threads`` is empty (under ``lock``), then ``shutdown`` and
    ``close_all``. The request in flight must finish and the loop must end."""
    import time

    from waitress import create_server, wasyncore
    from waitress.task import ThreadedTaskDispatcher

    entered, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            entered.set()
            release.wait(10)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    socket_map = {}
    dispatcher = ThreadedTaskDispatcher()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = create_server(app, sockets=[listener], map=socket_map, _dispatcher=dispatcher)
    dispatcher.set_thread_count(4)
    address = listener.getsockname()
    stop = threading.Event()
    outcome = {}

    def serve_forever():
        try:
            while not stop.is_set():
                wasyncore.loop(timeout=0.1, count=1, map=socket_map)
        finally:
            server.accepting = False
            dispatcher.set_thread_count(0)
            deadline = time.monotonic() + 10
            while True:
                with dispatcher.lock:
                    running = bool(dispatcher.threads)
                if not running:
                    break
                if time.monotonic() > deadline:
                    outcome["hung"] = True
                    break
                wasyncore.loop(timeout=0.1, count=1, map=socket_map)
            dispatcher.shutdown()
            wasyncore.close_all(socket_map)

    loop_thread = threading.Thread(target=serve_forever, daemon=True)
    loop_thread.start()
    try:
        assert get(address, "/").body == b"ok"
        with concurrent_get(address, "/slow") as slow:
            assert entered.wait(10)
            stop.set()
            time.sleep(0.3)  # the loop is now draining, no longer accepting
            release.set()
            assert slow.result(15).body == b"ok"
    finally:
        stop.set()
        release.set()
        loop_thread.join(20)
    assert not loop_thread.is_alive()
    assert "hung" not in outcome
    assert not socket_map


class concurrent_get:
    """``get`` on a thread of its own, for the length of a ``with`` block."""

    def __init__(self, address, path):
        import concurrent.futures

        self.pool = concurrent.futures.ThreadPoolExecutor(1)
        self.future = self.pool.submit(get, address, path)

    def __enter__(self):
        return self.future

    def __exit__(self, *exc_info):
        self.pool.shutdown(wait=True)


def test_a_listener_told_to_stop_accepting_is_no_longer_watched():
    """``server.accepting = False`` (as Waitress's readable() honoured it):
    a waiting connection is left in the backlog and the loop stops watching
    the listener instead of waking for it again and again."""
    from waitress import create_server, wasyncore

    socket_map = {}
    server = create_server(hello.app, listen="127.0.0.1:0", map=socket_map)
    try:
        server.accepting = False
        client = socket.create_connection(tcp_address(server), timeout=10)
        try:
            wasyncore.loop(timeout=0.1, count=3, map=socket_map)
            assert not server.readable()
            assert not server.active_channels
            server.accept_connections()  # resumes: the waiting client is taken
            wasyncore.loop(timeout=0.1, count=3, map=socket_map)
            assert len(server.active_channels) == 1
        finally:
            client.close()
    finally:
        server.close()  # a loop run by hand: close() leaves the connections, as Waitress's
        wasyncore.close_all(socket_map)


def test_adjustments_params_list_every_option_with_waitress_converters():
    """A configuration front end builds its schema from ``_params``, looking
    the converters up by identity (``str``, ``int``, ``asbool``, ``asoctal``)."""
    from waitress import adjustments
    from waitress.options import OPTIONS

    kinds = {str: "string", int: "integer", adjustments.asbool: "boolean",
             adjustments.asoctal: "integer"}
    config = adjustments.Adjustments()
    spec = {name: "%s(default=%r)" % (kinds[convert], getattr(config, name))
            for name, convert in config._params if convert in kinds}
    assert spec["threads"] == "integer(default=4)"
    assert spec["ipv6"] == "boolean(default=True)"
    assert spec["unix_socket_perms"] == "integer(default=384)"
    assert spec["url_scheme"] == "string(default='http')"
    assert [name for name, _ in adjustments.Adjustments._params] == [o.name for o in OPTIONS]
    assert adjustments.Adjustments._param_map["trusted_proxy_headers"] is adjustments.asset
    assert adjustments.Adjustments._param_map["listen"] is adjustments.aslist


def test_waitress_profile_prints_the_statistics_of_a_command(capsys):
    import waitress

    def work(n):
        return sum(range(n))

    waitress.profile("work(1000)", {}, {"work": work}, (), False)
    assert "function calls" in capsys.readouterr().out
    waitress.profile("work(1000)", {}, {"work": work}, ("calls",), True)
    assert "was called by" in capsys.readouterr().out


def test_multisocket_server_built_by_hand_from_a_map_of_listeners():
    """Code that copies ``create_server`` builds the listeners into a map and
    passes Waitress's positional arguments, ``log_info`` fifth."""
    from waitress.adjustments import Adjustments
    from waitress.server import MultiSocketServer, TcpWSGIServer
    from waitress.task import ThreadedTaskDispatcher

    adj = Adjustments(listen="127.0.0.1:0 127.0.0.1:0")
    socket_map = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(2)
    listeners = [
        TcpWSGIServer(hello.app, socket_map, True, None, dispatcher=dispatcher, adj=adj,
                      sockinfo=sockinfo)
        for sockinfo in adj.listen
    ]
    logged = []
    server = MultiSocketServer(
        socket_map, adj, [(s.effective_host, s.effective_port) for s in listeners],
        dispatcher, lambda message, type="info": logged.append(message))
    server.log_info("hi")
    assert logged == ["hi"]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for host, port in server.effective_listen:
            assert get((host, int(port)), "/").body == hello.BODY
    finally:
        server.close()
        thread.join(15)
    assert not thread.is_alive()
    assert all(listener.socket is None or listener.socket.fileno() == -1
               for listener in listeners)


def json_error_page(self, ident=None):
    """An API's replacement: every error page the server generates as JSON."""
    import json

    body = json.dumps({"error": {"status": self.code, "reason": self.reason}}).encode()
    return f"{self.code} {self.reason}", [("Content-Type", "application/json")], body


def failing_app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("boom")
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


ERROR_REQUESTS = [
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: zz\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n", 413),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n", 431),
    (b"GET /boom HTTP/1.1\r\nHost: a\r\n\r\n", 500),
]


@pytest.mark.parametrize("data, status", ERROR_REQUESTS)
def test_a_replaced_error_to_response_makes_every_error_page(monkeypatch, data, status):
    """Code patches ``waitress.utilities.Error.to_response`` for JSON error pages."""
    from server_support import exchange
    from waitress import utilities

    monkeypatch.setattr(utilities.Error, "to_response", json_error_page)
    with ThreadedServer(failing_app, max_request_body_size=10,
                        max_request_header_size=2000) as server:
        response = exchange(tcp_address(server), data)
        assert get(tcp_address(server), "/").body == b"ok"
    assert response.status == status
    assert response.header("Content-Type") == "application/json"
    assert response.header("Connection") == "close"
    assert response.json() == {"error": {"status": status, "reason": response.reason}}


@pytest.mark.parametrize("replacement", [
    lambda self, ident=None: 1 / 0,
    lambda self, ident=None: ("400 Bad Request", [("X-A", "b\r\nInjected: 1")], b"{}"),
])
def test_a_broken_to_response_falls_back_to_the_plain_page(monkeypatch, caplog, replacement):
    from server_support import exchange
    from waitress import utilities

    monkeypatch.setattr(utilities.Error, "to_response", replacement)
    with ThreadedServer(failing_app) as server:
        response = exchange(tcp_address(server), ERROR_REQUESTS[0][0])
    assert response.status == 400
    assert response.header("Content-Type") == "text/plain; charset=utf-8"
    assert response.header("Injected") is None
    assert b"(generated by waitress)" in response.body
    # One error line on the "waitress" logger, with the traceback that says
    # which replacement failed and how (an operator's only clue).
    (record,) = [r for r in caplog.records if "to_response() failed" in r.getMessage()]
    assert record.getMessage() == "Error.to_response() failed; sending the plain error page"
    assert (record.name, record.levelname) == ("waitress", "ERROR")
    assert record.exc_info is not None


def test_importing_the_server_makes_the_old_module_names_attributes():
    """Waitress's server imported ``waitress.wasyncore`` and ``waitress.buffers``,
    so ``import waitress.server`` left them as attributes of the package (code
    monkeypatches ``waitress.wasyncore.loop``); ``server.asyncore`` is that module."""
    import subprocess

    code = (
        "import waitress.server, waitress\n"
        "assert waitress.server.TcpWSGIServer.asyncore is waitress.wasyncore\n"
        "assert waitress.wasyncore.loop and waitress.buffers.ReadOnlyFileBasedBuffer\n"
        "import errno; assert waitress.wasyncore.EWOULDBLOCK == errno.EWOULDBLOCK\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_parse_args_raises_getopt_error_as_waitress_did():
    """Runners written for Waitress catch ``getopt.GetoptError``; it is also a
    ValueError, as the command line's own UsageError is."""
    import getopt

    from waitress.adjustments import Adjustments

    with pytest.raises(getopt.GetoptError) as caught:
        Adjustments.parse_args(["--no-such-option", "app:app"])
    assert "--no-such-option" in caught.value.msg
    assert isinstance(caught.value, ValueError)
    kw, args = Adjustments.parse_args(["--port=8080", "app:app"])
    assert kw["port"] == "8080" and args == ["app:app"]


@pytest.mark.parametrize("value, seconds", [
    ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777),  # IMF-fixdate
    ("Sunday, 06-Nov-94 08:49:37 GMT", 784111777),  # RFC 850
    ("Sun Nov  6 08:49:37 1994", 784111777),  # asctime (RFC 9110 5.6.7; Waitress: 0)
    ("not a date", 0),
    ("", 0),
])
def test_parse_http_date_reads_the_three_http_date_forms(value, seconds):
    from waitress.utilities import build_http_date, parse_http_date

    assert parse_http_date(value) == seconds
    if seconds:
        assert parse_http_date(build_http_date(seconds)) == seconds


@pytest.mark.parametrize("value, seconds", [
    ("Sun, 06 Nov 1994 08:49:37 EST", 784111777 + 5 * 3600),
    ("Sun, 06 Nov 1994 08:49:37 +0100", 784111777 - 3600),
    ("Sun, 06 Nov 1994 08:49:37", 784111777),
])
def test_parse_http_date_reads_another_zone_with_its_offset(value, seconds):
    """RFC 9110 5.6.7 asks a recipient to be robust with timestamps from
    non-HTTP sources: an If-Modified-Since in another zone is the same
    instant in GMT, never read as if its clock were GMT's (a response
    hours stale would then pass for fresh)."""
    from waitress.utilities import parse_http_date

    assert parse_http_date(value) == seconds


def test_the_task_module_keeps_the_queue_logger():
    import waitress.task

    assert waitress.task.queue_logger.name == "waitress.queue"


def test_star_import_of_waitress_utilities_gives_every_listed_name():
    """``from waitress.utilities import *`` is how some applications pick up
    the logger and the error classes; a name listed in ``__all__`` that the
    module lacks makes that import fail outright."""
    namespace = {}
    exec("from waitress.utilities import *", namespace)
    for name in ("logger", "queue_logger", "build_http_date", "parse_http_date",
                 "cleanup_unix_socket", "find_double_newline", "Error", "BadRequest",
                 "RequestHeaderFieldsTooLarge", "RequestEntityTooLarge",
                 "InternalServerError", "ServerNotImplemented"):
        assert name in namespace, name
