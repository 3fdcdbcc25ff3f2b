"""One cluster, four languages: a Rust, a C, a Python and a Node.js node,
each in its own process (see README.md for the peers' line protocol).

Needs the peers built: `make polyglot-test` builds them, then runs this
with the project's venv (where the Python binding is installed).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(ROOT, "target", "polyglot")

COMMANDS = {
    "rust": [os.path.join(ROOT, "target", "release", "polyglot_peer")],
    "c": [os.path.join(BUILD, "peer_c")],
    "python": [sys.executable, os.path.join(HERE, "peer.py")],
    "node": ["node", os.path.join(HERE, "peer.mjs")],
}


class Peer:
    """One peer process; its output lines are collected by a reader thread."""

    def __init__(self, lang: str, seed: str) -> None:
        self.name = lang
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(ROOT, "target", "release"))
        self.proc = subprocess.Popen(
            [*COMMANDS[lang], lang, seed],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=HERE,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.addr = self.expect(lambda line: line.startswith("ready "), 20).split(" ", 1)[1]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def _drain(self, timeout: float) -> None:
        try:
            self.seen.append(self.lines.get(timeout=timeout))
        except queue.Empty:
            pass
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return

    def expect(self, match, limit: float) -> str:
        """The first line so far or within `limit` seconds that `match`es."""
        end = time.monotonic() + limit
        while True:
            for line in self.seen:
                if match(line):
                    return line
            if time.monotonic() > end:
                raise AssertionError(f"{self.name}: nothing matched within {limit} s; saw {self.seen}")
            self._drain(0.1)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def ask(self, command: str, prefix: str, limit: float = 5.0) -> str:
        self.seen = [s for s in self.seen if not s.startswith(prefix)]
        self.send(command)
        return self.expect(lambda line: line.startswith(prefix), limit)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def members_of(peer: Peer) -> str:
    return peer.ask("members", "members ").split(" ", 1)[1]


def test_rust_c_python_and_node_nodes_form_one_cluster() -> None:
    missing = [lang for lang, cmd in COMMANDS.items() if not os.path.exists(cmd[0]) and lang in ("rust", "c")]
    if missing:
        pytest.skip(f"peers not built ({', '.join(missing)}): run `make polyglot-test`")
    peers: dict[str, Peer] = {}
    try:
        peers["rust"] = Peer("rust", "-")
        for lang in ("c", "python", "node"):
            peers[lang] = Peer(lang, peers["rust"].addr)
        everyone = "c,node,python,rust"
        end = time.monotonic() + 20
        while time.monotonic() < end and not all(members_of(p) == everyone for p in peers.values()):
            time.sleep(0.2)
        for p in peers.values():
            assert members_of(p) == everyone, f"{p.name} lists {members_of(p)}"

        for p in peers.values():
            p.send(f"broadcast from-{p.name}")
        for p in peers.values():
            for other in peers.values():
                if other is not p:
                    want = f"message {other.name} from-{other.name}"
                    p.expect(lambda line, want=want: line == want, 10)

        peers["python"].send("meta role=py")
        peers["node"].send("meta role=js")
        for p in peers.values():
            for lang, meta in (("python", "role=py"), ("node", "role=js")):
                end = time.monotonic() + 10
                while (
                    time.monotonic() < end
                    and p.ask(f"meta_of {lang}", f"meta_of {lang}") != f"meta_of {lang} {meta}"
                ):
                    time.sleep(0.1)
                assert p.ask(f"meta_of {lang}", f"meta_of {lang}") == f"meta_of {lang} {meta}", p.name

        peers["c"].proc.send_signal(signal.SIGKILL)
        peers["c"].proc.wait()
        for lang in ("rust", "python", "node"):
            peers[lang].expect(lambda line: line == "failed c", 30)
    finally:
        for p in peers.values():
            p.stop()
