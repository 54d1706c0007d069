"""Shared fixtures for the functional tests (tests/ is on sys.path)."""

import logging

import pytest
from fixtureapps import gate
from fixtureapps.recorder import RECORDER


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
