//! What the person pointed at, turned into a plain msgstore.db to open,
//! plus wa.db and the media folder when they can be found.
//!
//! Accepted: msgstore.db; msgstore.db.crypt12 / .crypt14 / .crypt15 (with
//! `--opt key-file`); a WhatsApp folder (`Databases/`, `Media/`, `wa.db`).
//! Encrypted backups are decrypted, and databases with a `-wal` file copied,
//! into a private temporary folder: the input is never touched.

use crate::crypt::{self, Key};
use chatferry_core::listing;
use chatferry_core::sqlite as db;
use chatferry_core::{Error, Options, Result};
use std::path::{Path, PathBuf};

pub struct Source {
    /// The plain SQLite msgstore to open read-only.
    pub msgstore: PathBuf,
    pub wa_db: Option<PathBuf>,
    /// The WhatsApp folder that `message_media.file_path` is relative to.
    pub media_root: Option<PathBuf>,
    /// For the report: which folder was read, when it was found below the input.
    pub notes: Vec<String>,
    /// Holds decrypted or copied databases until the import ends.
    _temp: Option<tempfile::TempDir>,
}

fn first_existing(candidates: impl IntoIterator<Item = PathBuf>) -> Option<PathBuf> {
    candidates.into_iter().find(|p| p.is_file())
}

/// The newest backup in a Databases folder: the current `msgstore.db.crypt15`
/// (or .crypt14, .crypt12), else the latest dated rotation. A folder of more
/// than `max` entries is not looked through.
fn newest_backup(dir: &Path, max: usize) -> Option<PathBuf> {
    let current = ["msgstore.db.crypt15", "msgstore.db.crypt14", "msgstore.db.crypt12"];
    if let Some(p) = first_existing(current.map(|n| dir.join(n))) {
        return Some(p);
    }
    let mut rotated: Vec<PathBuf> = listing::entries_at_most(dir, max)?
        .into_iter()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_str().unwrap_or("");
            n.starts_with("msgstore") && [".crypt15", ".crypt14", ".crypt12"].iter().any(|x| n.ends_with(x))
        })
        .map(|e| e.path())
        .collect();
    rotated.sort();
    rotated.pop()
}

/// Where the msgstore is inside a WhatsApp folder; folders of more than
/// `max` entries are not looked through for rotated backups.
fn find_in_folder(folder: &Path, max: usize) -> Option<PathBuf> {
    let dbs = [folder.join("Databases"), folder.join("databases")];
    first_existing([folder.join("msgstore.db"), dbs[0].join("msgstore.db"), dbs[1].join("msgstore.db")])
        .or_else(|| dbs.iter().find_map(|d| newest_backup(d, max)))
        .or_else(|| newest_backup(folder, max))
}

/// Which WhatsApp a folder holding both is read from (`--opt app`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum App {
    Personal,
    Business,
}

/// Where each app keeps its folder below one a person may give: shared
/// storage (`Android/media/com.whatsapp/WhatsApp`, or the older `WhatsApp/`
/// at its top), a copy of the app's own data (`com.whatsapp/databases/`),
/// and both inside a whole phone's dump (`data/data/…` with the plain
/// database first, then the shared storage under the names dumps give it).
/// WhatsApp Business is `com.whatsapp.w4b` and `WhatsApp Business/`
/// (whatsapp-2024-2026.md §4).
const APP_FOLDERS: [(App, &str); 20] = [
    (App::Personal, "WhatsApp"),
    (App::Business, "WhatsApp Business"),
    (App::Personal, "com.whatsapp/WhatsApp"),
    (App::Business, "com.whatsapp.w4b/WhatsApp Business"),
    (App::Personal, "Android/media/com.whatsapp/WhatsApp"),
    (App::Business, "Android/media/com.whatsapp.w4b/WhatsApp Business"),
    (App::Personal, "media/com.whatsapp/WhatsApp"),
    (App::Business, "media/com.whatsapp.w4b/WhatsApp Business"),
    (App::Personal, "com.whatsapp"),
    (App::Business, "com.whatsapp.w4b"),
    (App::Personal, "data/data/com.whatsapp"),
    (App::Business, "data/data/com.whatsapp.w4b"),
    (App::Personal, "data/media/0/Android/media/com.whatsapp/WhatsApp"),
    (App::Business, "data/media/0/Android/media/com.whatsapp.w4b/WhatsApp Business"),
    (App::Personal, "storage/emulated/0/Android/media/com.whatsapp/WhatsApp"),
    (App::Business, "storage/emulated/0/Android/media/com.whatsapp.w4b/WhatsApp Business"),
    (App::Personal, "sdcard/Android/media/com.whatsapp/WhatsApp"),
    (App::Business, "sdcard/Android/media/com.whatsapp.w4b/WhatsApp Business"),
    (App::Personal, "sdcard/WhatsApp"),
    (App::Business, "sdcard/WhatsApp Business"),
];

