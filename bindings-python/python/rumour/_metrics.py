"""A node's metrics as typed, frozen values (``node.metrics()``): memberlist's
names where memberlist has the metric, ``rumour.*`` for the rest."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["Histogram", "Metric", "MetricKind"]

MetricKind = Literal["counter", "gauge", "histogram"]
"""What a metric is, in Prometheus' terms."""


@dataclass(frozen=True)
class Histogram:
    """A timing distribution, in milliseconds."""

    buckets: tuple[tuple[float, int], ...]
    """``(upper bound in ms, observations at or below it)``, cumulative as
    Prometheus counts them; the last bound is ``float("inf")``, so its count
    equals :attr:`count`."""
    sum: float
    """Sum of the observations, in milliseconds."""
    count: int
    """How many observations."""


@dataclass(frozen=True)
class Metric:
    """One metric's value at one node, read when ``node.metrics()`` was called."""

    name: str
    """The dotted catalogue name (``memberlist.msg.alive``); Prometheus spells
    it with underscores, and a counter with ``_total`` after it."""
    kind: MetricKind
    unit: str
    """What one unit is (``bytes``, ``ms``, ``messages``...)."""
    help: str
    """What it says, in a sentence."""
    labels: Mapping[str, str]
    """Labels beyond the node's name (``node_state`` for
    ``memberlist.node.instances``); read-only."""
    value: int | float | Histogram
    """An int for a counter, a float for a gauge, a :class:`Histogram`."""

    @classmethod
    def _from(cls, t: tuple) -> Metric:
        name, kind, unit, help, labels, value = t
        if kind == "histogram":
            buckets, total, count = value
            value = Histogram(tuple(buckets), total, count)
        # A read-only view: the metric is frozen, its labels should be too.
        return cls(name, kind, unit, help, types.MappingProxyType(dict(labels)), value)
