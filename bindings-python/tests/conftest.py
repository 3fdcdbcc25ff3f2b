"""Shared helpers: loopback configs and bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable

import rumour


def config(name: str, **overrides: object) -> rumour.Config:
    """`local()` timings on 127.0.0.1 with a free port; LAN's retransmit
    multiplier, so news reaches every node of a small cluster."""
    return rumour.Config.local(name=name, bind="127.0.0.1:0", retransmit_mult=4, **overrides)


def wait_until(done: Callable[[], bool], limit: float = 10.0) -> bool:
    """Polls ``done`` every 20 ms for up to ``limit`` seconds."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if done():
            return True
        time.sleep(0.02)
    return done()
