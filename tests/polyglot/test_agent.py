"""The `rumour` command in a mixed cluster: one `rumour agent`, one
HashiCorp memberlist node in Go (tests/interop/peer, Debian's memberlist)
and one Python rumour node (peer.py), each in its own process on
127.0.0.1. Everything about the cluster is read through the command alone:
`rumour members --json` lists all three alive with their metadata, and
`rumour watch --json` shows the Go node leave when it is stopped and the
Python node fail when it is killed. Every wait is bounded.

Needs the agent (target/release/rumour) and the Go peer
(target/interop/peer) built: `make polyglot-test` builds both, then runs
this with the project's venv (where the Python binding is installed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lineproc import LineProcess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
RUMOUR = os.path.join(ROOT, "target", "release", "rumour")
GO_PEER = os.path.join(ROOT, "target", "interop", "peer")
PYTHON_PEER = os.path.join(HERE, "peer.py")

# `local` timings on every side, with LAN's retransmit multiplier (4) as in
# core/tests/interop.rs and peer.py: with `local`'s 2, a node this small a
# cluster now and then misses a join until the next push-pull (15 s).
RETRANSMIT_MULT = 4
AGENT_CONFIG = f'preset = "local"\nretransmit_mult = {RETRANSMIT_MULT}\n'


class Lines(LineProcess):
    """A child process whose output lines are collected as LineProcess
    does (expect, drain, kill), for commands that do not start with the
    peers' `ready ADDR` line: the agent, `rumour watch`, the Go peer."""

    def __init__(self, name: str, argv: list[str], **popen: object) -> None:
        super().__init__(name, argv, ready=False, **popen)

    def stop(self) -> None:
        """SIGTERM (the agent leaves, `watch` ends); SIGKILL if it has not exited within 10 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Agent(Lines):
    """`rumour agent`, with the addresses from its first line."""

    def __init__(self, name: str, config: Path, seed: str | None, stderr: Path) -> None:
        argv = [RUMOUR, "agent", "--name", name, "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0"]
        argv += ["--config", str(config), *(["--seed", seed] if seed else [])]
        self.log = stderr.open("w")
        super().__init__(name, argv, stderr=self.log)
        # agent NAME gossip ADDR http ADDR
        words = self.expect(lambda line: line.startswith("agent "), 20).split()
        assert len(words) == 6 and words[2] == "gossip" and words[4] == "http", words
        self.gossip, self.http = words[3], words[5]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`rumour ARGS --http <this agent>`, within 10 s."""
        return subprocess.run(
            [RUMOUR, *args, "--http", self.http], capture_output=True, text=True, timeout=10, check=False
        )

    def members(self) -> dict[str, dict[str, object]]:
        """`rumour members --json`, by name."""
        out = self.run("members", "--json")
        assert out.returncode == 0, f"rumour members --json: exit {out.returncode}: {out.stderr}"
        listed = json.loads(out.stdout)
        assert isinstance(listed, list), out.stdout
        return {m["name"]: m for m in listed}

    def stop(self) -> None:
        super().stop()
        self.log.close()


class GoNode(Lines):
    """A HashiCorp memberlist node: JSON commands on stdin, one JSON answer
    each on stdout, events between them (tests/interop/peer/main.go)."""

    def __init__(self, name: str, meta: str) -> None:
        super().__init__(name, [GO_PEER])
        self.answered = 0
        start = {"cmd": "start", "name": name, "preset": "local", "meta": meta}
        self.addr = self.cmd(start | {"retransmit_mult": RETRANSMIT_MULT})["addr"]

    def cmd(self, command: dict[str, object], limit: float = 20) -> dict[str, object]:
        """Sends `command` and returns its answer (which must say ok)."""
        self.send(json.dumps(command))
        end = time.monotonic() + limit
        while True:
            answers = [a for a in map(json.loads, self.drain()) if "event" not in a]
            if len(answers) > self.answered:
                answer = answers[self.answered]
                self.answered += 1
                assert answer.get("ok") is True, f"the Go node refused {command}: {answer}"
                return answer
            if time.monotonic() > end:
                raise AssertionError(
                    f"the Go node: no answer to {command} in {limit} s; saw {self.seen[-20:]}"
                )
            time.sleep(0.05)


