//! TCP admission: which peers' connections a node keeps when more arrive
//! than it will hold.
//!
//! A connection costs a task, a socket and up to one read buffer, so the
//! node holds a bounded number (`Config::tcp_max_incoming`). Refusing
//! newcomers once full would let anyone silence the node's TCP side with a
//! few hundred idle connections (each kept for the whole `tcp_timeout`),
//! and stop every join, push-pull and large transfer to it. Instead:
//!
//! - a connection must send its first bytes within
//!   `Config::tcp_first_byte_timeout`, a fraction of `tcp_timeout`: real
//!   peers write as soon as they connect;
//! - when a limit is reached, the newcomer takes the place of a held
//!   connection among those the same limit counts: from the source address
//!   holding the most of them, the one silent longest (since its last
//!   byte, or its accept if it sent none). A connection whose message the
//!   protocol is judging at that moment is never evicted; only when every
//!   candidate is, is the newcomer refused;
//! - one source address that is not a member's holds at most
//!   `Config::tcp_max_incoming_per_source`, so a flood from one host churns
//!   through its own share only;
//! - `Config::tcp_reserved_for_members` of the places are for addresses of
//!   known members: a flood from elsewhere never takes the last of them.
//!
//! Real peers send their whole message within milliseconds and finish, so
//! under a flood they are the connections silent least, and get through.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::task::AbortHandle;

/// The limits, from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Connections held at once.
    pub(crate) max: usize,
    /// Connections held at once from one source address that is not a member's.
    pub(crate) per_source: usize,
    /// Places only addresses of known members may take.
    pub(crate) reserved: usize,
}

/// Why a newcomer was refused: every connection it could replace was busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its source address holds `per_source` connections already.
    PerSource,
    /// Non-members hold every place but the reserved ones.
    NonMembers,
    /// Every place is taken.
    Full,
}

/// What a newcomer's admission cost: the connections it replaced, whose
/// tasks the caller aborts (after the table is unlocked).
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    pub(crate) evicted: Vec<AbortHandle>,
}

/// The connections a node holds; shared by the accept loop and the tasks
/// serving them (each removes itself when it ends).
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    table: Arc<Mutex<Table>>,
    epoch: Instant,
}

#[derive(Debug)]
struct Table {
    limits: Limits,
    held: HashMap<u64, Held>,
    next_id: u64,
}

#[derive(Debug)]
struct Held {
    source: IpAddr,
    member: bool,
    progress: Arc<Progress>,
    task: Option<AbortHandle>,
}

/// What a serving task reports about its connection.
#[derive(Debug, Default)]
struct Progress {
    /// When its peer last sent bytes (or it was accepted), in ms since the epoch.
    last_heard_ms: AtomicU64,
    /// The protocol is judging its message: not to be evicted.
    busy: AtomicBool,
}

/// A serving task's place: removed from the table when dropped (the task
/// ended or was aborted).
#[derive(Debug)]
pub(crate) struct Ticket {
    admission: Admission,
    id: u64,
    progress: Arc<Progress>,
}

