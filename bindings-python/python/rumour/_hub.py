"""Fan-out of native events to subscriptions.

The native dispatch thread calls the hub with a batch: every event queued
when it woke, oldest first. The hub never blocks it and never lets an
exception escape. Each subscription takes the batch whole (one loop
wake-up per batch for asyncio, one lock per batch for blocking readers)
into its own bounded queue: a consumer that falls behind loses events,
counted and reported as :class:`EventsLost` ahead of the next event it gets.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
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

    def _admit_all(self, events: list[Event], queue: deque[Event | None]) -> None:
        """:meth:`_admit` for a batch, in order; the whole batch at once
        when it fits and no loss waits to be reported (the same result)."""
        if not self._lost and len(queue) + len(events) <= DEPTH:
            queue.extend(events)
            return
        for event in events:
            self._admit(event, len(queue), queue.append)

    def _wanted(self, events: list[Event]) -> list[Event]:
        if self._prefix is None:
            return events
        return [e for e in events if self._wants(e)]

    def offer(self, events: list[Event]) -> None:
        """Takes a batch of events, oldest first; never blocks."""
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError


class AsyncEvents(_Subscription):
    """``async for event in node.events():`` — one subscription, from the
    moment ``events()`` was called until the node closes or ``aclose()``."""

    def __init__(self, hub: Hub, prefix: str | None) -> None:
        super().__init__(hub, prefix)
        self._loop = asyncio.get_running_loop()
        # Touched on the loop only; None marks the end.
        self._queue: deque[Event | None] = deque()
        self._waiters: list[asyncio.Future[None]] = []
        self._ended = False

    def offer(self, events: list[Event]) -> None:
        wanted = self._wanted(events)
        if wanted and not self._ended:
            self._call(self._put, wanted)

    def _call(self, fn, arg) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:
            # The loop is closed: nobody will read this subscription again.
            self._hub.remove(self)

    def _put(self, events: list[Event]) -> None:
        if not self._closed:
            self._admit_all(events, self._queue)
            self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def end(self) -> None:
        self._ended = True
        self._call(self._finish, None)

    def _finish(self, _: None) -> None:
        if self._lost:
            self._queue.append(EventsLost(self._lost))
            self._lost = 0
        self._queue.append(None)
        self._wake()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        if self._lost and not self._queue:
            # Caught up: report what overflowed now rather than after the next event.
            lost, self._lost = self._lost, 0
            return EventsLost(lost)
        while not self._queue:
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            await waiter
        item = self._queue.popleft()
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
        # None marks the end.
        self._queue: deque[Event | None] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._ended = False

    def offer(self, events: list[Event]) -> None:
        wanted = self._wanted(events)
        if not wanted:
            return
        with self._ready:
            if not self._closed and not self._ended:
                self._admit_all(wanted, self._queue)
                self._ready.notify_all()

    def end(self) -> None:
        with self._ready:
            self._ended = True
            if self._lost:
                self._queue.append(EventsLost(self._lost))
                self._lost = 0
            self._queue.append(None)
            self._ready.notify_all()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event; None on timeout or once the node has closed."""
        if self._closed:
            return None
        with self._ready:
            if self._lost and not self._queue:
                # Caught up: report what overflowed now rather than after the next event.
                lost, self._lost = self._lost, 0
                return EventsLost(lost)
            if not self._ready.wait_for(lambda: self._queue, timeout):
                return None
            item = self._queue.popleft()
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

    def offer(self, events: list[Event]) -> None:
        if self._closed:
            return
        if self._loop is None:
            self._run(events)
            return
        try:
            self._loop.call_soon_threadsafe(self._run, events)
        except RuntimeError:
            self._hub.remove(self)

    def _run(self, events: list[Event]) -> None:
        for event in events:
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

    def offer(self, events: list[Event]) -> None:
        if any(isinstance(e, (Joined, EventsLost)) for e in events):
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
    """Called by the native dispatch thread with each batch of event tuples."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[_Subscription] = []
        self._closed = False

    def __call__(self, native_events: list[tuple]) -> None:
        try:
            events = [_event(t) for t in native_events]
        except Exception:
            events = []
            for t in native_events:
                try:
                    events.append(_event(t))
                except Exception:  # a newer native module: skip what we cannot read
                    log.exception("rumour: cannot read event %r", t)
        if not events:
            return
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.offer(events)
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
