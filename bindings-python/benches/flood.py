"""The event producer of the delivery benchmarks, run as its own process.

``python flood.py HOST:PORT COUNT RATE`` sends COUNT user messages to the
node at HOST:PORT over UDP, packed as memberlist packs them: compound
packets of ``PER_PACKET`` user messages (type 8) whose 4-byte payload is
the message's number, big-endian, and does not start with rumour's
envelope magic, so each arrives as one ``Message(kind="plain")`` event.
RATE is in messages per second (0: as fast as the socket takes them).
Packing keeps this process to a few thousand ``sendto`` calls a second,
so it leaves the machine to the consumer: what the consumer measures is
delivery, not production. Prints ``{"sent": n, "seconds": s}`` when done.

Standard library only, so the Node benchmark can use the same bytes
(``bindings-node/bench/flood.mjs`` is its twin).
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

#: User messages in one compound packet: 200 x 7 bytes plus a 2-byte
#: header is about 1,400 bytes, memberlist's UDP packet size.
PER_PACKET = 200
COMPOUND = 7
USER = 8


def packet(first: int, count: int) -> bytes:
    parts = [bytes([USER]) + struct.pack(">I", i) for i in range(first, first + count)]
    lengths = b"".join(struct.pack(">H", len(p)) for p in parts)
    return bytes([COMPOUND, count]) + lengths + b"".join(parts)


def main() -> None:
    host, port = sys.argv[1].rsplit(":", 1)
    total, rate = int(sys.argv[2]), float(sys.argv[3])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    to = (host, int(port))
    start = time.perf_counter()
    sent = 0
    while sent < total:
        n = min(PER_PACKET, total - sent)
        if rate > 0:
            ahead = start + sent / rate - time.perf_counter()
            if ahead > 0.001:
                time.sleep(ahead)
        sock.sendto(packet(sent, n), to)
        sent += n
    print(json.dumps({"sent": sent, "seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main()
