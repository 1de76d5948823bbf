//! Which messages of one person were read already, when their history is
//! in two chats (WhatsApp's number and hidden-number id) and a message may
//! be in both.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

/// A message key seen once per person. Kept as a 128-bit fingerprint of
/// two independently keyed hashes: 16 bytes a message instead of its key
/// string, and two different keys share one with a chance near 2⁻¹²⁸ per
/// pair (a million messages: ~10⁻²⁷), so no message is dropped as a
/// duplicate in practice.
pub struct SeenOnce {
    seen: HashSet<u128>,
    hashes: (RandomState, RandomState),
}

impl Default for SeenOnce {
    fn default() -> SeenOnce {
        SeenOnce { seen: HashSet::new(), hashes: (RandomState::new(), RandomState::new()) }
    }
}

impl SeenOnce {
    /// True the first time (from me, key) is given since the last `clear`.
    pub fn first(&mut self, from_me: bool, key: &str) -> bool {
        let one = |h: &RandomState| h.hash_one((from_me, key)) as u128;
        self.seen.insert(one(&self.hashes.0) << 64 | one(&self.hashes.1))
    }

    /// Forgets everything (the next person).
    pub fn clear(&mut self) {
        self.seen.clear();
        self.seen.shrink_to(1 << 12);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_first_once_per_direction_until_cleared() {
        let mut s = SeenOnce::default();
        assert!(s.first(false, "3EB0A"));
        assert!(!s.first(false, "3EB0A"));
        assert!(s.first(true, "3EB0A"), "the owner's message with the same key is another");
        assert!(s.first(false, "3EB0B"));
        s.clear();
        assert!(s.first(false, "3EB0A"));
    }
}
