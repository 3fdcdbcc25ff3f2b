"""What encryption buys. Without keys, any host that can reach a member's
port can forge membership news, exactly as with memberlist: a `dead` or
`suspect` about a live member, sent by a host outside the cluster, is
believed and spread, and the member has to refute it. With keys (and
`gossip_verify_incoming`, the default), nothing unencrypted, nothing
encrypted with another key and nothing under another label is accepted;
each such packet is counted in `decode_errors`. Each negative case has its
positive control: the same forgery under the cluster's key and label is
acted on, so what is refused is refused for its key or label, not because
the forgery was malformed."""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

import forge
from conftest import CLUSTER_KEY, CLUSTER_LABEL
from harness import Peers, Victim, run_attack, send_stream, udp_flood, wait_until

full = pytest.mark.full
OTHER_KEY = bytes(range(100, 116))


def send(victim: Victim, packet: bytes, times: int = 1) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(times):
        sock.sendto(packet, victim.target)
    sock.close()


def refutes(peers: Peers, index: int) -> int:
    return peers.nodes[index].stats()["refutes"]


def test_without_keys_any_host_can_forge_suspect_dead_and_leave(peers, victim_of) -> None:
    """As in memberlist, the victim believes a non-member's news about a
    live peer and spreads it; the peer refutes. A `dead` from an accuser
    it does not know is taken as a suspicion (rumour's Lifeguard rule for
    likely stale verdicts; memberlist fails the member at once); a `dead`
    whose From is the member itself is its leave."""
    victim = victim_of(peers)
    target = peers.nodes[1]
    news = {
        "suspect": lambda inc: forge.suspect(target.name, inc, "mallory"),
        "dead": lambda inc: forge.dead(target.name, inc, "mallory"),
        "leave": lambda inc: forge.dead(target.name, inc, target.name),
    }
    seen = {}
    for what, make in news.items():
        state, incarnation = victim.member(target.name)
        assert state == "alive"
        before = refutes(peers, 1)
        victim.proc.drain()
        victim.proc.seen.clear()
        send(victim, make(incarnation))
        line = victim.proc.expect(
            lambda line: line.endswith(f" {target.name}") and not line.startswith("member"), 5
        )
        seen[what] = line.split()[0]
        wait_until(lambda b=before: refutes(peers, 1) > b, 5, f"{target.name} refutes the forged {what}")
        wait_until(lambda: victim.member(target.name)[0] == "alive", 5, f"{target.name} is alive again")
    print(f"\nforged by a non-member, as the victim took them: {seen}; {target.name} refuted each")
    assert seen == {"suspect": "suspect", "dead": "suspect", "leave": "left"}


def forgeries(victim: Victim, target: str, incarnation: int) -> dict[str, bytes]:
    """A `dead` about `target` wrapped every way that must be refused by a
    member of a cluster with CLUSTER_KEY and CLUSTER_LABEL."""
    news = forge.dead(target, incarnation, "mallory")
    label = CLUSTER_LABEL.encode()
    return {
        "plaintext, no label": news,
        "plaintext, the cluster's label": forge.label(label, news),
        "another key, the cluster's label": forge.label(label, forge.encrypt(OTHER_KEY, news, label)),
        "the cluster's key, label 'red'": forge.label("red", forge.encrypt(CLUSTER_KEY, news, b"red")),
        "the cluster's key, no label": forge.encrypt(CLUSTER_KEY, news, b""),
        "the cluster's key and label, not bound to the label": forge.label(
            label, forge.encrypt(CLUSTER_KEY, news, b"")
        ),
        "version 1, random bytes": forge.label(label, b"\x01" + os.urandom(12 + 16 + len(news))),
        "version 0, random bytes": forge.label(label, b"\x00" + os.urandom(12 + 32)),
        "shorter than a nonce and tag": forge.label(label, b"\x01" + os.urandom(20)),
    }


