//! iPhone (iTunes/Finder) backups: each file is stored as
//! `<backup>/<id[0:2]>/<id>` with `id = sha1("<domain>-<relativePath>")`
//! and listed in `Manifest.db` `Files(fileID, domain, relativePath, flags,
//! file)` (flags 1 file, 2 folder; `file` an MBFile record). Reading finds
//! an app's files through the manifest; writing (`Template`) copies a
//! backup of the new phone, replaces and adds an app's files and updates
//! the manifest, never touching the template itself. Encrypted backups
//! (`encrypted`) are read through a decrypted private copy of what is
//! needed, and written into with fresh keys from their own keybag.

mod cipher;
mod encrypted;
mod keybag;
mod password;
mod record;
mod template;

use crate::backup_plist::says_encrypted;
pub use crate::backup_plist::{has_app, is_encrypted, read_plist, MAX_PLIST};
pub use encrypted::{Decrypted, Unlocked};
pub use password::{password_options, Password, PasswordSource};
pub use record::FileRecord;
pub use template::Template;

use crate::sqlite::{self as db, sql_error};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension};
use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};

/// `fileID = SHA1(domain + "-" + relativePath)`, as iOS backups name files.
pub fn file_id(domain: &str, relative_path: &str) -> String {
    hex::encode(Sha1::digest(format!("{domain}-{relative_path}").as_bytes()))
}

/// Where a file's blob is in the backup folder (whether or not it exists).
pub fn blob_path(backup: &Path, domain: &str, relative_path: &str) -> PathBuf {
    let id = file_id(domain, relative_path);
    backup.join(&id[..2]).join(id)
}

/// Whether a fileID read from a Manifest.db is what iOS writes: 40
/// lower-case hex digits. Only then may it become a path (`ab/abcd…`): an
/// absolute path, `..`, `/` or anything else in a crafted manifest would
/// otherwise point reads, copies and deletions outside the backup.
pub fn is_file_id(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The blob path of a fileID read from a manifest, or the one-line refusal.
pub(crate) fn blob_of(backup: &Path, id: &str) -> Result<PathBuf> {
    if !is_file_id(id) {
        let shown: String = id.chars().take(80).collect();
        return Err(Error::bad_input(format!(
            "the backup's Manifest.db lists a file id that is not a SHA-1: {shown:?} ({}); the backup is damaged \
             or was altered, and chatferry will not use it",
            backup.display()
        )));
    }
    // The blob's folder (`ab/`) is not followed either when it is a link:
    // checking only the blob would read a file through it out of the backup.
    let folder = backup.join(&id[..2]);
    if folder.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::bad_input(format!(
            "the backup's folder {} is a link; chatferry does not follow links out of a backup (copy the backup \
             again, without links)",
            folder.display()
        )));
    }
    Ok(folder.join(id))
}

/// A folder with a Manifest.db is an iPhone backup.
pub fn is_backup(dir: &Path) -> bool {
    dir.is_dir() && dir.join("Manifest.db").is_file()
}

/// For the fuzz target `keybag` (fuzz/): `bytes` as a BackupKeyBag. The
/// password is not tried: a parsed keybag's rounds are bounded, and
/// deriving a key takes seconds, not a fuzzer's microseconds.
#[doc(hidden)]
pub fn fuzz_keybag(bytes: &[u8]) {
    if let Ok(bag) = keybag::Keybag::parse(bytes) {
        let _ = bag.rounds();
    }
}

/// For the fuzz target `backup_plists` (fuzz/): `bytes` as a Manifest.plist
/// and as a Manifest.db file record, as chatferry reads and rewrites them.
#[doc(hidden)]
pub fn fuzz_plists(bytes: &[u8]) {
    if let Ok(v) = plist::Value::from_reader(std::io::Cursor::new(bytes)) {
        let _ = says_encrypted(&v);
    }
    if let Ok(mut r) = FileRecord::parse(bytes) {
        let _ = (r.size(), r.protection_class(), r.encryption_key().map(|k| k.len()));
        r.set_path("Library/ChatStorage.sqlite");
        r.set_size(1 << 40);
        r.set_encryption(3, &[7; 44]);
        r.clear_encryption();
        let _ = r.to_bytes();
    }
}

/// A backup's Manifest.db, opened read-only.
pub struct Manifest {
    pub dir: PathBuf,
    pub(crate) conn: Connection,
}

impl Manifest {
    pub fn open(dir: &Path) -> Result<Manifest> {
        Manifest::open_file(dir, &dir.join("Manifest.db")).map_err(|e| {
            // An unreadable Manifest.plist hides whether the backup is
            // encrypted; that, not "not an SQLite database", is the news.
            let plist = dir.join("Manifest.plist");
            match crate::backup_plist::read_plist(&plist, "its Manifest.plist") {
                Err(_) if plist.exists() => Error::bad_input(format!(
                    "{}: its Manifest.plist cannot be read (so whether the backup is encrypted is not known), and \
                     its Manifest.db is not a plain database; the backup is damaged or was copied incompletely: \
                     copy it again",
                    dir.display(),
                )),
                _ => e,
            }
        })
    }

