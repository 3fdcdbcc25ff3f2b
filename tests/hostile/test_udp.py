"""Hostile packets from a host that is not a member: garbage and mutated
valid packets at full speed, compound messages with absurd counts, LZW
bombs, labels of bad lengths. Each runs for `seconds` (2 s in the short
set, 20 s in the `full` variant) and at most a fixed number of packets, from one
Python thread sending as fast as it can; each asserts the three verdicts
of harness.Outcome.check."""

from __future__ import annotations

import random

import pytest

import forge
from harness import Sent, run_attack, udp_flood

full = pytest.mark.full
DURATIONS = [2.0, pytest.param(20.0, marks=full)]
# The victim's peak RSS may rise this much during a packet attack. Measured:
# under 2 MiB; the bound leaves room for the decoded messages of one packet
# in flight, up to about 28 MiB for nested bombs of user messages.
PACKET_RSS_BOUND_MIB = 64.0
MAX_PACKETS = 10_000_000


def garbage(rnd: random.Random, count: int) -> list[bytes]:
    """Random bytes of random lengths, any first byte but USER's: `[8]`
    followed by anything is a valid memberlist user message."""
    first = [b for b in range(256) if b != forge.USER]
    return [bytes([rnd.choice(first)]) + rnd.randbytes(rnd.randint(0, 1399)) for _ in range(count)]


def templates(victim: str) -> list[bytes]:
    """Valid packets with no address in them (a mutated address could aim
    the victim's answer off this host), about members that do not exist
    (a mutated incarnation must not make a real member refute)."""
    msgs = [
        forge.ping(7, victim),
        forge.ping(8, "ghost-1"),
        forge.ack(9),
        forge.nack(10),
        forge.suspect("ghost-2", 3, "ghost-3"),
        forge.dead("ghost-4", 1, "ghost-5"),
        forge.user(b"hello, victim"),
    ]
    wrapped = [
        forge.compound(msgs),
        forge.compress(forge.compound(msgs)),
        forge.crc(forge.compound(msgs[:4])),
    ]
    return msgs + wrapped + [forge.crc(m) for m in msgs] + [forge.compress(m) for m in msgs]


def mutate(rnd: random.Random, packet: bytes) -> bytes:
    b = bytearray(packet)
    how = rnd.randrange(4)
    if how == 0:
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
    elif how == 1:
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
    elif how == 2:
        del b[rnd.randrange(1, len(b)) :]
    else:
        at = rnd.randrange(len(b))
        b[at:at] = rnd.randbytes(rnd.randint(1, 64))
    return bytes(b)


