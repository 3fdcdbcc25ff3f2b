"""The deterministic simulator, for notebooks: the real protocol code for
hundreds or thousands of nodes on a virtual clock, with faults on demand.
The same seed replays the same run.

    from rumour.sim import Sim
    sim = Sim(nodes=100, seed=7)
    sim.run_until_converged(30)
    sim.crash(42)
    sim.run_for(60)
    sim.detections("node-42")        # [(observer, seconds after the crash), ...]

Results are plain Python data. With NumPy and pandas installed
(``pip install rumour[science]``), :meth:`Sim.detections_frame` and
:meth:`Sim.spread_array` return a DataFrame and an array instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _native
from ._config import Config
from .events import StateEntry

__all__ = ["Sim"]

_KINDS = {"until_deleted", "ephemeral", "ttl"}


class Sim:
    """A simulated cluster of ``nodes`` named ``node-0``, ``node-1``, ...

    ``preset`` is ``"lan"``, ``"wan"`` or ``"local"`` (or pass ``config``);
    ``loss`` the probability a packet is lost; ``latency`` the link delay
    range in seconds; ``converged_start`` starts with every node knowing
    every other; ``aligned_timers`` puts every probe on the same tick (the
    SWIM paper's model); ``trace_probes`` records probe outcomes;
    ``lifeguard=False`` turns the Lifeguard refinements off (plain SWIM).
    """

    def __init__(
        self,
        nodes: int = 10,
        *,
        seed: int = 0x5EED,
        preset: str = "lan",
        config: Config | None = None,
        loss: float = 0.0,
        latency: tuple[float, float] = (0.001, 0.005),
        converged_start: bool = False,
        aligned_timers: bool = False,
        trace_probes: bool = False,
        lifeguard: bool = True,
    ) -> None:
        if config is None:
            config = {"lan": Config.lan, "wan": Config.wan, "local": Config.local}.get(
                preset, _bad_preset(preset)
            )(enable_compression=False)
        native_config = config._to_native()
        self._sim = _native.NativeSim(
            int(nodes),
            int(seed),
            native_config,
            float(loss),
            (float(latency[0]), float(latency[1])),
            bool(converged_start),
            bool(aligned_timers),
            bool(trace_probes),
            bool(lifeguard),
        )

    def __len__(self) -> int:
        return len(self._sim)

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the start."""
        return self._sim.elapsed()

    def run_for(self, seconds: float) -> None:
        """Runs ``seconds`` of virtual time."""
        self._sim.run_for(float(seconds))

    def run_until_converged(self, limit: float = 60.0) -> bool:
        """Runs until every running node sees every other alive; False after ``limit`` seconds."""
        return self._sim.run_until_converged(float(limit))

    def run_until_state_agrees(self, limit: float = 60.0) -> bool:
        """Runs until every running replica of the map agrees; False after ``limit``."""
        return self._sim.run_until_state_agrees(float(limit))

    def name(self, i: int) -> str:
        return self._sim.name(i)

    def running(self, i: int) -> bool:
        return self._sim.running(i)

    def converged(self) -> bool:
        return self._sim.converged()

    def state_agrees(self) -> bool:
        return self._sim.state_agrees()

    def view(self, observer: int, subject: int) -> str | None:
        """How ``observer`` sees ``subject``: "alive", "suspect", "dead", "left" or None."""
        return self._sim.view(observer, subject)

    # ---- faults and commands ----

    def crash(self, i: int) -> None:
        """Stops node ``i`` without a word, as ``kill -9`` would."""
        self._sim.crash(i)

    def restart(self, i: int, via: int = 0) -> None:
        """Restarts a crashed node under its name and joins it through ``via``."""
        self._sim.restart(i, via)

    def join(self, i: int, via: int = 0) -> None:
        self._sim.join(i, via)

    def leave(self, i: int) -> None:
        self._sim.leave(i)

    def broadcast(self, i: int, data: bytes) -> None:
        """Node ``i`` broadcasts; see :meth:`broadcast_spread`."""
        self._sim.broadcast(i, bytes(data))

    def set_meta(self, i: int, meta: bytes) -> None:
        self._sim.set_meta(i, bytes(meta))

    def partition(self, *groups: Sequence[int]) -> None:
        """Splits the cluster: nodes in different groups cannot reach each
        other; nodes not listed form one more group."""
        self._sim.partition([list(g) for g in groups])

    def heal(self) -> None:
        self._sim.heal()

    def set_loss(self, loss: float) -> None:
        self._sim.set_loss(float(loss))

    def set_slow(self, i: int, message_delay: float = 0.0, timer_delay: float = 0.0) -> None:
        """Makes node ``i`` CPU-starved: it handles messages and timers late
        (both zero makes it normal again)."""
        slow = None if message_delay == 0 and timer_delay == 0 else (float(message_delay), float(timer_delay))
        self._sim.set_slow(i, slow)

    def put(
        self, i: int, key: str, value: bytes, *, kind: str = "until_deleted", ttl: float | None = None
    ) -> int:
        """Node ``i`` writes to the replicated map (``kind``: until_deleted, ephemeral, ttl)."""
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, not {kind!r}")
        return self._sim.put(i, key, bytes(value), kind, ttl)

    def delete(self, i: int, key: str) -> int | None:
        return self._sim.delete(i, key)

    def get(self, i: int, key: str) -> StateEntry | None:
        t = self._sim.get(i, key)
        return None if t is None else StateEntry._from(t)

    # ---- what happened ----

    def detections(self, name: str) -> list[tuple[int, float]]:
        """For a crashed node: ``(observer, seconds after the crash)`` per node that declared it failed."""
        return self._sim.detections(name)

    def broadcast_spread(self, data: bytes) -> list[float | None] | None:
        """Seconds after the broadcast at which each node first held it (None: never)."""
        return self._sim.broadcast_spread(bytes(data))

    def update_spread(self, name: str) -> list[float | None] | None:
        """Seconds after ``name``'s metadata update at which each node saw it."""
        return self._sim.update_spread(name)

    def false_suspicions(self) -> int:
        return self._sim.false_suspicions()

    def false_failures(self) -> int:
        return self._sim.false_failures()

    def false_verdicts(self) -> list[tuple[int, str, float]]:
        """``(observer, subject, seconds)`` for each failure declared of a running node."""
        return self._sim.false_verdicts()

    def traffic(self, i: int) -> tuple[int, int]:
        """``(packets, bytes)`` node ``i`` has sent."""
        return self._sim.traffic(i)

    def stats(self, i: int) -> dict | None:
        """Node ``i``'s protocol counters (packets and bytes sent, probes,
        refutes, state sync, join attempts, seed push-pulls, hails answered);
        None while it is crashed."""
        return self._sim.stats(i)

    # ---- with NumPy and pandas ----

    def spread_array(self, data: bytes) -> Any:
        """:meth:`broadcast_spread` as a NumPy float array (NaN: never)."""
        import numpy as np

        spread = self.broadcast_spread(data) or []
        return np.array([np.nan if t is None else t for t in spread], dtype=float)

    def detections_frame(self, names: Sequence[str]) -> Any:
        """Detections of several crashed nodes as a pandas DataFrame
        (columns: crashed, observer, seconds)."""
        import pandas as pd  # type: ignore[import-untyped]

        rows = [(name, o, s) for name in names for o, s in self.detections(name)]
        return pd.DataFrame(rows, columns=["crashed", "observer", "seconds"])


def _bad_preset(preset: str) -> Any:
    def fail(**_: Any) -> Config:
        from .errors import ConfigError

        raise ConfigError(f"unknown preset {preset!r}; use lan, wan or local", "preset")

    return fail
