"""The simulator from Python: plain data out, faults in, same seed same run."""

from __future__ import annotations

import pytest
import rumour
from rumour.sim import Sim


def test_a_crash_is_detected_by_every_other_node() -> None:
    sim = Sim(20, seed=3)
    assert sim.run_until_converged(30)
    sim.crash(7)
    sim.run_for(25)
    detections = sim.detections("node-7")
    assert len(detections) == 19
    assert all(0 < seconds < 25 for _, seconds in detections)
    assert sim.view(0, 7) == "dead"
    assert not sim.running(7)


def test_a_broadcast_spreads_and_the_same_seed_replays_the_same_run() -> None:
    def spread(seed: int) -> list:
        sim = Sim(30, seed=seed)
        sim.run_until_converged(30)
        sim.broadcast(4, b"news")
        sim.run_for(10)
        return sim.broadcast_spread(b"news")

    a, b = spread(11), spread(11)
    assert a == b
    assert sum(t is not None for t in a) == 30
    assert spread(12) != a


def test_partition_heal_state_and_slow_nodes() -> None:
    sim = Sim(10, seed=5, preset="lan")
    sim.run_until_converged(30)
    sim.put(1, "k", b"v")
    assert sim.run_until_state_agrees(10)
    assert sim.get(9, "k").value == b"v"
    sim.partition(range(5), range(5, 10))
    sim.put(2, "k", b"left")
    sim.run_for(5)
    assert not sim.state_agrees()
    sim.heal()
    sim.run_for(60)
    sim.join(5, 0)
    assert sim.run_until_state_agrees(120)
    sim.set_slow(3, message_delay=0.5, timer_delay=0.5)
    sim.run_for(10)
    sim.set_slow(3)
    assert sim.traffic(0)[0] > 0 and sim.stats(0)["probes"] > 0


def _seeded(seeds: list[str]) -> rumour.Config:
    return rumour.Config.lan(seeds=seeds, enable_compression=False)


def test_nodes_started_in_any_order_find_each_other_through_their_seeds() -> None:
    assert Sim.address(0) == "127.1.0.0:7946"
    sim = Sim(12, seed=21, config=_seeded([Sim.address(0)]), autostart=False)
    assert not any(sim.running(i) for i in range(12))
    # Everyone but the seed starts, one every 0.2 s; with the seed down
    # nobody can introduce them, so they stay strangers.
    for i in range(1, 12):
        sim.schedule(0.2 * i, "start", i)
    sim.run_for(4)
    assert all(sim.running(i) for i in range(1, 12))
    assert sim.view(1, 2) is None and not sim.converged()
    sim.start(0)
    assert sim.time_to_converge(60) is not None
    sim.start(0)  # a running node is left alone
    assert sim.running(0) and sim.converged()


def test_a_seed_name_resolves_once_set_dns_gives_it_addresses() -> None:
    sim = Sim(6, seed=4, config=_seeded(["seeds.sim:7946"]), autostart=False)
    for i in range(6):
        sim.start(i)
    sim.run_for(5)
    assert sim.view(1, 0) is None, "the name resolves to nothing yet"
    sim.set_dns("seeds.sim:7946", [0, Sim.address(1)])
    assert sim.run_until_converged(90)


@pytest.mark.parametrize("peer_files", [True, False])
def test_a_cluster_restarted_with_its_seed_down_reforms_only_from_peer_files(peer_files: bool) -> None:
    sim = Sim(10, seed=8, config=_seeded([Sim.address(0)]), autostart=False, peer_files=peer_files)
    for i in range(10):
        sim.start(i)
    assert sim.run_until_converged(30)
    for i in range(10):
        sim.crash(i)
    sim.run_for(5)  # let the packets in flight at the crash be lost
    for i in range(1, 10):  # the seed stays down
        sim.start(i)
    assert sim.run_until_converged(60) == peer_files


def test_bad_arguments_raise() -> None:
    with pytest.raises(rumour.ConfigError) as err:
        Sim(0)
    assert err.value.field == "nodes"
    with pytest.raises(rumour.ConfigError) as err:
        Sim((255 << 16) + 1)
    assert err.value.field == "nodes"
    with pytest.raises(rumour.ConfigError):
        Sim(3, loss=1.5)
    with pytest.raises(rumour.ConfigError):
        Sim(3, preset="moon")
    sim = Sim(3)
    with pytest.raises(IndexError):
        sim.crash(3)
    with pytest.raises(IndexError):
        sim.start(3)
    with pytest.raises(IndexError):
        Sim.address(-1)
    with pytest.raises(IndexError):
        Sim.address(255 << 16)
    with pytest.raises(rumour.ConfigError) as err:
        sim.set_dns("seeds.sim:7946", ["not an address"])
    assert err.value.field == "addrs"
    with pytest.raises(IndexError):
        sim.set_dns("seeds.sim:7946", [3])
    with pytest.raises(rumour.ConfigError) as err:
        sim.set_dns("", [0])
    assert err.value.field == "name"
    with pytest.raises(rumour.TooLargeError):
        sim.broadcast(0, b"x" * 5000)
    with pytest.raises(ValueError):
        sim.put(0, "k", b"v", kind="forever")


def test_numpy_and_pandas_views_when_installed() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    sim = Sim(10, seed=2)
    sim.run_until_converged(30)
    sim.broadcast(0, b"b")
    sim.run_for(5)
    sim.crash(4)
    sim.run_for(25)
    arr = sim.spread_array(b"b")
    assert arr.shape == (10,) and not np.isnan(arr[1:]).any()
    frame = sim.detections_frame(["node-4"])
    assert isinstance(frame, pd.DataFrame) and len(frame) == 9
