//! Writing into the new phone's own backup (the template): it is copied
//! (metadata copied, blobs hard-linked where the file system allows), the
//! app's files are replaced and added, and Manifest.db is updated; the
//! template itself is never modified. An encrypted template stays
//! encrypted with its own password and keybag: each written file gets a
//! fresh key wrapped with its protection class's key, its record the new
//! `EncryptionKey`, `ProtectionClass` and `Size`, and Manifest.db is
//! re-encrypted (shared/formats/ios-encrypted-backup.md §6).

use super::encrypted::Unlocked;
use super::password::PasswordSource;
use super::record::FileRecord;
use super::{blob_of, file_id, is_backup, is_encrypted, sql_error, Manifest};
use crate::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

/// Data protection class 3 (until first unlock): what iOS gives app data.
const DEFAULT_CLASS: u32 = 3;

fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    }
    if std::fs::hard_link(from, to).is_err() {
        crate::small_file::copy_regular(from, to).map_err(|e| Error::io(from, "copy", e))?;
    }
    Ok(())
}

fn bad_record(e: String) -> Error {
    Error::bad_input(format!("the template backup's Manifest.db has a file record chatferry cannot read ({e})"))
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
    /// The plain Manifest.db being edited: the new backup's own, or for an
    /// encrypted template a decrypted copy in `private`.
    manifest: PathBuf,
    /// The template's keys, when it is encrypted.
    keys: Option<Unlocked>,
    /// For an encrypted template: the private folder (0700, in the run's
    /// temporary folder) holding everything decrypted — never in `out`.
    private: Option<tempfile::TempDir>,
}

impl Template {
    /// Copies `template` into `out`. `anchor` is a file of `domain` the
    /// template must hold (its record is cloned for new files); `missing`
    /// says what to do when it does not. Returns the anchor's contents as a
    /// plain file (decrypted into the private folder for an encrypted
    /// template). `password` is asked only when the template is encrypted.
    pub fn open(
        template: &Path,
        out: &Path,
        domain: &str,
        anchor: &str,
        missing: &str,
        password: &PasswordSource,
    ) -> Result<(Template, PathBuf)> {
        if !is_backup(template) {
            return Err(Error::bad_input(format!(
                "the template {} is not an iPhone backup folder (no Manifest.db)",
                template.display()
            )));
        }
        // An encrypted template is unlocked first: a wrong password stops
        // the run before anything is copied.
        let (keys, private) = if is_encrypted(template) {
            let keys = Unlocked::open(template, password)?;
            let private = keys.decrypt_manifest_privately("chatferry-template-")?;
            (Some(keys), Some(private))
        } else {
            (None, None)
        };
        let plain_manifest = match &private {
            Some(p) => p.path().join("Manifest.db"),
            None => template.join("Manifest.db"),
        };
        let manifest = Manifest::open_file(template, &plain_manifest)?;
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
            .map_err(|e| sql_error(&plain_manifest, e))?;
        let (id, mbfile) =
            row.ok_or_else(|| Error::bad_input(format!("the template backup {}: {missing}", template.display())))?;
        let mbdir: Option<Vec<u8>> = manifest
            .conn
            .query_row("SELECT file FROM Files WHERE domain = ?1 AND flags = 2 LIMIT 1", [domain], |r| r.get(0))
            .optional()
            .ok()
            .flatten();
        drop(manifest);
        let mut anchor_blob = blob_of(template, &id)?;
        if let (Some(keys), Some(private)) = (&keys, &private) {
            let plain = private.path().join("anchor");
            keys.decrypt_file(&anchor_blob, &mbfile, &plain).map_err(|why| {
                Error::bad_input(format!("the template backup {}: its {anchor} {why}", template.display()))
            })?;
            anchor_blob = plain;
        }
        copy_backup(template, out)?;
        let manifest = match &private {
            Some(p) => p.path().join("Manifest.db"),
            None => out.join("Manifest.db"),
        };
        let t = Template { out: out.to_path_buf(), domain: domain.to_string(), mbfile, mbdir, manifest, keys, private };
        std::fs::create_dir_all(t.work()).map_err(|e| Error::io(&t.work(), "create", e))?;
        Ok((t, anchor_blob))
    }

    /// Whether the new backup is encrypted (as its template is).
    pub fn encrypted(&self) -> bool {
        self.keys.is_some()
    }

    /// Where the app's files are written, by their relative paths: in the
    /// private folder for an encrypted template (they are plain there).
    pub fn work(&self) -> PathBuf {
        match &self.private {
            Some(p) => p.path().join("work"),
            None => self.out.join(".chatferry-work"),
        }
    }

    fn connect(&self) -> Result<Connection> {
        Connection::open(&self.manifest).map_err(|e| sql_error(&self.manifest, e))
    }

    /// The relative paths of the template's files of the app matching an
    /// SQL LIKE pattern.
    pub fn list(&self, like: &str) -> Result<Vec<String>> {
        let conn = self.connect()?;
        let e = |x| sql_error(&self.manifest, x);
        let mut st = conn
            .prepare("SELECT relativePath FROM Files WHERE domain = ?1 AND relativePath LIKE ?2 AND flags = 1 ORDER BY relativePath")
            .map_err(e)?;
        let rows = st.query_map([&self.domain, like], |r| r.get::<_, String>(0)).map_err(e)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(e)
    }

