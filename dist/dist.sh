#!/usr/bin/env bash
# `make dist`: everything a release needs, in target/dist/, from the same
# sources and the workspace's one version, built with the release-dist
# profile (fat LTO, stripped) and Cargo.lock as it is (--locked):
#   rumour-<v>-linux-x86_64.tar.gz    C: lib/ (shared, static), include/,
#                                     lib/pkgconfig/rumour.pc, lib/cmake/rumour/
#   rumour-<v>-cp39-abi3-manylinux*.whl  Python, abi3 for CPython 3.9+,
#                                     glibc 2.17 (maturin --zig)
#   rumour-<v>.tar.gz                 Python sdist (builds where Rust is)
#   rumour-linux-x64-gnu-<v>.tgz      npm platform package (the .node file)
#   rumour-<v>.tgz                    npm main package (loads the above)
#   SIZES, auditwheel.txt             what the closing note quotes
# Usage: bash dist/dist.sh [c|python|node ...] (default: all three).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
out=$root/target/dist
profile=release-dist
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(c python node)
mkdir -p "$out"

c_tarball() {
  local name="rumour-$version-linux-x86_64" stage
  stage=$(mktemp -d)
  cargo build --locked --profile "$profile" -p rumour-c
  make -C bindings-c install PROFILE="$profile" PREFIX="$stage/$name" >/dev/null
  rm -f "$out/$name.tar.gz"
  tar -C "$stage" --owner=0 --group=0 -czf "$out/$name.tar.gz" "$name"
  rm -rf "$stage"
}

python_packages() {
  bash dist/tools-venv.sh
  local venv=$root/target/dist-tools
  rm -f "$out"/rumour-*.whl "$out"/rumour-"$version".tar.gz
  (cd bindings-python && PATH="$venv/bin:$PATH" maturin build --locked --profile "$profile" --zig \
    --compatibility manylinux2014 --interpreter python3 --out "$out")
  (cd bindings-python && PATH="$venv/bin:$PATH" maturin sdist --out "$out")
  "$venv/bin/auditwheel" show "$out"/rumour-"$version"-*.whl | tee "$out/auditwheel.txt"
}

node_packages() {
  bash dist/node-packages.sh "$out" "$profile" "$version"
}

for part in "${parts[@]}"; do
  case "$part" in
    c) c_tarball ;;
    python) python_packages ;;
    node) node_packages ;;
    *) echo "unknown part: $part (c, python or node)" >&2; exit 2 ;;
  esac
done
(cd "$out" && find . -maxdepth 1 -type f \( -name '*.gz' -o -name '*.whl' -o -name '*.tgz' \) -printf '%s %f\n' | sort -k2) >"$out/SIZES"
echo "target/dist (version $version):"
awk '{ printf "  %8.1f KiB  %s\n", $1 / 1024, $2 }' "$out/SIZES"
