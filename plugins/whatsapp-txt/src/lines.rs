//! A transcript's lines (or those of a byte range of it, a piece read by
//! one thread), read in large blocks and handed out as slices of the
//! block: no copy and no allocation per line (`read_until` into a line
//! buffer was a tenth of the import). Line ends are found with `memchr`.
//! UTF-8 is checked with SIMD (`simdutf8`). What is refused is the same as
//! for any line reader of ours: a line over the limit, NUL bytes (a binary
//! file named `.txt`), text that is not UTF-8.

use chatferry_core::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A physical line longer than this is not an export's.
pub const MAX_LINE: usize = 16 << 20;
/// Bytes read at a time; a longer line grows the buffer up to `MAX_LINE`.
const BLOCK: usize = 1 << 20;

/// Lines of one file (or of a byte range of it), with its name for errors.
pub struct Lines {
    file: std::fs::File,
    path: PathBuf,
    shown: String,
    /// Lines handed out, counted from the range's start.
    number: u64,
    buf: Vec<u8>,
    /// `buf[start..end]` is read and not yet handed out.
    start: usize,
    end: usize,
    /// `buf[start..scanned]` holds no line end (a long line is not searched twice).
    scanned: usize,
    /// `buf[..checked]` is known to be UTF-8 without NUL bytes (checked in
    /// one go up to a line end; a short line checked alone costs more).
    checked: usize,
    /// A check in one go failed below this: its lines are checked one by
    /// one, so the bad one is named (and nothing is checked twice over).
    one_by_one: usize,
    eof: bool,
    /// Where the range starts in the file (0: the whole file).
    from: u64,
    /// Bytes of the range not read yet.
    left: u64,
    /// Bytes read from the range so far.
    read: u64,
}

impl Lines {
    #[cfg(test)]
    pub fn open(path: &Path, shown: &str) -> Result<Lines> {
        Lines::range(path, shown, 0, u64::MAX, vec![0; BLOCK])
    }

    /// The lines of `path` from byte `from` (a line's start) to byte `to`
    /// (a line's start, or past the end), read into `buf` (its length is
    /// how much is read at a time; a buffer used before saves clearing a new one).
    pub fn range(path: &Path, shown: &str, from: u64, to: u64, mut buf: Vec<u8>) -> Result<Lines> {
        if buf.is_empty() {
            buf.resize(BLOCK, 0);
        }
        let mut file = chatferry_core::small_file::open_regular(path).map_err(|e| Error::io(path, "open", e))?;
        if from > 0 {
            file.seek(SeekFrom::Start(from)).map_err(|e| Error::io(path, "read", e))?;
        }
        Ok(Lines {
            file,
            path: path.to_path_buf(),
            shown: shown.into(),
            number: 0,
            buf,
            start: 0,
            end: 0,
            scanned: 0,
            checked: 0,
            one_by_one: 0,
            eof: false,
            from,
            left: to.saturating_sub(from),
            read: 0,
        })
    }

    /// The buffer, to read other lines into.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Where in the file the line that `next` returns starts.
    pub fn position(&self) -> u64 {
        self.from + self.read - (self.end - self.start) as u64
    }

    /// Passes over what is left of the line (no checks: the range may have
    /// started inside a line, even inside a character); `false` at the end.
    pub fn skip_line(&mut self) -> Result<bool> {
        Ok(self.next_bytes()?.is_some())
    }

    /// The next line without its line end, or `None` at the end.
    pub fn next(&mut self) -> Result<Option<&str>> {
        let Some((from, to)) = self.next_bytes()? else { return Ok(None) };
        if to >= self.checked && from >= self.one_by_one {
            self.check_ahead(from);
        }
        let mut line = &self.buf[from..to];
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        let text = if to < self.checked {
            // SAFETY: checked as UTF-8 in one go, and a line ends at a `\n`, a character boundary.
            unsafe { std::str::from_utf8_unchecked(line) }
        } else {
            self.check(line)?
        };
        Ok(Some(if self.number == 1 && self.from == 0 { text.trim_start_matches('\u{feff}') } else { text }))
    }

    /// Checks `buf` from the line at `from` to the last line end read, in
    /// one go; where that fails, the lines up to there are checked alone.
    fn check_ahead(&mut self, from: usize) {
        let Some(last) = memchr::memrchr(b'\n', &self.buf[from..self.end]) else { return };
        let upto = from + last + 1;
        let chunk = &self.buf[from..upto];
        if memchr::memchr(0, chunk).is_none() && simdutf8::basic::from_utf8(chunk).is_ok() {
            self.checked = upto;
        } else {
            self.one_by_one = upto;
        }
    }

