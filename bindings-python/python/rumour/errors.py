"""The exceptions rumour raises, rooted at :class:`RumourError`.

Each carries ``field``: the argument or config field at fault, when one is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ClosedError",
    "ConfigError",
    "ForkError",
    "JoinError",
    "JoinTimeoutError",
    "KeyringError",
    "LeaveTimeoutError",
    "LeftError",
    "NodeError",
    "RumourError",
    "SeedFailure",
    "StartError",
    "StateError",
    "TooLargeError",
    "UnknownMemberError",
]


class RumourError(Exception):
    """Base of every rumour exception."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConfigError(RumourError, ValueError):
    """A config field (named in ``field``) cannot work; nothing was started."""


class StartError(RumourError, OSError):
    """The node could not start: the address could not be bound, or no thread."""


@dataclass(frozen=True)
class SeedFailure:
    """Why one seed (or remembered peer) could not be joined."""

    seed: str
    """The seed as configured or given to ``join()`` (``"host:port"``, or the
    address a host name resolved to)."""
    reason: str
    """Resolution, connection, timeout or the peer's refusal, in words."""


class JoinError(RumourError):
    """No seed answered; ``failures`` lists each seed and why (as does the
    message). From ``join()``: the node runs on alone. From ``joined()``: the
    node gave up after ``attempts`` (``retry_join_max_attempts``) attempts and
    ``failures`` are the last attempt's; gossip to seeds goes on, so it still
    joins if a seed comes up."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        failures: Iterable[SeedFailure | tuple[str, str]] = (),
        attempts: int | None = None,
    ) -> None:
        super().__init__(message, field)
        self.failures: tuple[SeedFailure, ...] = tuple(
            f if isinstance(f, SeedFailure) else SeedFailure(*f) for f in failures
        )
        """Each seed that failed and why (empty for a timeout or no seeds)."""
        self.attempts = attempts
        """Join attempts made, when the node gave up (None from ``join()``)."""


class JoinTimeoutError(JoinError, TimeoutError):
    """``joined()`` waited its whole timeout: no seed or peer has answered yet. The
    node keeps trying its seeds; call ``joined()`` again to wait longer. A
    ``TimeoutError`` as well as a :class:`JoinError`."""


class NodeError(RumourError):
    """A call on a running node was refused; nothing changed."""


class ClosedError(NodeError):
    """The node is closed."""


class ForkError(NodeError):
    """The node was started in another process; its threads did not survive ``fork()``."""


class TooLargeError(NodeError, ValueError):
    """Metadata, a message or state is larger than allowed."""


class UnknownMemberError(NodeError, LookupError):
    """No alive member has that name."""


class LeftError(NodeError):
    """This node has left the cluster."""


class KeyringError(NodeError, ValueError):
    """A keyring change was refused (bad key size, removing the primary key...)."""


class LeaveTimeoutError(NodeError, TimeoutError):
    """``leave()`` could not confirm the news went out in time; the node has left anyway."""


class StateError(NodeError, ValueError):
    """A write to the replicated map was refused (bad key, value too large, map full, zero TTL)."""
