"""Service discovery through node metadata: each node advertises its role
and port in its metadata; a client picks the members that serve what it
needs, and follows them as they come, change and go.

    python examples/python/service_discovery.py

Starts a client and three services on loopback in this process (blocking
API), prints the directory as it changes, then stops.
"""

from __future__ import annotations

import json
import time

import rumour
from rumour import blocking


def config(name: str, meta: dict) -> rumour.Config:
    return rumour.Config.local(
        name=name, bind="127.0.0.1:0", retransmit_mult=4, meta=json.dumps(meta).encode()
    )


def directory(node: blocking.Node, role: str) -> list[str]:
    """``name@port`` of every alive member serving ``role``."""
    found = []
    for m in node.members():
        meta = json.loads(m.meta or b"{}")
        if meta.get("role") == role and m.state is rumour.MemberState.ALIVE:
            found.append(f"{m.name}@{meta['port']}")
    return sorted(found)


def wait_for(predicate, limit: float = 10.0) -> None:
    end = time.monotonic() + limit
    while not predicate() and time.monotonic() < end:
        time.sleep(0.05)


def main() -> None:
    client = blocking.Node(config("client", {"role": "client"})).start()
    services = [
        blocking.Node(config("api-1", {"role": "api", "port": 8001})).start(),
        blocking.Node(config("api-2", {"role": "api", "port": 8002})).start(),
        blocking.Node(config("db-1", {"role": "db", "port": 5432})).start(),
    ]
    for s in services:
        s.join(client.addr)
    wait_for(lambda: len(directory(client, "api")) == 2)
    print("api:", directory(client, "api"), " db:", directory(client, "db"))

    services[0].set_meta(json.dumps({"role": "api", "port": 9001}).encode())
    wait_for(lambda: "api-1@9001" in directory(client, "api"))
    print("api-1 moved to port 9001 ->", directory(client, "api"))

    services[1].leave(2.0)
    services[1].close()
    wait_for(lambda: directory(client, "api") == ["api-1@9001"])
    print("api-2 left ->", directory(client, "api"))

    for node in [client, services[0], services[2]]:
        node.close()


if __name__ == "__main__":
    main()
