"""Shared fixtures for the functional tests (tests/ is on sys.path)."""

import logging

import pytest
from fixtureapps import echo, gate, hello, lengths
from fixtureapps.recorder import RECORDER
from server_support import ThreadedServer, tcp_address


@pytest.fixture(autouse=True)
def _fresh_fixture_state():
    """Every test starts with no notes and a closed gate, and frees the gate after."""
    RECORDER.clear()
    gate.GATE.clear()
    yield
    gate.GATE.set()


@pytest.fixture
def recorder():
    """The notes fixture apps leave in this process."""
    return RECORDER


@pytest.fixture
def waitress_log(caplog):
    """caplog listening to the ``waitress`` loggers at DEBUG."""
    caplog.set_level(logging.DEBUG, logger="waitress")
    return caplog


def _served_per_module(app):
    """A fixture: one server of ``app`` per test module, yielding its address."""

    @pytest.fixture(scope="module")
    def target():
        with ThreadedServer(app) as server:
            yield tcp_address(server)

    return target


hello_target = _served_per_module(hello.app)
echo_target = _served_per_module(echo.app)
lengths_target = _served_per_module(lengths.app)