/// In a dump whose database came from the app's own data (no `Media/`
/// there), the app's folder in the dump's shared storage that has its media.
fn media_elsewhere_below(input: &Path, db_folder: &Path) -> Option<PathBuf> {
    let (app, _) = APP_FOLDERS.iter().find(|(_, rel)| input.join(rel) == db_folder)?;
    APP_FOLDERS
        .iter()
        .filter(|(a, _)| a == app)
        .map(|(_, rel)| input.join(rel))
        .find(|d| std::fs::symlink_metadata(d.join("Media")).is_ok_and(|m| m.is_dir()))
}

/// The apps whose folder below `folder` holds a store, each once (a link
/// is not followed: it may lead out of the input).
fn apps_below(folder: &Path, max: usize) -> Vec<(App, PathBuf)> {
    let mut found: Vec<(App, PathBuf)> = Vec::new();
    for (app, rel) in APP_FOLDERS {
        let dir = folder.join(rel);
        let real_dir = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir());
        if !found.iter().any(|(a, _)| *a == app) && real_dir && find_in_folder(&dir, max).is_some() {
            found.push((app, dir));
        }
    }
    found
}

/// The folder to read: `input` itself, or the app folder below it — the one
/// `--opt app` names when both apps are there.
fn app_folder(input: &Path, options: &Options) -> Result<Option<PathBuf>> {
    let wanted = match options.get("app") {
        None => None,
        Some("personal") => Some(App::Personal),
        Some("business") => Some(App::Business),
        Some(other) => return Err(Error::usage(format!("--opt app={other}: give app=personal or app=business"))),
    };
    let found = apps_below(input, usize::MAX);
    let pick = |app: App| found.iter().find(|(a, _)| *a == app).map(|(_, d)| d.clone());
    Ok(match (wanted, &found[..]) {
        (Some(app), _) if pick(app).is_some() => pick(app),
        (Some(app), [(other, dir)]) => {
            let name = |a: App| if a == App::Business { "WhatsApp Business" } else { "WhatsApp" };
            return Err(Error::usage(format!(
                "{} holds no {} folder, only {}'s ({}): leave out --opt app, or give the folder that holds it",
                input.display(),
                name(app),
                name(*other),
                dir.display()
            )));
        }
        (Some(_), _) => None,
        (None, [one]) => Some(one.1.clone()),
        (None, []) => None,
        (None, _) => {
            return Err(Error::usage(format!(
                "{} holds both WhatsApp ({}) and WhatsApp Business ({}): {}",
                input.display(),
                pick(App::Personal).unwrap_or_default().display(),
                pick(App::Business).unwrap_or_default().display(),
                chatferry_core::adapter::BOTH_APPS
            )))
        }
    })
}

/// The folder a store's relative media paths start from: the one holding
/// `Media/`, at or above the database's folder.
fn media_root_for(db: &Path) -> Option<PathBuf> {
    let dir = db.parent()?;
    let up = dir.parent();
    [Some(dir), up].into_iter().flatten().find(|d| d.join("Media").is_dir()).map(Path::to_path_buf)
}

