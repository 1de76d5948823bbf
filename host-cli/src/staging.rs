//! Output appears only when complete: the exporter writes into a hidden
//! temporary folder beside OUTPUT, and only a finished result is renamed
//! into place. Anything that fails leaves OUTPUT as it was.
//!
//! One run at a time writes an OUTPUT: it holds `.chatferry-lock-<name>`
//! beside it. Holding the lock, a run knows that any staging folder for
//! the same OUTPUT (`.chatferry-partial-*` marked with its name) was left
//! by a run that was killed, and removes it (or, if the kill fell between
//! the two renames of a replacement on a system without an atomic
//! exchange, puts the previous output back).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub struct Staging {
    output: PathBuf,
    dir: tempfile::TempDir,
    staged: PathBuf,
    _lock: crate::lock::Lock,
}

const PARTIAL_PREFIX: &str = ".chatferry-partial-";
/// In a staging folder: the name of the OUTPUT it is for.
const MARKER: &str = ".chatferry-output";
/// In a staging folder: the output being replaced, between two renames.
const PREVIOUS: &str = "previous";

impl Staging {
    /// Checks OUTPUT and prepares the temporary path the exporter writes to.
    /// Whether `output` can be written (not over the input, not over an
    /// existing path without `force`): checked before any reading starts.
    pub fn check(output: &Path, input: Option<&Path>, force: bool) -> Result<()> {
        output.file_name().with_context(|| format!("{} is not a usable output path", output.display()))?;
        if let Some(input) = input {
            refuse_overlap(input, output, "the output")?;
        }
        crate::side_file::refuse_special_output(output)?;
        if output.symlink_metadata().is_ok() && !force {
            bail!("{} already exists; choose another path or pass --force to replace it", output.display());
        }
        may_write(output)
    }

    pub fn prepare(output: &Path, input: Option<&Path>, force: bool) -> Result<Staging> {
        output.file_name().with_context(|| format!("{} is not a usable output path", output.display()))?;
        let name = output.file_name().expect("checked");
        let parent = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
        let lock_path = parent.join(lock_name(name));
        let lock =
            crate::lock::Lock::try_take(&lock_path).with_context(|| format!("cannot write in {}", parent.display()))?;
        let Some(lock) = lock else {
            let who = crate::lock::Lock::holder(&lock_path).map(|p| format!(" (process {p})")).unwrap_or_default();
            bail!(
                "another chatferry is writing {} right now{who}; wait for it to finish, or choose another output",
                output.display()
            );
        };
        recover_interrupted(&parent, output)?;
        // Checked again now that the output is ours: another run may have
        // finished writing it since the first check.
        Staging::check(output, input, force)?;
        let dir = crate::cleanup::private(tempfile::Builder::new().prefix(PARTIAL_PREFIX))
            .tempdir_in(&parent)
            .with_context(|| format!("cannot write in {}", parent.display()))?;
        crate::cleanup::remove_on_signal(dir.path());
        std::fs::write(dir.path().join(MARKER), name.as_encoded_bytes())
            .with_context(|| format!("cannot write in {}", parent.display()))?;
        let staged = dir.path().join(name);
        Ok(Staging { output: output.to_path_buf(), dir, staged, _lock: lock })
    }

    /// Where the exporter writes (does not exist yet).
    pub fn path(&self) -> &Path {
        &self.staged
    }

    /// Moves the finished output into place, replacing an old one only now:
    /// in one atomic exchange where the system has one (Linux), so there is
    /// a complete OUTPUT at every instant.
    pub fn commit(self) -> Result<()> {
        if !self.staged.exists() {
            bail!("the exporter finished without writing anything at its output path");
        }
        if self.output.symlink_metadata().is_ok() {
            if !exchange(&self.staged, &self.output) {
                // Two renames; a kill between them leaves the old output in
                // `previous`, which the next run into OUTPUT puts back.
                let old = self.dir.path().join(PREVIOUS);
                std::fs::rename(&self.output, &old)
                    .with_context(|| format!("cannot move the old {} aside", self.output.display()))?;
                if let Err(e) = std::fs::rename(&self.staged, &self.output) {
                    // Put the old output back so nothing is lost.
                    let _ = std::fs::rename(&old, &self.output);
                    return Err(e).with_context(|| format!("cannot move the new output to {}", self.output.display()));
                }
            }
        } else {
            std::fs::rename(&self.staged, &self.output)
                .with_context(|| format!("cannot move the new output to {}", self.output.display()))?;
        }
        // Dropping self removes the staging folder and the replaced output.
        Ok(())
    }
}

