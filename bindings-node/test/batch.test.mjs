// Batched delivery: the dispatch thread hands JS every event queued when
// it woke in one call, and index.js fans it out; each subscription and
// each listener still sees every event once, in order.
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { test } from 'node:test'
import { Node } from '../index.mjs'
import { config } from './helpers.mjs'

/** Blocks the JS thread for `ms`, so events pile up on the native side. */
function busy(ms) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // spin
  }
}

test('events queued while the JS thread is busy arrive once each, in order, to iterators and listeners', async () => {
  const node = await Node.start(config('batch'))
  const n = 3000 // under every bound: nothing may be lost
  const watch = node.state.watch('k/')
  const heard = []
  node.on('stateChanged', (e) => heard.push(e.key))
  const writes = []
  for (let i = 0; i < n; i++) writes.push(node.state.put(`k/${i}`, 'v'))
  busy(300)
  await Promise.all(writes)
  const read = []
  for await (const e of watch) {
    read.push(e.type === 'stateChanged' ? e.key : e.type)
    if (read.length === n) break
  }
  const want = Array.from({ length: n }, (_, i) => `k/${i}`)
  assert.deepEqual(read, want)
  assert.deepEqual(heard, want)
  await node.close()
})

test('past the bounds: what is delivered is in order, and the loss is reported just ahead of the next event', async () => {
  const node = await Node.start(config('batch-flood'))
  const seen = []
  node.on('stateChanged', (e) => seen.push(e.key))
  node.on('eventsLost', (e) => seen.push(e.count))
  const total = 12000
  for (let i = 0; i < total; i++) node.state.put(`f/${i}`, 'v')
  busy(1000)
  await new Promise((r) => setTimeout(r, 1000))
  await node.state.put('f/after', 'v')
  const end = Date.now() + 20000
  while (seen.at(-1) !== 'f/after' && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  const keys = seen.filter((x) => typeof x === 'string')
  const lost = seen.filter((x) => typeof x === 'number').reduce((a, b) => a + b, 0)
  assert.ok(lost > 0, `${keys.length} delivered`)
  assert.equal(keys.length + lost, total + 1, 'each write delivered or counted')
  const numbers = keys.slice(0, -1).map((k) => Number(k.slice(2)))
  assert.ok(numbers.every((x, i) => i === 0 || x > numbers[i - 1]), 'in order')
  assert.equal(typeof seen.at(-2), 'number', 'the loss comes just ahead of the next event')
  await node.close()
})

test('plain memberlist user messages (no sender) come through the packed form intact', async () => {
  const node = await Node.start(config('batch-plain'))
  const seen = []
  node.on('message', (e) => seen.push(e))
  // A compound packet (type 7) of two user messages (type 8), as a Go memberlist peer sends.
  const parts = [Buffer.from([8, 0xde, 0xad]), Buffer.concat([Buffer.from([8]), Buffer.from('héllo')])]
  const head = Buffer.from([7, parts.length, 0, parts[0].length, 0, parts[1].length])
  const socket = dgram.createSocket('udp4')
  const [host, port] = [node.addr.slice(0, node.addr.lastIndexOf(':')), Number(node.addr.split(':').pop())]
  await new Promise((resolve) => socket.send(Buffer.concat([head, ...parts]), port, host, resolve))
  socket.close()
  const end = Date.now() + 10000
  while (seen.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  assert.deepEqual(
    seen.map((e) => [e.from, e.kind, [...e.data]]),
    [[null, 'plain', [0xde, 0xad]], [null, 'plain', [...Buffer.from('héllo')]]],
  )
  assert.ok(Object.isFrozen(seen[0]) && Buffer.isBuffer(seen[0].data))
  await node.close()
})
