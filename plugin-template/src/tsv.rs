//! The tab-separated format: three files, each with a header line naming
//! its columns. Fields are escaped (`\\`, `\t`, `\n`, `\r`); `\N` is "no
//! value". Readers find columns by header name, so columns can be added.

use chatferry_core::{
    Chat, ChatKind, Contact, Error, Exporter, Header, Importer, Message, MessageKind, Options, Participant, Report,
    Result, MODEL_VERSION,
};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

const CONTACTS: &str = "contacts.tsv";
const CHATS: &str = "chats.tsv";
const MESSAGES: &str = "messages.tsv";
const CONTACT_COLUMNS: &[&str] = &["id", "name", "nickname", "phone"];
const CHAT_COLUMNS: &[&str] = &["id", "kind", "title", "participants"];
const MESSAGE_COLUMNS: &[&str] = &["chat", "id", "timestamp_ms", "from_me", "sender", "kind", "text", "reply_to"];

pub fn probe(path: &Path) -> u8 {
    let Ok(file) = chatferry_core::small_file::open_regular(path.join(MESSAGES)) else {
        return 0;
    };
    let mut first = String::new();
    if BufReader::new(file).read_line(&mut first).is_err() {
        return 0;
    }
    if first.starts_with("chat\tid\ttimestamp_ms\t") && path.join(CHATS).is_file() {
        90
    } else {
        0
    }
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            ',' => out.push_str("\\,"),
            c => out.push(c),
        }
    }
}

fn field(value: Option<&str>) -> String {
    let mut out = String::new();
    match value {
        None => out.push_str("\\N"),
        Some(s) => escape(s, &mut out),
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    if s == "\\N" {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// A list inside one field: items joined by unescaped commas.
fn split_list(s: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            items.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    items.iter().filter_map(|i| unescape(i)).collect()
}

fn kind_from<T: std::str::FromStr<Err = String>>(name: &str, file: &str, line: u64) -> Result<T> {
    name.parse().map_err(|e| Error::bad_input(format!("{file} line {line}: {e}")))
}

/// Reads one TSV file row by row, by column name.
struct Rows {
    name: &'static str,
    reader: BufReader<File>,
    columns: Vec<String>,
    line: u64,
}

impl Rows {
    fn open(dir: &Path, name: &'static str, required: &[&str]) -> Result<Rows> {
        let path = dir.join(name);
        let file = chatferry_core::small_file::open_regular(&path)
            .map_err(|e| Error::bad_input(format!("cannot open {}: {e}", path.display())))?;
        let mut reader = BufReader::new(file);
        let mut header = String::new();
        reader.read_line(&mut header).map_err(|e| Error::io(&path, "read", e))?;
        let columns: Vec<String> = header.trim_end_matches(['\n', '\r']).split('\t').map(String::from).collect();
        for r in required {
            if !columns.iter().any(|c| c == r) {
                return Err(Error::bad_input(format!("{} has no column {r:?} in its header line", path.display())));
            }
        }
        Ok(Rows { name, reader, columns, line: 1 })
    }

    /// The next row as (column → raw field), or None at the end.
    fn next_row(&mut self) -> Result<Option<Row>> {
        let mut text = String::new();
        loop {
            text.clear();
            let n = self
                .reader
                .read_line(&mut text)
                .map_err(|e| Error::bad_input(format!("cannot read {} after line {}: {e}", self.name, self.line)))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let t = text.trim_end_matches(['\n', '\r']);
            if t.is_empty() {
                continue;
            }
            let fields: Vec<String> = t.split('\t').map(String::from).collect();
            if fields.len() != self.columns.len() {
                return Err(Error::bad_input(format!(
                    "{} line {} has {} fields; the header has {}",
                    self.name,
                    self.line,
                    fields.len(),
                    self.columns.len()
                )));
            }
            return Ok(Some(Row { columns: self.columns.clone(), fields, file: self.name, line: self.line }));
        }
    }
}

struct Row {
    columns: Vec<String>,
    fields: Vec<String>,
    file: &'static str,
    line: u64,
}

impl Row {
    fn raw(&self, col: &str) -> &str {
        let i = self.columns.iter().position(|c| c == col).expect("required column checked at open");
        &self.fields[i]
    }
    fn opt(&self, col: &str) -> Option<String> {
        unescape(self.raw(col))
    }
    fn text(&self, col: &str) -> String {
        self.opt(col).unwrap_or_default()
    }
    fn number(&self, col: &str) -> Result<i64> {
        self.raw(col).parse().map_err(|_| {
            Error::bad_input(format!("{} line {}: {col} {:?} is not a number", self.file, self.line, self.raw(col)))
        })
    }
}

pub struct TsvImporter {
    contacts: Rows,
    chats: Rows,
    messages: Rows,
}

impl TsvImporter {
    pub fn open(dir: &Path) -> Result<TsvImporter> {
        Ok(TsvImporter {
            contacts: Rows::open(dir, CONTACTS, CONTACT_COLUMNS)?,
            chats: Rows::open(dir, CHATS, CHAT_COLUMNS)?,
            messages: Rows::open(dir, MESSAGES, MESSAGE_COLUMNS)?,
        })
    }
}

impl Importer for TsvImporter {
    fn header(&mut self) -> Result<Header> {
        Ok(Header {
            source_adapter: crate::ADAPTER_ID.into(),
            model_version: MODEL_VERSION.into(),
            ..Default::default()
        })
    }

    fn next_contacts(&mut self, max: usize) -> Result<Vec<Contact>> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(row) = self.contacts.next_row()? else {
                break;
            };
            out.push(Contact {
                id: row.text("id"),
                name: row.opt("name"),
                nickname: row.opt("nickname"),
                phone: row.opt("phone"),
                ..Default::default()
            });
        }
        Ok(out)
    }

    fn next_chats(&mut self, max: usize) -> Result<Vec<Chat>> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(row) = self.chats.next_row()? else {
                break;
            };
            out.push(Chat {
                id: row.text("id"),
                kind: kind_from::<ChatKind>(&row.text("kind"), row.file, row.line)?,
                title: row.opt("title"),
                participants: split_list(row.raw("participants"))
                    .into_iter()
                    .map(|contact| Participant { contact, ..Default::default() })
                    .collect(),
                ..Default::default()
            });
        }
        Ok(out)
    }

    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(row) = self.messages.next_row()? else {
                break;
            };
            out.push(Message {
                chat: row.text("chat"),
                id: row.text("id"),
                timestamp_ms: row.number("timestamp_ms")?,
                from_me: row.raw("from_me") == "1",
                sender: row.opt("sender"),
                kind: kind_from::<MessageKind>(&row.text("kind"), row.file, row.line)?,
                text: row.opt("text"),
                reply_to: row.opt("reply_to"),
                ..Default::default()
            });
        }
        Ok(out)
    }
}

