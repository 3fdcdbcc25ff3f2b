"""Benchmarks of the Python binding (``make bench-python``).

1. Events per second delivered to an ``async for`` consumer, and to a
   blocking consumer: a node writes keys of the replicated map locally as
   fast as it can; each write is a ``StateChanged`` event that crosses the
   native dispatch thread, the Python hub and the consumer's queue. The
   writer is in the same process, so this is the rate of the whole loop
   (write call, event, delivery), not of delivery alone.
2. The cost of one ``broadcast()`` call, blocking and ``await``-ed.
3. The CPU of an idle 10-node cluster in one Python process, as a share of
   one core (all nodes together, and per node).

Each figure is the median of ``RUNS`` runs (default 3). Prints a table and
writes JSON to ``target/bench/python.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import statistics
import threading
import time

import rumour
from rumour import blocking

RUNS = int(os.environ.get("RUNS", "3"))
EVENTS = int(os.environ.get("EVENTS", "20000"))
IDLE_SECONDS = float(os.environ.get("IDLE_SECONDS", "30"))


def config(name: str) -> rumour.Config:
    return rumour.Config.lan(name=name, bind="127.0.0.1:0")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


async def async_events_per_second() -> tuple[float, int]:
    async with rumour.Node(config("ev-async")) as node:
        events = node.state.watch("k/")
        got = lost = 0
        done = asyncio.Event()

        async def consume() -> None:
            nonlocal got, lost
            async for e in events:
                if isinstance(e, rumour.EventsLost):
                    lost += e.count
                else:
                    got += 1
                if got + lost >= EVENTS:
                    done.set()
                    return

        task = asyncio.create_task(consume())
        start = time.perf_counter()
        state = node.state
        for i in range(EVENTS):
            await state.put(f"k/{i}", b"v")
            if i % 256 == 0:
                await asyncio.sleep(0)  # let the consumer run, as a real producer would
        await asyncio.wait_for(done.wait(), 60)
        elapsed = time.perf_counter() - start
        await task
        return got / elapsed, lost


def blocking_events_per_second() -> tuple[float, int]:
    node = blocking.Node(config("ev-block")).start()
    try:
        events = node.state.watch("k/")
        counts = {"got": 0, "lost": 0}

        def consume() -> None:
            for e in events:
                if isinstance(e, rumour.EventsLost):
                    counts["lost"] += e.count
                else:
                    counts["got"] += 1
                if counts["got"] + counts["lost"] >= EVENTS:
                    return

        reader = threading.Thread(target=consume)
        reader.start()
        start = time.perf_counter()
        for i in range(EVENTS):
            node.state.put(f"k/{i}", b"v")
        reader.join(60)
        elapsed = time.perf_counter() - start
        return counts["got"] / elapsed, counts["lost"]
    finally:
        node.close()


def broadcast_cost_blocking(calls: int = 5000) -> float:
    a = blocking.Node(config("bc-a")).start()
    b = blocking.Node(config("bc-b")).start()
    try:
        b.join(a.addr)
        start = time.perf_counter()
        for i in range(calls):
            a.broadcast(b"x%d" % i)
        return (time.perf_counter() - start) / calls * 1e6
    finally:
        a.close()
        b.close()


async def broadcast_cost_async(calls: int = 5000) -> float:
    async with rumour.Node(config("bca-a")) as a, rumour.Node(config("bca-b")) as b:
        await b.join(a.addr)
        start = time.perf_counter()
        for i in range(calls):
            await a.broadcast(b"x%d" % i)
        return (time.perf_counter() - start) / calls * 1e6


def idle_cluster_cpu() -> float:
    nodes = [blocking.Node(config(f"idle-{i}")).start() for i in range(10)]
    try:
        for n in nodes[1:]:
            n.join(nodes[0].addr)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(len(n.members()) == 10 for n in nodes):
            time.sleep(0.1)
        time.sleep(2)
        before = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic()
        time.sleep(IDLE_SECONDS)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return cpu / (time.monotonic() - wall) * 100
    finally:
        for n in nodes:
            n.close()


def main() -> None:
    names = ["async_eps", "block_eps", "bc_block_us", "bc_async_us", "idle_pct"]
    runs: dict[str, list[float]] = {k: [] for k in names}
    lost = {"async": 0, "blocking": 0}
    for _ in range(RUNS):
        eps, n = asyncio.run(async_events_per_second())
        runs["async_eps"].append(eps)
        lost["async"] += n
        eps, n = blocking_events_per_second()
        runs["block_eps"].append(eps)
        lost["blocking"] += n
        runs["bc_block_us"].append(broadcast_cost_blocking())
        runs["bc_async_us"].append(asyncio.run(broadcast_cost_async()))
        runs["idle_pct"].append(idle_cluster_cpu())
    med = {k: statistics.median(v) for k, v in runs.items()}
    setup = f"runs={RUNS} events={EVENTS} idle={IDLE_SECONDS:.0f}s preset=lan"
    print(f"\nbench-python  {setup}  machine: {machine()}")
    print("| metric | median | runs |\n|---|---|---|")
    print(f"| events/s to an async for consumer | {med['async_eps']:.0f} | {runs['async_eps']} |")
    print(f"| events/s to a blocking consumer | {med['block_eps']:.0f} | {runs['block_eps']} |")
    print(f"| broadcast() call, blocking | {med['bc_block_us']:.1f} us | |")
    print(f"| await broadcast() call | {med['bc_async_us']:.1f} us | |")
    print(
        f"| idle 10-node cluster, CPU | {med['idle_pct']:.3f} % of a core "
        f"({med['idle_pct'] / 10:.4f} % per node) | {[round(x, 3) for x in runs['idle_pct']]} |"
    )
    print(f"events lost (all runs): {lost}")
    out = {"bench": "python", "runs": RUNS, "events": EVENTS, "median": med, "all": runs, "lost": lost}
    out["machine"] = machine()
    print(json.dumps(out))
    target = os.path.join(os.path.dirname(__file__), "..", "..", "target", "bench")
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "python.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
