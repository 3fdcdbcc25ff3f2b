// A TypeScript example, checked with `tsc --noEmit` (npm run typecheck in
// bindings-node). To run it, compile it beside itself and run the result:
//
//     (cd bindings-node && npx tsc -p ../examples/node)
//     node examples/node/typed.js
//
// Two nodes; one registers a service in the replicated map, the other
// watches the "services/" prefix and sees it arrive.
import { Config, Node, type RumourEvent, type StateChanged } from '../../bindings-node/index.js'

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
    default:
      return event.type
  }
}

async function main(): Promise<void> {
  const config = (name: string) => Config.local({ name, bind: '127.0.0.1:0', retransmitMult: 4 })
  const registry = await Node.start(config('registry'))
  const web = await Node.start(config('web-1'))
  registry.on('memberJoined', (e) => console.log(describe(e)))
  await web.join(registry.addr)
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
