//! The side tables a message may have one row in (its media, the message
//! it quotes, its link preview, …), read only for the messages that have
//! one. Joining all of them to every message cost SQLite a B-tree seek per
//! table per message, found or not (at 1,000,000 messages the nine joins
//! took 2.1 s of the query's 2.8 s); instead each table's message ids are
//! read once into a set, and a row is fetched by a point lookup only where
//! the set says there is one.

use chatferry_core::sqlite as db;
use chatferry_core::Result;
use rusqlite::{CachedStatement, Connection, Row};

/// Which message ids a side table has a row for: a bitmap over the ids'
/// span, or a sorted list when the ids are too sparse for one (either way
/// at most 8 bytes per row; a bitmap is one bit per message).
pub enum RowSet {
    Bits { base: i64, words: Vec<u64> },
    Sorted(Vec<i64>),
}

impl RowSet {
    /// The distinct values of `column` in `table`; `column` is the table's
    /// rowid or indexed (its min and max come from the B-tree, not a scan).
    /// A bitmap when the values span at most `bitmap_span`, else a sorted
    /// list.
    pub fn load(conn: &Connection, table: &str, column: &str, bitmap_span: u64) -> Result<RowSet> {
        let e = db::err_for(conn);
        // One aggregate a query: only then does SQLite read it off the B-tree.
        let edge = |f: &str| -> Result<Option<i64>> {
            conn.query_row(&format!("SELECT {f}({column}) FROM {table}"), [], |r| r.get(0)).map_err(&e)
        };
        let (min, max) = (edge("min")?, edge("max")?);
        let (Some(min), Some(max)) = (min, max) else { return Ok(RowSet::Sorted(Vec::new())) };
        let mut stmt = conn.prepare(&format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL")).map_err(&e)?;
        let mut rows = stmt.query([]).map_err(&e)?;
        let span = (max as i128 - min as i128 + 1) as u128;
        if span <= bitmap_span as u128 {
            let mut words = vec![0u64; (span as usize).div_ceil(64)];
            while let Some(r) = rows.next().map_err(&e)? {
                let at = (r.get::<_, i64>(0).map_err(&e)? - min) as usize;
                words[at / 64] |= 1 << (at % 64);
            }
            Ok(RowSet::Bits { base: min, words })
        } else {
            let mut ids = Vec::new();
            while let Some(r) = rows.next().map_err(&e)? {
                ids.push(r.get::<_, i64>(0).map_err(&e)?);
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(RowSet::Sorted(ids))
        }
    }

    pub fn contains(&self, id: i64) -> bool {
        match self {
            RowSet::Bits { base, words } => {
                let Some(at) = id.checked_sub(*base).filter(|a| *a >= 0) else { return false };
                let at = at as u64;
                words.get((at / 64) as usize).is_some_and(|w| w & (1 << (at % 64)) != 0)
            }
            RowSet::Sorted(ids) => ids.binary_search(&id).is_ok(),
        }
    }
}

/// One side table: which messages have a row, and the statement that
/// reads that row (`?1` = the message's `_id`).
pub struct Side<'c> {
    present: RowSet,
    stmt: CachedStatement<'c>,
}

impl<'c> Side<'c> {
    /// `None` when the store has no such table. `select` is the column
    /// list (with the alias `t`); the table's `message_row_id` holds the
    /// message id. `messages` is the message table's row count.
    pub fn open(conn: &'c Connection, table: &str, select: &str, messages: u64) -> Result<Option<Side<'c>>> {
        let sql = format!("SELECT {select} FROM {table} t WHERE t.message_row_id = ?1 LIMIT 1");
        Self::with_sql(conn, table, "message_row_id", &sql, messages)
    }

    /// Like `open`, with the column of `table` that holds the message id
    /// and the whole lookup query (`?1` = the message id) given.
    pub fn with_sql(
        conn: &'c Connection,
        table: &str,
        key: &str,
        sql: &str,
        messages: u64,
    ) -> Result<Option<Side<'c>>> {
        if !db::has_table(conn, table) {
            return Ok(None);
        }
        // A bitmap spans at most twice the messages there are (a quarter of
        // a byte each); ids spread wider (a damaged or odd store) make a
        // list instead, so memory never follows a stray huge id.
        let present = RowSet::load(conn, table, key, messages.saturating_mul(2).max(1 << 16))?;
        let stmt = conn.prepare_cached(sql).map_err(db::err_for(conn))?;
        Ok(Some(Side { present, stmt }))
    }

