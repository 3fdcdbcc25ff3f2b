// One rumour node per process; three of them make a cluster.
//
// Three terminals:
//
//     node examples/node/quickstart.mjs --name a --port 7946
//     node examples/node/quickstart.mjs --name b --port 7947 --seed 127.0.0.1:7946
//     node examples/node/quickstart.mjs --name c --port 7948 --seed 127.0.0.1:7946
//
// or one command that starts all three and stops them after a few seconds:
//
//     node examples/node/quickstart.mjs --three
//
// Each node prints who joined, left or failed, the messages it gets, and the
// member list two seconds in. `--for SECONDS` makes a node leave by itself.
import { spawn } from 'node:child_process'
import { createConnection } from 'node:net'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { Config, Node } from '../../bindings-node/index.mjs'

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'a' },
    port: { type: 'string', default: '7946' },
    seed: { type: 'string' },
    for: { type: 'string' },
    three: { type: 'boolean', default: false },
  },
})

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function accepting(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => resolve(s.end() && true))
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await sleep(50)
  }
}

async function three() {
  const me = fileURLToPath(import.meta.url)
  const run = (args) => spawn(process.execPath, [me, ...args], { stdio: 'inherit' })
  const procs = [run(['--name', 'a', '--port', '7946', '--for', '4'])]
  await accepting(7946) // b and c join through a
  for (const [name, port] of [['b', '7947'], ['c', '7948']]) {
    procs.push(run(['--name', name, '--port', port, '--seed', '127.0.0.1:7946', '--for', '3']))
  }
  const codes = await Promise.all(procs.map((p) => new Promise((r) => p.on('exit', r))))
  process.exitCode = Math.max(...codes)
}

async function one() {
  const { name } = values
  const config = Config.local({ name, bind: `127.0.0.1:${values.port}`, seeds: values.seed ? [values.seed] : [] })
  const node = await Node.start(config)
  console.log(`${name}: listening on ${node.addr}`)
  if (values.seed) {
    // The seed may start after us: the node keeps trying until it answers.
    console.log(`${name}: joined through ${await node.joined({ timeout: 30000 })}`)
  }
  for (const type of ['memberJoined', 'memberLeft', 'memberFailed']) {
    node.on(type, (e) => console.log(`${name}: ${type} ${e.member.name}`))
  }
  node.on('message', (e) => console.log(`${name}: ${e.from} says ${JSON.stringify(e.data.toString())}`))
  await node.broadcast(`hello from ${name}`)
  await sleep(2000)
  console.log(`${name}: members after 2 s: ${node.members().map((m) => m.name).sort().join(', ')}`)
  if (values.for !== undefined) {
    await sleep(Math.max(0, Number(values.for) * 1000 - 2000))
    await node.leave()
    await node.close()
  } else {
    process.on('SIGINT', async () => {
      await node.leave()
      await node.close()
    })
  }
}

await (values.three ? three() : one())
