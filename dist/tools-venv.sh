#!/usr/bin/env bash
# The packaging tools (maturin, ziglang, auditwheel) in target/dist-tools,
# at the versions pinned in bindings-python/requirements-tools.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/dist-tools
pins=bindings-python/requirements-tools.txt
wanted=$(grep -E '^(maturin|ziglang|auditwheel)==' "$pins" | sort | tr '\n' ' ')
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$wanted" ]; then
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet $wanted
  echo "$wanted" >"$venv/.pins"
fi
