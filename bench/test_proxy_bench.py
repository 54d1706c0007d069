"""bench/proxy_bench.py: its scenarios do what their names say, and it prints one line each."""

from waitress_proxy import apply_proxy_headers


def test_each_scenario_prints_one_timing(load_script, capsys):
    bench = load_script("proxy_bench.py")
    bench.main(["--seconds", "0.001"])
    lines = capsys.readouterr().out.splitlines()
    assert [line[:50].rstrip() for line in lines] == [name for name, _, _ in bench.SCENARIOS]
    assert all(line.endswith(" us") for line in lines)


def test_the_scenarios_take_the_path_they_are_named_for(load_script):
    bench = load_script("proxy_bench.py")
    outcomes = {}
    for name, settings, headers in bench.SCENARIOS:
        environ = dict(bench.BASE, **headers)
        apply_proxy_headers(environ, settings)
        outcomes[name] = environ
    forged = outcomes["no proxy configured, forged XFF/XFP/XFH removed"]
    assert "HTTP_X_FORWARDED_FOR" not in forged and forged["REMOTE_ADDR"] == "127.0.0.1"
    trusted = outcomes["trusted peer, XFF with 3 hops + XFP + XFH"]
    assert trusted["REMOTE_ADDR"] == "203.0.113.7" and trusted["wsgi.url_scheme"] == "https"
    forwarded = outcomes["trusted peer, Forwarded for;proto;host"]
    assert forwarded["REMOTE_ADDR"] == "2001:db8::7" and forwarded["HTTP_HOST"] == "example.org"
    untrusted = outcomes["untrusted peer, forged XFF/XFP/XFH"]
    assert untrusted["REMOTE_ADDR"] == "127.0.0.1" and untrusted["wsgi.url_scheme"] == "http"
