"""A hostile member and the replicated map: floods of writes, huge values,
writes from far in the future, put/delete churn. The writes are crafted
state rumours (core/src/proto/user.rs, kv/codec.rs) from a socket that is
not a member: a victim without keys does not ask who sends a rumour (nor
does memberlist of a user message), so this is what any member can do.
With keys, only a member holding one can; see test_encryption.py."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

import forge
from harness import Sent, bounded, run_attack, send_stream, wait_until

full = pytest.mark.full
DURATIONS = [2.0, pytest.param(20.0, marks=full)]
RSS_BOUND_MIB = 64.0
MAX_ENTRIES = 5_000
WRITER = "mallory"
PER_PACKET = 20  # 20 writes of about 60 bytes: an ordinary 1,200-byte packet


def now_ms() -> int:
    return int(time.time() * 1000)


def state_packet(entries: list[bytes]) -> bytes:
    return forge.compound([forge.user(forge.state_rumour(WRITER, e)) for e in entries])


def write_flood(target: tuple[str, int], seconds: float, entries_for: Callable[[int], list[bytes]]) -> Sent:
    """Packets of PER_PACKET writes built as they go (`entries_for(i)` gives
    packet i's), as fast as one thread can, for `seconds`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    started, n, nbytes = time.monotonic(), 0, 0
    for i in bounded(1_000_000, seconds):
        packet = state_packet(entries_for(i))
        try:
            sock.sendto(packet, target)
        except OSError:
            continue
        n += 1
        nbytes += len(packet)
    sock.close()
    return Sent(n * PER_PACKET, nbytes, time.monotonic() - started, "writes")


@pytest.mark.parametrize("seconds", DURATIONS)
def test_a_flood_of_writes_stops_at_the_map_s_bounds(fresh_peers, victim_of, seconds: float) -> None:
    victim = victim_of(fresh_peers, state_max_entries=MAX_ENTRIES)
    ts = forge.hlc(now_ms())

    def entries_for(i: int) -> list[bytes]:
        return [forge.state_entry(f"flood/{i}/{j}", WRITER, ts + j, b"v" * 16) for j in range(PER_PACKET)]

    outcome = run_attack(
        "state: flood of writes",
        victim,
        fresh_peers,
        lambda: write_flood(victim.target, seconds, entries_for),
    )
    outcome.notes.append(f"live entries {outcome.after['state_live']:,} (limit {MAX_ENTRIES:,})")
    assert outcome.after["state_live"] + outcome.after["state_tombstones"] <= MAX_ENTRIES
    assert victim.put("mine", 10) == "error StateError", "the full map takes a local write"
    outcome.check({"state_rejected": 1}, RSS_BOUND_MIB)


@pytest.mark.parametrize("seconds", DURATIONS)
def test_huge_values_are_refused(fresh_peers, victim_of, seconds: float) -> None:
    """Locally with a typed error; from a peer (over TCP, where a write too
    large for a packet travels) with a count."""
    victim = victim_of(fresh_peers)
    limit = 64 * 1024
    assert victim.put("at-the-limit", limit).startswith("ok "), "a 64 KiB value is allowed"
    for size in (limit + 1, 1 << 20, 16 << 20):
        assert victim.put("too-big", size) == "error StateError", f"a local write of {size} bytes"
    values = [(1 << 20) + 1, 16 << 20]
    streams = [
        forge.user_stream(
            forge.state_rumour(WRITER, forge.state_entry("huge", WRITER, forge.hlc(now_ms()), b"x" * n))
        )
        for n in values
    ]

    def strike() -> Sent:
        started, count, nbytes = time.monotonic(), 0, 0
        for i in bounded(1000, seconds):
            send_stream(victim.target, streams[i % len(streams)])
            count += 1
            nbytes += len(streams[i % len(streams)])
        return Sent(count, nbytes, time.monotonic() - started, "writes")

    outcome = run_attack("state: huge values (1 and 16 MiB)", victim, fresh_peers, strike)
    assert victim.get("huge") is None
    # Two reads of the stream buffer (up to 20 MiB) at a time, then margin.
    outcome.check({"state_rejected": outcome.sent.units}, 2 * 21 + RSS_BOUND_MIB)


def future_writes() -> list[bytes]:
    """Writes the victim must refuse: from beyond its 10 minutes of allowed
    clock skew, or pinning a tombstone for ever, or with a key or writer
    name over the limits."""
    now = now_ms()
    day, minute = 86_400_000, 60_000
    return [
        forge.state_entry("future/day", WRITER, forge.hlc(now + day), b"v"),
        forge.state_entry("future/11min", WRITER, forge.hlc(now + 11 * minute), b"v"),
        forge.state_entry("future/max", WRITER, (1 << 64) - 1, b"v"),
        forge.state_entry("future/pin", WRITER, forge.hlc(now), None, expires_ms=(1 << 64) - 1),
        forge.state_entry("k" * 257, WRITER, forge.hlc(now), b"v"),
        forge.state_entry("", WRITER, forge.hlc(now), b"v"),
        forge.state_entry("long-writer", "w" * 2000, forge.hlc(now), b"v"),
    ]


@pytest.mark.parametrize("seconds", DURATIONS)
def test_writes_far_in_the_future_are_refused(fresh_peers, victim_of, seconds: float) -> None:
    victim = victim_of(fresh_peers)
    packets = [state_packet([e]) for e in future_writes()]

    def strike() -> Sent:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        started, n = time.monotonic(), 0
        for i in bounded(10_000_000, seconds):
            sock.sendto(packets[i % len(packets)], victim.target)
            n += 1
        sock.close()
        return Sent(n, n * len(packets[0]), time.monotonic() - started, "writes")

    outcome = run_attack("state: writes from the future", victim, fresh_peers, strike)
    for key in ("future/day", "future/11min", "future/max", "future/pin", "long-writer"):
        assert victim.get(key) is None, f"{key} was taken"
    answer = victim.put("after", 1)
    assert answer.startswith("ok "), answer
    skew = (int(answer.split()[1]) >> 16) - now_ms()
    outcome.notes.append(f"a local write after it: {skew} ms from this host's clock")
    assert abs(skew) < 5_000, "the victim's clock was dragged"
    # The control: 5 minutes ahead is within the allowed skew, and taken.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ahead = forge.state_entry("future/5min", WRITER, forge.hlc(now_ms() + 300_000), b"v")
        sock.sendto(state_packet([ahead]), victim.target)
    wait_until(lambda: victim.get("future/5min") is not None, 5, "a write 5 minutes ahead is taken")
    outcome.check({"state_rejected": outcome.rose("packets_received") // 2}, RSS_BOUND_MIB)


@pytest.mark.parametrize("seconds", DURATIONS)
def test_put_delete_churn_on_a_few_keys_holds_no_more_than_them(
    fresh_peers, victim_of, seconds: float
) -> None:
    """Write and delete 100 keys, over and over, each write newer than the
    last: the map holds at most the 100 (live or tombstones)."""
    victim = victim_of(fresh_peers)
    start = forge.hlc(now_ms())

    def entries_for(i: int) -> list[bytes]:
        delete = i % 2 == 1
        return [
            forge.state_entry(
                f"churn/{(i * PER_PACKET + j) % 100}",
                WRITER,
                start + i * PER_PACKET + j,
                None if delete else b"v" * 32,
            )
            for j in range(PER_PACKET)
        ]

    outcome = run_attack(
        "state: put/delete churn, 100 keys",
        victim,
        fresh_peers,
        lambda: write_flood(victim.target, seconds, entries_for),
    )
    held = outcome.after["state_live"] + outcome.after["state_tombstones"]
    outcome.notes.append(f"entries held {held} ({outcome.after['state_tombstones']} tombstones)")
    assert 0 < held <= 100 + 2  # the two local writes of the other tests are not here: a fresh victim
    outcome.check({"state_rumour_bytes": 1}, RSS_BOUND_MIB)


@pytest.mark.parametrize("seconds", DURATIONS)
def test_put_delete_churn_on_new_keys_stops_at_the_map_s_bounds(
    fresh_peers, victim_of, seconds: float
) -> None:
    """Write then delete ever new keys: each leaves a tombstone, kept for
    state_tombstone_grace (an hour), so the map fills with tombstones up to
    state_max_entries and then refuses, remote writes with a count and
    local ones with a typed error, until the tombstones are collected."""
    victim = victim_of(fresh_peers, state_max_entries=MAX_ENTRIES)
    start = forge.hlc(now_ms())

    def entries_for(i: int) -> list[bytes]:
        half = PER_PACKET // 2
        key = i * half
        return [
            forge.state_entry(f"gone/{key + j}", WRITER, start + 2 * (key + j), b"v" * 16)
            for j in range(half)
        ] + [
            forge.state_entry(f"gone/{key + j}", WRITER, start + 2 * (key + j) + 1, None) for j in range(half)
        ]

    outcome = run_attack(
        "state: put/delete churn, new keys",
        victim,
        fresh_peers,
        lambda: write_flood(victim.target, seconds, entries_for),
    )
    outcome.notes.append(
        f"entries held {outcome.after['state_live']} live, {outcome.after['state_tombstones']:,} tombstones"
    )
    assert outcome.after["state_live"] + outcome.after["state_tombstones"] <= MAX_ENTRIES
    assert victim.put("mine", 10) == "error StateError"
    outcome.check({"state_rejected": 1}, RSS_BOUND_MIB)
