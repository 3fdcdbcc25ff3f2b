"""A flood of idle TCP connections from many network namespaces, for the
admission test (test_admission_netns.py). One process, one thread: each
socket is made in its source's namespace (setns, then socket: a socket
stays in the namespace it was made in), so 50 hosts cost one core at most,
as the flood of core/tests/admission_loopback.rs does.

    flood.py TARGET_IP:PORT PER_SOURCE MAX_OPENED SECONDS NAMESPACE...

From each namespace (a name under /var/run/netns) it keeps PER_SOURCE
connections to TARGET open, never writing to them: when the target closes
one (evicted, or silent too long) it opens another from the same
namespace, until it has opened MAX_OPENED in all; then it only holds what
is open, as after `hold` (answered `hold`). It ends after SECONDS, at
`quit` or when its stdin closes.
Prints `ready TARGET`; `stats` answers
`stats ESTABLISHED CONNECTING CLOSING OPENED CLOSED FAILED`: its
connections by their state in the kernel now (established; a SYN sent and
not answered yet; closed by the target, not yet seen here), which add up to
PER_SOURCE from each source until MAX_OPENED; then connections opened
(established) in all, closed by the target in all, and attempts that
failed.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import selectors
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
NETNS_RUN = "/var/run/netns"
TCP_ESTABLISHED, TCP_SYN_SENT = 1, 2  # include/net/tcp_states.h


def tcp_state(conn: socket.socket) -> int:
    """The connection's state in the kernel (the first byte of TCP_INFO)."""
    return conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


def main() -> None:
    host, port = sys.argv[1].rsplit(":", 1)
    target = (host, int(port))
    per_source, max_opened, seconds = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    namespaces = sys.argv[5:]
    want = per_source * len(namespaces) + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    libc = ctypes.CDLL(None, use_errno=True)
    ns_fds = [os.open(os.path.join(NETNS_RUN, name), os.O_RDONLY) for name in namespaces]
    current = [-1]

    def enter(source: int) -> None:
        if current[0] != source:
            if libc.setns(ns_fds[source], CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {namespaces[source]}")
            current[0] = source

    sel = selectors.DefaultSelector()
    connecting: dict[socket.socket, int] = {}
    held: dict[socket.socket, int] = {}
    counts = {"opened": 0, "closed": 0, "failed": 0, "attempts": 0, "max": max_opened}

    def open_one(source: int) -> None:
        if counts["attempts"] >= counts["max"]:
            return
        counts["attempts"] += 1
        enter(source)
        conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        conn.setblocking(False)
        code = conn.connect_ex(target)
        if code not in (0, errno.EINPROGRESS):
            counts["failed"] += 1
            conn.close()
            return
        connecting[conn] = source
        sel.register(conn, selectors.EVENT_WRITE)

    def drop(conn: socket.socket) -> None:
        sel.unregister(conn)
        conn.close()

    sel.register(sys.stdin, selectors.EVENT_READ)
    for _ in range(per_source):
        for source in range(len(namespaces)):
            open_one(source)
    print(f"ready {sys.argv[1]}", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            if key.fileobj is sys.stdin:
                line = sys.stdin.readline()
                if line.strip() == "stats":
                    states = [tcp_state(conn) for conn in [*held, *connecting]]
                    established, sent = states.count(TCP_ESTABLISHED), states.count(TCP_SYN_SENT)
                    now = f"{established} {sent} {len(states) - established - sent}"
                    c = counts
                    print(f"stats {now} {c['opened']} {c['closed']} {c['failed']}", flush=True)
                elif line.strip() == "hold":
                    counts["max"] = counts["attempts"]
                    print("hold", flush=True)
                elif line == "" or line.strip() == "quit":
                    return
                continue
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            if conn in connecting:
                source = connecting.pop(conn)
                if conn.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    counts["failed"] += 1
                    drop(conn)
                    open_one(source)
                else:
                    counts["opened"] += 1
                    held[conn] = source
                    sel.modify(conn, selectors.EVENT_READ)
                continue
            # Readable: the target closed it (it never sends to a silent peer).
            source = held.pop(conn)
            counts["closed"] += 1
            drop(conn)
            open_one(source)


if __name__ == "__main__":
    main()