    /// A Manifest.db at `path` (a decrypted copy) of the backup `dir`.
    pub fn open_file(dir: &Path, path: &Path) -> Result<Manifest> {
        let conn = db::open_read_only(path).map_err(|e| {
            Error::bad_input(format!("{}: the backup's Manifest.db cannot be read ({})", dir.display(), e.message))
        })?;
        if !db::has_table(&conn, "Files") {
            return Err(Error::bad_input(format!("{} is damaged: it has no Files table", path.display())));
        }
        Ok(Manifest { dir: dir.to_path_buf(), conn })
    }

    /// The blob of a file of `domain`, if the manifest lists it and it is there.
    pub fn find(&self, domain: &str, relative_path: &str) -> Result<Option<PathBuf>> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT fileID FROM Files WHERE domain = ?1 AND relativePath = ?2 AND flags = 1",
                [domain, relative_path],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| sql_error(&self.dir.join("Manifest.db"), e))?;
        let Some(id) = id else { return Ok(None) };
        let blob = blob_of(&self.dir, &id)?;
        match std::fs::symlink_metadata(&blob) {
            Ok(m) if m.file_type().is_symlink() => Err(Error::bad_input(format!(
                "the backup's file {} is a link; chatferry does not follow links out of a backup (copy the backup \
                 again, without links)",
                blob.display()
            ))),
            Ok(m) if m.is_file() => Ok(Some(blob)),
            _ => Ok(None),
        }
    }

    /// Refuses a manifest any of whose fileIDs is not a SHA-1 (see `is_file_id`).
    pub(crate) fn check_file_ids(&self) -> Result<()> {
        let path = self.dir.join("Manifest.db");
        let mut st = self.conn.prepare("SELECT fileID FROM Files").map_err(|e| sql_error(&path, e))?;
        let mut rows = st.query([]).map_err(|e| sql_error(&path, e))?;
        while let Some(r) = rows.next().map_err(|e| sql_error(&path, e))? {
            let id = match r.get_ref(0).map_err(|e| sql_error(&path, e))? {
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                other => format!("{other:?}"),
            };
            blob_of(&self.dir, &id)?;
        }
        Ok(())
    }

    /// Relative paths of the files of `domain` matching an SQL LIKE pattern.
    pub fn list(&self, domain: &str, like: &str) -> Result<Vec<String>> {
        let e = |x| sql_error(&self.dir.join("Manifest.db"), x);
        let mut st = self
            .conn
            .prepare("SELECT relativePath FROM Files WHERE domain = ?1 AND relativePath LIKE ?2 AND flags = 1 ORDER BY relativePath")
            .map_err(e)?;
        let rows = st.query_map([domain, like], |r| r.get::<_, String>(0)).map_err(e)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha1_file_ids_become_paths() {
        assert!(is_file_id("7c7fba66680ef796b916b067077cc246adacf01d"));
        for bad in [
            "",
            "/etc/passwd",
            "../../../../etc/passwd",
            "7c/7fba66680ef796b916b067077cc246adacf01",
            "7C7FBA66680EF796B916B067077CC246ADACF01D",
            "7c7fba66680ef796b916b067077cc246adacf01",
            "ü7fba66680ef796b916b067077cc246adacf01d",
        ] {
            assert!(!is_file_id(bad), "{bad:?}");
            assert!(blob_of(Path::new("/b"), bad).unwrap_err().message.contains("not a SHA-1"), "{bad:?}");
        }
    }

    #[test]
    fn file_ids_are_sha1_of_domain_and_path() {
        // The documented id of WhatsApp's ChatStorage.sqlite in every backup.
        let wa = "AppDomainGroup-group.net.whatsapp.WhatsApp.shared";
        assert_eq!(file_id(wa, "ChatStorage.sqlite"), "7c7fba66680ef796b916b067077cc246adacf01d");
        assert_eq!(file_id(wa, "ContactsV2.sqlite"), "b8548dc30aa1030df0ce18ef08b882cf7ab5212f");
    }

    #[test]
    fn keyed_archive_records_get_the_new_path_and_size() {
        let mut mb = plist::Dictionary::new();
        mb.insert("RelativePath".into(), plist::Value::Uid(plist::Uid::new(2)));
        mb.insert("Size".into(), plist::Value::Integer(1.into()));
        let mut top = plist::Dictionary::new();
        top.insert(
            "$objects".into(),
            plist::Value::Array(vec!["$null".into(), plist::Value::Dictionary(mb), "ChatStorage.sqlite".into()]),
        );
        let mut blob = Vec::new();
        plist::Value::Dictionary(top).to_writer_binary(&mut blob).unwrap();
        let mut r = FileRecord::parse(&blob).unwrap();
        r.set_path("Message/Media/a.jpg");
        r.set_size(42);
        let out = r.to_bytes().unwrap();
        let v = plist::Value::from_reader(std::io::Cursor::new(out)).unwrap();
        let objects = v.as_dictionary().unwrap()["$objects"].as_array().unwrap().clone();
        assert_eq!(objects[2].as_string(), Some("Message/Media/a.jpg"));
        assert_eq!(objects[1].as_dictionary().unwrap()["Size"].as_unsigned_integer(), Some(42));
    }
}
