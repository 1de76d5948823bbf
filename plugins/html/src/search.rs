//! The offline search index: every message's words as tokens, written into
//! `search/<shard>.js` files a page loads with `<script>` (browsers refuse
//! `fetch` on `file://`), so a search loads only the shards of its words.
//!
//! Tokens (the same rules are in `app.js`, `tokens()`): runs of letters and
//! digits, lower-cased; CJK text (which has no spaces) as each character and
//! each pair of neighbours, so any word of two or more characters is found by
//! its pairs; each emoji on its own. A posting is a chat and the message's
//! position in it (`#m<position>` on its page): positions are small and
//! ascending, so they are written as base-36 differences.
//!
//! Memory stays flat: while pages are written, (token, chat, position)
//! lines go to one temporary file per shard; at the end each shard alone is
//! read, grouped and written.

use chatferry_core::digits::decimal;
use chatferry_core::{Error, Message, Result};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How many shard files: a search for one word loads one of them.
pub const SHARDS: u32 = 64;
/// A chat's buffered lines for one shard are handed over past this size.
const FLUSH_AT: usize = 64 << 10;

/// CJK scripts: no spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x3040..=0x30FF | 0x3130..=0x318F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Emoji and pictographs, each a token of its own.
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF | 0x2190..=0x21FF
        | 0x25A0..=0x25FF | 0x2934..=0x2935 | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x00A9 | 0x00AE | 0x203C
        | 0x2049 | 0x2122 | 0x2139)
        && !(0x1F3FB..=0x1F3FF).contains(&(c as u32)) // skin tones modify the emoji before them
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// The tokens of `text`, each once, in the order they first appear.
#[cfg(test)]
pub fn tokens(text: &str, out: &mut Vec<String>) {
    let (mut buf, mut spans) = (String::new(), Vec::new());
    token_spans(text, &mut buf, &mut spans);
    let mut seen = std::collections::HashSet::new();
    for (a, b) in spans {
        let t = &buf[a..b];
        if seen.insert(t) {
            out.push(t.to_string());
        }
    }
}

/// The tokens of `text` written one after another into `buf`, each as a
/// `(start, end)` span of it, duplicates included: no allocation per token
/// once the buffers have grown (the index tokenizes every message).
fn token_spans(text: &str, buf: &mut String, spans: &mut Vec<(usize, usize)>) {
    buf.clear();
    spans.clear();
    let mut word_start: Option<usize> = None;
    // The CJK run so far: its previous character.
    let mut prev_cjk: Option<char> = None;
    let push = |buf: &mut String, spans: &mut Vec<(usize, usize)>, s: &[char]| {
        let start = buf.len();
        s.iter().for_each(|c| buf.push(*c));
        spans.push((start, buf.len()));
    };
    let end_word = |buf: &mut String, spans: &mut Vec<(usize, usize)>, word_start: &mut Option<usize>| {
        if let Some(start) = word_start.take() {
            spans.push((start, buf.len()));
        }
    };
    for c in text.chars() {
        if is_word(c) {
            prev_cjk = None;
            if word_start.is_none() {
                word_start = Some(buf.len());
            }
            buf.extend(c.to_lowercase());
            continue;
        }
        end_word(buf, spans, &mut word_start);
        if is_cjk(c) {
            push(buf, spans, &[c]);
            if let Some(p) = prev_cjk {
                push(buf, spans, &[p, c]);
            }
            prev_cjk = Some(c);
            continue;
        }
        prev_cjk = None;
        if is_emoji(c) {
            push(buf, spans, &[c]);
        }
    }
    end_word(buf, spans, &mut word_start);
    spans.retain(|(a, b)| b - a <= 64);
}

/// FNV-1a (32 bits) over UTF-8 bytes.
pub fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x01000193))
}

/// The shard a token's postings are in (`app.js` computes the same).
pub fn shard_of(token: &str) -> u32 {
    fnv1a(token) % SHARDS
}