    /// Copies the template's file `relative` of the app, decrypted, to `to`
    /// (a private place); `false` when the template has no such file.
    pub fn extract(&self, relative: &str, to: &Path) -> Result<bool> {
        let conn = self.connect()?;
        let row: Option<(String, Option<Vec<u8>>)> = conn
            .query_row(
                "SELECT fileID, file FROM Files WHERE domain = ?1 AND relativePath = ?2 AND flags = 1",
                [&self.domain, relative],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|x| sql_error(&self.manifest, x))?;
        let Some((id, record)) = row else { return Ok(false) };
        // The new backup's blobs are the template's until `finish`.
        let blob = blob_of(&self.out, &id)?;
        if !std::fs::symlink_metadata(&blob).is_ok_and(|m| m.is_file()) {
            return Ok(false);
        }
        match &self.keys {
            Some(keys) => keys
                .decrypt_file(&blob, &record.unwrap_or_default(), to)
                .map(|_| true)
                .map_err(|why| Error::bad_input(format!("the template backup's {relative}: {why}"))),
            None => crate::small_file::copy_regular(&blob, to).map(|_| true).map_err(|x| Error::io(&blob, "copy", x)),
        }
    }

    /// Takes the app's files matching an SQL LIKE pattern out of the new
    /// backup (rows and blobs); returns their relative paths.
    pub fn remove(&self, like: &str) -> Result<Vec<String>> {
        let conn = self.connect()?;
        let e = |x| sql_error(&self.manifest, x);
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
    /// would be replayed onto the new database), encrypting each when the
    /// template is encrypted, and updates Manifest.db. Returns how many
    /// files were added.
    pub fn finish(self) -> Result<u64> {
        let conn = self.connect()?;
        let e = |x| sql_error(&self.manifest, x);
        conn.execute_batch("BEGIN").map_err(e)?;
        let work = self.work();
        let mut files = Vec::new();
        collect(&work, &work, &mut files)?;
        let domain = self.domain.as_str();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let new_class =
            FileRecord::parse(&self.mbfile).ok().and_then(|r| r.protection_class()).unwrap_or(DEFAULT_CLASS);
        let mut added = 0;
        for (relative, source) in files {
            let id = file_id(domain, &relative);
            let dest = self.out.join(&id[..2]).join(&id);
            // Replace, never write through: the blob may be a link to the template.
            let _ = std::fs::remove_file(&dest);
            std::fs::create_dir_all(dest.parent().expect("blob dir")).map_err(|x| Error::io(&dest, "create", x))?;
            for companion in ["-wal", "-shm"] {
                let cid = file_id(domain, &format!("{relative}{companion}"));
                let _ = std::fs::remove_file(self.out.join(&cid[..2]).join(&cid));
                conn.execute("DELETE FROM Files WHERE fileID = ?1", [&cid]).map_err(e)?;
            }
            let existing: Option<Vec<u8>> = conn
                .query_row("SELECT file FROM Files WHERE fileID = ?1", [&id], |r| r.get(0))
                .optional()
                .map_err(e)?;
            let mut record = FileRecord::parse(existing.as_deref().unwrap_or(&self.mbfile)).map_err(bad_record)?;
            record.set_path(&relative);
            record.touch(now);
            let size = match &self.keys {
                Some(keys) => {
                    let class = record.protection_class().unwrap_or(new_class);
                    let (size, key) = keys.encrypt_file(class, &source, &dest)?;
                    record.set_encryption(class, &key);
                    let _ = std::fs::remove_file(&source);
                    size
                }
                None => {
                    let size = std::fs::metadata(&source).map_err(|x| Error::io(&source, "read", x))?.len();
                    std::fs::rename(&source, &dest)
                        .or_else(|_| crate::small_file::copy_regular(&source, &dest).map(|_| ()))
                        .map_err(|x| Error::io(&dest, "write", x))?;
                    size
                }
            };
            record.set_size(size);
            let blob = record.to_bytes().map_err(|x| Error::internal(format!("writing a file record: {x}")))?;
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
                let mut folder =
                    FileRecord::parse(self.mbdir.as_deref().unwrap_or(&self.mbfile)).map_err(bad_record)?;
                folder.set_path(&rel);
                if self.mbdir.is_none() {
                    folder.clear_encryption();
                }
                let dblob = folder.to_bytes().map_err(|x| Error::internal(format!("writing a folder record: {x}")))?;
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
        if let Some(keys) = &self.keys {
            // The copied (encrypted) Manifest.db is replaced, never written through.
            let sealed = self.out.join(".Manifest.db.chatferry");
            keys.encrypt_manifest(&self.manifest, &sealed)?;
            let target = self.out.join("Manifest.db");
            std::fs::rename(&sealed, &target).map_err(|x| Error::io(&target, "write", x))?;
        }
        std::fs::remove_dir_all(&work).map_err(|x| Error::io(&work, "remove", x))?;
        Ok(added)
    }
}

/// Copies a backup folder: its top-level files, and its blob folders with
/// blobs hard-linked. Only regular files and the blob folders are copied:
/// a link in a template would bring a file from outside into the new
/// backup (real backups hold none).
fn copy_backup(template: &Path, out: &Path) -> Result<()> {
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
            crate::small_file::copy_regular(&p, out.join(&name)).map_err(|e| Error::io(&p, "copy", e))?;
        }
    }
    Ok(())
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
