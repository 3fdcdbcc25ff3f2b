"""Loss, delay, jitter, reordering and duplication for one host, without netem.

Some kernels are built without `sch_netem` (this project's CI machine is
one), so the fault harness shapes traffic itself: an iptables rule in the
host's namespace sends every IPv4 packet the host emits towards the test
network to NFQUEUE queue 0, and this process, running in that namespace,
holds each packet and gives its verdict later. A lost packet gets DROP, a
delayed one ACCEPT after its delay, and a duplicate is a copy sent again
through a raw socket whose mark lets it bypass the queue. Jitter reorders
packets the way netem's does: verdicts go out in release order, not arrival
order. Each packet is shaped once, at its sender, so a figure applies per
link. Randomness comes from a seed, so a run can be repeated.

It speaks a line protocol on stdin/stdout (like the rumour peers):
`ready 0` once bound; `set LOSS DELAY_MS JITTER_MS DUPLICATE REORDER`
(fractions and milliseconds) answers `set ok`; `stats` answers
`stats SEEN DROPPED DUPLICATED MEAN_DELAY_MS` (the mean delay given to the
packets let through); end of input stops it. The netlink
messages follow linux/netfilter/nfnetlink_queue.h.
"""

from __future__ import annotations

import heapq
import os
import random
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_PACKET = 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
SO_MARK = 36
# Copies sent again carry this mark; the harness's rule accepts them
# before the queue rule, so a duplicate is not shaped a second time.
DUPLICATE_MARK = 0x7E
QUEUE = 0


def attribute(kind: int, value: bytes) -> bytes:
    body = struct.pack("=HH", 4 + len(value), kind) + value
    return body + b"\0" * (-len(body) % 4)


def message(kind: int, flags: int, seq: int, attributes: bytes) -> bytes:
    # nfgenmsg: family, version 0, queue number in network byte order.
    payload = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(QUEUE)) + attributes
    return struct.pack("=IHHII", 16 + len(payload), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + payload


def attributes_of(data: bytes) -> dict[int, bytes]:
    found = {}
    at = 0
    while at + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, at)
        if length < 4:
            break
        found[kind & 0x3FFF] = data[at + 4 : at + length]
        at += (length + 3) & ~3
    return found


class Shaper:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.loss = self.delay = self.jitter = self.duplicate = self.reorder = 0.0
        self.seen = self.dropped = self.duplicated = 0
        self.waited = 0.0  # seconds of delay given to the packets let through
        self.seq = 0
        # (release time, order, packet id or None, copy of the packet or None)
        self.pending: list[tuple[float, int, int | None, bytes | None]] = []
        self.netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.netlink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.netlink.bind((0, 0))
        self.configure(attribute(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, socket.AF_INET)))
        self.configure(attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0xFFFF, NFQNL_COPY_PACKET)))
        self.configure(attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 65536)))
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.raw.setsockopt(socket.SOL_SOCKET, SO_MARK, DUPLICATE_MARK)

    def configure(self, attributes: bytes) -> None:
        """Sends one config message and fails loudly unless the kernel acks it."""
        self.seq += 1
        self.netlink.send(message(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, self.seq, attributes))
        reply = self.netlink.recv(65536)
        _, kind = struct.unpack_from("=IH", reply)
        error = struct.unpack_from("=i", reply, 16)[0] if kind == NLMSG_ERROR else 0
        if error != 0:
            raise OSError(-error, f"nfnetlink_queue config refused: {os.strerror(-error)}")

    def verdict(self, packet_id: int, verdict: int) -> None:
        self.seq += 1
        body = attribute(NFQA_VERDICT_HDR, struct.pack("!II", verdict, packet_id))
        self.netlink.send(message(NFQNL_MSG_VERDICT, NLM_F_REQUEST, self.seq, body))

    def hold(self, packet_id: int | None, copy: bytes | None) -> None:
        """Schedules a release after this packet's delay (none when reordered)."""
        wait = 0.0
        if self.random.random() >= self.reorder:
            wait = max(0.0, self.delay + self.random.uniform(-self.jitter, self.jitter))
        if packet_id is not None:
            self.waited += wait
        self.seq += 1
        heapq.heappush(self.pending, (time.monotonic() + wait, self.seq, packet_id, copy))

    def on_packet(self, packet_id: int, payload: bytes) -> None:
        self.seen += 1
        if self.random.random() < self.loss:
            self.dropped += 1
            self.verdict(packet_id, NF_DROP)
            return
        self.hold(packet_id, None)
        if payload and self.random.random() < self.duplicate:
            self.duplicated += 1
            self.hold(None, payload)

    def release_due(self) -> None:
        now = time.monotonic()
        while self.pending and self.pending[0][0] <= now:
            _, _, packet_id, copy = heapq.heappop(self.pending)
            if packet_id is not None:
                self.verdict(packet_id, NF_ACCEPT)
            elif copy is not None and len(copy) >= 20:
                destination = socket.inet_ntoa(copy[16:20])
                try:
                    self.raw.sendto(copy, (destination, 0))
                except OSError:
                    pass  # a lost duplicate is still a fault of the kind asked for

    def read_netlink(self) -> None:
        try:
            data = self.netlink.recv(1 << 18, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            return  # ENOBUFS: the kernel dropped queued packets, which is loss too
        at = 0
        while at + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, at)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                found = attributes_of(data[at + 20 : at + length])
                if NFQA_PACKET_HDR in found:
                    packet_id = struct.unpack_from("!I", found[NFQA_PACKET_HDR])[0]
                    self.on_packet(packet_id, found.get(NFQA_PAYLOAD, b""))
            at += (length + 3) & ~3

    def command(self, line: str) -> None:
        words = line.split()
        if not words:
            return
        if words[0] == "set" and len(words) == 6:
            loss, delay_ms, jitter_ms, duplicate, reorder = (float(w) for w in words[1:])
            self.loss, self.duplicate, self.reorder = loss, duplicate, reorder
            self.delay, self.jitter = delay_ms / 1000, jitter_ms / 1000
            say("set ok")
        elif words[0] == "stats":
            let_through = max(1, self.seen - self.dropped)
            mean_ms = self.waited * 1000 / let_through
            say(f"stats {self.seen} {self.dropped} {self.duplicated} {mean_ms:.3f}")
        else:
            say(f"error unknown command {line!r}")

    def run(self) -> None:
        say("ready 0")
        stdin = sys.stdin.fileno()
        buffered = b""
        while True:
            wait = max(0.0, self.pending[0][0] - time.monotonic()) if self.pending else None
            ready, _, _ = select.select([self.netlink, stdin], [], [], wait)
            if self.netlink in ready:
                self.read_netlink()
            if stdin in ready:
                chunk = os.read(stdin, 4096)
                if not chunk:
                    return
                buffered += chunk
                while b"\n" in buffered:
                    line, buffered = buffered.split(b"\n", 1)
                    self.command(line.decode())
            self.release_due()


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    Shaper(int(sys.argv[1]) if len(sys.argv) > 1 else 1).run()
