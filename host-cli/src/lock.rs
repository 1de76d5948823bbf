//! An exclusive, advisory lock on a file (flock): held while a run writes
//! an output or uses its temporary folder, released by the kernel when the
//! process ends however it ends, so a lock nobody holds means its owner is
//! gone. The lock file holds the owner's process id, for messages.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock on `path` (creating it), or `Ok(None)` when another
    /// process holds it.
    pub fn try_take(path: &Path) -> std::io::Result<Option<Lock>> {
        loop {
            let file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?;
            if !try_flock(&file)? {
                return Ok(None);
            }
            // The holder before us may have removed the file after we opened
            // it: then our lock is on a file nobody else will see. Try again.
            if same_file(&file, path) {
                let mut lock = Lock { file, path: path.to_path_buf() };
                lock.write_pid();
                crate::cleanup::remove_on_signal(path);
                return Ok(Some(lock));
            }
        }
    }

    fn write_pid(&mut self) {
        let _ = self.file.set_len(0);
        let _ = writeln!(self.file, "{}", std::process::id());
    }

    /// Moves the lock file (still locked) to `to`.
    pub fn rename_to(&mut self, to: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, to)?;
        crate::cleanup::keep(&self.path);
        self.path = to.to_path_buf();
        crate::cleanup::remove_on_signal(to);
        Ok(())
    }

    /// The process id written in the lock file at `path` by its holder.
    pub fn holder(path: &Path) -> Option<u32> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held, so nobody takes a lock on a file that
        // is about to go.
        let _ = std::fs::remove_file(&self.path);
        crate::cleanup::keep(&self.path);
    }
}

#[cfg(unix)]
fn try_flock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this File owns.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(not(unix))]
fn try_flock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_and_a_released_one_taken() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.lock");
        let first = Lock::try_take(&p).unwrap().expect("free");
        assert_eq!(Lock::holder(&p), Some(std::process::id()));
        // flock locks belong to the open file: a second open in this process conflicts too.
        assert!(Lock::try_take(&p).unwrap().is_none());
        drop(first);
        assert!(!p.exists(), "the lock file goes with the lock");
        assert!(Lock::try_take(&p).unwrap().is_some());
    }
}
