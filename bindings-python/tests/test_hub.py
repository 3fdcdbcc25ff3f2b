"""Batched delivery: the dispatch thread hands the hub every event queued
when it woke in one call; each subscription keeps its order, its bound and
its loss count exactly as if the events had come one by one."""

from __future__ import annotations

import asyncio
import threading
import time

import rumour
from rumour._hub import DEPTH, AsyncEvents, Events, Hub, Listener

from conftest import config


def messages(start: int, stop: int) -> list[tuple]:
    """Native message tuples whose data is their number."""
    return [("message", "peer", "direct", b"%d" % i) for i in range(start, stop)]


def feed_then_close(hub: Hub) -> None:
    """Two batches and the end, as the dispatch thread and close() send them."""
    hub(messages(0, 1000))
    hub(messages(1000, 3000))
    hub.close()


def numbers(events: list[rumour.Event]) -> list[int]:
    return [int(e.data) for e in events if isinstance(e, rumour.Message)]


def test_a_batch_reaches_an_async_for_consumer_whole_and_in_order() -> None:
    async def main() -> list[rumour.Event]:
        hub = Hub()
        sub = AsyncEvents(hub, None)
        hub.add(sub)
        feeder = threading.Thread(target=feed_then_close, args=(hub,))
        feeder.start()
        got = [e async for e in sub]
        feeder.join()
        return got

    got = asyncio.run(main())
    assert numbers(got) == list(range(3000))
    assert len(got) == 3000, "nothing but the messages"


def test_a_batch_reaches_a_blocking_consumer_whole_and_in_order() -> None:
    hub = Hub()
    sub = Events(hub, None)
    hub.add(sub)
    feeder = threading.Thread(target=feed_then_close, args=(hub,))
    feeder.start()
    got = list(sub)
    feeder.join()
    assert numbers(got) == list(range(3000))


def test_a_batch_over_the_depth_is_cut_there_and_the_rest_counted_with_upstream_losses() -> None:
    async def main() -> list[rumour.Event]:
        hub = Hub()
        sub = AsyncEvents(hub, None)
        hub.add(sub)
        hub(messages(0, DEPTH + 10))
        hub([("events_lost", 5)])  # lost before the hub: added to the count
        hub.close()
        return [e async for e in sub]

    got = asyncio.run(main())
    assert numbers(got) == list(range(DEPTH))
    assert got[-1] == rumour.EventsLost(15)
    assert len(got) == DEPTH + 1


def test_a_blocking_reader_that_caught_up_is_told_its_loss_at_once() -> None:
    hub = Hub()
    sub = Events(hub, None)
    hub.add(sub)
    hub(messages(0, DEPTH + 7))
    got = [sub.get(timeout=1) for _ in range(DEPTH)]
    assert numbers(got) == list(range(DEPTH))
    assert sub.get(timeout=0) == rumour.EventsLost(7)
    hub(messages(DEPTH + 7, DEPTH + 8))
    assert numbers([sub.get(timeout=1)]) == [DEPTH + 7], "after the report, the next event as usual"


def test_a_loss_is_reported_just_ahead_of_the_next_event_that_fits() -> None:
    hub = Hub()
    sub = Events(hub, None)
    hub.add(sub)
    hub(messages(0, DEPTH + 3))
    assert numbers([sub.get(timeout=1)]) == [0]  # room for one
    hub(messages(DEPTH + 3, DEPTH + 5))  # the report and one event fit, the other is lost
    rest = [sub.get(timeout=1) for _ in range(DEPTH + 1)]
    assert numbers(rest[: DEPTH - 1]) == list(range(1, DEPTH))
    assert rest[DEPTH - 1] == rumour.EventsLost(3)
    assert numbers(rest[DEPTH:]) == [DEPTH + 3]
    assert sub.get(timeout=0) == rumour.EventsLost(1)


def test_a_watch_takes_only_its_keys_and_every_loss_from_a_batch() -> None:
    hub = Hub()
    sub = Events(hub, "a/")
    hub.add(sub)
    batch = [("state_changed", f"{p}/{i}", b"v", "w", i) for i in range(10) for p in ("a", "b")]
    hub([*batch, ("events_lost", 2), ("message", None, "plain", b"x")])
    hub.close()
    got = list(sub)
    assert [e.key for e in got if isinstance(e, rumour.StateChanged)] == [f"a/{i}" for i in range(10)]
    assert got[-1] == rumour.EventsLost(2)


def test_a_blocking_listener_gets_a_batch_one_event_at_a_time_and_nothing_after_close() -> None:
    hub = Hub()
    seen: list[rumour.Event] = []

    def on_event(event: rumour.Event) -> None:
        seen.append(event)
        if len(seen) == 3:
            hub.close()  # as node.close() from inside a callback does

    hub.add(Listener(hub, on_event, None))
    hub(messages(0, 10))
    hub(messages(10, 20))
    assert numbers(seen) == [0, 1, 2]


def test_an_event_the_hub_cannot_read_is_skipped_and_the_rest_of_its_batch_arrives() -> None:
    hub = Hub()
    sub = Events(hub, None)
    hub.add(sub)
    hub([*messages(0, 2), ("from_the_future", 1), *messages(2, 4)])
    hub.close()
    assert numbers(list(sub)) == [0, 1, 2, 3]


def test_events_queued_while_the_consumer_is_busy_arrive_in_order_from_a_real_node() -> None:
    n = 3000  # under DEPTH: nothing may be lost

    async def main() -> list[rumour.Event]:
        async with rumour.Node(config("batch")) as node:
            watch = node.state.watch("k/")
            for i in range(n):
                await node.state.put(f"k/{i}", b"v")
            time.sleep(0.3)  # block the loop: the dispatch thread queues batches meanwhile
            got = []
            async for e in watch:
                got.append(e)
                if len(got) == n:
                    break
            return got

    got = asyncio.run(asyncio.wait_for(main(), 30))
    assert [e.key for e in got] == [f"k/{i}" for i in range(n)]
