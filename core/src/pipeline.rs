//! The conversion pipeline: pulls batches from an importer and pushes them
//! into an exporter, counting what passes, with memory bounded by one batch.

use crate::adapter::{Exporter, Glance, Importer, BATCH_SIZE};
use crate::error::Result;
use crate::model::{Header, MessageKind};
use crate::report::Report;
use serde::Serialize;
use std::collections::BTreeMap;

/// Progress callbacks (the CLI draws a bar; tests use [`NoProgress`]).
pub trait Progress {
    fn start(&mut self, _estimated_messages: Option<u64>) {}
    fn stage(&mut self, _what: &str) {}
    fn messages(&mut self, _done: u64) {}
    fn finish(&mut self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// Runs a whole conversion. On error the exporter's output is incomplete
/// and must be discarded by the caller (the CLI writes to a temporary path).
pub fn convert(
    importer: &mut dyn Importer,
    exporter: &mut dyn Exporter,
    progress: &mut dyn Progress,
) -> Result<Report> {
    let header = importer.header()?;
    progress.start(header.estimated_messages);
    exporter.begin(&header)?;
    let mut report = Report::new();
    report.source_adapter = header.source_adapter.clone();

    progress.stage("contacts");
    loop {
        let batch = importer.next_contacts(BATCH_SIZE)?;
        if batch.is_empty() {
            break;
        }
        report.contacts += batch.len() as u64;
        exporter.write_contacts(batch)?;
    }
    progress.stage("chats");
    loop {
        let batch = importer.next_chats(BATCH_SIZE)?;
        if batch.is_empty() {
            break;
        }
        report.chats += batch.len() as u64;
        exporter.write_chats(batch)?;
    }
    progress.stage("messages");
    let mut done = 0u64;
    loop {
        let mut batch = importer.next_messages(BATCH_SIZE)?;
        if batch.is_empty() {
            break;
        }
        let mut out_of_range = false;
        for m in &batch {
            report.read(m.kind);
            if m.media.as_ref().is_some_and(|media| media.missing) {
                report.media.missing += 1;
            }
            out_of_range |= !times_in_range(m);
        }
        if out_of_range {
            keep_times_in_range(&mut batch, &mut report);
        }
        done += batch.len() as u64;
        // A batch built on the importer's own thread goes back there to be
        // freed when the exporter copies it anyway.
        match importer.wants_batches_back().then(|| exporter.write_borrowed(&batch)).flatten() {
            Some(written) => {
                written?;
                importer.recycle(batch);
            }
            None => exporter.write_messages(batch)?,
        }
        progress.messages(done);
    }
    progress.stage("finishing");
    let import_report = importer.finish()?;
    let export_report = exporter.finish()?;
    report.merge(import_report);
    report.merge(export_report);
    progress.finish();
    Ok(report)
}

fn times_in_range(m: &crate::model::Message) -> bool {
    use crate::time::in_range;
    in_range(m.timestamp_ms)
        && m.edited_ms.map_or(true, in_range)
        && m.reactions.iter().all(|r| r.timestamp_ms.map_or(true, in_range))
}

/// A message whose time no store can hold (before year 1 or after 9999: a
/// damaged or crafted row) is not written, and counted; an edit or
/// reaction time out of range is dropped from its message, and noted.
fn keep_times_in_range(batch: &mut Vec<crate::model::Message>, report: &mut Report) {
    use crate::time::in_range;
    batch.retain_mut(|m| {
        if !in_range(m.timestamp_ms) {
            report.failed(m.kind, "its time is outside the years 1–9999, which no store can hold (a damaged row?)");
            report.note(format!("message {}: not written, its time is outside the years 1–9999", m.id));
            return false;
        }
        if m.edited_ms.is_some_and(|t| !in_range(t)) {
            m.edited_ms = None;
            report.note(format!("message {}: its edit time is out of range and was dropped", m.id));
        }
        for r in &mut m.reactions {
            if r.timestamp_ms.is_some_and(|t| !in_range(t)) {
                r.timestamp_ms = None;
                report.note(format!("message {}: a reaction's time is out of range and was dropped", m.id));
            }
        }
        true
    });
}

/// What `chatferry inspect` shows about a store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inspection {
    pub source_adapter: String,
    pub owner: Option<String>,
    pub contacts: u64,
    pub chats: u64,
    pub chats_by_kind: BTreeMap<String, u64>,
    pub messages: u64,
    pub messages_by_kind: BTreeMap<MessageKind, u64>,
    pub first_message_ms: Option<i64>,
    pub last_message_ms: Option<i64>,
    pub first_message_utc: Option<String>,
    pub last_message_utc: Option<String>,
    pub media: u64,
    pub media_missing: u64,
    pub replies: u64,
    pub reactions: u64,
    /// Each chat, most recently active first.
    pub chat_list: Vec<ChatSummary>,
    /// What the importer said (the notes `convert` would print).
    pub notes: Vec<String>,
    /// Messages left out by `--chat`, `--since` or `--until`.
    pub skipped_by_selection: u64,
}

/// One chat as `inspect` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChatSummary {
    pub id: String,
    /// The chat's other id, where the store knows one: a WhatsApp person's
    /// hidden-number id (`…@lid`) beside their number (`--chat` takes either).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub also: Option<String>,
    pub title: Option<String>,
    pub kind: String,
    pub messages: u64,
    pub first_message_ms: Option<i64>,
    pub last_message_ms: Option<i64>,
    pub first_message_utc: Option<String>,
    pub last_message_utc: Option<String>,
    pub media: u64,
    pub media_missing: u64,
}

