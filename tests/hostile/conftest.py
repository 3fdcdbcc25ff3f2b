"""The short set (`-m "not full"`, about 80 s) is the one for `make test`;
the `full` variants attack longer and harder. Fixtures: the peers (started once per session,
one plain cluster and one with a key and a label; or per test, for the
attacks that fill the cluster's map) and a fresh victim per test, so each
attack's memory figures are its own."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from harness import Peers, Victim

CLUSTER_KEY = bytes(range(16))
CLUSTER_LABEL = "blue"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "full: a longer or harder attack, left out of `make test`")


@pytest.fixture(scope="session")
def peers() -> Iterator[Peers]:
    p = Peers("plain")
    yield p
    p.close()


@pytest.fixture(scope="session")
def keyed_peers() -> Iterator[Peers]:
    p = Peers("keyed", keys=[CLUSTER_KEY], label=CLUSTER_LABEL)
    yield p
    p.close()


@pytest.fixture
def fresh_peers() -> Iterator[Peers]:
    """Peers of one test's own, for attacks that leave the cluster's map full:
    the next victim would otherwise spend its first seconds copying it."""
    p = Peers(f"fresh{next(_numbers)}")
    yield p
    p.close()


_numbers = itertools.count(1)


@pytest.fixture
def victim_of() -> Iterator[Callable[..., Victim]]:
    """`victim_of(peers, **config)`: a new victim joined to `peers`, stopped after the test."""
    started: list[Victim] = []

    def start(peers: Peers, **overrides: object) -> Victim:
        v = Victim(f"victim-{next(_numbers)}", peers, **overrides)
        started.append(v)
        return v

    yield start
    for v in started:
        v.stop()
