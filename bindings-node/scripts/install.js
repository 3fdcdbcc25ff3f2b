// `npm install` hook: builds the native addon from source (Rust and cargo
// needed) unless a binary for this platform is already in the package, as
// in a packed tarball made after a build.
'use strict'
const { existsSync, readdirSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')
const built = readdirSync(root).some((f) => f.startsWith('rumour.') && f.endsWith('.node'))
if (built && existsSync(path.join(root, 'native.js')) && !process.env.RUMOUR_FORCE_BUILD) {
  process.exit(0)
}
// The CLI's entry point sits beside its main module (dist/cli.js).
const napi = path.join(path.dirname(require.resolve('@napi-rs/cli', { paths: [root] })), 'cli.js')
const args = [napi, 'build', '--platform', '--release', '--js', 'native.js', '--dts', 'native.d.ts']
const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
if (run.status !== 0) {
  console.error('rumour: building the native addon failed; it needs Rust (https://rustup.rs) and cargo on PATH')
  process.exit(run.status ?? 1)
}
