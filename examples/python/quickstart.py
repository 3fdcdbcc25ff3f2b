"""One rumour node per process; three of them make a cluster.

Three terminals:

    python examples/python/quickstart.py --name a --port 7946
    python examples/python/quickstart.py --name b --port 7947 --seed 127.0.0.1:7946
    python examples/python/quickstart.py --name c --port 7948 --seed 127.0.0.1:7946

or one command that starts all three and stops them after a few seconds:

    python examples/python/quickstart.py --three

Each node prints what it sees: who joined, who left or failed, messages,
and the member list two seconds in.
``--for SECONDS`` makes a node leave by itself (the default runs until Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time

import rumour


async def run(name: str, port: int, seed: str | None, seconds: float | None) -> None:
    config = rumour.Config.local(name=name, bind=f"127.0.0.1:{port}", seeds=[seed] if seed else [])
    async with rumour.Node(config) as node:
        print(f"{name}: listening on {node.addr}", flush=True)
        if seed:
            # The seed may start after us: the node keeps trying until it answers.
            print(f"{name}: joined through {await node.joined(timeout=30)}", flush=True)
        await node.broadcast(f"hello from {name}".encode())

        async def narrate() -> None:
            async for event in node.events():
                if isinstance(event, rumour.Message):
                    print(f"{name}: {event.sender} says {event.data.decode()!r}", flush=True)
                elif isinstance(event, (rumour.MemberJoined, rumour.MemberLeft, rumour.MemberFailed)):
                    print(f"{name}: {type(event).__name__} {event.member.name}", flush=True)

        task = asyncio.create_task(narrate())
        try:
            await asyncio.sleep(2)
            names = sorted(m.name for m in node.members())
            print(f"{name}: members after 2 s: {', '.join(names)}", flush=True)
            if seconds is not None:
                await asyncio.sleep(max(0.0, seconds - 2))
            else:
                await asyncio.Event().wait()
        finally:
            task.cancel()


def three() -> int:
    """Starts a, b and c as three processes on ports 7946-7948 for 4 seconds."""
    me = [sys.executable, __file__]
    seed = "127.0.0.1:7946"
    procs = [subprocess.Popen([*me, "--name", "a", "--port", "7946", "--for", "4"])]
    # b and c join through a: wait until it accepts connections.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", 7946), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    procs += [
        subprocess.Popen([*me, "--name", n, "--port", str(p), "--seed", seed, "--for", "3"])
        for n, p in (("b", 7947), ("c", 7948))
    ]
    return max(p.wait(30) for p in procs)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--name", default="a")
    parser.add_argument("--port", type=int, default=7946)
    parser.add_argument("--seed", help="host:port of a node to join")
    parser.add_argument("--for", dest="seconds", type=float, help="leave after this many seconds")
    parser.add_argument("--three", action="store_true", help="start a, b and c as three processes")
    args = parser.parse_args()
    if args.three:
        return three()
    try:
        asyncio.run(run(args.name, args.port, args.seed, args.seconds))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
