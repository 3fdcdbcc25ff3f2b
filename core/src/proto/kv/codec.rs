//! The bytes of the replicated map on the wire: entries, and the messages
//! of the anti-entropy descent. All integers big-endian; every count is
//! checked against the bytes left before anything is allocated.
//!
//! Entry: `key len u16 | key | writer len u16 | writer | ts u64 | flags u8 |
//! [expires ms u64, with FLAG_TTL] | [value len u32 | value, unless
//! FLAG_TOMBSTONE]`.

use std::sync::Arc;

use super::tree::FANOUT;
use super::Entry;

pub(crate) const FLAG_TOMBSTONE: u8 = 1;
pub(crate) const FLAG_EPHEMERAL: u8 = 2;
/// A tombstone written because the owner of an ephemeral key left or failed.
pub(crate) const FLAG_REAPED: u8 = 4;
pub(crate) const FLAG_TTL: u8 = 8;
const KNOWN_FLAGS: u8 = FLAG_TOMBSTONE | FLAG_EPHEMERAL | FLAG_REAPED | FLAG_TTL;

const TAG_NODES: u8 = 1;
const TAG_LEAVES: u8 = 2;
const TAG_ENTRIES: u8 = 3;
const TAG_DONE: u8 = 4;

/// Why bytes are not a valid state message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadState(pub(crate) &'static str);

/// One entry's place in a leaf, as the descent compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) key_hash: u64,
    pub(crate) ts: u64,
    pub(crate) digest: u64,
}

/// A step of the anti-entropy descent (see `sync.rs`). Each carries the
/// sender's horizon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyncMsg {
    /// The sender's digests at `level` of the children of each listed
    /// parent (at `level - 1`).
    Nodes { horizon: u64, level: u8, groups: Vec<(u32, [u64; FANOUT])> },
    /// The sender's entries in each listed leaf; `more` when the budget
    /// left differing leaves out.
    Leaves { horizon: u64, more: bool, leaves: Vec<(u32, Vec<Summary>)> },
    /// Entries for the receiver to merge; key hashes the sender wants back;
    /// key hashes the receiver holds, the sender lacks and are behind the
    /// sender's horizon (the receiver drops them); `more` when the budget
    /// left entries out.
    Entries { horizon: u64, more: bool, entries: Vec<(Arc<str>, Entry)>, want: Vec<u64>, stale: Vec<u64> },
    /// Nothing differs any more.
    Done,
}

pub(crate) fn encode_entry(out: &mut Vec<u8>, key: &str, e: &Entry) {
    let mut flags = e.flags & !(FLAG_TOMBSTONE | FLAG_TTL);
    if e.value.is_none() {
        flags |= FLAG_TOMBSTONE;
    }
    if e.expires_ms != 0 {
        flags |= FLAG_TTL;
    }
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&(e.writer.len() as u16).to_be_bytes());
    out.extend_from_slice(e.writer.as_bytes());
    out.extend_from_slice(&e.ts.to_be_bytes());
    out.push(flags);
    if e.expires_ms != 0 {
        out.extend_from_slice(&e.expires_ms.to_be_bytes());
    }
    if let Some(v) = &e.value {
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v);
    }
}

