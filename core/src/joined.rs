//! One person's history kept in several chats (WhatsApp's chat under their
//! number and the one under their hidden-number id), read as one: each
//! chat in its own order, merged by time, each message once.

use std::cmp::Ordering;
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

/// The items of `sources`, each already in its own order, taken earliest
/// first by `cmp` (a tie to the first source) and given to `take` until it
/// returns false (then false) or every source is empty (then true). Each
/// source reads on only when its head is taken, so nothing is held but
/// one item a source — sorting them together instead costs a sort of all.
pub fn merge<T, E>(
    sources: &mut [&mut dyn FnMut() -> Result<Option<T>, E>],
    cmp: impl Fn(&T, &T) -> Ordering,
    mut take: impl FnMut(T) -> Result<bool, E>,
) -> Result<bool, E> {
    let mut heads = Vec::with_capacity(sources.len());
    for next in sources.iter_mut() {
        heads.push(next()?);
    }
    loop {
        let mut earliest: Option<usize> = None;
        for (i, h) in heads.iter().enumerate() {
            let Some(h) = h else { continue };
            if earliest.is_none_or(|e| cmp(h, heads[e].as_ref().expect("a head")) == Ordering::Less) {
                earliest = Some(i);
            }
        }
        let Some(i) = earliest else { return Ok(true) };
        let item = heads[i].take().expect("chosen");
        heads[i] = sources[i]()?;
        if !take(item)? {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_merge_by_time_ties_to_the_first_and_stop_when_asked() {
        let source = |items: Vec<(i64, &'static str)>| {
            let mut it = items.into_iter();
            move || -> Result<Option<(i64, &'static str)>, ()> { Ok(it.next()) }
        };
        let (mut a, mut b) = (source(vec![(1, "a1"), (3, "a3"), (3, "a3'")]), source(vec![(2, "b2"), (3, "b3")]));
        let mut got = Vec::new();
        let done = merge(
            &mut [&mut a, &mut b],
            |x, y| x.0.cmp(&y.0),
            |x| {
                got.push(x.1);
                Ok(true)
            },
        );
        assert_eq!(done, Ok(true));
        assert_eq!(got, ["a1", "b2", "a3", "a3'", "b3"]);
        let mut c = source(vec![(1, "c1"), (2, "c2")]);
        let mut n = 0;
        assert_eq!(
            merge(
                &mut [&mut c],
                |x, y| x.0.cmp(&y.0),
                |_| {
                    n += 1;
                    Ok(false)
                }
            ),
            Ok(false)
        );
        assert_eq!(n, 1);
    }

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
