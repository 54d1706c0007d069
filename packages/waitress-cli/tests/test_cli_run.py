"""``run``: exit statuses, the one-line errors, and what ``serve`` receives."""

import pytest
from waitress_cli import run

APP = """
def app(environ, start_response):
    start_response("200 OK", [])
    return [b"hi"]

def factory():
    return app

value = "text"
"""

HINT = "Run 'srv --help' for usage."


def invoke(argv, fake_options, fake_serve, console, **extra):
    return run(argv, options=fake_options, serve=fake_serve, prog="srv",
               stdout=console.out, stderr=console.err, **extra)


@pytest.fixture
def webapp(app_dir):
    return app_dir.module(app_dir.unique("webapp"), APP)


def test_serves_the_app_with_the_options_given(webapp, fake_options, fake_serve, console):
    status = invoke(
        ["--port=9000", "--no-keep-alive", "--listen=a:1", "--listen=b:2", f"{webapp}:app"],
        fake_options, fake_serve, console,
    )
    assert status == 0
    [(app, kw)] = fake_serve.calls
    assert app.__name__ == "app" and app.__module__ == webapp
    assert kw == {"port": "9000", "keep_alive": False, "listen": "a:1 b:2"}
    assert console.err.getvalue() == "" and console.out.getvalue() == ""


def test_app_option(webapp, fake_options, fake_serve, console):
    assert invoke([f"--app={webapp}:app"], fake_options, fake_serve, console) == 0
    assert fake_serve.calls[0][0].__name__ == "app"


def test_call_option(webapp, fake_options, fake_serve, console):
    assert invoke(["--call", f"{webapp}:factory"], fake_options, fake_serve, console) == 0
    assert fake_serve.calls[0][0].__name__ == "app"
    assert fake_serve.calls[0][1] == {}


def test_keyboard_interrupt_from_serve_is_a_clean_exit(webapp, fake_options, fake_serve, console):
    fake_serve.raises = KeyboardInterrupt()
    assert invoke([f"{webapp}:app"], fake_options, fake_serve, console) == 0
    assert console.err.getvalue() == ""


def test_keyboard_interrupt_while_the_app_imports_is_a_clean_exit(
    app_dir, fake_options, fake_serve, console
):
    # Ctrl-C during a slow import used to end in a KeyboardInterrupt traceback.
    name = app_dir.module(app_dir.unique("slowimport"), "raise KeyboardInterrupt\n")
    assert invoke([f"{name}:app"], fake_options, fake_serve, console) == 0
    assert console.err.getvalue() == ""
    assert fake_serve.calls == []


def test_os_error_from_serve_is_one_line_and_status_1(webapp, fake_options, fake_serve, console):
    fake_serve.raises = OSError(98, "Address already in use")
    assert invoke([f"{webapp}:app"], fake_options, fake_serve, console) == 1
    assert console.error_lines == ["Error: [Errno 98] Address already in use"]


def test_other_exceptions_from_serve_propagate(webapp, fake_options, fake_serve, console):
    fake_serve.raises = RuntimeError("bug")
    with pytest.raises(RuntimeError):
        invoke([f"{webapp}:app"], fake_options, fake_serve, console)


def test_validate_hook_sees_the_keywords(webapp, fake_options, fake_serve, console):
    seen = []
    status = invoke(["--port=1", f"{webapp}:app"], fake_options, fake_serve, console,
                    validate=seen.append)
    assert status == 0
    assert seen == [{"port": "1"}]


def test_validate_runs_before_the_app_is_imported(app_dir, fake_options, fake_serve, console):
    marker = app_dir.path / "imported"
    name = app_dir.module(app_dir.unique("webapp"), f"open({str(marker)!r}, 'w').close()\napp = len\n")

    def refuse(kw):
        raise ValueError("host or port may not be set if listen is set.")

    status = invoke([f"{name}:app"], fake_options, fake_serve, console, validate=refuse)
    assert status == 2
    assert not marker.exists()
    assert console.error_lines == ["Error: host or port may not be set if listen is set.", HINT]


