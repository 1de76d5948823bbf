//! Import: a msgstore.db (modern `message` schema, legacy `messages`
//! schema, or the transitional stores of 2020–2021 that have both, chosen by
//! which tables, columns and rows exist) plus wa.db names and media files,
//! streamed into the canonical model.
//!
//! Contacts and chats are few and read up front; messages are read by a
//! producer thread that owns its own connection and sends batches over a
//! bounded channel, so memory stays flat however long the history is.

mod business;
mod cards;
mod contacts;
mod legacy;
mod media;
mod modern;
mod polls_events;
mod side;

use crate::source::Source;
use chatferry_core::producer::{Finishing, Reader, StreamedImporter};
use chatferry_core::sqlite as db;
use chatferry_core::{Chat, Contact, Error, Header, Options, Report, Result, MODEL_VERSION};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

pub use media::MediaResolver;

/// The adapter id, recorded as the source of everything imported here.
pub const SOURCE: &str = "whatsapp-android";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    Modern,
    Legacy,
    /// Both tables, the history (or part of it) still in the legacy one:
    /// WhatsApp phones of 2020–2021 kept writing `messages` while `message`
    /// held only its placeholder row. Each message is read once: the rows
    /// `message` has, plus the legacy rows it lacks (by chat, from_me, key_id).
    Transitional,
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
    /// Rows in the message table (sizes the side tables' id bitmaps).
    pub message_count: u64,
    /// `chat._id` → the first of the chats it is joined with (one person's
    /// chats under their phone number and their LID); only joined chats.
    pub joined: HashMap<i64, i64>,
    /// `jid._id` of LIDs read as a phone JID (to count such senders).
    pub lid_rows: HashSet<i64>,
    /// `--opt statuses=keep`: the Status feed read as a broadcast chat.
    pub keep_statuses: bool,
}

/// What `read_structure` finds before any message is read.
pub struct Structure {
    pub jids: HashMap<i64, String>,
    pub chats: HashMap<i64, String>,
    pub direct: std::collections::HashSet<String>,
    pub contacts: Vec<Contact>,
    pub chat_list: Vec<Chat>,
    pub estimated: u64,
    pub joined: HashMap<i64, i64>,
    pub lid_rows: HashSet<i64>,
}

/// Opens the store (decrypting or copying it first when needed): names,
/// chats and contacts now; messages stream from a reader thread.
pub fn open(input: &std::path::Path, options: &Options) -> Result<StreamedImporter> {
    let source = Arc::new(Source::resolve(input, options)?);
    let conn = db::open_read_only(&source.msgstore)?;
    let schema = detect_schema(&conn, &source.msgstore)?;
    let mut report = Report::new();
    for note in &source.notes {
        report.note(note.clone());
    }
    let owner = chatferry_core::phone::owner_jid(options.get("owner"), options.get("region"))?;

    let names = match &source.wa_db {
        Some(p) => contacts::read_wa_db(p)?,
        None => {
            report.note("no wa.db found: names come from the message store only (give it with --opt wa-db=PATH)");
            HashMap::new()
        }
    };
    let keep_statuses = match options.get("statuses") {
        None | Some("leave-out") => false,
        Some("keep") => true,
        Some(other) => {
            return Err(Error::usage(format!("--opt statuses={other}: give statuses=keep or statuses=leave-out")))
        }
    };
    note_rows_that_are_not_messages(&conn, keep_statuses, &mut report);
    let structure = match schema {
        Schema::Modern => {
            modern::read_structure(&conn, &names, owner.as_deref(), &HashSet::new(), keep_statuses, &mut report)?
        }
        Schema::Legacy => legacy::read_structure(&conn, &names, owner.as_deref(), keep_statuses)?,
        Schema::Transitional => transitional_structure(&conn, &names, owner.as_deref(), keep_statuses, &mut report)?,
    };
    let Structure { jids, chats, direct, contacts: contact_list, chat_list, estimated, joined, lid_rows } = structure;
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
    let lookups = Lookups { jids, chats, direct, owner, message_count: estimated, joined, lid_rows, keep_statuses };
    let reader: Reader = Box::new(move |size, report, send| {
        let conn = db::open_read_only(&source.msgstore)?;
        match schema {
            Schema::Modern => modern::stream_messages(&conn, &lookups, size, report, send),
            Schema::Legacy => legacy::stream_messages(&conn, &lookups, size, report, false, send),
            Schema::Transitional => {
                modern::stream_messages(&conn, &lookups, size, report, send)?;
                legacy::stream_messages(&conn, &lookups, size, report, true, send)
            }
        }
    });
    // Media files are looked for in the finishing step, off the reader
    // when the reader is the slower side (a stat per media message was a
    // sixth of its time). The reader keeps each file's store path in the
    // message's `wa.file_path`.
    let locate: Finishing = Arc::new(move |m: &mut chatferry_core::Message, report: &mut Report| {
        if let Some(found) = &mut m.media {
            media.locate(&m.id, m.extras.get(FILE_PATH).map(String::as_str), found, report);
        }
    });
    Ok(StreamedImporter::new("whatsapp-android reader", header, contact_list, chat_list, report, reader)
        .finishing_each(locate))
}

