//! Output appears only when complete: the exporter writes into a hidden
//! temporary folder beside OUTPUT, and only a finished result is renamed
//! into place. Anything that fails leaves OUTPUT as it was.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub struct Staging {
    output: PathBuf,
    dir: tempfile::TempDir,
    staged: PathBuf,
}

impl Staging {
    /// Checks OUTPUT and prepares the temporary path the exporter writes to.
    /// Whether `output` can be written (not over the input, not over an
    /// existing path without `force`): checked before any reading starts.
    pub fn check(output: &Path, input: Option<&Path>, force: bool) -> Result<()> {
        output.file_name().with_context(|| format!("{} is not a usable output path", output.display()))?;
        if let Some(input) = input {
            refuse_overlap(input, output, "the output")?;
        }
        if output.symlink_metadata().is_ok() && !force {
            bail!("{} already exists; choose another path or pass --force to replace it", output.display());
        }
        Ok(())
    }

    pub fn prepare(output: &Path, input: Option<&Path>, force: bool) -> Result<Staging> {
        Staging::check(output, input, force)?;
        let name = output.file_name().expect("checked");
        let parent = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
        let dir = tempfile::Builder::new()
            .prefix(".chatferry-partial-")
            .tempdir_in(&parent)
            .with_context(|| format!("cannot write in {}", parent.display()))?;
        let staged = dir.path().join(name);
        Ok(Staging { output: output.to_path_buf(), dir, staged })
    }

    /// Where the exporter writes (does not exist yet).
    pub fn path(&self) -> &Path {
        &self.staged
    }

    /// Moves the finished output into place, replacing an old one only now.
    pub fn commit(self) -> Result<()> {
        if !self.staged.exists() {
            bail!("the exporter finished without writing anything at its output path");
        }
        if self.output.symlink_metadata().is_ok() {
            let old = self.dir.path().join("previous");
            std::fs::rename(&self.output, &old)
                .with_context(|| format!("cannot move the old {} aside", self.output.display()))?;
            if let Err(e) = std::fs::rename(&self.staged, &self.output) {
                // Put the old output back so nothing is lost.
                let _ = std::fs::rename(&old, &self.output);
                return Err(e).with_context(|| format!("cannot move the new output to {}", self.output.display()));
            }
        } else {
            std::fs::rename(&self.staged, &self.output)
                .with_context(|| format!("cannot move the new output to {}", self.output.display()))?;
        }
        // Dropping the TempDir removes the folder and the replaced output.
        drop(self.dir);
        Ok(())
    }
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
