"""Fixtures for the tests of the bench scripts, which are files, not modules of a package."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def load_script():
    """``load_script("run.py")``: the script in bench/ as a fresh module."""

    def load(filename: str):
        spec = importlib.util.spec_from_file_location(f"bench_{Path(filename).stem}_under_test", BENCH / filename)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
