"""Benchmarks of the Python binding (``make bench-python``).

1. Events per second delivered, with the producer in another process so
   that the figure is delivery alone: ``flood.py`` (a child process)
   sends ``EVENTS`` user messages to the measured node over UDP, packed
   200 to a packet and paced at ``OFFER`` messages/s; each is one
   ``Message`` event crossing the node's dispatch thread (in batches),
   the Python hub and the consumer. Four consumers, each on a fresh node:
   ``async for`` over ``node.events()``, a blocking iterator, a callback
   on a blocking node (the dispatch thread) and a callback on an asyncio
   node (the event loop). The rate is the messages delivered between the
   first and the last one, divided by that time; when the consumer cannot
   keep up with ``OFFER``, the bounded queues drop the rest and count it
   as ``EventsLost`` (reported), so the rate is what it can take. A rate
   near ``OFFER`` with nothing lost means the producer was the limit.
2. The cost of one ``broadcast()`` call, blocking and ``await``-ed.
3. The CPU of an idle 10-node cluster in one Python process, as a share of
   one core (all nodes together, and per node).

Each figure is the median of ``RUNS`` runs (default 3). Prints a table and
writes JSON to ``target/bench/python.json`` and the event figures alone to
``target/bench/python_events.json``. ``ONLY=events`` runs part 1 alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time

import rumour
from rumour import blocking

RUNS = int(os.environ.get("RUNS", "3"))
EVENTS = int(os.environ.get("EVENTS", "800000"))
OFFER = float(os.environ.get("OFFER", "400000"))
IDLE_SECONDS = float(os.environ.get("IDLE_SECONDS", "30"))
ONLY = os.environ.get("ONLY", "")
FLOOD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flood.py")
#: A consumer that sees nothing for this long has had all it will get.
QUIET = 2.0


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


class Tally:
    """Counts what one consumer got, and when the first and last arrived."""

    def __init__(self) -> None:
        self.got = self.lost = 0
        self.first = self.last = 0.0
        self.done = threading.Event()

    def see(self, event: rumour.Event) -> None:
        if isinstance(event, rumour.Message):
            self.got += 1
        elif isinstance(event, rumour.EventsLost):
            self.lost += event.count
        else:
            return
        self.last = time.perf_counter()
        if not self.first:
            self.first = self.last
        if self.got + self.lost >= EVENTS:
            self.done.set()

    def result(self, flood: subprocess.Popen) -> dict:
        out, _ = flood.communicate(timeout=60)
        sent = json.loads(out)
        window = self.last - self.first
        return {
            "eps": self.got / window if window > 0 else 0.0,
            "got": self.got,
            "lost": self.lost,
            # Dropped before the node (the kernel's socket buffer): neither delivered nor counted.
            "missing": EVENTS - self.got - self.lost,
            "offered_eps": sent["sent"] / sent["seconds"],
        }


def flood(addr: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, FLOOD, addr, str(EVENTS), str(OFFER)], stdout=subprocess.PIPE, text=True
    )


def wait_quiet(tally: Tally) -> None:
    """Until every message is seen or counted, or none came for QUIET s."""
    while not tally.done.wait(0.1):
        if tally.last and time.perf_counter() - tally.last > QUIET:
            return


async def async_for() -> dict:
    async with rumour.Node(config("ev-async")) as node:
        events, tally = node.events(), Tally()

        async def consume() -> None:
            async for e in events:
                tally.see(e)
                if tally.done.is_set():
                    return

        task = asyncio.create_task(consume())
        producer = flood(node.addr)
        await asyncio.to_thread(wait_quiet, tally)
        task.cancel()
        return tally.result(producer)


def blocking_iterator() -> dict:
    with blocking.Node(config("ev-block")) as node:
        events, tally = node.events(), Tally()

        def consume() -> None:
            while not tally.done.is_set():
                e = events.get(timeout=0.1)
                if e is not None:
                    tally.see(e)

        reader = threading.Thread(target=consume)
        reader.start()
        producer = flood(node.addr)
        wait_quiet(tally)
        tally.done.set()
        reader.join()
        return tally.result(producer)


def blocking_callback() -> dict:
    with blocking.Node(config("ev-cb")) as node:
        tally = Tally()
        node.on_event(tally.see)
        producer = flood(node.addr)
        wait_quiet(tally)
        return tally.result(producer)


async def async_callback() -> dict:
    async with rumour.Node(config("ev-acb")) as node:
        tally = Tally()
        node.on_event(tally.see)
        producer = flood(node.addr)
        await asyncio.to_thread(wait_quiet, tally)
        return tally.result(producer)


#: The consumers of part 1: (key, label, run).
PATHS = [
    ("async_for", "async for over node.events()", lambda: asyncio.run(async_for())),
    ("blocking", "blocking iterator (blocking.Node.events())", blocking_iterator),
    ("callback_blocking", "callback on a blocking node (dispatch thread)", blocking_callback),
    ("callback_async", "callback on an asyncio node (event loop)", lambda: asyncio.run(async_callback())),
]


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


def write(name: str, out: dict) -> None:
    target = os.path.join(os.path.dirname(__file__), "..", "..", "target", "bench")
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, name), "w") as f:
        json.dump(out, f)
        f.write("\n")


def main() -> None:
    events: dict[str, list[dict]] = {key: [] for key, _, _ in PATHS}
    others = ["bc_block_us", "bc_async_us", "idle_pct"]
    runs: dict[str, list[float]] = {k: [] for k in others}
    for _ in range(RUNS):
        for key, _, run in PATHS:
            events[key].append(run())
        if ONLY == "events":
            continue
        runs["bc_block_us"].append(broadcast_cost_blocking())
        runs["bc_async_us"].append(asyncio.run(broadcast_cost_async()))
        runs["idle_pct"].append(idle_cluster_cpu())
    eps = {key: statistics.median(r["eps"] for r in events[key]) for key in events}
    setup = f"runs={RUNS} events={EVENTS} offered={OFFER:.0f}/s (flood.py, another process) preset=lan"
    print(f"\nbench-python  {setup}  machine: {machine()}")
    print("| events/s delivered to | median | runs | lost (EventsLost) | missing (kernel) |")
    print("|---|---|---|---|---|")
    for key, label, _ in PATHS:
        rs = events[key]
        lost, missing = sum(r["lost"] for r in rs), sum(r["missing"] for r in rs)
        each = ", ".join(f"{r['eps']:.0f}" for r in rs)
        print(f"| {label} | {eps[key]:.0f} | {each} | {lost} | {missing} |")
    out_events = {
        "bench": "python_events",
        "runs": RUNS,
        "events": EVENTS,
        "offered_eps": OFFER,
        "producer": "bindings-python/benches/flood.py in a child process, 200 user messages a UDP packet",
        "preset": "lan",
        "median_eps": eps,
        "all": events,
        "machine": machine(),
    }
    write("python_events.json", out_events)
    if ONLY == "events":
        print(json.dumps(out_events))
        return
    med = {k: statistics.median(v) for k, v in runs.items()}
    print("| metric | median | runs |\n|---|---|---|")
    print(f"| broadcast() call, blocking | {med['bc_block_us']:.1f} us | |")
    print(f"| await broadcast() call | {med['bc_async_us']:.1f} us | |")
    print(
        f"| idle 10-node cluster, CPU | {med['idle_pct']:.3f} % of a core "
        f"({med['idle_pct'] / 10:.4f} % per node) | {[round(x, 3) for x in runs['idle_pct']]} |"
    )
    out = {"bench": "python", "runs": RUNS, "idle_seconds": IDLE_SECONDS, "median": med, "all": runs}
    out["events"] = out_events
    out["machine"] = machine()
    print(json.dumps(out))
    write("python.json", out)


if __name__ == "__main__":
    main()
