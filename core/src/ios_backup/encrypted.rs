//! Encrypted backups (shared/formats/ios-encrypted-backup.md): the keybag
//! is unlocked with the person's password, Manifest.db and each needed file
//! are decrypted — streamed — into a private temporary folder that looks
//! like an unencrypted backup, so the adapters read both alike. Nothing
//! decrypted is ever written next to the input; the folder is removed when
//! the reader is dropped, and on Ctrl-C with the host's run folder.

use super::cipher::{self, Failure, Padding};
use super::keybag::{random_key, ClassKeys, Key, Keybag};
use super::password::PasswordSource;
use super::record::FileRecord;
use super::{blob_of, read_plist, sql_error};
use crate::{Error, Result};
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// An encrypted backup whose keybag the password opened.
pub struct Unlocked {
    pub backup: PathBuf,
    keys: ClassKeys,
    manifest_key: Key,
}

/// Says on stderr (when it is a terminal) what takes the seconds.
fn say(text: &str) {
    if std::io::stderr().is_terminal() && std::env::var_os("CHATFERRY_QUIET").is_none() {
        eprint!("{text}");
    }
}

impl Unlocked {
    /// Reads the keybag of `backup`, asks `password` for the password and
    /// unlocks it. A wrong password is a one-line `WrongKey` error, found
    /// before anything is decrypted or written.
    pub fn open(backup: &Path, password: &PasswordSource) -> Result<Unlocked> {
        let plist = read_plist(&backup.join("Manifest.plist"), "the backup's Manifest.plist")?;
        let top = plist
            .as_dictionary()
            .ok_or_else(|| Error::bad_input(format!("{}: Manifest.plist is not a dictionary", backup.display())))?;
        let data = |name: &str| top.get(name).and_then(|v| v.as_data());
        let refuse = |what: String| {
            Error::unsupported(format!(
                "{} is an encrypted iPhone backup chatferry cannot open: {what}",
                backup.display()
            ))
        };
        let bag = data("BackupKeyBag").ok_or_else(|| refuse("its Manifest.plist has no BackupKeyBag".into()))?;
        let manifest_key = data("ManifestKey").ok_or_else(|| {
            refuse(
                "its Manifest.plist has no ManifestKey (a backup of iOS 9 or older; chatferry reads iOS 10 and later)"
                    .into(),
            )
        })?;
        if manifest_key.len() != 44 {
            return Err(refuse(format!("its ManifestKey is {} bytes, not 44", manifest_key.len())));
        }
        let bag = Keybag::parse(bag).map_err(refuse)?;
        let password = password.get(backup)?;
        say(&format!(
            "opening the encrypted backup: {} password rounds (this takes a few seconds)…",
            group_digits(bag.rounds())
        ));
        let password_key = bag.password_key(&password);
        say("\r\x1b[2K");
        let keys = bag
            .unlock(&password_key)
            .ok_or_else(|| Error::wrong_key(format!("wrong backup password for {}", backup.display())))?;
        let class = u32::from_le_bytes(manifest_key[..4].try_into().expect("4 bytes"));
        let manifest_key = keys.unwrap(class, &manifest_key[4..]).map_err(|e| {
            Error::bad_input(format!(
                "{}: the Manifest.db key cannot be unwrapped ({e}); the backup is damaged",
                backup.display()
            ))
        })?;
        Ok(Unlocked { backup: backup.to_path_buf(), keys, manifest_key })
    }

