//! Small files a person names on the command line (a key file, a contact
//! map, a password file): read only when they are regular files under a
//! size limit, so `/dev/zero`, a FIFO or a folder is a one-line error
//! instead of a read that never ends or fills memory.

use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Opens `path` (following links) for reading if it is a regular file.
/// Every probe and reader opens its inputs with this: the open does not
/// block (a FIFO where a store is expected hung in open() for ever), and
/// the type is checked on the opened file itself, not on a name that may
/// change between a check and the open.
pub fn open_regular(path: impl AsRef<Path>) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    use std::os::unix::io::AsRawFd;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path.as_ref())?;
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        let kind = if t.is_dir() {
            "a folder"
        } else if t.is_fifo() {
            "a named pipe (FIFO)"
        } else if t.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("it is {kind}, not a regular file")));
    }
    // Reads of a regular file never block anyway; cleared so nothing else
    // sees the flag.
    // SAFETY: fcntl on a descriptor this function owns.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Whether `path` is a regular file (after links) that can be opened:
/// checked before handing a path to a library that opens it by name
/// (SQLite).
pub fn check_regular(path: &Path) -> std::io::Result<()> {
    open_regular(path).map(drop)
}

/// Copies the regular file `from` (see `open_regular`) to a new file `to`:
/// `std::fs::copy` of a FIFO waits for a writer for ever.
pub fn copy_regular(from: impl AsRef<Path>, to: impl AsRef<Path>) -> std::io::Result<u64> {
    let mut input = open_regular(from)?;
    let mut output = std::fs::File::create(to)?;
    std::io::copy(&mut input, &mut output)
}

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
    let file = open_regular(path).map_err(|e| Error::io(path, &format!("read {what}"), e))?;
    // The size can change between the stat and the read: checked again as read.
    read_at_most(file, limit, meta.len() as usize)
        .map_err(|e| Error::io(path, &format!("read {what}"), e))?
        .ok_or_else(too_big)
}

/// All of `from` if it holds at most `limit` bytes, else `None` (reading
/// stops one block past the limit). Read a block at a time into a buffer
/// of `size_hint` bytes: nothing asks the size first, a call less for each
/// of many small files (an export's contact cards).
pub fn read_at_most(mut from: impl Read, limit: u64, size_hint: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::with_capacity(size_hint.min(usize::try_from(limit).unwrap_or(usize::MAX)));
    let mut block = [0u8; 8192];
    loop {
        match from.read(&mut block) {
            Ok(0) => return Ok(Some(bytes)),
            Ok(n) if (bytes.len() + n) as u64 > limit => return Ok(None),
            Ok(n) => bytes.extend_from_slice(&block[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
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

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("msgstore.db");
        crate::testing::mkfifo(&fifo);
        // No writer ever comes: a plain open() would wait for one for ever.
        let err = open_regular(&fifo).unwrap_err();
        assert!(err.to_string().contains("named pipe"), "{err}");
        assert!(open_regular(dir.path()).unwrap_err().to_string().contains("a folder"));
        assert!(open_regular(Path::new("/dev/null")).unwrap_err().to_string().contains("a device"));
        let file = dir.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut open_regular(&file).unwrap(), &mut s).unwrap();
        assert_eq!(s, "abc");
    }

    #[test]
    fn read_at_most_takes_the_limit_and_not_a_byte_more() {
        let data = vec![7u8; 20_000];
        for hint in [0, 5, 20_000] {
            assert_eq!(read_at_most(&data[..], 20_000, hint).unwrap().as_deref(), Some(&data[..]));
            assert_eq!(read_at_most(&data[..], 19_999, hint).unwrap(), None);
        }
        assert_eq!(read_at_most(&b""[..], 0, 0).unwrap(), Some(vec![]));
        assert_eq!(read_at_most(&b"x"[..], 0, 0).unwrap(), None);
    }
}
