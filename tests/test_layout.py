"""The package graph of DESIGN.md, checked: components import nothing of the project.

Also guards against the trap of the PyPI name: if the environment installed
somebody else's ``waitress`` instead of the one in ``packages/waitress``,
the tests below fail rather than silently testing the wrong server.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
COMPONENTS = {
    "waitress-wasyncore": "waitress_wasyncore",
    "waitress-http": "waitress_http",
    "waitress-proxy": "waitress_proxy",
    "waitress-cli": "waitress_cli",
}
PROJECT_MODULES = set(COMPONENTS.values()) | {"waitress"}


def imported_top_level_names(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


@pytest.mark.parametrize("dist", sorted(COMPONENTS))
def test_component_imports_no_other_project_package(dist):
    own = COMPONENTS[dist]
    offenders = []
    for path in (PACKAGES / dist / "src").rglob("*.py"):
        for name, lineno in imported_top_level_names(path):
            if name in PROJECT_MODULES and name != own:
                offenders.append(f"{path.relative_to(ROOT)}:{lineno} imports {name}")
    assert offenders == []


@pytest.mark.parametrize("dist", sorted(COMPONENTS) + ["waitress"])
def test_every_package_has_its_files(dist):
    base = PACKAGES / dist
    for name in ("pyproject.toml", "README.md", "CHANGES.md", "LICENSE"):
        assert (base / name).is_file(), f"{dist} lacks {name}"
    assert (base / "tests").is_dir()
    module = COMPONENTS.get(dist, "waitress")
    assert (base / "src" / module / "py.typed").is_file()


def test_imported_waitress_is_ours():
    import waitress

    here = pathlib.Path(waitress.__file__).resolve()
    assert (PACKAGES / "waitress" / "src" / "waitress") in here.parents, here
    assert waitress.__version__.split(".")[0] >= "4"


@pytest.mark.parametrize("module", sorted(COMPONENTS.values()))
def test_imported_components_are_ours(module):
    mod = __import__(module)
    here = pathlib.Path(mod.__file__).resolve()
    assert PACKAGES in here.parents, here