    /// A line as text, or the error that names it.
    fn check<'l>(&self, line: &'l [u8]) -> Result<&'l str> {
        if memchr::memchr(0, line).is_some() {
            return Err(Error::bad_input(format!(
                "{}: {} holds binary data; this is not a WhatsApp export text",
                self.shown,
                self.line_in_file(self.number)
            )));
        }
        simdutf8::basic::from_utf8(line).map_err(|_| {
            Error::bad_input(format!(
                "{}: {} is not UTF-8 text; WhatsApp writes exports in UTF-8 (was the file converted?)",
                self.shown,
                self.line_in_file(self.number)
            ))
        })
    }

    /// Where in `buf` the next line is, with its line end.
    fn next_bytes(&mut self) -> Result<Option<(usize, usize)>> {
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
        Ok(Some((from, to)))
    }

    /// Reads more after the unread bytes, moving them to the front first.
    fn fill(&mut self) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.checked = self.checked.saturating_sub(self.start);
            self.one_by_one = self.one_by_one.saturating_sub(self.start);
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // A line longer than the buffer: twice the room, at most a block
            // more at a time, bounded by the check above.
            self.buf.resize(self.buf.len() + self.buf.len().min(BLOCK), 0);
        }
        let room = (self.buf.len() - self.end).min(usize::try_from(self.left).unwrap_or(usize::MAX));
        loop {
            match self.file.read(&mut self.buf[self.end..self.end + room]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    self.left -= n as u64;
                    self.read += n as u64;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::bad_input(format!("{}: cannot be read ({e})", self.shown))),
            }
        }
    }

    fn too_long(&self) -> Error {
        Error::bad_input(format!(
            "{}: {} is longer than 16 MiB; this is not a WhatsApp export",
            self.shown,
            self.line_in_file(self.number + 1)
        ))
    }

    /// `line N` of the file for the range's line `n`: the lines before the
    /// range are counted only here, for an error (where they cannot be
    /// read, the line is named by the byte its range starts at).
    fn line_in_file(&self, n: u64) -> String {
        if self.from == 0 {
            return format!("line {n}");
        }
        let before = std::fs::File::open(&self.path).and_then(|f| {
            let mut reader = f.take(self.from);
            let (mut count, mut block) = (0u64, vec![0u8; BLOCK]);
            loop {
                match reader.read(&mut block) {
                    Ok(0) => return Ok(count),
                    Ok(k) => count += memchr::memchr_iter(b'\n', &block[..k]).count() as u64,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        });
        match before {
            Ok(b) => format!("line {}", b + n),
            Err(_) => format!("line {n} after byte {}", self.from),
        }
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
    fn a_range_reads_its_lines_and_names_bad_ones_by_their_line_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        let mut bytes = b"\xef\xbb\xbfone\ntwo\r\nthree\n".to_vec();
        let four = bytes.len() as u64;
        bytes.extend_from_slice(b"\xef\xbb\xbffour\nfi\0ve\nsix\n");
        std::fs::write(&path, &bytes).unwrap();
        let mut lines = Lines::range(&path, "t.txt", 7, four, vec![0; 3]).unwrap();
        assert_eq!(lines.position(), 7);
        assert_eq!(lines.next().unwrap(), Some("two"));
        assert_eq!(lines.position(), 12);
        assert_eq!(lines.next().unwrap(), Some("three"));
        assert_eq!(lines.next().unwrap(), None, "the range ends before line 4");
        // A byte order mark is dropped only at the file's start.
        let mut lines = Lines::range(&path, "t.txt", four, u64::MAX, Vec::new()).unwrap();
        assert_eq!(lines.next().unwrap(), Some("\u{feff}four"));
        let e = lines.next().unwrap_err().to_string();
        assert!(e.contains("line 5 holds binary data"), "{e}");
        // Started inside a line (inside a character even): skipped whole.
        let mut lines = Lines::range(&path, "t.txt", 1, u64::MAX, vec![0; 4]).unwrap();
        assert!(lines.skip_line().unwrap());
        assert_eq!(lines.next().unwrap(), Some("two"));
    }

    /// Lines are checked in one go up to the last line end read; a bad
    /// line among good ones is still found and named, whatever the reads.
    #[test]
    fn a_bad_line_among_good_ones_is_named_wherever_the_reads_fall() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        let good: Vec<String> = (0..60).map(|i| format!("{i} 你好 é 🎉 مرحبا")).collect();
        for (bad, message) in
            [(b"\xff".as_slice(), "is not UTF-8"), (b"\0", "holds binary data"), (b"\xe4\xbd", "is not UTF-8")]
        {
            for at in [0, 1, 30, 59] {
                let mut bytes = Vec::new();
                for (i, g) in good.iter().enumerate() {
                    bytes.extend_from_slice(g.as_bytes());
                    if i == at {
                        bytes.extend_from_slice(bad);
                    }
                    bytes.push(b'\n');
                }
                std::fs::write(&path, &bytes).unwrap();
                for block in [1, 3, 7, 64, 1000, 1 << 20] {
                    let mut lines = Lines::range(&path, "t.txt", 0, u64::MAX, vec![0; block]).unwrap();
                    for g in &good[..at] {
                        assert_eq!(lines.next().unwrap(), Some(g.as_str()), "block {block}");
                    }
                    let e = lines.next().unwrap_err().to_string();
                    assert!(e.contains(&format!("line {} {message}", at + 1)), "block {block}: {e}");
                }
            }
        }
        // All good: every line comes out whole, the last one without a line end too.
        let text = good.join("\n");
        std::fs::write(&path, &text).unwrap();
        for block in [1, 2, 5, 64, 1 << 20] {
            let mut lines = Lines::range(&path, "t.txt", 0, u64::MAX, vec![0; block]).unwrap();
            for g in &good {
                assert_eq!(lines.next().unwrap(), Some(g.as_str()), "block {block}");
            }
            assert_eq!(lines.next().unwrap(), None);
        }
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
