//! Unencrypted iPhone (iTunes/Finder) backups: each file is stored as
//! `<backup>/<id[0:2]>/<id>` with `id = sha1("<domain>-<relativePath>")`
//! and listed in `Manifest.db` `Files(fileID, domain, relativePath, flags,
//! file)` (flags 1 file, 2 folder; `file` an MBFile record). Reading finds
//! an app's files through the manifest; writing (`Template`) copies a
//! backup of the new phone, replaces and adds an app's files and updates
//! the manifest, never touching the template itself.

use crate::sqlite::{self as db, sql_error};
use crate::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
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
fn blob_of(backup: &Path, id: &str) -> Result<PathBuf> {
    if !is_file_id(id) {
        let shown: String = id.chars().take(80).collect();
        return Err(Error::bad_input(format!(
            "the backup's Manifest.db lists a file id that is not a SHA-1: {shown:?} ({}); the backup is damaged \
             or was altered, and chatferry will not use it",
            backup.display()
        )));
    }
    Ok(backup.join(&id[..2]).join(id))
}

/// A folder with a Manifest.db is an iPhone backup.
pub fn is_backup(dir: &Path) -> bool {
    dir.is_dir() && dir.join("Manifest.db").is_file()
}

/// Whether the backup says it is encrypted (Manifest.plist `IsEncrypted`).
pub fn is_encrypted(dir: &Path) -> bool {
    read_plist(&dir.join("Manifest.plist"), "the backup's Manifest.plist").ok().is_some_and(|v| says_encrypted(&v))
}

fn says_encrypted(v: &plist::Value) -> bool {
    v.as_dictionary().and_then(|d| d.get("IsEncrypted")).and_then(|e| e.as_boolean()).unwrap_or(false)
}

/// The plists of a backup or an app's folder are at most a few hundred KB;
/// a larger one (or a device, or a pipe) is not read.
pub const MAX_PLIST: u64 = 16 << 20;

/// A plist file (XML or binary), read only when it is a regular file of at
/// most `MAX_PLIST` bytes.
pub fn read_plist(path: &Path, what: &str) -> Result<plist::Value> {
    let bytes = crate::small_file::read(path, what, MAX_PLIST).map_err(|e| Error::bad_input(e.message))?;
    plist::Value::from_reader(std::io::Cursor::new(bytes))
        .map_err(|e| Error::bad_input(format!("{what} {} is damaged: {e}", path.display())))
}

/// For the fuzz target `backup_plists` (fuzz/): `bytes` as a Manifest.plist
/// and as a Manifest.db file record, as chatferry reads and rewrites them.
#[doc(hidden)]
pub fn fuzz_plists(bytes: &[u8]) {
    if let Ok(v) = plist::Value::from_reader(std::io::Cursor::new(bytes)) {
        let _ = says_encrypted(&v);
    }
    let _ = mbfile_with(bytes, "Library/ChatStorage.sqlite", Some(1 << 40));
    let _ = mbfile_with(bytes, "x", None);
}

/// The error for an encrypted backup: what it is and what to do.
pub fn encrypted_error(dir: &Path) -> Error {
    Error::unsupported(format!(
        "{} is an encrypted iPhone backup; chatferry reads unencrypted ones: make a new backup in Finder/iTunes with \
         \"Encrypt local backup\" turned off",
        dir.display()
    ))
}

/// A backup's Manifest.db, opened read-only.
pub struct Manifest {
    pub dir: PathBuf,
    conn: Connection,
}

