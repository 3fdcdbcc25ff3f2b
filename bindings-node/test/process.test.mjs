// Process-level behaviour, each in a child process with a time limit: a
// node keeps the process alive until close(), then it exits by itself,
// even with joined() pending; an unhandled listener exception is uncaught
// as usual; nodes in three processes form one cluster; CommonJS and ESM
// both load the package.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { Node } from '../index.mjs'
import { config, waitUntil } from './helpers.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const pkg = path.join(here, '..')

/** Runs `code` as an ES module in a child; resolves with its exit code and output. */
function run(code, { timeoutMs = 20000, type = 'module' } = {}) {
  return new Promise((resolve, reject) => {
    const args = type === 'module' ? ['--input-type=module', '-e', code] : ['-e', code]
    const child = spawn(process.execPath, args, { cwd: pkg })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`still running after ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

const prelude = `import { Config, Node } from './index.mjs'
const config = (name) => Config.local({ name, bind: '127.0.0.1:0', retransmitMult: 4 })`

test('a running node keeps the process alive; after close it exits by itself', async () => {
  const started = Date.now()
  const { code, out } = await run(`${prelude}
    const a = await Node.start(config('alive-a'))
    const b = await Node.start(config('alive-b'))
    await b.join(a.addr)
    a.on('memberJoined', () => {})
    setTimeout(async () => { await b.close(); await a.close(); console.log('closed') }, 1500)`)
  assert.equal(code, 0, out)
  assert.match(out, /closed/)
  const took = Date.now() - started
  assert.ok(took >= 1500 && took < 10000, `exited after ${took} ms`)
})

test('a pending joined() does not keep the process alive after close', async () => {
  const started = Date.now()
  const { code, out } = await run(`${prelude}
    const n = await Node.start(Config.local({ name: 'waiter', bind: '127.0.0.1:0', seeds: ['127.0.0.1:1'] }))
    for (const options of [{}, { timeout: 600000 }]) {
      n.joined(options).catch((err) => console.log('rejected', err.name))
    }
    setTimeout(() => n.close(), 500)`)
  assert.equal(code, 0, out)
  assert.equal(out.match(/rejected ClosedError/g)?.length, 2, out)
  const took = Date.now() - started
  assert.ok(took < 10000, `exited after ${took} ms`)
})

test('without an error listener, a throwing listener is an uncaught exception', async () => {
  const { code, out } = await run(`${prelude}
    const a = await Node.start(config('unc-a'))
    const b = await Node.start(config('unc-b'))
    process.on('uncaughtException', async (err) => {
      console.log('uncaught:', err.message, 'members:', a.members().length)
      await b.close(); await a.close()
    })
    a.on('memberJoined', () => { throw new Error('listener bug') })
    await b.join(a.addr)`)
  assert.equal(code, 0, out)
  assert.match(out, /uncaught: listener bug members: 2/)
})

test('CommonJS require works too', async () => {
  const { code, out } = await run(
    `const { Config, Node } = require('./index.js')
     Node.start(Config.local({ name: 'cjs', bind: '127.0.0.1:0' })).then(async (n) => {
       console.log('cjs', n.members().length); await n.close()
     })`,
    { type: 'commonjs' },
  )
  assert.equal(code, 0, out)
  assert.match(out, /cjs 1/)
})

test('nodes in three processes form one cluster', async () => {
  const seed = await Node.start(config('proc-0'))
  try {
    const child = (name) =>
      run(`${prelude}
        const n = await Node.start(Config.local({ name: '${name}', bind: '127.0.0.1:0', retransmitMult: 4, seeds: ['${seed.addr}'] }))
        for (let i = 0; i < 200 && n.members().length < 3; i++) await new Promise((r) => setTimeout(r, 50))
        console.log('${name} sees', n.members().length)
        await new Promise((r) => setTimeout(r, 1000))
        await n.close()`)
    const [one, two] = await Promise.all([child('proc-1'), child('proc-2')])
    assert.equal(one.code, 0, one.out)
    assert.match(one.out, /proc-1 sees 3/)
    assert.match(two.out, /proc-2 sees 3/)
    assert.ok(await waitUntil(() => seed.member('proc-1') !== null))
  } finally {
    await seed.close()
  }
})
