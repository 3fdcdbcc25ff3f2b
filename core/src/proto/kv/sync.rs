//! The replicated map inside the protocol machine: local writes, rumours,
//! expiry, reaping, and the anti-entropy descent.
//!
//! The descent: a push-pull between two rumour nodes carries each side's
//! horizon and its 16 digests under the root. Equal roots end it there, so
//! a cluster in agreement pays about 150 bytes per exchange whatever the
//! size of the map. Otherwise the initiator walks down the tree in further
//! request/reply streams, each side in turn sending its digests of the
//! children of the nodes found to differ; at the leaves they swap
//! (key hash, timestamp, digest) summaries and finally only the entries
//! that differ. The responder keeps no state between steps. A node that
//! found a difference this way (either side) keeps making exchanges with
//! random peers, a gossip interval apart, until a few in a row find nothing
//! to repair, so a repair spreads through the cluster at the speed of
//! exchanges rather than waiting for each node's next push-pull.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::codec::{self, Cursor, SyncMsg};
use super::tree::{width, FANOUT, LEAF_LEVEL};
use super::{
    visible_change, Entry, Lifetime, StateEntry, StateError, StateSummary, Timestamp, MAX_CLOCK_AHEAD, MAX_KEY_BYTES,
    MAX_TTL, STATE_DELEGATE_VERSION,
};
use crate::proto::machine::{Event, PendingStream, Proto};
use crate::proto::members::{Member, MemberState};
use crate::wire::stream::StreamMessage;
use crate::wire::COMPOUND_OVERHEAD;

/// Most bytes of summaries or entries in one descent message; the rest is
/// left for the next exchange.
const SYNC_BUDGET: usize = 4 * 1024 * 1024;
/// Follow-up exchanges a node makes after the last one that found its
/// replica and a peer's different. This is rumour mongering's counter with
/// loss of interest after k useless contacts: the share of the cluster a
/// repair misses falls as e^-(k+1) (one useless contact would leave a fifth
/// of the nodes to the periodic push-pull; four leave well under one in a
/// hundred).
const FOLLOW_UPS: u8 = 4;
/// Most streams in one descent (it needs at most six).
pub(crate) const MAX_SYNC_HOPS: u8 = 8;
/// Longest writer name accepted from a peer (the longest node name).
const MAX_WRITER_BYTES: usize = 1020;

/// Whether `m` is a rumour node that takes state.
pub(crate) fn speaks_state(m: &Member) -> bool {
    m.protocol[4] >= STATE_DELEGATE_VERSION
}

impl Proto {
    // ---- clock ----

    /// Ties the machine's time to the wall clock: `unix_ms` is the Unix time
    /// at `now`. The replicated map's timestamps, TTLs and tombstone grace
    /// are wall-clock times, so nodes on different hosts can compare them.
    /// The runtime and the simulator call this; until then the wall clock
    /// reads zero at the machine's creation.
    pub fn set_wall_clock(&mut self, now: Instant, unix_ms: u64) {
        self.wall = (now, unix_ms);
        self.kv_boot = unix_ms << 16;
    }

    pub(crate) fn wall_ms(&self, now: Instant) -> u64 {
        self.wall.1 + now.saturating_duration_since(self.wall.0).as_millis() as u64
    }

    fn instant_of(&self, unix_ms: u64) -> Instant {
        self.wall.0 + Duration::from_millis(unix_ms.saturating_sub(self.wall.1))
    }

    // ---- commands ----