    /// Decrypts `Manifest.db` to `to`. Writers disagree on its padding:
    /// SQLite files are whole pages (≥ 512 bytes), so a length that is a
    /// multiple of 512 is unpadded and one 16 bytes over is PKCS#7.
    /// A private folder (mode 0700, under the host's run folder: TMPDIR)
    /// holding the decrypted `Manifest.db`, for the reader and the template
    /// writer alike.
    pub fn decrypt_manifest_privately(&self, prefix: &str) -> Result<tempfile::TempDir> {
        let temp = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| Error::io(Path::new("a temporary folder"), "create", e))?;
        self.decrypt_manifest(&temp.path().join("Manifest.db"))?;
        Ok(temp)
    }

    pub fn decrypt_manifest(&self, to: &Path) -> Result<()> {
        let from = self.backup.join("Manifest.db");
        let len = std::fs::metadata(&from).map_err(|e| Error::io(&from, "read", e))?.len();
        let padding = if len % 512 == 0 { Padding::None } else { Padding::Pkcs7 };
        let damaged = |why: &str| {
            Error::bad_input(format!(
                "{}: the encrypted Manifest.db {why}; the backup is damaged or was copied incompletely",
                self.backup.display()
            ))
        };
        let r = crate::small_file::open_regular(&from).map_err(|e| Error::io(&from, "read", e))?;
        let w = std::fs::File::create(to).map_err(|e| Error::io(to, "write", e))?;
        match cipher::decrypt(&self.manifest_key, BufReader::new(r), BufWriter::new(w), padding) {
            Ok(_) => {}
            Err(Failure::Io(e)) => return Err(Error::io(&from, "decrypt", e)),
            Err(Failure::Truncated) => return Err(damaged("is cut short")),
            Err(Failure::Padding) => return Err(damaged("does not decrypt")),
        }
        if !crate::sqlite::is_sqlite(to) {
            return Err(damaged("does not decrypt to a database"));
        }
        Ok(())
    }

    /// Encrypts a plain Manifest.db `from` into `to` (PKCS#7 padded, which
    /// every reader accepts).
    pub fn encrypt_manifest(&self, from: &Path, to: &Path) -> Result<()> {
        seal(&self.manifest_key, from, to)?;
        Ok(())
    }

    /// Decrypts the blob of a file whose Manifest.db record is `record`
    /// into `to`; returns its length. `Err` says why in a few words.
    pub fn decrypt_file(&self, blob: &Path, record: &[u8], to: &Path) -> std::result::Result<u64, String> {
        let record = FileRecord::parse(record).map_err(|e| format!("its record cannot be read ({e})"))?;
        let meta = std::fs::symlink_metadata(blob).map_err(|_| "its file is not in the backup".to_string())?;
        if !meta.is_file() {
            return Err("its file in the backup is a link or not a regular file".into());
        }
        let Some(wrapped) = record.encryption_key() else {
            return if meta.len() == 0 {
                std::fs::write(to, b"").map(|_| 0).map_err(|e| e.to_string())
            } else {
                Err("its record has no EncryptionKey".into())
            };
        };
        if wrapped.len() != 44 {
            return Err(format!("its EncryptionKey is {} bytes, not 44", wrapped.len()));
        }
        let class = u32::from_le_bytes(wrapped[..4].try_into().expect("4 bytes"));
        let key = self.keys.unwrap(class, &wrapped[4..])?;
        let r = crate::small_file::open_regular(blob).map_err(|e| e.to_string())?;
        let w = std::fs::File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
        let mut w = BufWriter::new(w);
        let n = cipher::decrypt(&key, BufReader::new(r), &mut w, Padding::Pkcs7).map_err(|e| match e {
            Failure::Io(e) => e.to_string(),
            Failure::Truncated => "its file is cut short".into(),
            Failure::Padding => "its file does not decrypt with its key (damaged)".into(),
        })?;
        w.flush().map_err(|e| e.to_string())?;
        Ok(n)
    }

    /// Encrypts `from` into `to` with a fresh key of protection class
    /// `class`; returns the plaintext length and the record's 44-byte
    /// `EncryptionKey`.
    pub fn encrypt_file(&self, class: u32, from: &Path, to: &Path) -> Result<(u64, [u8; 44])> {
        let key = random_key().map_err(Error::internal)?;
        let wrapped = self
            .keys
            .wrap(class, &key)
            .map_err(|e| Error::bad_input(format!("the template backup {}: {e}", self.backup.display())))?;
        let size = seal(&key, from, to)?;
        let mut record_key = [0u8; 44];
        record_key[..4].copy_from_slice(&class.to_le_bytes());
        record_key[4..].copy_from_slice(&wrapped);
        Ok((size, record_key))
    }
}

fn seal(key: &Key, from: &Path, to: &Path) -> Result<u64> {
    let r = crate::small_file::open_regular(from).map_err(|e| Error::io(from, "read", e))?;
    let w = std::fs::File::create(to).map_err(|e| Error::io(to, "write", e))?;
    let mut w = BufWriter::new(w);
    let n = cipher::encrypt(key, BufReader::new(r), &mut w).map_err(|e| Error::io(to, "write", e))?;
    w.flush().map_err(|e| Error::io(to, "write", e))?;
    Ok(n)
}

fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An encrypted backup opened for reading: a private folder holding its
/// decrypted Manifest.db and, after `decrypt`, the decrypted files asked
/// for, at the same `<id[0:2]>/<id>` places — an unencrypted backup of
/// those files.
pub struct Decrypted {
    unlocked: Unlocked,
    temp: tempfile::TempDir,
    /// Files that could not be decrypted: relative path and why.
    failed: Vec<(String, String)>,
    pub files: u64,
    pub bytes: u64,
}

impl Decrypted {
    pub fn open(backup: &Path, password: &PasswordSource) -> Result<Decrypted> {
        let unlocked = Unlocked::open(backup, password)?;
        let temp = unlocked.decrypt_manifest_privately("chatferry-decrypted-")?;
        Ok(Decrypted { unlocked, temp, failed: Vec::new(), files: 0, bytes: 0 })
    }