    /// Reads the row of message `id` with `read`, if there is one.
    pub fn get<T>(&mut self, id: i64, read: impl FnOnce(&Row) -> rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
        if !self.present.contains(id) {
            return Ok(None);
        }
        let mut rows = self.stmt.query([id])?;
        match rows.next()? {
            Some(r) => read(r).map(Some),
            None => Ok(None),
        }
    }
}

impl Side<'_> {
    /// Reads every row of message `id` with `read`, in the query's order.
    pub fn all<T>(&mut self, id: i64, mut read: impl FnMut(&Row) -> rusqlite::Result<T>) -> rusqlite::Result<Vec<T>> {
        let mut out = Vec::new();
        if self.present.contains(id) {
            let mut rows = self.stmt.query([id])?;
            while let Some(r) = rows.next()? {
                out.push(read(r)?);
            }
        }
        Ok(out)
    }
}

/// The add-ons of one type on a message (`message_add_on` rows, alias `a`,
/// whose `parent_message_row_id` is the message) with their detail row
/// (alias `d`, joined as `join`: `JOIN` or `LEFT JOIN`), oldest first;
/// `None` when the store has no `detail` table.
pub fn add_ons<'c>(
    conn: &'c Connection,
    detail: &str,
    join: &str,
    select: &str,
    kind: i64,
    messages: u64,
) -> Result<Option<Side<'c>>> {
    if !db::has_table(conn, detail) {
        return Ok(None);
    }
    Side::with_sql(
        conn,
        "message_add_on",
        "parent_message_row_id",
        &format!(
            "SELECT a.from_me, a.sender_jid_row_id, {select} FROM message_add_on a
             {join} {detail} d ON d.message_add_on_row_id = a._id
             WHERE a.parent_message_row_id = ?1 AND a.message_add_on_type = {kind} ORDER BY a._id"
        ),
        messages,
    )
}

/// A column of `table` by the alias `t`, or NULL where this version of
/// the store lacks it.
pub fn col(conn: &Connection, table: &str, column: &str) -> String {
    db::col_or_null(conn, table, "t", column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(ids: &[i64]) -> RowSet {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE s (message_row_id INTEGER PRIMARY KEY, v TEXT)").unwrap();
        for id in ids {
            conn.execute("INSERT INTO s (message_row_id) VALUES (?1)", [id]).unwrap();
        }
        RowSet::load(&conn, "s", "message_row_id", 1000).unwrap()
    }

    #[test]
    fn dense_ids_make_a_bitmap_and_sparse_ones_a_list() {
        let dense = set_of(&[5, 6, 63, 64, 65, 200]);
        assert!(matches!(dense, RowSet::Bits { .. }));
        let sparse = set_of(&[-3, 1, i64::MAX]);
        assert!(matches!(sparse, RowSet::Sorted(_)));
        for (set, ids) in [(&dense, &[5i64, 6, 63, 64, 65, 200][..]), (&sparse, &[-3, 1, i64::MAX][..])] {
            for id in ids {
                assert!(set.contains(*id), "{id}");
            }
            for id in [i64::MIN, -4, 0, 2, 4, 7, 62, 66, 199, 201, 100_000, i64::MAX - 1] {
                assert!(!set.contains(id), "{id}");
            }
        }
        assert!(!set_of(&[]).contains(0));
    }
}