fn wa_db_near(db: &Path) -> Option<PathBuf> {
    let dir = db.parent()?;
    let mut c = vec![dir.join("wa.db")];
    if let Some(up) = dir.parent() {
        c.push(up.join("wa.db"));
        c.push(up.join("Databases/wa.db"));
    }
    first_existing(c)
}

pub fn is_encrypted(path: &Path) -> bool {
    let mut head = vec![0u8; 512];
    let n = chatferry_core::small_file::open_regular(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    crypt::looks_encrypted(&head[..n])
}

/// How sure we are that `path` is a WhatsApp Android store (0–100).
pub fn probe(path: &Path) -> u8 {
    let file = if path.is_dir() {
        // A WhatsApp or Databases folder holds a few dozen entries; an
        // export's folder of media is not looked through whole.
        let below = || {
            let (_, dir) = apps_below(path, listing::PROBE_AT_MOST).into_iter().next()?;
            find_in_folder(&dir, listing::PROBE_AT_MOST)
        };
        match find_in_folder(path, listing::PROBE_AT_MOST).or_else(below) {
            Some(f) => f,
            // A WhatsApp folder whose Databases may not be read: ours to
            // say so (the import names it).
            None if unreadable_databases(path).is_some() => return 50,
            None => return 0,
        }
    } else {
        path.to_path_buf()
    };
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with("msgstore") && Error::if_unreadable(&file).is_some() {
        return 50;
    }
    if db::is_sqlite(&file) {
        let Ok(conn) = db::open_read_only(&file) else { return 0 };
        let modern = db::has_table(&conn, "message") && db::has_table(&conn, "jid") && db::has_table(&conn, "chat");
        let legacy = db::has_table(&conn, "messages") && db::has_column(&conn, "messages", "key_remote_jid");
        return if modern || legacy { 95 } else { 0 };
    }
    if is_encrypted(&file) {
        return if name.starts_with("msgstore") { 90 } else { 60 };
    }
    0
}

/// A permission error for the Databases folder of a WhatsApp folder, or
/// the msgstore.db in it.
fn unreadable_databases(folder: &Path) -> Option<Error> {
    ["Databases", "databases"].iter().find_map(|d| Error::if_unreadable(&folder.join(d).join("msgstore.db")))
}

impl Source {
    pub fn resolve(input: &Path, options: &Options) -> Result<Source> {
        let mut notes = Vec::new();
        // A folder above the app's own (the phone's shared storage, a data copy) is read through it.
        let below = match find_in_folder(input, usize::MAX) {
            None if input.is_dir() => app_folder(input, options)?,
            _ => None,
        };
        if let Some(dir) = &below {
            notes.push(format!("read the WhatsApp folder {}", dir.display()));
        }
        let dump_media = below.as_deref().and_then(|b| media_elsewhere_below(input, b));
        let input = below.as_deref().unwrap_or(input);
        let file = if input.is_dir() {
            find_in_folder(input, usize::MAX).ok_or_else(|| {
                if let Some(denied) = unreadable_databases(input) {
                    return denied;
                }
                Error::bad_input(format!(
                    "{} holds no msgstore.db or msgstore backup (looked in it and in Databases/)",
                    input.display()
                ))
            })?
        } else if input.is_file() {
            input.to_path_buf()
        } else {
            return Err(Error::bad_input(format!("{} does not exist", input.display())));
        };
        let media_root = match options.path("media-dir") {
            Some(p) if p.is_dir() => Some(p),
            Some(p) => return Err(Error::bad_input(format!("media-dir {} is not a folder", p.display()))),
            None if input.is_dir() && input.join("Media").is_dir() => Some(input.to_path_buf()),
            None => media_root_for(&file).or_else(|| {
                let dir = dump_media?;
                notes.push(format!("media read from {} (the shared storage of the same dump)", dir.display()));
                Some(dir)
            }),
        };
        let wa_db = match options.path("wa-db") {
            Some(p) if p.is_file() => Some(p),
            Some(p) => return Err(Error::bad_input(format!("wa-db {} is not a file", p.display()))),
            None => wa_db_near(&file).or_else(|| first_existing([input.join("wa.db")])),
        };

        let mut temp = None;
        let mut temp_dir = || -> Result<PathBuf> {
            if temp.is_none() {
                temp = Some(
                    tempfile::Builder::new()
                        .prefix("chatferry-wa-")
                        .tempdir()
                        .map_err(|e| Error::io(Path::new("temporary folder"), "create", e))?,
                );
            }
            Ok(temp.as_ref().expect("set").path().to_path_buf())
        };

        for f in std::iter::once(&file).chain(wa_db.as_ref()) {
            if let Some(denied) = Error::if_unreadable(f) {
                return Err(denied);
            }
        }
        let msgstore = if db::is_sqlite(&file) {
            db::copy_if_wal(&file, &mut temp_dir, "msgstore.db")?
        } else if is_encrypted(&file) {
            let key_path = options.path("key-file").ok_or_else(|| {
                Error::usage(format!(
                    "{} is an encrypted WhatsApp backup: give its key with --opt key-file=PATH \
                     (the 64-digit end-to-end key in a text file for .crypt15, the `key` file for .crypt14 and .crypt12)",
                    file.display()
                ))
            })?;
            let key = Key::from_file(&key_path)?;
            let out = temp_dir()?.join("msgstore.db");
            crypt::decrypt_file(&file, &key, &out)?;
            out
        } else {
            return Err(Error::bad_input(format!(
                "{} is neither an SQLite database nor a WhatsApp crypt12/crypt14/crypt15 backup",
                file.display()
            )));
        };
        let wa_db = match wa_db {
            Some(p) => Some(db::copy_if_wal(&p, &mut temp_dir, "wa.db")?),
            None => None,
        };
        Ok(Source { msgstore, wa_db, media_root, notes, _temp: temp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole phone's dump (`data/data/…` beside its shared storage): the
    /// app's plain database is found from the dump's top, its media in the
    /// shared storage, under each name dumps give it.
    #[test]
    fn a_whole_phones_dump_is_read_from_its_top() {
        for storage in ["sdcard", "storage/emulated/0", "data/media/0"] {
            let dump = tempfile::tempdir().unwrap();
            let data = dump.path().join("data/data/com.whatsapp/databases");
            std::fs::create_dir_all(&data).unwrap();
            let conn = rusqlite::Connection::open(data.join("msgstore.db")).unwrap();
            conn.execute_batch(
                "CREATE TABLE message (_id INTEGER); CREATE TABLE jid (_id INTEGER); CREATE TABLE chat (_id INTEGER);",
            )
            .unwrap();
            drop(conn);
            let shared = dump.path().join(storage).join("Android/media/com.whatsapp/WhatsApp");
            std::fs::create_dir_all(shared.join("Media")).unwrap();
            assert_eq!(probe(dump.path()), 95, "{storage}");
            let below = app_folder(dump.path(), &Options::new()).unwrap().unwrap();
            assert_eq!(below, dump.path().join("data/data/com.whatsapp"), "the plain database first");
            assert_eq!(media_elsewhere_below(dump.path(), &below), Some(shared), "{storage}");
        }
    }

    /// A probe does not look through a folder of more entries than a
    /// Databases folder holds (an export's media) for rotated backups; the
    /// import does.
    #[test]
    fn rotated_backups_are_not_looked_for_among_too_many_entries() {
        let dir = tempfile::tempdir().unwrap();
        let older = dir.path().join("msgstore-2024-01-01.1.db.crypt14");
        let newer = dir.path().join("msgstore-2024-01-02.1.db.crypt15");
        for f in [&older, &newer] {
            std::fs::write(f, b"").unwrap();
        }
        for i in 0..2 {
            std::fs::write(dir.path().join(format!("IMG-{i}.jpg")), b"").unwrap();
        }
        assert_eq!(find_in_folder(dir.path(), 4), Some(newer.clone()), "four entries, four allowed");
        assert_eq!(find_in_folder(dir.path(), 3), None, "four entries, three allowed");
        assert_eq!(find_in_folder(dir.path(), usize::MAX), Some(newer));
    }
}
