//! What the person pointed at, turned into an open EnMicroMsg.db.
//!
//! Accepted: the app folder (`shared_prefs/` + `MicroMsg/<md5("mm"+uin)>/`),
//! the `MicroMsg` folder, one account folder, or EnMicroMsg.db alone
//! (encrypted, or already decrypted to plain SQLite). It is read in place,
//! read-only; the database runs in WAL mode, so when a `-wal` sits beside
//! it both are copied into a private temporary folder and opened there: the
//! input is never touched and no committed row in the WAL is lost.

use crate::key::{self, Access, DEFAULT_IMEI, PAGE_SIZE};
use chatferry_core::listing;
use chatferry_core::sqlite as db;
use chatferry_core::{Error, Options, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

pub const DB_NAME: &str = "EnMicroMsg.db";

pub struct Source {
    pub conn: Connection,
    /// The account folder media paths are relative to (`image2/`, `voice2/`…).
    pub account_dir: Option<PathBuf>,
    /// The `MicroMsg` folder: received files live in its `Download/`.
    pub micromsg_dir: Option<PathBuf>,
    /// The uin whose key opened the database, when it was derived.
    pub uin: Option<String>,
    /// How the database was opened, for the report.
    pub opened_with: String,
    /// What was noticed on the way (a damaged settings file), for the report.
    pub notes: Vec<String>,
    /// The private copy's folder, when one was made (removed on drop).
    _temp: Option<tempfile::TempDir>,
}

fn is_account_name(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Account folders (`<32 hex>/EnMicroMsg.db`) directly inside `micromsg`;
/// none in a folder of more than `max` entries.
fn accounts_in(micromsg: &Path, max: usize) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = listing::entries_at_most(micromsg, max)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_account_name))
        .map(|e| e.path())
        .filter(|p| p.join(DB_NAME).is_file())
        .collect();
    out.sort();
    out
}

struct Layout {
    db: PathBuf,
    account_dir: Option<PathBuf>,
    micromsg_dir: Option<PathBuf>,
    app_root: Option<PathBuf>,
}