struct Writer {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Writer {
    fn create(dir: &Path, name: &str, columns: &[&str]) -> Result<Writer> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| Error::io(&path, "create", e))?;
        let mut w = Writer { path, out: BufWriter::new(file) };
        w.line(&columns.iter().map(|c| c.to_string()).collect::<Vec<_>>())?;
        Ok(w)
    }
    fn line(&mut self, fields: &[String]) -> Result<()> {
        let text = fields.join("\t");
        writeln!(self.out, "{text}").map_err(|e| Error::io(&self.path, "write", e))
    }
    fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, "write", e))
    }
}

pub struct TsvExporter {
    contacts: Option<Writer>,
    chats: Option<Writer>,
    messages: Option<Writer>,
    iso_times: bool,
    messages_written: u64,
    report: Report,
}

impl TsvExporter {
    pub fn create(dir: &Path, options: &Options) -> Result<TsvExporter> {
        let iso_times = match options.get("time-format") {
            None | Some("ms") => false,
            Some("iso") => true,
            Some(other) => {
                return Err(Error::usage(format!("time-format must be `ms` or `iso`, not {other:?}")));
            }
        };
        std::fs::create_dir(dir).map_err(|e| Error::io(dir, "create", e))?;
        let mut message_columns = MESSAGE_COLUMNS.to_vec();
        if iso_times {
            message_columns.push("time_utc");
        }
        Ok(TsvExporter {
            contacts: Some(Writer::create(dir, CONTACTS, CONTACT_COLUMNS)?),
            chats: Some(Writer::create(dir, CHATS, CHAT_COLUMNS)?),
            messages: Some(Writer::create(dir, MESSAGES, &message_columns)?),
            iso_times,
            messages_written: 0,
            report: Report::new(),
        })
    }
}

