//! The conversion pipeline: pulls batches from an importer and pushes them
//! into an exporter, counting what passes, with memory bounded by one batch.

use crate::adapter::{Exporter, Importer, BATCH_SIZE};
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
}

/// Reads a whole store and summarises it, in bounded memory.
pub fn inspect(importer: &mut dyn Importer, progress: &mut dyn Progress) -> Result<Inspection> {
    let Header { source_adapter, owner, estimated_messages, .. } = importer.header()?;
    progress.start(estimated_messages);
    let mut out = Inspection {
        source_adapter,
        owner: owner.map(|o| o.name.or(o.nickname).or(o.phone).unwrap_or(o.id)),
        ..Default::default()
    };
    loop {
        let batch = importer.next_contacts(BATCH_SIZE)?;
        if batch.is_empty() {
            break;
        }
        out.contacts += batch.len() as u64;
    }
    loop {
        let batch = importer.next_chats(BATCH_SIZE)?;
        if batch.is_empty() {
            break;
        }
        for c in batch {
            out.chats += 1;
            *out.chats_by_kind.entry(c.kind.as_str().to_string()).or_default() += 1;
        }
    }
    loop {
        let batch = importer.next_messages(BATCH_SIZE)?;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            out.messages += 1;
            *out.messages_by_kind.entry(m.kind).or_default() += 1;
            out.first_message_ms = Some(out.first_message_ms.map_or(m.timestamp_ms, |t| t.min(m.timestamp_ms)));
            out.last_message_ms = Some(out.last_message_ms.map_or(m.timestamp_ms, |t| t.max(m.timestamp_ms)));
            if let Some(media) = &m.media {
                out.media += 1;
                if media.missing {
                    out.media_missing += 1;
                }
            }
            if m.reply_to.is_some() {
                out.replies += 1;
            }
            out.reactions += m.reactions.len() as u64;
        }
        progress.messages(out.messages);
    }
    importer.finish()?;
    progress.finish();
    out.first_message_utc = out.first_message_ms.map(crate::time::format_utc);
    out.last_message_utc = out.last_message_ms.map(crate::time::format_utc);
    Ok(out)
}
