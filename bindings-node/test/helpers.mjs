// Shared by the tests: loopback configs and bounded waits.
import { Config, Node } from '../index.mjs'

export const config = (name, overrides = {}) =>
  Config.local({ name, bind: '127.0.0.1:0', retransmitMult: 4, ...overrides })

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Polls `done` every 20 ms for up to `ms`. */
export async function waitUntil(done, ms = 10000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await done()) return true
    await sleep(20)
  }
  return done()
}

/** Every node `cluster` started, for `closeAll`. */
const started = new Set()

/** Closes every node `cluster` started that is still open: a test file's
 * `after` hook, so a test that fails half way does not leave running nodes
 * keeping the process (and the test runner) alive. */
export async function closeAll() {
  await Promise.all([...started].map((node) => node.close().catch(() => {})))
  started.clear()
}

/** Starts `n` nodes and joins them through the first. */
export async function cluster(n, prefix) {
  const nodes = []
  for (let i = 0; i < n; i++) nodes.push(await Node.start(config(`${prefix}${i}`)))
  for (const node of nodes) started.add(node)
  for (const node of nodes.slice(1)) await node.join(nodes[0].addr)
  await waitUntil(() => nodes.every((x) => x.members().length === n))
  return nodes
}

/** Collects every event a node emits, by type. */
export function record(node) {
  const seen = []
  for (const type of [
    'memberJoined', 'memberUpdated', 'memberSuspect', 'memberRecovered', 'memberFailed', 'memberLeft',
    'message', 'stateChanged', 'remoteState', 'eventsLost',
  ]) {
    node.on(type, (e) => seen.push(e))
  }
  return seen
}
