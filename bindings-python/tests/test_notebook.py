"""examples/python/notebooks/experiments.ipynb runs from top to bottom."""

from __future__ import annotations

import os

import pytest

NOTEBOOK = os.path.join(
    os.path.dirname(__file__), "..", "..", "examples", "python", "notebooks", "experiments.ipynb"
)


def test_the_experiments_notebook_executes() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    printed = "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("name") == "stdout"
    )
    assert "N=800: 800/800 infected" in printed
    assert "replicas agree: True" in printed
    images = sum(
        1
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    )
    assert images == 4, f"{images} plots"