def test_with_keys_nothing_unencrypted_or_under_another_key_or_label_is_accepted(
    keyed_peers, victim_of
) -> None:
    victim = victim_of(keyed_peers)
    target = keyed_peers.nodes[1]
    state, incarnation = victim.member(target.name)
    assert state == "alive"
    cases = forgeries(victim, target.name, incarnation)
    before, refuted = victim.stats(), refutes(keyed_peers, 1)
    started = time.monotonic()
    for packet in cases.values():
        send(victim, packet, times=5)
    time.sleep(1.5)
    after = victim.stats()
    assert victim.member(target.name) == ("alive", incarnation), "a forgery was believed"
    assert refutes(keyed_peers, 1) == refuted, f"{target.name} had to refute"
    assert keyed_peers.verdicts_on(target.name, started) == []
    assert after["decode_errors"] - before["decode_errors"] >= 5 * len(cases), "not every forgery was counted"
    # The control: under the cluster's key and label, the same news is believed.
    send(
        victim,
        forge.sealed_packet(forge.dead(target.name, incarnation, "mallory"), CLUSTER_KEY, CLUSTER_LABEL),
    )
    wait_until(lambda: refutes(keyed_peers, 1) > refuted, 5, "the sealed forgery is acted on")
    counted = after["decode_errors"] - before["decode_errors"]
    print(
        f"\n{len(cases)} forgeries x 5 refused, decode_errors +{counted};"
        " the same dead under the cluster's key and label was believed and refuted"
    )


def encrypted_stream(key: bytes, label: str, body: bytes) -> bytes:
    """`[label][10][len u32][version][nonce][ciphertext + tag]`, the header
    and label bound as additional data."""
    length = 1 + 12 + len(body) + 16
    header = bytes([forge.ENCRYPT]) + struct.pack(">I", length)
    sealed = header + forge.encrypt(key, body, header + label.encode())
    return forge.label(label, sealed) if label else sealed


def test_with_keys_no_stream_without_the_key_and_label_is_read(keyed_peers, victim_of) -> None:
    """A push-pull announcing a member `intruder`: plain, under another key,
    under another label. None is read, each is counted; under the cluster's
    key and label the same stream is read (`intruder` appears)."""
    victim = victim_of(keyed_peers)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # a port nobody answers on, for the intruder
    port = closed.getsockname()[1]
    closed.close()
    body = forge.push_pull_header(1, 0) + forge.push_node_state("intruder", "127.0.0.1", port, forge.VSN)
    streams = {
        "plaintext, the cluster's label": forge.label(CLUSTER_LABEL, body),
        "another key": encrypted_stream(OTHER_KEY, CLUSTER_LABEL, body),
        "label 'red'": encrypted_stream(CLUSTER_KEY, "red", body),
        "no label": encrypted_stream(CLUSTER_KEY, "", body),
    }
    before = victim.stats()
    for what, stream in streams.items():
        send_stream(victim.target, stream)
        assert victim.member("intruder") is None, f"{what}: read"
    after = victim.stats()
    assert after["streams_rejected"] - before["streams_rejected"] == len(streams)
    assert after["decode_errors"] - before["decode_errors"] == len(streams)
    send_stream(victim.target, encrypted_stream(CLUSTER_KEY, CLUSTER_LABEL, body))
    wait_until(lambda: victim.member("intruder") is not None, 5, "the sealed stream is read")


@pytest.mark.parametrize("seconds", [2.0, pytest.param(20.0, marks=full)])
def test_a_flood_of_packets_under_another_key(keyed_peers, victim_of, seconds: float) -> None:
    """Wrong-key packets are real AES-GCM (aes_gcm.py, 200 made in advance),
    mixed with unencrypted ones and version bytes with random tails."""
    victim = victim_of(keyed_peers)
    label = CLUSTER_LABEL.encode()
    packets = []
    for i in range(200):
        news = forge.compound([forge.dead(f"ghost-{i}", 1, "mallory"), forge.ping(i, victim.name)])
        packets += [
            forge.label(label, forge.encrypt(OTHER_KEY, news, label)),
            forge.label(label, news),
            forge.label(label, b"\x01" + os.urandom(len(news) + 28)),
        ]
    pings = [
        forge.sealed_packet(forge.ping(seq, victim.name), CLUSTER_KEY, CLUSTER_LABEL) for seq in range(1, 11)
    ]
    outcome = run_attack(
        "UDP packets under another key",
        victim,
        keyed_peers,
        lambda: udp_flood(victim.target, packets, 10_000_000, seconds),
        pings=pings,
    )
    assert outcome.prober.delays, "the prober's sealed pings were answered"
    outcome.check({"decode_errors": outcome.rose("packets_received") // 2}, 64.0)
