//! One pass over `result.json`, a message at a time (formats doc §2, §8).
//! The root is either one chat (`{name, type, id, messages}`) or a whole
//! account (`personal_information`, `contacts`, `chats`, `left_chats`); a
//! chat's `name`/`type`/`id` come before its `messages`, so each chat is
//! known before its first message. The file's outline (objects, keys,
//! arrays) is followed by a byte scanner over a window of the file; each
//! message, and each small value the outline needs, is one slice handed to
//! serde_json, which parses a slice two and a half times as fast as it
//! reads a stream. Neither the file nor one chat's message array is ever
//! held whole: the window holds the message being read.

use memchr::memchr2;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::io::Read;

/// An id the exporter writes as a number (before 2021) or as text
/// (`user123`, `channel456`): kept as its text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id (a number or text)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Id, E> {
                Ok(Id(format!("{v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `personal_information`: the account's owner.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PersonalInfo {
    pub user_id: Option<Id>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
}

/// One entry of `contacts.list`: the phone book synced to Telegram. It has
/// a number and the names it was saved under, no Telegram id (§3).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PhoneEntry {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

/// What a chat object says before its messages.
#[derive(Debug, Clone, Default)]
pub struct ChatHead {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub id: Option<Id>,
    /// From `left_chats`: a group or channel the owner left (own messages only).
    pub left: bool,
    /// The chat's place in the file, from 0.
    pub index: usize,
}

/// What the walk hands on. Returning `Err` stops it (the reason becomes
/// the walk's error).
pub trait Sink {
    /// What each message is read into: all of it, or only what a pass needs.
    type Message: DeserializeOwned;
    fn personal(&mut self, _info: PersonalInfo) {}
    fn phone_book(&mut self, _entry: PhoneEntry) {}
    fn chat(&mut self, head: &ChatHead) -> Result<(), String>;
    fn message(&mut self, m: Self::Message) -> Result<(), String>;
}

/// Which shape the root had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// "Export chat history": the root is the chat.
    OneChat,
    /// "Export Telegram data": `chats` / `left_chats` lists.
    Account,
    /// Neither `messages` nor `chats` at the root: not an export.
    Neither,
}

/// Why a walk stopped, and where (a byte offset in the repaired text).
#[derive(Debug)]
pub enum WalkError {
    /// The file ends inside its JSON.
    Eof,
    /// Not JSON (or not a Telegram export's outline) at `at`.
    Syntax {
        at: u64,
        what: String,
    },
    /// A value has the wrong shape.
    Data {
        at: u64,
        what: String,
    },
    Io(std::io::Error),
    /// The sink said stop.
    Stopped(String),
}

/// No message of an export comes near this; the window never grows beyond it.
const MAX_VALUE: usize = 256 << 20;
/// No text, caption or file name comes near this (a message holds 4096
/// characters); a longer string is no export's.
pub const MAX_STRING: usize = 64 << 20;
/// An unquoted `document_id` is a file path on one line.
const MAX_UNQUOTED: usize = 4096;
/// Nesting deeper than this is no export's (serde_json's own limit within a value is 128).
const MAX_DEPTH: usize = 1024;

struct Scanner<R> {
    src: R,
    buf: Vec<u8>,
    /// The next unread byte.
    pos: usize,
    /// The end of the bytes read into `buf`.
    end: usize,
    /// The file offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// How many `\xHH` escapes and unquoted paths were repaired.
    escapes: u64,
    unquoted_ids: u64,
}

fn too_long() -> String {
    format!("a string longer than {} MiB, which no Telegram export writes", MAX_STRING >> 20)
}

/// Outside strings JSON has only these: structure, whitespace, and the
/// letters of numbers, `true`, `false` and `null`.
fn is_json_outside_strings(b: u8) -> bool {
    matches!(b, b'{' | b'}' | b'[' | b']' | b':' | b',' | b'"' | b' ' | b'\n' | b'\r' | b'\t' | b'-' | b'+' | b'.')
        || b.is_ascii_digit()
        || matches!(b, b'e' | b'E' | b't' | b'r' | b'u' | b'f' | b'a' | b'l' | b's' | b'n')
}

type Walked<T> = Result<T, WalkError>;

impl<R: Read> Scanner<R> {
    fn syntax<T>(&self, at: usize, what: &str) -> Walked<T> {
        Err(WalkError::Syntax { at: self.base + at as u64, what: what.to_string() })
    }

    /// Reads more, keeping `buf[keep..]`; false at the end of the file.
    /// Indexes at or after `keep` move down by `keep` (the returned shift).
    fn more(&mut self, keep: usize) -> Walked<(bool, usize)> {
        if self.eof {
            return Ok((false, 0));
        }
        if keep > 0 {
            self.buf.copy_within(keep..self.end, 0);
            self.end -= keep;
            self.pos -= keep.min(self.pos);
            self.base += keep as u64;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_VALUE {
                return self.syntax(0, "a value larger than 256 MiB, which no export holds");
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            // At most 8 MiB a read, so a string's length is checked as it grows.
            let room = (self.buf.len() - self.end).min(8 << 20);
            match self.src.read(&mut self.buf[self.end..self.end + room]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok((false, keep));
                }
                Ok(n) => {
                    self.end += n;
                    return Ok((true, keep));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(WalkError::Io(e)),
            }
        }
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Walked<u8> {
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(b);
                }
                self.pos += 1;
            }
            let keep = self.pos;
            if !self.more(keep)?.0 {
                return Err(WalkError::Eof);
            }
        }
    }

    fn expect(&mut self, want: u8, what: &str) -> Walked<()> {
        if self.peek()? != want {
            return self.syntax(self.pos, what);
        }
        self.pos += 1;
        Ok(())
    }

    /// After a member or element: true if another follows (`,`), false at `close`.
    fn another(&mut self, close: u8) -> Walked<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Ok(true)
            }
            b if b == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => self.syntax(self.pos, if close == b'}' { "expected , or }" } else { "expected , or ]" }),
        }
    }

    /// The span of the next value, whole in `buf` (read on as needed).
    /// Telegram Desktop's invalid JSON is repaired here, in the window,
    /// before serde_json sees it (formats doc §1): a control character
    /// written `\xHH` becomes `\u00HH`, and a custom emoji's `document_id`
    /// path written without quotes (4.0.4–4.1.1) gets them. A string longer
    /// than any export writes stops the walk instead of filling memory.
    fn value(&mut self) -> Walked<(usize, usize)> {
        self.peek()?;
        let mut start = self.pos;
        let mut i = start;
        let mut depth = 0usize;
        let mut in_string = false;
        // Where the string being read began (index into `buf`).
        let mut string_at = 0usize;
        loop {
            if i >= self.end {
                let (more, shift) = self.more(start)?;
                start -= shift;
                i -= shift;
                string_at -= shift.min(string_at);
                if !more {
                    // A number at the very end of the file is whole.
                    if depth == 0 && !in_string && i > start {
                        break;
                    }
                    return Err(WalkError::Eof);
                }
                continue;
            }
            if in_string {
                match memchr2(b'"', b'\\', &self.buf[i..self.end]) {
                    None => i = self.end,
                    Some(k) if self.buf[i + k] == b'\\' => {
                        // The escaped byte may be beyond the window: keep the backslash in view.
                        if i + k + 1 >= self.end {
                            i += k;
                            let (more, shift) = self.more(start)?;
                            start -= shift;
                            i -= shift;
                            string_at -= shift.min(string_at);
                            if !more {
                                return Err(WalkError::Eof);
                            }
                            continue;
                        }
                        if self.buf[i + k + 1] == b'x' {
                            // `\xHH` → `\u00HH`: two bytes more in the window.
                            self.insert(i + k + 1, b"u00", 1)?;
                            self.escapes += 1;
                        }
                        i += k + 2;
                    }
                    Some(k) => {
                        i += k + 1;
                        in_string = false;
                        if i - string_at > MAX_STRING {
                            return self.syntax(string_at, &too_long());
                        }
                        if depth == 0 {
                            break;
                        }
                    }
                }
                if in_string && i - string_at > MAX_STRING {
                    return self.syntax(string_at, &too_long());
                }
                continue;
            }
            match self.buf[i] {
                b'"' => {
                    in_string = true;
                    string_at = i;
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return self.syntax(i, "nesting deeper than any export's");
                    }
                }
                b'}' | b']' => {
                    if depth == 0 {
                        // The end of the enclosing value: a scalar before it is whole.
                        break;
                    }
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' if depth == 0 => break,
                b if depth > 0 && !is_json_outside_strings(b) => {
                    // A bare word: Telegram Desktop 4.0.4–4.1.1 wrote a custom
                    // emoji's path so, unquoted, to the line's end. Anything
                    // else is serde_json's to refuse.
                    let mut t = i;
                    while t > start
                        && !matches!(self.buf[t - 1], b' ' | b'\n' | b'\r' | b'\t' | b':' | b',' | b'[' | b'{')
                    {
                        t -= 1;
                    }
                    if self.after_document_id_key(start, t) {
                        let (line_end, shift) = self.line_in_view(start, t)?;
                        start -= shift;
                        i = t - shift;
                        self.quote_unquoted(i, line_end)?;
                        self.unquoted_ids += 1;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.pos = i;
        Ok((start, i))
    }

    /// Puts `bytes` in place of `buf[at..at + replace]`, moving the rest.
    fn insert(&mut self, at: usize, bytes: &[u8], replace: usize) -> Walked<()> {
        let grow = bytes.len() - replace;
        if self.end + grow > self.buf.len() {
            self.buf.resize(self.buf.len() * 2 + grow, 0);
        }
        self.buf.copy_within(at + replace..self.end, at + bytes.len());
        self.buf[at..at + bytes.len()].copy_from_slice(bytes);
        self.end += grow;
        Ok(())
    }

    /// Whether the bytes before `i` (not before `start`) are `"document_id":`.
    fn after_document_id_key(&self, start: usize, i: usize) -> bool {
        let before = self.buf[start..i].trim_ascii_end();
        let Some(before) = before.strip_suffix(b":") else { return false };
        before.trim_ascii_end().ends_with(b"\"document_id\"")
    }

    /// Reads on until the line from `i` ends in the window; its end, and
    /// how far the window moved.
    fn line_in_view(&mut self, mut start: usize, mut i: usize) -> Walked<(usize, usize)> {
        let mut moved = 0;
        loop {
            if let Some(n) = memchr::memchr(b'\n', &self.buf[i..self.end]) {
                if n > MAX_UNQUOTED {
                    break;
                }
                return Ok((i + n, moved));
            }
            if self.end - i > MAX_UNQUOTED {
                break;
            }
            let (more, shift) = self.more(start)?;
            start -= shift;
            i -= shift;
            moved += shift;
            if !more {
                return Ok((self.end, moved));
            }
        }
        self.syntax(i, "a custom emoji's document_id is neither quoted nor one line of a path")
    }

    /// `buf[i..line_end]` (a bare path, maybe with its member's comma) quoted.
    fn quote_unquoted(&mut self, i: usize, line_end: usize) -> Walked<()> {
        let mut token = self.buf[i..line_end].trim_ascii_end();
        let comma = token.last() == Some(&b',');
        if comma {
            token = token[..token.len() - 1].trim_ascii_end();
        }
        let mut quoted = Vec::with_capacity(token.len() + 3);
        quoted.push(b'"');
        for &c in token {
            if c == b'"' || c == b'\\' {
                quoted.push(b'\\');
            }
            quoted.push(c);
        }
        quoted.push(b'"');
        if comma {
            quoted.push(b',');
        }
        let old = line_end - i;
        if quoted.len() >= old {
            self.insert(i, &quoted, old)
        } else {
            quoted.resize(old, b' ');
            self.buf[i..line_end].copy_from_slice(&quoted);
            Ok(())
        }
    }

    /// The next value, parsed by serde_json.
    fn parse<T: DeserializeOwned>(&mut self) -> Walked<T> {
        let (s, e) = self.value()?;
        serde_json::from_slice(&self.buf[s..e]).map_err(|err| {
            let (at, what) = self.placed(s, e, &err);
            WalkError::Data { at, what }
        })
    }

    fn skip(&mut self) -> Walked<()> {
        let (s, e) = self.value()?;
        // Checked, so that a damaged part is said, not passed over.
        serde_json::from_slice::<de::IgnoredAny>(&self.buf[s..e]).map(|_| ()).map_err(|err| {
            let (at, what) = self.placed(s, e, &err);
            WalkError::Syntax { at, what }
        })
    }

    /// serde_json's error in the value `buf[s..e]`, placed in the file: its
    /// line and column count within the value, which no one could find in
    /// the file, become the byte they point at.
    fn placed(&self, s: usize, e: usize, err: &serde_json::Error) -> (u64, String) {
        let value = &self.buf[s..e];
        let line_start = match err.line() {
            0 | 1 => 0,
            n => value.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(n - 2).map_or(0, |(i, _)| i + 1),
        };
        let inside = (line_start + err.column().saturating_sub(1)).min(value.len());
        let text = err.to_string();
        let what = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        (self.base + (s + inside) as u64, what)
    }

    /// A key and its colon.
    fn key(&mut self) -> Walked<String> {
        if self.peek()? != b'"' {
            return self.syntax(self.pos, "expected a key");
        }
        let k: String = self.parse()?;
        self.expect(b':', "expected : after a key")?;
        Ok(k)
    }

    /// `{…}` member by member: `each` is called with each key, and must
    /// read its value. `null` is an empty object.
    fn object(&mut self, mut each: impl FnMut(&mut Self, String) -> Walked<()>) -> Walked<()> {
        if self.peek()? == b'n' {
            return self.skip();
        }
        self.expect(b'{', "expected an object")?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let k = self.key()?;
            each(self, k)?;
            if !self.another(b'}')? {
                return Ok(());
            }
        }
    }

    /// `[…]` element by element; `null` is an empty array.
    fn array(&mut self, mut each: impl FnMut(&mut Self) -> Walked<()>) -> Walked<()> {
        if self.peek()? == b'n' {
            return self.skip();
        }
        self.expect(b'[', "expected a list")?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            each(self)?;
            if !self.another(b']')? {
                return Ok(());
            }
        }
    }
}

/// What a walk found: the root's shape, and what of Telegram's invalid
/// JSON it repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outline {
    pub shape: Shape,
    pub escapes: u64,
    pub unquoted_ids: u64,
}

