"""The node under attack, in a process of its own so that its memory is
its own (/proc/PID/status). Speaks the line protocol of tests/lineproc.py.

    victim.py NAME CONFIG_JSON

CONFIG_JSON holds `rumour.Config.local()` overrides (`bind`, `seeds`,
`keys` as hex strings, ...). With VICTIM_ADDRESS_SPACE_MIB set, the
process runs under that RLIMIT_AS, as under a container's or a ulimit's
cap. Prints `ready HOST:PORT`, then one line per membership event:
`suspect NAME`, `failed NAME`, `joined NAME`, `recovered NAME`,
`left NAME`. Commands on stdin:

- `stats`: `stats {json}`, the node's counters plus `members_alive`,
  `state_live`, `state_tombstones`, `state_bytes`, and what reached the
  application: `messages`, `message_bytes`, `largest_message`,
  `remote_states`, `remote_state_bytes`, `events_lost_seen`;
- `member NAME`: `member NAME STATE INCARNATION`, or `member NAME none`;
- `get KEY`: `get KEY TIMESTAMP`, or `get KEY none`;
- `put KEY SIZE`: writes SIZE bytes; `put ok TIMESTAMP` or
  `put error ExceptionClass`;
- `quit` (or end of input): leaves, closes and exits.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading

import rumour
import rumour.blocking


class Tally:
    """What the attacks delivered to the application, counted on the
    node's dispatch thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages = 0
        self.message_bytes = 0
        self.largest_message = 0
        self.remote_states = 0
        self.remote_state_bytes = 0
        self.events_lost = 0

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {
                "messages": self.messages,
                "message_bytes": self.message_bytes,
                "largest_message": self.largest_message,
                "remote_states": self.remote_states,
                "remote_state_bytes": self.remote_state_bytes,
                "events_lost_seen": self.events_lost,
            }


MEMBER_EVENTS = {
    rumour.MemberSuspect: "suspect",
    rumour.MemberFailed: "failed",
    rumour.MemberJoined: "joined",
    rumour.MemberRecovered: "recovered",
    rumour.MemberLeft: "left",
}

out_lock = threading.Lock()


def say(line: str) -> None:
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main() -> None:
    name, overrides = sys.argv[1], json.loads(sys.argv[2])
    if "keys" in overrides:
        overrides["keys"] = [bytes.fromhex(k) for k in overrides["keys"]]
    config = rumour.Config.local(name=name, **overrides)
    tally = Tally()

    def on_event(event: rumour.Event) -> None:
        kind = MEMBER_EVENTS.get(type(event))
        if kind is not None:
            say(f"{kind} {event.member.name}")  # type: ignore[union-attr]
            return
        with tally.lock:
            if isinstance(event, rumour.Message):
                tally.messages += 1
                tally.message_bytes += len(event.data)
                tally.largest_message = max(tally.largest_message, len(event.data))
            elif isinstance(event, rumour.RemoteState):
                tally.remote_states += 1
                tally.remote_state_bytes += len(event.data)
            elif isinstance(event, rumour.EventsLost):
                tally.events_lost += event.count

    node = rumour.blocking.Node(config)
    node.on_event(on_event)
    node.start()
    cap = os.environ.get("VICTIM_ADDRESS_SPACE_MIB")
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (int(cap) << 20, int(cap) << 20))
    say(f"ready {node.addr}")
    for line in sys.stdin:
        command, *args = line.split()
        if command == "quit":
            break
        if command == "stats":
            stats = dict(node.stats())
            summary = node.state.summary()
            stats.update(
                members_alive=sum(m.state is rumour.MemberState.ALIVE for m in node.members()),
                state_live=summary.live,
                state_tombstones=summary.tombstones,
                state_bytes=summary.bytes,
                **tally.snapshot(),
            )
            say("stats " + json.dumps(stats))
        elif command == "member":
            m = node.member(args[0])
            say(f"member {args[0]} none" if m is None else f"member {m.name} {m.state.value} {m.incarnation}")
        elif command == "get":
            e = node.state.get(args[0])
            say(f"get {args[0]} none" if e is None else f"get {args[0]} {e.timestamp}")
        elif command == "put":
            try:
                say(f"put ok {node.state.put(args[0], b'v' * int(args[1]))}")
            except rumour.RumourError as e:
                say(f"put error {type(e).__name__}")
    try:
        node.leave(timeout=2.0)
    except rumour.RumourError:
        pass
    node.close()


if __name__ == "__main__":
    main()