/// What a message is found by: its text and what else a person reads in it.
pub fn searchable(m: &Message, out: &mut String) {
    out.clear();
    let mut add = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    if let Some(t) = &m.text {
        add(t);
    }
    if let Some(md) = &m.media {
        md.caption.as_deref().into_iter().chain(md.file_name.as_deref()).for_each(&mut add);
    }
    if let Some(l) = &m.link {
        l.title.as_deref().into_iter().chain(l.description.as_deref()).for_each(&mut add);
    }
    if let Some(l) = &m.location {
        l.name.as_deref().into_iter().chain(l.address.as_deref()).for_each(&mut add);
    }
    if let Some(c) = &m.contact_card {
        c.name.as_deref().into_iter().for_each(&mut add);
    }
    if let Some(p) = &m.poll {
        add(&p.question);
        p.options.iter().for_each(|o| add(&o.text));
    }
    if let Some(e) = &m.event {
        add(&e.name);
        [&e.description, &e.place, &e.address].into_iter().flatten().for_each(|t| add(t));
    }
}

/// The shards' temporary files, shared by the page-writing threads.
pub struct Postings {
    dir: PathBuf,
    files: Mutex<Vec<BufWriter<File>>>,
}

impl Postings {
    pub fn new(dir: &Path) -> Result<Postings> {
        let mut files = Vec::new();
        for s in 0..SHARDS {
            let p = dir.join(format!("shard-{s}.tsv"));
            files.push(BufWriter::new(File::create(&p).map_err(|e| Error::io(&p, "create", e))?));
        }
        Ok(Postings { dir: dir.to_path_buf(), files: Mutex::new(files) })
    }

    /// A chat's postings, gathered per shard while its pages are written.
    pub fn for_chat(&self, chat: usize) -> ChatPostings<'_> {
        ChatPostings {
            to: self,
            chat,
            buffers: (0..SHARDS).map(|_| Vec::new()).collect(),
            token_buf: String::new(),
            spans: Vec::new(),
            text: String::new(),
        }
    }

    fn hand_over(&self, shard: usize, bytes: &mut Vec<u8>) -> Result<()> {
        let mut files = self.files.lock().map_err(|_| Error::internal("search index lock poisoned"))?;
        files[shard].write_all(bytes).map_err(|e| Error::io(&self.dir, "write", e))?;
        bytes.clear();
        Ok(())
    }

    /// Writes `search/<shard>.js` for every shard into `out`; returns their total size.
    pub fn finish(self, out: &Path) -> Result<u64> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, "create", e))?;
        let files = self.files.into_inner().map_err(|_| Error::internal("search index lock poisoned"))?;
        for f in files {
            f.into_inner().map_err(|e| Error::io(&self.dir, "write", e.into_error()))?;
        }
        let mut total = 0;
        for s in 0..SHARDS {
            let src = self.dir.join(format!("shard-{s}.tsv"));
            // token → (chat, position), looked up before inserting: one
            // allocation per token, not per posting.
            let mut index: HashMap<String, Vec<(u32, u64)>> = HashMap::new();
            let reader = BufReader::new(File::open(&src).map_err(|e| Error::io(&src, "read", e))?);
            for line in reader.lines() {
                let line = line.map_err(|e| Error::io(&src, "read", e))?;
                let mut parts = line.rsplitn(3, '\t');
                let (Some(pos), Some(chat), Some(token)) = (parts.next(), parts.next(), parts.next()) else { continue };
                let (Ok(pos), Ok(chat)) = (pos.parse::<u64>(), chat.parse::<u32>()) else { continue };
                match index.get_mut(token) {
                    Some(list) => list.push((chat, pos)),
                    None => {
                        index.insert(token.to_string(), vec![(chat, pos)]);
                    }
                }
            }
            std::fs::remove_file(&src).map_err(|e| Error::io(&src, "remove", e))?;
            let mut tokens: Vec<(String, Vec<(u32, u64)>)> = index.into_iter().collect();
            tokens.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let mut js = format!("chatferry.shard({s},{{");
            for (i, (token, mut postings)) in tokens.into_iter().enumerate() {
                postings.sort_unstable();
                if i > 0 {
                    js.push(',');
                }
                js.push_str(&serde_json::to_string(&token).expect("a string"));
                js.push_str(":\"");
                let mut last: Option<(u32, u64)> = None;
                for (chat, pos) in postings {
                    match last {
                        Some((c, p)) if c == chat => {
                            js.push(',');
                            push_base36(&mut js, pos - p);
                        }
                        _ => {
                            if last.is_some() {
                                js.push(' ');
                            }
                            push_base36(&mut js, u64::from(chat));
                            js.push(':');
                            push_base36(&mut js, pos);
                        }
                    }
                    last = Some((chat, pos));
                }
                js.push('"');
            }
            js.push_str("});\n");
            let path = out.join(format!("{s}.js"));
            std::fs::write(&path, &js).map_err(|e| Error::io(&path, "write", e))?;
            total += js.len() as u64;
        }
        Ok(total)
    }
}

