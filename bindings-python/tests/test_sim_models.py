"""rumour.sim's network models, scenarios, churn, workloads, per-node
configs and event log (issue 20), from Python."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import rumour
from rumour.sim import Latency, Link, MembershipRecord, MessageRecord, Sim

ZONES = {"eu": range(0, 4), "us": range(4, 8), "ap": range(8, 12)}
WAN = {
    ("eu", "us"): Link(Latency.fixed(0.08)),
    ("eu", "ap"): Link(0.15),
    ("us", "ap"): Link((0.1, 0.12), loss=0.01),
}


def test_zones_shape_every_message_between_them() -> None:
    sim = Sim(
        12, seed=1, converged_start=True, zones=ZONES, zone_links=WAN, latency=0.001, record=["messages"]
    )
    sim.run_for(10)
    assert sim.zones == ["eu", "us", "ap"] and sim.zone_of(5) == "us"
    rows = [m for m in sim.message_log(frame=False) if m.fate == "delivered" and not m.stream]
    assert rows and isinstance(rows[0], MessageRecord)
    zone = {i: sim.zone_of(i) for i in range(12)}
    fixed = {frozenset({z}): 0.001 for z in ZONES} | {
        frozenset({"eu", "us"}): 0.08,
        frozenset({"eu", "ap"}): 0.15,
    }
    for m in rows:
        pair = frozenset({zone[m.sender], zone[m.receiver]})
        if pair == {"us", "ap"}:
            assert 0.1 <= m.latency <= 0.12, m
        else:
            assert m.latency == pytest.approx(fixed[pair]), m
    assert {frozenset({zone[m.sender], zone[m.receiver]}) for m in rows} == set(fixed) | {
        frozenset({"us", "ap"})
    }


def test_the_logs_are_dataframes_with_pandas() -> None:
    pd = pytest.importorskip("pandas")
    sim = Sim(8, seed=2, converged_start=True, record=True)
    sim.run_for(2)
    sim.put(1, "k", b"v")
    sim.crash(7)
    sim.run_for(30)
    members = sim.membership_log()
    assert isinstance(members, pd.DataFrame)
    failed = members[(members.subject == 7) & (members.change == "failed")]
    assert sorted(failed.observer) == list(range(7))
    state = sim.state_log()
    # Written at node 1 just before node 7 crashed: every survivor holds it.
    assert set(state[state.key == "k"].observer) >= set(range(7))
    assert set(state[state.key == "k"].writer) == {1}
    traffic = sim.traffic_by_type()
    assert {"ping", "ack", "alive"} <= set(traffic.type)
    assert (traffic.bytes_per_second > 0).all()
    messages = sim.message_log()
    assert messages.bytes.sum() == traffic.bytes.sum()
    crashes = sim.crashes()
    assert list(crashes.name) == ["node-7"] and crashes.verdicts[0] == 7
    assert crashes["first"][0] <= crashes["median"][0] <= crashes["last"][0]


def test_the_logs_are_plain_rows_without_pandas() -> None:
    sim = Sim(5, seed=3, converged_start=True, record=["membership"])
    sim.crash(4)
    sim.run_for(30)
    rows = sim.membership_log(frame=False)
    assert all(isinstance(r, MembershipRecord) for r in rows)
    assert {r.observer for r in rows if r.subject == 4 and r.change == "failed"} == {0, 1, 2, 3}
    assert sim.message_log(frame=False) == [], "messages were not asked for"


def test_a_scenario_runs_at_its_times() -> None:
    sim = Sim(10, seed=4, converged_start=True, record=["state"])
    sim.scenario(
        [
            (5, "crash", 3),
            (10, "partition", range(0, 5), range(5, 10)),
            (12, "heal"),
            (15, "put", 1, "flag", b"on"),
            (20, "latency", Latency.lognormal(0.01, 0.5)),
            (22, "link", 0, 1, Link(0.2)),
            (24, "cut", 2, 4),
            (26, "restore", 2, 4),
            (28, "node_loss", 6, 0.2),
            (30, "bandwidth", 7, 50_000, 0.5),
            (32, "mute", 8),
            (34, "mute", 8, False),
            (60, "restart", 3),
        ]
    )
    sim.run_for(59)
    assert not sim.running(3)
    crash = sim.crashes(frame=False)[0]
    assert crash.name == "node-3" and crash.at == 5 and crash.verdicts == 9
    sim.run_for(2)
    assert sim.running(3)
    assert sim.run_until_converged(60)
    assert sim.get(0, "flag").value == b"on"


def test_churn_and_a_rolling_restart_settle() -> None:
    sim = Sim(30, seed=5, converged_start=True)
    sim.churn(range(1, 30), join_rate=0.5, crash_rate=0.2, leave_rate=0.1, start=5, stop=65)
    sim.run_for(66)
    assert 4 <= len(sim.crashes(frame=False)) <= 25
    for i in range(30):
        if not sim.running(i):
            sim.restart(i, 0)
    assert sim.time_to_converge(60) is not None
    before = sim.false_failures()
    sim.rolling_restart(range(30), start=sim.elapsed + 1, every=3, down_for=2)
    sim.run_for(120)
    assert sim.false_failures() == before
    assert sim.run_until_converged(30)


def test_a_workload_broadcasts_at_its_rate() -> None:
    sim = Sim(10, seed=6, converged_start=True, record=["traffic"])
    sim.workload([0, 1], 10, size=100, poisson=False, start=1, stop=6)
    sim.workload([2], 5, kind="writes", keys=3, size=20, start=1, stop=6)
    sim.run_for(10)
    by_type = {(r.node, r.type): r for r in sim.traffic_by_type(frame=False)}
    user = sum(r.messages for (_, t), r in by_type.items() if t == "user")
    assert user >= 50, user
    assert any(t == "state" for _, t in by_type)
    assert any(sim.get(5, f"load/{k}") is not None for k in range(3)), "the writes reached node 5"


def test_nodes_with_their_own_configs_and_lifeguard_on_some() -> None:
    configs = {1: rumour.Config.wan(enable_compression=False), 2: rumour.Config.lan(protocol_version=5)}
    sim = Sim(8, seed=7, configs=configs, lifeguard=range(0, 4))
    assert sim.run_until_converged(30)
    sim.crash(7)
    sim.run_for(60)
    lan_nodes = {0, 2, 3, 4, 5, 6}
    assert {observer for observer, _ in sim.detections("node-7")} >= lan_nodes
    # Node 1 runs wan(): a verdict that reaches it soon after it began to
    # suspect only confirms its own suspicion, which runs to wan()'s
    # timeout (30 s at least, 180 s at most; 31 to 117 s over 15 seeds).
    for _ in range(14):
        if len(sim.detections("node-7")) == 7:
            break
        sim.run_for(10)
    assert len(sim.detections("node-7")) == 7


def test_bad_input_names_the_argument() -> None:
    def field_of(call: Callable[[], object]) -> str:
        with pytest.raises(rumour.ConfigError) as e:
            call()
        return e.value.field

    assert field_of(lambda: Sim(4, zones={"eu": range(4)}, zone_links={("eu", "mars"): Link(0.1)})) == "zone"
    assert field_of(lambda: Sim(4, zones={"eu": range(3)})) == "zones"
    assert field_of(lambda: Sim(4, loss=1.2)) == "loss"
    assert field_of(lambda: Link(0.1, loss=-0.5)) == "loss"
    assert field_of(lambda: Latency.fixed(-0.01)) == "seconds"
    assert field_of(lambda: Latency.pareto(0.01, 0)) == "shape"
    assert field_of(lambda: Sim(4, latency=(-1, 2))) == "latency"
    assert field_of(lambda: Sim(4, record=["everything"])) == "record"
    assert field_of(lambda: Sim(4, configs={1: "wan"})) == "configs"
    assert field_of(lambda: Sim(0)) == "nodes"
    sim = Sim(4, zones={"a": [0, 1], "b": [2, 3]})
    assert field_of(lambda: sim.set_zone_link("a", "c", Link(0.1))) == "zone"
    assert field_of(lambda: sim.set_node_loss(1, 2.0)) == "loss"
    assert field_of(lambda: sim.schedule(1, "explode", 1)) == "action"
    assert field_of(lambda: sim.schedule(1, "crash")) == "node"
    assert field_of(lambda: sim.schedule(1, "crash", "one")) == "node"
    assert field_of(lambda: sim.churn([1], crash_rate=-1)) == "crash_rate"
    assert field_of(lambda: sim.workload([1], 0)) == "rate"
    assert field_of(lambda: sim.workload([1], 1, kind="gossip")) == "kind"
    sim.run_for(5)
    assert field_of(lambda: sim.schedule(1, "heal")) == "at"
    with pytest.raises(IndexError, match="node 9 does not exist"):
        sim.schedule(10, "crash", 9)
    with pytest.raises(IndexError, match="node 4"):
        Sim(4, configs={4: rumour.Config.lan()})
    with pytest.raises(IndexError):
        sim.cut(0, 7)
    with pytest.raises(IndexError):
        Sim(4, zones={"a": [0, 1, 2, 3, 4]})
    # Nothing was half done: the simulation still runs.
    sim.run_for(5)
    assert sim.converged()
