"""Cache invalidation through broadcasts: every process keeps a local cache;
a write anywhere broadcasts the key, and every other node drops it.

    python examples/python/cache_invalidation.py

Starts four nodes on loopback in this process (asyncio), fills their
caches, invalidates one key from one node and shows every cache without it.
"""

from __future__ import annotations

import asyncio

import rumour


class CachedNode:
    """A node with a dict cache that drops keys other nodes invalidate."""

    def __init__(self, node: rumour.Node) -> None:
        self.node = node
        self.cache: dict[str, str] = {}
        node.on_event(self._on_event)

    def _on_event(self, event: rumour.Event) -> None:
        if isinstance(event, rumour.Message) and event.data.startswith(b"invalidate:"):
            self.cache.pop(event.data[len("invalidate:") :].decode(), None)

    async def invalidate(self, key: str) -> None:
        self.cache.pop(key, None)
        await self.node.broadcast(b"invalidate:" + key.encode())


async def main() -> None:
    nodes = [
        await rumour.Node(
            rumour.Config.local(name=f"cache-{i}", bind="127.0.0.1:0", retransmit_mult=4)
        ).start()
        for i in range(4)
    ]
    for n in nodes[1:]:
        await n.join(nodes[0].addr)
    cached = [CachedNode(n) for n in nodes]
    for c in cached:
        c.cache.update({"user:1": "ada", "user:2": "grace"})
    await cached[2].invalidate("user:1")
    for _ in range(100):
        if all("user:1" not in c.cache for c in cached):
            break
        await asyncio.sleep(0.05)
    for c in cached:
        print(c.node.name, sorted(c.cache))
    assert all(c.cache == {"user:2": "grace"} for c in cached), "every cache dropped user:1"
    for n in nodes:
        await n.close()


if __name__ == "__main__":
    asyncio.run(main())
