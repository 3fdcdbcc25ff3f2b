"""A node of the Python binding (`rumour.blocking.Node`) in a process of its
own, for tests in network namespaces (`Network.spawn`), so that its memory
is its own. Speaks the line protocol of tests/lineproc.py.

    pynode.py NAME BIND CONFIG_JSON

CONFIG_JSON holds `rumour.Config.lan()` overrides. Prints `ready HOST:PORT`.
Commands on stdin:

- `join ADDR`: joins through ADDR (5 s at most) and answers
  `join ok MS` or `join error MS WHAT`, MS the time `join` took;
- `members`: `members A,B,...`, the alive members, sorted;
- `stats`: `stats {json}`, the node's counters;
- `rss`: `rss KIB`, this process's resident memory;
- `quit` (or end of input): closes and exits.
"""

from __future__ import annotations

import json
import sys
import time

import rumour
import rumour.blocking


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    name, bind, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    node = rumour.blocking.Node(rumour.Config.lan(name=name, bind=bind, **overrides)).start()
    say(f"ready {node.addr}")
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "join":
            started = time.perf_counter()
            try:
                node.join(arg, timeout=5.0)
                say(f"join ok {(time.perf_counter() - started) * 1000:.1f}")
            except rumour.RumourError as e:
                what = " ".join(f"{type(e).__name__}: {e}".split())
                say(f"join error {(time.perf_counter() - started) * 1000:.1f} {what}")
        elif cmd == "members":
            alive = (m.name for m in node.members() if m.state is rumour.MemberState.ALIVE)
            say("members " + ",".join(sorted(alive)))
        elif cmd == "stats":
            say("stats " + json.dumps(dict(node.stats())))
        elif cmd == "rss":
            say(f"rss {rss_kib()}")
        elif cmd == "quit":
            break
    node.close()


if __name__ == "__main__":
    main()
