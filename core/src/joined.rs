//! One person's history kept in several chats (WhatsApp's chat under their
//! number and the one under their hidden-number id), read as one: each
//! chat in its own order, merged by time, each message once.

use crate::text_form::counted;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
#[cfg(feature = "sqlite")]
use {crate::error::Result, rusqlite::Connection, std::collections::BTreeMap};

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

#[cfg(feature = "sqlite")]
/// Reads every person's chats as one, person after person: `joined` maps
/// each joined chat's id to its person's key; `sql` reads one chat in its
/// own order (`?1` = the chat's id), each row read with `read`; the chats
/// are merged by `cmp`, a row `first` says was seen already (it keeps its
/// `SeenOnce` per person) is skipped and counted, and the others go to
/// `take` until it returns false. Returns whether every row was taken and
/// how many were skipped.
pub fn read_people<T>(
    conn: &Connection,
    sql: &str,
    joined: &HashMap<i64, i64>,
    read: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
    first: impl Fn(&T, &mut SeenOnce) -> bool,
    mut take: impl FnMut(T) -> Result<bool>,
) -> Result<(bool, u64)> {
    let e = &crate::sqlite::err_for(conn);
    let mut people: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (chat, person) in joined {
        people.entry(*person).or_default().push(*chat);
    }
    let (mut seen, mut twice) = (SeenOnce::default(), 0u64);
    for mut chats in people.into_values() {
        chats.sort_unstable();
        seen.clear();
        let mut stmts = chats.iter().map(|_| conn.prepare(sql)).collect::<rusqlite::Result<Vec<_>>>().map_err(e)?;
        let mut cursors =
            stmts.iter_mut().zip(&chats).map(|(s, c)| s.query([c])).collect::<rusqlite::Result<Vec<_>>>().map_err(e)?;
        let read = &read;
        let mut sources: Vec<_> = cursors
            .iter_mut()
            .map(|c| move || -> Result<Option<T>> { c.next().map_err(e)?.map(read).transpose().map_err(e) })
            .collect();
        let mut sources: Vec<&mut dyn FnMut() -> Result<Option<T>>> =
            sources.iter_mut().map(|s| s as &mut dyn FnMut() -> Result<Option<T>>).collect();
        let went_on = merge(&mut sources, &cmp, |row| {
            if !first(&row, &mut seen) {
                twice += 1;
                return Ok(true);
            }
            take(row)
        })?;
        if !went_on {
            return Ok((false, twice));
        }
    }
    Ok((true, twice))
}

/// The report's line for the chats joined to their person's first chat
/// (`joined`: chat → its person's key, the key being one of the chats).
pub fn joined_chats_note(joined: &HashMap<i64, i64>) -> Option<String> {
    let n = joined.len() - joined.values().collect::<HashSet<_>>().len();
    (n > 0).then(|| {
        format!(
            "{} with a person under their hidden-number id (LID) joined to their chat under their phone number: \
             each person is one chat, their messages in time order",
            counted(n as u64, "chat", "chats")
        )
    })
}

/// The report's line for the messages found in both of a person's chats.
pub fn read_once_note(twice: u64) -> Option<String> {
    (twice > 0).then(|| {
        format!(
            "{} in both of a person's chats (under their number and their hidden-number id) read once",
            counted(twice, "message", "messages")
        )
    })
}

/// The report's line for the group senders a store names by their LID.
pub fn lid_senders_note(senders: usize) -> Option<String> {
    (senders > 0).then(|| {
        format!(
            "{} by a hidden-number id (LID) read under their phone number",
            counted(senders as u64, "sender known", "senders known")
        )
    })
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

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_persons_chats_read_as_one_in_time_order_each_message_once() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE m (chat INTEGER, sort INTEGER, t INTEGER, k TEXT);
             INSERT INTO m VALUES (1, 1, 10, 'a'), (1, 2, 30, 'c'), (2, 1, 20, 'b'), (2, 2, 30, 'c'), (2, 3, 40, 'd'),
                                  (3, 1, 5, 'x'), (4, 1, 6, 'x');",
        )
        .unwrap();
        // Chats 1 and 2 are one person, 3 and 4 another (the same key there is not the first person's).
        let joined: HashMap<i64, i64> = [(1, 1), (2, 1), (3, 3), (4, 3)].into();
        let mut got = Vec::new();
        let (all, twice) = read_people(
            &conn,
            "SELECT t, k FROM m WHERE chat = ?1 ORDER BY sort",
            &joined,
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            |a, b| a.0.cmp(&b.0),
            |r, seen| seen.first(false, &r.1),
            |r| {
                got.push(r.1);
                Ok(true)
            },
        )
        .unwrap();
        assert!(all);
        assert_eq!(got, ["a", "b", "c", "d", "x"]);
        assert_eq!(twice, 2, "c in both of the first person's chats, x in both of the second's");
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
