//! Small files a person names on the command line (a key file, a contact
//! map, a password file): read only when they are regular files under a
//! size limit, so `/dev/zero`, a FIFO or a folder is a one-line error
//! instead of a read that never ends or fills memory.

use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The bytes of `path`, `what` naming it in errors (`the key file`), at
/// most `limit` bytes.
pub fn read(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &format!("read {what}"), e))?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "{what} {} is not a regular file (a folder, device or pipe); give the file itself",
            path.display()
        )));
    }
    let too_big =
        || Error::usage(format!("{what} {} is larger than {} bytes; that is not {what}", path.display(), limit));
    if meta.len() > limit {
        return Err(too_big());
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &format!("read {what}"), e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The size can change between the stat and the read: read one byte past
    // the limit at most.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, &format!("read {what}"), e))?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Like `read`, as UTF-8 text.
pub fn read_text(path: &Path, what: &str, limit: u64) -> Result<String> {
    String::from_utf8(read(path, what, limit)?)
        .map_err(|_| Error::usage(format!("{what} {} is not text (UTF-8)", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_folders_and_large_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(Path::new("/dev/zero"), "the map", 16).unwrap_err().message.contains("not a regular file"));
        assert!(read(dir.path(), "the map", 16).unwrap_err().message.contains("not a regular file"));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 17]).unwrap();
        assert!(read(&big, "the map", 16).unwrap_err().message.contains("larger than 16 bytes"));
        std::fs::write(&big, b"fine").unwrap();
        assert_eq!(read_text(&big, "the map", 16).unwrap(), "fine");
    }
}
