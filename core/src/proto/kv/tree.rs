//! The Merkle summary of a replica: a fixed tree of fan-out 16 over the
//! 64-bit hash of each key, four levels below the root (65,536 leaves).
//!
//! A node's digest is the XOR of the digests of the entries below it, so a
//! write updates one node per level in place, and two replicas holding the
//! same entries have the same digests wherever the entries were written
//! from. Two replicas compare roots first and descend only into children
//! whose digests differ.

/// Children of each node.
pub(crate) const FANOUT: usize = 16;
/// The leaf level (the root is level 0).
pub(crate) const LEAF_LEVEL: u8 = 4;

/// The digests, level by level.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    levels: Vec<Vec<u64>>,
}

/// The index at `level` of the node covering key hash `hash`.
pub(crate) fn index(hash: u64, level: u8) -> usize {
    if level == 0 {
        0
    } else {
        (hash >> (64 - 4 * u32::from(level))) as usize
    }
}

/// Whether `parent` is a node at `level - 1` with children at `level`.
pub(crate) fn in_range(level: u8, parent: usize) -> bool {
    (1..=LEAF_LEVEL).contains(&level) && parent < width(level - 1)
}

/// Nodes at `level`.
pub(crate) fn width(level: u8) -> usize {
    FANOUT.pow(u32::from(level))
}

impl Tree {
    /// A tree of an empty map (every digest zero).
    pub(crate) fn new() -> Self {
        Tree { levels: (0..=LEAF_LEVEL).map(|l| vec![0; width(l)]).collect() }
    }

    /// Adds or removes (XOR is its own inverse) an entry's digest.
    pub(crate) fn toggle(&mut self, hash: u64, digest: u64) {
        for (level, digests) in self.levels.iter_mut().enumerate() {
            digests[index(hash, level as u8)] ^= digest;
        }
    }

    /// The root digest.
    pub(crate) fn root(&self) -> u64 {
        self.levels[0][0]
    }

    /// The digests at `level` of the 16 children of node `parent` at
    /// `level - 1`; `None` when `level` or `parent` is out of range.
    pub(crate) fn children(&self, level: u8, parent: usize) -> Option<[u64; FANOUT]> {
        if !in_range(level, parent) {
            return None;
        }
        let start = parent * FANOUT;
        self.levels[usize::from(level)][start..start + FANOUT].try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_do_not_depend_on_insertion_order_and_removal_undoes() {
        let items: Vec<(u64, u64)> = (0..200u64).map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15), i * 7 + 1)).collect();
        let mut a = Tree::new();
        let mut b = Tree::new();
        for &(h, d) in &items {
            a.toggle(h, d);
        }
        for &(h, d) in items.iter().rev() {
            b.toggle(h, d);
        }
        assert_eq!(a.levels, b.levels);
        assert_ne!(a.root(), 0);
        for &(h, d) in &items {
            a.toggle(h, d);
        }
        assert!(a.levels.iter().all(|l| l.iter().all(|&d| d == 0)));
    }

    #[test]
    fn children_cover_their_parent_and_bad_indices_are_refused() {
        let mut t = Tree::new();
        t.toggle(0xABCD_0000_0000_0000, 5);
        let kids = t.children(1, 0).expect("level 1 under the root");
        assert_eq!(kids[0xA], 5);
        assert_eq!(kids.iter().fold(0, |x, d| x ^ d), t.root());
        assert_eq!(t.children(4, 0xABC).expect("leaves")[0xD], 5);
        assert!(t.children(5, 0).is_none());
        assert!(t.children(2, 16).is_none());
        assert!(t.children(0, 0).is_none());
    }
}
