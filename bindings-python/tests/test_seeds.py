"""Seeds that keep working (issue 16): a node started before its seed starts
anyway and joins once the seed is up; ``joined()`` waits, times out or
reports giving up; bad seeds and peer files never stop a node."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pathlib
import socket
import threading
import time

import pytest
import rumour
from rumour import blocking
from rumour._hub import JoinWatch

from conftest import config, wait_until


def free_port() -> int:
    """A port free for TCP and UDP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def bound(name: str, bind: str, **overrides: object) -> rumour.Config:
    """``config`` on a given address."""
    return config(name, **overrides).replace(bind=bind)


def test_a_node_started_before_its_seed_joins_once_the_seed_is_up_async() -> None:
    async def main() -> None:
        port = free_port()
        seed_addr = f"127.0.0.1:{port}"
        b = rumour.Node(rumour.Config.lan(name="b", bind="127.0.0.1:0", seeds=[seed_addr]))
        await b.start()  # the seed is down: this must not raise
        events = b.events()
        with pytest.raises(rumour.JoinTimeoutError):
            await b.joined(timeout=0.3)
        await asyncio.sleep(2)
        async with rumour.Node(rumour.Config.lan(name="a", bind=seed_addr)) as a:
            started = time.monotonic()
            via = await b.joined(timeout=10)
            took = time.monotonic() - started
            assert via == a.addr
            joined = await asyncio.wait_for(_first(events, rumour.Joined), 5)
            assert joined == rumour.Joined(via=a.addr)
            assert b.stats()["join_attempts"] >= 2
            print(f"joined {took:.2f} s after the seed started")
            await b.leave()
        await b.close()

    asyncio.run(main())


async def _first(events: rumour.AsyncEvents, kind: type) -> object:
    async for e in events:
        if isinstance(e, kind):
            return e
    return None


def test_a_node_started_before_its_seed_joins_once_the_seed_is_up_blocking() -> None:
    port = free_port()
    seed_addr = f"127.0.0.1:{port}"
    with blocking.Node(config("bb", seeds=[seed_addr])) as b:
        with pytest.raises(TimeoutError):
            b.joined(timeout=0.3)
        time.sleep(1)
        with blocking.Node(bound("ba", seed_addr)) as a:
            assert b.joined(timeout=10) == a.addr
            assert b.joined(timeout=0) == a.addr  # at once, from now on


def test_joined_raises_join_error_naming_the_seed_when_the_node_gives_up() -> None:
    port = free_port()
    # 0.5 s between the attempts: the listener below is in place long before the node gives up.
    c = config("quitter", seeds=[f"127.0.0.1:{port}"], retry_join_interval=0.5, retry_join_max_attempts=2)
    with blocking.Node(c) as n:
        told: list[rumour.JoinGaveUp] = []
        n.on_event(lambda e: told.append(e) if isinstance(e, rumour.JoinGaveUp) else None)
        with pytest.raises(rumour.JoinError) as err:
            n.joined(timeout=10)
        assert not isinstance(err.value, TimeoutError)
        assert str(port) in str(err.value)
        assert n.stats()["join_attempts"] == 2
        # Event consumers are told too, once, with the same reasons.
        assert wait_until(lambda: told, limit=10)
        assert told == [rumour.JoinGaveUp(attempts=2, failures=err.value.failures)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retry_join_interval", 0),
        ("retry_join_interval", -1),
        ("retry_join_max_interval", 0.001),
        ("retry_join_max_attempts", -1),
        ("gossip_to_seeds", "yes"),
        ("peers_file", 42),
        ("peers_file", ""),
    ],
)
def test_bad_seed_settings_name_the_field(field: str, value: object) -> None:
    with pytest.raises(rumour.ConfigError) as err:
        rumour.Config.local(**{field: value})
    assert err.value.field == field


def test_bad_seeds_and_peer_files_never_stop_a_node(tmp_path: os.PathLike) -> None:
    directory = os.fspath(tmp_path)
    garbage = os.path.join(directory, "garbage")
    with open(garbage, "wb") as f:
        f.write(os.urandom(1 << 20))
    seeds = ["nowhere.invalid:7946", "127.0.0.1:1", "127.0.0.1:1"]
    for peers_file in (directory, garbage, os.path.join(directory, "missing", "peers")):
        c = config("hardy", seeds=seeds, retry_join_interval=0.05, peers_file=peers_file)
        with blocking.Node(c) as n:
            with pytest.raises(rumour.JoinTimeoutError):
                n.joined(timeout=0.3)
            assert n.stats()["join_attempts"] >= 1


