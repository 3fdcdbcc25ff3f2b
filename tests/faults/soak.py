"""Soak run (`make soak`): 20 nodes in 20 namespaces for SOAK_SECONDS
(default 1800), each (a restarted one too) configured with two seeds, h0
and h1 (`Config::seeds`), with random faults drawn from SOAK_SEED on nodes
10-19 only: partitions of a random few from the rest, SIGSTOP pauses, kills with
restarts under the same name, 10-30% loss or 50-300 ms delay on what they
send (shaper.py), and CPU starvation (running 150 ms of every 3 s). Nodes
0-9 are never faulted, so any failure declared of them is a false failure;
each is reported with the fault in progress when it was seen. Reports false failures, missed
detections (a killed node not declared failed by every node 0-9 within
60 s), convergence time after each fault, and memory growth per node.
Every loop is bounded by the run's deadline.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time

from netns import Network, why_no_shaping, why_not

NODES = 20
STABLE = range(10)
SEEDS = [0, 1]  # among the stable nodes, so the seeds themselves are never faulted


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def all_see_all(nodes) -> bool:
    return all(len(n.members()) == NODES for n in nodes)


def main() -> int:
    reason = why_not()
    if reason:
        print(f"soak skipped: {reason}")
        return 0
    seconds = float(os.environ.get("SOAK_SECONDS", "1800"))
    seed = int(os.environ.get("SOAK_SEED", "1"))
    rng = random.Random(seed)
    with Network(NODES) as net:
        nodes = net.start_all(seeds=SEEDS)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all_see_all(nodes):
            time.sleep(0.5)
        rss_start = {h: rss_kib(n.proc.pid) for h, n in enumerate(nodes)}
        end = time.monotonic() + seconds
        kinds = ["partition", "pause", "kill", "starve"]
        if why_no_shaping() is None:
            kinds += ["loss", "delay"]
        faults, convergence, missed, restarts = [], [], 0, 0
        wrong: list[tuple[int, str, str]] = []
        while time.monotonic() < end - 90:
            kind = rng.choice(kinds)
            victims = rng.sample(range(10, NODES), rng.randint(1, 3))
            faults.append(kind)
            if kind in ("loss", "delay"):
                if kind == "loss":
                    net.shape(loss=rng.uniform(0.1, 0.3), hosts=victims)
                else:
                    delay = rng.uniform(50, 300)
                    net.shape(delay_ms=delay, jitter_ms=delay / 5, hosts=victims)
                time.sleep(rng.uniform(10, 40))
                net.clear_shaping()
            elif kind == "starve":
                for v in victims:
                    net.starve(nodes[v], 0.05, 3.0)
                time.sleep(rng.uniform(10, 40))
                net.feed()
            elif kind == "partition":
                net.partition(victims)
                time.sleep(rng.uniform(5, 40))
                net.heal()
            elif kind == "pause":
                for v in victims:
                    nodes[v].pause()
                time.sleep(rng.uniform(2, 30))
                for v in victims:
                    nodes[v].resume()
            else:
                killed_at = time.monotonic()
                for v in victims:
                    nodes[v].kill()
                for v in victims:
                    for s in STABLE:
                        try:
                            nodes[s].expect(
                                lambda line, v=v: line == f"failed h{v}",
                                max(1, 60 - (time.monotonic() - killed_at)),
                            )
                        except AssertionError:
                            missed += 1
                for v in victims:
                    nodes[v] = net.start(v, net.seeds(SEEDS))
                    restarts += 1
            healed = time.monotonic()
            while time.monotonic() < min(end, healed + 120) and not all_see_all(nodes):
                time.sleep(0.5)
            convergence.append(time.monotonic() - healed)
            for s in STABLE:
                fresh = nodes[s].drain()
                for line in fresh:
                    if line.startswith("failed h") and int(line[8:]) in STABLE:
                        wrong.append((s, line, kind))
                nodes[s].seen = []
        false_failures = len(wrong)
        growth = [rss_kib(nodes[h].proc.pid) - rss_start[h] for h in STABLE]
        report = {
            "bench": "soak",
            "seconds": seconds,
            "seed": seed,
            "nodes": NODES,
            "faults": {k: faults.count(k) for k in kinds},
            "restarts": restarts,
            "false_failures": false_failures,
            "false_failures_seen": [f"h{s}: {line} (during {kind})" for s, line, kind in wrong[:20]],
            "missed_detections": missed,
            "convergence_median_s": round(statistics.median(convergence), 2) if convergence else None,
            "convergence_max_s": round(max(convergence), 2) if convergence else None,
            "rss_growth_kib_per_stable_node_median": statistics.median(growth),
        }
        print(json.dumps(report))
        out = os.path.join(os.path.dirname(__file__), "..", "..", "target", "bench")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "soak.json"), "w") as f:
            f.write(json.dumps(report) + "\n")
        return 0 if false_failures == 0 and missed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
