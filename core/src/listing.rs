//! Listing a folder that a probe only glances at.

use std::path::Path;

/// Entries a folder of an app's own layout is looked through for when
/// probing (a Databases, MicroMsg or Documents folder holds a few dozen).
pub const PROBE_AT_MOST: usize = 4096;

/// The entries of `dir` (unreadable ones left out), or `None` when it
/// cannot be listed or holds more than `max`. A probe asks whether a
/// folder is of its kind; an export's folder holds a hundred thousand
/// media files, and every adapter's probe listing it whole was most of
/// the time taken to recognise it.
pub fn entries_at_most(dir: &Path, max: usize) -> Option<Vec<std::fs::DirEntry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).ok()? {
        if out.len() == max {
            return None;
        }
        if let Ok(e) = entry {
            out.push(e);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_over_the_limit_is_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("f{i}")), b"").unwrap();
        }
        assert_eq!(entries_at_most(dir.path(), 5).map(|e| e.len()), Some(5), "exactly the limit is listed");
        assert!(entries_at_most(dir.path(), 4).is_none(), "one more is not");
        assert!(entries_at_most(&dir.path().join("gone"), 5).is_none());
        assert_eq!(entries_at_most(dir.path(), 0).map(|e| e.len()), None);
    }
}