def test_a_peer_file_brings_a_restarted_pair_back_without_seeds(tmp_path: os.PathLike) -> None:
    files = [os.path.join(os.fspath(tmp_path), f"p{i}") for i in range(2)]
    ports = [free_port(), free_port()]
    binds = [f"127.0.0.1:{p}" for p in ports]
    a = blocking.Node(bound("pa", binds[0], peers_file=files[0])).start()
    b = blocking.Node(bound("pb", binds[1], seeds=[binds[0]], peers_file=files[1])).start()
    b.joined(timeout=10)
    b.leave()
    a.leave()
    b.close()
    a.close()
    # Back with no seeds at all: the files remember each other.
    a = blocking.Node(bound("pa", binds[0], peers_file=files[0])).start()
    b = blocking.Node(bound("pb", binds[1], peers_file=files[1])).start()
    try:
        assert a.joined(timeout=10) and b.joined(timeout=10)
    finally:
        a.close()
        b.close()


def test_joined_looks_at_once_with_zero_and_accepts_any_limit() -> None:
    port = free_port()
    with blocking.Node(config("eager", seeds=[f"127.0.0.1:{port}"])) as b:
        started = time.monotonic()
        with pytest.raises(rumour.JoinTimeoutError) as err:
            b.joined(timeout=0)
        assert time.monotonic() - started < 1
        assert isinstance(err.value, TimeoutError) and isinstance(err.value, rumour.JoinError)
        assert "0 s" in str(err.value)
        for bad in (-1, float("nan"), "1", True):
            with pytest.raises(TypeError, match="timeout"):
                b.joined(timeout=bad)  # type: ignore[arg-type]
        with blocking.Node(bound("eager-seed", f"127.0.0.1:{port}")) as a:
            assert b.joined() == a.addr
            for limit in (0, 0.0, 1e300, float("inf"), None):
                assert b.joined(timeout=limit) == a.addr


def test_the_joined_event_reaches_callbacks_and_iterators_once() -> None:
    async def main() -> None:
        async with rumour.Node(config("ev-a")) as a:
            b = rumour.Node(config("ev-b", seeds=[a.addr]))
            got: list[rumour.Event] = []
            b.on_event(got.append)
            # Subscribed before the start: the join can come first.
            events = b.events()
            await b.start()
            assert await b.joined(timeout=10) == a.addr
            assert await asyncio.wait_for(_first(events, rumour.Joined), 5) == rumour.Joined(a.addr)
            await asyncio.sleep(0.5)
            assert [e for e in got if isinstance(e, rumour.Joined)] == [rumour.Joined(via=a.addr)]
            with pytest.raises(dataclasses.FrozenInstanceError):
                got[0].via = "x"  # type: ignore[misc]
            await b.leave()
            await b.close()

    asyncio.run(main())

    with blocking.Node(config("evb-a")) as a:
        b = blocking.Node(config("evb-b", seeds=[a.addr]))
        seen: list[rumour.Event] = []
        b.on_event(seen.append)
        events = b.events()
        with b:
            assert b.joined(timeout=10) == a.addr
            assert wait_until(lambda: any(isinstance(e, rumour.Joined) for e in seen), limit=5)
            while (e := events.get(timeout=0.5)) is not None and not isinstance(e, rumour.Joined):
                pass
            assert e == rumour.Joined(a.addr)
        assert sum(isinstance(e, rumour.Joined) for e in seen) == 1