/// The lock file's name for an OUTPUT named `name`: `.chatferry-lock-NAME`,
/// or, where that would pass the 255 bytes a file name may have (an OUTPUT
/// of 80 CJK characters is legal), the NAME's SHA-256 in its place.
fn lock_name(name: &std::ffi::OsStr) -> String {
    use sha2::Digest;
    let plain = format!(".chatferry-lock-{}", name.to_string_lossy());
    if plain.len() <= 255 {
        return plain;
    }
    format!(".chatferry-lock-{}", hex::encode(sha2::Sha256::digest(name.as_encoded_bytes())))
}

/// Whether this user may create OUTPUT (write in the folder it goes in, or
/// the nearest one that exists) and, if it exists, replace it: checked
/// before any reading, so a read-only place is one line, not a failure
/// after an hour of decrypting.
fn may_write(output: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(existing) = parent.ancestors().find(|p| p.as_os_str().is_empty() || p.exists()) else { return Ok(()) };
    let existing = if existing.as_os_str().is_empty() { Path::new(".") } else { existing };
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes())
        .with_context(|| format!("{} is not a usable output path", output.display()))?;
    // SAFETY: a valid NUL-terminated path; access() only reads it.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EROFS) => anyhow::anyhow!(
                "{} is on a read-only file system; choose an output (-o) somewhere you may write",
                existing.display()
            ),
            Some(libc::EACCES) | Some(libc::EPERM) => anyhow::anyhow!(
                "permission denied: you may not write in {}; choose an output (-o) somewhere you may write, or \
                 change the folder's permissions",
                existing.display()
            ),
            _ => anyhow::Error::new(e).context(format!("cannot write in {}", existing.display())),
        });
    }
    // In a sticky folder (/tmp) only a path's owner may move it away.
    if let (Ok(out), Ok(dir)) = (output.symlink_metadata(), parent.metadata()) {
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if dir.mode() & libc::S_ISVTX as u32 != 0 && me != 0 && out.uid() != me && dir.uid() != me {
            bail!(
                "permission denied: {} belongs to another user in a shared folder, so it cannot be replaced; \
                 choose another output (-o)",
                output.display()
            );
        }
    }
    Ok(())
}

impl Drop for Staging {
    fn drop(&mut self) {
        crate::cleanup::keep(self.dir.path());
    }
}

/// Swaps `a` and `b` atomically; false where the system or file system
/// cannot (then nothing was changed).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(a), Ok(b)) =
        (std::ffi::CString::new(a.as_os_str().as_bytes()), std::ffi::CString::new(b.as_os_str().as_bytes()))
    else {
        return false;
    };
    // SAFETY: two valid NUL-terminated paths; renameat2 only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    r == 0
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> bool {
    false
}

/// With OUTPUT's lock held: removes the staging folders of `output` left by
/// runs that were killed, putting back an output a killed replacement had
/// moved aside. Only folders chatferry marked as its own are touched.
fn recover_interrupted(parent: &Path, output: &Path) -> Result<()> {
    let name = output.file_name().expect("checked");
    let Ok(entries) = std::fs::read_dir(parent) else { return Ok(()) };
    for e in entries.flatten() {
        let is_partial = e.file_name().to_string_lossy().starts_with(PARTIAL_PREFIX)
            && e.file_type().is_ok_and(|t| t.is_dir())
            && std::fs::read(e.path().join(MARKER)).is_ok_and(|m| m == name.as_encoded_bytes());
        if !is_partial {
            continue;
        }
        let previous = e.path().join(PREVIOUS);
        if output.symlink_metadata().is_err() && previous.symlink_metadata().is_ok() {
            std::fs::rename(&previous, output).with_context(|| {
                format!(
                    "{} was being replaced when its run was stopped; its previous version is in {}, and could not \
                     be moved back",
                    output.display(),
                    previous.display()
                )
            })?;
            eprintln!(
                "chatferry: {} was being replaced when its run was stopped: the previous version is back in place",
                output.display()
            );
        }
        std::fs::remove_dir_all(e.path())
            .with_context(|| format!("cannot remove {}, left by a run that was stopped", e.path().display()))?;
        eprintln!(
            "chatferry: removed {}, the partial output of an earlier run into {} that was stopped",
            e.path().display(),
            output.display()
        );
    }
    Ok(())
}

