//! The files beside a transcript, listed once. An export names its
//! attachments by plain file name in one folder; asking the file system
//! about each of them (an `lstat` and a path resolution per attachment) was
//! most of the import's time. The folder is listed once instead, its regular
//! files kept by name; a name not in that list (a link, a file on a
//! case-insensitive disk written in another case, a folder too large to
//! list) still goes through [`resolve_inside`], so nothing is found here that
//! the careful path would refuse.

use ahash::RandomState;
use chatferry_core::media::{resolve_inside, Resolve};
use chatferry_core::Result;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Folders with more entries than this are not listed (memory stays bounded);
/// their files are looked up one by one.
pub const MAX_LISTED: usize = 2_000_000;

/// A folder's regular files by name, and its canonical path.
pub struct Listing {
    real_root: PathBuf,
    /// `real_root` and a separator, when it is UTF-8: a listed file's path is
    /// this and its name (no path joined and checked per attachment).
    root_text: Option<String>,
    /// Each name as a 128-bit hash under this run's random keys, not as
    /// text: a lookup is one probe of a compact table, where a set of names
    /// cost two cache misses (the table, then the name) and a name's
    /// allocation per file. Two different names meet with chance 2^-128
    /// per pair, and nobody who writes a folder knows the keys.
    keys: HashSet<u128, KeyIsHash>,
    hashers: (RandomState, RandomState),
    /// The names ending in `.txt` or `.zip` (the transcript is among them,
    /// and any other export beside it).
    texts: Vec<String>,
    /// Whether some file's name is not UTF-8 (such files are not listed).
    other_names: bool,
}

impl Listing {
    /// The listed names ending in `.txt` or `.zip`.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.texts.iter().map(String::as_str)
    }

    pub fn has_other_names(&self) -> bool {
        self.other_names
    }

    pub fn contains(&self, name: &str) -> bool {
        self.keys.contains(&key(&self.hashers, name))
    }
}

fn key((a, b): &(RandomState, RandomState), name: &str) -> u128 {
    (u128::from(a.hash_one(name)) << 64) | u128::from(b.hash_one(name))
}

/// The keys are random already: their low bits are the table's hash.
#[derive(Default, Clone, Copy)]
struct KeyIsHash;

impl BuildHasher for KeyIsHash {
    type Hasher = LowBits;
    fn build_hasher(&self) -> LowBits {
        LowBits(0)
    }
}

struct LowBits(u64);

impl Hasher for LowBits {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used; this keeps any other use correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
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
            if l.contains(name) {
                return Ok(Resolve::Found(l.real_root.join(name)));
            }
        }
        resolve_inside(&self.root, name)
    }

    /// Puts the path of the listed file `name` (a plain file name, already
    /// checked) into `out`; `false` when it is not listed (ask `find`).
    #[cfg(test)]
    pub fn listed_path(&self, name: &str, out: &mut String) -> bool {
        self.key_of(name).is_some_and(|k| self.has_key(k)) && self.listed_path_of(name, out)
    }

    /// The key of `name` in the listing, to look up with `has_key` (many
    /// names' lookups then follow one another); `None` when the folder was
    /// not listed whole or its path is not UTF-8 (ask `find`).
    pub fn key_of(&self, name: &str) -> Option<u128> {
        let l = self.listed.as_ref().filter(|l| l.root_text.is_some())?;
        Some(key(&l.hashers, name))
    }

    /// Whether the listing holds the name whose key is `key`.
    pub fn has_key(&self, key: u128) -> bool {
        self.listed.as_ref().is_some_and(|l| l.keys.contains(&key))
    }

    /// Puts the path of `name`, found by `has_key`, into `out`.
    pub fn listed_path_of(&self, name: &str, out: &mut String) -> bool {
        let Some(root) = self.listed.as_ref().and_then(|l| l.root_text.as_deref()) else { return false };
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
    let hashers = (RandomState::new(), RandomState::new());
    let mut keys = HashSet::with_hasher(KeyIsHash);
    let (mut texts, mut other_names) = (Vec::new(), false);
    for entry in std::fs::read_dir(root).ok()? {
        let entry = entry.ok()?;
        // The entry's type comes with the listing (no `stat`); links are
        // left to `resolve_inside`.
        if entry.file_type().ok()?.is_file() {
            let name = entry.file_name();
            match name.to_str() {
                Some(name) => {
                    keys.insert(key(&hashers, name));
                    if name.ends_with(".txt") || name.ends_with(".zip") {
                        texts.push(name.to_string());
                    }
                }
                None => other_names = true,
            }
        }
        if keys.len() > MAX_LISTED {
            return None;
        }
    }
    let root_text = real_root.to_str().map(|r| format!("{r}{}", std::path::MAIN_SEPARATOR));
    Some(Listing { real_root, root_text, keys, hashers, texts, other_names })
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
