"""Faults on a real network stack: hosts in network namespaces, rumour nodes
as processes, loss, delay and duplication from shaper.py, partitions by
splitting the switch, pauses with SIGSTOP, CPU starvation in bursts and
under a cgroup CPU quota. `make test` runs the short set; `make faults` adds the scenarios
marked `full`. Each test prints its figures. Skips with the reason where
namespaces, NFQUEUE or the cgroup cpu controller are missing. The last
test checks that what a run killed with SIGKILL leaves is removed by the
next run.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid

import pytest

from netns import (
    NETNS_ETC,
    NETNS_RUN,
    REGISTRY,
    Network,
    cpu_cgroups,
    has_exited,
    leftovers_lock,
    namespace_identity,
    processes_by_namespace,
    why_no_shaping,
    why_no_throttling,
    why_not,
)

reason = why_not()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")
no_shaping = why_no_shaping() if reason is None else reason
needs_shaping = pytest.mark.skipif(no_shaping is not None, reason=no_shaping or "")
no_throttling = why_no_throttling() if reason is None else reason
needs_throttling = pytest.mark.skipif(no_throttling is not None, reason=no_throttling or "")
full = pytest.mark.full


def converge(nodes, count: int, limit: float) -> float:
    """Seconds until every node lists `count` alive members (fails after `limit`)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if all(len(n.members()) == count for n in nodes):
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not converged in {limit} s: {[n.members() for n in nodes]}")


