"""Every example in examples/python runs as its docstring says."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python")


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60, cwd=EXAMPLES)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_quickstart_three_processes_find_each_other() -> None:
    out = run("quickstart.py", "--three")
    for name in "abc":
        assert f"{name}: members after 2 s: a, b, c" in out, out
    assert "says 'hello from" in out


def test_service_discovery() -> None:
    out = run("service_discovery.py")
    assert "api: ['api-1@8001', 'api-2@8002']  db: ['db-1@5432']" in out
    assert "api-2 left -> ['api-1@9001']" in out


def test_cache_invalidation() -> None:
    out = run("cache_invalidation.py")
    assert out.count("['user:2']") == 4


@pytest.mark.parametrize("name", ["quickstart.py", "service_discovery.py", "cache_invalidation.py"])
def test_each_example_documents_how_to_run_it(name: str) -> None:
    with open(os.path.join(EXAMPLES, name)) as f:
        head = f.read(2000)
    assert f"python examples/python/{name}" in head
