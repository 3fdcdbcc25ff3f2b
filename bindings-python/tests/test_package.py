"""The package as shipped: stubs match the native module, the typed
package type-checks, and everything public is exported and documented."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import rumour

PACKAGE = os.path.dirname(rumour.__file__)


def test_stubs_match_the_native_module() -> None:
    pytest.importorskip("mypy")
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "rumour._native"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_package_type_checks() -> None:
    pytest.importorskip("mypy")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-version", "3.10", PACKAGE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_py_typed_ships_and_every_public_name_is_documented() -> None:
    assert os.path.exists(os.path.join(PACKAGE, "py.typed"))
    assert os.path.exists(os.path.join(PACKAGE, "_native.pyi"))
    for name in rumour.__all__:
        obj = getattr(rumour, name)
        assert obj is not None
        if isinstance(obj, type):
            assert obj.__doc__, f"{name} has no docstring"