def events(nodes, kind: str, spare: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Every `kind` line (failed, suspect) so far about a member not in `spare`."""
    return [
        f"{n.name}: {line}"
        for n in nodes
        for line in n.drain()
        if line.startswith(kind + " ") and line[len(kind) + 1 :] not in spare
    ]


def false_failures(nodes, crashed: set[str]) -> list[str]:
    return events(nodes, "failed", crashed)


def crash_detected_by_all(nodes, victim: int, limit: float) -> float:
    """Kills `nodes[victim]`; seconds until every other node marked it failed."""
    name = nodes[victim].name
    nodes[victim].kill()
    crashed_at = time.monotonic()
    for n in nodes:
        if n is not nodes[victim]:
            n.expect(lambda line: line == f"failed {name}", limit)
    return time.monotonic() - crashed_at


@needs_shaping
@pytest.mark.parametrize("loss", [0.10, pytest.param(0.20, marks=full), pytest.param(0.30, marks=full)])
def test_under_loss_the_cluster_converges_and_detects_a_crash(loss: float) -> None:
    with Network(6) as net:
        net.shape(loss=loss)
        nodes = net.start_all()
        took = converge(nodes, 6, 120)
        time.sleep(20)  # a steady stretch under loss
        steady = false_failures(nodes, set())
        detected = crash_detected_by_all(nodes, 5, 120)
        after = false_failures(nodes[:5], {"h5"})
        seen, dropped, _, _ = net.shaped()
        assert seen > 1000 and abs(dropped / seen - loss) < 0.03, (seen, dropped)
        if loss <= 0.10:
            # Lifeguard keeps a lossy but working network free of false failures.
            assert steady == [] and after == [], steady + after
        suspicions = len(events(nodes, "suspect", {"h5"}))
        print(
            f"{loss:.0%} loss on every link (measured {dropped / seen:.1%} of {seen} packets),"
            " 6 hosts, lan():"
            f" converged in {took:.2f} s; crash detected by all 5 in {detected:.2f} s;"
            f" false failures {len(steady) + len(after)}, false suspicions {suspicions}"
        )


@needs_shaping
@pytest.mark.parametrize(
    "preset,delay_ms,jitter_ms,duplicate",
    [("lan", 50, 20, 0.01), pytest.param("wan", 300, 0, 0.0, marks=full)],
)
def test_a_slow_network_fails_no_one(preset: str, delay_ms: int, jitter_ms: int, duplicate: float) -> None:
    with Network(6) as net:
        net.shape(delay_ms=delay_ms, jitter_ms=jitter_ms, duplicate=duplicate)
        nodes = net.start_all(preset=preset)
        took = converge(nodes, 6, 120)
        time.sleep(20)
        steady = false_failures(nodes, set())
        detected = crash_detected_by_all(nodes, 5, 240)
        after = false_failures(nodes[:5], {"h5"})
        seen, _, duplicated, mean_delay = net.shaped()
        assert seen > 500 and duplicated >= seen * duplicate / 2, (seen, duplicated)
        assert abs(mean_delay - delay_ms) < 5, f"mean delay given {mean_delay:.1f} ms"
        assert steady == [] and after == [], steady + after
        suspicions = len(events(nodes, "suspect", {"h5"}))
        print(
            f"{delay_ms} ms +- {jitter_ms} ms on every link (mean given {mean_delay:.1f} ms),"
            f" {duplicate:.0%} duplicated, 6 hosts, {preset}():"
            f" converged in {took:.2f} s; crash detected by all 5 in {detected:.2f} s;"
            f" false failures 0, false suspicions {suspicions}"
        )


@pytest.mark.parametrize("preset", ["lan", pytest.param("lan-swim", marks=full)])
def test_a_cpu_starved_node_is_not_declared_failed(preset: str) -> None:
    with Network(6) as net:
        nodes = net.start_all(preset=preset)
        converge(nodes, 6, 30)
        # h5 runs 150 ms out of every 3 s: it stalls for 2.85 s at a time,
        # nearly three probe intervals, and answers late.
        net.starve(nodes[5], 0.05, 3.0)
        time.sleep(45)
        failures = false_failures(nodes, set())
        by_starved = len(events(nodes[5:], "suspect"))
        by_others = len(events(nodes[:5], "suspect"))
        net.feed()
        took = converge(nodes, 6, 60)
        assert net.bursts >= 10, f"h5 was let run only {net.bursts} times"
        assert by_others > 0, "the stalls were long enough for the others to suspect h5"
        if preset == "lan":  # Lifeguard on
            assert failures == [], failures
        print(
            f"h5 starved to 150 ms of every 3 s for 45 s, 6 hosts, {preset}:"
            f" false failures {len(failures)}; suspicions raised by h5 {by_starved},"
            f" suspicion events at the others {by_others}; all see all {took:.2f} s after"
        )


@needs_throttling
@pytest.mark.full
def test_a_node_throttled_by_a_cpu_quota_is_not_suspected() -> None:
    with Network(6) as net:
        nodes = net.start_all()
        converge(nodes, 6, 30)
        # A container's CPU limit on a busy process: 5% of a core per 1 s
        # period (the longest the kernel allows), used up by a busy loop.
        net.throttle(nodes[5], 0.05)
        time.sleep(40)
        throttled = net.throttled()
        failures = false_failures(nodes, set())
        suspicions = len(events(nodes, "suspect"))
        net.feed()
        assert throttled >= 30, f"the cgroup was throttled only {throttled} times"
        assert failures == [], failures
        print(
            f"h5 throttled to 5% of a core for 40 s ({throttled} throttled periods), 6 hosts, lan():"
            f" false failures 0, suspicions {suspicions}"
        )


@pytest.mark.parametrize("preset", ["local", pytest.param("lan", marks=full)])
def test_a_partition_both_sides_declared_failed_heals_by_itself(preset: str) -> None:
    with Network(12) as net:
        nodes = net.start_all(preset=preset)
        converge(nodes, 12, 60)
        side_a, side_b = nodes[:6], nodes[6:]
        net.partition(list(range(6, 12)))
        split_at = time.monotonic()
        # Until each side has declared the other failed and forgotten it.
        deadline = split_at + 180
        while time.monotonic() < deadline and not all(
            len(n.members()) == 6 and n.member(other.name)[0] == "none"
            for n, other in ((side_a[0], side_b[0]), (side_b[0], side_a[0]))
        ):
            time.sleep(1)
        forgotten = time.monotonic() - split_at
        for n in (side_a[0], side_b[0]):
            assert len(n.members()) == 6, f"{n.name} sees {n.members()}"
        assert side_a[0].member("h6")[0] == "none", "h0 forgot h6"
        assert side_b[0].member("h0")[0] == "none", "h6 forgot h0"
        for n in nodes:
            n.drain()
            n.seen = []
        net.heal()
        took = converge(nodes, 12, 180)
        late = false_failures(nodes, set())
        print(
            f"partition 6/6 of 12 hosts, {preset}(): each side failed and forgot the other"
            f" in {forgotten:.1f} s; whole {took:.2f} s after the heal, by itself;"
            f" {len(late)} failure events in the healing"
        )


def test_a_paused_node_is_declared_failed_then_refutes_and_rejoins() -> None:
    with Network(4) as net:
        nodes = net.start_all()
        converge(nodes, 4, 30)
        _, before = nodes[0].member("h3")
        # lan(): suspicion timeout = 4 x max(1, log10 4) x 1 s probe interval = 4 s.
        pause = 3 * 4.0
        nodes[3].pause()
        paused_at = time.monotonic()
        nodes[0].expect(lambda line: line == "failed h3", pause)
        failed_after = time.monotonic() - paused_at
        time.sleep(max(0.0, pause - failed_after))
        nodes[3].resume()
        took = converge(nodes, 4, 60)
        state, after = nodes[0].member("h3")
        assert state == "alive" and after > before, (state, before, after)
        print(
            f"SIGSTOP h3 for {pause:.0f} s (3x its suspicion timeout):"
            f" declared failed after {failed_after:.1f} s;",
            end=" ",
        )
        print(f"after SIGCONT alive again in {took:.2f} s, incarnation {after} (was {before})")


def test_restarting_30_percent_of_the_nodes_at_once_leaves_no_ghosts() -> None:
    with Network(10) as net:
        nodes = net.start_all()
        seed = nodes[0]
        converge(nodes, 10, 30)
        again = (7, 8, 9)
        before = {h: nodes[0].member(f"h{h}")[1] for h in again}
        for h in again:
            nodes[h].kill()
        restarted_at = time.monotonic()
        for h in again:
            nodes[h] = net.start(h, seed.addr)
        took = converge(nodes, 10, 60)
        for n in nodes:
            assert sorted(n.members()) == sorted(f"h{h}" for h in range(10)), f"{n.name}: {n.members()}"
            for h in range(10):
                state, _ = n.member(f"h{h}")
                assert state == "alive", (n.name, h, state)
        print(
            f"3 of 10 restarted at once under their names: every node lists the 10 alive, no ghosts,"
            f" in {took:.2f} s ({time.monotonic() - restarted_at:.2f} s after the kill);"
            f" incarnations before {before}"
        )


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


# A run that makes everything the harness can leave behind, prints its tag
# and waits to be killed: h2 paused (a stopped node outlives its parent),
# h1 under a CPU quota with a busy loop, a shaper on h0, /etc/netns files.
RUN_TO_KILL = """
import time
from netns import Network, why_no_shaping, why_no_throttling
net = Network(3).__enter__()
net.set_name("seed.rumour.test", 0)
nodes = net.start_all()
if why_no_shaping() is None:
    net.shape(delay_ms=1, hosts=[0])
if why_no_throttling() is None:
    net.throttle(nodes[1], 0.5)
nodes[2].pause()
print(net.tag, flush=True)
time.sleep(600)
"""


def command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as cmdline:
            return " ".join(os.path.basename(word) for word in cmdline.read().split("\0") if word)
    except OSError:
        return "?"


def test_what_a_run_killed_with_sigkill_left_is_removed_by_the_next_and_a_live_run_is_untouched(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    unregistered = f"rm{uuid.uuid4().hex[:5]}sw"  # as a harness before the registry made it, just now
    subprocess.run(["ip", "netns", "add", unregistered], check=True, capture_output=True)
    try:
        with Network(2) as live:
            live_node = live.start(0)
            with open(tmp_path / "stderr", "w") as errors:
                run = subprocess.Popen(
                    [sys.executable, "-c", RUN_TO_KILL],
                    cwd=here,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    text=True,
                    start_new_session=True,
                )
            assert run.stdout is not None
            ready, _, _ = select.select([run.stdout], [], [], 30)
            tag = run.stdout.readline().strip() if ready else ""
            # Held from the kill until the leftovers are seen, so that no run
            # starting meanwhile removes them first.
            with leftovers_lock():
                run.send_signal(signal.SIGKILL)
                run.wait()
                assert tag, (tmp_path / "stderr").read_text()

                namespaces = [f"rm{tag}sw"] + [f"rm{tag}h{h}" for h in range(3)]
                groups = [os.path.join(cpu_cgroups()[0], f"rumour-{tag}-h1")] if no_throttling is None else []
                # The nodes and the shaper that still run exit as their stdin closes.
                end = time.monotonic() + 5
                while time.monotonic() < end:
                    processes = processes_by_namespace()
                    inside = [p for ns in namespaces for p in processes.get(namespace_identity(ns), [])]
                    if all(state in "TZ" for _, state in inside):
                        break
                    time.sleep(0.05)
                left = [pid for pid, _ in inside]
                for group in groups:
                    with open(os.path.join(group, "cgroup.procs")) as procs:
                        left += [int(pid) for pid in procs.read().split()]
                left = sorted(pid for pid in set(left) if not has_exited(pid))
                commands = [command(pid) for pid in left]
                assert os.path.exists(os.path.join(REGISTRY, tag))
                assert all(os.path.exists(os.path.join(NETNS_RUN, ns)) for ns in namespaces)
                assert all(os.path.isdir(os.path.join(NETNS_ETC, ns)) for ns in namespaces[1:])
                assert all(os.path.isdir(group) for group in groups)
                assert any("polyglot_peer h2" in c for c in commands), f"the paused node stays: {commands}"
                if groups:
                    assert any("while True" in c for c in commands), f"the busy loop stays: {commands}"
                capsys.readouterr()

            with Network(2):
                cleaned = capsys.readouterr().err

            assert not os.path.exists(os.path.join(REGISTRY, tag))
            assert not any(os.path.exists(os.path.join(NETNS_RUN, ns)) for ns in namespaces)
            assert not any(os.path.exists(os.path.join(NETNS_ETC, ns)) for ns in namespaces)
            assert not any(os.path.exists(group) for group in groups)
            assert not [pid for pid in left if not has_exited(pid)]
            assert os.path.exists(os.path.join(NETNS_RUN, unregistered)), "too young to be a dead run's"
            assert all(os.path.exists(os.path.join(NETNS_RUN, live.ns(h))) for h in range(2))
            assert live_node.members() == ["h0"], "the live run's node still answers"
    finally:
        subprocess.run(["ip", "netns", "del", unregistered], capture_output=True)
    with capsys.disabled():
        print(f"left by the run {tag} killed with SIGKILL: {len(namespaces)} namespaces, cgroups {groups},")
        print(f"processes {commands}; the next run: {cleaned.strip() or '(another run removed them)'}")
