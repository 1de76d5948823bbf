//! What the person pointed at: an iPhone backup (WeChat's files found
//! through Manifest.db in `AppDomain-com.tencent.xin`; an encrypted one is
//! first decrypted, the chosen account's files only, into a private
//! folder), a folder
//! holding `Documents/`, the `Documents` folder, one account folder
//! `Documents/<md5(wxid)>/`, or its `DB/MM.sqlite`. Several accounts →
//! `--opt account=`. Databases with a `-wal` beside them are copied into a
//! private folder and opened there; nothing of the input is written.

use chatferry_core::ios_backup::{self, Decrypted, Manifest, PasswordSource};
use chatferry_core::listing;
use chatferry_core::sqlite as db;
use chatferry_core::{Error, Options, Report, Result};
use chatferry_wechat::media::{find, Found};
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};

/// WeChat's app container in iPhone backups.
pub const DOMAIN: &str = "AppDomain-com.tencent.xin";
/// WeChat's app in a backup's Manifest.plist `Applications`.
const BUNDLE_ID: &str = "com.tencent.xin";
/// Not a user folder (WeChat keeps shared state there).
const NOT_AN_ACCOUNT: &str = "00000000000000000000000000000000";

pub fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

pub fn is_account_hash(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) && s != NOT_AN_ACCOUNT
}

/// The folder name of an account given as a wxid or as the folder name.
pub fn account_hash(value: &str) -> String {
    let v = value.trim();
    if is_account_hash(&v.to_ascii_lowercase()) {
        v.to_ascii_lowercase()
    } else {
        md5_hex(v)
    }
}

/// Where the account's files are.
pub enum Files {
    /// `Documents/<hash>/` on disk.
    Folder(PathBuf),
    /// A backup; files are `Documents/<hash>/<relative>` in WeChat's domain.
    Backup { dir: PathBuf, prefix: String },
}

impl Files {
    /// A file of the account (relative to the account folder), if present.
    /// In a backup, a blob or blob folder that is a link is refused: it
    /// would read a file from outside the backup.
    pub fn file(&self, relative: &str) -> Result<Option<PathBuf>> {
        let p = match self {
            Files::Folder(dir) => dir.join(relative),
            Files::Backup { dir, prefix } => {
                let p = ios_backup::blob_path(dir, DOMAIN, &format!("{prefix}{relative}"));
                let is_link = |q: &Path| q.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink());
                if let Some(link) = [p.parent().unwrap_or(dir), &p].into_iter().find(|q| is_link(q)) {
                    return Err(Error::bad_input(format!(
                        "the backup's {} is a link; chatferry does not follow links out of a backup (copy the \
                         backup again, without links)",
                        link.display()
                    )));
                }
                p
            }
        };
        Ok(p.is_file().then_some(p))
    }

    /// A media file named by a row; a path that escapes the account is
    /// refused, counted and noted.
    pub fn media(&self, relative: &str, message_id: &str, report: &mut Report) -> Found {
        match self {
            Files::Folder(dir) => find(Some(dir), relative, message_id, report),
            Files::Backup { dir, prefix } => {
                // Refuse escapes before hashing: the id hides the path.
                if relative.split('/').any(|c| c == ".." || c.is_empty()) || relative.starts_with('/') {
                    return find(Some(dir), relative, message_id, report);
                }
                let id = ios_backup::file_id(DOMAIN, &format!("{prefix}{relative}"));
                find(Some(dir), &format!("{}/{id}", &id[..2]), message_id, report)
            }
        }
    }
}

pub struct Source {
    /// The account folder's name, md5 of the owner's wxid.
    pub account: String,
    pub files: Files,
    /// MM.sqlite, then message_1.sqlite, message_2.sqlite, … (openable paths).
    pub message_dbs: Vec<PathBuf>,
    pub contact_db: Option<PathBuf>,
    pub session_db: Option<PathBuf>,
    /// wxids named by `Documents/MMappedKV/mmsetting.archive.<wxid>` files.
    pub mmkv_wxids: Vec<String>,
    /// What the report says about decrypting an encrypted backup.
    pub notes: Vec<String>,
    _temp: Option<tempfile::TempDir>,
    /// The decrypted view of an encrypted backup (media are read from it).
    pub decrypted: Option<Decrypted>,
}

/// The accounts (folder names) of a Documents folder on disk; none in a
/// folder of more than `max` entries.
fn folder_accounts(documents: &Path, max: usize) -> Vec<String> {
    let mut out: Vec<String> = listing::entries_at_most(documents, max)
        .into_iter()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| is_account_hash(n) && documents.join(n).join("DB/MM.sqlite").is_file())
        .collect();
    out.sort();
    out
}

fn backup_accounts(m: &Manifest) -> Result<Vec<String>> {
    let mut out: Vec<String> = m
        .list(DOMAIN, "Documents/%/DB/MM.sqlite")?
        .into_iter()
        .filter_map(|p| p.split('/').nth(1).map(String::from))
        .filter(|h| is_account_hash(h))
        .collect();
    out.dedup();
    Ok(out)
}