impl Manifest {
    pub fn open(dir: &Path) -> Result<Manifest> {
        let path = dir.join("Manifest.db");
        let conn = db::open_read_only(&path).map_err(|e| {
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
    fn check_file_ids(&self) -> Result<()> {
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

fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| Error::io(from, "copy", e))?;
    }
    Ok(())
}

/// A new backup being written from the new phone's own (the template).
/// The app's files are written under `work()` by their relative paths in
/// `domain`; `finish` moves them in as blobs and updates Manifest.db.
pub struct Template {
    pub out: PathBuf,
    domain: String,
    /// An MBFile record of the app's, cloned for new files.
    mbfile: Vec<u8>,
    /// A folder's MBFile, cloned for new folders (if the backup has one).
    mbdir: Option<Vec<u8>>,
}

impl Template {
    /// Copies `template` into `out` (metadata copied, blobs hard-linked where
    /// the file system allows). `anchor` is a file of `domain` the template
    /// must hold (its record is cloned for new files); `missing` says what
    /// to do when it does not. Returns the anchor's blob in the template.
    pub fn open(template: &Path, out: &Path, domain: &str, anchor: &str, missing: &str) -> Result<(Template, PathBuf)> {
        if !is_backup(template) {
            return Err(Error::bad_input(format!(
                "the template {} is not an iPhone backup folder (no Manifest.db)",
                template.display()
            )));
        }
        if is_encrypted(template) {
            return Err(Error::unsupported(format!(
                "the template {} is an encrypted iPhone backup; make an unencrypted one of the new iPhone",
                template.display()
            )));
        }
        let manifest_path = template.join("Manifest.db");
        let manifest = Manifest::open(template)?;
        // Every id is checked before anything is copied: `remove` and
        // `finish` turn them into paths to delete and replace.
        manifest.check_file_ids()?;
        let row: Option<(String, Vec<u8>)> = manifest
            .conn
            .query_row(
                "SELECT fileID, file FROM Files WHERE domain = ?1 AND relativePath = ?2",
                [domain, anchor],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| sql_error(&manifest_path, e))?;
        let (id, mbfile) =
            row.ok_or_else(|| Error::bad_input(format!("the template backup {}: {missing}", template.display())))?;
        let mbdir: Option<Vec<u8>> = manifest
            .conn
            .query_row("SELECT file FROM Files WHERE domain = ?1 AND flags = 2 LIMIT 1", [domain], |r| r.get(0))
            .optional()
            .ok()
            .flatten();
        drop(manifest);
        let anchor_blob = blob_of(template, &id)?;
        // Only regular files and the blob folders are copied: a link in a
        // template would bring a file from outside into the new backup
        // (real backups hold none).
        let plain = |p: &Path| -> Result<std::fs::FileType> {
            let t = std::fs::symlink_metadata(p).map_err(|e| Error::io(p, "read", e))?.file_type();
            if t.is_file() || t.is_dir() {
                Ok(t)
            } else {
                Err(Error::bad_input(format!(
                    "the template backup holds {}, which is {}; chatferry copies only the regular files of a backup \
                     (make or copy the backup again, without links)",
                    p.display(),
                    if t.is_symlink() { "a link" } else { "not a regular file" }
                )))
            }
        };
        for entry in std::fs::read_dir(template).map_err(|e| Error::io(template, "read", e))? {
            let p = entry.map_err(|e| Error::io(template, "read", e))?.path();
            let name = p.file_name().expect("entry").to_owned();
            if plain(&p)?.is_dir() {
                for blob in std::fs::read_dir(&p).map_err(|e| Error::io(&p, "read", e))? {
                    let b = blob.map_err(|e| Error::io(&p, "read", e))?.path();
                    if !plain(&b)?.is_file() {
                        return Err(Error::bad_input(format!(
                            "the template backup holds a folder {} inside {}; an iPhone backup has files there",
                            b.display(),
                            p.display()
                        )));
                    }
                    link_or_copy(&b, &out.join(&name).join(b.file_name().expect("blob")))?;
                }
            } else {
                std::fs::copy(&p, out.join(&name)).map_err(|e| Error::io(&p, "copy", e))?;
            }
        }
        let t = Template { out: out.to_path_buf(), domain: domain.to_string(), mbfile, mbdir };
        std::fs::create_dir_all(t.work()).map_err(|e| Error::io(&t.work(), "create", e))?;
        Ok((t, anchor_blob))
    }

    /// Where the app's files are written, by their relative paths.
    pub fn work(&self) -> PathBuf {
        self.out.join(".chatferry-work")
    }

    /// Takes the app's files matching an SQL LIKE pattern out of the new
    /// backup (rows and blobs); returns their relative paths.
    pub fn remove(&self, like: &str) -> Result<Vec<String>> {
        let path = self.out.join("Manifest.db");
        let conn = Connection::open(&path).map_err(|e| sql_error(&path, e))?;
        let e = |x| sql_error(&path, x);
        let mut st = conn
            .prepare("SELECT fileID, relativePath FROM Files WHERE domain = ?1 AND relativePath LIKE ?2 AND flags = 1")
            .map_err(e)?;
        let found: Vec<(String, String)> = st
            .query_map([&self.domain, like], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        drop(st);
        for (id, _) in &found {
            let _ = std::fs::remove_file(blob_of(&self.out, id)?);
            conn.execute("DELETE FROM Files WHERE fileID = ?1", [id]).map_err(e)?;
        }
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    /// Moves every file under `work()` into the backup (replacing files of
    /// the same path; their old `-wal`/`-shm` companions are removed, they
    /// would be replayed onto the new database) and updates Manifest.db.
    /// Returns how many files were added.
    pub fn finish(self) -> Result<u64> {
        let manifest_path = self.out.join("Manifest.db");
        let conn = Connection::open(&manifest_path).map_err(|e| sql_error(&manifest_path, e))?;
        let e = |x| sql_error(&manifest_path, x);
        conn.execute_batch("BEGIN").map_err(e)?;
        let work = self.work();
        let mut files = Vec::new();
        collect(&work, &work, &mut files)?;
        let domain = self.domain.as_str();
        let mut added = 0;
        for (relative, source) in files {
            let id = file_id(domain, &relative);
            let size = std::fs::metadata(&source).map_err(|x| Error::io(&source, "read", x))?.len();
            let dest = self.out.join(&id[..2]).join(&id);
            // Replace, never write through: the blob may be a link to the template.
            let _ = std::fs::remove_file(&dest);
            std::fs::create_dir_all(dest.parent().expect("blob dir")).map_err(|x| Error::io(&dest, "create", x))?;
            std::fs::rename(&source, &dest)
                .or_else(|_| std::fs::copy(&source, &dest).map(|_| ()))
                .map_err(|x| Error::io(&dest, "write", x))?;
            for companion in ["-wal", "-shm"] {
                let cid = file_id(domain, &format!("{relative}{companion}"));
                let _ = std::fs::remove_file(self.out.join(&cid[..2]).join(&cid));
                conn.execute("DELETE FROM Files WHERE fileID = ?1", [&cid]).map_err(e)?;
            }
            let existing: Option<Vec<u8>> = conn
                .query_row("SELECT file FROM Files WHERE fileID = ?1", [&id], |r| r.get(0))
                .optional()
                .map_err(e)?;
            let blob = mbfile_with(existing.as_deref().unwrap_or(&self.mbfile), &relative, Some(size))?;
            if existing.is_some() {
                conn.execute("UPDATE Files SET file = ?1 WHERE fileID = ?2", params![blob, id]).map_err(e)?;
                continue;
            }
            conn.execute(
                "INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?1, ?2, ?3, 1, ?4)",
                params![id, domain, relative, blob],
            )
            .map_err(e)?;
            added += 1;
            // Every folder on the way gets its directory entry.
            let mut dir = Path::new(&relative).parent();
            while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
                let rel = d.to_string_lossy().replace('\\', "/");
                let did = file_id(domain, &rel);
                let template = self.mbdir.as_deref().unwrap_or(&self.mbfile);
                let dblob = mbfile_with(template, &rel, None)?;
                conn.execute(
                    "INSERT OR IGNORE INTO Files (fileID, domain, relativePath, flags, file) VALUES (?1, ?2, ?3, 2, ?4)",
                    params![did, domain, rel, dblob],
                )
                .map_err(e)?;
                dir = d.parent();
            }
        }
        conn.execute_batch("COMMIT").map_err(e)?;
        drop(conn);
        std::fs::remove_dir_all(&work).map_err(|x| Error::io(&work, "remove", x))?;
        Ok(added)
    }
}

fn collect(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, "read", e))?
        .map(|e| e.map(|e| e.path()).map_err(|x| Error::io(dir, "read", x)))
        .collect::<Result<_>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, base, out)?;
        } else {
            let rel = p.strip_prefix(base).expect("below base").to_string_lossy().replace('\\', "/");
            out.push((rel, p));
        }
    }
    Ok(())
}

