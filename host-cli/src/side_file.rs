//! The small files a run writes besides its output (`--report`,
//! `--write-contact-map`), and what chatferry may replace at a path.
//!
//! A regular file (or folder) is replaced by a rename, and only with
//! `--force`. A device, FIFO or socket is never replaced: a rename would
//! replace it for the whole system (as root, `-o /dev/null --force` once
//! turned the system's /dev/null into a folder). A report or contact map
//! is written *into* one (`--report /dev/stdout`, a pipe); an output is
//! refused there.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a path names, following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtPath {
    Nothing,
    /// A file, a folder or a link (to one, or dangling): replaced by a
    /// rename, with --force.
    Replaceable,
    Folder,
    /// A device, FIFO or socket (named in the string), or a link to one.
    Special(&'static str),
}

pub fn at_path(path: &Path) -> AtPath {
    use std::os::unix::fs::FileTypeExt;
    let Ok(own) = path.symlink_metadata() else { return AtPath::Nothing };
    let t = match path.metadata() {
        Ok(m) => m.file_type(),
        // A dangling link: the link itself is what a rename replaces.
        Err(_) => own.file_type(),
    };
    if t.is_char_device() || t.is_block_device() {
        AtPath::Special("device")
    } else if t.is_fifo() {
        AtPath::Special("named pipe (FIFO)")
    } else if t.is_socket() {
        AtPath::Special("socket")
    } else if t.is_dir() && !own.file_type().is_symlink() {
        AtPath::Folder
    } else {
        AtPath::Replaceable
    }
}

/// Refuses an output path (`-o`) that is a device, FIFO or socket, or a
/// link to one: an output is a file or folder moved into place, which would
/// replace the special file itself.
pub fn refuse_special_output(output: &Path) -> Result<()> {
    if let AtPath::Special(kind) = at_path(output) {
        bail!(
            "{} is a {kind}, not a file or folder; chatferry never replaces one: choose another output (-o)",
            output.display()
        );
    }
    Ok(())
}

/// Checked before any reading: whether `what` (the report, the contact map)
/// may be written at `path`.
pub fn check(path: &Path, force: bool, what: &str) -> Result<()> {
    match at_path(path) {
        AtPath::Nothing | AtPath::Special(_) => Ok(()),
        AtPath::Folder => bail!("{} is a folder; give {what} a file name", path.display()),
        AtPath::Replaceable if force => Ok(()),
        AtPath::Replaceable => {
            bail!("{} already exists; choose another path for {what}, or pass --force to replace it", path.display())
        }
    }
}

/// Refuses two things a run writes at one path (`--report` equal to `-o`):
/// one would replace the other after the conversion.
pub fn refuse_same(a: &Path, a_what: &str, b: &Path, b_what: &str) -> Result<()> {
    if absolute(a) == absolute(b) {
        bail!("{a_what} and {b_what} are both {}; give each its own path", a.display());
    }
    Ok(())
}

/// `path` made absolute, its folder resolved where it exists, for comparing.
fn absolute(path: &Path) -> PathBuf {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match (parent.canonicalize(), path.file_name()) {
        (Ok(p), Some(name)) => p.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// A small file's bytes, ready to put at its path once the run succeeds.
pub enum Pending {
    /// Written beside the path, renamed onto it.
    Staged(tempfile::NamedTempFile),
    /// Written into the device, FIFO or socket the path names.
    Into(Vec<u8>),
}

/// Prepares `bytes` for `path`: a regular destination gets a temporary
/// file beside it now (so a place that cannot be written fails before the
/// output moves into place), a special one gets them later.
pub fn stage(path: &Path, bytes: Vec<u8>, what: &str) -> Result<Pending> {
    if let AtPath::Special(_) = at_path(path) {
        return Ok(Pending::Into(bytes));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let write = || -> std::io::Result<tempfile::NamedTempFile> {
        let mut tmp = tempfile::Builder::new().prefix(".chatferry-side-").tempfile_in(parent)?;
        tmp.write_all(&bytes)?;
        tmp.as_file().sync_all()?;
        Ok(tmp)
    };
    Ok(Pending::Staged(write().with_context(|| format!("cannot write {what} to {}", path.display()))?))
}

impl Pending {
    pub fn put(self, path: &Path) -> std::io::Result<()> {
        match self {
            Pending::Staged(tmp) => tmp.persist(path).map(|_| ()).map_err(|e| e.error),
            Pending::Into(bytes) => {
                // Opened as it is: no create, no truncation, no rename.
                let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
                f.write_all(&bytes)?;
                f.flush()
            }
        }
    }
}

/// Writes `bytes` at `path` now (checked with `check` before).
pub fn write(path: &Path, bytes: Vec<u8>, what: &str) -> Result<()> {
    stage(path, bytes, what)?.put(path).with_context(|| format!("cannot write {what} to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_written_into_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        chatferry_core::testing::mkfifo(&fifo);
        let link = dir.path().join("null-link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        for special in [Path::new("/dev/null"), &fifo, &link] {
            assert!(matches!(at_path(special), AtPath::Special(_)), "{}", special.display());
            let err = refuse_special_output(special).unwrap_err().to_string();
            assert!(err.contains("never replaces"), "{err}");
            check(special, false, "the report").unwrap();
        }
        // Written into: the FIFO stays a FIFO and a reader gets the bytes.
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        write(&fifo, b"{}\n".to_vec(), "the report").unwrap();
        assert_eq!(reader.join().unwrap(), b"{}\n");
        assert!(matches!(at_path(&fifo), AtPath::Special(_)));
        write(&link, b"x".to_vec(), "the report").unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink(), "the link is still a link");

        let file = dir.path().join("report.json");
        std::fs::write(&file, b"filled in").unwrap();
        let err = check(&file, false, "the contact map").unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        check(&file, true, "the contact map").unwrap();
        write(&file, b"new".to_vec(), "the contact map").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        assert!(check(dir.path(), true, "the report").unwrap_err().to_string().contains("is a folder"));

        let out = dir.path().join("out");
        refuse_same(&out, "the output", &dir.path().join("./out"), "the report").unwrap_err();
        refuse_same(&out, "the output", &file, "the report").unwrap();
    }
}
