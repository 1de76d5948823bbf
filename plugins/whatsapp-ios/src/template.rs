//! Writing into the new iPhone's own backup (`--opt template=BACKUP`): the
//! backup is copied (blobs hard-linked where the file system allows, never
//! modified), WhatsApp's ChatStorage.sqlite blob is replaced by the merged
//! store, new media files are added as blobs with Files rows, and the
//! MBFile `Size` of every replaced or added file is set (iOS 10+ manifests
//! hold no content digest; shared/formats/whatsapp.md §3.2).

use crate::source::{file_id, DOMAIN};
use chatferry_core::sqlite::{self as db, sql_error};
use chatferry_core::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

pub struct BackupTemplate {
    /// The new backup being written.
    pub out: PathBuf,
    /// The MBFile archive of ChatStorage.sqlite, cloned for new files.
    mbfile: Vec<u8>,
    /// A directory entry's MBFile, cloned for new folders (if the backup has one).
    mbdir: Option<Vec<u8>>,
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

impl BackupTemplate {
    /// Copies `template` into `out` and returns it with the path of a
    /// private working copy of its ChatStorage.sqlite.
    pub fn open(template: &Path, out: &Path) -> Result<(BackupTemplate, PathBuf)> {
        let plist_path = template.join("Manifest.plist");
        let encrypted = plist::Value::from_file(&plist_path)
            .ok()
            .and_then(|v| v.as_dictionary().and_then(|d| d.get("IsEncrypted")).and_then(|e| e.as_boolean()))
            .unwrap_or(false);
        if encrypted {
            return Err(Error::unsupported(format!(
                "the template {} is an encrypted iPhone backup; make an unencrypted one of the new iPhone",
                template.display()
            )));
        }
        let manifest = db::open_read_only(&template.join("Manifest.db"))?;
        let row: Option<(String, Vec<u8>)> = manifest
            .query_row(
                "SELECT fileID, file FROM Files WHERE domain = ?1 AND relativePath = 'ChatStorage.sqlite'",
                [DOMAIN],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| sql_error(&template.join("Manifest.db"), e))?;
        let (id, mbfile) = row.ok_or_else(|| {
            Error::bad_input(format!(
                "the template backup {} has no WhatsApp ChatStorage.sqlite: install WhatsApp on the new iPhone, \
                 register your number, then make the backup",
                template.display()
            ))
        })?;
        let mbdir: Option<Vec<u8>> = manifest
            .query_row("SELECT file FROM Files WHERE domain = ?1 AND flags = 2 LIMIT 1", [DOMAIN], |r| r.get(0))
            .optional()
            .ok()
            .flatten();
        drop(manifest);
        // Copy the backup: metadata files copied, blobs linked.
        for entry in std::fs::read_dir(template).map_err(|e| Error::io(template, "read", e))? {
            let p = entry.map_err(|e| Error::io(template, "read", e))?.path();
            let name = p.file_name().expect("entry").to_owned();
            if p.is_dir() {
                for blob in std::fs::read_dir(&p).map_err(|e| Error::io(&p, "read", e))? {
                    let b = blob.map_err(|e| Error::io(&p, "read", e))?.path();
                    link_or_copy(&b, &out.join(&name).join(b.file_name().expect("blob")))?;
                }
            } else {
                std::fs::copy(&p, out.join(&name)).map_err(|e| Error::io(&p, "copy", e))?;
            }
        }
        let work = out.join(".chatferry-work");
        std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, "create", e))?;
        let chat_storage = work.join("ChatStorage.sqlite");
        std::fs::copy(template.join(&id[..2]).join(&id), &chat_storage).map_err(|e| Error::io(template, "copy", e))?;
        Ok((BackupTemplate { out: out.to_path_buf(), mbfile, mbdir }, chat_storage))
    }

    pub fn message_root(&self) -> PathBuf {
        self.out.join(".chatferry-work/Message")
    }

    /// Moves the merged store and the new media into the backup and updates
    /// Manifest.db.
    pub fn finish(self) -> Result<u64> {
        let manifest_path = self.out.join("Manifest.db");
        let conn = Connection::open(&manifest_path).map_err(|e| sql_error(&manifest_path, e))?;
        let e = |x| sql_error(&manifest_path, x);
        conn.execute_batch("BEGIN").map_err(e)?;
        let work = self.out.join(".chatferry-work");
        let mut files = vec![("ChatStorage.sqlite".to_string(), work.join("ChatStorage.sqlite"))];
        let media = self.message_root();
        if media.is_dir() {
            collect(&media, &work, &mut files)?;
        }
        let mut added = 0;
        for (relative, source) in files {
            let id = file_id(DOMAIN, &relative);
            let size = std::fs::metadata(&source).map_err(|x| Error::io(&source, "read", x))?.len();
            let dest = self.out.join(&id[..2]).join(&id);
            // Replace, never write through: the blob may be a link to the template.
            let _ = std::fs::remove_file(&dest);
            std::fs::create_dir_all(dest.parent().expect("blob dir")).map_err(|x| Error::io(&dest, "create", x))?;
            std::fs::rename(&source, &dest)
                .or_else(|_| std::fs::copy(&source, &dest).map(|_| ()))
                .map_err(|x| Error::io(&dest, "write", x))?;
            let existing: Option<Vec<u8>> = conn
                .query_row("SELECT file FROM Files WHERE fileID = ?1", [&id], |r| r.get(0))
                .optional()
                .map_err(e)?;
            let blob = mbfile_with(existing.as_deref().unwrap_or(&self.mbfile), &relative, Some(size))?;
            if existing.is_some() {
                conn.execute("UPDATE Files SET file = ?1 WHERE fileID = ?2", params![blob, id]).map_err(e)?;
            } else {
                conn.execute(
                    "INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?1, ?2, ?3, 1, ?4)",
                    params![id, DOMAIN, relative, blob],
                )
                .map_err(e)?;
                added += 1;
                // Every folder on the way gets its directory entry.
                let mut dir = Path::new(&relative).parent();
                while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
                    let rel = d.to_string_lossy().replace('\\', "/");
                    let did = file_id(DOMAIN, &rel);
                    let template = self.mbdir.as_deref().unwrap_or(&self.mbfile);
                    let dblob = mbfile_with(template, &rel, None)?;
                    conn.execute(
                        "INSERT OR IGNORE INTO Files (fileID, domain, relativePath, flags, file) VALUES (?1, ?2, ?3, 2, ?4)",
                        params![did, DOMAIN, rel, dblob],
                    )
                    .map_err(e)?;
                    dir = d.parent();
                }
            }
        }
        conn.execute_batch("COMMIT").map_err(e)?;
        drop(conn);
        std::fs::remove_dir_all(&work).map_err(|x| Error::io(&work, "remove", x))?;
        Ok(added)
    }
}

fn collect(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, "read", e))? {
        let p = entry.map_err(|e| Error::io(dir, "read", e))?.path();
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