@pytest.mark.parametrize("seconds", DURATIONS)
def test_random_garbage_at_full_speed(peers, victim_of, seconds: float) -> None:
    victim = victim_of(peers)
    packets = garbage(random.Random(0xBAD), 2000)
    outcome = run_attack(
        "UDP garbage", victim, peers, lambda: udp_flood(victim.target, packets, MAX_PACKETS, seconds)
    )
    received = outcome.rose("packets_received")
    outcome.notes.append(f"{received:,} packets reached the victim ({received / outcome.sent.units:.0%})")
    outcome.check({"decode_errors": received // 2}, PACKET_RSS_BOUND_MIB)


@pytest.mark.parametrize("seconds", DURATIONS)
def test_mutated_valid_packets_at_full_speed(peers, victim_of, seconds: float) -> None:
    victim = victim_of(peers)
    rnd = random.Random(0x5EED)
    base = templates(victim.name)
    packets = [mutate(rnd, rnd.choice(base)) for _ in range(5000)]
    outcome = run_attack(
        "UDP mutated valid packets",
        victim,
        peers,
        lambda: udp_flood(victim.target, packets, MAX_PACKETS, seconds),
    )
    outcome.check({"decode_errors": outcome.rose("packets_received") // 10}, PACKET_RSS_BOUND_MIB)


def absurd_compounds(victim: str) -> list[bytes]:
    nested = forge.nack(1)
    for _ in range(12):
        nested = forge.compound([nested])
    return [
        # 255 parts declared 65,535 bytes each, none sent.
        forge.compound([], count=255, lengths=[0xFFFF] * 255),
        # 255 empty parts: 255 errors from one packet.
        forge.compound([b""] * 255),
        # A count larger than the lengths that follow.
        forge.compound([forge.nack(2)], count=255),
        # Twelve compounds deep (the victim follows four).
        nested,
        # 255 valid parts, every one a probe of another member.
        forge.compound([forge.ping(3, "ghost")] * 255),
        forge.compound([], count=0),
    ]


@pytest.mark.parametrize("seconds", DURATIONS)
def test_compound_messages_with_absurd_counts(peers, victim_of, seconds: float) -> None:
    victim = victim_of(peers)
    packets = absurd_compounds(victim.name)
    outcome = run_attack(
        "UDP compound, absurd counts",
        victim,
        peers,
        lambda: udp_flood(victim.target, packets, MAX_PACKETS, seconds),
    )
    outcome.check({"decode_errors": outcome.rose("packets_received")}, PACKET_RSS_BOUND_MIB)


def bad_labels(rnd: random.Random) -> list[bytes]:
    body = forge.ping(1, "anyone")
    return [
        forge.label(b"", body),  # a zero length
        bytes([forge.HAS_LABEL]),  # the header byte alone
        forge.label(b"abc", b"", length=255),  # 255 declared, 3 sent
        forge.label(b"x" * 200, body, length=201),  # one byte short
        forge.label(rnd.randbytes(255), body),  # the longest, not UTF-8
        forge.label("blue", body),  # well formed, but this victim has no label
        forge.label("blue", forge.label("blue", body)),  # twice
    ]


@pytest.mark.parametrize("seconds", DURATIONS)
def test_labels_of_bad_lengths(peers, victim_of, seconds: float) -> None:
    victim = victim_of(peers)
    packets = bad_labels(random.Random(0x1ABE1))
    outcome = run_attack(
        "UDP labels of bad lengths",
        victim,
        peers,
        lambda: udp_flood(victim.target, packets, MAX_PACKETS, seconds),
    )
    outcome.check({"decode_errors": outcome.rose("packets_received") // 2}, PACKET_RSS_BOUND_MIB)


def over_the_limit_bomb() -> bytes:
    """One compressed message that would expand to 16 MiB (64 KiB allowed)."""
    return forge.compressed_buf(forge.lzw_bomb(16 << 20, prefix=bytes([forge.USER])))


def packet_of_bombs(inner: int) -> tuple[bytes, int]:
    """The most decompression one datagram can ask for: a compound of
    compressed compounds of compressed messages, each just under the
    64 KiB limit (the victim follows four levels of nesting); `inner` is
    the first byte of the innermost message. Returns the packet and how
    many bytes it expands to."""
    bomb = forge.compressed_buf(forge.lzw_bomb(forge.MAX_PACKET_DECOMPRESSED, prefix=bytes([inner])))
    per_inner = (forge.MAX_PACKET_DECOMPRESSED - 2) // (len(bomb) + 2)
    middle = forge.compress(forge.compound([bomb] * per_inner))
    per_packet = min(255, (forge.MAX_DATAGRAM - 2) // (len(middle) + 2))
    return forge.compound([middle] * per_packet), per_packet * per_inner * forge.MAX_PACKET_DECOMPRESSED


@pytest.mark.parametrize("seconds", DURATIONS)
def test_an_lzw_bomb_past_the_limit_is_refused(peers, victim_of, seconds: float) -> None:
    victim = victim_of(peers)
    bomb = over_the_limit_bomb()
    outcome = run_attack(
        "UDP LZW bomb (16 MiB claimed)",
        victim,
        peers,
        lambda: udp_flood(victim.target, [bomb], MAX_PACKETS, seconds),
    )
    outcome.notes.append(f"{len(bomb)} bytes a packet")
    outcome.check({"decode_errors": outcome.rose("packets_received") // 2}, PACKET_RSS_BOUND_MIB)
    assert outcome.rose("messages") == 0, "a bomb past the limit reached the application"


@pytest.mark.parametrize("seconds", DURATIONS)
def test_nested_lzw_bombs_within_the_limit(peers, victim_of, seconds: float) -> None:
    """Every layer stays under its 64 KiB limit, so the victim decompresses
    it all: about 28 MiB of nack messages per 59 KB packet, each of which
    fails to decode (a nack needs a map). The limit is per message, not per
    packet, so this costs CPU in proportion, not memory."""
    victim = victim_of(peers)
    packet, expands = packet_of_bombs(forge.NACK)

    def strike() -> Sent:
        sent = udp_flood(victim.target, [packet], MAX_PACKETS, seconds)
        return sent

    outcome = run_attack("UDP nested LZW bombs", victim, peers, strike)
    processed = outcome.rose("decode_errors") // max(1, expands // forge.MAX_PACKET_DECOMPRESSED)
    outcome.notes.append(
        f"{len(packet):,} bytes a packet, expanding to {expands / 2**20:.1f} MiB;"
        f" about {processed} packets decompressed ({processed * expands / 2**30:.1f} GiB)"
    )
    outcome.check({"decode_errors": expands // forge.MAX_PACKET_DECOMPRESSED}, PACKET_RSS_BOUND_MIB)