/// The extras key holding a media message's file path as the store has it.
pub const FILE_PATH: &str = "wa.file_path";

/// The legacy rows that are messages: not the placeholder row (chat `-1`),
/// not an expired status update (`status@broadcast` with no time: WhatsApp
/// keeps such rows but shows nothing for them).
pub const LEGACY_LIVE: &str =
    "key_remote_jid <> '-1' AND NOT (key_remote_jid = 'status@broadcast' AND COALESCE(timestamp, 0) = 0)";

/// The legacy rows read: [`LEGACY_LIVE`], without the Status feed unless it is kept.
pub fn legacy_read(keep_statuses: bool) -> String {
    if keep_statuses {
        LEGACY_LIVE.to_string()
    } else {
        format!("{LEGACY_LIVE} AND key_remote_jid <> 'status@broadcast'")
    }
}

/// Counts, for the report, the rows of either message table that are not
/// messages and so are not imported.
fn note_rows_that_are_not_messages(conn: &rusqlite::Connection, keep_statuses: bool, report: &mut Report) {
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0) };
    let mut placeholders = 0;
    if db::has_table(conn, "message") && db::has_table(conn, "chat") && db::has_column(conn, "message", "chat_row_id") {
        placeholders += count("SELECT count(*) FROM message WHERE chat_row_id NOT IN (SELECT _id FROM chat)");
    }
    if db::has_table(conn, "messages") && db::has_column(conn, "messages", "key_remote_jid") {
        placeholders += count("SELECT count(*) FROM messages WHERE key_remote_jid = '-1'");
        let expired = count(
            "SELECT count(*) FROM messages WHERE key_remote_jid = 'status@broadcast' AND COALESCE(timestamp, 0) = 0",
        );
        let statuses = if keep_statuses {
            0
        } else {
            count("SELECT count(*) FROM messages WHERE key_remote_jid = 'status@broadcast' AND COALESCE(timestamp, 0) <> 0")
        };
        if statuses > 0 {
            report.note(modern::status_note(statuses as u64));
        }
        if expired > 0 {
            report.note(format!(
                "{} in the legacy `messages` table (status@broadcast rows without a time, which WhatsApp no \
                 longer shows) {} not imported",
                chatferry_core::text_form::counted(expired as u64, "expired status update", "expired status updates"),
                if expired == 1 { "was" } else { "were" }
            ));
        }
    }
    if placeholders > 0 {
        report.note(format!(
            "{} of the message tables (WhatsApp's own bookkeeping, in no chat) {} not imported",
            chatferry_core::text_form::counted(placeholders as u64, "placeholder row", "placeholder rows"),
            if placeholders == 1 { "was" } else { "were" }
        ));
    }
}

