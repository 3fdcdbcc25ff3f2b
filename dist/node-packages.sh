#!/usr/bin/env bash
# The npm side of `make dist` (napi-rs's layout): the platform package
# rumour-linux-x64-gnu (os, cpu and libc fields; the .node file inside) and
# the main package rumour, which lists it in optionalDependencies and loads
# it (bindings-node/index.js names the package when none fits). The main
# package carries no install script and no Rust sources: users never build.
# Usage: dist/node-packages.sh OUT PROFILE VERSION
set -euo pipefail
out=$1 profile=$2 version=$3
cd "$(dirname "$0")/../bindings-node"
triple=linux-x64-gnu
platform_pkg="rumour-$triple"
npm install --no-audit --no-fund --ignore-scripts >/dev/null
npx napi build --platform --profile "$profile" --js native.js --dts native.d.ts >/dev/null
[ -f "rumour.$triple.node" ] || { echo "napi build made no rumour.$triple.node" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/$platform_pkg"
cp "rumour.$triple.node" "$stage/$platform_pkg/"
node - "$stage/$platform_pkg/package.json" "$version" "$triple" <<'JS'
const [file, version, triple] = process.argv.slice(2)
const main = require(require('node:path').resolve('package.json'))
const pkg = {
  name: `rumour-${triple}`,
  version,
  description: `The native addon of the rumour npm package for ${triple} (installed by rumour itself)`,
  license: main.license,
  main: `rumour.${triple}.node`,
  files: [`rumour.${triple}.node`],
  os: ['linux'],
  cpu: ['x64'],
  libc: ['glibc'],
  engines: main.engines,
}
require('node:fs').writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n')
JS

mkdir -p "$stage/rumour"
cp index.js index.mjs index.d.ts native.js native.d.ts "$stage/rumour/"
[ -f README.md ] && cp README.md "$stage/rumour/"
node - "$stage/rumour/package.json" "$version" "$platform_pkg" <<'JS'
const [file, version, platformPkg] = process.argv.slice(2)
const pkg = { ...require(require('node:path').resolve('package.json')) }
pkg.version = version
pkg.files = ['index.js', 'index.mjs', 'index.d.ts', 'native.js', 'native.d.ts']
pkg.optionalDependencies = { [platformPkg]: version }
delete pkg.scripts
delete pkg.dependencies
delete pkg.devDependencies
delete pkg.napi
require('node:fs').writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n')
JS
rm -f "$out/$platform_pkg"-*.tgz "$out/rumour-$version.tgz"
(cd "$stage/$platform_pkg" && npm pack --silent --pack-destination "$out" >/dev/null)
(cd "$stage/rumour" && npm pack --silent --pack-destination "$out" >/dev/null)
ls "$out/$platform_pkg-$version.tgz" "$out/rumour-$version.tgz" >/dev/null