fn finished() -> Error {
    Error::internal("the TSV exporter was used after finish()")
}

/// TSV holds text only: everything else is written as a line describing it.
fn describe(m: &Message) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(media) = &m.media {
        let what = media.file_name.clone().or(media.mime.clone()).unwrap_or_else(|| "file".into());
        parts.push(format!("[{}: {what}]", m.kind));
        parts.extend(media.caption.clone());
    } else if m.kind != MessageKind::Text {
        parts.push(format!("[{}]", m.kind));
    }
    if let Some(l) = &m.location {
        parts.push(format!("{}, {}", l.latitude, l.longitude));
        parts.extend(l.name.clone());
    }
    if let Some(s) = &m.system {
        parts.push(s.action.clone());
        parts.extend(s.value.clone());
    }
    if let Some(p) = &m.payment {
        parts.push(format!(
            "{} {} {}",
            p.kind,
            p.amount.as_deref().unwrap_or("?"),
            p.currency.as_deref().unwrap_or("")
        ));
    }
    if let Some(link) = &m.link {
        parts.push(link.url.clone());
    }
    parts.extend(m.text.clone());
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" "))
    }
}

impl Exporter for TsvExporter {
    fn begin(&mut self, _header: &Header) -> Result<()> {
        Ok(())
    }

    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        let w = self.contacts.as_mut().ok_or_else(finished)?;
        for c in batch {
            w.line(&[
                field(Some(&c.id)),
                field(c.name.as_deref()),
                field(c.nickname.as_deref()),
                field(c.phone.as_deref()),
            ])?;
        }
        Ok(())
    }

    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        let w = self.chats.as_mut().ok_or_else(finished)?;
        for c in batch {
            let participants: Vec<String> = c.participants.iter().map(|p| field(Some(&p.contact))).collect();
            w.line(&[
                field(Some(&c.id)),
                c.kind.as_str().to_string(),
                field(c.title.as_deref()),
                participants.join(","),
            ])?;
        }
        Ok(())
    }

    fn write_messages(&mut self, batch: Vec<Message>) -> Result<()> {
        let w = self.messages.as_mut().ok_or_else(finished)?;
        for m in batch {
            // TSV keeps a message's text, sender, time and reply link; anything
            // more (reactions, quotes, edit marks, flags, native extras) is lost,
            // and that is counted, never silent. Delivery status is kept for no
            // message: said once in a note at the end.
            let plain = m.kind == MessageKind::Text
                && m.media.is_none()
                && m.reactions.is_empty()
                && m.quoted_text.is_none()
                && !(m.edited || m.starred || m.forwarded || m.view_once)
                && m.extras.is_empty();
            let text = if m.kind == MessageKind::Text { m.text.clone() } else { describe(&m) };
            let mut fields = vec![
                field(Some(&m.chat)),
                field(Some(&m.id)),
                m.timestamp_ms.to_string(),
                if m.from_me { "1".into() } else { "0".into() },
                field(m.sender.as_deref()),
                m.kind.as_str().to_string(),
                field(text.as_deref()),
                field(m.reply_to.as_deref()),
            ];
            if self.iso_times {
                fields.push(chatferry_core::time::format_utc(m.timestamp_ms));
            }
            w.line(&fields)?;
            if plain {
                self.report.native(m.kind);
            } else if m.kind == MessageKind::Text {
                self.report.downgraded(
                    m.kind,
                    "TSV keeps no reactions, quotes, edit marks or flags; text written without them",
                );
            } else {
                self.report.downgraded(m.kind, "TSV holds text only; written as a text line describing it");
            }
            self.messages_written += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Report> {
        for w in [self.contacts.take(), self.chats.take(), self.messages.take()] {
            w.ok_or_else(finished)?.finish()?;
        }
        if self.messages_written > 0 {
            self.report.note("TSV does not keep delivery status (sent, delivered, read)");
        }
        Ok(std::mem::take(&mut self.report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        for s in ["plain", "tab\there", "two\nlines\r\n", "back\\slash", "a,b", "\\N literal", "多行 مرحبا 👋"]
        {
            assert_eq!(unescape(&field(Some(s))), Some(s.to_string()), "{s:?}");
        }
        assert_eq!(unescape(&field(None)), None);
        assert_eq!(split_list(&[field(Some("a,b")), field(Some("c"))].join(",")), vec!["a,b", "c"]);
    }
}
