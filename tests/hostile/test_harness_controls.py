"""The verdicts can fail: a victim that stops answering is suspected by
its peers and refutes, and memory the victim really takes shows in its
peak RSS. Without these, a suite of passing attacks would prove nothing."""

from __future__ import annotations

import signal
import time

import forge
from harness import Sent, run_attack, send_stream


def test_the_peers_suspect_a_victim_that_stops_answering(peers, victim_of) -> None:
    victim = victim_of(peers)

    def pause() -> Sent:
        victim.proc.proc.send_signal(signal.SIGSTOP)
        time.sleep(2.0)
        victim.proc.proc.send_signal(signal.SIGCONT)
        return Sent(1, 0, 2.0, "pauses")

    outcome = run_attack("control: SIGSTOP for 2 s", victim, peers, pause, settle=2.0)
    print(f"\n{outcome.row(['refutes'])}")
    assert outcome.verdicts, "the peers did not suspect a stopped victim"
    assert outcome.rose("refutes") >= 1


def test_memory_the_victim_takes_shows_in_its_peak_rss(peers, victim_of) -> None:
    """A push-pull with 16 MiB of user state (allowed: memberlist's limit
    is 20 MiB) is read whole and handed to the application."""
    victim = victim_of(peers)
    state = b"s" * (16 << 20)

    def strike() -> Sent:
        started = time.monotonic()
        send_stream(victim.target, forge.push_pull_header(0, len(state)) + state, timeout=10.0)
        return Sent(1, len(state), time.monotonic() - started, "streams")

    outcome = run_attack("control: 16 MiB of push-pull user state", victim, peers, strike)
    print(f"\n{outcome.row(['remote_state_bytes'])}")
    assert outcome.rose("remote_state_bytes") == len(state)
    assert outcome.rss_peak - outcome.rss_before >= 16, "the 16 MiB did not show"
