"""``node.metrics()`` and the ``rumour.prometheus`` collector on real
loopback nodes: what a Prometheus server would scrape, parsed back."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import subprocess
import sys
import textwrap

import pytest
import rumour
from rumour import blocking

from conftest import config, wait_until

prometheus_client = pytest.importorskip("prometheus_client")
import rumour.prometheus  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def probed(node: rumour.Node | blocking.Node) -> bool:
    """Whether ``node`` has timed at least one probe (so the histogram has data)."""
    m = next(m for m in node.metrics() if m.name == "memberlist.probeNode")
    assert isinstance(m.value, rumour.Histogram)
    return m.value.count > 0


def scrape(registry) -> dict:
    """The registry's exposition, parsed back: family name -> family."""
    text = prometheus_client.generate_latest(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family, name: str, node: str, **labels: str) -> list:
    """The samples called ``name`` of ``node`` that have ``labels``."""
    wanted = {"node": node, **labels}
    return [s for s in family.samples if s.name == name and wanted.items() <= s.labels.items()]


def check_scrape(nodes: list, registry) -> None:
    """Every catalogue family is there for every node, with the values a
    converged cluster must show."""
    names = {n.name for n in nodes}
    families = scrape(registry)
    catalogue = {m.name: m.kind for m in nodes[0].metrics()}
    assert len(catalogue) >= 40
    for dotted, kind in catalogue.items():
        family = families.get(dotted.replace(".", "_"))
        assert family is not None, f"{dotted} missing from the scrape"
        assert family.type == kind, dotted
        assert {s.labels["node"] for s in family.samples} == names, dotted

    for n in nodes:
        instances = families["memberlist_node_instances"]
        [alive] = samples(instances, "memberlist_node_instances", n.name, node_state="alive")
        assert alive.value == len(nodes)
        for counter in ("memberlist_msg_alive", "memberlist_udp_sent", "rumour_packets_sent"):
            [total] = samples(families[counter], f"{counter}_total", n.name)
            assert total.value > 0, (counter, n.name)

        probe = families["memberlist_probeNode"]
        buckets = samples(probe, "memberlist_probeNode_bucket", n.name)
        bounds = [float(s.labels["le"]) for s in buckets]
        counts = [s.value for s in buckets]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf
        assert counts == sorted(counts), "buckets are cumulative"
        [count] = samples(probe, "memberlist_probeNode_count", n.name)
        [total] = samples(probe, "memberlist_probeNode_sum", n.name)
        assert count.value == counts[-1] > 0
        assert total.value > 0


@pytest.fixture
def trio():
    nodes = [blocking.Node(config(f"p{i}")).start() for i in range(3)]
    yield nodes
    for n in nodes:
        n.close()


def join(nodes: list[blocking.Node]) -> None:
    for n in nodes[1:]:
        n.join(nodes[0].addr, timeout=10)
    converged(nodes)


def converged(nodes: list) -> None:
    """Waits until every node sees them all and has timed a probe."""
    assert wait_until(lambda: all(len(n.members()) == len(nodes) for n in nodes))
    assert wait_until(lambda: all(probed(n) for n in nodes))


def test_metrics_are_typed_frozen_and_in_catalogue_order(trio) -> None:
    a = trio[0]
    metrics = a.metrics()
    assert metrics[0].name == "memberlist.gossip"
    kinds = {m.kind for m in metrics}
    assert kinds == {"counter", "gauge", "histogram"}
    for m in metrics:
        assert m.help and m.unit
        if m.kind == "counter":
            assert isinstance(m.value, int) and m.value >= 0
        elif m.kind == "gauge":
            assert isinstance(m.value, float)
        else:
            assert isinstance(m.value, rumour.Histogram)
            assert m.value.buckets[-1] == (math.inf, m.value.count)
    states = {m.labels["node_state"]: m.value for m in metrics if m.name == "memberlist.node.instances"}
    assert states == {"alive": 1.0, "suspect": 0.0, "dead": 0.0, "left": 0.0}
    with pytest.raises(dataclasses.FrozenInstanceError):
        metrics[0].value = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        metrics[0].labels["x"] = "y"  # type: ignore[index]
    a.close()
    with pytest.raises(rumour.ClosedError):
        a.metrics()


def test_the_collector_exposes_every_metric_of_every_blocking_node(trio) -> None:
    join(trio)
    registry = prometheus_client.CollectorRegistry()
    collector = rumour.prometheus.register(*trio, registry=registry)
    assert collector.nodes == trio
    check_scrape(trio, registry)


def test_the_collector_reads_asyncio_nodes_too() -> None:
    async def main() -> None:
        async with rumour.Node(config("q0")) as a, rumour.Node(config("q1")) as b:
            await b.join(a.addr, timeout=10)
            # Plain waits in a worker thread, as scrapes come from one too.
            await asyncio.to_thread(converged, [a, b])
            registry = prometheus_client.CollectorRegistry()
            rumour.prometheus.register(a, b, registry=registry)
            await asyncio.to_thread(check_scrape, [a, b], registry)

    asyncio.run(main())


def test_a_closed_node_is_left_out_of_the_scrape_without_an_error(trio) -> None:
    join(trio)
    registry = prometheus_client.CollectorRegistry()
    collector = rumour.prometheus.RumourCollector(trio[0], trio[1])
    registry.register(collector)
    collector.add(trio[2])
    collector.add(trio[2])  # once, however often added
    assert len(collector.nodes) == 3
    trio[1].close()
    families = scrape(registry)
    assert {s.labels["node"] for s in families["memberlist_health_score"].samples} == {"p0", "p2"}
    collector.remove(trio[2])
    collector.remove(trio[2])  # not collected any more: nothing happens
    families = scrape(registry)
    assert {s.labels["node"] for s in families["memberlist_health_score"].samples} == {"p0"}
    for n in trio:
        n.close()
    assert scrape(registry) == {}


def test_add_refuses_what_is_not_a_node() -> None:
    with pytest.raises(TypeError, match=r"rumour\.Node"):
        rumour.prometheus.RumourCollector("p0")  # type: ignore[arg-type]


def test_without_prometheus_client_import_rumour_works_and_the_collector_says_what_to_install() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["prometheus_client"] = None  # as if not installed
        import rumour
        assert "prometheus_client" not in sys.modules or sys.modules["prometheus_client"] is None
        try:
            import rumour.prometheus
        except ImportError as e:
            print(e)
        else:
            raise SystemExit("rumour.prometheus imported without prometheus_client")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pip install prometheus-client" in done.stdout
    assert "rumour[prometheus]" in done.stdout
