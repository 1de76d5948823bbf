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

    fn path(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("{index}.jsonl"))
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
            let stats = self.stats.get_mut(chat).expect("indexed");
            for m in messages {
                serde_json::to_writer(&mut w, m).map_err(|e| Error::internal(format!("spilling a message: {e}")))?;
                w.write_all(b"\n").map_err(|e| Error::io(&path, "write", e))?;
                stats.count += 1;
                stats.first_ms = Some(stats.first_ms.map_or(m.timestamp_ms, |t| t.min(m.timestamp_ms)));
                stats.last_ms = Some(stats.last_ms.map_or(m.timestamp_ms, |t| t.max(m.timestamp_ms)));
            }
            w.flush().map_err(|e| Error::io(&path, "write", e))?;
        }
        Ok(())
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
