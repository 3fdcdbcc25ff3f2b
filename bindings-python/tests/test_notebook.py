"""The notebooks in examples/python/notebooks: their committed outputs come
from the current code (a stamp of their inputs, see refresh.py), and every
cell still runs (on smaller clusters, with RUMOUR_NOTEBOOK_QUICK=1)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "python" / "notebooks"
NOTEBOOKS = sorted(p.name for p in FOLDER.glob("*.ipynb"))
# What each notebook must print and how many plots it must draw.
EXPECTED = {
    "01_infection.ipynb": (["N=1,000: 1,000/1,000 infected", "aligned rounds, N=1,000"], 1),
    "02_swim_paper.ipynb": (["SWIM's model: mean", "formula", "Lifeguard"], 3),
    "03_lifeguard.ipynb": (["false failures over every run"], 1),
    "04_tuning.ipynb": (["best suspicion_mult="], 1),
    "05_three_datacenters.ipynb": (["every replica agrees again", "converged: True"], 2),
}


def refresh() -> object:
    spec = importlib.util.spec_from_file_location("refresh", FOLDER / "refresh.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def printed_and_plots(nb: object) -> tuple[str, int, list[str]]:
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]  # type: ignore[attr-defined]
    text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    plots = sum(1 for o in outputs if "image/png" in o.get("data", {}))
    errors = [o.get("ename", "") for o in outputs if o.get("output_type") == "error"]
    return text, plots, errors


def test_every_notebook_is_listed() -> None:
    assert NOTEBOOKS == sorted(EXPECTED)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_committed_outputs_come_from_the_current_code(name: str) -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(FOLDER / name, as_version=4)
    stamp = nb.metadata.get("rumour", {}).get("inputs")
    assert stamp == refresh().inputs_hash(nb), (  # type: ignore[attr-defined]
        f"{name}: its outputs were made from other code or cells; run `make notebooks` and commit the result"
    )
    text, plots, errors = printed_and_plots(nb)
    want_text, want_plots = EXPECTED[name]
    assert not errors and plots == want_plots, (errors, plots)
    assert all(w in text for w in want_text), text


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_cell_still_runs(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    pytest.importorskip("pandas")
    monkeypatch.setenv("RUMOUR_NOTEBOOK_QUICK", "1")
    nb = nbformat.read(FOLDER / name, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(FOLDER)}}
    ).execute()
    text, plots, errors = printed_and_plots(nb)
    want_text, want_plots = EXPECTED[name]
    assert not errors and plots == want_plots, (errors, plots)
    assert all(w in text for w in want_text), text
