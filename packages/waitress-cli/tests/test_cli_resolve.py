"""``resolve`` and ``load_app``: MODULE:OBJECT -> the object, or one clear line."""

import os
import sys

import pytest
from waitress_cli import AppLoadError, load_app, resolve

APP = """
def app(environ, start_response):
    start_response("200 OK", [])
    return [b"hi"]

class Holder:
    class inner:
        @staticmethod
        def wsgi(environ, start_response):
            return app(environ, start_response)

holder = Holder()

def factory():
    return app

not_callable = 42
nothing = None
"""


def test_module_in_the_working_directory(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    obj = resolve(f"{name}:app")
    assert obj.__name__ == "app" and obj.__module__ == name


def test_working_directory_goes_first_on_sys_path(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    resolve(f"{name}:app")
    assert sys.path[0] == os.getcwd()


def test_sys_path_already_searching_the_working_directory_is_left_alone(app_dir):
    """Under ``python -c`` or a REPL, ``""`` heads sys.path and already means
    the working directory; the loader must not push a second copy in front of
    it, which would change the path that programs embedding it inspect."""
    name = app_dir.module(app_dir.unique("webapp"), APP)
    sys.path[:] = [""] + [p for p in sys.path if p not in ("", os.getcwd())]
    before = list(sys.path)
    resolve(f"{name}:app")
    assert sys.path == before


def test_working_directory_is_moved_to_the_front_not_duplicated(app_dir):
    """A working directory already further down sys.path moves to the front
    once, so the module a person is in wins over an installed one of the same
    name without sys.path growing on each call."""
    name = app_dir.module(app_dir.unique("webapp"), APP)
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())] + [os.getcwd()]
    resolve(f"{name}:app")
    assert sys.path[0] == os.getcwd() and sys.path.count(os.getcwd()) == 1


