"""One cluster, four languages: a Rust, a C, a Python and a Node.js node,
each in its own process (see README.md for the peers' line protocol).

Needs the peers built: `make polyglot-test` builds them, then runs this
with the project's venv (where the Python binding is installed).
"""

from __future__ import annotations

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lineproc import LineProcess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(ROOT, "target", "polyglot")

COMMANDS = {
    "rust": [os.path.join(ROOT, "target", "release", "polyglot_peer")],
    "c": [os.path.join(BUILD, "peer_c")],
    "python": [sys.executable, os.path.join(HERE, "peer.py")],
    "node": ["node", os.path.join(HERE, "peer.mjs")],
}


class Peer(LineProcess):
    """One peer process (see tests/lineproc.py)."""

    def __init__(self, lang: str, seed: str) -> None:
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(ROOT, "target", "release"))
        super().__init__(lang, [*COMMANDS[lang], lang, seed], env=env, cwd=HERE)


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

        peers["c"].kill()
        for lang in ("rust", "python", "node"):
            peers[lang].expect(lambda line: line == "failed c", 30)
    finally:
        for p in peers.values():
            p.stop()
