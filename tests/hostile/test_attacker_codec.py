"""The attacker's encoder is right, so that what the victim refuses is
refused for the reason the test names, not because the forgery was
broken: byte-for-byte against Go memberlist's captured packets, and the
victim accepting each well-formed forgery (the positive controls)."""

from __future__ import annotations

import json
import os
import socket

import pytest

import forge
from harness import wait_until

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "core", "tests", "golden")


def golden(file: str) -> tuple[dict, bytes]:
    with open(os.path.join(GOLDEN, "vectors.json")) as f:
        entry = next(v for v in json.load(f) if v["file"] == file)
    with open(os.path.join(GOLDEN, "vectors", file), "rb") as f:
        return entry, f.read()


def test_messages_are_encoded_as_go_memberlist_encodes_them() -> None:
    entry, _ = golden("suspect.bin")
    fields = entry["messages"][0]["fields"]
    plain = bytes.fromhex(entry["plain_hex"])
    assert forge.suspect(fields["Node"], fields["Incarnation"], fields["From"]) == plain
    entry, _ = golden("nack.bin")
    assert forge.nack(entry["messages"][0]["fields"]["SeqNo"]) == bytes.fromhex(entry["plain_hex"])
    entry, wire = golden("dead.bin")
    assert forge.crc(bytes.fromhex(entry["plain_hex"])) == wire


@pytest.mark.parametrize("file", ["enc16_packet.bin", "enc32_packet_ping.bin"])
def test_aes_gcm_reproduces_go_s_encrypted_packets(file: str) -> None:
    entry, wire = golden(file)
    details = entry["layer_details"][0]
    key = bytes.fromhex(entry["key_hex"])
    sealed = forge.encrypt(
        key,
        bytes.fromhex(entry["plain_hex"]),
        bytes.fromhex(details["aad_hex"]),
        bytes.fromhex(details["nonce_hex"]),
    )
    assert sealed == wire


def test_lzw_reproduces_go_s_compressed_packet() -> None:
    entry, wire = golden("compressed_packet.bin")
    # hasCrc, then the compress message around the compound.
    assert forge.crc(forge.compress(bytes.fromhex(entry["plain_hex"]))) == wire


def test_the_victim_answers_forged_pings_in_every_wrapping(peers, victim_of) -> None:
    victim = victim_of(peers)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2.0)
    wrappings = {
        "plain": lambda p: p,
        "crc": forge.crc,
        "compressed": forge.compress,
        "compound": lambda p: forge.compound([forge.nack(9), p]),
        "crc+compressed compound": lambda p: forge.crc(forge.compress(forge.compound([p, p]))),
    }
    for seq, (name, wrap) in enumerate(wrappings.items(), start=100):
        sock.sendto(wrap(forge.ping(seq, victim.name)), victim.target)
        answer = forge.packet_body(sock.recv(65536))
        assert forge.ack(seq) in answer, f"{name}: no ack for seq {seq} in {answer!r}"
    sock.close()


def test_an_lzw_bomb_expands_to_exactly_what_it_claims(peers, victim_of) -> None:
    """A bomb just under the 64 KiB limit arrives whole as a user message,
    so the bombs in the attacks really expand as far as they say."""
    victim = victim_of(peers)
    sizes = [1000, 40_000, forge.MAX_PACKET_DECOMPRESSED]
    bombs = [forge.lzw_bomb(size, prefix=bytes([forge.USER])) for size in sizes]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for bomb in bombs:
        sock.sendto(forge.compressed_buf(bomb), victim.target)
    sock.close()
    wait_until(lambda: victim.stats()["messages"] == len(sizes), 5, "the bombs arrive as messages")
    stats = victim.stats()
    assert stats["decode_errors"] == 0
    assert (
        forge.MAX_PACKET_DECOMPRESSED - 3839 < stats["largest_message"] + 1 <= forge.MAX_PACKET_DECOMPRESSED
    )
    print(f"\nbombs of {[len(b) for b in bombs]} bytes delivered {stats['message_bytes']:,} bytes")
