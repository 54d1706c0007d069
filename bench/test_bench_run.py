"""Tests for bench/run.py: the parts that decide what runs and what is reported.

The benchmarks themselves are not run here (they take minutes and need a
quiet machine); ``tox -e bench -- --quick`` is their smoke test.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def bench_run(load_script):
    return load_script("run.py")


def summary_row(scenario, server, rps, **extra):
    row = {"scenario": scenario, "server": server, "rps_median": rps,
           "non2xx": 0, "socket_errors": 0, "wrk_cpu_pct": 20.0}
    row.update(extra)
    return row


def test_quick_sets_smoke_defaults(bench_run):
    args = bench_run.parse_args(["--quick", "--out", "/tmp/x"])
    assert (args.duration, args.repeat) == (2, 1)
    assert args.scenario == "hello,large,chunked,file"
    assert args.only == {"parser", "loop", "server", "framework"}


def test_explicit_flags_override_quick(bench_run):
    args = bench_run.parse_args(["--quick", "--repeat", "2", "--duration", "3",
                                 "--scenario", "json", "--scenario", "post",
                                 "--only", "server", "--out", "/tmp/x"])
    assert (args.duration, args.repeat, args.scenario) == (3, 2, "json,post")
    assert args.only == {"server"}


def test_full_run_defaults(bench_run):
    args = bench_run.parse_args([])
    assert (args.duration, args.repeat, args.scenario) == (5, 3, "all")
    assert args.out.parent == bench_run.DEFAULT_RESULTS_ROOT


def test_unknown_part_is_refused(bench_run, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_run.parse_args(["--only", "everything"])
    assert exc.value.code == 2


def test_peers_venv_from_environment(bench_run, monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_PEERS_VENV", str(tmp_path / "peers"))
    assert bench_run.parse_args([]).peers_venv == tmp_path / "peers"


def test_digest_follows_requirements_and_python(bench_run, tmp_path):
    req = tmp_path / "peers-requirements.txt"
    req.write_text("waitress==3.0.2\n")
    first = bench_run.requirements_digest([req], "3.11.7")
    assert bench_run.requirements_digest([req], "3.11.7") == first
    assert bench_run.requirements_digest([req], "3.12.0") != first
    req.write_text("waitress==3.0.1\n")
    assert bench_run.requirements_digest([req], "3.11.7") != first


def test_requirement_lines_skip_comments(bench_run, tmp_path):
    req = tmp_path / "optional.txt"
    req.write_text("# comment\n\ngranian==2.8.7 click==8.5.1  # why\nfoo\n")
    assert bench_run.requirement_lines(req) == [["granian==2.8.7", "click==8.5.1"], ["foo"]]
    assert bench_run.requirement_lines(tmp_path / "missing.txt") == []


def test_pinned_requirements_name_the_reference(bench_run):
    names = [args[0] for args in bench_run.requirement_lines(bench_run.REQUIREMENTS)]
    assert "waitress==3.0.2" in names
    for peer in ("gunicorn", "cheroot", "h11", "httptools"):
        assert any(name.startswith(peer + "==") for name in names), peer


def test_matching_stamp_reuses_venv_without_running_anything(bench_run, tmp_path,
                                                             monkeypatch):
    venv = tmp_path / "peers"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    digest = bench_run.requirements_digest(
        (bench_run.REQUIREMENTS, bench_run.OPTIONAL_REQUIREMENTS),
        bench_run.platform.python_version())
    (venv / bench_run.PEERS_STAMP).write_text(json.dumps({"digest": digest}))

    def refuse(*args, **kwargs):
        raise AssertionError("nothing should run when the stamp matches")

    monkeypatch.setattr(bench_run.subprocess, "run", refuse)
    assert bench_run.ensure_peers_venv(venv) == venv / "bin" / "python"


def test_a_directory_that_is_not_a_venv_is_never_removed(bench_run, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("keep me")
    with pytest.raises(bench_run.SetupError, match="not a virtualenv"):
        bench_run.ensure_peers_venv(precious)
    assert (precious / "data.txt").read_text() == "keep me"


def test_optional_peer_listed_only_when_installed(bench_run, tmp_path):
    (tmp_path / "bin").mkdir()
    assert bench_run.peer_servers(tmp_path) == ["waitress", "gunicorn-gthread", "cheroot"]
    (tmp_path / "bin" / "granian").write_text("")
    assert bench_run.peer_servers(tmp_path)[-1] == "granian"


def test_wrk_from_environment(bench_run, monkeypatch):
    monkeypatch.setenv("WSGIBENCH_WRK", "/opt/wrk")
    assert bench_run.ensure_wrk() == "/opt/wrk"


def test_missing_wrk_prints_the_apt_command_when_not_root(bench_run, monkeypatch):
    monkeypatch.delenv("WSGIBENCH_WRK", raising=False)
    monkeypatch.setattr(bench_run.shutil, "which", lambda name: None)
    monkeypatch.setattr(bench_run.os, "geteuid", lambda: 1000)
    with pytest.raises(bench_run.SetupError, match="apt-get install -y wrk"):
        bench_run.ensure_wrk()


def test_missing_harness_says_where_it_looked(bench_run, tmp_path):
    with pytest.raises(bench_run.SetupError, match="--harness"):
        bench_run.locate_harness(tmp_path / "wsgibench.py")


def test_harness_argv_pins_only_when_asked(bench_run, tmp_path):
    common = dict(peers_python=Path("/p/bin/python"), harness=Path("/h/wsgibench.py"),
                  servers=["waitress", "cheroot"], ours_cmd="ours-serve {app}",
                  scenario="hello", repeat=3, duration=5,
                  json_path=tmp_path / "a.json", markdown_path=tmp_path / "a.md")
    pinned = bench_run.harness_argv(pin=True, **common)
    unpinned = bench_run.harness_argv(pin=False, **common)
    assert pinned[:3] == ["/p/bin/python", "/h/wsgibench.py", "--pin"]
    assert "--pin" not in unpinned
    assert "ours=cmd:ours-serve {app}" in pinned
    assert pinned[pinned.index("--baseline") + 1] == "waitress"
    assert [pinned[i + 1] for i, a in enumerate(pinned) if a == "--server"] == [
        "waitress", "cheroot", "ours=cmd:ours-serve {app}"]


def test_warmup_reaches_the_harness_only_when_given(bench_run, tmp_path):
    """Published tables use the harness's own warm-up; ``--warmup 0`` is
    how a reader sees slowapp's p99 without the warm-up's abandoned
    requests in it (bench/README.md), and must reach wsgibench as given."""
    common = dict(peers_python=Path("/p/bin/python"), harness=Path("/h/wsgibench.py"),
                  servers=["waitress"], ours_cmd="ours-serve {app}", scenario="slowapp",
                  repeat=3, duration=5, pin=True,
                  json_path=tmp_path / "a.json", markdown_path=tmp_path / "a.md")
    assert "--warmup" not in bench_run.harness_argv(**common)
    given = bench_run.harness_argv(warmup=0, **common)
    assert given[given.index("--warmup") + 1] == "0"
    assert bench_run.parse_args(["--warmup", "0"]).warmup == 0
    assert bench_run.parse_args([]).warmup is None
    with pytest.raises(SystemExit):
        bench_run.parse_args(["--warmup", "-1"])


def test_ratios_against_waitress_and_best_peers(bench_run):
    summary = [summary_row("hello", "waitress", 1000.0),
               summary_row("hello", "cheroot", 1500.0),
               summary_row("hello", "granian", 8000.0),
               summary_row("hello", "ours", 3000.0)]
    (row,) = bench_run.ratio_rows(summary, runs=[])
    assert row["ours_vs_waitress"] == 3.0
    assert (row["best_peer"], row["ours_vs_best_peer"]) == ("granian", 0.38)
    assert (row["best_python_peer"], row["ours_vs_best_python_peer"]) == ("cheroot", 2.0)
    assert row["notes"] == []


def test_ratios_flag_failed_and_doubtful_runs(bench_run):
    summary = [summary_row("large", "waitress", 100.0),
               summary_row("large", "ours", 200.0, socket_errors=4, wrk_cpu_pct=99.0),
               {"scenario": "post", "server": "ours", "runs": 1, "ok_runs": 0,
                "error": "boom"},
               summary_row("post", "waitress", 50.0)]
    runs = [{"server": "ours", "scenario": "post", "ok": False}]
    rows = {r["scenario"]: r for r in bench_run.ratio_rows(summary, runs)}
    assert "wrk-bound" in rows["large"]["notes"]
    assert any("socket errors 4" in note for note in rows["large"]["notes"])
    assert rows["post"]["ours_rps"] is None
    assert rows["post"]["ours_vs_waitress"] is None
    assert "ours: a run failed" in rows["post"]["notes"]
    table = bench_run.ratio_table([("pinned", list(rows.values()))])
    assert "| pinned | post | - | 50 | - | - | - |" in table


def test_cpu_per_request_ratios(bench_run):
    # Waitress: 96% for 200 req/s; ours: 24% for 160 req/s, wrk saturated.
    summary = [summary_row("file", "waitress", 200.0, server_cpu_pct=96.0, wrk_cpu_pct=80.0),
               summary_row("file", "ours", 160.0, server_cpu_pct=24.0, wrk_cpu_pct=100.0)]
    (row,) = bench_run.ratio_rows(summary, runs=[])
    assert row["server_cpu_vs_waitress"] == 0.31  # 0.15 / 0.48
    assert row["total_cpu_vs_waitress"] == 0.88  # 0.775 / 0.88
    table = bench_run.ratio_table([("pinned", [row])])
    assert "| pinned | file | 160 | 200 | 0.80 | 0.31 | 0.88 |" in table


def test_cpu_ratio_missing_without_a_cpu_figure(bench_run):
    summary = [summary_row("hello", "waitress", 100.0),
               summary_row("hello", "ours", 300.0, server_cpu_pct=99.0)]
    (row,) = bench_run.ratio_rows(summary, runs=[])
    assert row["server_cpu_vs_waitress"] is None
    assert row["total_cpu_vs_waitress"] is None


def test_run_logged_tees_output_and_returns_exit_code(bench_run, tmp_path, capsys):
    log = tmp_path / "step.log"
    code = bench_run.run_logged(
        [sys.executable, "-c", "print('measured'); raise SystemExit(3)"], log)
    assert code == 3
    assert "measured" in log.read_text()
    assert "measured" in capsys.readouterr().out


def test_micro_bench_gets_only_the_flags_it_knows(bench_run, tmp_path):
    script = tmp_path / "fake_bench.py"
    script.write_text("import sys\nif '--help' in sys.argv: print('usage: --quick')\n")
    argv = bench_run.micro_bench_argv(script, Path("/p/python"), quick=True,
                                      json_path=tmp_path / "x.json")
    assert argv[1:] == [str(script), "--peers-python", "/p/python", "--quick"]


def test_main_exits_2_when_harness_is_missing(bench_run, tmp_path, monkeypatch):
    monkeypatch.setenv("WSGIBENCH_WRK", os.devnull)
    code = bench_run.main(["--only", "server", "--harness", str(tmp_path / "none.py"),
                           "--ours-cmd", "x {app}", "--out", str(tmp_path / "out")])
    assert code == 2
    assert not (tmp_path / "out").exists()


def test_framework_row_serves_flask_hello_with_each_server(bench_run, tmp_path):
    (tmp_path / "bin").mkdir()
    peers, ours = bench_run.framework_servers(tmp_path, Path("/p/bin/python"))
    script = str(bench_run.FLASK_APP)
    assert peers == ["waitress=cmd:/p/bin/python %s {hostport} {threads}" % script]
    assert ours == "%s %s {hostport} {threads}" % (sys.executable, script)
    (tmp_path / "bin" / "gunicorn").write_text("")
    peers, _ = bench_run.framework_servers(tmp_path, Path("/p/bin/python"))
    assert peers[1].startswith("gunicorn-gthread=cmd:%s " % (tmp_path / "bin" / "gunicorn"))
    assert peers[1].endswith("--chdir=%s flask_hello:app" % bench_run.BENCH_DIR)


def test_imports_tells_whether_a_python_has_a_module(bench_run):
    python = Path(sys.executable)
    assert bench_run.imports(python, "json")
    assert not bench_run.imports(python, "no_such_module_for_the_bench")


def test_the_flask_app_answers_what_the_hello_probe_expects(bench_run):
    pytest.importorskip("flask")
    spec = importlib.util.spec_from_file_location("flask_hello_under_test",
                                                  bench_run.FLASK_APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    response = module.app.test_client().get("/")
    assert (response.status_code, response.data) == (200, b"Hello, World!")
