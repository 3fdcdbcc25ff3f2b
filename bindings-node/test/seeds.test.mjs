// Seeds that keep working (issue 16): a node started before its seed starts
// anyway and joins once the seed is up; joined() resolves, times out or
// reports giving up; bad settings name their field; a bad peer file never
// stops a node.
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { Config, JoinError, JoinTimeoutError, Node } from '../index.mjs'
import { closeAll, config, sleep, waitUntil } from './helpers.mjs'

after(closeAll)

/** A port free for TCP and UDP on 127.0.0.1 right now. */
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const server = net.createServer()
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address()
    await new Promise((resolve) => server.close(resolve))
    const udp = dgram.createSocket('udp4')
    const ok = await new Promise((resolve) => {
      udp.once('error', () => resolve(false))
      udp.bind(port, '127.0.0.1', () => resolve(true))
    })
    await new Promise((resolve) => udp.close(resolve))
    if (ok) return port
  }
  throw new Error('no free port')
}

test('a node started before its seed joins once the seed is up', async () => {
  const port = await freePort()
  const seedAddr = `127.0.0.1:${port}`
  const b = await Node.start(Config.lan({ name: 'b', bind: '127.0.0.1:0', seeds: [seedAddr] }))
  try {
    const events = []
    b.on('joined', (e) => events.push(e))
    const sub = b.events()
    await assert.rejects(b.joined({ timeout: 300 }), (err) => err instanceof JoinTimeoutError && err instanceof JoinError)
    await sleep(2000)
    const a = await Node.start(Config.lan({ name: 'a', bind: seedAddr }))
    try {
      const started = Date.now()
      const via = await b.joined({ timeout: 10000 })
      assert.equal(via, a.addr)
      console.log(`joined ${Date.now() - started} ms after the seed started`)
      assert.deepEqual(events, [{ type: 'joined', via: a.addr }])
      let fromIterator = null
      for await (const e of sub) {
        if (e.type === 'joined') {
          fromIterator = e
          break
        }
      }
      assert.deepEqual(fromIterator, { type: 'joined', via: a.addr }, 'the async iterator has it too')
      assert.ok(b.stats().joinAttempts >= 2)
      assert.equal(await b.joined({ timeout: 0 }), a.addr, 'at once from now on')
      await b.leave()
    } finally {
      await a.close()
    }
  } finally {
    await b.close()
  }
})

test('joined() rejects with JoinError naming the seed when the node gives up', async () => {
  const port = await freePort()
  const n = await Node.start(
    // 500 ms between the attempts: the listener below is attached long before the node gives up.
    config('quitter', { seeds: [`127.0.0.1:${port}`], retryJoinInterval: 500, retryJoinMaxAttempts: 2 }),
  )
  const told = []
  n.on('joinGaveUp', (e) => told.push(e))
  try {
    await assert.rejects(n.joined({ timeout: 10000 }), (err) => {
      assert.ok(err instanceof JoinError && !(err instanceof JoinTimeoutError), String(err))
      assert.match(err.message, new RegExp(String(port)))
      assert.equal(err.attempts, 2)
      assert.ok(err.failures.length >= 1, String(err))
      assert.deepEqual(err.failures.map((f) => f.seed), [`127.0.0.1:${port}`])
      assert.equal(typeof err.failures[0].reason, 'string')
      assert.ok(Object.isFrozen(err.failures))
      return true
    })
    assert.equal(n.stats().joinAttempts, 2)
    await assert.rejects(n.joined(), (err) => err instanceof JoinError && err.attempts === 2, 'and again, at once')
    // Listeners are told too, once, with the same reasons.
    assert.ok(await waitUntil(() => told.length > 0, 10000), 'a joinGaveUp event')
    assert.equal(told.length, 1)
    assert.equal(told[0].attempts, 2)
    assert.deepEqual(told[0].failures.map((f) => f.seed), [`127.0.0.1:${port}`])
    assert.ok(Object.isFrozen(told[0]) && Object.isFrozen(told[0].failures))
  } finally {
    await n.close()
  }
})

test('joined() rejects with ClosedError when the node closes first', async () => {
  const n = await Node.start(config('closer', { seeds: ['127.0.0.1:1'] }))
  const rejected = assert.rejects(n.joined(), (err) => err.name === 'ClosedError')
  await n.close()
  await rejected
})

