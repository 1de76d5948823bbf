//! What every crate's tests share about things outside the repository:
//! `../shared` beside the checkout (the real files the apps wrote), and
//! tools that `.ci/run` installs. A test whose outside thing is missing is
//! skipped with one line saying so; under CI every skip is a failure. Not
//! an API.

use std::path::{Path, PathBuf};

/// Makes a named pipe at `path`, for tests of what a FIFO where a file is
/// expected does (nothing ever writes to it).
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("a path without NUL");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// Whether every test must run (`CI=true`, or `CHATFERRY_REQUIRE_ALL=1`):
/// then a missing tool or ../shared fixture fails the test.
pub fn require_all() -> bool {
    let set = |v: &str| std::env::var(v).is_ok_and(|x| !x.is_empty() && x != "0" && x != "false");
    set("CI") || set("CHATFERRY_REQUIRE_ALL")
}

/// Says, in one line that `cargo test`'s output capture does not swallow,
/// that `test` was skipped and why; under [`require_all`] it fails instead.
#[track_caller]
pub fn skip(test: &str, why: &str) {
    assert!(!require_all(), "{test} cannot run: {why} (CI=true / CHATFERRY_REQUIRE_ALL=1 allow no skips)");
    use std::io::Write;
    // Straight to the process's stderr: eprintln! would be captured and
    // shown only if the test failed.
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}

/// `shared/` beside the repository (`CHATFERRY_SHARED` overrides it, e.g.
/// to try how the suite behaves without it).
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("CHATFERRY_SHARED") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        // core/ → the repository → the folder beside it.
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap_or(Path::new("/")).join("shared"),
    }
}

/// A real file of `shared/fixtures/public` (`whatsapp/IPED-2021/…`), or
/// `None` with one line saying what `test` skipped when it is not there.
#[track_caller]
pub fn public_fixture(rel: &str, test: &str) -> Option<PathBuf> {
    let p = shared_dir().join("fixtures/public").join(rel);
    if p.exists() {
        return Some(p);
    }
    skip(test, &format!("the real fixture {} is not there (shared/ sits beside the repo)", p.display()));
    None
}

/// Everything an importer gives, in order: what tests and fuzz targets read.
pub struct Drained {
    pub header: crate::Header,
    pub contacts: Vec<crate::Contact>,
    pub chats: Vec<crate::Chat>,
    pub messages: Vec<crate::Message>,
    pub report: crate::Report,
}

/// Reads `importer` to its end as the host does (header, contacts, chats,
/// messages, each in batches of at most `batch`), then finishes it.
pub fn drain(importer: &mut dyn crate::Importer, batch: usize) -> crate::Result<Drained> {
    let header = importer.header()?;
    let mut contacts = Vec::new();
    loop {
        let b = importer.next_contacts(batch)?;
        if b.is_empty() {
            break;
        }
        contacts.extend(b);
    }
    let mut chats = Vec::new();
    loop {
        let b = importer.next_chats(batch)?;
        if b.is_empty() {
            break;
        }
        chats.extend(b);
    }
    let mut messages = Vec::new();
    loop {
        let b = importer.next_messages(batch)?;
        if b.is_empty() {
            break;
        }
        messages.extend(b);
    }
    let report = importer.finish()?;
    Ok(Drained { header, contacts, chats, messages, report })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_fixture_is_a_skip_or_under_ci_a_failure() {
        let outcome =
            std::panic::catch_unwind(|| public_fixture("no/such/file", "nothing (this line checks the skip itself)"));
        match outcome {
            Ok(found) => {
                assert!(!require_all(), "under CI a missing fixture must fail");
                assert_eq!(found, None);
            }
            Err(_) => assert!(require_all(), "outside CI a missing fixture is a skip, not a failure"),
        }
    }
}
