// Benchmarks of the Node binding (`make bench-node`):
// 1. events per second delivered to an EventEmitter listener and to an
//    async iterator: a node writes keys of the replicated map locally as
//    fast as it can; each write is a stateChanged event crossing the native
//    dispatch thread, the threadsafe function and the JS layer. The writer
//    is in the same process, so this is the rate of the whole loop;
// 2. the cost of one `await broadcast()` call.
// Each figure is the median of RUNS runs (default 3). Prints a table and
// writes JSON to target/bench/node.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config, Node } from '../index.mjs'

const RUNS = Number(process.env.RUNS ?? 3)
const EVENTS = Number(process.env.EVENTS ?? 20000)
const config = (name) => Config.lan({ name, bind: '127.0.0.1:0' })
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]

async function listenerRate() {
  const node = await Node.start(config('bench-listener'))
  let got = 0
  let lost = 0
  const done = new Promise((resolve) => {
    const count = () => {
      if (got + lost >= EVENTS) resolve()
    }
    node.on('stateChanged', () => { got += 1; count() })
    node.on('eventsLost', (e) => { lost += e.count; count() })
  })
  const start = performance.now()
  for (let i = 0; i < EVENTS; i++) await node.state.put(`k/${i}`, 'v')
  await done
  const rate = got / ((performance.now() - start) / 1000)
  await node.close()
  return { rate, lost }
}

async function iteratorRate() {
  const node = await Node.start(config('bench-iterator'))
  const watch = node.state.watch('k/')
  let got = 0
  let lost = 0
  const consumer = (async () => {
    for await (const e of watch) {
      if (e.type === 'eventsLost') lost += e.count
      else got += 1
      if (got + lost >= EVENTS) return
    }
  })()
  const start = performance.now()
  for (let i = 0; i < EVENTS; i++) await node.state.put(`k/${i}`, 'v')
  await consumer
  const rate = got / ((performance.now() - start) / 1000)
  await node.close()
  return { rate, lost }
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

const runs = { listener: [], iterator: [], broadcastUs: [] }
let lost = 0
for (let r = 0; r < RUNS; r++) {
  const l = await listenerRate()
  const it = await iteratorRate()
  runs.listener.push(l.rate)
  runs.iterator.push(it.rate)
  lost += l.lost + it.lost
  runs.broadcastUs.push(await broadcastCost())
}
const machine = `${os.cpus()[0]?.model ?? os.arch()}, ${os.cpus().length} cores, Node ${process.version}`
const med = { listener: median(runs.listener), iterator: median(runs.iterator), broadcastUs: median(runs.broadcastUs) }
console.log(`\nbench-node  runs=${RUNS} events=${EVENTS} preset=lan  machine: ${machine}`)
console.log('| metric | median | runs |\n|---|---|---|')
console.log(`| events/s to an EventEmitter listener | ${med.listener.toFixed(0)} | ${runs.listener.map((x) => x.toFixed(0)).join(', ')} |`)
console.log(`| events/s to an async iterator | ${med.iterator.toFixed(0)} | ${runs.iterator.map((x) => x.toFixed(0)).join(', ')} |`)
console.log(`| await broadcast() call | ${med.broadcastUs.toFixed(1)} us | ${runs.broadcastUs.map((x) => x.toFixed(1)).join(', ')} |`)
console.log(`events lost (all runs): ${lost}`)
const json = JSON.stringify({ bench: 'node', runs: RUNS, events: EVENTS, median: med, all: runs, lost, machine })
console.log(json)
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'bench')
mkdirSync(dir, { recursive: true })
writeFileSync(path.join(dir, 'node.json'), json + '\n')