/// Refuses an OUTPUT (or a report or contact map to write, `what`) that is
/// the input, inside it, or contains it: writing there could modify or
/// replace the input.
pub fn refuse_overlap(input: &Path, output: &Path, what: &str) -> Result<()> {
    let Ok(input) = input.canonicalize() else {
        return Ok(());
    };
    let out_abs = match output.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            match parent.canonicalize() {
                Ok(p) => p.join(output.file_name().unwrap_or_default()),
                Err(_) => return Ok(()),
            }
        }
    };
    if out_abs == input || out_abs.starts_with(&input) || input.starts_with(&out_abs) {
        bail!(
            "{what} {} would overlap the input {}; inputs are never modified: choose a path elsewhere",
            output.display(),
            input.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_until_commit_and_failures_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let s = Staging::prepare(&out, None, false).unwrap();
        std::fs::create_dir(s.path()).unwrap();
        std::fs::write(s.path().join("a"), b"1").unwrap();
        assert!(!out.exists());
        drop(s); // a failed conversion
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary left behind");

        let s = Staging::prepare(&out, None, false).unwrap();
        std::fs::create_dir(s.path()).unwrap();
        std::fs::write(s.path().join("a"), b"2").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read(out.join("a")).unwrap(), b"2");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn existing_output_needs_force_and_is_replaced_only_at_commit() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        std::fs::write(&out, b"old").unwrap();
        let err = Staging::prepare(&out, None, false).err().unwrap();
        assert!(err.to_string().contains("--force"), "{err}");
        let s = Staging::prepare(&out, None, true).unwrap();
        std::fs::write(s.path(), b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        s.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_replacement_stopped_between_its_two_renames_is_put_back_by_the_next_run() {
        // The state a kill leaves on a system without an atomic exchange:
        // the old output moved into its staging folder, the new not yet
        // in place.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let stale = dir.path().join(".chatferry-partial-killed");
        std::fs::create_dir_all(stale.join(PREVIOUS)).unwrap();
        std::fs::write(stale.join(MARKER), b"out").unwrap();
        std::fs::write(stale.join(PREVIOUS).join("a"), b"old").unwrap();
        // Not ours: no marker, or the marker of another output.
        let foreign = dir.path().join(".chatferry-partial-mine");
        std::fs::create_dir(&foreign).unwrap();
        let other = dir.path().join(".chatferry-partial-other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(MARKER), b"elsewhere").unwrap();

        let s = Staging::prepare(&out, None, true).unwrap();
        assert_eq!(std::fs::read(out.join("a")).unwrap(), b"old", "the previous output is back");
        assert!(!stale.exists(), "the stopped run's folder is removed");
        assert!(foreign.exists() && other.exists(), "folders chatferry did not mark are left alone");
        std::fs::create_dir(s.path()).unwrap();
        std::fs::write(s.path().join("a"), b"new").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read(out.join("a")).unwrap(), b"new");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn replacing_exchanges_the_two_in_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::write(a.join("f"), b"A").unwrap();
        std::fs::write(&b, b"B").unwrap();
        assert!(exchange(&a, &b), "renameat2(RENAME_EXCHANGE) is available on this file system");
        assert_eq!(std::fs::read(&a).unwrap(), b"B");
        assert_eq!(std::fs::read(b.join("f")).unwrap(), b"A");
        assert!(!exchange(&a, &dir.path().join("missing")), "nothing to exchange with: refused, nothing changed");
        assert!(a.is_file());
    }

    #[test]
    fn a_second_writer_of_the_same_output_is_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = Staging::prepare(&out, None, false).unwrap();
        let err = Staging::prepare(&out, None, false).err().unwrap().to_string();
        assert!(err.contains("another chatferry is writing") && !err.contains('\n'), "{err}");
        drop(first);
        assert!(Staging::prepare(&out, None, false).is_ok());
    }

    #[test]
    fn an_output_name_of_up_to_255_bytes_can_be_written() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["历".repeat(80), "a".repeat(255), "历".repeat(85)] {
            let out = dir.path().join(&name);
            let s = Staging::prepare(&out, None, false).unwrap();
            std::fs::write(s.path(), b"x").unwrap();
            s.commit().unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), b"x", "{} bytes", name.len());
        }
        assert_eq!(lock_name(std::ffi::OsStr::new("out")), ".chatferry-lock-out");
    }

    #[test]
    fn output_overlapping_the_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        for out in [input.clone(), input.join("sub"), dir.path().to_path_buf()] {
            let err = Staging::prepare(&out, Some(&input), true).err().unwrap();
            assert!(err.to_string().contains("overlap"), "{err}");
        }
        assert!(Staging::prepare(&dir.path().join("other"), Some(&input), false).is_ok());
    }
}
