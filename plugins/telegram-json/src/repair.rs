//! Telegram Desktop writes JSON that is not quite JSON (formats doc §1, §8):
//! control characters as `\xHH` (since 2018), and in 4.0.4–4.1.1 a custom
//! emoji's `document_id` path without quotes. Both are rewritten here, in a
//! byte filter in front of the parser, so a strict parser reads the export
//! instead of refusing it; nothing else is touched. The filter also caps a
//! string's length, so a hostile file cannot make the parser buffer
//! gigabytes for one value.

use memchr::{memchr, memchr2};
use std::io::{self, Read};

/// No text, caption or file name comes near this (a message holds 4096
/// characters); a longer string is no export's.
pub const MAX_STRING: u64 = 64 << 20;
/// An unquoted `document_id` is a file path on one line.
const MAX_UNQUOTED: usize = 4096;
const CHUNK: usize = 64 << 10;

/// Where the filter is in the JSON text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    Outside,
    InString,
    /// The byte after an unescaped backslash in a string.
    Escape,
}

/// What follows a `"document_id"` key, to catch its unquoted value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DocumentId {
    No,
    /// The key was read; its colon comes next.
    Key,
    /// The colon was read; the value comes next.
    Colon,
    /// An unquoted value is being collected up to its line's end.
    Unquoted,
}

pub struct Repair<R> {
    inner: R,
    input: Vec<u8>,
    out: Vec<u8>,
    served: usize,
    at: At,
    string_len: u64,
    /// A string's first bytes, to know the key `document_id` when it ends.
    head: [u8; 12],
    document_id: DocumentId,
    unquoted: Vec<u8>,
    /// Bytes of the input read so far, for errors.
    offset: u64,
    /// How many `\xHH` escapes and unquoted values were rewritten.
    pub escapes: u64,
    pub unquoted_ids: u64,
    done: bool,
}

impl<R: Read> Repair<R> {
    pub fn new(inner: R) -> Repair<R> {
        Repair {
            inner,
            input: vec![0; CHUNK],
            out: Vec::with_capacity(CHUNK + 64),
            served: 0,
            at: At::Outside,
            string_len: 0,
            head: [0; 12],
            document_id: DocumentId::No,
            unquoted: Vec::new(),
            offset: 0,
            escapes: 0,
            unquoted_ids: 0,
            done: false,
        }
    }