/// Chats and people of a transitional store: those of the `message` tables,
/// and those only the legacy rows know.
fn transitional_structure(
    conn: &rusqlite::Connection,
    names: &HashMap<String, Contact>,
    owner: Option<&str>,
    keep_statuses: bool,
    report: &mut Report,
) -> Result<Structure> {
    let old = legacy::read_structure(conn, names, owner, keep_statuses)?;
    let with_legacy_rows: HashSet<String> = old.chat_list.iter().map(|c| c.id.clone()).collect();
    let mut new = modern::read_structure(conn, names, owner, &with_legacy_rows, keep_statuses, report)?;
    let mut at: HashMap<String, usize> = new.chat_list.iter().enumerate().map(|(i, c)| (c.id.clone(), i)).collect();
    for chat in old.chat_list {
        match at.get(&chat.id) {
            Some(&i) => {
                let mine = &mut new.chat_list[i];
                if mine.title.is_none() {
                    mine.title = chat.title;
                }
                if mine.participants.is_empty() {
                    mine.participants = chat.participants;
                }
                mine.created_ms = mine.created_ms.or(chat.created_ms);
                mine.archived |= chat.archived;
            }
            None => {
                at.insert(chat.id.clone(), new.chat_list.len());
                new.chat_list.push(chat);
            }
        }
    }
    let mut people: BTreeMap<String, Contact> = new.contacts.into_iter().map(|c| (c.id.clone(), c)).collect();
    for c in old.contacts {
        people.entry(c.id.clone()).or_insert(c);
    }
    new.contacts = people.into_values().collect();
    new.direct.extend(old.direct);
    new.estimated += old.estimated;
    report.note(format!(
        "this store is of WhatsApp's 2020–2021 transition: it has both message tables, and the history is read \
         from both (each message once; {} legacy rows)",
        old.estimated
    ));
    Ok(new)
}

fn detect_schema(conn: &rusqlite::Connection, path: &std::path::Path) -> Result<Schema> {
    let modern = db::has_table(conn, "message")
        && db::has_column(conn, "message", "chat_row_id")
        && db::has_table(conn, "jid")
        && db::has_column(conn, "jid", "raw_string")
        && db::has_table(conn, "chat")
        && db::has_column(conn, "chat", "jid_row_id");
    let legacy = db::has_table(conn, "messages") && db::has_column(conn, "messages", "key_remote_jid");
    // A modern store keeps an empty legacy `messages` table: missing one of
    // the modern tables, it would read as a legacy store with no messages.
    let modern_traces = db::has_table(conn, "message")
        || db::has_table(conn, "jid")
        || (db::has_table(conn, "chat") && db::has_column(conn, "chat", "jid_row_id"));
    let legacy_rows = || {
        conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM messages WHERE {LEGACY_LIVE})"), [], |r| r.get(0))
            .unwrap_or(false)
    };
    if modern {
        return Ok(if legacy && legacy_rows() { Schema::Transitional } else { Schema::Modern });
    }
    if legacy && (!modern_traces || legacy_rows()) {
        return Ok(Schema::Legacy);
    }
    if ["message", "messages", "jid", "chat"].iter().any(|t| db::has_table(conn, t)) {
        // Name exactly what is missing: a copied-in-part or damaged store
        // looks like this as well as an unknown version.
        let missing: Vec<String> = [("message", "chat_row_id"), ("jid", "raw_string"), ("chat", "jid_row_id")]
            .iter()
            .filter_map(|(t, c)| match (db::has_table(conn, t), db::has_column(conn, t, c)) {
                (false, _) => Some(format!("no `{t}` table")),
                (true, false) => Some(format!("no `{t}.{c}` column")),
                _ => None,
            })
            .collect();
        let legacy_too = if legacy {
            "and its legacy `messages` table holds no messages"
        } else {
            "and no legacy `messages` table either"
        };
        return Err(Error::unsupported(format!(
            "{} looks like a WhatsApp message store but has {}, {legacy_too}: it is incomplete or damaged (copy \
             msgstore.db again), or of a WhatsApp version chatferry does not know",
            path.display(),
            missing.join(", ")
        )));
    }
    Err(Error::bad_input(format!(
        "{} is an SQLite database but not a WhatsApp message store (it has no message or messages table)",
        path.display()
    )))
}
