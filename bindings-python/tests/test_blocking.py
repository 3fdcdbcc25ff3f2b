"""The blocking API on real loopback nodes, in one process."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
import rumour
from rumour import blocking

from conftest import config, wait_until


@pytest.fixture
def trio():
    nodes = [blocking.Node(config(f"b{i}")).start() for i in range(3)]
    for n in nodes[1:]:
        assert n.join(nodes[0].addr) == 1
    assert wait_until(lambda: all(len(n.members()) == 3 for n in nodes))
    yield nodes
    for n in nodes:
        n.close()


def kinds(events: list) -> list:
    return [type(e).__name__ for e in events]


def test_every_event_kind_arrives_typed_and_frozen(trio) -> None:
    a, b, c = trio
    events = a.events()
    b.set_meta(b"role=db")
    c.broadcast(b"hello")
    b.send(a.name, b"direct")
    c.state.put("k", b"v")
    d = blocking.Node(config("b3")).start()
    d.join(a.addr)
    d.leave(2.0)
    d.close()
    seen: list = []
    wanted = {"MemberUpdated", "Message", "StateChanged", "MemberJoined", "MemberLeft"}
    end = time.monotonic() + 10
    while not wanted <= set(kinds(seen)) and time.monotonic() < end:
        e = events.get(timeout=0.5)
        if e is not None:
            seen.append(e)
    assert wanted <= set(kinds(seen)), kinds(seen)
    update = next(e for e in seen if isinstance(e, rumour.MemberUpdated))
    assert update.member.meta == b"role=db" and update.member.state is rumour.MemberState.ALIVE
    messages = {(e.sender, e.kind, e.data) for e in seen if isinstance(e, rumour.Message)}
    assert ("b2", "broadcast", b"hello") in messages and ("b1", "direct", b"direct") in messages
    change = next(e for e in seen if isinstance(e, rumour.StateChanged))
    assert (change.key, change.value, change.writer) == ("k", b"v", "b2")
    with pytest.raises(AttributeError):
        change.key = "x"  # type: ignore[misc]


def test_a_crash_is_suspected_then_failed_and_logged(trio, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="rumour")
    a, _, c = trio
    events = a.events()
    c.close()  # no leave: a crash as far as the others know
    got: list = []
    end = time.monotonic() + 20
    while "MemberFailed" not in kinds(got) and time.monotonic() < end:
        e = events.get(timeout=0.5)
        if e is not None:
            got.append(e)
    assert "MemberSuspect" in kinds(got) and "MemberFailed" in kinds(got), kinds(got)
    failed = next(e for e in got if isinstance(e, rumour.MemberFailed))
    assert failed.member.name == "b2"

    # The protocol's own decisions reach Python's logging, logger "rumour".
    def logged(text: str) -> bool:
        return any(
            r.name == "rumour" and text in r.getMessage() and "b2" in r.getMessage() for r in caplog.records
        )

    assert wait_until(lambda: logged("declared dead")), [r.getMessage() for r in caplog.records]
    assert logged("suspect raised")
    warning = next(r for r in caplog.records if "declared dead" in r.getMessage())
    assert warning.levelno == logging.WARNING


def test_the_replicated_map_from_python(trio) -> None:
    a, b, c = trio
    watch = c.state.watch("svc/")
    ts = a.state.put("svc/web", b"10.0.0.1:80")
    a.state.put("other", b"x")
    e = watch.get(timeout=5)
    assert isinstance(e, rumour.StateChanged) and e.key == "svc/web" and e.timestamp == ts
    b.state.put_ephemeral("svc/b", b"up")
    b.state.put_with_ttl("lease", b"1", 30)
    assert wait_until(lambda: c.state.get("svc/b") is not None and c.state.get("lease") is not None)
    assert c.state.get("svc/b").ephemeral
    assert c.state.get("lease").expires_unix_ms is not None
    assert [x.key for x in c.state.entries("svc/")] == ["svc/b", "svc/web"]
    assert a.state.delete("svc/web") is not None
    assert a.state.delete("svc/web") is None
    assert wait_until(lambda: len({n.state.summary().root for n in trio}) == 1)
    # The digest covers members and the map: one value once all agree.
    assert wait_until(lambda: len({n.digest() for n in trio}) == 1)
    before = a.digest()
    assert len(before) == 16 and int(before, 16) >= 0
    a.state.put("digest", b"moves")
    assert a.digest() != before
    assert wait_until(lambda: len({n.digest() for n in trio}) == 1)
    with pytest.raises(rumour.StateError) as err:
        a.state.put("", b"v")
    assert err.value.field == "key"
    with pytest.raises(rumour.StateError):
        a.state.put("k", b"x" * (64 * 1024 + 1))
    with pytest.raises(TypeError):
        a.state.put("k", "not bytes")  # type: ignore[arg-type]


def test_bad_input_raises_the_documented_exceptions(trio) -> None:
    a = trio[0]
    with pytest.raises(rumour.TooLargeError) as err:
        a.set_meta(b"m" * 513)
    assert err.value.field == "meta"
    with pytest.raises(rumour.TooLargeError):
        a.broadcast(b"x" * 2000)
    with pytest.raises(rumour.UnknownMemberError):
        a.send("nobody", b"x")
    with pytest.raises(TypeError):
        a.broadcast("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.join(42)  # type: ignore[arg-type]
    with pytest.raises(rumour.KeyringError):
        a.keyring.install(b"short")
    lonely = blocking.Node(config("lonely", tcp_timeout=0.5)).start()
    try:
        with pytest.raises(rumour.JoinError) as err:
            lonely.join(["127.0.0.1:1"])
        assert "127.0.0.1:1" in str(err.value)
    finally:
        lonely.close()
    lonely.close()  # twice is fine
    with pytest.raises(rumour.ClosedError):
        lonely.members()


def test_a_raising_callback_is_logged_and_the_node_goes_on(trio, caplog) -> None:
    a, b, _ = trio
    calls: list = []

    def bad(event: rumour.Event) -> None:
        calls.append(event)
        raise RuntimeError("boom")

    a.on_event(bad)
    b.broadcast(b"one")
    assert wait_until(lambda: len(calls) >= 1)
    b.broadcast(b"two")
    assert wait_until(lambda: len(calls) >= 2), "still called after raising"
    assert any("callback raised" in r.message for r in caplog.records)
    assert len(a.members()) == 3


def test_close_from_inside_a_callback(trio) -> None:
    a, b, _ = trio
    closed = threading.Event()

    def on_event(event: rumour.Event) -> None:
        a.close()
        closed.set()

    a.on_event(on_event)
    b.broadcast(b"close now")
    assert closed.wait(10), "the callback ran and close() returned inside it"
    assert a.closed
    with pytest.raises(rumour.ClosedError):
        a.members()


def test_a_consumer_that_falls_behind_is_told_how_many_it_lost(trio) -> None:
    a, b, _ = trio
    watch = a.state.watch("flood/")
    # Once a holds all the keys, all their events have been produced; at
    # most 4096 + 1024 can still be on their way (the dispatch queue and a
    # batch), so the unread watch has dropped some for sure.
    flood = 10_000
    for i in range(flood):
        b.state.put(f"flood/{i}", b"v")
    assert wait_until(lambda: a.state.summary().live >= flood, limit=30)
    got: list[rumour.Event] = []

    def accounted() -> int:
        return sum(e.count if isinstance(e, rumour.EventsLost) else 1 for e in got)

    # Read until every change is either delivered or counted as lost: on
    # a busy machine the last ones may still be arriving.
    deadline = time.monotonic() + 30
    while accounted() < flood and time.monotonic() < deadline:
        if (e := watch.get(timeout=0.2)) is not None:
            got.append(e)
    lost = sum(e.count for e in got if isinstance(e, rumour.EventsLost))
    changes = sum(isinstance(e, rumour.StateChanged) for e in got)
    assert lost > 0 and lost + changes == flood, (lost, changes)


def test_context_manager_joins_seeds_and_leaves() -> None:
    with blocking.Node(config("cm0")) as first:
        watcher = first.events()
        with blocking.Node(config("cm1", seeds=[first.addr])) as second:
            assert wait_until(lambda: len(second.members()) == 2)
        left = None
        end = time.monotonic() + 5
        while left is None and time.monotonic() < end:
            e = watcher.get(timeout=0.5)
            if isinstance(e, rumour.MemberLeft):
                left = e
        assert left is not None and left.member.name == "cm1"
    assert first.closed


def suspect_packet(node: str, incarnation: int, accuser: str) -> bytes:
    """A memberlist suspect message (type 3, a msgpack map as Go writes it)."""

    def raw(s: str) -> bytes:
        return bytes([0xA0 | len(s)]) + s.encode()

    fields = [raw("Incarnation") + bytes([incarnation]), raw("Node") + raw(node), raw("From") + raw(accuser)]
    return b"\x03\x83" + b"".join(fields)


def test_a_false_suspicion_is_refuted_and_reported_as_recovered(trio) -> None:
    a, b, _ = trio
    events = a.events()
    host, port = a.addr.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(suspect_packet(b.name, b.local.incarnation, "someone"), (host, int(port)))
    got: list = []
    end = time.monotonic() + 10
    while "MemberRecovered" not in kinds(got) and time.monotonic() < end:
        e = events.get(timeout=0.5)
        if e is not None:
            got.append(e)
    assert kinds(got)[:2] == ["MemberSuspect", "MemberRecovered"], kinds(got)
    recovered = got[1]
    assert recovered.member.name == b.name and recovered.member.incarnation > 1