    /// Writes `key = value` in the replicated map and spreads it. Returns
    /// the write's timestamp.
    pub fn state_put(
        &mut self,
        key: &str,
        value: &[u8],
        lifetime: Lifetime,
        now: Instant,
    ) -> Result<Timestamp, StateError> {
        check_key(key)?;
        if self.left {
            return Err(StateError::Left);
        }
        let wall = self.wall_ms(now);
        let (flags, expires_ms) = match lifetime {
            Lifetime::UntilDeleted => (0, 0),
            Lifetime::Ephemeral => (codec::FLAG_EPHEMERAL, 0),
            Lifetime::Ttl(ttl) if ttl.is_zero() => return Err(StateError::ZeroTtl),
            Lifetime::Ttl(ttl) if ttl > MAX_TTL => return Err(StateError::TtlTooLong { ttl, limit: MAX_TTL }),
            Lifetime::Ttl(ttl) => (0, wall.saturating_add(ttl.as_millis().max(1) as u64)),
        };
        let probe = Entry::new(key, Some(value.to_vec()), 0, Arc::from(self.name.as_str()), flags, expires_ms);
        self.kv.fits(key, &probe)?;
        let ts = self.kv.tick(wall);
        let entry = Entry::new(key, probe.value, ts, probe.writer, flags, expires_ms);
        self.write_local(key, entry);
        Ok(Timestamp(ts))
    }

    /// Deletes `key` (a tombstone that spreads like a write). Returns the
    /// delete's timestamp, or `None` when the key held no live value.
    pub fn state_delete(&mut self, key: &str, now: Instant) -> Result<Option<Timestamp>, StateError> {
        check_key(key)?;
        if self.left {
            return Err(StateError::Left);
        }
        if !self.kv.get(key).is_some_and(Entry::is_live) {
            return Ok(None);
        }
        let ts = self.kv.tick(self.wall_ms(now));
        let entry = Entry::new(key, None, ts, Arc::from(self.name.as_str()), 0, 0);
        self.write_local(key, entry);
        Ok(Some(Timestamp(ts)))
    }

    /// The live value of `key`, if any.
    pub fn state_get(&self, key: &str) -> Option<StateEntry> {
        self.kv.get(key).filter(|e| e.is_live()).map(|e| e.public(key))
    }

    /// Live entries whose key starts with `prefix` ("" for all), in key order.
    pub fn state_entries(&self, prefix: &str) -> Vec<StateEntry> {
        self.kv.live_with_prefix(prefix).map(|(k, e)| e.public(k)).collect()
    }

    /// Size, Merkle root and horizon of this node's replica.
    pub fn state_summary(&self) -> StateSummary {
        self.kv.summary()
    }

    /// Stores a write made here, tells the user, and spreads it.
    fn write_local(&mut self, key: &str, entry: Entry) {
        let key: Arc<str> = self.kv.key(key).unwrap_or_else(|| Arc::from(key));
        self.store(key.clone(), entry.clone());
        self.spread(&key, &entry);
    }

    /// Stores `entry` under `key` and tells the user if what they see changed.
    fn store(&mut self, key: Arc<str>, entry: Entry) {
        let old = self.kv.replace(key.clone(), entry.clone());
        if let Some(change) = visible_change(&key, old.as_ref(), Some(&entry)) {
            self.emit(Event::StateChanged(change));
        }
    }

    /// Queues a write as a rumour; one too large for a packet goes over TCP
    /// to `gossip_nodes` random peers instead, each of which passes it on
    /// the same way if it is news to them.
    fn spread(&mut self, key: &str, entry: &Entry) {
        let mut body = Vec::new();
        codec::encode_entry(&mut body, key, entry);
        let msg = crate::proto::user::encode_state(&self.name, false, &body);
        self.stats.state_rumour_bytes += msg.len() as u64;
        if msg.len() + COMPOUND_OVERHEAD <= self.packet_room() {
            self.state_broadcasts.push(Some(key), msg, None);
            self.state_broadcasts.prune(self.cfg.broadcast_queue_depth);
            return;
        }
        let me = self.name.clone();
        let picked = self.members.random(self.cfg.gossip_nodes, &mut self.rng, |n| {
            *n.member.name != *me && n.member.state == MemberState::Alive && speaks_state(&n.member)
        });
        let addrs: Vec<SocketAddr> = picked.into_iter().map(|i| self.members.at(i).member.addr).collect();
        let plain = StreamMessage::User(msg[1..].to_vec()).encode_plain();
        for addr in addrs {
            self.open_stream(addr, plain.clone(), PendingStream::UserMessage, false);
        }
    }

    // ---- remote writes ----

