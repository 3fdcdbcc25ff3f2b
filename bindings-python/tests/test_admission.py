"""TCP admission: a connection that sends nothing is closed at the first-byte
deadline and counted; the limits are config fields with documented defaults."""

from __future__ import annotations

import socket
import time

import rumour
from rumour import blocking


def test_the_admission_limits_default_as_documented() -> None:
    lan = rumour.Config.lan()
    assert (lan.tcp_first_byte_timeout, rumour.Config.wan().tcp_first_byte_timeout) == (1.0, 3.0)
    limits = (lan.tcp_max_incoming, lan.tcp_max_incoming_per_source, lan.tcp_reserved_for_members)
    assert limits == (256, 32, 64)


def test_a_connection_that_sends_nothing_is_closed_and_counted() -> None:
    config = rumour.Config.local(name="quiet", bind="127.0.0.1:0", tcp_first_byte_timeout=0.3)
    with blocking.Node(config) as node:
        host, port = node.addr.rsplit(":", 1)
        idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(3)]
        try:
            deadline = time.monotonic() + 5
            while node.stats()["streams_silent"] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert node.stats()["streams_silent"] == 3
            for conn in idle:
                assert conn.recv(1) == b"", "the node closed it"
            assert node.stats()["streams_evicted"] == 0
        finally:
            for conn in idle:
                conn.close()
