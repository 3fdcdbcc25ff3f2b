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
deps="maturin>=1.5,<2 pytest pytest-timeout mypy ruff numpy pandas matplotlib nbformat nbclient ipykernel"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$deps" ]; then
  # shellcheck disable=SC2086
  .venv/bin/pip install --quiet --upgrade pip $deps
  echo "$deps" > "$stamp"
fi
cd bindings-python
VIRTUAL_ENV="$PWD/../.venv" PATH="$PWD/../.venv/bin:$PATH" maturin develop --release --quiet
