//! Import: a msgstore.db (modern `message` schema or legacy `messages`
//! schema, chosen by which tables and columns exist) plus wa.db names and
//! media files, streamed into the canonical model.
//!
//! Contacts and chats are few and read up front; messages are read by a
//! producer thread that owns its own connection and sends batches over a
//! bounded channel, so memory stays flat however long the history is.

mod contacts;
mod legacy;
mod media;
mod modern;

use crate::source::Source;
use chatferry_core::producer::MessageProducer;
use chatferry_core::sqlite as db;
use chatferry_core::{Chat, Contact, Error, Header, Importer, Message, Options, Report, Result, MODEL_VERSION};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use media::MediaResolver;

/// The adapter id, recorded as the source of everything imported here.
pub const SOURCE: &str = "whatsapp-android";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    Modern,
    Legacy,
}

/// Everything the message reader needs besides its connection.
pub struct Lookups {
    /// `jid._id` → address (`4915…@s.whatsapp.net`), LIDs already mapped to phone JIDs.
    pub jids: HashMap<i64, String>,
    /// `chat._id` (modern) → chat id; legacy chats are keyed by their JID already.
    pub chats: HashMap<i64, String>,
    /// Chat ids of 1:1 chats (their incoming messages' author is the chat).
    pub direct: std::collections::HashSet<String>,
    pub owner: Option<String>,
    pub media: MediaResolver,
}

/// What `read_structure` finds before any message is read.
pub struct Structure {
    pub jids: HashMap<i64, String>,
    pub chats: HashMap<i64, String>,
    pub direct: std::collections::HashSet<String>,
    pub contacts: Vec<Contact>,
    pub chat_list: Vec<Chat>,
    pub estimated: u64,
}

pub struct WaImporter {
    source: Arc<Source>,
    schema: Schema,
    header: Header,
    contacts: std::vec::IntoIter<Contact>,
    chats: std::vec::IntoIter<Chat>,
    lookups: Option<Lookups>,
    producer: Option<MessageProducer>,
    report: Arc<Mutex<Report>>,
}

impl WaImporter {
    pub fn open(input: &std::path::Path, options: &Options) -> Result<WaImporter> {
        let source = Arc::new(Source::resolve(input, options)?);
        let conn = db::open_read_only(&source.msgstore)?;
        let schema = detect_schema(&conn, &source.msgstore)?;
        let mut report = Report::new();
        let owner = chatferry_core::phone::owner_jid(options.get("owner"))?;

        let names = match &source.wa_db {
            Some(p) => contacts::read_wa_db(p)?,
            None => {
                report.note("no wa.db found: names come from the message store only (give it with --opt wa-db=PATH)");
                HashMap::new()
            }
        };
        let Structure { jids, chats, direct, contacts: contact_list, chat_list, estimated } = match schema {
            Schema::Modern => modern::read_structure(&conn, &names, owner.as_deref(), &mut report)?,
            Schema::Legacy => legacy::read_structure(&conn, &names, owner.as_deref(), &mut report)?,
        };
        let media = MediaResolver::new(source.media_root.clone());
        if source.media_root.is_none() {
            report.note("no WhatsApp Media folder found next to the database: media files are marked missing (give the WhatsApp folder, or --opt media-dir=PATH)");
        }
        let mut extras = chatferry_core::Extras::new();
        extras.insert("wa.schema".into(), format!("{schema:?}").to_lowercase());
        let header = Header {
            source_adapter: SOURCE.into(),
            model_version: MODEL_VERSION.into(),
            owner: owner.as_ref().map(|id| Contact {
                id: id.clone(),
                phone: Some(format!("+{}", id.split('@').next().unwrap_or(""))),
                nickname: modern::own_push_name(&conn),
                ..Default::default()
            }),
            estimated_messages: Some(estimated),
            extras,
        };
        Ok(WaImporter {
            source,
            schema,
            header,
            contacts: contact_list.into_iter(),
            chats: chat_list.into_iter(),
            lookups: Some(Lookups { jids, chats, direct, owner, media }),
            producer: None,
            report: Arc::new(Mutex::new(report)),
        })
    }

    fn start_producer(&mut self, batch_size: usize) {
        let lookups = self.lookups.take().expect("started once");
        let source = Arc::clone(&self.source);
        let report = Arc::clone(&self.report);
        let schema = self.schema;
        self.producer = Some(MessageProducer::spawn("whatsapp-android reader", move |send| {
            let conn = db::open_read_only(&source.msgstore)?;
            match schema {
                Schema::Modern => modern::stream_messages(&conn, &lookups, batch_size, &report, send),
                Schema::Legacy => legacy::stream_messages(&conn, &lookups, batch_size, &report, send),
            }
        }));
    }
}

fn detect_schema(conn: &rusqlite::Connection, path: &std::path::Path) -> Result<Schema> {
    let modern = db::has_table(conn, "message")
        && db::has_column(conn, "message", "chat_row_id")
        && db::has_table(conn, "jid")
        && db::has_column(conn, "jid", "raw_string")
        && db::has_table(conn, "chat")
        && db::has_column(conn, "chat", "jid_row_id");
    if modern {
        return Ok(Schema::Modern);
    }
    if db::has_table(conn, "messages") && db::has_column(conn, "messages", "key_remote_jid") {
        return Ok(Schema::Legacy);
    }
    if db::has_table(conn, "message") || db::has_table(conn, "messages") {
        return Err(Error::unsupported(format!(
            "{} has WhatsApp-like tables in a layout chatferry does not know (no message.chat_row_id with jid/chat, \
             nor messages.key_remote_jid); please report the WhatsApp version that wrote it",
            path.display()
        )));
    }
    Err(Error::bad_input(format!(
        "{} is an SQLite database but not a WhatsApp message store (it has no message or messages table)",
        path.display()
    )))
}

fn take<T>(it: &mut std::vec::IntoIter<T>, max: usize) -> Vec<T> {
    it.by_ref().take(max).collect()
}

impl Importer for WaImporter {
    fn header(&mut self) -> Result<Header> {
        Ok(self.header.clone())
    }

    fn next_contacts(&mut self, max: usize) -> Result<Vec<Contact>> {
        Ok(take(&mut self.contacts, max))
    }

    fn next_chats(&mut self, max: usize) -> Result<Vec<Chat>> {
        Ok(take(&mut self.chats, max))
    }

    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>> {
        if self.producer.is_none() {
            self.start_producer(max.max(1));
        }
        self.producer.as_mut().expect("started").next()
    }

    fn finish(&mut self) -> Result<Report> {
        if let Some(mut p) = self.producer.take() {
            p.finish()?;
        }
        let mut report = self.report.lock().map_err(|_| Error::internal("report lock poisoned"))?;
        Ok(std::mem::take(&mut *report))
    }
}

/// Builds `?, ?, …` for an IN list.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}