fn layout(input: &Path, uin_hint: &[String], max: usize) -> Result<Layout> {
    if input.is_file() {
        // EnMicroMsg.db alone, perhaps still inside its folders.
        let account = input.parent().filter(|d| d.join("image2").is_dir() || d.join("voice2").is_dir());
        let micromsg = input.parent().and_then(Path::parent).filter(|d| d.file_name().is_some_and(|n| n == "MicroMsg"));
        let app_root = micromsg.and_then(Path::parent).filter(|d| d.join("shared_prefs").is_dir());
        return Ok(Layout {
            db: input.to_path_buf(),
            account_dir: account.map(Path::to_path_buf),
            micromsg_dir: micromsg.map(Path::to_path_buf),
            app_root: app_root.map(Path::to_path_buf),
        });
    }
    if !input.is_dir() {
        return Err(Error::bad_input(format!("{} does not exist", input.display())));
    }
    if input.join(DB_NAME).is_file() {
        let micromsg = input.parent().filter(|d| d.file_name().is_some_and(|n| n == "MicroMsg"));
        return Ok(Layout {
            db: input.join(DB_NAME),
            account_dir: Some(input.to_path_buf()),
            micromsg_dir: micromsg.map(Path::to_path_buf),
            app_root: micromsg.and_then(Path::parent).map(Path::to_path_buf),
        });
    }
    let (micromsg, app_root) = if input.join("MicroMsg").is_dir() {
        (input.join("MicroMsg"), Some(input.to_path_buf()))
    } else {
        (input.to_path_buf(), input.parent().filter(|p| p.join("shared_prefs").is_dir()).map(Path::to_path_buf))
    };
    let accounts = accounts_in(&micromsg, max);
    let mut uins = uin_hint.to_vec();
    if let Some(root) = &app_root {
        uins.extend(key::uins_from_prefs(root));
    }
    uins.extend(key::uin_from_settings(&micromsg).ok().flatten());
    let chosen = match accounts.len() {
        0 => {
            return Err(Error::bad_input(format!(
                "{} holds no WeChat account folder (MicroMsg/<32 hex digits>/EnMicroMsg.db); \
                 point chatferry at WeChat's app folder (com.tencent.mm) or at EnMicroMsg.db",
                input.display()
            )))
        }
        1 => accounts[0].clone(),
        _ => {
            let by_uin = uins.iter().map(|u| key::account_dir_name(u)).find_map(|name| {
                accounts.iter().find(|a| a.file_name().is_some_and(|n| n.to_string_lossy() == name)).cloned()
            });
            by_uin.ok_or_else(|| {
                let names: Vec<String> =
                    accounts.iter().map(|a| a.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
                Error::usage(format!(
                    "{} holds several WeChat accounts ({}); say which with --opt uin=<the account's uin> \
                     (its folder is md5(\"mm\" + uin))",
                    micromsg.display(),
                    names.join(", ")
                ))
            })?
        }
    };
    Ok(Layout { db: chosen.join(DB_NAME), account_dir: Some(chosen), micromsg_dir: Some(micromsg), app_root })
}

/// How sure we are that `path` is a WeChat Android store (0–100).
pub fn probe(path: &Path) -> u8 {
    // A MicroMsg folder holds a few dozen entries; an export's folder of
    // media is not looked through whole.
    let Ok(l) = layout(path, &[], listing::PROBE_AT_MOST) else {
        // Several accounts: still WeChat's folder (the import asks which one).
        let micromsg = if path.join("MicroMsg").is_dir() { path.join("MicroMsg") } else { path.to_path_buf() };
        return if path.is_dir() && accounts_in(&micromsg, listing::PROBE_AT_MOST).len() > 1 { 80 } else { 0 };
    };
    if l.db.file_name().is_some_and(|n| n == DB_NAME) {
        return 90;
    }
    if db::is_sqlite(&l.db) {
        if let Ok(conn) = db::open_read_only(&l.db) {
            if db::has_table(&conn, "message") && db::has_table(&conn, "rcontact") && db::has_table(&conn, "ImgInfo2") {
                return 90;
            }
        }
    }
    0
}

impl Source {
    pub fn open(input: &Path, options: &Options) -> Result<Source> {
        let opt_uin = options.get("uin").map(key::check_uin).transpose()?;
        let opt_key = key::given_key(options)?;
        let opt_imei = options.get("imei").map(|i| i.trim().to_string()).filter(|i| !i.is_empty());
        let l = layout(input, opt_uin.as_slice(), usize::MAX)?;

        let size = std::fs::metadata(&l.db).map_err(|e| Error::io(&l.db, "read", e))?.len();
        let plain = db::is_sqlite(&l.db);
        if !plain && (size < PAGE_SIZE || size % PAGE_SIZE != 0) {
            return Err(Error::bad_input(format!(
                "{} is truncated or damaged: {size} bytes is not a whole number of WeChat's 1024-byte pages; \
                 copy it again from the phone",
                l.db.display()
            )));
        }

        // With a WAL beside it, committed rows may be only in the WAL, and
        // opening it would write beside the original: copy both into a
        // private folder. Without one, read the original in place,
        // read-only (no copy the size of the database in the temporary
        // folder, no time spent making it).
        let wal = PathBuf::from(format!("{}-wal", l.db.display()));
        let (db_file, access, temp) = if wal.is_file() {
            let temp = tempfile::Builder::new()
                .prefix("chatferry-wechat-")
                .tempdir()
                .map_err(|e| Error::io(Path::new("temporary folder"), "create", e))?;
            let copy = temp.path().join(DB_NAME);
            chatferry_core::small_file::copy_regular(&l.db, &copy).map_err(|e| Error::io(&l.db, "copy", e))?;
            chatferry_core::small_file::copy_regular(&wal, temp.path().join(format!("{DB_NAME}-wal")))
                .map_err(|e| Error::io(&wal, "copy", e))?;
            (copy, Access::PrivateCopy, Some(temp))
        } else {
            (l.db.clone(), Access::InPlace, None)
        };

        // Where the key's two halves may come from, in the order the format
        // doc gives: what the person said, then what the app keeps.
        let mut notes = Vec::new();
        let mut uins: Vec<(String, String)> =
            opt_uin.iter().map(|u| (u.clone(), "given with --opt uin".to_string())).collect();
        let add_uin = |uins: &mut Vec<(String, String)>, u: String, from: &str| {
            if !uins.iter().any(|(o, _)| *o == u) {
                uins.push((u, from.to_string()));
            }
        };
        if let Some(root) = &l.app_root {
            for (u, file) in key::uins_from_prefs_with_source(root) {
                add_uin(&mut uins, u, &format!("from {file}"));
            }
        }
        let mut devices: Vec<(String, String)> =
            opt_imei.iter().map(|i| (i.clone(), "the device id given with --opt imei".to_string())).collect();
        if let Some(micromsg) = &l.micromsg_dir {
            match key::uin_from_settings(micromsg) {
                Ok(Some(u)) => add_uin(&mut uins, u, "from MicroMsg/systemInfo.cfg"),
                Ok(None) => {}
                Err(why) => {
                    notes.push(format!("MicroMsg/systemInfo.cfg could not be read ({why}); its uin was not tried"))
                }
            }
            match key::device_id_from_settings(micromsg) {
                Ok(Some(d)) if !devices.iter().any(|(o, _)| *o == d) => {
                    devices.push((d, "the device id from MicroMsg/CompatibleInfo.cfg".to_string()))
                }
                Ok(_) => {}
                Err(why) => notes.push(format!(
                    "MicroMsg/CompatibleInfo.cfg could not be read ({why}); the device id it keeps was not tried"
                )),
            }
        }
        if !devices.iter().any(|(i, _)| i == DEFAULT_IMEI) {
            devices.push((DEFAULT_IMEI.to_string(), "WeChat's default device id".to_string()));
        }
        // A uin whose md5("mm"+uin) names the account folder goes first.
        if let Some(dir) = l.account_dir.as_ref().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned())
        {
            uins.sort_by_key(|(u, _)| key::account_dir_name(u) != dir);
        }

        let (conn, uin, opened_with) = if plain {
            let conn = key::try_open(&db_file, None, access)?
                .ok_or_else(|| Error::bad_input(format!("{} is not an SQLite database", l.db.display())))?;
            (conn, opt_uin.clone(), "a plain (already decrypted) database".to_string())
        } else if let Some(k) = &opt_key {
            let conn = key::try_open(&db_file, Some(k), access)?.ok_or_else(|| {
                Error::wrong_key(format!(
                    "the key you gave did not open {}: check its 7 characters, or give --opt imei= and --opt uin= \
                     instead (the key is md5(IMEI + uin)[:7])",
                    l.db.display()
                ))
            })?;
            (conn, opt_uin.clone(), "the given key".to_string())
        } else {
            if uins.is_empty() {
                return Err(Error::wrong_key(format!(
                    "{} is encrypted and no uin was found (no shared_prefs or MicroMsg/systemInfo.cfg beside it): give \
                     --opt uin=<uin from shared_prefs/auth_info_key_prefs.xml> and, if WeChat could read your phone's \
                     IMEI, --opt imei=, or the key itself in a file with --opt key-file=",
                    l.db.display()
                )));
            }
            let mut found = None;
            let mut tried = Vec::new();
            'outer: for (u, uin_from) in &uins {
                for (device, device_from) in &devices {
                    let k = key::derive_key(device, u);
                    if let Some(conn) = key::try_open(&db_file, Some(&k), access)? {
                        found = Some((conn, u.clone(), uin_from.clone(), device_from.clone()));
                        break 'outer;
                    }
                    tried.push(format!("{device_from} ({device}) with uin {u} ({uin_from})"));
                }
            }
            let Some((conn, uin, uin_from, device_from)) = found else {
                return Err(Error::wrong_key(format!(
                    "no key opened {}: tried {}. Give your phone's IMEI with --opt imei= (dial *#06#), the uin with \
                     --opt uin=, or the 7-character key in a file with --opt key-file=; if the file was copied while damaged, \
                     copy it again",
                    l.db.display(),
                    tried.join("; ")
                )));
            };
            (conn, Some(uin.clone()), format!("the key for uin {uin} ({uin_from}) and {device_from}"))
        };

        for t in ["message", "rcontact"] {
            if !db::has_table(&conn, t) {
                return Err(Error::bad_input(format!(
                    "{} opened, but it is not WeChat's EnMicroMsg.db (it has no {t} table)",
                    l.db.display()
                )));
            }
        }
        Ok(Source {
            conn,
            account_dir: l.account_dir,
            micromsg_dir: l.micromsg_dir,
            uin,
            opened_with,
            notes,
            _temp: temp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe does not look through a folder of more entries than an app's
    /// own folder holds (an export's media); the import does.
    #[test]
    fn accounts_are_not_looked_for_among_too_many_entries() {
        let dir = tempfile::tempdir().unwrap();
        let account = dir.path().join("0123456789abcdef0123456789abcdef");
        std::fs::create_dir(&account).unwrap();
        std::fs::write(account.join(DB_NAME), b"").unwrap();
        for i in 0..3 {
            std::fs::write(dir.path().join(format!("IMG-{i}.jpg")), b"").unwrap();
        }
        assert_eq!(accounts_in(dir.path(), 4), [account.clone()], "four entries, four allowed");
        assert!(accounts_in(dir.path(), 3).is_empty(), "four entries, three allowed");
        assert_eq!(accounts_in(dir.path(), usize::MAX), [account]);
    }

    /// A decrypted EnMicroMsg.db (WeChat's two core tables, no rows) alone
    /// in a folder.
    fn plain_store(dir: &Path) -> PathBuf {
        let db = dir.join(DB_NAME);
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE message (msgId INTEGER PRIMARY KEY); CREATE TABLE rcontact (username TEXT);")
            .unwrap();
        db
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_database_without_a_wal_is_read_in_place_and_one_with_a_wal_from_a_private_copy() {
        let dir = tempfile::tempdir().unwrap();
        let db = plain_store(dir.path());
        let bytes = std::fs::read(&db).unwrap();

        let source = Source::open(&db, &Options::new()).unwrap();
        let opened = PathBuf::from(source.conn.path().unwrap());
        assert_eq!(opened.canonicalize().unwrap(), db.canonicalize().unwrap(), "no copy without a WAL");
        assert!(source._temp.is_none());
        drop(source);
        assert_eq!(listing(dir.path()), [DB_NAME], "nothing written beside it (no -shm, no -journal)");
        assert_eq!(std::fs::read(&db).unwrap(), bytes);

        // An empty WAL is a valid one: the copy path opens it.
        std::fs::write(dir.path().join(format!("{DB_NAME}-wal")), b"").unwrap();
        let source = Source::open(&db, &Options::new()).unwrap();
        let opened = PathBuf::from(source.conn.path().unwrap());
        assert!(!opened.starts_with(dir.path()) && opened.ends_with(DB_NAME), "{}", opened.display());
        assert!(source._temp.is_some());
        drop(source);
        assert_eq!(listing(dir.path()), [DB_NAME.to_string(), format!("{DB_NAME}-wal")]);
        assert_eq!(std::fs::read(&db).unwrap(), bytes);
    }
}
