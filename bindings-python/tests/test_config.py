"""Config: presets, overrides, and errors that name the field."""

from __future__ import annotations

import dataclasses

import pytest
import rumour


def test_presets_match_memberlist_and_are_frozen() -> None:
    lan, wan, local = rumour.Config.lan(), rumour.Config.wan(), rumour.Config.local()
    lan_timings = (lan.probe_interval, lan.probe_timeout, lan.suspicion_mult, lan.gossip_interval)
    assert lan_timings == (1.0, 0.5, 4, 0.2)
    assert (wan.probe_interval, wan.probe_timeout, wan.suspicion_mult, wan.gossip_nodes) == (5.0, 3.0, 6, 4)
    assert (local.probe_timeout, local.retransmit_mult, local.push_pull_interval) == (0.2, 2, 15.0)
    assert rumour.Config() == lan
    with pytest.raises(dataclasses.FrozenInstanceError):
        lan.name = "x"  # type: ignore[misc]


def test_overrides_apply_and_lists_are_copied() -> None:
    seeds = ["127.0.0.1:7946"]
    c = rumour.Config.local(name="a", seeds=seeds, meta=bytearray(b"m"))
    seeds.append("other:1")
    assert c.seeds == ["127.0.0.1:7946"]
    assert c.meta == b"m"
    assert c.replace(name="b").name == "b"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"probe_interval": 0}, "probe_interval"),
        ({"probe_timeout": 5.0}, "probe_timeout"),
        ({"meta": b"x" * 513}, "meta"),
        ({"protocol_version": 9}, "protocol_version"),
        ({"keys": [b"short"]}, "keys"),
        ({"probe_interval": "fast"}, "probe_interval"),
        ({"gossip_nodes": -1}, "gossip_nodes"),
        ({"udp_buffer_size": 10}, "udp_buffer_size"),
        ({"state_tombstone_grace": 0}, "state_tombstone_grace"),
        ({"nonsense": 1}, "nonsense"),
        ({"tcp_first_byte_timeout": 0}, "tcp_first_byte_timeout"),
        ({"tcp_reserved_for_members": 256}, "tcp_reserved_for_members"),
        ({"tcp_max_incoming_per_source": 0}, "tcp_max_incoming_per_source"),
    ],
)
def test_a_bad_field_raises_config_error_naming_it(overrides: dict, field: str) -> None:
    with pytest.raises(rumour.ConfigError) as err:
        rumour.Config.lan(**overrides)
    assert err.value.field == field, err.value
    assert isinstance(err.value, ValueError)
    assert isinstance(err.value, rumour.RumourError)


def test_an_unresolvable_bind_address_names_the_field() -> None:
    with pytest.raises(rumour.ConfigError) as err:
        rumour.blocking.Node(rumour.Config.local(name="x", bind="no-such-host.invalid:1")).start()
    assert err.value.field == "bind"
