// The event producer of the delivery benchmark, run as its own process:
// `node flood.mjs HOST:PORT COUNT RATE` sends COUNT memberlist user
// messages to the node over UDP, 200 to a compound packet, each with its
// number as a 4-byte big-endian payload (no rumour envelope, so each
// arrives as one `message` event of kind "plain"), paced at RATE messages
// a second (0: as fast as the socket takes them). The twin of
// bindings-python/benches/flood.py, byte for byte. Prints
// `{"sent": n, "seconds": s}` when done.
import dgram from 'node:dgram'

const PER_PACKET = 200
const COMPOUND = 7
const USER = 8

function packet(first, count) {
  const head = Buffer.alloc(2 + 2 * count)
  head[0] = COMPOUND
  head[1] = count
  const body = Buffer.alloc(5 * count)
  for (let i = 0; i < count; i++) {
    head.writeUInt16BE(5, 2 + 2 * i)
    body[5 * i] = USER
    body.writeUInt32BE(first + i, 5 * i + 1)
  }
  return Buffer.concat([head, body])
}

const [addr, totalArg, rateArg] = process.argv.slice(2)
const host = addr.slice(0, addr.lastIndexOf(':'))
const port = Number(addr.slice(addr.lastIndexOf(':') + 1))
const total = Number(totalArg)
const rate = Number(rateArg)
const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 1 << 20 })
socket.connect(port, host)
await new Promise((resolve) => socket.once('connect', resolve))
const start = performance.now()
let sent = 0
while (sent < total) {
  const n = Math.min(PER_PACKET, total - sent)
  if (rate > 0) {
    const ahead = start + (sent / rate) * 1000 - performance.now()
    if (ahead > 1) await new Promise((resolve) => setTimeout(resolve, ahead))
  }
  await new Promise((resolve) => socket.send(packet(sent, n), resolve))
  sent += n
}
socket.close()
console.log(JSON.stringify({ sent, seconds: (performance.now() - start) / 1000 }))
