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


def test_bad_arguments_raise() -> None:
    with pytest.raises(rumour.ConfigError) as err:
        Sim(0)
    assert err.value.field == "nodes"
    with pytest.raises(rumour.ConfigError):
        Sim(3, loss=1.5)
    with pytest.raises(rumour.ConfigError):
        Sim(3, preset="moon")
    sim = Sim(3)
    with pytest.raises(IndexError):
        sim.crash(3)
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
