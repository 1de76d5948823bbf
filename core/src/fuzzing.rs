//! What the fuzz targets (fuzz/, run with `cargo fuzz`) share: the entry
//! points of core's parsers, and the smoke pass that every crate's tests
//! run over the checked-in corpus of each of its targets. Not an API.

use std::path::{Path, PathBuf};

/// `fuzz/corpus/<target>`: the inputs the fuzzer kept (minimised).
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target)
}

/// Runs `entry` once on every file of `target`'s corpus. A missing or
/// empty corpus fails: the smoke pass must have something to run.
pub fn smoke(target: &str, entry: impl Fn(&[u8])) {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus of fuzz target {target} ({}) cannot be read: {e}", dir.display()))
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus of fuzz target {target} ({}) is empty", dir.display());
    for f in files {
        let bytes = std::fs::read(&f).expect("a corpus file");
        entry(&bytes);
    }
}

/// Fuzz target `archive_lines`: bytes as the archive's JSON-lines files.
pub fn archive_lines(bytes: &[u8]) {
    use std::sync::OnceLock;
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder for the fuzz target");
        std::fs::create_dir(dir.path().join("media")).expect("media folder");
        std::fs::write(dir.path().join("media/a.jpg"), b"jpg").expect("a media file");
        dir
    });
    crate::archive::fuzz_lines(bytes, root.path());
}

/// Fuzz target `backup_plists`: bytes as an iPhone backup's plists.
#[cfg(feature = "ios-backup")]
pub use crate::ios_backup::fuzz_plists as backup_plists;

/// Fuzz target `keybag`: bytes as an encrypted backup's BackupKeyBag.
#[cfg(feature = "ios-backup")]
pub use crate::ios_backup::fuzz_keybag as keybag;

#[cfg(test)]
mod tests {
    #[test]
    fn the_archive_lines_corpus_passes() {
        super::smoke("archive_lines", super::archive_lines);
    }

    #[cfg(feature = "ios-backup")]
    #[test]
    fn the_keybag_corpus_passes() {
        super::smoke("keybag", super::keybag);
    }

    #[cfg(feature = "ios-backup")]
    #[test]
    fn the_backup_plists_corpus_passes() {
        super::smoke("backup_plists", super::backup_plists);
    }
}
