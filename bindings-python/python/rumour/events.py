"""Members and events: frozen, typed, and matchable with ``match``.

>>> match event:
...     case MemberJoined(member=m):
...         print(m.name, "joined at", m.addr)
...     case Message(sender=s, data=d):
...         print(s, "says", d)
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from .errors import SeedFailure

__all__ = [
    "Event",
    "EventsLost",
    "JoinGaveUp",
    "Joined",
    "Member",
    "MemberFailed",
    "MemberJoined",
    "MemberLeft",
    "MemberRecovered",
    "MemberState",
    "MemberSuspect",
    "MemberUpdated",
    "Message",
    "RemoteState",
    "StateChanged",
    "StateEntry",
]


class MemberState(str, enum.Enum):
    """How a member is seen."""

    ALIVE = "alive"
    SUSPECT = "suspect"
    DEAD = "dead"
    LEFT = "left"


@dataclass(frozen=True)
class Member:
    """A member of the cluster. ``addr`` is a ``"host:port"`` that ``join`` accepts."""

    name: str
    addr: str
    state: MemberState
    incarnation: int
    meta: bytes

    @classmethod
    def _from(cls, t: tuple) -> Member:
        name, addr, state, incarnation, meta = t
        return cls(name, addr, MemberState(state), incarnation, meta)


@dataclass(frozen=True)
class MemberJoined:
    """A member joined (or came back after being failed or gone)."""

    member: Member


@dataclass(frozen=True)
class MemberUpdated:
    """A member changed its metadata."""

    member: Member


@dataclass(frozen=True)
class MemberSuspect:
    """A member missed its probes and is suspected."""

    member: Member


@dataclass(frozen=True)
class MemberRecovered:
    """A suspected member refuted the suspicion."""

    member: Member


@dataclass(frozen=True)
class MemberFailed:
    """A member was declared failed."""

    member: Member


@dataclass(frozen=True)
class MemberLeft:
    """A member left gracefully."""

    member: Member


@dataclass(frozen=True)
class Message:
    """A user message. ``kind`` is ``"broadcast"``, ``"direct"`` or ``"plain"``
    (a Go memberlist peer's, which carries no sender)."""

    sender: str | None
    kind: str
    data: bytes


@dataclass(frozen=True)
class StateChanged:
    """A key of the replicated map changed here; ``value`` is None when deleted."""

    key: str
    value: bytes | None
    writer: str
    timestamp: int


@dataclass(frozen=True)
class RemoteState:
    """A Go memberlist peer's push-pull user state."""

    data: bytes


@dataclass(frozen=True)
class Joined:
    """This node joined a cluster: ``via`` (``"host:port"``) answered a join (a
    seed, a remembered peer, an explicit ``join``) or joined this node. Once per
    start; the moment ``joined()`` waits for."""

    via: str


@dataclass(frozen=True)
class JoinGaveUp:
    """This node stopped trying its seeds after ``attempts`` failed attempts
    (``retry_join_max_attempts``); ``failures`` are the last attempt's. It
    still gossips to the seeds and answers peers, so a :class:`Joined` may
    follow. ``joined()`` raises a ``JoinError`` carrying the same."""

    attempts: int
    failures: tuple[SeedFailure, ...]


@dataclass(frozen=True)
class EventsLost:
    """This many events were dropped before this one: the consumer fell behind."""

    count: int


Event = Union[
    MemberJoined,
    MemberUpdated,
    MemberSuspect,
    MemberRecovered,
    MemberFailed,
    MemberLeft,
    Message,
    StateChanged,
    RemoteState,
    Joined,
    JoinGaveUp,
    EventsLost,
]


@dataclass(frozen=True)
class StateEntry:
    """A live key of the replicated map."""

    key: str
    value: bytes
    writer: str
    timestamp: int
    ephemeral: bool
    expires_unix_ms: int | None

    @classmethod
    def _from(cls, t: tuple) -> StateEntry:
        return cls(*t)


_MEMBER_EVENTS: dict[str, Callable[[Member], Event]] = {
    "joined": MemberJoined,
    "updated": MemberUpdated,
    "suspect": MemberSuspect,
    "recovered": MemberRecovered,
    "failed": MemberFailed,
    "left": MemberLeft,
}


def _event(t: tuple) -> Event:
    """The event class for a native event tuple."""
    kind = t[0]
    member_event = _MEMBER_EVENTS.get(kind)
    if member_event is not None:
        return member_event(Member._from(t[1]))
    if kind == "message":
        return Message(t[1], t[2], t[3])
    if kind == "state_changed":
        return StateChanged(t[1], t[2], t[3], t[4])
    if kind == "remote_state":
        return RemoteState(t[1])
    if kind == "events_lost":
        return EventsLost(t[1])
    if kind == "cluster_joined":
        return Joined(t[1])
    if kind == "join_gave_up":
        return JoinGaveUp(t[1], tuple(SeedFailure(seed, reason) for seed, reason in t[2]))
    raise ValueError(f"unknown native event {kind!r}")
