//! The files beside a transcript, listed once. An export names its
//! attachments by plain file name in one folder; asking the file system
//! about each of them (an `lstat` and a path resolution per attachment) was
//! most of the import's time. The folder is listed once instead, its regular
//! files kept by name; a name not in that list (a link, a file on a
//! case-insensitive disk written in another case, a folder too large to
//! list) still goes through [`resolve_inside`], so nothing is found here that
//! the careful path would refuse.

use chatferry_core::media::{resolve_inside, Resolve};
use chatferry_core::Result;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Folders with more entries than this are not listed (memory stays bounded);
/// their files are looked up one by one.
const MAX_LISTED: usize = 2_000_000;

pub struct MediaFolder {
    root: PathBuf,
    /// The canonical root and the regular files in it, or `None` when the
    /// folder could not be listed whole.
    listed: Option<(PathBuf, HashSet<Box<str>>)>,
}

impl MediaFolder {
    pub fn open(root: &Path) -> MediaFolder {
        MediaFolder { root: root.to_path_buf(), listed: list(root) }
    }

    /// Where the attachment `name` (a plain file name, already checked) is.
    pub fn find(&self, name: &str) -> Result<Resolve> {
        if let Some((real_root, names)) = &self.listed {
            if names.contains(name) {
                return Ok(Resolve::Found(real_root.join(name)));
            }
        }
        resolve_inside(&self.root, name)
    }

    /// Whether a regular file `name` is beside the transcript.
    pub fn exists(&self, name: &str) -> bool {
        !name.contains(['/', '\\']) && matches!(self.find(name), Ok(Resolve::Found(_)))
    }
}

fn list(root: &Path) -> Option<(PathBuf, HashSet<Box<str>>)> {
    let real_root = root.canonicalize().ok()?;
    let mut names = HashSet::new();
    for entry in std::fs::read_dir(root).ok()? {
        let entry = entry.ok()?;
        // The entry's type comes with the listing (no `stat`); links are
        // left to `resolve_inside`.
        if entry.file_type().ok()?.is_file() {
            if let Ok(name) = entry.file_name().into_string() {
                names.insert(name.into_boxed_str());
            }
        }
        if names.len() > MAX_LISTED {
            return None;
        }
    }
    Some((real_root, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_files_links_and_missing_names() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("IMG-1.jpg"), b"x").unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"s").unwrap();
        std::fs::create_dir(dir.path().join("sub.jpg")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("link.jpg")).unwrap();
        let folder = MediaFolder::open(dir.path());
        let real = dir.path().canonicalize().unwrap();
        assert_eq!(folder.find("IMG-1.jpg").unwrap(), Resolve::Found(real.join("IMG-1.jpg")));
        assert!(matches!(folder.find("IMG-2.jpg").unwrap(), Resolve::Missing(_)));
        assert!(matches!(folder.find("sub.jpg").unwrap(), Resolve::Missing(_)), "a folder is no attachment");
        #[cfg(unix)]
        assert!(folder.find("link.jpg").is_err(), "a link out of the folder is refused, not listed");
        assert!(folder.exists("IMG-1.jpg"));
        assert!(!folder.exists("sub.jpg") && !folder.exists("../IMG-1.jpg"));
    }
}
