"""The blocking twin of :class:`rumour.Node`, for Flask, Django, Celery and
scripts: the same API without ``async``; calls that wait on the network take
``timeout=``.

    with rumour.blocking.Node(rumour.Config.local(name="a", bind="127.0.0.1:0")) as node:
        node.join(["127.0.0.1:7946"])
        for event in node.events():
            print(event)
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Sequence
from typing import Any, Callable

from ._base import Base, StateReads, _bytes, _join_timeout, _seeds, _str, _timeout
from ._config import Config
from ._hub import Events, Listener
from .errors import JoinTimeoutError, NodeError
from .events import Event, Member

__all__ = ["Events", "Node", "State"]

#: Longest native wait of ``joined()`` between looks at pending signals.
_SLICE = 0.2


def _bounded(fn, timeout: float | None, what: str):
    """Runs ``fn`` and waits at most ``timeout`` seconds (None: as long as it takes)."""
    if timeout is None:
        return fn()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="rumour-wait")
    try:
        return pool.submit(fn).result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise TimeoutError(f"{what} did not finish within {timeout} s") from None
    finally:
        pool.shutdown(wait=False)


class State(StateReads):
    """The cluster-wide key-value map as this node holds it (``node.state``)."""

    _node: Node

    def put(self, key: str, value: bytes) -> int:
        """Writes ``key = value`` until deleted; returns the write's timestamp."""
        return self._node._put(key, value, "until_deleted", None)

    def put_ephemeral(self, key: str, value: bytes) -> int:
        """Writes ``key = value`` until deleted or until this node leaves or fails."""
        return self._node._put(key, value, "ephemeral", None)

    def put_with_ttl(self, key: str, value: bytes, ttl: float) -> int:
        """Writes ``key = value`` for ``ttl`` seconds."""
        return self._node._put(key, value, "ttl", _timeout(ttl, "ttl"))

    def delete(self, key: str) -> int | None:
        """Deletes ``key``; returns the delete's timestamp, None if it held no value."""
        return self._node._n().state_delete(_str(key, "key"))

    def watch(self, prefix: str = "") -> Events:
        """Changes to keys under ``prefix`` from now on, as ``StateChanged`` events."""
        sub = Events(self._node._hub, _str(prefix, "prefix"))
        self._node._hub.add(sub)
        return sub


class Node(Base):
    """A cluster member, blocking API. ``with Node(config) as node:`` starts
    it (it joins ``config.seeds`` in the background; ``node.joined()`` waits
    for that); leaving the block leaves and closes."""

    def __init__(self, config: Config | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)

    def start(self) -> Node:
        """Binds the sockets and starts the node, which then joins
        ``config.seeds`` in the background, trying until one answers: it never
        fails because a seed is down. Wait for the join with :meth:`joined`."""
        self._start()
        return self

    def joined(self, timeout: float | None = None) -> str:
        """Waits until this node has joined a cluster (a seed answered, or a
        peer joined it) and returns that peer's ``"host:port"``; at once if
        it joined earlier. A node with no seeds waits to be joined.

        Raises :class:`rumour.JoinTimeoutError` (a ``TimeoutError``) after
        ``timeout`` seconds (None: no limit; 0: only look), while the node
        keeps trying; :class:`rumour.JoinError` with ``failures`` when it
        gave up after ``retry_join_max_attempts``; :class:`rumour.ClosedError`
        when the node is or gets closed. Ctrl-C interrupts the wait."""
        limit = _timeout(timeout)
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            # Waits in short native slices, so that signals (KeyboardInterrupt)
            # are seen while waiting without limit.
            left = _SLICE if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return self._n().joined(min(_SLICE, left))
            except JoinTimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise _join_timeout(limit or 0.0) from None

    def join(self, seeds: str | Sequence[str], timeout: float | None = None) -> int:
        """Joins through ``seeds``; returns how many answered. Raises
        :class:`rumour.JoinError` when none did."""
        native, seeds = self._n(), _seeds(seeds)
        return _bounded(lambda: native.join(seeds), _timeout(timeout), "join")

    def leave(self, timeout: float = 5.0) -> None:
        """Leaves gracefully: peers see it as left, not failed."""
        self._n().leave(_timeout(timeout) or 0.0)

    def close(self) -> None:
        """Stops the node after delivering the events already produced.
        Safe to call twice and from inside an event handler. Without
        :meth:`leave` first (``with`` leaves), the others see this node
        fail, and what is still queued for gossip is not sent."""
        self._close()

    def broadcast(self, data: bytes) -> None:
        """Spreads ``data`` to every member, each delivering it once."""
        self._n().broadcast(_bytes(data, "data"))

    def send(self, to: str | Member, data: bytes, reliable: bool = False) -> None:
        """Sends ``data`` to one member: a packet when it fits, else TCP
        (always TCP with ``reliable``)."""
        name, data = self._send_args(to, data)
        self._n().send(name, data, bool(reliable))

    def set_meta(self, meta: bytes) -> None:
        """Replaces this node's metadata (at most 512 bytes) and tells everyone."""
        self._n().set_meta(_bytes(meta, "meta"))

    def set_local_state(self, data: bytes) -> None:
        """Push-pull user state for Go memberlist peers."""
        self._n().set_local_state(_bytes(data, "data"))

    @property
    def state(self) -> State:
        """The replicated key-value map."""
        return State(self)

    def on_event(self, callback: Callable[[Event], None]) -> Listener:
        """Calls ``callback(event)`` for every event from now on, on the
        node's dispatch thread (one at a time). Exceptions are logged and
        the node goes on; ``close()`` may be called from inside it."""
        listener = Listener(self._hub, callback, None)
        self._hub.add(listener)
        return listener

    def events(self) -> Events:
        """Every event from now on; each call is its own subscription.

        "Now" is the dispatch thread's place in the node's event queue:
        events produced just before the call and not yet handed out come
        too, so subscribe before the action whose events you need."""
        sub = Events(self._hub, None)
        self._hub.add(sub)
        return sub

    def __enter__(self) -> Node:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            if self._native is not None:
                self.leave()
        except NodeError:
            pass
        finally:
            self.close()