/// A cursor over untrusted bytes.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], BadState> {
        if self.buf.len() < n {
            return Err(BadState(what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, BadState> {
        Ok(self.take(1, what)?[0])
    }

    fn flag(&mut self, what: &'static str) -> Result<bool, BadState> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(BadState(what)),
        }
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, BadState> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, BadState> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, BadState> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn str(&mut self, what: &'static str) -> Result<&'a str, BadState> {
        let n = self.u16(what)? as usize;
        std::str::from_utf8(self.take(n, what)?).map_err(|_| BadState(what))
    }

    /// A count of items at least `min_size` bytes each, checked against
    /// what is left so a forged count cannot make us allocate.
    fn count(&mut self, min_size: usize, what: &'static str) -> Result<usize, BadState> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_size) > self.buf.len() {
            return Err(BadState(what));
        }
        Ok(n)
    }

    pub(crate) fn entry(&mut self) -> Result<(Arc<str>, Entry), BadState> {
        let key = self.str("entry key")?;
        let writer = self.str("entry writer")?;
        let ts = self.u64("entry timestamp")?;
        let flags = self.u8("entry flags")?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(BadState("entry flags"));
        }
        let expires_ms = if flags & FLAG_TTL != 0 { self.u64("entry expiry")? } else { 0 };
        let value = if flags & FLAG_TOMBSTONE != 0 {
            None
        } else {
            let n = self.u32("entry value")? as usize;
            Some(self.take(n, "entry value")?.to_vec())
        };
        let flags = flags & (FLAG_EPHEMERAL | FLAG_REAPED);
        let entry = Entry::new(key, value, ts, Arc::from(writer), flags, expires_ms);
        Ok((Arc::from(key), entry))
    }
}

/// Smallest encoded entry: two empty strings, ts, flags.
const MIN_ENTRY: usize = 2 + 2 + 8 + 1;

impl SyncMsg {
    /// Whether the sender left something out for lack of room.
    pub(crate) fn more(&self) -> bool {
        matches!(self, SyncMsg::Leaves { more: true, .. } | SyncMsg::Entries { more: true, .. })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            SyncMsg::Nodes { horizon, level, groups } => {
                out.push(TAG_NODES);
                out.extend_from_slice(&horizon.to_be_bytes());
                out.push(*level);
                out.extend_from_slice(&(groups.len() as u32).to_be_bytes());
                for (parent, digests) in groups {
                    out.extend_from_slice(&parent.to_be_bytes());
                    for d in digests {
                        out.extend_from_slice(&d.to_be_bytes());
                    }
                }
            }
            SyncMsg::Leaves { horizon, more, leaves } => {
                out.push(TAG_LEAVES);
                out.extend_from_slice(&horizon.to_be_bytes());
                out.push(u8::from(*more));
                out.extend_from_slice(&(leaves.len() as u32).to_be_bytes());
                for (leaf, summaries) in leaves {
                    out.extend_from_slice(&leaf.to_be_bytes());
                    out.extend_from_slice(&(summaries.len() as u32).to_be_bytes());
                    for s in summaries {
                        out.extend_from_slice(&s.key_hash.to_be_bytes());
                        out.extend_from_slice(&s.ts.to_be_bytes());
                        out.extend_from_slice(&s.digest.to_be_bytes());
                    }
                }
            }
            SyncMsg::Entries { horizon, more, entries, want, stale } => {
                out.push(TAG_ENTRIES);
                out.extend_from_slice(&horizon.to_be_bytes());
                out.push(u8::from(*more));
                out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
                for (key, e) in entries {
                    encode_entry(out, key, e);
                }
                for list in [want, stale] {
                    out.extend_from_slice(&(list.len() as u32).to_be_bytes());
                    for h in list {
                        out.extend_from_slice(&h.to_be_bytes());
                    }
                }
            }
            SyncMsg::Done => out.push(TAG_DONE),
        }
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<SyncMsg, BadState> {
        let mut c = Cursor::new(buf);
        let msg = match c.u8("sync tag")? {
            TAG_NODES => {
                let horizon = c.u64("horizon")?;
                let level = c.u8("level")?;
                let n = c.count(4 + 8 * FANOUT, "node groups")?;
                let mut groups = Vec::with_capacity(n);
                for _ in 0..n {
                    let parent = c.u32("parent")?;
                    let mut digests = [0u64; FANOUT];
                    for d in &mut digests {
                        *d = c.u64("digest")?;
                    }
                    groups.push((parent, digests));
                }
                SyncMsg::Nodes { horizon, level, groups }
            }
            TAG_LEAVES => {
                let horizon = c.u64("horizon")?;
                let more = c.flag("more")?;
                let n = c.count(8, "leaves")?;
                let mut leaves = Vec::with_capacity(n);
                for _ in 0..n {
                    let leaf = c.u32("leaf")?;
                    let m = c.count(24, "leaf summaries")?;
                    let mut summaries = Vec::with_capacity(m);
                    for _ in 0..m {
                        summaries.push(Summary {
                            key_hash: c.u64("key hash")?,
                            ts: c.u64("timestamp")?,
                            digest: c.u64("digest")?,
                        });
                    }
                    leaves.push((leaf, summaries));
                }
                SyncMsg::Leaves { horizon, more, leaves }
            }
            TAG_ENTRIES => {
                let horizon = c.u64("horizon")?;
                let more = c.flag("more")?;
                let n = c.count(MIN_ENTRY, "entries")?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    entries.push(c.entry()?);
                }
                let mut lists = [Vec::new(), Vec::new()];
                for list in &mut lists {
                    let m = c.count(8, "key hashes")?;
                    list.reserve(m);
                    for _ in 0..m {
                        list.push(c.u64("key hash")?);
                    }
                }
                let [want, stale] = lists;
                SyncMsg::Entries { horizon, more, entries, want, stale }
            }
            TAG_DONE => SyncMsg::Done,
            _ => return Err(BadState("sync tag")),
        };
        if !c.is_empty() {
            return Err(BadState("trailing bytes"));
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: Option<&[u8]>, flags: u8, expires_ms: u64) -> (Arc<str>, Entry) {
        (Arc::from(key), Entry::new(key, value.map(<[u8]>::to_vec), 42 << 16, Arc::from("w"), flags, expires_ms))
    }

    #[test]
    fn every_message_round_trips() {
        let msgs = [
            SyncMsg::Nodes { horizon: 7, level: 2, groups: vec![(3, [9; FANOUT]), (15, [1; FANOUT])] },
            SyncMsg::Leaves {
                horizon: 0,
                more: true,
                leaves: vec![(65535, vec![Summary { key_hash: 1, ts: 2, digest: 3 }]), (0, vec![])],
            },
            SyncMsg::Entries {
                horizon: u64::MAX,
                more: false,
                entries: vec![
                    entry("a", Some(b"x"), 0, 0),
                    entry("b", None, FLAG_REAPED, 0),
                    entry("c", Some(b""), FLAG_EPHEMERAL, 99),
                ],
                want: vec![5, 6],
                stale: vec![7],
            },
            SyncMsg::Done,
        ];
        for m in msgs {
            let mut buf = Vec::new();
            m.encode(&mut buf);
            assert_eq!(SyncMsg::decode(&buf), Ok(m.clone()));
            for cut in 0..buf.len() {
                assert!(SyncMsg::decode(&buf[..cut]).is_err(), "{m:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn forged_counts_and_flags_are_refused_without_allocating() {
        let mut buf = vec![TAG_ENTRIES];
        buf.extend_from_slice(&0u64.to_be_bytes());
        buf.push(0);
        buf.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(SyncMsg::decode(&buf), Err(BadState("entries")));
        let (k, e) = entry("k", Some(b"v"), 0, 0);
        let mut one = Vec::new();
        encode_entry(&mut one, &k, &e);
        let flags_at = 2 + 1 + 2 + 1 + 8;
        one[flags_at] |= 0x80;
        assert!(Cursor::new(&one).entry().is_err());
        assert_eq!(SyncMsg::decode(&[99]), Err(BadState("sync tag")));
    }
}
