#!/usr/bin/env python3
"""Run the project's benchmarks against Waitress 3.0.2 and its peers.

This is what ``tox -e bench`` runs.  Our meta-package is also named
``waitress``, so Waitress 3.0.2 and the other peers live in a second
virtualenv that this script builds (and rebuilds only when
``bench/peers-requirements.txt`` changes).  In order it runs: the parser
benchmark, the event-loop benchmark, the load harness (wsgibench, pinned,
every scenario), the same harness unpinned for ``hello``, and the framework
row (a Flask "hello" application, ``flask_hello.py``, served by each server,
pinned); then it prints one table of ratios (ours / Waitress, ours / best
peer) per scenario.

Standard library only: it must run before anything else is installed.
Exit status: 0 when every sub-benchmark succeeded, 1 when one failed, 2 when
something it needs (wrk, the harness, our ``waitress-serve``) is missing.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
REQUIREMENTS = BENCH_DIR / "peers-requirements.txt"
OPTIONAL_REQUIREMENTS = BENCH_DIR / "peers-optional-requirements.txt"
DEFAULT_PEERS_VENV = REPO / ".tox" / "bench-peers"
DEFAULT_RESULTS_ROOT = REPO / ".tox" / "bench-results"
DEFAULT_HARNESS = REPO.parent / "shared" / "bench" / "wsgibench.py"
PEERS_STAMP = "bench-peers-stamp.json"

OURS = "ours"
BASELINE = "waitress"
# wsgibench built-in server names, always compared.
PEER_SERVERS = ("waitress", "gunicorn-gthread", "cheroot")
# wsgibench built-in name -> console script whose presence in the peers
# virtualenv means the optional peer installed.
OPTIONAL_PEER_SERVERS = {"granian": "granian"}
# Peers whose request path is native code (granian is Rust): the summary also
# gives ours against the best peer that is Python, as we are.
NATIVE_PEERS = frozenset({"granian"})
ALL_SCENARIOS = "all"
UNPINNED_SCENARIO = "hello"
QUICK = {"duration": 2, "repeat": 1, "scenario": "hello,large,chunked,file"}
FULL = {"duration": 5, "repeat": 3, "scenario": ALL_SCENARIOS}
PARTS = ("parser", "loop", "server", "framework")
FLASK_APP = BENCH_DIR / "flask_hello.py"
# The framework row's scenario: the harness's hello probe checks Flask's body.
FRAMEWORK_SCENARIO = "hello"
# At or above this wrk CPU %, wrk rather than the server set the pace.
WRK_BOUND_PCT = 95.0
APT_INSTALL_WRK = "apt-get install -y wrk"


class SetupError(Exception):
    """Something the benchmarks need is missing; the message says what to do."""


def say(text: str = "") -> None:
    """Print progress at once: tox and CI buffer otherwise."""
    print(text, flush=True)


# --------------------------------------------------------------------------
# the peers' virtualenv
# --------------------------------------------------------------------------


def venv_python(venv: Path) -> Path:
    """The interpreter inside a virtualenv (POSIX layout: the harness is Linux-only)."""
    return venv / "bin" / "python"


def requirements_digest(paths: Sequence[Path], python_version: str) -> str:
    """Hash of what the peers' virtualenv is built from.

    The interpreter's version is part of it: a new Python needs new wheels.
    """
    digest = hashlib.sha256(python_version.encode() + b"\0")
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


def requirement_lines(path: Path) -> List[List[str]]:
    """The install arguments of each non-comment line of a requirements file."""
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text().splitlines():
        text = raw.split("#", 1)[0].strip()
        if text:
            lines.append(shlex.split(text))
    return lines


def read_stamp(venv: Path) -> Optional[dict]:
    """The record left by the last successful build, or None."""
    try:
        return json.loads((venv / PEERS_STAMP).read_text())
    except (OSError, ValueError):
        return None


def ensure_peers_venv(venv: Path) -> Path:
    """Create or reuse the peers' virtualenv; return its Python.

    Reused as long as the requirements files (and our Python's version) hash
    the same; otherwise removed and built again, so results never mix
    versions.  A directory that is not a virtualenv is never removed.
    """
    digest = requirements_digest((REQUIREMENTS, OPTIONAL_REQUIREMENTS),
                                 platform.python_version())
    python = venv_python(venv)
    stamp = read_stamp(venv)
    if stamp and stamp.get("digest") == digest and python.exists():
        say("peers: reusing %s" % venv)
        for line, error in stamp.get("optional_failed", {}).items():
            say("peers: optional %s was skipped when this virtualenv was built (%s)"
                % (line, error))
        return python
    if venv.exists():
        if not (venv / "pyvenv.cfg").is_file():
            raise SetupError("%s exists and is not a virtualenv; remove it or pass "
                             "--peers-venv" % venv)
        say("peers: %s was built from other requirements; rebuilding it" % venv)
        shutil.rmtree(venv)
    say("peers: creating %s" % venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    result = subprocess.run(pip + ["-r", str(REQUIREMENTS)])
    if result.returncode != 0:
        raise SetupError("pip could not install %s (exit %d)" % (REQUIREMENTS,
                                                                  result.returncode))
    failed = {}
    for args in requirement_lines(OPTIONAL_REQUIREMENTS):
        line = " ".join(args)
        say("peers: trying optional %s" % line)
        result = subprocess.run(pip + args, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            tail = result.stdout.strip().splitlines()[-1:] or ["?"]
            failed[line] = "pip exit %d: %s" % (result.returncode, tail[0])
            say("peers: skipping optional %s (%s)" % (line, failed[line]))
    (venv / PEERS_STAMP).write_text(json.dumps(
        {"digest": digest, "optional_failed": failed}, indent=1) + "\n")
    return python


def peer_versions(python: Path) -> Dict[str, str]:
    """name -> version of everything installed in the peers' virtualenv."""
    result = subprocess.run([str(python), "-m", "pip", "list", "--format=json",
                             "--disable-pip-version-check"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        return {p["name"]: p["version"] for p in json.loads(result.stdout)}
    except ValueError:
        return {}


def peer_servers(venv: Path) -> List[str]:
    """The wsgibench server names to compare: the fixed peers plus optional ones present."""
    present = [name for name, script in OPTIONAL_PEER_SERVERS.items()
               if (venv / "bin" / script).exists()]
    return list(PEER_SERVERS) + present


# --------------------------------------------------------------------------
# the tools: wrk, the harness, our server
# --------------------------------------------------------------------------


def ensure_wrk() -> str:
    """Return wrk's path; as root with apt-get, install it (saying so) if missing."""
    found = os.environ.get("WSGIBENCH_WRK") or shutil.which("wrk")
    if found:
        return found
    is_root = getattr(os, "geteuid", lambda: -1)() == 0
    if not (is_root and shutil.which("apt-get")):
        raise SetupError("wrk not found. Install it with:\n    sudo %s\n"
                         "or set WSGIBENCH_WRK to its path." % APT_INSTALL_WRK)
    say("wrk not found; installing it: apt-get update && %s" % APT_INSTALL_WRK)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], env=env)
    subprocess.run(shlex.split(APT_INSTALL_WRK), env=env)
    found = shutil.which("wrk")
    if not found:
        raise SetupError("installing wrk failed; run `%s` yourself" % APT_INSTALL_WRK)
    return found


def locate_harness(path: Path) -> Path:
    """The wsgibench harness, or a SetupError that says where it was looked for."""
    if not path.is_file():
        raise SetupError("wsgibench harness not found at %s: check out the shared folder "
                         "beside the repository, or pass --harness PATH "
                         "(or set BENCH_HARNESS)" % path)
    return path


def default_ours_cmd() -> str:
    """Our ``waitress-serve`` next to this Python, as a wsgibench cmd template."""
    script = Path(sys.executable).parent / "waitress-serve"
    if not script.exists():
        raise SetupError("%s not found: run through `tox -e bench`, or "
                         "`pip install -e packages/...` all five packages into this Python, "
                         "or pass --ours-cmd TEMPLATE" % script)
    return "%s --listen={hostport} --threads={threads} {app}" % shlex.quote(str(script))


def framework_servers(venv: Path, peers_python: Path) -> tuple:
    """The framework row's servers: (peer wsgibench entries, our cmd template).

    Each serves ``flask_hello.py``: Waitress 3.0.2 and ours through the same
    ``waitress.serve`` call, gunicorn as ``flask_hello:app``.
    """
    script = shlex.quote(str(FLASK_APP))
    peers = ["%s=cmd:%s %s {hostport} {threads}" % (BASELINE, shlex.quote(str(peers_python)),
                                                    script)]
    gunicorn = venv / "bin" / "gunicorn"
    if gunicorn.exists():
        peers.append("gunicorn-gthread=cmd:%s --worker-class=gthread --workers=1 "
                     "--threads={threads} --bind={hostport} --chdir=%s flask_hello:app"
                     % (shlex.quote(str(gunicorn)), shlex.quote(str(BENCH_DIR))))
    ours = "%s %s {hostport} {threads}" % (shlex.quote(sys.executable), script)
    return peers, ours


def imports(python: Path, module: str) -> bool:
    """Whether ``python`` can import ``module``."""
    result = subprocess.run([str(python), "-c", "import %s" % module],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return result.returncode == 0


# --------------------------------------------------------------------------
# running the parts
# --------------------------------------------------------------------------


def run_logged(argv: Sequence[str], log_path: Path) -> int:
    """Run a command, copying its output to the console and to a log file.

    On Ctrl-C the child (in our process group) gets the SIGINT too and is
    given time to stop its own servers and write what it measured.
    """
    say("$ " + " ".join(shlex.quote(str(a)) for a in argv))
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
            return proc.wait()
        except KeyboardInterrupt:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise


def help_text(script: Path) -> str:
    """The ``--help`` of a sub-benchmark, to pass only the flags it knows."""
    try:
        result = subprocess.run([sys.executable, str(script), "--help"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return ""
    return result.stdout


def micro_bench_argv(script: Path, peers_python: Path, quick: bool,
                     json_path: Path) -> List[str]:
    """The command line of parser_bench.py / loop_bench.py."""
    argv = [sys.executable, str(script), "--peers-python", str(peers_python)]
    known = help_text(script)
    if quick and "--quick" in known:
        argv.append("--quick")
    if "--json" in known:
        argv += ["--json", str(json_path)]
    return argv


def harness_argv(peers_python: Path, harness: Path, servers: Sequence[str], ours_cmd: str,
                 scenario: str, repeat: int, duration: int, pin: bool,
                 json_path: Path, markdown_path: Path, warmup: Optional[int] = None) -> List[str]:
    """The wsgibench command line, run with the peers' Python (it finds their scripts).

    ``warmup`` (seconds) is passed on only when given: the harness's own
    default (1 s) is what published figures use.
    """
    argv = [str(peers_python), str(harness)]
    if pin:
        argv.append("--pin")
    argv += ["--repeat", str(repeat), "--duration", str(duration), "--scenario", scenario,
             "--baseline", BASELINE]
    if warmup is not None:
        argv += ["--warmup", str(warmup)]
    for name in servers:
        argv += ["--server", name]
    argv += ["--server", "%s=cmd:%s" % (OURS, ours_cmd),
             "--json", str(json_path), "--markdown", str(markdown_path)]
    return argv


# --------------------------------------------------------------------------
# the summary
# --------------------------------------------------------------------------


def ratio_rows(summary: Sequence[dict], runs: Sequence[dict]) -> List[dict]:
    """Per scenario: ours against Waitress and against the fastest peer.

    ``summary`` and ``runs`` are wsgibench's JSON lists.  A scenario in which
    ours has no req/s figure gets ``ours_rps`` None; notes say when a figure
    is doubtful (failed probe, errors, wrk saturated).
    """
    by_scenario: Dict[str, Dict[str, dict]] = {}
    for row in summary:
        by_scenario.setdefault(row["scenario"], {})[row["server"]] = row
    failed_ours = {r["scenario"] for r in runs if r.get("server") == OURS and not r.get("ok")}
    rows = []
    for scenario, servers in by_scenario.items():
        ours = servers.get(OURS, {})
        ours_rps = ours.get("rps_median")
        base = servers.get(BASELINE, {})
        base_rps = base.get("rps_median")
        peers = [(row["rps_median"], name) for name, row in servers.items()
                 if name != OURS and row.get("rps_median")]
        best_rps, best_name = max(peers) if peers else (None, None)
        python_peers = [peer for peer in peers if peer[1] not in NATIVE_PEERS]
        best_py_rps, best_py_name = max(python_peers) if python_peers else (None, None)
        notes = []
        if scenario in failed_ours:
            notes.append("ours: a run failed")
        if ours.get("non2xx") or ours.get("socket_errors"):
            notes.append("ours: non2xx %d, socket errors %d"
                         % (ours.get("non2xx", 0), ours.get("socket_errors", 0)))
        if ours.get("wrk_cpu_pct", 0) >= WRK_BOUND_PCT:
            notes.append("wrk-bound")
        rows.append({
            "scenario": scenario,
            "ours_rps": ours_rps,
            "waitress_rps": base_rps,
            "ours_vs_waitress": ratio(ours_rps, base_rps),
            "server_cpu_vs_waitress": ratio(cpu_per_request(ours, "server_cpu_pct"),
                                            cpu_per_request(base, "server_cpu_pct")),
            "total_cpu_vs_waitress": ratio(cpu_per_request(ours, "server_cpu_pct", "wrk_cpu_pct"),
                                           cpu_per_request(base, "server_cpu_pct", "wrk_cpu_pct")),
            "best_peer": best_name,
            "best_peer_rps": best_rps,
            "ours_vs_best_peer": ratio(ours_rps, best_rps),
            "best_python_peer": best_py_name,
            "ours_vs_best_python_peer": ratio(ours_rps, best_py_rps),
            "notes": notes,
        })
    return rows


def cpu_per_request(row: dict, *columns: str) -> Optional[float]:
    """CPU % of the given columns summed, per request/s: CPU spent per request.

    The ``file`` row is wrk-bound, so req/s cannot compare servers there;
    CPU per request can.  With the server and wrk summed it also shows the
    work that loopback moves between the two sides (see README.md).
    """
    rps = row.get("rps_median")
    if not rps or any(row.get(column) is None for column in columns):
        return None
    return sum(row[column] for column in columns) / rps


def ratio(numerator: Optional[float], denominator: Optional[float]) -> Optional[float]:
    """numerator / denominator rounded to 2 places, or None when either is missing."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def fmt(value: Optional[float], pattern: str) -> str:
    """Format a figure, or "-" for a missing one."""
    return "-" if value is None else pattern % value


def ratio_table(labelled_rows: Sequence[tuple]) -> str:
    """One markdown table from (run label, rows from ratio_rows) pairs."""
    lines = ["| run | scenario | ours req/s | waitress 3.0.2 req/s | ours / waitress "
             "| server CPU per request, ours / waitress "
             "| server + wrk CPU per request, ours / waitress "
             "| best peer | best peer req/s | ours / best peer "
             "| best Python peer | ours / best Python peer | notes |",
             "|" + "---|" * 13]
    for label, rows in labelled_rows:
        for row in rows:
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, row["scenario"], fmt(row["ours_rps"], "%.0f"),
                fmt(row["waitress_rps"], "%.0f"), fmt(row["ours_vs_waitress"], "%.2f"),
                fmt(row["server_cpu_vs_waitress"], "%.2f"),
                fmt(row["total_cpu_vs_waitress"], "%.2f"),
                row["best_peer"] or "-", fmt(row["best_peer_rps"], "%.0f"),
                fmt(row["ours_vs_best_peer"], "%.2f"), row["best_python_peer"] or "-",
                fmt(row["ours_vs_best_python_peer"], "%.2f"), "; ".join(row["notes"])))
    return "\n".join(lines)


def load_harness_json(path: Path) -> Optional[dict]:
    """wsgibench's --json output, or None if the run wrote none."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Options; --quick changes only the defaults that are not given explicitly."""
    env = os.environ
    ap = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__.split("\n\n")[0],
        epilog="Read bench/README.md before quoting a figure.")
    ap.add_argument("--quick", action="store_true",
                    help="smoke check: duration 2 s, repeat 1, scenarios %s"
                         % QUICK["scenario"])
    ap.add_argument("--only", action="append", choices=PARTS,
                    help="run only this part; repeatable (default: all)")
    ap.add_argument("--scenario", action="append",
                    help="wsgibench scenario(s) for the pinned run; repeatable "
                         "(default all; --quick: %s)" % QUICK["scenario"])
    ap.add_argument("--repeat", type=int, help="wsgibench --repeat (default 3; --quick: 1)")
    ap.add_argument("--duration", type=int,
                    help="wsgibench --duration, seconds (default 5; --quick: 2)")
    ap.add_argument("--warmup", type=int,
                    help="wsgibench --warmup, whole seconds, 0 = none (default: the harness's, 1). "
                         "The warm-up's abandoned requests set slowapp's p99 (bench/README.md)")
    ap.add_argument("--no-unpinned", action="store_true",
                    help="skip the unpinned %s run" % UNPINNED_SCENARIO)
    ap.add_argument("--peers-venv", type=Path,
                    default=Path(env.get("BENCH_PEERS_VENV") or DEFAULT_PEERS_VENV),
                    help="virtualenv for Waitress 3.0.2 and the peers "
                         "(default $BENCH_PEERS_VENV or .tox/bench-peers)")
    ap.add_argument("--harness", type=Path,
                    default=Path(env.get("BENCH_HARNESS") or DEFAULT_HARNESS),
                    help="wsgibench.py (default $BENCH_HARNESS or ../shared/bench/wsgibench.py)")
    ap.add_argument("--ours-cmd", default=env.get("BENCH_OURS_CMD"),
                    help="wsgibench cmd template for our server (default: the "
                         "waitress-serve next to this Python, "
                         "'--listen={hostport} --threads={threads} {app}')")
    ap.add_argument("--out", type=Path, default=env.get("BENCH_OUT"),
                    help="results directory (default .tox/bench-results/<timestamp>)")
    args = ap.parse_args(argv)
    preset = QUICK if args.quick else FULL
    args.duration = args.duration or preset["duration"]
    args.repeat = args.repeat or preset["repeat"]
    args.scenario = ",".join(args.scenario) if args.scenario else preset["scenario"]
    args.only = set(args.only or PARTS)
    if args.out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        args.out = DEFAULT_RESULTS_ROOT / stamp
    if args.duration <= 0 or args.repeat <= 0:
        ap.error("--duration and --repeat must be positive")
    if args.warmup is not None and args.warmup < 0:
        ap.error("--warmup must be 0 or more")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Set up, run each part in order, print the summary; return the exit status."""
    args = parse_args(argv)
    try:
        loads = bool(args.only & {"server", "framework"})
        wrk = ensure_wrk() if loads else None
        harness = locate_harness(args.harness) if loads else None
        ours_cmd = args.ours_cmd or (default_ours_cmd() if "server" in args.only else "")
        peers_python = ensure_peers_venv(args.peers_venv.resolve())
    except SetupError as error:
        print("bench: %s" % error, file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print("bench: setting up the peers failed: %s" % error, file=sys.stderr)
        return 2

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    say("results: %s" % out)
    record = {"started": datetime.datetime.now().isoformat(timespec="seconds"),
              "argv": list(sys.argv), "python": sys.version, "wrk": wrk,
              "peers_python": str(peers_python), "peers": peer_versions(peers_python),
              "ours_cmd": ours_cmd, "steps": []}
    failures = []

    def step(name: str, command: List[str]) -> None:
        say("\n=== %s ===" % name)
        code = run_logged(command, out / ("%s.log" % name))
        record["steps"].append({"name": name, "argv": command, "exit": code})
        if code != 0:
            failures.append("%s (exit %d)" % (name, code))
            say("=== %s FAILED: exit %d ===" % (name, code))

    for part in ("parser", "loop"):
        script = BENCH_DIR / ("%s_bench.py" % part)
        if part not in args.only:
            continue
        if not script.is_file():
            say("\n=== %s: %s not present; skipped ===" % (part, script.name))
            continue
        step(part, micro_bench_argv(script, peers_python, args.quick,
                                    out / ("%s.json" % part)))

    harness_runs = []
    plan = []
    if "server" in args.only:
        servers = peer_servers(args.peers_venv.resolve())
        plan.append(("server-pinned", args.scenario, True, servers, ours_cmd))
        if not args.no_unpinned:
            plan.append(("server-unpinned", UNPINNED_SCENARIO, False, servers, ours_cmd))
    if "framework" in args.only:
        missing = [str(python) for python in (Path(sys.executable), peers_python)
                   if not imports(python, "flask")]
        if missing:
            say("\n=== framework: flask is not installed for %s; skipped ===" % ", ".join(missing))
        else:
            servers, ours_flask = framework_servers(args.peers_venv.resolve(), peers_python)
            plan.append(("server-flask", FRAMEWORK_SCENARIO, True, servers, ours_flask))
    for name, scenario, pin, servers, ours in plan:
        assert harness is not None
        json_path, md_path = out / ("%s.json" % name), out / ("%s.md" % name)
        step(name, harness_argv(peers_python, harness, servers, ours, scenario,
                                args.repeat, args.duration, pin, json_path, md_path,
                                warmup=args.warmup))
        harness_runs.append((name, json_path, md_path))

    summary_parts = []
    labelled = []
    for name, json_path, md_path in harness_runs:
        if md_path.is_file():
            summary_parts.append("## %s\n\n%s" % (name, md_path.read_text().strip()))
        data = load_harness_json(json_path)
        if data:
            labelled.append((name.replace("server-", ""),
                             ratio_rows(data.get("summary", []), data.get("runs", []))))
    if labelled:
        summary_parts.append("## ratios (req/s medians; pinned for comparisons, "
                             "unpinned = what users get by default)\n\n"
                             + ratio_table(labelled))
    if summary_parts:
        text = "\n\n".join(summary_parts) + "\n"
        (out / "summary.md").write_text(text)
        say("\n" + text)
    record["failed"] = failures
    (out / "run.json").write_text(json.dumps(record, indent=1) + "\n")
    if failures:
        say("FAILED: %s" % ", ".join(failures))
        return 1
    if not record["steps"]:
        say("nothing to run: none of the parts asked for is present")
        return 0
    say("all parts succeeded; results in %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