/// A copy of an MBFile record with another RelativePath and Size. Backups
/// store it as an NSKeyedArchiver plist (`$objects[1]` is the MBFile, its
/// `RelativePath` a reference into `$objects`); a plain dictionary is
/// handled too.
pub fn mbfile_with(template: &[u8], relative: &str, size: Option<u64>) -> Result<Vec<u8>> {
    let bad = |e: String| {
        Error::bad_input(format!("the template backup's Manifest.db has a file record chatferry cannot read ({e})"))
    };
    let mut value = plist::Value::from_reader(std::io::Cursor::new(template)).map_err(|e| bad(e.to_string()))?;
    let dict = value.as_dictionary_mut().ok_or_else(|| bad("not a dictionary".into()))?;
    if let Some(objects) = dict.get_mut("$objects").and_then(|o| o.as_array_mut()) {
        let path_ref = objects
            .get(1)
            .and_then(|o| o.as_dictionary())
            .and_then(|d| d.get("RelativePath"))
            .and_then(|r| r.as_uid())
            .map(|u| u.get() as usize);
        if let Some(i) = path_ref.filter(|i| *i < objects.len()) {
            objects[i] = plist::Value::String(relative.into());
        }
        if let (Some(mb), Some(size)) = (objects.get_mut(1).and_then(|o| o.as_dictionary_mut()), size) {
            mb.insert("Size".into(), plist::Value::Integer(size.into()));
        }
    } else {
        dict.insert("RelativePath".into(), relative.into());
        if let Some(size) = size {
            dict.insert("Size".into(), plist::Value::Integer(size.into()));
        }
    }
    let mut out = Vec::new();
    value.to_writer_binary(&mut out).map_err(|e| Error::internal(format!("writing a file record: {e}")))?;
    Ok(out)
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
        let out = mbfile_with(&blob, "Message/Media/a.jpg", Some(42)).unwrap();
        let v = plist::Value::from_reader(std::io::Cursor::new(out)).unwrap();
        let objects = v.as_dictionary().unwrap()["$objects"].as_array().unwrap().clone();
        assert_eq!(objects[2].as_string(), Some("Message/Media/a.jpg"));
        assert_eq!(objects[1].as_dictionary().unwrap()["Size"].as_unsigned_integer(), Some(42));
    }
}