    /// A write rumour arrived.
    pub(crate) fn handle_state_rumour(&mut self, body: &[u8], now: Instant) {
        let mut c = Cursor::new(body);
        let Ok((key, entry)) = c.entry() else {
            self.stats.decode_errors += 1;
            return;
        };
        if !c.is_empty() {
            self.stats.decode_errors += 1;
            return;
        }
        if self.merge_entry(key.clone(), entry, now) {
            // News to us: pass on what we now hold, as rumour mongering does.
            if let Some(stored) = self.kv.get(&key).cloned() {
                self.spread(&key, &stored);
            }
        }
    }

    /// Merges a peer's version of `key`; true when it replaced ours with
    /// the peer's (and so is worth passing on).
    pub(crate) fn merge_entry(&mut self, key: Arc<str>, incoming: Entry, now: Instant) -> bool {
        let wall = self.wall_ms(now);
        let ahead = (incoming.ts >> 16).saturating_sub(wall) > MAX_CLOCK_AHEAD.as_millis() as u64;
        let ttl_ok = incoming.expires_ms == 0
            || incoming.expires_ms.saturating_sub(incoming.ts >> 16) <= MAX_TTL.as_millis() as u64;
        if key.is_empty() || key.len() > MAX_KEY_BYTES || incoming.writer.len() > MAX_WRITER_BYTES || ahead || !ttl_ok {
            tracing::debug!(target: "rumour::state", key = %key, ahead, "remote write refused: bad key, writer, time or ttl");
            self.stats.state_rejected += 1;
            return false;
        }
        self.kv.observe(incoming.ts);
        let mut incoming = if incoming.is_live() && incoming.expires_ms != 0 && incoming.expires_ms <= wall {
            incoming.expired(&key)
        } else {
            incoming
        };
        if incoming.is_live() && incoming.is_ephemeral() && self.owner_gone(&incoming) {
            // Its owner is gone (or it is from our own previous life): keep
            // it deleted, as every node that saw the owner go has it.
            incoming = incoming.reaped(&key);
        }
        let key = self.kv.key(&key).unwrap_or(key);
        match self.kv.get(&key) {
            Some(mine) if !incoming.wins_over(mine) => return false,
            Some(mine) => {
                // Our own ephemeral key, reaped while we are alive: claim it again.
                let mine_reaped =
                    mine.is_live() && mine.is_ephemeral() && *mine.writer == *self.name && incoming.is_reaped();
                if mine_reaped && !self.left && mine.ts >= self.kv_boot {
                    let value = mine.value.clone();
                    let ts = self.kv.tick(wall);
                    let again = Entry::new(&key, value, ts, Arc::from(self.name.as_str()), codec::FLAG_EPHEMERAL, 0);
                    self.kv.replace(key.clone(), again.clone());
                    self.spread(&key, &again);
                    return false;
                }
            }
            // Unknown key: a peer's tombstone we would already have
            // forgotten, or anything behind the horizon we vouch for, is old news.
            None if incoming.ts <= self.kv.vouched_horizon() || self.kv.past_grace(&incoming, wall) => return false,
            None => {}
        }
        if let Err(e) = self.kv.fits(&key, &incoming) {
            tracing::debug!(target: "rumour::state", key = %key, error = %e, "remote write refused");
            self.stats.state_rejected += 1;
            self.kv.refused(incoming.ts);
            return false;
        }
        self.store(key, incoming);
        true
    }

    /// Whether the owner of an ephemeral entry has left or failed, or the
    /// entry was written by this node's previous life.
    fn owner_gone(&self, e: &Entry) -> bool {
        if *e.writer == *self.name {
            return e.ts < self.kv_boot;
        }
        self.members.get(&e.writer).is_some_and(|n| n.member.state.is_gone())
    }

    /// `owner` left or failed: delete its ephemeral keys. Every node does
    /// this when it learns of it, writing the same tombstones (same
    /// timestamp and writer as the entries), so nothing needs spreading.
    pub(crate) fn reap_ephemeral(&mut self, owner: &str, _now: Instant) {
        for key in self.kv.owned_by(owner) {
            let Some(live) = self.kv.get(&key) else { continue };
            let reaped = live.reaped(&key);
            self.store(key, reaped);
        }
    }

