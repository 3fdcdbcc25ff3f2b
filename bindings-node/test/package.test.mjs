// The package as users get it: `npm pack`, installed into a new project,
// required and imported there; and the examples, each run as documented.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const pkg = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const examples = path.join(pkg, '..', 'examples', 'node')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function node(args, cwd) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60000 })
  assert.equal(r.status, 0, `${args.join(' ')}:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

test('the packed tarball installs into a new project and runs there', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rumour-pack-'))
  try {
    const tgz = execFileSync(npm, ['pack', '--silent', '--pack-destination', dir], { cwd: pkg, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    execFileSync(npm, ['install', '--no-audit', '--no-fund', path.join(dir, tgz)], { cwd: dir, stdio: 'pipe' })
    writeFileSync(
      path.join(dir, 'use.cjs'),
      // prom-client is an optional peer: not installed here, and not needed.
      `const { Config, Node, registerMetrics } = require('rumour')
       let peer = 'absent'; try { require.resolve('prom-client'); peer = 'present' } catch {}
       console.log('prom-client', peer, typeof registerMetrics)
       Node.start(Config.local({ name: 'consumer', bind: '127.0.0.1:0' })).then(async (n) => {
         console.log('cjs members', n.members().length, n.metrics().length > 0); await n.close() })`,
    )
    writeFileSync(
      path.join(dir, 'use.mjs'),
      `import { Config, Node } from 'rumour'
       const n = await Node.start(Config.local({ name: 'consumer-esm', bind: '127.0.0.1:0' }))
       console.log('esm members', n.members().length); await n.close()`,
    )
    const cjs = node(['use.cjs'], dir)
    assert.match(cjs, /cjs members 1 true/)
    assert.match(cjs, /prom-client absent function/)
    assert.match(node(['use.mjs'], dir), /esm members 1/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('examples: quickstart with three processes', () => {
  const out = node([path.join(examples, 'quickstart.mjs'), '--three'], pkg)
  for (const name of ['a', 'b', 'c']) assert.match(out, new RegExp(`${name}: members after 2 s: a, b, c`))
})

test('examples: service discovery', () => {
  const out = node([path.join(examples, 'service-discovery.mjs')], pkg)
  assert.match(out, /api: \["api-1@8001","api-2@8002"\] {2}db: \["db-1@5432"\]/)
  assert.match(out, /api-2 left -> \["api-1@9001"\]/)
})

test('examples: the TypeScript example type-checks, compiles and runs', () => {
  const tsc = path.join(pkg, 'node_modules', 'typescript', 'bin', 'tsc')
  node([tsc, '-p', examples], pkg)
  const out = node([path.join(examples, 'typed.js')], pkg)
  assert.match(out, /services\/web\/web-1 = 127\.0\.0\.1:\d+/)
})