pub fn walk<R: Read, S: Sink>(reader: R, sink: &mut S) -> Walked<Outline> {
    let mut sc = Scanner {
        src: reader,
        buf: vec![0; 1 << 20],
        pos: 0,
        end: 0,
        base: 0,
        eof: false,
        escapes: 0,
        unquoted_ids: 0,
    };
    if sc.peek()? != b'{' {
        return sc.syntax(sc.pos, "the file is not a JSON object, as every Telegram export is");
    }
    let mut shape = Shape::Neither;
    let mut chats = 0usize;
    // A one-chat export's head fields are the root's own.
    let mut head = ChatHead::default();
    sc.object(|sc, key| {
        match key.as_str() {
            "personal_information" => {
                let info: Option<PersonalInfo> = sc.parse()?;
                sink.personal(info.unwrap_or_default());
            }
            "contacts" => sc.object(|sc, k| match k.as_str() {
                "list" => sc.array(|sc| {
                    let entry: Option<PhoneEntry> = sc.parse()?;
                    sink.phone_book(entry.unwrap_or_default());
                    Ok(())
                }),
                _ => sc.skip(),
            })?,
            "chats" | "left_chats" => {
                let left = key == "left_chats";
                sc.object(|sc, k| match k.as_str() {
                    "list" => sc.array(|sc| {
                        let head = ChatHead { left, index: chats, ..Default::default() };
                        chats += 1;
                        one_chat(sc, sink, head)
                    }),
                    _ => sc.skip(),
                })?;
                shape = Shape::Account;
            }
            "name" => head.name = sc.parse()?,
            "type" => head.kind = sc.parse()?,
            "id" => head.id = sc.parse()?,
            "messages" => {
                head.index = chats;
                chats += 1;
                sink.chat(&head).map_err(WalkError::Stopped)?;
                messages(sc, sink)?;
                shape = Shape::OneChat;
            }
            _ => sc.skip()?,
        }
        Ok(())
    })?;
    // Nothing but whitespace may follow.
    match sc.peek() {
        Err(WalkError::Eof) => Ok(Outline { shape, escapes: sc.escapes, unquoted_ids: sc.unquoted_ids }),
        Ok(_) => sc.syntax(sc.pos, "more after the end of the export's JSON"),
        Err(e) => Err(e),
    }
}

