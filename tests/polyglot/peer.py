"""The Python peer of the polyglot test (protocol: README.md)."""

import sys
import threading

import rumour
from rumour import blocking

lock = threading.Lock()


def say(*parts: str) -> None:
    with lock:
        print(*parts, flush=True)


def main() -> None:
    name, seed = sys.argv[1], sys.argv[2]
    node = blocking.Node(rumour.Config.local(name=name, bind="127.0.0.1:0", retransmit_mult=4)).start()

    def on_event(e: rumour.Event) -> None:
        if isinstance(e, rumour.MemberJoined):
            say("joined", e.member.name)
        elif isinstance(e, rumour.MemberFailed):
            say("failed", e.member.name)
        elif isinstance(e, rumour.MemberLeft):
            say("left", e.member.name)
        elif isinstance(e, rumour.MemberUpdated):
            say("updated", e.member.name, e.member.meta.decode())
        elif isinstance(e, rumour.Message):
            say("message", e.sender or "?", e.data.decode())

    node.on_event(on_event)
    if seed != "-":
        node.join(seed)
    say("ready", node.addr)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "members":
            say(
                "members",
                ",".join(sorted(m.name for m in node.members() if m.state is rumour.MemberState.ALIVE)),
            )
        elif cmd == "broadcast":
            node.broadcast(arg.encode())
        elif cmd == "meta":
            node.set_meta(arg.encode())
        elif cmd == "meta_of":
            m = node.member(arg)
            say("meta_of", arg, m.meta.decode() if m else "")
        elif cmd == "quit":
            break
    node.close()


if __name__ == "__main__":
    main()