def test_dotted_attributes(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert resolve(f"{name}:Holder.inner.wsgi").__name__ == "wsgi"
    assert resolve(f"{name}:holder.inner.wsgi").__name__ == "wsgi"


def test_package_module(app_dir):
    pkg = app_dir.unique("pkg")
    app_dir.package(pkg, {"__init__.py": "", "web/__init__.py": "", "web/main.py": APP})
    assert resolve(f"{pkg}.web.main:app").__name__ == "app"


def test_submodule_not_imported_by_its_package_is_reached(app_dir):
    pkg = app_dir.unique("pkg")
    app_dir.package(pkg, {"__init__.py": "", "main.py": APP})
    assert resolve(f"{pkg}:main.app").__name__ == "app"


def test_spec_without_colon_imports_the_longest_module(app_dir):
    pkg = app_dir.unique("pkg")
    app_dir.package(pkg, {"__init__.py": "", "main.py": APP})
    assert resolve(f"{pkg}.main.holder.inner.wsgi").__name__ == "wsgi"
    assert resolve(f"{pkg}.main.factory", call=True).__name__ == "app"


def test_call_calls_the_factory(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert resolve(f"{name}:factory", call=True).__name__ == "app"
    assert resolve(f"{name}:factory").__name__ == "factory"


def test_load_app_returns_a_callable(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert callable(load_app(f"{name}:app"))


def message(spec, call=False, loader=load_app):
    with pytest.raises(AppLoadError) as info:
        loader(spec, call=call)
    text = str(info.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("spec", ["", ":app", "mod:", "mod:a..b", "mod..x:app", "mod:.a"])
def test_malformed_specs(app_dir, spec):
    assert message(spec) == f"{spec!r} is not of the form MODULE:OBJECT"


def test_top_module_missing(app_dir):
    name = app_dir.unique("missing")
    assert message(f"{name}:app") == (
        f"No module named {name!r} (searched the current directory and sys.path)"
    )


def test_submodule_missing_names_the_missing_one(app_dir):
    pkg = app_dir.unique("pkg")
    app_dir.package(pkg, {"__init__.py": ""})
    assert message(f"{pkg}.nope:app").startswith(f"No module named '{pkg}.nope'")


def test_import_error_inside_the_module_shows_where(app_dir):
    dep = app_dir.unique("reqeusts")
    name = app_dir.module(app_dir.unique("webapp"), f"x = 1\nimport {dep}\n")
    text = message(f"{name}:app")
    assert text == (
        f"importing {name!r} failed: ModuleNotFoundError: No module named {dep!r} "
        f"({name}.py, line 2: import {dep})"
    )


def test_error_deep_in_user_code_shows_the_deepest_user_line(app_dir):
    helper = app_dir.module(app_dir.unique("helper"), "def build():\n    return undefined_name\n")
    name = app_dir.module(app_dir.unique("webapp"), f"import {helper}\napp = {helper}.build()\n")
    text = message(f"{name}:app")
    assert text == (
        f"importing {name!r} failed: NameError: name 'undefined_name' is not defined "
        f"({helper}.py, line 2: return undefined_name)"
    )


def test_error_in_a_module_outside_the_working_directory_shows_its_full_path(
    app_dir, tmp_path_factory
):
    """A module found through sys.path elsewhere (a virtualenv, a library
    folder) is named by its absolute path: a "../../" path relative to where
    the command happened to run is harder to open."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    name = app_dir.unique("remote")
    (elsewhere / f"{name}.py").write_text("x = 1\nraise RuntimeError('boom')\n", encoding="utf-8")
    sys.path.append(str(elsewhere))
    text = message(f"{name}:app")
    path = os.path.join(str(elsewhere), f"{name}.py")
    assert text == (
        f"importing {name!r} failed: RuntimeError: boom "
        f"({path}, line 2: raise RuntimeError('boom'))"
    )


def test_syntax_error_shows_file_and_line(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), "x = 1\ndef broken(:\n    pass\n")
    text = message(f"{name}:app")
    assert text.startswith(f"importing {name!r} failed: SyntaxError: ")
    assert text.endswith(f"({name}.py, line 2)")


def test_missing_attribute_of_module(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert message(f"{name}:ap") == f"module {name!r} has no attribute 'ap'"


def test_missing_nested_attribute(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert message(f"{name}:Holder.inner.nope") == f"'{name}:Holder.inner' has no attribute 'nope'"


def test_missing_attribute_of_package_with_no_such_submodule(app_dir):
    pkg = app_dir.unique("pkg")
    app_dir.package(pkg, {"__init__.py": ""})
    assert message(f"{pkg}:nope") == f"module {pkg!r} has no attribute 'nope'"


def test_call_on_something_not_callable(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert message(f"{name}:not_callable", call=True) == (
        f"--call: '{name}:not_callable' is not callable (it is a int)"
    )


def test_factory_that_raises(app_dir):
    name = app_dir.module(
        app_dir.unique("webapp"), "def factory():\n    raise RuntimeError('no config')\n"
    )
    assert message(f"{name}:factory", call=True) == (
        f"calling '{name}:factory' failed: RuntimeError: no config "
        f"({name}.py, line 2: raise RuntimeError('no config'))"
    )


def test_factory_returning_a_non_callable(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), "def factory():\n    return None\n")
    assert message(f"{name}:factory", call=True) == (
        f"calling '{name}:factory' returned None, which is not a WSGI application (not callable)"
    )


def test_object_that_is_not_a_wsgi_callable(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert message(f"{name}:not_callable") == (
        f"'{name}:not_callable' is a int, not a WSGI application (not callable)"
    )
    assert message(f"{name}:nothing") == (
        f"'{name}:nothing' is None, not a WSGI application (not callable)"
    )


def test_bare_module_hints_at_the_object(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert message(name).endswith("(not callable) (name the object too: MODULE:OBJECT)")


def test_resolve_returns_non_callables_as_they_are(app_dir):
    name = app_dir.module(app_dir.unique("webapp"), APP)
    assert resolve(f"{name}:not_callable") == 42
