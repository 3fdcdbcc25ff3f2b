#!/usr/bin/env bash
# The Node install test (see dist/test-install.sh): a fresh npm project,
# `npm install --offline` of the two tarballs from target/dist; two nodes
# form a cluster from CommonJS and from ESM; tsc (the one bindings-node
# already has) accepts the typed example against the installed package.
# Usage: dist/test-install-node.sh DIST VERSION WORKDIR
set -euo pipefail
dist=$1 version=$2 work=$3
root=$(cd "$(dirname "$0")/.." && pwd)
main="$dist/rumour-$version.tgz"
platform="$dist/rumour-linux-x64-gnu-$version.tgz"
for f in "$main" "$platform"; do [ -f "$f" ] || { echo "missing $f: run make dist" >&2; exit 1; }; done
mkdir -p "$work" && cd "$work"
echo '{ "name": "consumer", "private": true }' >package.json
npm install --offline --no-audit --no-fund --silent "$platform" "$main"
[ -f node_modules/rumour-linux-x64-gnu/rumour.linux-x64-gnu.node ] || { echo "the platform package is not installed" >&2; exit 1; }
if ls node_modules/rumour/*.node >/dev/null 2>&1; then echo "the main package must not carry a .node file" >&2; exit 1; fi
cat >pair.cjs <<'JS'
const { Config, Node } = require('rumour')
;(async () => {
  const a = await Node.start(Config.local({ name: 'cjs-a', bind: '127.0.0.1:0' }))
  const b = await Node.start(Config.local({ name: 'cjs-b', bind: '127.0.0.1:0', seeds: [a.addr] }))
  if ((await b.joined({ timeout: 10000 })) !== a.addr) throw new Error('joined the wrong peer')
  await b.leave(); await b.close(); await a.close()
  console.log('CommonJS: two nodes formed a cluster')
})().catch((e) => { console.error(e); process.exit(1) })
JS
cat >pair.mjs <<'JS'
import { Config, Node } from 'rumour'
const a = await Node.start(Config.local({ name: 'esm-a', bind: '127.0.0.1:0' }))
const b = await Node.start(Config.local({ name: 'esm-b', bind: '127.0.0.1:0', seeds: [a.addr] }))
if ((await b.joined({ timeout: 10000 })) !== a.addr) throw new Error('joined the wrong peer')
await b.leave(); await b.close(); await a.close()
console.log('ESM: two nodes formed a cluster')
JS
node pair.cjs
node pair.mjs
# The typed example, importing the installed package.
sed "s#'../../bindings-node/index.js'#'rumour'#" "$root/examples/node/typed.ts" >typed.ts
cat >tsconfig.json <<JSON
{
  "compilerOptions": {
    "target": "ES2022", "module": "commonjs", "moduleResolution": "node10", "strict": true, "noEmit": true,
    "types": ["node"], "typeRoots": ["$root/bindings-node/node_modules/@types"], "lib": ["ES2022", "ESNext.Disposable"]
  },
  "files": ["typed.ts"]
}
JSON
"$root/bindings-node/node_modules/.bin/tsc" -p .
echo "tsc: the typed example checks against the installed package"
# Without the platform package, require() names it instead of failing vaguely.
mkdir -p "$work-bare" && cd "$work-bare"
echo '{ "name": "bare", "private": true }' >package.json
npm install --offline --omit=optional --no-audit --no-fund --silent "$main"
out=$(node -e "try { require('rumour') } catch (e) { console.log(e.code, e.message) }")
case "$out" in
  RUMOUR_NO_NATIVE_ADDON*rumour-linux-x64-gnu*) echo "without the platform package: $out" ;;
  *) echo "expected an error naming rumour-linux-x64-gnu, got: $out" >&2; exit 1 ;;
esac
