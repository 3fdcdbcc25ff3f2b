#!/usr/bin/env bash
# The Python install test (see dist/test-install.sh): a fresh venv, the
# wheel from target/dist, two nodes forming a cluster from asyncio and from
# the blocking API, and the notebook's first simulator cell.
# Usage: dist/test-install-python.sh DIST VERSION WORKDIR
set -euo pipefail
dist=$1 version=$2 work=$3
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
wheels=("$dist"/rumour-"$version"-cp39-abi3-manylinux*.whl)
[ -f "${wheels[0]}" ] || { echo "no wheel for $version in $dist: run make dist" >&2; exit 1; }
python3 -m venv "$work/venv"
py=$work/venv/bin/python
"$py" -m pip install --quiet "${wheels[0]}"
# The notebook plots with these; the pins are the project's.
"$py" -m pip install --quiet $(grep -E '^(numpy|matplotlib)==' "$root/bindings-python/requirements-tools.txt")
cd "$work"
"$py" - "$version" <<'PY'
import asyncio
import sys

import rumour
from rumour import blocking

assert rumour.__version__ == sys.argv[1], (rumour.__version__, sys.argv[1])
assert "site-packages" in rumour.__file__, rumour.__file__


async def pair() -> None:
    cfg = lambda name, **kw: rumour.Config.local(name=name, bind="127.0.0.1:0", **kw)
    async with rumour.Node(cfg("wheel-a")) as a:
        async with rumour.Node(cfg("wheel-b", seeds=[a.addr])) as b:
            assert await b.joined(timeout=10) == a.addr
            for _ in range(100):
                if len(a.members()) == 2:
                    break
                await asyncio.sleep(0.05)
            assert {m.name for m in a.members()} == {"wheel-a", "wheel-b"}
    print("asyncio: two nodes formed a cluster")


asyncio.run(pair())
with blocking.Node(rumour.Config.local(name="wheel-c", bind="127.0.0.1:0")) as c:
    with blocking.Node(rumour.Config.local(name="wheel-d", bind="127.0.0.1:0", seeds=[c.addr])) as d:
        assert d.joined(timeout=10) == c.addr
    print("blocking: two nodes formed a cluster")
PY
# The first notebook's imports and its first simulator cell, headless and
# at the test suite's small sizes.
MPLBACKEND=Agg RUMOUR_NOTEBOOK_QUICK=1 "$py" - "$root/examples/python/notebooks/01_infection.ipynb" <<'PY'
import json
import sys

cells = [c for c in json.load(open(sys.argv[1]))["cells"] if c["cell_type"] == "code"]
scope: dict = {}
for cell in cells[:2]:
    exec("".join(cell["source"]), scope)
print("notebook: the simulator cell ran")
PY