test('joined() takes an abort signal, Infinity for no limit, and refuses a bad timeout', async () => {
  const n = await Node.start(config('patient', { seeds: ['127.0.0.1:1'], retryJoinInterval: 50 }))
  try {
    await assert.rejects(n.joined({ timeout: -1 }), (err) => err instanceof RangeError && err.field === 'timeout')
    await assert.rejects(n.joined({ timeout: '5' }), (err) => err instanceof TypeError && err.field === 'timeout')
    await assert.rejects(n.joined({ timeout: NaN }), (err) => err instanceof RangeError && err.field === 'timeout')
    const forever = n.joined({ timeout: Infinity })
    const long = n.joined({ timeout: 2 ** 33 })
    const later = Symbol('pending')
    assert.equal(await Promise.race([forever, long, sleep(300).then(() => later)]), later)
    const controller = new AbortController()
    const aborted = n.joined({ signal: controller.signal })
    controller.abort(new Error('stop waiting'))
    await assert.rejects(aborted, /stop waiting/)
    await assert.rejects(n.joined({ signal: AbortSignal.abort() }), (err) => err.name === 'AbortError')
    const closing = n.close()
    await assert.rejects(forever, (err) => err.name === 'ClosedError')
    await assert.rejects(long, (err) => err.name === 'ClosedError')
    await closing
    await assert.rejects(n.joined(), (err) => err.name === 'ClosedError', 'after close too')
  } finally {
    await n.close()
  }
})

test('a node without seeds has joined once a peer joins it', async () => {
  const a = await Node.start(config('host'))
  const b = await Node.start(config('guest'))
  try {
    const waiting = a.joined({ timeout: 10000 })
    assert.equal(await b.join(a.addr), 1)
    assert.equal(await b.joined({ timeout: 0 }), a.addr)
    assert.equal(await waiting, b.addr)
  } finally {
    await b.close()
    await a.close()
  }
})

test('stats count join attempts, seed push-pulls, hails and peer file errors', async () => {
  const n = await Node.start(config('counted'))
  try {
    const stats = n.stats()
    for (const key of ['joinAttempts', 'seedPushPulls', 'hailsAnswered', 'catchUpPulls', 'peersFileErrors']) {
      assert.equal(stats[key], 0, key)
    }
  } finally {
    await n.close()
  }
})

test('explicit join() still tries once and rejects with JoinError', async () => {
  const port = await freePort()
  const n = await Node.start(config('once'))
  try {
    await assert.rejects(n.join(`127.0.0.1:${port}`), (err) => {
      assert.ok(err instanceof JoinError && !(err instanceof JoinTimeoutError), String(err))
      assert.match(err.message, new RegExp(String(port)))
      return true
    })
  } finally {
    await n.close()
  }
})

test('bad seed settings name their field', () => {
  const cases = [
    [{ retryJoinInterval: 0 }, RangeError, 'retryJoinInterval'],
    [{ retryJoinMaxInterval: 1 }, RangeError, 'retryJoinMaxInterval'],
    [{ retryJoinMaxAttempts: -1 }, RangeError, 'retryJoinMaxAttempts'],
    [{ gossipToSeeds: 'yes' }, TypeError, 'gossipToSeeds'],
    [{ peersFile: 42 }, TypeError, 'peersFile'],
    [{ peersFile: '' }, RangeError, 'peersFile'],
  ]
  for (const [overrides, kind, field] of cases) {
    assert.throws(() => Config.lan(overrides), (err) => {
      assert.ok(err instanceof kind, `${JSON.stringify(overrides)} gave ${err}`)
      assert.equal(err.field, field)
      return true
    })
  }
})

test('bad seeds and a peer file that is a directory never stop a node', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rumour-peers-'))
  try {
    const n = await Node.start(
      config('hardy', { seeds: ['nowhere.invalid:7946', '127.0.0.1:1'], retryJoinInterval: 50, peersFile: dir }),
    )
    try {
      await assert.rejects(n.joined({ timeout: 300 }), JoinTimeoutError)
      assert.ok(n.stats().peersFileErrors >= 1)
      assert.ok(n.stats().joinAttempts >= 1)
    } finally {
      await n.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
