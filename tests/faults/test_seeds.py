"""Seeds that keep working (issue 16), on a real network stack: nodes
started before their seed wait for it, a seed restarted empty is taken
back, and a seed given by a host name is followed when the name moves.
Every node gets `seeds=...` (Config::seeds, no explicit join) and the
local() preset (push_pull_interval 15 s, so gossip to seeds runs every
15 s). Each test prints its figures. Skips with the reason where network
namespaces cannot be made.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import pytest

from netns import PORT, Network, Node, why_not

reason = why_not()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")

PRESET = "local"
SEED_NAME = "seed.rumour.test"  # .test is reserved: no real DNS answers it


def converged(nodes: Iterable[Node], names: set[str], limit: float, since: float) -> float:
    """Seconds from `since` until every node lists exactly `names` alive
    (fails after `limit` seconds from now)."""
    nodes = list(nodes)
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if all(set(n.members()) == names for n in nodes):
            return time.monotonic() - since
        time.sleep(0.1)
    raise AssertionError(f"not one cluster of {sorted(names)} in {limit} s: {[n.members() for n in nodes]}")


def joined_via(node: Node, limit: float) -> str:
    """The address in the node's `cluster-joined VIA` line (waits up to `limit`)."""
    return node.expect(lambda line: line.startswith("cluster-joined "), limit).split(" ", 1)[1]


def has_joined(node: Node) -> bool:
    return any(line.startswith("cluster-joined ") for line in node.drain())


def events(nodes: Iterable[Node], kind: str, spare: set[str]) -> list[str]:
    """Every `kind` line (failed, suspect) so far about a member not in `spare`."""
    return [
        f"{n.name}: {line}"
        for n in nodes
        for line in n.drain()
        if line.startswith(kind + " ") and line[len(kind) + 1 :] not in spare
    ]


def test_twelve_nodes_started_20_s_before_their_seed_form_one_cluster_once_it_starts() -> None:
    with Network(12) as net:
        seeds = f"seeds={net.addr(0)}"  # every node, the seed too, has the same list
        names = {f"h{h}" for h in range(12)}
        waiting = [net.start(h, seeds, PRESET) for h in range(1, 12)]
        time.sleep(20)
        for n in waiting:
            assert n.proc.poll() is None, f"{n.name} exited ({n.proc.returncode}) while its seed was down"
            assert n.members() == [n.name], f"{n.name} sees {n.members()} before its seed started"
            assert not has_joined(n), f"{n.name} printed cluster-joined before its seed started"
        started = time.monotonic()
        seed = net.start(0, seeds, PRESET)
        nodes = [seed, *waiting]
        took = converged(nodes, names, 60, started)
        vias = {n.name: joined_via(n, 5) for n in nodes}
        for n in waiting:
            assert vias[n.name] == net.addr(0), f"{n.name} joined via {vias[n.name]}, not the seed"
        assert vias["h0"] != net.addr(0), vias["h0"]
        print(
            f"11 nodes waiting 20 s for their seed (seeds={net.addr(0)}), {PRESET}():"
            f" all 12 list the 12 alive {took:.2f} s after the seed started;"
            f" every node printed cluster-joined (the seed via {vias['h0']})"
        )


@pytest.mark.parametrize("declared_failed", [False, True], ids=["at-once", "after-declared-failed"])
def test_a_seed_restarted_empty_is_one_cluster_with_the_others_again(declared_failed: bool) -> None:
    with Network(12) as net:
        seeds = f"seeds={net.addr(0)}"
        names = {f"h{h}" for h in range(12)}
        nodes = [net.start(h, seeds, PRESET) for h in range(12)]
        converged(nodes, names, 60, time.monotonic())
        old_seed, others = nodes[0], nodes[1:]
        _, before = others[0].member("h0")
        old_seed.kill()
        killed = time.monotonic()
        if declared_failed:
            # Down until every other node declared it failed: nobody probes it
            # any more. What still reaches it: gossip to the recently dead
            # (gossip_to_the_dead_time, 15 s in local()), which the lonely
            # seed answers by joining back, and, at each 15 s push-pull
            # tick, reconnect and gossip to seeds.
            for n in others:
                n.expect(lambda line: line == "failed h0", 60)
        down = time.monotonic() - killed
        started = time.monotonic()
        seed = net.restart(old_seed, seeds, PRESET)
        took = converged([seed, *others], names, 60, started)
        via = joined_via(seed, 5)
        time.sleep(5)  # a steady stretch for any late verdict
        converged([seed, *others], names, 5, time.monotonic())
        everyone = [old_seed, seed, *others]
        false = events(everyone, "failed", {"h0"})
        suspicions = len(events(everyone, "suspect", {"h0"}))
        state, after = others[0].member("h0")
        assert false == [], false
        assert state == "alive", state
        print(
            f"seed h0 of 12 killed, down {down:.1f} s"
            f" ({'until all 11 declared it failed' if declared_failed else 'restarted at once'}),"
            f" restarted empty, {PRESET}(): all 12 list the 12 alive {took:.2f} s after the restart"
            f" (it joined via {via}); false failures of the others 0, suspicions of them {suspicions};"
            f" h0's incarnation {after} (was {before})"
        )


def test_a_seed_name_is_followed_to_its_new_address() -> None:
    # h0 is A, h1 is B; h2 and h3 join A by the name; h4 starts while the
    # name still points at A, which is down; h5 starts after it moved to B.
    with Network(6) as net:
        net.set_name(SEED_NAME, 0)
        assert net.resolve(2, SEED_NAME) == [net.ip(0)], "the namespace's /etc/hosts names A"
        seeds = f"seeds={SEED_NAME}:{PORT}"
        a = net.start(0, "-", PRESET)
        first = [net.start(h, seeds, PRESET) for h in (2, 3)]
        took_a = converged([a, *first], {"h0", "h2", "h3"}, 30, time.monotonic())
        for n in first:
            assert joined_via(n, 5) == net.addr(0)
        a.stop()
        # A newcomer while the name points at a stopped node: it keeps trying.
        retrying = net.start(4, seeds, PRESET)
        b = net.start(1, "-", PRESET)  # a fresh node, alone, on B
        time.sleep(4)
        assert not has_joined(retrying), f"h4 joined while its seed was down: {retrying.seen}"
        assert retrying.members() == ["h4"] and b.members() == ["h1"]
        net.set_name(SEED_NAME, 1)
        moved = time.monotonic()
        for h in range(net.hosts):
            assert net.resolve(h, SEED_NAME) == [net.ip(1)], f"h{h}'s /etc/hosts was not rewritten in place"
        # Nothing but the name leads to B: it never heard of A's cluster.
        after_move = net.start(5, seeds, PRESET)
        assert joined_via(after_move, 10) == net.addr(1), "the newcomer joined B by the name"
        late = time.monotonic() - moved
        assert joined_via(retrying, 40) == net.addr(1), "the retrying node joined B by the name"
        caught_up = time.monotonic() - moved
        nodes = [b, retrying, after_move, *first]
        merged = converged(nodes, {"h1", "h2", "h3", "h4", "h5"}, 60, moved)
        print(
            f"seed by name ({SEED_NAME} in the namespaces' /etc/hosts), {PRESET}():"
            f" h2, h3 joined A (h0) in {took_a:.2f} s; A stopped, the name moved to B (h1, alone);"
            f" a node started after the move joined B within {late:.2f} s of it, one retrying since"
            f" before within {caught_up:.2f} s; A's old cluster and B's merged by gossip to the seed"
            f" {merged:.2f} s after the move"
        )
