"""Fan-out of native events to subscriptions.

The native dispatch thread calls the hub with each event; the hub never
blocks it and never lets an exception escape. Each subscription has its
own bounded queue: a consumer that falls behind loses events, counted and
reported as :class:`EventsLost` ahead of the next event it gets.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from .events import Event, EventsLost, Joined, StateChanged, _event

log = logging.getLogger("rumour")

#: Events a subscription holds before it starts losing them.
DEPTH = 4096


class _Subscription:
    def __init__(self, hub: Hub, prefix: str | None) -> None:
        self._hub = hub
        self._prefix = prefix
        self._lost = 0
        self._closed = False

    def _wants(self, event: Event) -> bool:
        if self._prefix is None or isinstance(event, EventsLost):
            # A loss upstream may have hidden events of any key: always say so.
            return True
        return isinstance(event, StateChanged) and event.key.startswith(self._prefix)

    def _admit(self, event: Event, queued: int, put: Callable[[Event], None]) -> None:
        """The one overflow rule: a full queue drops and counts; a loss not
        yet reported goes ahead of the next event that fits."""
        if isinstance(event, EventsLost):
            # Lost before it reached us: add it to our own count.
            self._lost += event.count
            if queued < DEPTH:
                put(EventsLost(self._lost))
                self._lost = 0
            return
        if queued >= DEPTH:
            self._lost += 1
            return
        if self._lost:
            put(EventsLost(self._lost))
            self._lost = 0
        put(event)

    def offer(self, event: Event) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError


class AsyncEvents(_Subscription):
    """``async for event in node.events():`` — one subscription, from the
    moment ``events()`` was called until the node closes or ``aclose()``."""

    def __init__(self, hub: Hub, prefix: str | None) -> None:
        super().__init__(hub, prefix)
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def offer(self, event: Event) -> None:
        if self._wants(event):
            self._call(self._put, event)

    def _call(self, fn, arg) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:
            # The loop is closed: nobody will read this subscription again.
            self._hub.remove(self)

    def _put(self, event: Event) -> None:
        if not self._closed:
            self._admit(event, self._queue.qsize(), self._queue.put_nowait)

    def end(self) -> None:
        self._call(self._finish, None)

    def _finish(self, _: None) -> None:
        if self._lost:
            self._queue.put_nowait(EventsLost(self._lost))
            self._lost = 0
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        if self._lost and self._queue.empty():
            # Caught up: report what overflowed now rather than after the next event.
            lost, self._lost = self._lost, 0
            return EventsLost(lost)
        item = await self._queue.get()
        if item is None:
            self._closed = True
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stops this subscription."""
        self._closed = True
        self._hub.remove(self)


class Events(_Subscription):
    """Blocking iteration over one subscription: ``for event in node.events():``
    ends when the node closes; :meth:`get` waits with a timeout."""

    def __init__(self, hub: Hub, prefix: str | None) -> None:
        super().__init__(hub, prefix)
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._lock = threading.Lock()

    def offer(self, event: Event) -> None:
        if not self._wants(event):
            return
        with self._lock:
            if not self._closed:
                self._admit(event, self._queue.qsize(), self._queue.put)

    def end(self) -> None:
        with self._lock:
            if self._lost:
                self._queue.put(EventsLost(self._lost))
                self._lost = 0
            self._queue.put(None)

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event; None on timeout or once the node has closed."""
        if self._closed:
            return None
        with self._lock:
            if self._lost and self._queue.empty():
                # Caught up: report what overflowed now rather than after the next event.
                lost, self._lost = self._lost, 0
                return EventsLost(lost)
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is None:
            self._closed = True
        return item

    def __iter__(self) -> Iterator[Event]:
        while True:
            item = self.get()
            if item is None:
                return
            yield item

    def close(self) -> None:
        """Stops this subscription."""
        self._closed = True
        self._hub.remove(self)


class Listener(_Subscription):
    """A callback called with every event. On a blocking node it runs on
    the node's dispatch thread; on an asyncio node, on the event loop. An
    exception it raises is logged to ``logging.getLogger("rumour")`` and
    the node goes on. :meth:`remove` stops it."""

    def __init__(self, hub: Hub, callback, loop: asyncio.AbstractEventLoop | None) -> None:
        super().__init__(hub, None)
        self._callback = callback
        self._loop = loop

    def offer(self, event: Event) -> None:
        if self._closed:
            return
        if self._loop is None:
            self._run(event)
            return
        try:
            self._loop.call_soon_threadsafe(self._run, event)
        except RuntimeError:
            self._hub.remove(self)

    def _run(self, event: Event) -> None:
        if self._closed:
            return
        try:
            self._callback(event)
        except Exception:
            log.exception("rumour: an event callback raised; the node goes on")

    def end(self) -> None:
        self._closed = True

    def remove(self) -> None:
        """No more calls."""
        self._closed = True
        self._hub.remove(self)


class JoinWatch(_Subscription):
    """Wakes an asyncio ``joined()`` when something may have changed its
    answer: a :class:`Joined` event, lost events (one may have been
    :class:`Joined`), or the node closing."""

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub, None)
        self._loop = asyncio.get_running_loop()
        self._poke = asyncio.Event()

    def offer(self, event: Event) -> None:
        if isinstance(event, (Joined, EventsLost)):
            self.end()

    def end(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self._poke.set)
        except RuntimeError:
            self._hub.remove(self)

    def clear(self) -> None:
        self._poke.clear()

    async def wait(self, timeout: float) -> None:
        """Until poked or ``timeout`` seconds passed."""
        try:
            await asyncio.wait_for(self._poke.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class Hub:
    """Called by the native dispatch thread with each event tuple."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[_Subscription] = []
        self._closed = False

    def __call__(self, native_event: tuple) -> None:
        try:
            event = _event(native_event)
        except Exception:  # a newer native module: skip what we cannot read
            log.exception("rumour: cannot read event %r", native_event)
            return
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.offer(event)
            except Exception:
                log.exception("rumour: an event subscription failed; it is dropped")
                self.remove(sub)

    def add(self, sub: _Subscription) -> None:
        with self._lock:
            if self._closed:
                sub.end()
                return
            self._subs.append(sub)

    def remove(self, sub: _Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def close(self) -> None:
        """The node closed: every subscription ends after what it holds."""
        with self._lock:
            self._closed = True
            subs, self._subs = self._subs, []
        for sub in subs:
            sub.end()
