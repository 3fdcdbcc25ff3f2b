// Benchmarks of the Node binding (`make bench-node`):
// 1. events per second delivered, with the producer in another process so
//    that the figure is delivery alone: bench/flood.mjs (a child process)
//    sends EVENTS user messages to the measured node over UDP, 200 to a
//    packet, paced at OFFER messages/s; each is one `message` event
//    crossing the node's dispatch thread (in batches, one threadsafe-
//    function call each) and the JS layer. Consumers, each on a fresh
//    node: an async iterator over `node.events()` and an EventEmitter
//    listener. The rate is the messages delivered between the first and
//    the last, over that time; what the bounded queues could not hold is
//    counted as eventsLost (reported), so when the consumer cannot keep up
//    the rate is what it takes; near OFFER with nothing lost, the producer
//    was the limit;
// 2. the cost of one `await broadcast()` call.
// Each figure is the median of RUNS runs (default 3). Prints a table and
// writes JSON to target/bench/node.json, the event figures alone to
// target/bench/node_events.json. ONLY=events runs part 1 alone.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config, Node } from '../index.mjs'

const RUNS = Number(process.env.RUNS ?? 3)
const EVENTS = Number(process.env.EVENTS ?? 800000)
const OFFER = Number(process.env.OFFER ?? 400000)
const ONLY = process.env.ONLY ?? ''
/** A consumer that sees nothing for this long has had all it will get. */
const QUIET_MS = 2000
const here = path.dirname(fileURLToPath(import.meta.url))
const config = (name) => Config.lan({ name, bind: '127.0.0.1:0' })
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Counts what one consumer got, and when the first and last arrived. */
class Tally {
  got = 0
  lost = 0
  first = 0
  last = 0

  see(e) {
    if (e.type === 'message') this.got += 1
    else if (e.type === 'eventsLost') this.lost += e.count
    else return
    this.last = performance.now()
    if (!this.first) this.first = this.last
  }

  get done() {
    return this.got + this.lost >= EVENTS
  }

  /** Until every message is seen or counted, or none came for QUIET_MS. */
  async settle() {
    while (!this.done && !(this.last && performance.now() - this.last > QUIET_MS)) await sleep(50)
  }

  result(sent) {
    const window = (this.last - this.first) / 1000
    return {
      eps: window > 0 ? this.got / window : 0,
      got: this.got,
      lost: this.lost,
      // Dropped before the node (the kernel's socket buffer): neither delivered nor counted.
      missing: EVENTS - this.got - this.lost,
      offeredEps: sent.sent / sent.seconds,
    }
  }
}

/** Starts the producer; resolves with its report once it is done. */
function flood(addr) {
  const child = spawn(process.execPath, [path.join(here, 'flood.mjs'), addr, String(EVENTS), String(OFFER)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  return new Promise((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`flood.mjs exited ${code}`))))
  })
}

async function iteratorRate() {
  const node = await Node.start(config('bench-iterator'))
  const events = node.events()
  const tally = new Tally()
  const consumer = (async () => {
    for await (const e of events) {
      tally.see(e)
      if (tally.done) return
    }
  })()
  const sent = flood(node.addr)
  await tally.settle()
  await events.return()
  await consumer
  const result = tally.result(await sent)
  await node.close()
  return result
}

async function listenerRate() {
  const node = await Node.start(config('bench-listener'))
  const tally = new Tally()
  const see = (e) => tally.see(e)
  node.on('message', see)
  node.on('eventsLost', see)
  const sent = flood(node.addr)
  await tally.settle()
  const result = tally.result(await sent)
  await node.close()
  return result
}

async function broadcastCost(calls = 5000) {
  const a = await Node.start(config('bench-bc-a'))
  const b = await Node.start(config('bench-bc-b'))
  await b.join(a.addr)
  const start = performance.now()
  for (let i = 0; i < calls; i++) await a.broadcast(`x${i}`)
  const us = ((performance.now() - start) * 1000) / calls
  await a.close()
  await b.close()
  return us
}

const PATHS = [
  ['iterator', 'an async iterator (for await over node.events())', iteratorRate],
  ['listener', 'an EventEmitter listener', listenerRate],
]
const events = Object.fromEntries(PATHS.map(([key]) => [key, []]))
const broadcastUs = []
for (let r = 0; r < RUNS; r++) {
  for (const [key, , run] of PATHS) events[key].push(await run())
  if (ONLY !== 'events') broadcastUs.push(await broadcastCost())
}
const machine = `${os.cpus()[0]?.model ?? os.arch()}, ${os.cpus().length} cores, Node ${process.version}`
const eps = Object.fromEntries(PATHS.map(([key]) => [key, median(events[key].map((r) => r.eps))]))
console.log(`\nbench-node  runs=${RUNS} events=${EVENTS} offered=${OFFER}/s (flood.mjs, another process) preset=lan  machine: ${machine}`)
console.log('| events/s delivered to | median | runs | lost (eventsLost) | missing (kernel) |\n|---|---|---|---|---|')
for (const [key, label] of PATHS) {
  const rs = events[key]
  const sum = (f) => rs.reduce((a, r) => a + r[f], 0)
  console.log(`| ${label} | ${eps[key].toFixed(0)} | ${rs.map((r) => r.eps.toFixed(0)).join(', ')} | ${sum('lost')} | ${sum('missing')} |`)
}
const outEvents = {
  bench: 'node_events',
  runs: RUNS,
  events: EVENTS,
  offeredEps: OFFER,
  producer: 'bindings-node/bench/flood.mjs in a child process, 200 user messages a UDP packet',
  preset: 'lan',
  medianEps: eps,
  all: events,
  machine,
}
const dir = path.join(here, '..', '..', 'target', 'bench')
mkdirSync(dir, { recursive: true })
writeFileSync(path.join(dir, 'node_events.json'), JSON.stringify(outEvents) + '\n')
if (ONLY !== 'events') {
  const med = { broadcastUs: median(broadcastUs) }
  console.log(`| await broadcast() call | ${med.broadcastUs.toFixed(1)} us | ${broadcastUs.map((x) => x.toFixed(1)).join(', ')} | | |`)
  const json = JSON.stringify({ bench: 'node', runs: RUNS, median: med, all: { broadcastUs }, events: outEvents, machine })
  console.log(json)
  writeFileSync(path.join(dir, 'node.json'), json + '\n')
} else {
  console.log(JSON.stringify(outEvents))
}
