"""TCP admission under a flood of idle connections from 50 hosts (issue 18),
each a network namespace of its own on the harness's bridge: the case
core/tests/admission_loopback.rs covers with 50 loopback addresses, here
with 50 real network stacks. A victim node (the Python binding, in its own
namespace and process) and a member; flood.py keeps 40 idle connections
open to the victim from each of the 50 hosts, 2,000 in all, opening
another whenever the victim closes one; meanwhile a newcomer's join and the
member's push-pull (a join again is one) must each take under 1 s. Then the
flood stops reopening, and the victim closes what it still holds as
silent. Every flood connection must be in the victim's counters with its
reason (evicted, silent, refused), and its memory must stay bounded.
Prints one line of figures, about 6 s in all. Skips with the reason where
network namespaces cannot be made or the binding is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time

import pytest

from netns import Network, why_no_namespaces

HERE = os.path.dirname(os.path.abspath(__file__))
PYNODE = os.path.join(HERE, "pynode.py")
FLOOD = os.path.join(HERE, "flood.py")

SOURCES = 50
PER_SOURCE = 40
HELD = SOURCES * PER_SOURCE
# Connections the flood opens at most (a few seconds of churn; every source
# stays far from running out of ephemeral ports).
MAX_OPENED = 100_000
# How long the flood lasts at most; the test needs a few seconds of it.
FLOOD_S = 20.0
# The victim's growth in resident memory allowed under the flood: it holds at
# most tcp_max_incoming (256) connections, each a task, a socket and a read
# buffer.
RSS_GROWTH_KIB = 32 * 1024
VICTIM, MEMBER, NEWCOMER = 0, 1, 2  # host numbers; the flood's hosts follow

reason = why_no_namespaces()
if reason is None and importlib.util.find_spec("rumour") is None:
    reason = "needs the Python binding in this interpreter (sh bindings-python/setup-venv.sh)"
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")

# The victim's admission settings: lan()'s, spelled out.
VICTIM_CONFIG = {
    "tcp_max_incoming": 256,
    "tcp_max_incoming_per_source": 32,
    "tcp_reserved_for_members": 64,
}


def start_node(net: Network, host: int, name: str, config: dict[str, object] | None = None):
    argv = [sys.executable, PYNODE, name, net.addr(host), json.dumps(config or {})]
    return net.spawn(host, name, argv)


def join(node, addr: str, when: str) -> float:
    """Milliseconds `node`'s join through `addr` took; fails if it failed."""
    words = node.ask(f"join {addr}", "join ", limit=10).split(" ", 3)
    assert words[1] == "ok", f"{node.name}'s join {when} failed after {words[2]} ms: {words[3:]}"
    return float(words[2])


def stats(node) -> dict[str, int]:
    return json.loads(node.ask("stats", "stats ").split(" ", 1)[1])


def rss_kib(node) -> int:
    return int(node.ask("rss", "rss ").split()[1])


def flood_stats(flood) -> tuple[int, int, int, int, int, int]:
    """The flood's connections established, connecting and closing now;
    opened, closed by the victim and failed in all (flood.py)."""
    words = flood.ask("stats", "stats ").split()[1:]
    established, connecting, closing, opened, closed, failed = (int(w) for w in words)
    return established, connecting, closing, opened, closed, failed


def members(node) -> list[str]:
    answer = node.ask("members", "members ").split(" ", 1)
    return answer[1].split(",") if len(answer) > 1 and answer[1] else []


