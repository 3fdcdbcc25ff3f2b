//! Feeds arbitrary bytes to a running machine as the replicated map's
//! messages: a descent step on a stream (which must be answered), a write
//! rumour in a packet, and a push-pull whose user state claims to be a
//! summary. Nothing may panic, and the replica's live count must match its
//! listing afterwards.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use rumour::proto::{Config, Lifetime, Proto, StreamOutcome};
use rumour::wire::packet::Layers;
use rumour::wire::stream::{self, StreamMessage};

/// rumour's user-message envelope: magic, kind, empty origin.
fn envelope(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut m = b"RMR\x01".to_vec();
    m.push(kind);
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(data);
    m
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let addr = "127.0.0.1:7946".parse().expect("literal");
    let mut p = Proto::new(Config { name: "fz".into(), ..Config::lan() }, addr, 1, now).expect("valid config");
    p.set_wall_clock(now, 1_767_225_600_000);
    for i in 0..20 {
        p.state_put(&format!("k{i}"), b"v", Lifetime::UntilDeleted, now).expect("write");
    }
    let sync = stream::seal(&Layers::default(), &StreamMessage::User(envelope(4, data)), [0; 12]);
    match p.handle_stream(addr, &sync, now) {
        StreamOutcome::Done { reply: Some(_) } => {}
        other => panic!("a descent step is always answered, got {other:?}"),
    }
    let mut packet = vec![8u8];
    packet.extend_from_slice(&envelope(3, data));
    p.handle_packet(addr, &packet, now);
    let pp = StreamMessage::PushPull { join: false, nodes: Vec::new(), user_state: envelope(4, data) };
    let _ = p.handle_stream(addr, &stream::seal(&Layers::default(), &pp, [0; 12]), now);
    assert_eq!(p.state_summary().live, p.state_entries("").len());
});
