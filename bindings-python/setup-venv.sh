#!/usr/bin/env sh
# Makes (or refreshes) the project's Python venv at .venv with what the
# Python binding's build and tests need, then builds the binding into it.
# Run by `make python-test`; needs python3 with venv and the PyPI registry.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.rumour-deps
# Every tool at the version pinned in bindings-python/requirements-tools.txt.
pins=bindings-python/requirements-tools.txt
if [ ! -f "$stamp" ] || ! cmp -s "$stamp" "$pins"; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r "$pins"
  cp "$pins" "$stamp"
fi
cd bindings-python
VIRTUAL_ENV="$PWD/../.venv" PATH="$PWD/../.venv/bin:$PATH" maturin develop --release --quiet
