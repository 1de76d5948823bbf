//! How much room a file system has: checked before a run writes much into
//! a folder it does not own (TMPDIR), so a full disk is said as such, up
//! front, instead of failing deep inside a library.

use std::path::Path;

/// The bytes this user may still write on the file system of `path`, or
/// `None` where the system does not say.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut s = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a valid NUL-terminated path and a buffer statvfs fills.
    if unsafe { libc::statvfs(c.as_ptr(), s.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled the buffer.
    let s = unsafe { s.assume_init() };
    // Both are 32-bit on some systems.
    #[allow(clippy::unnecessary_cast)]
    Some((s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
}

/// `n` bytes for a person: `1.5 GB`, `300 MB`, `12 KB`.
pub fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{} MB", n >> 20),
        n => format!("{} KB", n.div_ceil(1 << 10)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_folder_has_a_size_and_a_missing_one_none() {
        assert!(free_bytes(&std::env::temp_dir()).is_some());
        assert_eq!(free_bytes(Path::new("/no/such/folder/here")), None);
        assert_eq!(human(300 << 20), "300 MB");
        assert_eq!(human(3 << 29), "1.5 GB");
    }
}