def test_many_async_waiters_take_no_threads_and_closing_ends_them() -> None:
    async def main() -> None:
        port = free_port()
        b = await rumour.Node(config("waiters", seeds=[f"127.0.0.1:{port}"])).start()
        threads = threading.active_count()
        # Far more waiters than the default executor has threads: were they
        # threads, close() (which runs in that executor) would queue behind them.
        waiters = [asyncio.create_task(b.joined()) for _ in range(40)]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(b.joined(), 0.3)  # cancelled: leaves nothing behind
        await asyncio.sleep(0.2)
        assert not any(w.done() for w in waiters)
        assert threading.active_count() == threads
        assert sum(isinstance(s, JoinWatch) for s in b._hub._subs) == 40
        await asyncio.wait_for(b.close(), 10)
        results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 10)
        assert all(isinstance(r, rumour.ClosedError) for r in results), results
        with pytest.raises(rumour.ClosedError):
            await b.joined(timeout=1)

    asyncio.run(main())


def test_closing_a_blocking_node_ends_a_wait_without_limit() -> None:
    port = free_port()
    b = blocking.Node(config("closer", seeds=[f"127.0.0.1:{port}"])).start()
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            b.joined()
        except BaseException as e:
            outcome.append(e)

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.5)
    assert t.is_alive()
    b.close()
    t.join(5)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], rumour.ClosedError), outcome
    with pytest.raises(rumour.ClosedError):
        b.joined(timeout=0)


def test_giving_up_lists_the_failures_async() -> None:
    async def main() -> None:
        port = free_port()
        seeds = [f"127.0.0.1:{port}"]
        c = config("quitter-a", seeds=seeds, retry_join_interval=0.05, retry_join_max_attempts=2)
        async with rumour.Node(c) as n:
            with pytest.raises(rumour.JoinError) as err:
                await n.joined(timeout=10)
            assert not isinstance(err.value, TimeoutError)
            assert err.value.attempts == 2
            assert [f.seed for f in err.value.failures] == [f"127.0.0.1:{port}"]
            assert all(isinstance(f, rumour.SeedFailure) and f.reason for f in err.value.failures)
            # Giving up is an answer that stays: asked again, at once.
            with pytest.raises(rumour.JoinError):
                await n.joined(timeout=0)

    asyncio.run(main())


def test_an_explicit_join_stays_one_shot_and_lists_the_failures() -> None:
    port = free_port()
    with blocking.Node(config("one-shot", tcp_timeout=0.5)) as n:
        with pytest.raises(rumour.JoinError) as err:
            n.join([f"127.0.0.1:{port}"])
        assert not isinstance(err.value, TimeoutError)
        assert err.value.attempts is None
        assert [f.seed for f in err.value.failures] == [f"127.0.0.1:{port}"]


def test_seed_settings_have_the_presets_defaults_and_take_paths(tmp_path: pathlib.Path) -> None:
    c = rumour.Config.lan()
    assert (c.retry_join_interval, c.retry_join_max_interval, c.retry_join_max_attempts) == (1.0, 30.0, 0)
    assert c.gossip_to_seeds is True and c.peers_file is None
    c = rumour.Config.local(peers_file=tmp_path / "peers")
    assert c.peers_file == os.path.join(os.fspath(tmp_path), "peers")
    c = c.replace(retry_join_interval=0.5, retry_join_max_interval=0.5, gossip_to_seeds=False)
    c = c.replace(peers_file=None)
    assert c.peers_file is None
    with pytest.raises(rumour.ConfigError) as err:
        c.replace(retry_join_max_interval=0.25)
    assert err.value.field == "retry_join_max_interval"
    with pytest.raises(rumour.ConfigError) as err:
        c.replace(retry_join_max_attempts=2**40)
    assert err.value.field == "retry_join_max_attempts"


def test_a_peer_file_that_is_a_directory_is_counted_and_the_node_runs(tmp_path: pathlib.Path) -> None:
    with blocking.Node(config("dir-a")) as a:
        with blocking.Node(config("dir-b", seeds=[a.addr], peers_file=tmp_path)) as b:
            assert b.joined(timeout=10) == a.addr
            stats = b.stats()
            assert stats["peers_file_errors"] >= 1
            assert stats["join_attempts"] >= 1
            assert {"seed_push_pulls", "hails_answered"} <= stats.keys()


def test_the_simulator_counts_join_attempts() -> None:
    from rumour.sim import Sim

    sim = Sim(nodes=3, seed=7)
    sim.run_for(5)
    stats = sim.stats(0)
    assert stats is not None
    assert {"join_attempts", "seed_push_pulls", "hails_answered", "catch_up_pulls"} <= stats.keys()
