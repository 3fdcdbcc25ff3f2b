// Service discovery through node metadata: each node advertises its role and
// port as JSON metadata; a client lists the members serving a role and
// follows them as they come, change and go.
//
//     node examples/node/service-discovery.mjs
//
// Starts a client and three services on loopback in this process, prints the
// directory as it changes, then stops.
import { Config, Node } from '../../bindings-node/index.mjs'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const config = (name, meta) =>
  Config.local({ name, bind: '127.0.0.1:0', retransmitMult: 4, meta: JSON.stringify(meta) })

function directory(node, role) {
  return node
    .members()
    .filter((m) => m.state === 'alive')
    .map((m) => ({ name: m.name, meta: JSON.parse(m.meta.toString() || '{}') }))
    .filter((m) => m.meta.role === role)
    .map((m) => `${m.name}@${m.meta.port}`)
    .sort()
}

async function waitFor(predicate, ms = 10000) {
  const end = Date.now() + ms
  while (!predicate() && Date.now() < end) await sleep(50)
}

const client = await Node.start(config('client', { role: 'client' }))
const services = [
  await Node.start(config('api-1', { role: 'api', port: 8001 })),
  await Node.start(config('api-2', { role: 'api', port: 8002 })),
  await Node.start(config('db-1', { role: 'db', port: 5432 })),
]
for (const s of services) await s.join(client.addr)
await waitFor(() => directory(client, 'api').length === 2)
console.log('api:', JSON.stringify(directory(client, 'api')), ' db:', JSON.stringify(directory(client, 'db')))

await services[0].setMeta(JSON.stringify({ role: 'api', port: 9001 }))
await waitFor(() => directory(client, 'api').includes('api-1@9001'))
console.log('api-1 moved to port 9001 ->', JSON.stringify(directory(client, 'api')))

await services[1].leave()
await services[1].close()
await waitFor(() => directory(client, 'api').length === 1)
console.log('api-2 left ->', JSON.stringify(directory(client, 'api')))

for (const n of [client, services[0], services[2]]) await n.close()