/// The chat extra that holds a chat's other id (WhatsApp's `…@lid` form,
/// whatsapp-2024-2026.md §1), shown by `inspect`.
pub const OTHER_ID: &str = "wa.lid";

/// Reads a whole store and summarises it, in bounded memory.
pub fn inspect(importer: &mut dyn Importer, progress: &mut dyn Progress) -> Result<Inspection> {
    let Header { source_adapter, owner, estimated_messages, .. } = importer.header()?;
    progress.start(estimated_messages);
    let mut out = Inspection {
        source_adapter,
        owner: owner.map(|o| o.name.or(o.nickname).or(o.phone).unwrap_or(o.id)),
        ..Default::default()
    };
    // One entry per chat (as few as the chats), whatever the history's length,
    // found by id through `at`.
    let mut chats: Vec<ChatSummary> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    // People's names, for the titles of one-to-one chats (as many as the contacts).
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    loop {
        let batch = importer.next_contacts(BATCH_SIZE)?;
        if batch.is_empty() {
            break;
        }
        out.contacts += batch.len() as u64;
        for c in batch {
            if let Some(name) = c.name.or(c.nickname).or(c.phone) {
                names.insert(c.id, name);
            }
        }
    }
    loop {
        let batch = importer.next_chats(BATCH_SIZE)?;
        if batch.is_empty() {
            break;
        }
        for mut c in batch {
            // A one-to-one chat is shown by its person's name.
            if c.title.is_none() && c.kind == crate::model::ChatKind::Direct {
                c.title = names.get(&c.id).cloned();
            }
            out.chats += 1;
            *out.chats_by_kind.entry(c.kind.as_str().to_string()).or_default() += 1;
            let summary = ChatSummary {
                id: c.id.clone(),
                also: c.extras.get(OTHER_ID).cloned(),
                title: c.title,
                kind: c.kind.as_str().to_string(),
                ..Default::default()
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = at.entry(c.id) {
                slot.insert(chats.len());
                chats.push(summary);
            }
        }
    }
    // Messages come in runs of one chat: the last chat is tried before the map.
    let mut last: Option<usize> = None;
    loop {
        let mut count = |m: &Glance<'_>| {
            out.messages += 1;
            *out.messages_by_kind.entry(m.kind).or_default() += 1;
            out.first_message_ms = Some(out.first_message_ms.map_or(m.timestamp_ms, |t| t.min(m.timestamp_ms)));
            out.last_message_ms = Some(out.last_message_ms.map_or(m.timestamp_ms, |t| t.max(m.timestamp_ms)));
            // Looked up by reference: a new key is made only for a chat the
            // chat list did not name.
            let i = match last.filter(|&i| chats[i].id == m.chat).or_else(|| at.get(m.chat).copied()) {
                Some(i) => i,
                None => {
                    let unknown = ChatSummary { id: m.chat.to_string(), kind: "unknown".into(), ..Default::default() };
                    at.insert(m.chat.to_string(), chats.len());
                    chats.push(unknown);
                    chats.len() - 1
                }
            };
            last = Some(i);
            let chat = &mut chats[i];
            chat.messages += 1;
            chat.first_message_ms = Some(chat.first_message_ms.map_or(m.timestamp_ms, |t| t.min(m.timestamp_ms)));
            chat.last_message_ms = Some(chat.last_message_ms.map_or(m.timestamp_ms, |t| t.max(m.timestamp_ms)));
            if let Some(missing) = m.media_missing {
                out.media += 1;
                chat.media += 1;
                if missing {
                    out.media_missing += 1;
                    chat.media_missing += 1;
                }
            }
            if m.reply {
                out.replies += 1;
            }
            out.reactions += m.reactions as u64;
        };
        // Glanced at, not copied: inspect only counts.
        if importer.glance_messages(BATCH_SIZE, &mut count)? == 0 {
            break;
        }
        progress.messages(out.messages);
    }
    let report = importer.finish()?;
    progress.finish();
    out.notes = report.notes;
    out.skipped_by_selection = report.skipped_by_selection;
    out.first_message_utc = out.first_message_ms.map(crate::time::format_utc);
    out.last_message_utc = out.last_message_ms.map(crate::time::format_utc);
    let mut list = chats;
    for c in &mut list {
        c.first_message_utc = c.first_message_ms.map(crate::time::format_utc);
        c.last_message_utc = c.last_message_ms.map(crate::time::format_utc);
    }
    list.sort_by(|a, b| b.last_message_ms.cmp(&a.last_message_ms).then_with(|| a.id.cmp(&b.id)));
    out.chat_list = list;
    Ok(out)
}