/// One account out of those found, by `--opt account=` or because it is the only one.
fn choose(accounts: Vec<String>, wanted: Option<&str>, place: &Path) -> Result<String> {
    match wanted.map(account_hash) {
        Some(h) if accounts.contains(&h) => Ok(h),
        Some(h) => Err(Error::usage(format!(
            "{} has no WeChat account {h}; it holds: {}",
            place.display(),
            if accounts.is_empty() { "none".into() } else { accounts.join(", ") }
        ))),
        None if accounts.len() == 1 => Ok(accounts.into_iter().next().expect("one")),
        None if accounts.is_empty() => Err(Error::bad_input(format!(
            "{} holds no WeChat account (no Documents/<md5>/DB/MM.sqlite)",
            place.display()
        ))),
        None => Err(Error::usage(format!(
            "{} holds {} WeChat accounts ({}); choose one with --opt account=<wxid or folder name>",
            place.display(),
            accounts.len(),
            accounts.join(", ")
        ))),
    }
}

pub fn probe(path: &Path) -> u8 {
    if ios_backup::is_backup(path) {
        if ios_backup::is_encrypted(path) {
            // Its files are known only once decrypted; its app list is not encrypted.
            return match ios_backup::has_app(path, BUNDLE_ID) {
                Some(true) => 85,
                Some(false) => 0,
                None => 50,
            };
        }
        return match Manifest::open(path).and_then(|m| backup_accounts(&m)) {
            Ok(a) if !a.is_empty() => 90,
            _ => 0,
        };
    }
    if path.is_file() {
        let named = path.file_name().and_then(|n| n.to_str()) == Some("MM.sqlite");
        return if named && db::is_sqlite(path) { 90 } else { 0 };
    }
    if path.join("DB/MM.sqlite").is_file()
        // A Documents folder holds a few dozen entries; an export's folder
        // of media is not looked through whole.
        || !folder_accounts(path, listing::PROBE_AT_MOST).is_empty()
        || !folder_accounts(&path.join("Documents"), listing::PROBE_AT_MOST).is_empty()
    {
        return 90;
    }
    0
}

/// SQLite files are whole pages; a copy cut short is not.
fn check_whole(path: &Path) -> Result<()> {
    let bytes = std::fs::metadata(path).map_err(|e| Error::io(path, "read", e))?.len();
    let mut head = [0u8; 18];
    let ok = chatferry_core::small_file::open_regular(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok();
    if !ok || &head[..16] != db::SQLITE_MAGIC {
        return Err(Error::bad_input(format!("{} is not an SQLite database", path.display())));
    }
    let page = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65536,
        p => p as u64,
    };
    if page < 512 || bytes % page != 0 {
        return Err(Error::bad_input(format!(
            "{} is truncated or damaged ({bytes} bytes is not a whole number of {page}-byte pages); copy it again",
            path.display()
        )));
    }
    Ok(())
}

struct Temp(Option<tempfile::TempDir>);

impl Temp {
    fn dir(&mut self) -> Result<PathBuf> {
        if self.0.is_none() {
            let t = tempfile::Builder::new()
                .prefix("chatferry-wechat-ios-")
                .tempdir()
                .map_err(|e| Error::io(Path::new("temporary folder"), "create", e))?;
            self.0 = Some(t);
        }
        Ok(self.0.as_ref().expect("set").path().to_path_buf())
    }

    /// The database ready to open: as it is, or a private copy with its WAL folded in.
    fn openable(&mut self, db_file: &Path, wal: Option<PathBuf>, name: &str) -> Result<PathBuf> {
        check_whole(db_file)?;
        let Some(wal) = wal.filter(|w| w.is_file()) else { return Ok(db_file.to_path_buf()) };
        let dir = self.dir()?;
        let copy = dir.join(name);
        chatferry_core::small_file::copy_regular(db_file, &copy).map_err(|e| Error::io(db_file, "copy", e))?;
        chatferry_core::small_file::copy_regular(&wal, dir.join(format!("{name}-wal")))
            .map_err(|e| Error::io(&wal, "copy", e))?;
        let conn = rusqlite::Connection::open(&copy).map_err(|e| db::sql_error(db_file, e))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(|e| db::sql_error(db_file, e))?;
        conn.pragma_update(None, "journal_mode", "DELETE").map_err(|e| db::sql_error(db_file, e))?;
        Ok(copy)
    }
}