    // ---- timers ----

    /// Expires TTL keys, collects old tombstones, and starts a scheduled
    /// follow-up exchange.
    pub(crate) fn state_timers(&mut self, now: Instant) {
        let wall = self.wall_ms(now);
        for key in self.kv.due_expiries(wall) {
            let Some(e) = self.kv.get(&key) else { continue };
            let dead = e.expired(&key);
            self.store(key, dead);
        }
        self.kv.collect(wall);
        if self.timers.state_sync.is_some_and(|t| t <= now) {
            self.timers.state_sync = None;
            if self.follow_ups > 0 && !self.left {
                self.follow_ups -= 1;
                self.start_state_sync(now);
                if self.follow_ups > 0 {
                    self.timers.state_sync = Some(now + self.follow_up_gap());
                }
            }
        }
    }

    /// When [`Proto::state_timers`] next has something to do.
    pub(crate) fn state_deadline(&self) -> Option<Instant> {
        let due = self.kv.next_due().map(|ms| self.instant_of(ms));
        match (due, self.timers.state_sync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- anti-entropy ----

    /// Our horizon and digests under the root, as push-pull user state.
    pub(crate) fn state_summary_message(&mut self) -> Vec<u8> {
        let groups = vec![(0, self.kv.children(1, 0).expect("level 1 exists"))];
        let mut body = Vec::with_capacity(4 + 8 + 1 + 4 + 4 + 8 * FANOUT);
        SyncMsg::Nodes { horizon: self.kv.vouched_horizon(), level: 1, groups }.encode(&mut body);
        let msg = crate::proto::user::encode_state(&self.name, true, &body);
        self.stats.state_sync_bytes += msg.len() as u64 - 1;
        msg[1..].to_vec()
    }

    /// Whether the member at `addr` takes state.
    pub(crate) fn addr_speaks_state(&self, addr: SocketAddr) -> bool {
        self.members.iter().any(|n| n.member.addr == addr && speaks_state(&n.member))
    }

    /// A peer's push-pull user state, if it is our summary.
    pub(crate) fn parse_summary(user_state: &[u8]) -> Option<SyncMsg> {
        match crate::proto::user::decode(user_state)? {
            crate::proto::user::Envelope::Sync { payload } => match SyncMsg::decode(payload) {
                Ok(m @ SyncMsg::Nodes { level: 1, .. }) => Some(m),
                _ => None,
            },
            _ => None,
        }
    }

    /// The push-pull we started came back with the peer's summary: descend
    /// where it differs from ours (equal summaries: we hold what it holds).
    pub(crate) fn after_push_pull(&mut self, to: SocketAddr, summary: SyncMsg, now: Instant) {
        let (next, _) = self.sync_step(summary, now);
        match next {
            Some(next) => {
                let partial = next.more();
                self.send_sync(to, next, 1, partial);
            }
            None => self.kv.synced_ms = Some(self.wall_ms(now)),
        }
    }

    /// A follow-up exchange with a random rumour peer, from our summary down.
    fn start_state_sync(&mut self, now: Instant) {
        let _ = now;
        let me = self.name.clone();
        let picked = self.members.random(1, &mut self.rng, |n| {
            *n.member.name != *me && n.member.state == MemberState::Alive && speaks_state(&n.member)
        });
        if let Some(&i) = picked.first() {
            let to = self.members.at(i).member.addr;
            let groups = vec![(0, self.kv.children(1, 0).expect("level 1 exists"))];
            let summary = SyncMsg::Nodes { horizon: self.kv.vouched_horizon(), level: 1, groups };
            self.send_sync(to, summary, 1, false);
        }
    }

    /// Sends one descent step; `partial` records that some step of this
    /// descent left something out, so its end is not a complete exchange.
    fn send_sync(&mut self, to: SocketAddr, msg: SyncMsg, hops: u8, partial: bool) {
        let mut body = Vec::new();
        msg.encode(&mut body);
        let env = crate::proto::user::encode_state(&self.name, true, &body);
        self.stats.state_sync_bytes += env.len() as u64 - 1;
        let plain = StreamMessage::User(env[1..].to_vec()).encode_plain();
        self.open_stream(to, plain, PendingStream::StateSync { to, hops, partial }, true);
    }

    /// A descent step a peer sent us: answer it (the reply to write back).
    pub(crate) fn handle_sync_request(&mut self, payload: &[u8], now: Instant) -> Vec<u8> {
        let reply = match SyncMsg::decode(payload) {
            Ok(msg) => {
                let (next, learned) = self.sync_step(msg, now);
                self.note_learned(learned);
                next.unwrap_or(SyncMsg::Done)
            }
            Err(_) => {
                self.stats.decode_errors += 1;
                SyncMsg::Done
            }
        };
        let mut body = Vec::new();
        reply.encode(&mut body);
        let env = crate::proto::user::encode_state(&self.name, true, &body);
        self.stats.state_sync_bytes += env.len() as u64 - 1;
        StreamMessage::User(env[1..].to_vec()).encode_plain()
    }

    /// The reply to a descent step we sent: take the next step, if any.
    /// A descent that ends with nothing left out leaves this replica holding
    /// everything the peer held: it may vouch for its horizon from then.
    pub(crate) fn handle_sync_reply(
        &mut self,
        to: SocketAddr,
        hops: u8,
        partial: bool,
        payload: &[u8],
        now: Instant,
    ) -> bool {
        let Ok(msg) = SyncMsg::decode(payload) else {
            self.stats.decode_errors += 1;
            return false;
        };
        let partial = partial || msg.more();
        let (next, learned) = self.sync_step(msg, now);
        self.note_learned(learned);
        match next {
            Some(next) if hops < MAX_SYNC_HOPS => {
                let partial = partial || next.more();
                self.send_sync(to, next, hops + 1, partial);
            }
            Some(_) => {}
            None if !partial => self.kv.synced_ms = Some(self.wall_ms(now)),
            None => {}
        }
        true
    }

    fn note_learned(&mut self, learned: usize) {
        self.stats.state_repaired += learned as u64;
    }

    /// An exchange found this replica and a peer's different: keep going
    /// for [`FOLLOW_UPS`] more exchanges with random peers, a gossip
    /// interval apart.
    fn note_difference(&mut self, now: Instant) {
        if self.left {
            return;
        }
        self.follow_ups = FOLLOW_UPS;
        if self.timers.state_sync.is_none() {
            self.timers.state_sync = Some(now + self.follow_up_gap());
        }
    }

    fn follow_up_gap(&self) -> Duration {
        self.cfg.gossip_interval.max(Duration::from_millis(10))
    }

    /// One step of the descent: what to send next (if anything) and how
    /// many entries we took from the peer.
    pub(crate) fn sync_step(&mut self, msg: SyncMsg, now: Instant) -> (Option<SyncMsg>, usize) {
        let horizon = self.kv.vouched_horizon();
        match msg {
            SyncMsg::Nodes { level, groups, .. } => {
                if level == 0 || level > LEAF_LEVEL {
                    return (None, 0);
                }
                let mut differing = Vec::new();
                for (parent, theirs) in groups {
                    let Some(mine) = self.kv.children(level, parent as usize) else { continue };
                    for (i, (m, t)) in mine.iter().zip(theirs.iter()).enumerate() {
                        if m != t {
                            differing.push(parent as usize * FANOUT + i);
                        }
                    }
                }
                // A peer repeating a parent must not multiply our answer.
                differing.sort_unstable();
                differing.dedup();
                if differing.is_empty() {
                    return (None, 0);
                }
                self.note_difference(now);
                if level < LEAF_LEVEL {
                    let groups = differing
                        .into_iter()
                        .filter_map(|p| self.kv.children(level + 1, p).map(|d| (p as u32, d)))
                        .collect();
                    return (Some(SyncMsg::Nodes { horizon, level: level + 1, groups }), 0);
                }
                let mut used = 0;
                let mut leaves = Vec::new();
                let total = differing.len();
                for leaf in differing {
                    let s = self.kv.leaf_summaries(leaf);
                    used += 8 + 24 * s.len();
                    leaves.push((leaf as u32, s));
                    if used > SYNC_BUDGET {
                        break;
                    }
                }
                let more = leaves.len() < total;
                (Some(SyncMsg::Leaves { horizon, more, leaves }), 0)
            }
            SyncMsg::Leaves { horizon: theirs_h, leaves, .. } => {
                let (mut send, mut want, mut stale, mut drop) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let mut used = 0;
                let mut more = false;
                for (leaf, summaries) in leaves {
                    if leaf as usize >= width(LEAF_LEVEL) {
                        continue;
                    }
                    let mut theirs: HashMap<u64, codec::Summary> =
                        summaries.into_iter().map(|s| (s.key_hash, s)).collect();
                    for (h, key, e) in self.kv.leaf(leaf as usize) {
                        let offer = match theirs.remove(&h) {
                            Some(s) if s.digest == e.digest => false,
                            Some(s) => {
                                if s.ts >= e.ts {
                                    want.push(h);
                                }
                                e.ts >= s.ts
                            }
                            // They lack it: behind their horizon it may be
                            // a key they deleted and forgot.
                            None if e.ts <= theirs_h => {
                                drop.push(key.clone());
                                false
                            }
                            None => true,
                        };
                        if offer && used <= SYNC_BUDGET {
                            used += key.len() + e.value.as_ref().map_or(0, Vec::len) + e.writer.len() + 32;
                            send.push((key.clone(), e.clone()));
                        } else if offer {
                            more = true;
                        }
                    }
                    for (h, s) in theirs {
                        if s.ts <= horizon {
                            stale.push(h);
                        } else {
                            want.push(h);
                        }
                    }
                }
                for key in drop {
                    self.drop_stale(&key);
                }
                if send.is_empty() && want.is_empty() && stale.is_empty() {
                    return (None, 0);
                }
                (Some(SyncMsg::Entries { horizon, more, entries: send, want, stale }), 0)
            }
            SyncMsg::Entries { horizon: theirs_h, entries, want, stale, .. } => {
                let mut learned = 0;
                for (key, e) in entries {
                    learned += usize::from(self.merge_entry(key, e, now));
                }
                for h in stale {
                    for key in self.kv.keys_with_hash(h) {
                        if self.kv.get(&key).is_some_and(|e| e.ts <= theirs_h) {
                            self.drop_stale(&key);
                        }
                    }
                }
                if want.is_empty() {
                    return (None, learned);
                }
                let mut used = 0;
                let mut send = Vec::new();
                let mut more = false;
                for h in want {
                    if used > SYNC_BUDGET {
                        more = true;
                        break;
                    }
                    for key in self.kv.keys_with_hash(h) {
                        let Some(e) = self.kv.get(&key) else { continue };
                        used += key.len() + e.value.as_ref().map_or(0, Vec::len) + e.writer.len() + 32;
                        send.push((key, e.clone()));
                    }
                }
                let reply = SyncMsg::Entries { horizon, more, entries: send, want: Vec::new(), stale: Vec::new() };
                (Some(reply), learned)
            }
            SyncMsg::Done => (None, 0),
        }
    }

    /// Forgets an entry a peer showed to be older than what it has
    /// collected (so possibly deleted); a live one is reported deleted.
    fn drop_stale(&mut self, key: &str) {
        if let Some(old) = self.kv.remove(key) {
            self.stats.state_dropped_stale += 1;
            if let Some(change) = visible_change(key, Some(&old), None) {
                self.emit(Event::StateChanged(change));
            }
        }
    }
}

fn check_key(key: &str) -> Result<(), StateError> {
    if key.is_empty() {
        return Err(StateError::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StateError::KeyTooLong { len: key.len(), limit: MAX_KEY_BYTES });
    }
    Ok(())
}
