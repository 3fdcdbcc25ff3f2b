//! Arbitrary and almost-valid bytes into every state decoder and into a
//! live machine's descent handler: no panic, and the replica's indexes stay
//! consistent with its entries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use proptest::prelude::*;

use super::codec::{encode_entry, Cursor, Summary, SyncMsg};
use super::{Entry, Lifetime};
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
        SyncMsg::Leaves { horizon: 9, leaves: vec![(3, vec![Summary { key_hash: 1, ts: 2, digest: 3 }])] },
        SyncMsg::Entries { horizon: 1 << 40, entries: vec![e("k1"), e("new")], want: vec![4], stale: vec![5] },
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
