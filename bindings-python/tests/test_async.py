"""The asyncio API: ``async with``, ``async for``, subscriptions."""

from __future__ import annotations

import asyncio

import pytest
import rumour

from conftest import config


async def first(events: rumour.AsyncEvents, kind: type, limit: float = 10.0):
    """The first event of ``kind`` within ``limit`` seconds."""

    async def scan():
        async for e in events:
            if isinstance(e, kind):
                return e
        return None

    return await asyncio.wait_for(scan(), limit)


def test_async_with_starts_joins_leaves_and_closes() -> None:
    async def main() -> None:
        async with rumour.Node(config("a0")) as a:
            joined = a.events()
            async with rumour.Node(config("a1", seeds=[a.addr])) as b:
                assert await b.joined(timeout=10) == a.addr
                e = await first(joined, rumour.MemberJoined)
                assert e.member.name == "a1"
                assert {m.name for m in b.members()} == {"a0", "a1"}
                left = a.events()
            e = await first(left, rumour.MemberLeft)
            assert e.member.name == "a1"
        assert a.closed

    asyncio.run(main())


def test_each_events_call_is_its_own_subscription_and_match_works() -> None:
    async def main() -> None:
        async with rumour.Node(config("s0")) as a, rumour.Node(config("s1")) as b:
            one, two = a.events(), a.events()
            await b.join(a.addr)
            await b.broadcast(b"hi")
            for sub in (one, two):
                e = await first(sub, rumour.Message)
                match e:
                    case rumour.Message(sender=sender, kind="broadcast", data=data):
                        assert (sender, data) == ("s1", b"hi")
                    case _:
                        pytest.fail(f"unexpected {e}")

    asyncio.run(main())


def test_an_exception_in_an_async_for_body_does_not_stop_the_node() -> None:
    async def main() -> None:
        async with rumour.Node(config("x0")) as a, rumour.Node(config("x1")) as b:
            await b.join(a.addr)

            async def consumer() -> None:
                async for _ in a.events():
                    raise ValueError("consumer bug")

            task = asyncio.create_task(consumer())
            await b.broadcast(b"first")
            with pytest.raises(ValueError):
                await asyncio.wait_for(task, 10)
            later = a.events()
            await b.state.put("after", b"1")
            e = await first(later, rumour.StateChanged)
            assert e.key == "after"
            assert len(a.members()) == 2

    asyncio.run(main())


def test_async_state_and_watch() -> None:
    async def main() -> None:
        async with rumour.Node(config("w0")) as a, rumour.Node(config("w1")) as b:
            await b.join(a.addr)
            watch = b.state.watch("cfg/")
            await a.state.put("cfg/flag", b"on")
            e = await first(watch, rumour.StateChanged)
            assert (e.key, e.value, e.writer) == ("cfg/flag", b"on", "w0")
            await a.state.delete("cfg/flag")
            e = await first(watch, rumour.StateChanged)
            assert e.value is None
            await watch.aclose()

    asyncio.run(main())


def test_join_failures_and_bad_input_raise_in_async_code() -> None:
    async def main() -> None:
        async with rumour.Node(config("j0", tcp_timeout=0.5)) as a:
            with pytest.raises(rumour.JoinError):
                await a.join(["127.0.0.1:1"])
            with pytest.raises(rumour.TooLargeError):
                await a.set_meta(b"x" * 600)
            with pytest.raises(TypeError):
                await a.send(a.name, "text")  # type: ignore[arg-type]

    asyncio.run(main())
