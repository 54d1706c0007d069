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


def exported(module) -> set:
    """What a module offers others: its ``__all__``, else its names without an underscore."""
    names = getattr(module, "__all__", None)
    return set(names) if names is not None else {n for n in vars(module) if not n.startswith("_")}


def test_waitress_uses_only_what_the_components_export():
    # DESIGN.md: a component exposes what others use in its __init__ (or in a
    # submodule its __init__ exports), so its other modules can change freely.
    import importlib

    offenders = []
    for path in (PACKAGES / "waitress" / "src").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            top, _, sub = node.module.partition(".")
            if top not in COMPONENTS.values():
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if sub and sub not in exported(importlib.import_module(top)):
                offenders.append(f"{where} imports from {node.module}, which {top} does not export")
                continue
            offered = exported(importlib.import_module(node.module))
            offenders += [f"{where} imports {alias.name} from {node.module}, which does not export it"
                          for alias in node.names
                          if alias.name not in ("*", "__all__") and alias.name not in offered]
    assert offenders == []


def test_internal_dependency_ranges_admit_the_versions_in_the_tree():
    # Each package is versioned on its own; waitress's ranges must still admit them.
    import re

    def version(dist: str) -> tuple:
        module = COMPONENTS.get(dist, "waitress")
        text = (PACKAGES / dist / "src" / module / "__init__.py").read_text(encoding="utf-8")
        literal = re.search(r'^__version__ = "([0-9.]+)"$', text, re.M)
        assert literal, f"{dist} has no literal __version__"
        return tuple(int(part) for part in literal.group(1).split("."))

    pyproject = (PACKAGES / "waitress" / "pyproject.toml").read_text(encoding="utf-8")
    ranges = {  # tomllib is 3.11+; the requirement lines are simple enough
        found.group(1): (found.group(2), int(found.group(3)))
        for found in re.finditer(r'^\s*"(waitress-[a-z]+) >=([0-9.]+),<([0-9]+)",$', pyproject, re.M)
    }
    assert sorted(ranges) == sorted(COMPONENTS)
    for dist, (lower, below) in ranges.items():
        have = version(dist)
        assert tuple(int(part) for part in lower.split(".")) <= have, (dist, lower, have)
        assert have[0] < below, (dist, below, have)
