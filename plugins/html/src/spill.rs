//! Messages wait in one temporary JSON-lines file per chat until the end,
//! when each chat is rendered page by page: memory stays flat and the
//! stream does not have to be ordered by chat.

use chatferry_core::{Error, Message, Result};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct ChatStats {
    pub index: usize,
    pub count: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

pub struct Spill {
    dir: tempfile::TempDir,
    pub stats: HashMap<String, ChatStats>,
}

impl Spill {
    pub fn new() -> Result<Spill> {
        let dir = tempfile::Builder::new()
            .prefix("chatferry-html-")
            .tempdir()
            .map_err(|e| Error::io(std::path::Path::new("temporary folder"), "create", e))?;
        Ok(Spill { dir, stats: HashMap::new() })
    }

    /// The private folder the spill files are in (the search index's
    /// temporary shards go there too).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn path(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("{index}.jsonl"))
    }

    /// The ids a chat's replies quote, one per line: rendering needs them
    /// before it meets the quoted messages, and reading them here spares a
    /// second pass over the chat's messages.
    fn replies_path(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("{index}.replies"))
    }

    /// Index of a chat, numbered in the order chats are first seen.
    pub fn chat_index(&mut self, chat: &str) -> usize {
        let next = self.stats.len();
        self.stats.entry(chat.to_string()).or_insert_with(|| ChatStats { index: next, ..Default::default() }).index
    }

    /// Appends a batch (grouped by chat so each file is opened once a batch).
    pub fn append(&mut self, batch: &[Message]) -> Result<()> {
        let mut by_chat: Vec<(&str, Vec<&Message>)> = Vec::new();
        for m in batch {
            match by_chat.iter_mut().find(|(c, _)| *c == m.chat) {
                Some((_, v)) => v.push(m),
                None => by_chat.push((&m.chat, vec![m])),
            }
        }
        for (chat, messages) in by_chat {
            let index = self.chat_index(chat);
            let path = self.path(index);
            let file =
                OpenOptions::new().create(true).append(true).open(&path).map_err(|e| Error::io(&path, "write", e))?;
            let mut w = BufWriter::new(file);
            let replies = self.replies_path(index);
            let mut quoted = String::new();
            let stats = self.stats.get_mut(chat).expect("indexed");
            for m in messages {
                if let Some(r) = &m.reply_to {
                    // A JSON string a line: any id, line breaks included, reads back as it was.
                    quoted.push_str(
                        &serde_json::to_string(r)
                            .map_err(|e| Error::internal(format!("spilling a reply's id: {e}")))?,
                    );
                    quoted.push('\n');
                }
                serde_json::to_writer(&mut w, m).map_err(|e| Error::internal(format!("spilling a message: {e}")))?;
                w.write_all(b"\n").map_err(|e| Error::io(&path, "write", e))?;
                stats.count += 1;
                stats.first_ms = Some(stats.first_ms.map_or(m.timestamp_ms, |t| t.min(m.timestamp_ms)));
                stats.last_ms = Some(stats.last_ms.map_or(m.timestamp_ms, |t| t.max(m.timestamp_ms)));
            }
            w.flush().map_err(|e| Error::io(&path, "write", e))?;
            if !quoted.is_empty() {
                let mut f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&replies)
                    .map_err(|e| Error::io(&replies, "write", e))?;
                f.write_all(quoted.as_bytes()).map_err(|e| Error::io(&replies, "write", e))?;
            }
        }
        Ok(())
    }

    /// The ids the replies in a chat quote.
    pub fn quoted_ids(&self, index: usize) -> Result<std::collections::HashSet<String>> {
        let path = self.replies_path(index);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
            Err(e) => return Err(Error::io(&path, "read", e)),
        };
        text.lines()
            .map(|l| serde_json::from_str(l).map_err(|e| Error::internal(format!("reading back a reply's id: {e}"))))
            .collect()
    }

    /// Reads a chat's messages back in the order they came.
    pub fn read(&self, index: usize) -> Result<impl Iterator<Item = Result<Message>>> {
        let path = self.path(index);
        let file = match File::open(&path) {
            Ok(f) => Some(BufReader::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&path, "read", e)),
        };
        Ok(file.into_iter().flat_map(|f| f.lines()).map(move |line| {
            let line = line.map_err(|e| Error::io(&path, "read", e))?;
            serde_json::from_str(&line).map_err(|e| Error::internal(format!("reading back a spilled message: {e}")))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_ids_come_back_exactly_per_chat() {
        let mut spill = Spill::new().unwrap();
        let msg = |id: &str, chat: &str, reply: Option<&str>| Message {
            id: id.into(),
            chat: chat.into(),
            reply_to: reply.map(String::from),
            ..Default::default()
        };
        let odd = "line\nbreak \\n \"quoted\" 引用";
        spill
            .append(&[
                msg("1", "a", None),
                msg("2", "a", Some("1")),
                msg("3", "b", Some(odd)),
                msg("4", "a", Some("1")),
            ])
            .unwrap();
        spill.append(&[msg("5", "a", Some("4"))]).unwrap();
        let a = spill.chat_index("a");
        let b = spill.chat_index("b");
        assert_eq!(spill.quoted_ids(a).unwrap(), ["1", "4"].map(String::from).into());
        assert_eq!(spill.quoted_ids(b).unwrap(), [odd.to_string()].into());
        assert_eq!(spill.read(a).unwrap().map(|m| m.unwrap().id).collect::<Vec<_>>(), ["1", "2", "4", "5"]);
    }
}
