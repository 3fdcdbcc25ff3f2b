#!/usr/bin/env bash
# Install tests on a machine without Rust (issue 17): what `make dist` wrote
# to target/dist is installed and used with cargo, rustc and ~/.cargo/bin
# off PATH (a check fails the test if either is still found).
#   c       the tarball unpacked under a new prefix; the C example built with
#           pkg-config and the C++ example with CMake, both run
#   python  a fresh venv, `pip install` of the wheel; two nodes form a
#           cluster from asyncio and from the blocking API; the notebook's
#           simulator cell runs
#   node    a fresh npm project, `npm install` of the two tarballs (offline);
#           two nodes form a cluster from CommonJS and from ESM; tsc accepts
#           the typed example
# Usage: bash dist/test-install.sh [c|python|node ...] (default: all three).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dist=$root/target/dist
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(c python node)

# PATH without any directory that holds cargo or rustc.
clean_path=""
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  case "$d" in "$HOME/.cargo/bin" | */.cargo/bin | */.rustup/*) continue ;; esac
  if [ -x "$d/cargo" ] || [ -x "$d/rustc" ]; then continue; fi
  clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
unset CARGO CARGO_HOME RUSTUP_HOME RUSTC
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
  echo "cargo or rustc is still on PATH: the install tests would not prove anything" >&2
  exit 1
fi

work=$(mktemp -d /tmp/rumour-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
timed() {
  local what=$1 start ms
  shift
  start=$(date +%s%N)
  "$@"
  ms=$((($(date +%s%N) - start) / 1000000))
  printf 'install test %-7s passed in %d.%03d s\n' "$what" $((ms / 1000)) $((ms % 1000))
}

test_c() {
  local tarball="$dist/rumour-$version-linux-x86_64.tar.gz"
  [ -f "$tarball" ] || { echo "missing $tarball: run make dist" >&2; return 1; }
  mkdir -p "$work/c/opt/somewhere"
  tar -C "$work/c/opt/somewhere" -xzf "$tarball"
  # Moved after unpacking: nothing in it may remember where it was built.
  mv "$work/c/opt/somewhere/rumour-$version-linux-x86_64" "$work/c/prefix"
  command -v cmake >/dev/null || { echo "cmake is needed for the CMake install test (.ci/setup installs it)" >&2; return 1; }
  sh examples/c/build-and-run.sh "$work/c/prefix"
}

for part in "${parts[@]}"; do
  case "$part" in
    c) timed c test_c ;;
    python) timed python bash dist/test-install-python.sh "$dist" "$version" "$work/python" ;;
    node) timed node bash dist/test-install-node.sh "$dist" "$version" "$work/node" ;;
    *) echo "unknown part: $part (c, python or node)" >&2; exit 2 ;;
  esac
done
