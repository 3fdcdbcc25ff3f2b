"""Seeds that keep working (issue 16): a node started before its seed starts
anyway and joins once the seed is up; ``joined()`` waits, times out or
reports giving up; bad seeds and peer files never stop a node."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest
import rumour
from rumour import blocking

from conftest import config


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
    c = config("quitter", seeds=[f"127.0.0.1:{port}"], retry_join_interval=0.05, retry_join_max_attempts=2)
    with blocking.Node(c) as n:
        with pytest.raises(rumour.JoinError) as err:
            n.joined(timeout=10)
        assert not isinstance(err.value, TimeoutError)
        assert str(port) in str(err.value)
        assert n.stats()["join_attempts"] == 2


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
