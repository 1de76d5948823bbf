//! Read-only access to apps' SQLite stores, shared by the adapters
//! (feature `sqlite`): opening without any chance of changing the file,
//! telling what a database holds, and one-line errors.

use crate::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The first 16 bytes of every SQLite database file.
pub const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

pub fn is_sqlite(path: &Path) -> bool {
    let mut head = [0u8; 16];
    crate::small_file::open_regular(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && &head == SQLITE_MAGIC
}

/// Opens a database without any chance of changing it: read-only and
/// `immutable` (no locks, no journal, no -shm created). Callers copy a
/// database that has a -wal file first, so no committed row is missed.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    let conn = open_immutable(path).map_err(|e| sql_error(path, e))?;
    // Sorts and temporary tables spill to disk instead of growing memory
    // (the bundled SQLite keeps them in memory by default).
    conn.pragma_update(None, "temp_store", "FILE").map_err(|e| sql_error(path, e))?;
    // Any query fails on a file that is not a database; find out now.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).map_err(|e| sql_error(path, e))?;
    Ok(conn)
}

/// Opens `path` read-only and `immutable`, nothing read yet: for callers
/// that must set a key before the first read (SQLCipher). The file must
/// have no `-wal` beside it (immutable ignores one).
pub fn open_immutable(path: &Path) -> rusqlite::Result<Connection> {
    // SQLite opens by name and would wait for ever on a FIFO.
    if let Err(e) = crate::small_file::check_regular(path) {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("cannot open it: {e}")),
        ));
    }
    let uri = format!("file:{}?immutable=1", percent_encode(path));
    Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Whether SQLite failed for want of room: the disk its file is on, or
/// the temporary folder where it sorts (building an index) is full.
pub fn is_disk_full(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull)
}

/// The error for a full disk while SQLite worked on `path`.
pub fn disk_full(path: &Path) -> Error {
    Error::new(
        crate::ErrorKind::Io,
        format!(
            "no room left on disk while writing {}: SQLite needs room beside it and in the temporary folder {} \
             (where it sorts); free some space, or set TMPDIR to a folder with room",
            path.display(),
            std::env::temp_dir().display()
        ),
    )
}

/// A one-line error for a SQLite failure on `path`.
pub fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    if is_disk_full(&e) {
        return disk_full(path);
    }
    let text = e.to_string();
    if text.contains("unable to open") {
        if let Some(denied) = Error::if_unreadable(path) {
            return denied;
        }
    }
    if text.contains("file is not a database") || text.contains("not a database") {
        Error::bad_input(format!("{} is not an SQLite database", path.display()))
    } else if text.contains("malformed") || text.contains("corrupt") {
        Error::bad_input(format!("{} is damaged ({text}); copy it again from the phone", path.display()))
    } else {
        Error::bad_input(format!("{}: {text}", path.display()))
    }
}

/// Whether `table` exists.
pub fn has_table(conn: &Connection, table: &str) -> bool {
    conn.query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |_| Ok(())).is_ok()
}

/// Whether `table` has `column`.
pub fn has_column(conn: &Connection, table: &str, column: &str) -> bool {
    conn.prepare(&format!("SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"))
        .and_then(|mut s| s.exists([column]))
        .unwrap_or(false)
}

/// Maps SQLite errors on the database at `path` to one-line errors (for
/// writers, which know the path they create).
pub fn err_at(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| sql_error(path, e)
}

/// Maps SQLite errors on this connection's file to one-line errors.
pub fn err_for(conn: &Connection) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| sql_error(Path::new(conn.path().unwrap_or("the database")), e)
}

/// A database with a `-wal` beside it has committed rows only in the WAL:
/// copy both into `dir` and fold the WAL into the copy (opening the
/// original would write to it). Without a WAL the original is returned.
pub fn copy_if_wal(
    path: &Path,
    dir: &mut dyn FnMut() -> Result<std::path::PathBuf>,
    name: &str,
) -> Result<std::path::PathBuf> {
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    if !wal.is_file() {
        return Ok(path.to_path_buf());
    }
    let dir = dir()?;
    let copy = dir.join(name);
    crate::small_file::copy_regular(path, &copy).map_err(|e| Error::io(path, "copy", e))?;
    crate::small_file::copy_regular(&wal, dir.join(format!("{name}-wal"))).map_err(|e| Error::io(&wal, "copy", e))?;
    let conn = Connection::open(&copy).map_err(|e| sql_error(path, e))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(|e| sql_error(path, e))?;
    conn.pragma_update(None, "journal_mode", "DELETE").map_err(|e| sql_error(path, e))?;
    Ok(copy)
}

/// `alias.column` if the table has that column, else `NULL`: one query
/// reads every version of a schema.
pub fn col_or_null(conn: &Connection, table: &str, alias: &str, column: &str) -> String {
    if has_table(conn, table) && has_column(conn, table, column) {
        format!("{alias}.{column}")
    } else {
        "NULL".into()
    }
}

fn percent_encode(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_said_as_such_not_as_a_damaged_store() {
        // SQLite's "database or disk is full", made here by a page limit:
        // a full TMPDIR while building an index was reported as a bug.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msgstore.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t(x); PRAGMA max_page_count = 3;").unwrap();
        let e = conn.execute_batch("INSERT INTO t SELECT zeroblob(100000);").unwrap_err();
        assert!(is_disk_full(&e), "{e}");
        let message = sql_error(&path, e).message;
        assert!(message.contains("no room left on disk") && message.contains("TMPDIR"), "{message}");
    }

    #[test]
    fn opens_paths_with_awkward_characters_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a b?c#d%e.db");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);").unwrap();
        let before = std::fs::read(&path).unwrap();
        let conn = open_read_only(&path).unwrap();
        assert!(has_table(&conn, "t") && has_column(&conn, "t", "x") && !has_column(&conn, "t", "y"));
        assert!(conn.execute("INSERT INTO t VALUES (2)", []).is_err(), "writes are refused");
        drop(conn);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no journal or -shm created");
    }

    #[test]
    fn a_file_that_is_not_a_database_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let e = open_read_only(&path).unwrap_err();
        assert!(e.message.contains("is not an SQLite database"), "{e}");
    }
}
