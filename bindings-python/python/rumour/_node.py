"""The asyncio node: ``async with rumour.Node(config) as node``."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Any, Callable, TypeVar

from ._base import Base, StateReads, _bytes, _join_timeout, _seeds, _str, _timeout
from ._config import Config
from ._hub import AsyncEvents, JoinWatch, Listener
from .errors import JoinTimeoutError, NodeError
from .events import Event, Member

__all__ = ["Node", "State"]

T = TypeVar("T")


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Runs a native call that may wait on the network in a worker thread,
    so the event loop never blocks (the native side releases the GIL)."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))


class State(StateReads):
    """The cluster-wide key-value map as this node holds it (``node.state``)."""

    _node: Node

    async def put(self, key: str, value: bytes) -> int:
        """Writes ``key = value`` until deleted; returns the write's timestamp."""
        return self._node._put(key, value, "until_deleted", None)

    async def put_ephemeral(self, key: str, value: bytes) -> int:
        """Writes ``key = value`` until deleted or until this node leaves or fails."""
        return self._node._put(key, value, "ephemeral", None)

    async def put_with_ttl(self, key: str, value: bytes, ttl: float) -> int:
        """Writes ``key = value`` for ``ttl`` seconds."""
        return self._node._put(key, value, "ttl", _timeout(ttl, "ttl"))

    async def delete(self, key: str) -> int | None:
        """Deletes ``key``; returns the delete's timestamp, None if it held no value."""
        return self._node._n().state_delete(_str(key, "key"))

    def watch(self, prefix: str = "") -> AsyncEvents:
        """``async for change in node.state.watch("svc/")``: changes to keys
        under ``prefix`` from now on, as ``StateChanged`` events."""
        sub = AsyncEvents(self._node._hub, _str(prefix, "prefix"))
        self._node._hub.add(sub)
        return sub


class Node(Base):
    """A cluster member on asyncio.

    ``async with Node(config) as node:`` starts it (it joins
    ``config.seeds`` in the background; ``await node.joined()`` waits for
    that); leaving the block leaves the cluster and closes the
    node. ``start()``, ``join()``, ``leave()`` and ``close()`` do the same
    steps by hand. The node runs on its own threads; nothing here blocks
    the event loop.
    """

    def __init__(self, config: Config | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)

    async def start(self) -> Node:
        """Binds the sockets and starts the node, which then joins
        ``config.seeds`` in the background, trying until one answers: it never
        fails because a seed is down, so nodes start in any order. Wait for the
        join with :meth:`joined`, or watch for :class:`rumour.Joined`."""
        self._start()
        return self

    async def joined(self, timeout: float | None = None) -> str:
        """Waits until this node has joined a cluster (a seed answered, or a
        peer joined it) and returns that peer's ``"host:port"``; at once if
        it joined earlier. A node with no seeds waits to be joined.

        Raises :class:`rumour.JoinTimeoutError` (a ``TimeoutError``) after
        ``timeout`` seconds (None: no limit; 0: only look), while the node
        keeps trying; :class:`rumour.JoinError` with ``failures`` when it
        gave up after ``retry_join_max_attempts``; :class:`rumour.ClosedError`
        when the node is or gets closed. It waits on the event loop, not in
        a thread: cancelling it (``asyncio.wait_for``, a task group) leaves
        nothing behind."""
        limit = _timeout(timeout)
        loop = asyncio.get_running_loop()
        deadline = None if limit is None else loop.time() + limit
        # A node that can give up is looked at now and then (giving up has
        # no event); otherwise the watch wakes us for anything that matters.
        poll = 0.25 if self.config.retry_join_max_attempts else 2.0
        watch = JoinWatch(self._hub)
        self._hub.add(watch)
        try:
            while True:
                watch.clear()
                try:
                    return self._n().joined(0.0)  # only looks: never blocks
                except JoinTimeoutError:
                    pass
                if deadline is None:
                    await watch.wait(poll)
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    raise _join_timeout(limit or 0.0)
                await watch.wait(min(poll, left))
        finally:
            self._hub.remove(watch)

    async def join(self, seeds: str | Sequence[str], timeout: float | None = None) -> int:
        """Joins through ``seeds``; returns how many answered. Raises
        :class:`rumour.JoinError` when none did."""
        native, seeds = self._n(), _seeds(seeds)
        return await asyncio.wait_for(_off_loop(native.join, seeds), _timeout(timeout))

    async def leave(self, timeout: float = 5.0) -> None:
        """Leaves gracefully: peers see it as left, not failed."""
        await _off_loop(self._n().leave, _timeout(timeout) or 0.0)

    async def close(self) -> None:
        """Stops the node after delivering the events already produced.
        Safe to call twice. Without :meth:`leave` first (``async with``
        leaves), the others see this node fail, and what is still queued
        for gossip (a broadcast or state write made since the last gossip
        round) is not sent: a crash, for them."""
        await _off_loop(self._close)

    async def broadcast(self, data: bytes) -> None:
        """Spreads ``data`` to every member, each delivering it once."""
        self._n().broadcast(_bytes(data, "data"))

    async def send(self, to: str | Member, data: bytes, reliable: bool = False) -> None:
        """Sends ``data`` to one member: a packet when it fits, else TCP
        (always TCP with ``reliable``)."""
        name, data = self._send_args(to, data)
        self._n().send(name, data, bool(reliable))

    async def set_meta(self, meta: bytes) -> None:
        """Replaces this node's metadata (at most 512 bytes) and tells everyone."""
        self._n().set_meta(_bytes(meta, "meta"))

    async def set_local_state(self, data: bytes) -> None:
        """Push-pull user state for Go memberlist peers."""
        self._n().set_local_state(_bytes(data, "data"))

    @property
    def state(self) -> State:
        """The replicated key-value map."""
        return State(self)

    def on_event(self, callback: Callable[[Event], None]) -> Listener:
        """Calls ``callback(event)`` on this event loop for every event from
        now on. Exceptions are logged and the node goes on."""
        listener = Listener(self._hub, callback, asyncio.get_running_loop())
        self._hub.add(listener)
        return listener

    def events(self) -> AsyncEvents:
        """``async for event in node.events():`` every event from now on;
        each call is its own subscription (call it inside a running loop).

        "Now" is the dispatch thread's place in the node's event queue:
        events produced just before the call and not yet handed out come
        too, so subscribe before the action whose events you need."""
        sub = AsyncEvents(self._hub, None)
        self._hub.add(sub)
        return sub

    async def __aenter__(self) -> Node:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._native is not None:
                await self.leave()
        except NodeError:
            pass
        finally:
            await self.close()