def test_a_join_and_a_push_pull_get_through_idle_connections_from_50_namespaces() -> None:
    started = time.monotonic()
    with Network(3 + SOURCES) as net:
        made_s = time.monotonic() - started
        victim = start_node(net, VICTIM, "victim", VICTIM_CONFIG)
        member = start_node(net, MEMBER, "member")
        newcomer = start_node(net, NEWCOMER, "newcomer")
        join(member, victim.addr, "before the flood")
        rss_before = rss_kib(victim)
        before = stats(victim)

        sources = [net.ns(h) for h in range(3, 3 + SOURCES)]
        argv = [sys.executable, FLOOD, victim.addr, str(PER_SOURCE), str(MAX_OPENED), str(FLOOD_S), *sources]
        flood = net.spawn(3, "flood", argv)
        flood_at = time.monotonic()
        rss_peak = rss_before
        # Every one of the 2,000 connected at least once before the joins
        # (bounded: 200 looks, 10 s).
        for _ in range(200):
            _, _, _, opened, _, _ = flood_stats(flood)
            rss_peak = max(rss_peak, rss_kib(victim))
            if opened >= HELD:
                break
            time.sleep(0.05)
        assert opened >= HELD, f"the flood connected only {opened} of {HELD}"

        at_join = flood_stats(flood)
        join_ms = join(newcomer, victim.addr, "under the flood")
        # The newcomer learnt the member from the victim's push-pull answer.
        newcomer_saw = members(newcomer)
        push_pull_ms = join(member, victim.addr, "under the flood (a push-pull)")
        after_joins = flood_stats(flood)
        opened_after = after_joins[3]
        rate = opened_after / (time.monotonic() - flood_at)
        rss_peak = max(rss_peak, rss_kib(victim))

        # The flood stops reopening and only holds what is open: the victim
        # closes what it held once silent past tcp_first_byte_timeout (1 s),
        # until the flood has nothing open (5 s at most).
        flood.ask("hold", "hold")
        held_at = time.monotonic()
        for _ in range(50):
            time.sleep(0.1)
            rss_peak = max(rss_peak, rss_kib(victim))
            left = sum(flood_stats(flood)[:3])
            if left == 0:
                break
        emptied_s = time.monotonic() - held_at
        _, _, _, opened, closed, failed = flood_stats(flood)
        flood.send("quit")
        after = stats(victim)

        evicted, silent, refused, accepted = (
            after[f"streams_{what}"] - before[f"streams_{what}"]
            for what in ("evicted", "silent", "refused", "accepted")
        )
        print(
            f"{SOURCES} namespaces x {PER_SOURCE} idle connections ({HELD}) to the victim,"
            f" at the newcomer's join {at_join[0]} established, {at_join[1]} connecting and {at_join[2]}"
            " just closed by the victim, to be reopened"
            f" ({opened_after - at_join[3]} opened during the joins, {rate:,.0f} a second):"
            f" newcomer's join {join_ms:.0f} ms,"
            f" member's push-pull {push_pull_ms:.0f} ms; then the flood held still and the victim had closed"
            f" all it held {emptied_s:.1f} s later; {opened} opened in all, {closed} closed by the victim,"
            f" {failed} failed; victim: {evicted} evicted, {silent} silent, {refused} refused,"
            f" {accepted} accepted;"
            f" victim RSS {rss_before / 1024:.1f} MiB before, peak {rss_peak / 1024:.1f} MiB;"
            f" {len(sources) + 4} namespaces made in {made_s:.1f} s"
        )
        assert join_ms < 1000, f"the newcomer's join took {join_ms:.0f} ms"
        assert push_pull_ms < 1000, f"the member's push-pull took {push_pull_ms:.0f} ms"
        assert {"victim", "member", "newcomer"} <= set(newcomer_saw), newcomer_saw
        # The flood was on throughout: all 2,000 open or reopening around
        # the joins, and still opening after them (the victim kept closing
        # and the flood kept reopening).
        assert sum(at_join[:3]) == HELD and sum(after_joins[:3]) == HELD, (at_join, after_joins)
        assert opened_after > at_join[3], "the flood had stopped before the joins"
        # What was turned away, and why: every flood connection is counted,
        # evicted while the flood churned, closed as silent (what the victim
        # held when it stopped); none refused, since none was busy.
        assert left == 0, f"{left} flood connections still open"
        assert evicted + silent + refused == opened == closed, (opened, closed, after)
        assert evicted >= HELD - VICTIM_CONFIG["tcp_max_incoming"] and silent > 0, after
        assert accepted >= 2, after  # the two joins' push-pulls
        assert rss_peak - rss_before < RSS_GROWTH_KIB, f"RSS grew from {rss_before} to {rss_peak} KiB"
