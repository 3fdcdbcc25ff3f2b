"""rumour: gossip membership (SWIM + Lifeguard) speaking the HashiCorp
memberlist protocol, with a replicated key-value map and a deterministic
simulator (:mod:`rumour.sim`).

asyncio::

    async with rumour.Node(rumour.Config.lan(name="web-1", seeds=["10.0.0.2:7946"])) as node:
        async for event in node.events():
            match event:
                case rumour.MemberJoined(member=m):
                    print(m.name, "joined")

Blocking code uses :class:`rumour.blocking.Node`, the same API without
``async``. Logs go to ``logging.getLogger("rumour")``.
"""

from . import _native, blocking, errors, events
from ._base import Keyring, StateSummary, Stats
from ._config import Config
from ._hub import AsyncEvents, Events, Listener
from ._metrics import Histogram, Metric
from ._node import Node, State
from .errors import (
    ClosedError,
    ConfigError,
    ForkError,
    JoinError,
    JoinTimeoutError,
    KeyringError,
    LeaveTimeoutError,
    LeftError,
    NodeError,
    RumourError,
    SeedFailure,
    StartError,
    StateError,
    TooLargeError,
    UnknownMemberError,
)
from .events import (
    Event,
    EventsLost,
    Joined,
    JoinGaveUp,
    Member,
    MemberFailed,
    MemberJoined,
    MemberLeft,
    MemberRecovered,
    MemberState,
    MemberSuspect,
    MemberUpdated,
    Message,
    RemoteState,
    StateChanged,
    StateEntry,
)

__version__: str = _native.__version__
"""The workspace's one version: the crates', the wheel's, the npm packages' and librumour's."""

__all__ = [
    "AsyncEvents",
    "ClosedError",
    "Config",
    "ConfigError",
    "Event",
    "Events",
    "EventsLost",
    "ForkError",
    "Histogram",
    "JoinError",
    "JoinGaveUp",
    "JoinTimeoutError",
    "Joined",
    "Keyring",
    "KeyringError",
    "LeaveTimeoutError",
    "LeftError",
    "Listener",
    "Member",
    "MemberFailed",
    "MemberJoined",
    "MemberLeft",
    "MemberRecovered",
    "MemberState",
    "MemberSuspect",
    "MemberUpdated",
    "Message",
    "Metric",
    "Node",
    "NodeError",
    "RemoteState",
    "RumourError",
    "SeedFailure",
    "StartError",
    "State",
    "StateChanged",
    "StateEntry",
    "StateError",
    "StateSummary",
    "Stats",
    "TooLargeError",
    "UnknownMemberError",
    "blocking",
    "errors",
    "events",
]