    /// The decrypted view, to be read as an unencrypted backup.
    pub fn dir(&self) -> &Path {
        self.temp.path()
    }

    /// Decrypts every file of `domain` whose relative path matches the SQL
    /// LIKE pattern `like` into the view.
    pub fn decrypt(&mut self, domain: &str, like: &str) -> Result<()> {
        let manifest = self.temp.path().join("Manifest.db");
        let conn = crate::sqlite::open_read_only(&manifest).map_err(|e| {
            // The decrypted copy's path is chatferry's own, not the person's.
            let why =
                e.message.replace(&manifest.display().to_string(), "it").replace("; copy it again from the phone", "");
            Error::bad_input(format!(
                "{}: its Manifest.db, decrypted, cannot be read ({why}); the backup is damaged or was copied \
                 incompletely",
                self.unlocked.backup.display(),
            ))
        })?;
        let e = |x| sql_error(&self.unlocked.backup.join("Manifest.db"), x);
        let mut st = conn
            .prepare(
                "SELECT fileID, relativePath, file FROM Files WHERE domain = ?1 AND relativePath LIKE ?2 AND flags = 1",
            )
            .map_err(e)?;
        let mut rows = st.query([domain, like]).map_err(e)?;
        while let Some(row) = rows.next().map_err(e)? {
            let id: String = row.get(0).map_err(e)?;
            let relative: String = row.get(1).map_err(e)?;
            let record: Vec<u8> = row.get::<_, Option<Vec<u8>>>(2).map_err(e)?.unwrap_or_default();
            // Both paths are checked: the id must be a SHA-1 before it names a file.
            let blob = blob_of(&self.unlocked.backup, &id)?;
            let to = blob_of(self.temp.path(), &id)?;
            if std::fs::symlink_metadata(&blob).is_err() {
                continue; // listed but not in the backup: the reader reports it missing
            }
            std::fs::create_dir_all(to.parent().expect("blob folder")).map_err(|x| Error::io(&to, "create", x))?;
            match self.unlocked.decrypt_file(&blob, &record, &to) {
                Ok(n) => {
                    self.files += 1;
                    self.bytes += n;
                }
                Err(why) => {
                    let _ = std::fs::remove_file(&to);
                    self.failed.push((relative, why));
                }
            }
        }
        Ok(())
    }

    /// Why `relative` could not be decrypted, if it could not.
    pub fn failure(&self, relative: &str) -> Option<&str> {
        self.failed.iter().find(|(r, _)| r == relative).map(|(_, why)| why.as_str())
    }

    /// What a report should say: how much was decrypted, and what was not.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "encrypted backup: {} files ({} MB) decrypted into a private temporary folder, removed when chatferry ends",
            self.files,
            self.bytes / 1_000_000
        )];
        for (relative, why) in self.failed.iter().take(20) {
            notes.push(format!("encrypted backup: {relative} could not be decrypted: {why}; left out"));
        }
        if self.failed.len() > 20 {
            notes.push(format!("encrypted backup: {} more files could not be decrypted", self.failed.len() - 20));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(password: &str) -> (tempfile::TempDir, PasswordSource) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, format!("{password}\n")).unwrap();
        let options = crate::Options::new().with("backup-password-file", file.to_str().unwrap());
        (dir, PasswordSource::for_reading(&options))
    }

    /// pyiosbackup's encrypted fixture (password 0000, the real 10,000,000
    /// rounds): its unpadded Manifest.db and its one file open.
    #[test]
    fn the_pyiosbackup_backup_opens_with_its_password_and_not_without() {
        let test = "the_pyiosbackup_backup_opens_with_its_password_and_not_without";
        let Some(backup) = crate::testing::public_fixture("ios-backup/pyiosbackup-encrypted/assembled_backup", test)
        else {
            return;
        };
        let (_keep, wrong) = source("0001");
        let err = Decrypted::open(&backup, &wrong).err().expect("a wrong password is refused");
        assert_eq!(err.kind, crate::ErrorKind::WrongKey);
        assert_eq!(err.message, format!("wrong backup password for {}", backup.display()));
        let (_keep, right) = source("0000");
        let mut d = Decrypted::open(&backup, &right).unwrap();
        // Its one file row has flags 0, so it is decrypted by hand here.
        let m = super::super::Manifest::open(d.dir()).unwrap();
        let (id, record): (String, Vec<u8>) = m
            .conn
            .query_row("SELECT fileID, file FROM Files WHERE relativePath = 'Media/Test.txt'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        let to = d.dir().join("Test.txt");
        d.unlocked.decrypt_file(&blob_of(&backup, &id).unwrap(), &record, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"Test data");
        d.decrypt("MyTestDomain", "%").unwrap();
        assert_eq!(d.files, 0, "a flags-0 row is not a file");
    }
}
