//! The peer file (Serf's snapshot, made small): the members a node knew
//! and its own last incarnation, so a restarted node (or a whole cluster
//! restarted with no seed up) finds its peers again and starts above the
//! incarnation the others remember.
//!
//! The format is text an operator can read: a header, this node's line,
//! one line per peer, and a CRC-32 of everything before it, so a file cut
//! short or damaged is refused rather than half-read:
//!
//! ```text
//! rumour-peers 1
//! node 7 web-1
//! peer 10.0.0.2:7946 web-2
//! end 5a1c09e2
//! ```
//!
//! Reading and writing the file is the runtime's job; this module only
//! encodes and decodes it.

use std::net::SocketAddr;

/// Peers written at most (alive ones first, then recently failed ones).
pub const MAX_PEERS: usize = 1024;

/// Largest peer file read: `MAX_PEERS` lines of the longest names, with room.
pub const MAX_PEER_FILE_BYTES: usize = 2 * 1024 * 1024;

const HEADER: &str = "rumour-peers 1";

/// What a node remembers across restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSnapshot {
    /// The node that wrote it.
    pub name: String,
    /// Its incarnation when it wrote it.
    pub incarnation: u32,
    /// Peers it knew: (name, address).
    pub peers: Vec<(String, SocketAddr)>,
}

/// Why a peer file was not used. The node starts without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerFileError {
    /// Larger than [`MAX_PEER_FILE_BYTES`].
    #[error("{0} bytes; a peer file is at most {MAX_PEER_FILE_BYTES}")]
    TooLarge(usize),
    /// Not a peer file, or one cut short or damaged; says where.
    #[error("not a valid peer file: {0}")]
    Corrupt(String),
    /// Written by another node.
    #[error("written by node {found:?}, not {expected:?}")]
    Foreign {
        /// The name in the file.
        found: String,
        /// This node's name.
        expected: String,
    },
}

/// Names with a line break cannot be written on one line; such peers are
/// left out (a name is otherwise any text).
fn writable(name: &str) -> bool {
    !name.is_empty() && !name.contains(['\n', '\r'])
}

impl PeerSnapshot {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("{HEADER}\nnode {} {}\n", self.incarnation, self.name);
        for (name, addr) in self.peers.iter().filter(|(n, _)| writable(n)).take(MAX_PEERS) {
            out.push_str(&format!("peer {addr} {name}\n"));
        }
        let crc = crc32fast::hash(out.as_bytes());
        out.push_str(&format!("end {crc:08x}\n"));
        out.into_bytes()
    }

    /// Reads a file's bytes; any defect refuses the whole file.
    pub fn decode(bytes: &[u8]) -> Result<PeerSnapshot, PeerFileError> {
        if bytes.len() > MAX_PEER_FILE_BYTES {
            return Err(PeerFileError::TooLarge(bytes.len()));
        }
        let corrupt = |what: &str| PeerFileError::Corrupt(what.to_string());
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8 text"))?;
        let body_end = text.rfind("\nend ").ok_or_else(|| corrupt("no end line (cut short?)"))? + 1;
        let (body, end) = text.split_at(body_end);
        let sum = end.trim_end().strip_prefix("end ").ok_or_else(|| corrupt("bad end line"))?;
        let sum = u32::from_str_radix(sum, 16).map_err(|_| corrupt("bad checksum"))?;
        if crc32fast::hash(body.as_bytes()) != sum {
            return Err(corrupt("checksum mismatch (damaged or cut short)"));
        }
        let mut lines = body.lines();
        if lines.next() != Some(HEADER) {
            return Err(corrupt("unknown header"));
        }
        let node = lines.next().and_then(|l| l.strip_prefix("node ")).ok_or_else(|| corrupt("no node line"))?;
        let (incarnation, name) = node.split_once(' ').ok_or_else(|| corrupt("bad node line"))?;
        let incarnation = incarnation.parse().map_err(|_| corrupt("bad incarnation"))?;
        let mut peers = Vec::new();
        for (i, line) in lines.enumerate() {
            let bad = || PeerFileError::Corrupt(format!("bad peer line {}", i + 3));
            let rest = line.strip_prefix("peer ").ok_or_else(bad)?;
            let (addr, name) = rest.split_once(' ').ok_or_else(bad)?;
            let addr: SocketAddr = addr.parse().map_err(|_| bad())?;
            if peers.len() >= MAX_PEERS {
                return Err(corrupt("too many peers"));
            }
            peers.push((name.to_string(), addr));
        }
        Ok(PeerSnapshot { name: name.to_string(), incarnation, peers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> PeerSnapshot {
        PeerSnapshot {
            name: "web 1".into(),
            incarnation: 7,
            peers: vec![
                ("web-2".into(), "10.0.0.2:7946".parse().unwrap()),
                ("v6 node".into(), "[::1]:9".parse().unwrap()),
            ],
        }
    }

    #[test]
    fn a_snapshot_round_trips_names_with_spaces_and_ipv6() {
        let s = snapshot();
        assert_eq!(PeerSnapshot::decode(&s.encode()), Ok(s));
    }

    #[test]
    fn a_file_cut_short_anywhere_is_refused() {
        let bytes = snapshot().encode();
        for cut in 0..bytes.len() - 1 {
            assert!(PeerSnapshot::decode(&bytes[..cut]).is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn a_flipped_byte_anywhere_is_refused() {
        let bytes = snapshot().encode();
        for i in 0..bytes.len() - 1 {
            let mut b = bytes.clone();
            b[i] ^= 0x04;
            assert!(PeerSnapshot::decode(&b).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn garbage_empty_and_oversized_files_get_typed_errors() {
        assert!(matches!(PeerSnapshot::decode(b""), Err(PeerFileError::Corrupt(_))));
        let mut rng = crate::proto::Rng::new(9);
        let garbage: Vec<u8> = (0..100_000).map(|_| rng.next_u64() as u8).collect();
        assert!(matches!(PeerSnapshot::decode(&garbage), Err(PeerFileError::Corrupt(_))));
        let huge = vec![b'a'; MAX_PEER_FILE_BYTES + 1];
        assert_eq!(PeerSnapshot::decode(&huge), Err(PeerFileError::TooLarge(MAX_PEER_FILE_BYTES + 1)));
    }

    #[test]
    fn peers_beyond_the_bound_and_names_with_line_breaks_are_left_out() {
        let mut s = snapshot();
        s.peers = (0..MAX_PEERS + 10).map(|i| (format!("n{i}"), SocketAddr::from(([10, 0, 0, 1], 7000)))).collect();
        s.peers.insert(0, ("bad\nname".into(), SocketAddr::from(([10, 0, 0, 1], 1))));
        let back = PeerSnapshot::decode(&s.encode()).unwrap();
        assert_eq!(back.peers.len(), MAX_PEERS);
        assert_eq!(back.peers[0].0, "n0");
    }
}
