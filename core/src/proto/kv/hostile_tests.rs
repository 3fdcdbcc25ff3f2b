//! What a hostile or broken peer can send: arbitrary and almost-valid bytes
//! into every state decoder and a live machine's descent handler (no panic,
//! indexes consistent), timestamps from the far future, oversized writer
//! names, and the cases where a replica must not vouch for what it lacks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use proptest::prelude::*;

use super::codec::{encode_entry, Cursor, Summary, SyncMsg, FLAG_EPHEMERAL};
use super::{Entry, Lifetime, Replica, StateConfig, MAX_CLOCK_AHEAD};
use crate::proto::{Config, Proto};

fn machine(now: Instant) -> Proto {
    let addr: SocketAddr = "127.0.0.1:7946".parse().expect("literal");
    let mut p = Proto::new(Config { name: "fz".into(), ..Config::lan() }, addr, 7, now).expect("valid config");
    p.set_wall_clock(now, 1_767_225_600_000);
    for i in 0..40 {
        p.state_put(&format!("k{i}"), &[i as u8; 9], Lifetime::UntilDeleted, now).expect("write");
    }
    p.state_delete("k3", now).expect("delete");
    p
}

/// Live count, tombstones and the listing agree with each other.
fn consistent(p: &Proto) -> bool {
    let s = p.state_summary();
    s.live == p.state_entries("").len()
}

fn valid_messages() -> Vec<Vec<u8>> {
    let e = |k: &str| (Arc::<str>::from(k), Entry::new(k, Some(b"v".to_vec()), 5 << 16, Arc::from("w"), 0, 0));
    let msgs = [
        SyncMsg::Nodes { horizon: 0, level: 1, groups: vec![(0, [1; 16])] },
        SyncMsg::Nodes { horizon: 0, level: 4, groups: vec![(17, [2; 16])] },
        SyncMsg::Leaves { horizon: 9, more: false, leaves: vec![(3, vec![Summary { key_hash: 1, ts: 2, digest: 3 }])] },
        SyncMsg::Entries {
            horizon: 1 << 40,
            more: true,
            entries: vec![e("k1"), e("new")],
            want: vec![4],
            stale: vec![5],
        },
    ];
    msgs.iter()
        .map(|m| {
            let mut b = Vec::new();
            m.encode(&mut b);
            b
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = SyncMsg::decode(&bytes);
        let _ = Cursor::new(&bytes).entry();
        let now = Instant::now();
        let mut p = machine(now);
        let _ = p.handle_sync_request(&bytes, now);
        p.handle_state_rumour(&bytes, now);
        prop_assert!(consistent(&p));
    }

    #[test]
    fn mutated_valid_messages_never_panic(which in 0usize..4, flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..6)) {
        let mut bytes = valid_messages().swap_remove(which);
        for (at, b) in flips {
            let n = bytes.len();
            bytes[at % n] ^= b;
        }
        let now = Instant::now();
        let mut p = machine(now);
        let _ = p.handle_sync_request(&bytes, now);
        prop_assert!(consistent(&p));
        let (k, e) = (Arc::<str>::from("kk"), Entry::new("kk", Some(vec![1]), 9 << 16, Arc::from("w"), 2, 77));
        let mut one = Vec::new();
        encode_entry(&mut one, &k, &e);
        for (i, b) in bytes.iter().enumerate().take(one.len()) {
            one[i] ^= b & 1;
        }
        p.handle_state_rumour(&one, now);
        prop_assert!(consistent(&p));
    }
}

const WALL: u64 = 1_767_225_600_000;

fn rumour(key: &str, e: &Entry) -> Vec<u8> {
    let mut b = Vec::new();
    encode_entry(&mut b, key, e);
    b
}

#[test]
fn a_write_from_the_far_future_is_refused_and_the_clock_stays_sane() {
    let now = Instant::now();
    let mut p = machine(now);
    let ahead = (WALL + MAX_CLOCK_AHEAD.as_millis() as u64 + 1000) << 16;
    for ts in [u64::MAX, ahead] {
        p.handle_state_rumour(&rumour("evil", &Entry::new("evil", Some(vec![1]), ts, Arc::from("x"), 0, 0)), now);
    }
    assert_eq!(p.stats().state_rejected, 2);
    assert!(p.state_get("evil").is_none());
    let ts = p.state_put("fine", b"v", Lifetime::UntilDeleted, now).expect("write");
    assert_eq!(ts.unix_ms(), WALL, "the clock was not dragged forward");
    let pinned = Entry::new("pin", None, WALL << 16, Arc::from("x"), 0, u64::MAX);
    p.handle_state_rumour(&rumour("pin", &pinned), now);
    let long_writer = Entry::new("w", Some(vec![1]), WALL << 16, Arc::from("x".repeat(2000).as_str()), 0, 0);
    p.handle_state_rumour(&rumour("w", &long_writer), now);
    assert_eq!(p.stats().state_rejected, 4, "an expiry that pins a tombstone, a writer name too long");
}

#[test]
fn a_replica_vouches_for_its_horizon_only_once_complete_and_below_what_it_refused() {
    let cfg = StateConfig { tombstone_grace: std::time::Duration::from_secs(10), ..StateConfig::default() };
    let mut r = Replica::new(cfg);
    r.replace(Arc::from("gone"), Entry::new("gone", None, 1_000 << 16, Arc::from("w"), 0, 0));
    r.collect(20_000);
    assert_eq!(r.horizon, 1_000 << 16);
    assert_eq!(r.vouched_horizon(), 0, "a replica never complete vouches for nothing");
    r.synced_ms = Some(5_000);
    assert_eq!(r.vouched_horizon(), 0, "nor before its last complete exchange less the grace");
    r.synced_ms = Some(30_000);
    assert_eq!(r.vouched_horizon(), 1_000 << 16);
    r.refused(500 << 16);
    assert_eq!(r.vouched_horizon(), (500 << 16) - 1, "nor at or above a write it refused");
}

#[test]
fn reaping_writes_the_entry_s_own_tombstone_so_a_later_write_survives() {
    let now = Instant::now();
    let mut p = machine(now);
    let owner_write = Entry::new("svc", Some(b"x".to_vec()), WALL << 16, Arc::from("x"), FLAG_EPHEMERAL, 0);
    p.handle_state_rumour(&rumour("svc", &owner_write), now);
    assert!(p.state_get("svc").is_some());
    p.reap_ephemeral("x", now);
    assert!(p.state_get("svc").is_none(), "reaped");
    let tomb = p.kv.get("svc").expect("a tombstone").clone();
    assert_eq!((tomb.ts, &*tomb.writer), (owner_write.ts, "x"), "same timestamp and writer as the entry");
    // Another node's later write, arriving after the reap, wins.
    let later = Entry::new("svc", Some(b"z".to_vec()), (WALL << 16) + 5, Arc::from("z"), 0, 0);
    p.handle_state_rumour(&rumour("svc", &later), now);
    assert_eq!(p.state_get("svc").map(|e| e.value), Some(b"z".to_vec()));
    // And a reaper that saw the later write first keeps it.
    let mut q = machine(now);
    q.handle_state_rumour(&rumour("svc", &later), now);
    q.handle_state_rumour(&rumour("svc", &owner_write.reaped("svc")), now);
    assert_eq!(q.state_get("svc").map(|e| e.value), Some(b"z".to_vec()));
}
