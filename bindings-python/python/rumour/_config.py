"""The node configuration: frozen, validated when made."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from . import _native
from .errors import ConfigError

__all__ = ["Config"]


@dataclass(frozen=True)
class Config:
    """Everything a node needs. Start from a preset and override fields::

        Config.lan(name="web-1", bind="0.0.0.0:7946", seeds=["10.0.0.2:7946"])

    The presets equal HashiCorp memberlist's ``DefaultLANConfig``,
    ``DefaultWANConfig`` and ``DefaultLocalConfig``. Durations are in
    seconds. A bad value raises :class:`rumour.ConfigError` naming the
    field. ``Config()`` is ``Config.lan()``.
    """

    name: str = ""
    """Unique node name; empty for the host name plus a short random suffix."""
    bind: str = "0.0.0.0:7946"
    """Address to bind, ``"host:port"``; port 0 picks a free port."""
    advertise: str | None = None
    """Address to tell peers, when it differs from the bound one (NAT, containers)."""
    seeds: list[str] = field(default_factory=list)
    """Peers to join (``"host:port"``, host names allowed, every A/AAAA record tried).
    Not used once: the node keeps trying them until one answers, so nodes start in
    any order, and later push-pulls with any that is not among its live members."""
    retry_join_interval: float = 1.0
    """Seconds to wait after the first failed join attempt; doubles per failure up to
    ``retry_join_max_interval``, jittered. Seeds are pinged four times per interval
    meanwhile, and an answer brings the next attempt forward."""
    retry_join_max_interval: float = 30.0
    """The longest wait between join attempts, in seconds."""
    retry_join_max_attempts: int = 0
    """Attempts before ``joined()`` raises :class:`rumour.JoinError`; 0 tries forever."""
    gossip_to_seeds: bool = True
    """Push-pull every ``push_pull_interval`` with a seed missing from the live
    members, so clusters that formed apart become one."""
    peers_file: str | os.PathLike | None = None
    """A file where the node keeps the members it knows and its incarnation, read
    back at start: a restarted cluster re-forms with no seed up. A bad file is
    logged and ignored."""
    keys: list[bytes] = field(default_factory=list)
    """Encryption keys (16, 24 or 32 bytes); the first encrypts. Empty: none."""
    label: str = ""
    """Cluster label; peers with another label are ignored."""
    meta: bytes = b""
    """Node metadata, at most 512 bytes."""
    protocol_version: int = 2
    tcp_timeout: float = 10.0
    tcp_first_byte_timeout: float = 1.0
    """Seconds a peer's connection may stay silent before its first bytes; then it
    is closed and counted (``streams_silent``); the shorter of this and
    ``tcp_timeout`` applies."""
    tcp_max_incoming: int = 256
    """Peers' connections held at once. When full, a newcomer replaces the one
    silent longest (``streams_evicted``); refused only if every one is busy."""
    tcp_max_incoming_per_source: int = 32
    """Connections held from one address that is not a known member's; beyond it,
    a newcomer from that address replaces the address's own quietest one."""
    tcp_reserved_for_members: int = 64
    """Of ``tcp_max_incoming``, the places only known members' addresses may take."""
    indirect_checks: int = 3
    retransmit_mult: int = 4
    suspicion_mult: int = 4
    suspicion_max_timeout_mult: int = 6
    push_pull_interval: float = 30.0
    probe_interval: float = 1.0
    probe_timeout: float = 0.5
    disable_tcp_pings: bool = False
    awareness_max_multiplier: int = 8
    gossip_nodes: int = 3
    gossip_interval: float = 0.2
    gossip_to_the_dead_time: float = 30.0
    gossip_verify_incoming: bool = True
    gossip_verify_outgoing: bool = True
    enable_compression: bool = True
    dead_node_reclaim_time: float = 0.0
    udp_buffer_size: int = 1400
    broadcast_queue_depth: int = 1024
    raw_user_messages: bool = False
    """Send user messages as memberlist does, without rumour's envelope."""
    state_max_value_bytes: int = 64 * 1024
    state_max_entries: int = 1_000_000
    state_max_bytes: int = 256 * 1024 * 1024
    state_tombstone_grace: float = 3600.0
    """How long the replicated map keeps a tombstone before collecting it."""

    def __post_init__(self) -> None:
        # Frozen, so copy the lists: a caller mutating theirs cannot change ours.
        object.__setattr__(self, "seeds", list(self.seeds))
        if self.peers_file is not None and not isinstance(self.peers_file, str):
            if not isinstance(self.peers_file, os.PathLike):
                raise ConfigError(
                    f"invalid config field `peers_file`: must be a path (str or os.PathLike) or None,"
                    f" not {type(self.peers_file).__name__}",
                    "peers_file",
                )
            object.__setattr__(self, "peers_file", os.fspath(self.peers_file))
        object.__setattr__(self, "keys", [bytes(k) for k in self.keys])
        if isinstance(self.meta, (bytearray, memoryview)):
            object.__setattr__(self, "meta", bytes(self.meta))
        _native.validate_config(self._to_native())

    def _to_native(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def _preset(cls, preset: str, overrides: dict[str, Any]) -> Config:
        values = _native.preset(preset)
        known = {f.name for f in dataclasses.fields(cls)}
        for key in overrides:
            if key not in known:
                raise ConfigError(f"unknown config field {key!r}", key)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def lan(cls, **overrides: Any) -> Config:
        """memberlist's ``DefaultLANConfig``, with ``overrides``."""
        return cls._preset("lan", overrides)

    @classmethod
    def wan(cls, **overrides: Any) -> Config:
        """memberlist's ``DefaultWANConfig``: slower, more tolerant timings."""
        return cls._preset("wan", overrides)

    @classmethod
    def local(cls, **overrides: Any) -> Config:
        """memberlist's ``DefaultLocalConfig``: fast timings for loopback."""
        return cls._preset("local", overrides)

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)