impl Admission {
    pub(crate) fn new(limits: Limits) -> Self {
        Admission {
            table: Arc::new(Mutex::new(Table { limits, held: HashMap::new(), next_id: 0 })),
            epoch: Instant::now(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // A panic elsewhere while holding the lock leaves the table valid:
        // every update is a single insert or remove.
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn ms(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// Connections held now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.table().held.len()
    }

    /// A connection from `source` was accepted at `now` (`member`: the
    /// address is a known member's). On success the caller spawns the task
    /// serving it with the ticket, [`Admission::attach`]es the task, and
    /// aborts the evicted ones.
    pub(crate) fn admit(&self, source: IpAddr, member: bool, now: Instant) -> Result<(Ticket, Admitted), Refused> {
        let now_ms = self.ms(now);
        let mut table = self.table();
        let limits = table.limits;
        let mut victims: Vec<u64> = Vec::new();
        if !member {
            let from_source = table.held.values().filter(|h| !h.member && h.source == source).count();
            if from_source >= limits.per_source.max(1) {
                victims.push(
                    table.quietest(now_ms, &victims, |h| !h.member && h.source == source).ok_or(Refused::PerSource)?,
                );
            }
            let non_members = table.held.values().filter(|h| !h.member).count() - victims.len();
            if non_members >= limits.max.saturating_sub(limits.reserved).max(1) {
                victims.push(table.quietest(now_ms, &victims, |h| !h.member).ok_or(Refused::NonMembers)?);
            }
        }
        if table.held.len() - victims.len() >= limits.max.max(1) {
            // Non-members' connections go first.
            let victim = table
                .quietest(now_ms, &victims, |h| !h.member)
                .or_else(|| table.quietest(now_ms, &victims, |_| true))
                .ok_or(Refused::Full)?;
            victims.push(victim);
        }
        let mut admitted = Admitted::default();
        for id in victims {
            if let Some(task) = table.held.remove(&id).and_then(|h| h.task) {
                admitted.evicted.push(task);
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let progress = Arc::new(Progress { last_heard_ms: AtomicU64::new(now_ms), busy: AtomicBool::new(false) });
        table.held.insert(id, Held { source, member, progress: progress.clone(), task: None });
        drop(table);
        Ok((Ticket { admission: self.clone(), id, progress }, admitted))
    }

    /// The task serving ticket `id` was spawned: it is what an eviction aborts.
    pub(crate) fn attach(&self, ticket_id: u64, task: AbortHandle) {
        if let Some(h) = self.table().held.get_mut(&ticket_id) {
            h.task = Some(task);
        }
    }

    fn release(&self, id: u64) {
        self.table().held.remove(&id);
    }
}

impl Table {
    /// The connection to evict among those `counts` (and not busy, not
    /// already chosen): from the source address holding the most, the one
    /// silent longest. Under a flood from many addresses, a real peer's
    /// connection, one of few from its address, is not the next to go even
    /// before its task has read its bytes.
    fn quietest(&self, now_ms: u64, chosen: &[u64], counts: impl Fn(&Held) -> bool) -> Option<u64> {
        let candidate = |id: &u64, h: &Held| counts(h) && !chosen.contains(id);
        let mut per_source: HashMap<IpAddr, usize> = HashMap::new();
        for (id, h) in &self.held {
            if candidate(id, h) {
                *per_source.entry(h.source).or_default() += 1;
            }
        }
        self.held
            .iter()
            .filter(|(id, h)| candidate(id, h) && !h.progress.busy.load(Ordering::Relaxed))
            .max_by_key(|(id, h)| {
                let silent_ms = now_ms.saturating_sub(h.progress.last_heard_ms.load(Ordering::Relaxed));
                (per_source.get(&h.source).copied().unwrap_or(0), silent_ms, Reverse(**id))
            })
            .map(|(id, _)| *id)
    }
}

impl Ticket {
    /// Its id, for [`Admission::attach`].
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The peer sent bytes just now.
    pub(crate) fn heard(&self) {
        let ms = self.admission.ms(Instant::now());
        self.progress.last_heard_ms.store(ms, Ordering::Relaxed);
    }

    /// The protocol is judging the message (`true`), or done with it.
    pub(crate) fn set_busy(&self, busy: bool) {
        self.progress.busy.store(busy, Ordering::Relaxed);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    const LIMITS: Limits = Limits { max: 8, per_source: 3, reserved: 2 };

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn one_source_is_held_to_its_share_and_churns_through_its_own_connections() {
        let a = Admission::new(LIMITS);
        let t0 = Instant::now();
        let mut tickets = Vec::new();
        for k in 0..3 {
            let (t, adm) = a.admit(ip(1), false, t0 + Duration::from_millis(k)).expect("room");
            assert!(adm.evicted.is_empty());
            tickets.push(t);
        }
        let other = a.admit(ip(2), false, t0).expect("another source has room").0;
        // A fourth from the same source replaces that source's quietest,
        // the oldest: ticket 0. The other source is untouched.
        let (fourth, _) = a.admit(ip(1), false, t0 + Duration::from_millis(10)).expect("replaces one");
        assert_eq!(a.held(), 4);
        let table = a.table();
        assert!(!table.held.contains_key(&tickets[0].id()), "the quietest went");
        assert!(table.held.contains_key(&other.id()) && table.held.contains_key(&fourth.id()));
    }

    #[test]
    fn the_connection_silent_longest_goes_and_busy_ones_never() {
        let a = Admission::new(Limits { max: 3, per_source: 10, reserved: 0 });
        let t0 = Instant::now();
        let held: Vec<Ticket> = (0..3).map(|k| a.admit(ip(k), false, t0).expect("room").0).collect();
        // 0 is judged by the protocol; 1 spoke just now; 2 is silent.
        held[0].set_busy(true);
        std::thread::sleep(Duration::from_millis(5));
        held[1].heard();
        let (newcomer, _) = a.admit(ip(9), false, Instant::now()).expect("replaces the silent one");
        let ids: Vec<u64> = a.table().held.keys().copied().collect();
        assert!(!ids.contains(&held[2].id()), "the silent one went: {ids:?}");
        assert!(ids.contains(&held[0].id()) && ids.contains(&held[1].id()));
        // With everything busy, a newcomer is refused.
        for t in &held {
            t.set_busy(true);
        }
        newcomer.set_busy(true);
        assert_eq!(a.admit(ip(9), false, Instant::now()).err(), Some(Refused::NonMembers));
        assert_eq!(a.admit(ip(9), true, Instant::now()).err(), Some(Refused::Full));
    }

    #[test]
    fn the_source_holding_the_most_gives_way_first() {
        let a = Admission::new(Limits { max: 4, per_source: 10, reserved: 0 });
        let t0 = Instant::now();
        // A lone peer, accepted first (so silent longest), then a flood of 3.
        let lone = a.admit(ip(1), false, t0).expect("room").0;
        let flood: Vec<Ticket> =
            (1..=3).map(|k| a.admit(ip(9), false, t0 + Duration::from_millis(k)).expect("room").0).collect();
        let (_newcomer, admitted) = a.admit(ip(7), false, t0 + Duration::from_millis(5)).expect("replaces one");
        assert_eq!(admitted.evicted.len(), 0, "no task attached in this test");
        let table = a.table();
        assert!(table.held.contains_key(&lone.id()), "the lone peer stays");
        assert!(!table.held.contains_key(&flood[0].id()), "the flood's quietest went");
    }

    #[test]
    fn members_keep_the_reserved_places_and_non_members_are_evicted_first() {
        let a = Admission::new(LIMITS);
        let t0 = Instant::now();
        // Non-members from many sources fill all but the reserved 2 places.
        let flood: Vec<Ticket> = (0..6).map(|k| a.admit(ip(10 + k), false, t0).expect("room").0).collect();
        // A seventh non-member replaces one of the flood, it does not take a reserved place.
        let _seventh = a.admit(ip(30), false, t0 + Duration::from_millis(1)).expect("replaces").0;
        assert_eq!(a.held(), 6);
        // Members take the reserved places...
        let m1 = a.admit(ip(1), true, t0).expect("reserved").0;
        let m2 = a.admit(ip(1), true, t0).expect("reserved").0;
        assert_eq!(a.held(), 8);
        // ...and once all is full, a member replaces a non-member, not a member.
        let m3 = a.admit(ip(1), true, t0 + Duration::from_millis(2)).expect("replaces a non-member").0;
        let table = a.table();
        assert!([&m1, &m2, &m3].iter().all(|t| table.held.contains_key(&t.id())));
        assert_eq!(table.held.values().filter(|h| h.member).count(), 3);
        drop(table);
        drop(flood);
        assert_eq!(a.held(), 4, "tickets release their places when dropped");
    }
}