/// One chat's postings on their way to the shards.
pub struct ChatPostings<'a> {
    to: &'a Postings,
    chat: usize,
    buffers: Vec<Vec<u8>>,
    token_buf: String,
    spans: Vec<(usize, usize)>,
    text: String,
}

impl ChatPostings<'_> {
    /// Indexes message number `position` of the chat.
    pub fn add(&mut self, position: u64, m: &Message) -> Result<()> {
        searchable(m, &mut self.text);
        token_spans(&self.text, &mut self.token_buf, &mut self.spans);
        let buf = &self.token_buf;
        self.spans.sort_unstable_by(|a, b| buf[a.0..a.1].cmp(&buf[b.0..b.1]));
        self.spans.dedup_by(|a, b| buf[a.0..a.1] == buf[b.0..b.1]);
        let (mut chat, mut pos) = ([0u8; 20], [0u8; 20]);
        let chat = decimal(self.chat as i64, &mut chat).to_string();
        let pos = decimal(position as i64, &mut pos);
        for &(a, b) in &self.spans {
            let t = &buf[a..b];
            if t.contains(['\t', '\n']) {
                continue;
            }
            let s = shard_of(t) as usize;
            let line = &mut self.buffers[s];
            line.extend_from_slice(t.as_bytes());
            line.push(b'\t');
            line.extend_from_slice(chat.as_bytes());
            line.push(b'\t');
            line.extend_from_slice(pos.as_bytes());
            line.push(b'\n');
            if line.len() >= FLUSH_AT {
                self.to.hand_over(s, line)?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        for s in 0..self.buffers.len() {
            if !self.buffers[s].is_empty() {
                let mut b = std::mem::take(&mut self.buffers[s]);
                self.to.hand_over(s, &mut b)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub fn base36(n: u64) -> String {
    let mut out = String::new();
    push_base36(&mut out, n);
    out
}

/// `n` in base 36 (lower case) appended to `out`.
pub fn push_base36(out: &mut String, mut n: u64) {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut digits = [0u8; 13];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = DIGITS[(n % 36) as usize];
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        tokens(s, &mut v);
        v
    }

    #[test]
    fn words_cjk_pairs_and_emoji() {
        assert_eq!(toks("Hello, WORLD! hello"), ["hello", "world"]);
        assert_eq!(toks("今天晚上"), ["今", "天", "今天", "晚", "天晚", "上", "晚上"]);
        assert_eq!(toks("مرحبا بالجميع"), ["مرحبا", "بالجميع"]);
        assert_eq!(toks("ok🍜👍🏽"), ["ok", "🍜", "👍"]);
        assert_eq!(toks("Straße 2024"), ["straße", "2024"]);
        assert_eq!(toks("吃饭吗？🍜"), ["吃", "饭", "吃饭", "吗", "饭吗", "🍜"]);
        assert_eq!(toks("a今b"), ["a", "今", "b"], "a word ends a CJK run and back");
        assert_eq!(shard_of("hello"), shard_of("hello"));
        assert_eq!(base36(0), "0");
        assert_eq!(base36(36 * 36 + 35), "10z");
        assert_eq!(base36(u64::MAX), "3w5e11264sgsf");
    }
}