impl Source {
    pub fn open(input: &Path, options: &Options) -> Result<Source> {
        let wanted = options.get("account");
        let mut decrypted: Option<Decrypted> = None;
        let (account, files, mmkv_wxids) = if ios_backup::is_backup(input) {
            let dir = if ios_backup::is_encrypted(input) {
                decrypted.insert(Decrypted::open(input, &PasswordSource::for_reading(options))?).dir().to_path_buf()
            } else {
                input.to_path_buf()
            };
            let m = Manifest::open(&dir)?;
            let account = choose(backup_accounts(&m)?, wanted, input)?;
            if let Some(d) = decrypted.as_mut() {
                d.decrypt(DOMAIN, &format!("Documents/{account}/%"))?;
                d.decrypt(DOMAIN, "Documents/MMappedKV/%")?;
            }
            let wxids = m
                .list(DOMAIN, "Documents/MMappedKV/mmsetting.archive.%")?
                .into_iter()
                .filter_map(|p| p.rsplit_once("mmsetting.archive.").map(|(_, w)| w.to_string()))
                .filter(|w| !w.ends_with(".crc"))
                .collect();
            let prefix = format!("Documents/{account}/");
            (account, Files::Backup { dir, prefix }, wxids)
        } else {
            let account_dir = if input.is_file() {
                let db_dir = input.parent().unwrap_or(Path::new("."));
                if input.file_name().and_then(|n| n.to_str()) != Some("MM.sqlite") || !db_dir.ends_with("DB") {
                    return Err(Error::bad_input(format!(
                        "{} is not WeChat's MM.sqlite inside an account's DB folder; give the account folder \
                         (Documents/<md5>/), the Documents folder or an iPhone backup",
                        input.display()
                    )));
                }
                db_dir.parent().unwrap_or(Path::new(".")).to_path_buf()
            } else if input.join("DB/MM.sqlite").is_file() {
                input.to_path_buf()
            } else if input.is_dir() {
                let documents = if folder_accounts(input, usize::MAX).is_empty() && input.join("Documents").is_dir() {
                    input.join("Documents")
                } else {
                    input.to_path_buf()
                };
                documents.join(choose(folder_accounts(&documents, usize::MAX), wanted, input)?)
            } else {
                return Err(Error::bad_input(format!("{} does not exist", input.display())));
            };
            let name = account_dir.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
            let mut wxids = Vec::new();
            if let Some(kv) = account_dir.parent().map(|d| d.join("MMappedKV")) {
                for e in std::fs::read_dir(kv).into_iter().flatten().flatten() {
                    if let Some(w) = e.file_name().to_str().and_then(|n| n.strip_prefix("mmsetting.archive.")) {
                        if !w.ends_with(".crc") {
                            wxids.push(w.to_string());
                        }
                    }
                }
            }
            (name, Files::Folder(account_dir), wxids)
        };

        let mut temp = Temp(None);
        let mm = files.file("DB/MM.sqlite")?.ok_or_else(|| {
            let why = decrypted.as_ref().and_then(|d| d.failure(&format!("Documents/{account}/DB/MM.sqlite")));
            Error::bad_input(format!("{}: WeChat's DB/MM.sqlite {}", input.display(), why.unwrap_or("is not there")))
        })?;
        let wal = |rel: &str| files.file(&format!("{rel}-wal"));
        let mut message_dbs = vec![temp.openable(&mm, wal("DB/MM.sqlite")?, "MM.sqlite")?];
        // message_1.sqlite, message_2.sqlite, … until one is missing (and a few beyond, for gaps).
        let mut misses = 0;
        for n in 1.. {
            let rel = format!("DB/message_{n}.sqlite");
            match files.file(&rel)? {
                Some(p) => {
                    misses = 0;
                    message_dbs.push(temp.openable(&p, wal(&rel)?, &format!("message_{n}.sqlite"))?);
                }
                None => {
                    misses += 1;
                    if misses > 8 {
                        break;
                    }
                }
            }
        }
        let mut side = |rel: &str, name: &str| -> Result<Option<PathBuf>> {
            files.file(rel)?.map(|p| temp.openable(&p, wal(rel)?, name)).transpose()
        };
        let contact_db = side("DB/WCDB_Contact.sqlite", "WCDB_Contact.sqlite")?;
        let session_db = side("session/session.db", "session.db")?;
        let notes = decrypted.as_ref().map(|d| d.notes()).unwrap_or_default();
        Ok(Source { account, files, message_dbs, contact_db, session_db, mmkv_wxids, notes, _temp: temp.0, decrypted })
    }

    /// `mmsetting.archive` of the account, if present.
    pub fn setting_file(&self) -> Option<PathBuf> {
        self.files.file("mmsetting.archive").ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe does not look through a folder of more entries than a
    /// Documents folder holds (an export's media); the import does.
    #[test]
    fn accounts_are_not_looked_for_among_too_many_entries() {
        let dir = tempfile::tempdir().unwrap();
        let hash = md5_hex("wxid_abc");
        std::fs::create_dir_all(dir.path().join(&hash).join("DB")).unwrap();
        std::fs::write(dir.path().join(&hash).join("DB/MM.sqlite"), b"").unwrap();
        for i in 0..3 {
            std::fs::write(dir.path().join(format!("IMG-{i}.jpg")), b"").unwrap();
        }
        assert_eq!(folder_accounts(dir.path(), 4), [hash.clone()], "four entries, four allowed");
        assert!(folder_accounts(dir.path(), 3).is_empty(), "four entries, three allowed");
        assert_eq!(folder_accounts(dir.path(), usize::MAX), [hash]);
    }

    #[test]
    fn accounts_are_md5_of_the_wxid() {
        assert_eq!(account_hash("wxid_abc"), md5_hex("wxid_abc"));
        let h = md5_hex("x");
        assert_eq!(account_hash(&h.to_uppercase()), h);
        assert!(!is_account_hash(NOT_AN_ACCOUNT));
    }
}
