//! A transcript's lines, read in large blocks and handed out as slices of
//! the block: no copy and no allocation per line (`read_until` into a line
//! buffer was a tenth of the import). Line ends are found with `memchr`.
//! UTF-8 is checked with SIMD (`simdutf8`). What is refused is the same as for any line reader of ours: a line over
//! the limit, NUL bytes (a binary file named `.txt`), text that is not UTF-8.

use chatferry_core::{Error, Result};
use std::io::Read;
use std::path::Path;

/// A physical line longer than this is not an export's.
pub const MAX_LINE: usize = 16 << 20;
/// Bytes read at a time; a longer line grows the buffer up to `MAX_LINE`.
const BLOCK: usize = 1 << 20;

/// Lines of one file, with its name for errors.
pub struct Lines {
    file: std::fs::File,
    shown: String,
    number: u64,
    buf: Vec<u8>,
    /// `buf[start..end]` is read and not yet handed out.
    start: usize,
    end: usize,
    /// `buf[start..scanned]` holds no line end (a long line is not searched twice).
    scanned: usize,
    eof: bool,
}

impl Lines {
    pub fn open(path: &Path, shown: &str) -> Result<Lines> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
        Ok(Lines {
            file,
            shown: shown.into(),
            number: 0,
            buf: vec![0; BLOCK],
            start: 0,
            end: 0,
            scanned: 0,
            eof: false,
        })
    }

    /// The next line without its line end, or `None` at the end.
    pub fn next(&mut self) -> Result<Option<&str>> {
        let (from, to) = loop {
            let from = self.start.max(self.scanned);
            if let Some(i) = memchr::memchr(b'\n', &self.buf[from..self.end]) {
                let (line_start, line_end) = (self.start, from + i);
                self.start = line_end + 1;
                break (line_start, line_end);
            }
            self.scanned = self.end;
            if self.end - self.start > MAX_LINE {
                return Err(self.too_long());
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let from = self.start;
                self.start = self.end;
                break (from, self.end);
            }
            self.fill()?;
        };
        self.number += 1;
        if to - from > MAX_LINE {
            return Err(self.too_long());
        }
        let mut line = &self.buf[from..to];
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        if memchr::memchr(0, line).is_some() {
            return Err(Error::bad_input(format!(
                "{}: line {} holds binary data; this is not a WhatsApp export text",
                self.shown, self.number
            )));
        }
        let text = simdutf8::basic::from_utf8(line).map_err(|_| {
            Error::bad_input(format!(
                "{}: line {} is not UTF-8 text; WhatsApp writes exports in UTF-8 (was the file converted?)",
                self.shown, self.number
            ))
        })?;
        Ok(Some(if self.number == 1 { text.trim_start_matches('\u{feff}') } else { text }))
    }

    /// Reads more after the unread bytes, moving them to the front first.
    fn fill(&mut self) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // A line longer than a block: room for one more block, bounded by the check above.
            self.buf.resize(self.buf.len() + BLOCK, 0);
        }
        loop {
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::bad_input(format!("{}: cannot be read ({e})", self.shown))),
            }
        }
    }

    fn too_long(&self) -> Error {
        Error::bad_input(format!(
            "{}: line {} is longer than 16 MiB; this is not a WhatsApp export",
            self.shown,
            self.number + 1
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Result<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        std::fs::write(&path, bytes).unwrap();
        let mut lines = Lines::open(&path, "t.txt")?;
        let mut out = vec![];
        while let Some(l) = lines.next()? {
            out.push(l.to_string());
        }
        Ok(out)
    }

    #[test]
    fn splits_like_a_line_reader() {
        assert_eq!(all(b"").unwrap(), Vec::<String>::new());
        assert_eq!(all(b"\xef\xbb\xbfa\r\nb\n\nc").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(all(b"a\r\r\n\n").unwrap(), ["a", ""]);
        assert_eq!(all("一\n二\n".as_bytes()).unwrap(), ["一", "二"]);
    }

    #[test]
    fn lines_across_blocks_and_longer_than_a_block() {
        let long = "x".repeat(BLOCK * 2 + 17);
        let mut text = String::new();
        for i in 0..3 {
            text.push_str(&"é".repeat(BLOCK / 2 - 3 + i));
            text.push('\n');
        }
        text.push_str(&long);
        text.push('\n');
        text.push_str("end");
        let got = all(text.as_bytes()).unwrap();
        let want: Vec<&str> = text.split('\n').collect();
        assert_eq!(got, want);
    }

    #[test]
    fn refuses_binary_non_utf8_and_endless_lines() {
        let e = all(b"ok\nbad\0line\n").unwrap_err().to_string();
        assert!(e.contains("line 2 holds binary data"), "{e}");
        let e = all(b"ok\n\xff\xfe\n").unwrap_err().to_string();
        assert!(e.contains("line 2 is not UTF-8"), "{e}");
        let e = all(&vec![b'a'; MAX_LINE + 2]).unwrap_err().to_string();
        assert!(e.contains("line 1 is longer than 16 MiB"), "{e}");
        // Exactly at the limit is a line.
        assert_eq!(all(&vec![b'a'; MAX_LINE]).unwrap().len(), 1);
    }
}
