"""Faults on a real network stack: hosts in network namespaces, rumour nodes
as processes, loss from `tc netem`, partitions by splitting the switch,
pauses with SIGSTOP. The short set `make test` runs; each test prints its
figures. Skips with the reason where namespaces cannot be made, and the
loss test where the kernel has no netem.
"""

from __future__ import annotations

import time

import pytest

from netns import Network, why_no_netem, why_not

reason = why_not()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")
no_netem = why_no_netem() if reason is None else reason


def converge(nodes, count: int, limit: float) -> float:
    """Seconds until every node lists `count` alive members (fails after `limit`)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if all(len(n.members()) == count for n in nodes):
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not converged in {limit} s: {[n.members() for n in nodes]}")


def false_failures(nodes, crashed: set[str]) -> list[str]:
    return [
        f"{n.name}: {line}"
        for n in nodes
        for line in n.drain()
        if line.startswith("failed ") and line[7:] not in crashed
    ]


@pytest.mark.skipif(no_netem is not None, reason=no_netem or "")
def test_ten_percent_loss_converges_detects_a_crash_and_fails_no_one() -> None:
    with Network(6) as net:
        net.netem("loss", "10%")
        seed = net.start(0)
        nodes = [seed] + [net.start(h, seed.addr) for h in range(1, 6)]
        took = converge(nodes, 6, 60)
        time.sleep(20)  # a steady stretch under loss
        assert false_failures(nodes, set()) == []
        crashed_at = time.monotonic()
        nodes[5].kill()
        detections = []
        for n in nodes[:5]:
            n.expect(lambda line: line == "failed h5", 60)
            detections.append(time.monotonic() - crashed_at)
        assert false_failures(nodes[:5], {"h5"}) == []
        print(f"10% loss, 6 hosts, lan(): converged in {took:.2f} s;", end=" ")
        print(f"crash detected by all 5 in {max(detections):.2f} s")


def test_a_partition_both_sides_declared_failed_heals_by_itself() -> None:
    with Network(6) as net:
        seed = net.start(0, preset="local")
        nodes = [seed] + [net.start(h, seed.addr, preset="local") for h in range(1, 6)]
        converge(nodes, 6, 30)
        net.partition([3, 4, 5])
        # Until each side has declared the other failed and forgotten it.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (
            nodes[0].member("h3")[0] == "none" and nodes[3].member("h0")[0] == "none"
        ):
            time.sleep(1)
        assert nodes[0].member("h3")[0] == "none", "h0 forgot h3"
        assert sorted(nodes[0].members()) == ["h0", "h1", "h2"]
        net.heal()
        took = converge(nodes, 6, 120)
        print(f"partition 3/3, each side failed and forgot the other: whole {took:.2f} s after the heal")


def test_a_paused_node_is_declared_failed_then_refutes_and_rejoins() -> None:
    with Network(4) as net:
        seed = net.start(0)
        nodes = [seed] + [net.start(h, seed.addr) for h in range(1, 4)]
        converge(nodes, 4, 30)
        _, before = nodes[0].member("h3")
        nodes[3].pause()
        paused_at = time.monotonic()
        nodes[0].expect(lambda line: line == "failed h3", 60)
        failed_after = time.monotonic() - paused_at
        time.sleep(5)
        nodes[3].resume()
        took = converge(nodes, 4, 60)
        state, after = nodes[0].member("h3")
        assert state == "alive" and after > before, (state, before, after)
        print(f"SIGSTOP h3: declared failed after {failed_after:.1f} s;", end=" ")
        print(f"after SIGCONT alive again in {took:.2f} s, incarnation {after} (was {before})")
