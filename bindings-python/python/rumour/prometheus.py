"""A ``prometheus_client`` collector for rumour nodes: every metric of
``node.metrics()``, named as Prometheus names memberlist's metrics
(``memberlist_msg_alive_total``, ``memberlist_probeNode_bucket``...), with a
``node`` label so that several nodes can share one process and one endpoint.

Needs ``prometheus_client``, which ``import rumour`` never does::

    pip install prometheus-client      # or: pip install 'rumour[prometheus]'

Usage::

    import prometheus_client
    import rumour.prometheus

    node = rumour.blocking.Node(rumour.Config.lan(name="web-1")).start()
    rumour.prometheus.register(node)          # into prometheus_client.REGISTRY
    prometheus_client.start_http_server(9464)  # GET :9464/metrics

The values are read from each node at every scrape; nothing runs between
scrapes. A node that is closed (or stopped by a fork) is left out of the
scrape without an error; :meth:`RumourCollector.remove` forgets it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Union

try:
    import prometheus_client
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.registry import Collector, CollectorRegistry
    from prometheus_client.utils import floatToGoString
except ImportError as e:  # the extra is optional: say how to get it
    raise ImportError(
        "rumour.prometheus needs prometheus_client, which is not installed: "
        "pip install prometheus-client (or the extra: pip install 'rumour[prometheus]')",
        name="prometheus_client",
    ) from e

from . import blocking
from ._metrics import Histogram
from ._metrics import Metric as RumourMetric
from ._node import Node as AsyncNode
from .errors import ClosedError, RumourError

__all__ = ["AnyNode", "RumourCollector", "register"]

AnyNode = Union[AsyncNode, blocking.Node]
"""Either kind of node: both read their metrics without waiting on the network."""

_log = logging.getLogger("rumour")


def _family(m: RumourMetric, label_names: list[str]) -> Metric:
    """An empty family for ``m``, named with underscores. The unit goes into
    the help text, not the name: ``prometheus_client`` would append it to the
    name, and the names must stay memberlist's."""
    name = m.name.replace(".", "_")
    doc = f"{m.help.rstrip('.')} ({m.unit})."
    if m.kind == "counter":
        # prometheus_client writes the `_total` itself.
        return CounterMetricFamily(name, doc, labels=label_names)
    if m.kind == "gauge":
        return GaugeMetricFamily(name, doc, labels=label_names)
    return HistogramMetricFamily(name, doc, labels=label_names)


def _add(family: Metric, label_values: list[str], value: int | float | Histogram) -> None:
    if isinstance(value, Histogram):
        assert isinstance(family, HistogramMetricFamily)
        buckets = [(floatToGoString(bound), float(count)) for bound, count in value.buckets]
        family.add_metric(label_values, buckets, value.sum)
    else:
        assert isinstance(family, (CounterMetricFamily, GaugeMetricFamily))
        family.add_metric(label_values, value)


class RumourCollector(Collector):
    """Collects the metrics of one or more nodes (asyncio or blocking) at
    each scrape, one family per metric with a sample per node.

    Register it once per registry (a second collector with live nodes in
    the same registry clashes on the names); :meth:`add` and
    :meth:`remove` change its nodes at any time, from any thread::

        collector = rumour.prometheus.RumourCollector(node_a, node_b)
        prometheus_client.REGISTRY.register(collector)
        prometheus_client.start_http_server(9464)
        collector.add(node_c)
    """

    def __init__(self, *nodes: AnyNode) -> None:
        self._lock = threading.Lock()
        self._nodes: list[AnyNode] = []
        for node in nodes:
            self.add(node)

    @property
    def nodes(self) -> list[AnyNode]:
        """The nodes collected, in the order they were added."""
        with self._lock:
            return list(self._nodes)

    def add(self, node: AnyNode) -> None:
        """Collects ``node`` too from the next scrape on (once, however often added)."""
        if not isinstance(node, (AsyncNode, blocking.Node)):
            raise TypeError(f"node must be a rumour.Node or rumour.blocking.Node, not {type(node).__name__}")
        with self._lock:
            if not any(n is node for n in self._nodes):
                self._nodes.append(node)

    def remove(self, node: AnyNode) -> None:
        """Stops collecting ``node``; nothing happens if it was not collected."""
        with self._lock:
            self._nodes = [n for n in self._nodes if n is not node]

    def collect(self) -> Iterator[Metric]:
        """The families, in catalogue order, each with a sample per node
        that is running; never raises because of a node."""
        # name -> (family, its label names beyond `node`)
        families: dict[str, tuple[Metric, list[str]]] = {}
        for node in self.nodes:
            try:
                metrics = node.metrics()
                name = node.name
            except ClosedError:
                continue  # closed, or closed since the last scrape: not an error
            except RumourError as e:
                # A scrape must not fail for one node (a forked process's
                # copy, say); say why it is missing, at debug level as every
                # scrape would repeat it.
                _log.debug("metrics of a node skipped: %s", e)
                continue
            for m in metrics:
                if m.name not in families:
                    keys = list(m.labels)
                    families[m.name] = (_family(m, ["node", *keys]), keys)
                family, keys = families[m.name]
                _add(family, [name, *(m.labels.get(k, "") for k in keys)], m.value)
        yield from (family for family, _ in families.values())


def register(*nodes: AnyNode, registry: CollectorRegistry = prometheus_client.REGISTRY) -> RumourCollector:
    """Makes a :class:`RumourCollector` of ``nodes``, registers it in
    ``registry`` (the process-wide default unless given) and returns it,
    to :meth:`~RumourCollector.add` nodes later::

        collector = rumour.prometheus.register(node)
        prometheus_client.start_http_server(9464)
    """
    collector = RumourCollector(*nodes)
    registry.register(collector)
    return collector
