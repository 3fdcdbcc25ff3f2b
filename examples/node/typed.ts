// A TypeScript example, checked with `tsc --noEmit` (npm run typecheck in
// bindings-node). To run it, compile it beside itself and run the result:
//
//     (cd bindings-node && npx tsc -p ../examples/node)
//     node examples/node/typed.js
//
// Two nodes; the second has the first as its seed and waits to join it,
// then registers a service in the replicated map; the first watches the
// "services/" prefix and sees it arrive.
import { Config, JoinError, Node, type RumourEvent, type StateChanged } from '../../bindings-node/index.js'

function describe(event: RumourEvent): string {
  switch (event.type) {
    case 'memberJoined':
    case 'memberLeft':
    case 'memberFailed':
      return `${event.type}: ${event.member.name} at ${event.member.addr}`
    case 'message':
      return `message from ${event.from ?? 'a memberlist peer'}: ${event.data.toString()}`
    case 'stateChanged':
      return `${event.key} = ${event.value?.toString() ?? '(deleted)'}`
    case 'eventsLost':
      return `${event.count} events lost`
    case 'joined':
      return `joined through ${event.via}`
    default:
      return event.type
  }
}

async function main(): Promise<void> {
  const config = (name: string, seeds: string[] = []) =>
    Config.local({ name, bind: '127.0.0.1:0', retransmitMult: 4, seeds })
  const registry = await Node.start(config('registry'))
  registry.on('memberJoined', (e) => console.log(describe(e)))
  // Started in either order, the seed is tried until it answers.
  const web = await Node.start(config('web-1', [registry.addr]))
  web.on('joined', (e) => console.log(describe(e)))
  try {
    const via: string = await web.joined({ timeout: 10000 })
    console.log(`web-1 is in, through ${via}, after ${web.stats().joinAttempts} attempt(s)`)
  } catch (err) {
    if (err instanceof JoinError) console.error(`not joined: ${err.message}`, err.failures ?? [])
    throw err
  }
  const watch = registry.state.watch('services/')
  await web.state.putEphemeral('services/web/web-1', web.addr)
  for await (const change of watch) {
    const c: StateChanged | { type: 'eventsLost'; count: number } = change
    console.log(describe(c))
    break
  }
  await web.close()
  await registry.close()
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
