// The Node.js peer of the polyglot test (protocol: README.md).
import { createInterface } from 'node:readline'
import { Config, Node } from '../../bindings-node/index.mjs'

const [name, seed] = process.argv.slice(2)
const say = (...parts) => console.log(parts.join(' '))
const node = await Node.start(Config.local({ name, bind: '127.0.0.1:0', retransmitMult: 4 }))
node.on('memberJoined', (e) => say('joined', e.member.name))
node.on('memberFailed', (e) => say('failed', e.member.name))
node.on('memberLeft', (e) => say('left', e.member.name))
node.on('memberUpdated', (e) => say('updated', e.member.name, e.member.meta.toString()))
node.on('message', (e) => say('message', e.from ?? '?', e.data.toString()))
if (seed !== '-') await node.join(seed)
say('ready', node.addr)
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, ...rest] = line.trim().split(' ')
  const arg = rest.join(' ')
  if (cmd === 'members') say('members', node.members().filter((m) => m.state === 'alive').map((m) => m.name).sort().join(','))
  else if (cmd === 'broadcast') await node.broadcast(arg)
  else if (cmd === 'meta') await node.setMeta(arg)
  else if (cmd === 'meta_of') say('meta_of', arg, node.member(arg)?.meta.toString() ?? '')
  else if (cmd === 'quit') break
}
await node.close()
