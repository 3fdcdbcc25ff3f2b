"""Re-executes the notebooks and stamps them with what they were run from.

    python refresh.py run [NAME ...]   # execute at full size, store outputs and the stamp
    python refresh.py check            # exit 1 if a notebook's outputs are stale

The stamp (``metadata.rumour.inputs``) is a SHA-256 of the notebook's code
cells and of the code the outputs depend on: the simulator, the protocol
and the wire codec in Rust, and the Python simulator API. A change to any
of them makes the committed plots stale until ``make notebooks`` runs; the
test suite checks the stamps (bindings-python/tests/test_notebook.py).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SOURCES = [
    "core/src/sim",
    "core/src/proto",
    "core/src/wire",
    "bindings-python/src/sim.rs",
    "bindings-python/python/rumour/sim.py",
]


def notebooks() -> list[Path]:
    """Every notebook here, in order."""
    return sorted(HERE.glob("*.ipynb"))


def inputs_hash(nb: dict) -> str:
    """The stamp a notebook's outputs must carry to be current."""
    h = hashlib.sha256()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            h.update(b"cell\0" + source.encode() + b"\0")
    for entry in SOURCES:
        path = ROOT / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def stale() -> list[str]:
    """The notebooks whose stored outputs were not made from the current inputs."""
    import nbformat

    out = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        if nb.metadata.get("rumour", {}).get("inputs") != inputs_hash(nb):
            out.append(path.name)
    return out


def run(names: list[str]) -> None:
    """Executes the notebooks at full size and writes them back, stamped."""
    import nbclient
    import nbformat

    os.environ.pop("RUMOUR_NOTEBOOK_QUICK", None)
    for path in notebooks():
        if names and path.name not in names and path.stem not in names:
            continue
        nb = nbformat.read(path, as_version=4)
        start = time.monotonic()
        nbclient.NotebookClient(
            nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
        ).execute()
        nb.metadata["rumour"] = {"inputs": inputs_hash(nb)}
        nbformat.write(nb, path)
        print(f"{path.name}: executed in {time.monotonic() - start:.0f} s", flush=True)


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "run":
        run(sys.argv[2:])
        return 0
    if len(sys.argv) == 2 and sys.argv[1] == "check":
        names = stale()
        for name in names:
            print(f"{name}: outputs are stale; run `make notebooks`")
        return 1 if names else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
