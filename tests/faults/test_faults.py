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
        nodes = net.start_all()
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
        nodes = net.start_all(preset="local")
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
        nodes = net.start_all()
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


def test_restarting_a_third_of_the_nodes_at_once_leaves_no_ghosts() -> None:
    with Network(9) as net:
        nodes = net.start_all()
        seed = nodes[0]
        converge(nodes, 9, 30)
        before = {h: nodes[0].member(f"h{h}")[1] for h in (6, 7, 8)}
        for h in (6, 7, 8):
            nodes[h].kill()
        restarted_at = time.monotonic()
        for h in (6, 7, 8):
            nodes[h] = net.start(h, seed.addr)
        took = converge(nodes, 9, 60)
        for n in nodes:
            assert sorted(n.members()) == [f"h{h}" for h in range(9)], f"{n.name}: {n.members()}"
        for h in (6, 7, 8):
            state, _ = nodes[0].member(f"h{h}")
            assert state == "alive", (h, state)
        print(
            f"3 of 9 restarted at once under their names: every node lists the 9 again in {took:.2f} s",
            end=" ",
        )
        print(f"({time.monotonic() - restarted_at:.2f} s after the kill); incarnations before {before}")


def test_a_one_way_partition_does_not_split_the_cluster_for_good() -> None:
    with Network(5) as net:
        nodes = net.start_all()
        converge(nodes, 5, 30)
        # h4 can no longer send to h0 (a blackhole route in h4's namespace);
        # h0 can still send to h4. Others relay.
        net.blackhole(4, 0)
        time.sleep(20)
        # Indirect probes through the others reach h4, so nobody fails it.
        assert false_failures(nodes, set()) == []
        net.clear_blackholes()
        took = converge(nodes, 5, 60)
        print(f"one-way cut h4 -> h0 for 20 s: no false failure; all see all {took:.2f} s after the cut")


def test_writes_on_both_sides_of_a_partition_converge_without_resurrection() -> None:
    with Network(6) as net:
        nodes = net.start_all(preset="local")
        converge(nodes, 6, 30)
        nodes[0].send("put doomed x")
        nodes[0].send("put shared before")
        end = time.monotonic() + 10
        while time.monotonic() < end and nodes[5].ask("get doomed", "get doomed") != "get doomed x":
            time.sleep(0.2)
        net.partition([3, 4, 5])
        time.sleep(1)
        for command in ("del doomed", "put left-side 1", "put shared left"):
            nodes[1].send(command)
        time.sleep(0.5)
        nodes[4].send("put right-side 1")
        nodes[4].send("put shared right")
        time.sleep(30)  # each side declares the other failed
        net.heal()
        healed = time.monotonic()
        converge(nodes, 6, 120)
        end = time.monotonic() + 60
        while time.monotonic() < end and len({n.ask("root", "root ") for n in nodes}) != 1:
            time.sleep(0.5)
        took = time.monotonic() - healed
        assert len({n.ask("root", "root ") for n in nodes}) == 1, "every replica agrees"
        for n in nodes:
            assert n.ask("get doomed", "get doomed") == "get doomed none", (
                f"{n.name} resurrected a deleted key"
            )
            assert n.ask("get left-side", "get left-side") == "get left-side 1"
            assert n.ask("get right-side", "get right-side") == "get right-side 1"
            assert n.ask("get shared", "get shared") == "get shared right", "the later write wins"
        print(f"writes on both sides of a 3/3 partition: every replica agrees {took:.2f} s after the heal")