def wait_for(what: str, limit: float, done: Callable[[], bool]) -> None:
    """Calls `done` until it returns true, for at most `limit` seconds."""
    end = time.monotonic() + limit
    while not done():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {limit} s")
        time.sleep(0.2)


def test_an_agent_a_go_memberlist_node_and_a_python_node_form_one_cluster(tmp_path: Path) -> None:
    missing = [p for p in (RUMOUR, GO_PEER) if not os.path.exists(p)]
    if missing:
        pytest.skip(
            f"not built ({', '.join(missing)}): run `make polyglot-test` (tests/interop/build.sh"
            " builds the Go peer; it needs Go and Debian's memberlist, which it installs as root)"
        )
    config = tmp_path / "agent.toml"
    config.write_text(AGENT_CONFIG)
    procs: list[LineProcess] = []
    try:
        # The Go node first; the agent joins it with --seed; the Python node
        # joins the agent, and the Go node hears of it by gossip alone.
        go = GoNode("go", "lang=go")
        procs.append(go)
        agent = Agent("agent", config, go.addr, tmp_path / "agent.stderr")
        procs.append(agent)
        python = LineProcess("python", [sys.executable, PYTHON_PEER, "python", agent.gossip])
        procs.append(python)

        everyone = {"agent": agent.gossip, "go": go.addr, "python": python.addr}

        def all_alive() -> bool:
            alive = {n: m["addr"] for n, m in agent.members().items() if m["state"] == "alive"}
            return alive == everyone

        try:
            wait_for("rumour members --json lists the three alive", 20, all_alive)
        except AssertionError as e:
            raise AssertionError(f"{e}; it lists {agent.members()}") from None
        members = agent.members()
        assert members["go"]["meta"] == "lang=go", members
        assert all(isinstance(m["incarnation"], int) for m in members.values()), members

        # And the Go node lists the Python node it only heard of through the agent.
        def go_lists_all() -> bool:
            listed = go.cmd({"cmd": "members"})["members"]
            assert isinstance(listed, list)
            return sorted(m["name"] for m in listed) == sorted(everyone)

        wait_for("the Go node lists all three", 20, go_lists_all)

        # Watch the agent. New metadata on the Python node shows up as an
        # `updated` event once the watch listens (set again, with a new
        # value, until it does); then the Go node's, at the first try.
        watch = Lines("watch", [RUMOUR, "watch", "--json", "--http", agent.http])
        procs.append(watch)

        def event(kind: str, name: str, limit: float, **fields: str) -> str:
            def match(line: str) -> bool:
                e = json.loads(line)
                return e.get("event") == kind and e.get("name") == name and fields.items() <= e.items()

            return watch.expect(match, limit)

        for i in range(10):
            python.send(f"meta role=py-{i}")
            try:
                event("updated", "python", 2, meta=f"role=py-{i}")
                break
            except AssertionError:
                if i == 9:
                    raise
        go.cmd({"cmd": "meta", "meta": "role=go"})
        event("updated", "go", 10, meta="role=go")
        metas = {n: m.get("meta") for n, m in agent.members().items()}
        assert metas == {"agent": "", "go": "role=go", "python": f"role=py-{i}"}, metas

        # The Go node is stopped as a Go service stops: Leave, then Shutdown.
        go.cmd({"cmd": "leave", "timeout_ms": 3000})
        go.cmd({"cmd": "shutdown"})
        event("left", "go", 10)
        # `members` lists the members alive or suspect: the Go node is gone.
        states = {n: m["state"] for n, m in agent.members().items()}
        assert states == {"agent": "alive", "python": "alive"}, states

        # The Python node dies without a word: the agent declares it failed
        # within the `local` preset's longest suspicion (18 s) and a probe.
        python.kill()
        event("failed", "python", 30)
        events = [json.loads(line) for line in watch.drain()]
        assert not [e for e in events if e.get("event") == "failed" and e.get("name") == "go"], events
        states = {n: m["state"] for n, m in agent.members().items()}
        assert states == {"agent": "alive"}, states
        assert agent.proc.poll() is None, "the agent kept running"
    finally:
        for p in reversed(procs):
            p.stop()
