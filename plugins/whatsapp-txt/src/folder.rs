//! The files beside a transcript, listed once. An export names its
//! attachments by plain file name in one folder; asking the file system
//! about each of them (an `lstat` and a path resolution per attachment) was
//! most of the import's time. The folder is listed once instead, its regular
//! files kept by name; a name not in that list (a link, a file on a
//! case-insensitive disk written in another case, a folder too large to
//! list) still goes through [`resolve_inside`], so nothing is found here that
//! the careful path would refuse.

use ahash::AHashSet;
use chatferry_core::media::{resolve_inside, Resolve};
use chatferry_core::Result;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Folders with more entries than this are not listed (memory stays bounded);
/// their files are looked up one by one.
const MAX_LISTED: usize = 2_000_000;

/// A folder's regular files by name, and its canonical path.
pub struct Listing {
    real_root: PathBuf,
    /// `real_root` and a separator, when it is UTF-8: a listed file's path is
    /// this and its name (no path joined and checked per attachment).
    root_text: Option<String>,
    names: AHashSet<Box<str>>,
    /// Whether some file's name is not UTF-8 (such files are not listed).
    other_names: bool,
}

impl Listing {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }

    pub fn has_other_names(&self) -> bool {
        self.other_names
    }
}

pub struct MediaFolder {
    root: PathBuf,
    /// `None` when the folder could not be listed whole.
    listed: Option<Arc<Listing>>,
}

impl MediaFolder {
    pub fn open(root: &Path) -> MediaFolder {
        MediaFolder { root: root.to_path_buf(), listed: list(root).map(Arc::new) }
    }

    /// With the listing made when the transcript was looked for.
    pub fn listed(root: &Path, listing: Arc<Listing>) -> MediaFolder {
        MediaFolder { root: root.to_path_buf(), listed: Some(listing) }
    }

    /// Where the attachment `name` (a plain file name, already checked) is.
    pub fn find(&self, name: &str) -> Result<Resolve> {
        if let Some(l) = &self.listed {
            if l.names.contains(name) {
                return Ok(Resolve::Found(l.real_root.join(name)));
            }
        }
        resolve_inside(&self.root, name)
    }

    /// Puts the path of the listed file `name` (a plain file name, already
    /// checked) into `out`; `false` when it is not listed (ask `find`).
    pub fn listed_path(&self, name: &str, out: &mut String) -> bool {
        let Some(l) = &self.listed else { return false };
        let Some(root) = l.root_text.as_deref().filter(|_| l.names.contains(name)) else { return false };
        out.clear();
        out.push_str(root);
        out.push_str(name);
        true
    }

    /// Whether a regular file `name` is beside the transcript.
    pub fn exists(&self, name: &str) -> bool {
        !name.contains(['/', '\\']) && matches!(self.find(name), Ok(Resolve::Found(_)))
    }
}

/// The regular files of `root` (not links, not folders, not names that are
/// not UTF-8), or `None` when it cannot be listed whole.
pub fn list(root: &Path) -> Option<Listing> {
    let real_root = root.canonicalize().ok()?;
    let mut names = AHashSet::new();
    let mut other_names = false;
    for entry in std::fs::read_dir(root).ok()? {
        let entry = entry.ok()?;
        // The entry's type comes with the listing (no `stat`); links are
        // left to `resolve_inside`.
        if entry.file_type().ok()?.is_file() {
            match entry.file_name().into_string() {
                Ok(name) => {
                    names.insert(name.into_boxed_str());
                }
                Err(_) => other_names = true,
            }
        }
        if names.len() > MAX_LISTED {
            return None;
        }
    }
    let root_text = real_root.to_str().map(|r| format!("{r}{}", std::path::MAIN_SEPARATOR));
    Some(Listing { real_root, root_text, names, other_names })
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
        let mut text = String::from("old");
        assert!(folder.listed_path("IMG-1.jpg", &mut text));
        assert_eq!(Path::new(&text), real.join("IMG-1.jpg"));
        assert!(!folder.listed_path("sub.jpg", &mut text) && !folder.listed_path("link.jpg", &mut text));
        assert!(!folder.exists("sub.jpg") && !folder.exists("../IMG-1.jpg"));
    }
}