fn one_chat<R: Read, S: Sink>(sc: &mut Scanner<R>, sink: &mut S, mut head: ChatHead) -> Walked<()> {
    let mut announced = false;
    sc.object(|sc, key| {
        match key.as_str() {
            "name" => head.name = sc.parse()?,
            "type" => head.kind = sc.parse()?,
            "id" => head.id = sc.parse()?,
            "messages" if !announced => {
                announced = true;
                sink.chat(&head).map_err(WalkError::Stopped)?;
                messages(sc, sink)?;
            }
            _ => sc.skip()?,
        }
        Ok(())
    })?;
    if !announced {
        // A chat without messages is still a chat.
        sink.chat(&head).map_err(WalkError::Stopped)?;
    }
    Ok(())
}

fn messages<R: Read, S: Sink>(sc: &mut Scanner<R>, sink: &mut S) -> Walked<()> {
    sc.array(|sc| {
        let m: S::Message = sc.parse()?;
        sink.message(m).map_err(WalkError::Stopped)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `n` bytes per read, so values straddle the window's refills.
    struct Dribble<'a>(&'a [u8], usize);
    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[derive(Default)]
    struct Seen(Vec<String>);
    impl Sink for Seen {
        type Message = serde_json::Value;
        fn personal(&mut self, info: PersonalInfo) {
            self.0.push(format!("owner {:?}", info.user_id.map(|i| i.0)));
        }
        fn phone_book(&mut self, e: PhoneEntry) {
            self.0.push(format!("book {:?}", e.phone_number));
        }
        fn chat(&mut self, head: &ChatHead) -> Result<(), String> {
            self.0.push(format!(
                "chat {:?} {:?} {} {}",
                head.name,
                head.id.as_ref().map(|i| &i.0),
                head.left,
                head.index
            ));
            Ok(())
        }
        fn message(&mut self, m: serde_json::Value) -> Result<(), String> {
            self.0.push(format!("message {m}"));
            Ok(())
        }
    }

    #[test]
    fn the_outline_is_followed_whatever_the_reads_cut() {
        let text = r#"{"about": "x\"}]", "personal_information": {"user_id": 7},
            "contacts": {"about": "a", "list": [{"phone_number": "+1 2"}, null]},
            "chats": {"list": [{"name": "A", "type": "personal_chat", "id": 5, "messages": [
                {"id": 1, "text": ["a\\", {"type": "bold", "text": "]"}]}, {"id": -2, "n": [[], {}]}]},
              {"name": null, "id": 6, "messages": []}]},
            "left_chats": {"list": [{"id": 9}]}, "frequent_contacts": {"list": [1, 2.5e3, true]}}
        "#;
        let want = [
            "owner Some(\"7\")",
            "book Some(\"+1 2\")",
            "book None",
            "chat Some(\"A\") Some(\"5\") false 0",
            "message {\"id\":1,\"text\":[\"a\\\\\",{\"text\":\"]\",\"type\":\"bold\"}]}",
            "message {\"id\":-2,\"n\":[[],{}]}",
            "chat None Some(\"6\") false 1",
            "chat None Some(\"9\") true 2",
        ];
        for n in [1, 2, 3, 5, 64, 1 << 20] {
            let mut seen = Seen::default();
            let outline = walk(Dribble(text.as_bytes(), n), &mut seen).unwrap();
            assert_eq!(outline.shape, Shape::Account);
            assert_eq!(seen.0, want, "reads of {n}");
        }
        let mut seen = Seen::default();
        let one = r#"{"name": "B", "type": "private_group", "id": 3, "messages": [{"id": 1}]}"#;
        assert_eq!(walk(Dribble(one.as_bytes(), 3), &mut seen).unwrap().shape, Shape::OneChat);
        assert_eq!(seen.0, ["chat Some(\"B\") Some(\"3\") false 0", "message {\"id\":1}"]);
    }

    #[test]
    fn broken_outlines_are_errors_with_their_place() {
        let cases: [(&str, fn(&WalkError) -> bool); 5] = [
            (r#"{"chats": {"list": [{"messages": [{"id": 1}"#, |e| matches!(e, WalkError::Eof)),
            (r#"{"chats": {"list": [{"messages": [{"id": 1}}]}]}}"#, |e| matches!(e, WalkError::Syntax { .. })),
            (r#"[1, 2]"#, |e| matches!(e, WalkError::Syntax { at: 0, .. })),
            (r#"{"messages": [{"id": tru}]}"#, |e| matches!(e, WalkError::Data { at: 24, .. })),
            (r#"{"a": 1} {"b": 2}"#, |e| matches!(e, WalkError::Syntax { .. })),
        ];
        for (text, ok) in cases {
            let err = walk(text.as_bytes(), &mut Seen::default()).unwrap_err();
            assert!(ok(&err), "{text}: {err:?}");
        }
    }

    fn messages_of(text: &[u8], n: usize) -> (Vec<serde_json::Value>, Outline) {
        let mut seen = Seen::default();
        let outline =
            walk(Dribble(text, n), &mut seen).unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(text)));
        let values = seen.0.iter().filter_map(|l| l.strip_prefix("message ")).map(|m| serde_json::from_str(m).unwrap());
        (values.collect(), outline)
    }

    #[test]
    fn control_characters_written_as_x_escapes_are_read_and_nothing_else_changes() {
        let text = br#"{"messages": [{"data": "a\x01b\\x02c\\\x1f", "k\x00": 1}]}"#;
        for n in [1, 2, 3, 7, 1 << 20] {
            let (m, outline) = messages_of(text, n);
            assert_eq!(m[0]["data"], "a\u{1}b\\x02c\\\u{1f}", "reads of {n}");
            assert_eq!(m[0]["k\u{0}"], 1);
            assert_eq!(outline.escapes, 3);
        }
        let valid =
            br#"{"messages": [{"a": "\"x\" \\", "b": [1, 2.5e-3, null, true, false], "document_id": "p/q.webp"}]}"#;
        let (m, outline) = messages_of(valid, 3);
        assert_eq!(m[0]["document_id"], "p/q.webp");
        assert_eq!((outline.escapes, outline.unquoted_ids), (0, 0));
    }

    #[test]
    fn an_unquoted_custom_emoji_path_is_quoted() {
        // As tdesktop#24961 shows Telegram Desktop 4.1.1 writing it.
        let text = "{\"messages\": [{\"text\": [{\n \"type\": \"custom_emoji\",\n \"text\": \"😮\",\n \"document_id\": video_files/sticker (2).webm\n},\n{\"document_id\": stickers/a\"b.webp,\n\"x\": 1}]}]}";
        for n in [1, 5, 1 << 20] {
            let (m, outline) = messages_of(text.as_bytes(), n);
            assert_eq!(m[0]["text"][0]["document_id"], "video_files/sticker (2).webm", "reads of {n}");
            assert_eq!(m[0]["text"][1]["document_id"], "stickers/a\"b.webp");
            assert_eq!(m[0]["text"][1]["x"], 1);
            assert_eq!(outline.unquoted_ids, 2);
        }
        // A bare word elsewhere is no export's: refused, not quoted.
        let err = walk(&br#"{"messages": [{"text": hello}]}"#[..], &mut Seen::default()).unwrap_err();
        assert!(matches!(err, WalkError::Data { .. }), "{err:?}");
    }

    #[test]
    fn a_string_beyond_the_cap_is_an_error_not_a_buffer() {
        let endless = std::io::Cursor::new(b"{\"messages\": [{\"text\": \"".to_vec()).chain(std::io::repeat(b'a'));
        let err = walk(endless, &mut Seen::default()).unwrap_err();
        assert!(matches!(&err, WalkError::Syntax { what, .. } if what.contains("longer than 64 MiB")), "{err:?}");
    }
}
