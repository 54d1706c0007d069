"""bench/instructions.py: its client against a real server, and one counted run.

The count itself needs valgrind; without it that test is skipped.
"""

import shutil
import threading

import pytest


@pytest.fixture(scope="module")
def instructions(load_script):
    return load_script("instructions.py")


@pytest.mark.parametrize("close", [False, True])
def test_the_client_reads_each_whole_response(instructions, close):
    from waitress import create_server

    server = create_server(instructions.hello, listen="127.0.0.1:0")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        instructions.send_requests(int(server.effective_port), 20, close)
    finally:
        server.close()
        thread.join(10)


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_a_counted_run_reports_instructions_per_request(instructions, capsys):
    assert instructions.main(["--requests", "50"]) == 0
    out = capsys.readouterr().out
    assert "instructions" in out and "per request (keep)" in out