    fn invalid(&self, why: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, why)
    }

    /// Filters `self.input[..n]` into `self.out`.
    fn filter(&mut self, n: usize) -> io::Result<()> {
        let mut i = 0;
        while i < n {
            match self.at {
                At::InString => {
                    let run = memchr2(b'"', b'\\', &self.input[i..n]).unwrap_or(n - i);
                    self.note_string_bytes(i, run)?;
                    self.out.extend_from_slice(&self.input[i..i + run]);
                    i += run;
                    if i == n {
                        break;
                    }
                    let b = self.input[i];
                    self.out.push(b);
                    i += 1;
                    if b == b'\\' {
                        self.at = At::Escape;
                    } else {
                        self.at = At::Outside;
                        if self.string_len == 11 && &self.head[..11] == b"document_id" {
                            self.document_id = DocumentId::Key;
                        }
                    }
                }
                At::Escape => {
                    let b = self.input[i];
                    i += 1;
                    self.at = At::InString;
                    self.string_len += 1;
                    if b == b'x' {
                        // `\xHH` → `\u00HH`: the backslash is out already.
                        self.out.extend_from_slice(b"u00");
                        self.escapes += 1;
                    } else {
                        self.out.push(b);
                    }
                }
                At::Outside if self.document_id == DocumentId::No => {
                    let rest = &self.input[i..n];
                    let run = memchr(b'"', rest).unwrap_or(rest.len());
                    self.out.extend_from_slice(&rest[..run]);
                    i += run;
                    if i < n {
                        self.out.push(b'"');
                        i += 1;
                        self.at = At::InString;
                        self.string_len = 0;
                    }
                }
                At::Outside => {
                    let b = self.input[i];
                    i += 1;
                    self.after_document_id(b)?;
                }
            }
        }
        self.offset += n as u64;
        Ok(())
    }

    /// Counts a run of `len` string bytes starting at `input[i]`.
    fn note_string_bytes(&mut self, i: usize, len: usize) -> io::Result<()> {
        let before = self.string_len;
        if before < self.head.len() as u64 {
            let take = (self.head.len() - before as usize).min(len);
            self.head[before as usize..before as usize + take].copy_from_slice(&self.input[i..i + take]);
        }
        self.string_len += len as u64;
        if self.string_len > MAX_STRING {
            return Err(self.invalid(format!(
                "a string near byte {} is longer than {} MiB, which no Telegram export writes: the file is damaged \
                 or is not an export",
                self.offset + i as u64,
                MAX_STRING >> 20
            )));
        }
        Ok(())
    }

    /// One byte after a `"document_id"` key, outside a string.
    fn after_document_id(&mut self, b: u8) -> io::Result<()> {
        match self.document_id {
            DocumentId::Unquoted if b == b'\n' => {
                let mut value = std::mem::take(&mut self.unquoted);
                while value.last().is_some_and(|c| c.is_ascii_whitespace()) {
                    value.pop();
                }
                let comma = value.last() == Some(&b',');
                if comma {
                    value.pop();
                }
                self.out.push(b'"');
                for c in value {
                    if c == b'"' || c == b'\\' {
                        self.out.push(b'\\');
                    }
                    self.out.push(c);
                }
                self.out.push(b'"');
                if comma {
                    self.out.push(b',');
                }
                self.out.push(b'\n');
                self.unquoted_ids += 1;
                self.document_id = DocumentId::No;
            }
            DocumentId::Unquoted => {
                if self.unquoted.len() >= MAX_UNQUOTED || b < 0x20 && b != b'\t' && b != b'\r' {
                    return Err(self.invalid(format!(
                        "near byte {}: a custom emoji's document_id is neither quoted nor one line of a path",
                        self.offset
                    )));
                }
                self.unquoted.push(b);
            }
            _ if b.is_ascii_whitespace() => self.out.push(b),
            DocumentId::Key if b == b':' => {
                self.out.push(b);
                self.document_id = DocumentId::Colon;
            }
            DocumentId::Colon if !b"\"-0123456789ntf{[".contains(&b) => {
                // Telegram Desktop 4.0.4–4.1.1: the path, unquoted, to the line's end.
                self.document_id = DocumentId::Unquoted;
                self.unquoted.clear();
                self.unquoted.push(b);
            }
            _ => {
                // Anything else is the parser's to judge.
                self.document_id = DocumentId::No;
                self.out.push(b);
                if b == b'"' {
                    self.at = At::InString;
                    self.string_len = 0;
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Repair<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.served == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.out.clear();
            self.served = 0;
            let n = loop {
                match self.inner.read(&mut self.input) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.done = true;
                // A file ending inside an unquoted value: give it its quotes.
                if self.document_id == DocumentId::Unquoted {
                    self.after_document_id(b'\n')?;
                }
                continue;
            }
            self.filter(n)?;
        }
        let n = buf.len().min(self.out.len() - self.served);
        buf[..n].copy_from_slice(&self.out[self.served..self.served + n]);
        self.served += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(text: &[u8], chunk: usize) -> Vec<u8> {
        /// Hands out at most `chunk` bytes per read, to cut escapes apart.
        struct Dribble<'a>(&'a [u8], usize);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(buf.len()).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        Repair::new(Dribble(text, chunk)).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn control_characters_written_as_x_escapes_become_u_escapes_and_nothing_else_changes() {
        let text = br#"{"data": "a\x01b\\x02c\\\x1f", "k\x00": 1}"#;
        for chunk in [1, 2, 3, 7, 64 << 10] {
            let out = repaired(text, chunk);
            assert_eq!(out, br#"{"data": "a\u0001b\\x02c\\\u001f", "k\u0000": 1}"#, "chunk {chunk}");
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["data"], "a\u{1}b\\x02c\\\u{1f}");
        }
        let valid = br#"{"a": "\"x\" \\", "b": [1, 2.5, null, true], "document_id": "p/q.webp"}"#;
        assert_eq!(repaired(valid, 3), valid.to_vec(), "valid JSON passes unchanged");
    }

    #[test]
    fn an_unquoted_custom_emoji_path_is_quoted() {
        // As tdesktop#24961 shows Telegram Desktop 4.1.1 writing it.
        let text = b"[{\n \"type\": \"custom_emoji\",\n \"text\": \"\xf0\x9f\x98\xae\",\n \"document_id\": video_files/sticker (2).webm\n},\n{\"document_id\": a\"b.webp,\n\"x\": 1}]";
        for chunk in [1, 5, 64 << 10] {
            let out = repaired(text, chunk);
            let v: serde_json::Value =
                serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
            assert_eq!(v[0]["document_id"], "video_files/sticker (2).webm");
            assert_eq!(v[1]["document_id"], "a\"b.webp");
            assert_eq!(v[1]["x"], 1);
        }
    }

    #[test]
    fn a_string_beyond_the_cap_is_an_error_not_a_buffer() {
        let endless = io::Cursor::new(b"[\"".to_vec()).chain(io::repeat(b'a'));
        let mut r = Repair::new(endless).take(MAX_STRING + 4 * CHUNK as u64);
        let err = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert!(err.to_string().contains("longer than 64 MiB"), "{err}");
    }
}