def test_os_error_from_validate_is_status_1_before_the_import(app_dir, fake_options, fake_serve,
                                                             console):
    marker = app_dir.path / "imported"
    name = app_dir.module(app_dir.unique("webapp"), f"open({str(marker)!r}, 'w').close()\napp = len\n")

    def resolver_down(kw):
        raise OSError("Temporary failure in name resolution")

    assert invoke([f"{name}:app"], fake_options, fake_serve, console, validate=resolver_down) == 1
    assert not marker.exists() and fake_serve.calls == []
    assert console.error_lines == ["Error: Temporary failure in name resolution"]


@pytest.mark.parametrize(
    "argv, first_line",
    [
        ([], "Error: no application given: name one as MODULE:OBJECT or --app=MODULE:OBJECT"),
        (["--port=1"], "Error: no application given: name one as MODULE:OBJECT or --app=MODULE:OBJECT"),
        (["a:b", "c:d"], "Error: two applications given ('a:b' and 'c:d'); serve one per process"),
        (["--app=a:b", "c:d"], "Error: two applications given ('a:b' and 'c:d'); serve one per process"),
        (["--prot=1", "a:b"], "Error: unknown option '--prot' (did you mean --port?)"),
        (["--port=abc", "a:b"], "Error: --port: invalid value 'abc' (expected an integer)"),
        (["--handles=1", "a:b"],
         "Error: --handles cannot be given on the command line: Pre-opened handles, Python API only."),
    ],
)
def test_usage_errors(app_dir, fake_options, fake_serve, console, argv, first_line):
    assert invoke(argv, fake_options, fake_serve, console) == 2
    assert console.error_lines == [first_line, HINT]
    assert console.out.getvalue() == ""
    assert fake_serve.calls == []


@pytest.mark.parametrize(
    "spec, call, first_line",
    [
        ("{m}:nope", False, "Error: module '{m}' has no attribute 'nope'"),
        ("{m}:value", False, "Error: '{m}:value' is a str, not a WSGI application (not callable)"),
        ("{m}:value", True, "Error: --call: '{m}:value' is not callable (it is a str)"),
        ("{m}:app", True, "Error: calling '{m}:app' failed: TypeError: app() missing 2 required "
                          "positional arguments: 'environ' and 'start_response'"),
    ],
)
def test_app_errors(webapp, fake_options, fake_serve, console, spec, call, first_line):
    argv = (["--call"] if call else []) + [spec.format(m=webapp)]
    assert invoke(argv, fake_options, fake_serve, console) == 2
    assert console.error_lines == [first_line.format(m=webapp), HINT]
    assert fake_serve.calls == []


def test_missing_module_error(app_dir, fake_options, fake_serve, console):
    name = app_dir.unique("nosuch")
    assert invoke([f"{name}:app"], fake_options, fake_serve, console) == 2
    assert console.error_lines == [
        f"Error: No module named {name!r} (searched the current directory and sys.path)", HINT
    ]


def test_multiline_validation_messages_are_folded(webapp, fake_options, fake_serve, console):
    def refuse(kw):
        raise ValueError("first\nsecond")

    assert invoke([f"{webapp}:app"], fake_options, fake_serve, console, validate=refuse) == 2
    assert console.error_lines == ["Error: first second", HINT]


def test_argv_may_be_any_iterable(webapp, fake_options, fake_serve, console):
    assert invoke(iter([f"{webapp}:app"]), fake_options, fake_serve, console) == 0


@pytest.mark.parametrize("word, expected", [("--hel", "Usage: srv"), ("--vers", "srv 1.2")])
def test_help_and_version_abbreviated(word, expected, fake_options, fake_serve, console):
    assert invoke([word], fake_options, fake_serve, console, version="1.2") == 0
    assert console.out.getvalue().startswith(expected)
    assert fake_serve.calls == []
