//! The conversion report: what was read, what was written natively, what
//! was written in a downgraded form, what could not be written and why, and
//! what happened to media. Importers and exporters each fill one; the host
//! merges them and prints the result (and writes it as JSON on request).

use crate::model::MessageKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a message fared in the exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Written as the same kind of thing in the target.
    Native,
    /// Written in the closest form the target has (e.g. a transfer as text).
    Downgraded,
    /// Not written at all.
    Failed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindTally {
    #[serde(default)]
    pub native: u64,
    #[serde(default)]
    pub downgraded: u64,
    #[serde(default)]
    pub failed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaTally {
    /// Files carried into the output.
    #[serde(default)]
    pub carried: u64,
    /// Referenced by the source store but not there.
    #[serde(default)]
    pub missing: u64,
    /// Refused (e.g. a path that escapes the media folder).
    #[serde(default)]
    pub refused: u64,
}

/// One reason a kind of message was downgraded or not written, with a count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub kind: MessageKind,
    pub outcome: Outcome,
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    #[serde(default)]
    pub source_adapter: String,
    #[serde(default)]
    pub target_adapter: String,
    #[serde(default)]
    pub contacts: u64,
    #[serde(default)]
    pub chats: u64,
    /// Messages read from the source, per kind.
    #[serde(default)]
    pub read: BTreeMap<MessageKind, u64>,
    /// Messages written by the target, per kind and outcome.
    #[serde(default)]
    pub written: BTreeMap<MessageKind, KindTally>,
    #[serde(default)]
    pub reasons: Vec<Reason>,
    #[serde(default)]
    pub media: MediaTally,
    /// Messages left out by `--chat`, `--since` or `--until` (not read as
    /// part of this conversion, and not in `read`).
    #[serde(default)]
    pub skipped_by_selection: u64,
    /// Anything else a person should know (one line each, with counts folded in).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Notes about single messages (`message <id>: <what>`) that repeat,
    /// by what they say: they fold into one line with a count, so a
    /// history with a million odd rows gets one line, not a million.
    #[serde(skip)]
    repeats: BTreeMap<String, Repeat>,
}

/// A note said of several messages: where its line is, how many, the first ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Repeat {
    at: usize,
    count: u64,
    first: Vec<String>,
}

impl Repeat {
    const SHOWN: usize = 3;

    fn line(&self, what: &str) -> String {
        if self.count == 1 {
            return format!("message {}: {what}", self.first[0]);
        }
        let more = if self.count as usize > self.first.len() { ", …" } else { "" };
        format!("{} messages: {what} (first: {}{more})", self.count, self.first.join(", "))
    }
}

impl Report {
    pub fn new() -> Report {
        Report::default()
    }

    pub fn read(&mut self, kind: MessageKind) {
        *self.read.entry(kind).or_default() += 1;
    }

    pub fn native(&mut self, kind: MessageKind) {
        self.written.entry(kind).or_default().native += 1;
    }

    pub fn downgraded(&mut self, kind: MessageKind, reason: &str) {
        self.written.entry(kind).or_default().downgraded += 1;
        self.add_reason(kind, Outcome::Downgraded, reason, 1);
    }

    pub fn failed(&mut self, kind: MessageKind, reason: &str) {
        self.written.entry(kind).or_default().failed += 1;
        self.add_reason(kind, Outcome::Failed, reason, 1);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        match note.strip_prefix("message ").and_then(|rest| rest.split_once(": ")) {
            Some((id, what)) if !id.is_empty() => self.repeat(what, 1, &[id.to_string()]),
            _ => self.notes.push(note),
        }
    }

    /// Folds `count` more messages (first ids `ids`) into the note `what`.
    fn repeat(&mut self, what: &str, count: u64, ids: &[String]) {
        let at = self.notes.len();
        let r = self.repeats.entry(what.to_string()).or_insert_with(|| Repeat { at, ..Default::default() });
        r.count += count;
        for id in ids {
            if r.first.len() < Repeat::SHOWN {
                r.first.push(id.clone());
            }
        }
        let line = r.line(what);
        if r.at == at {
            self.notes.push(line);
        } else {
            self.notes[r.at] = line;
        }
    }

    fn add_reason(&mut self, kind: MessageKind, outcome: Outcome, reason: &str, count: u64) {
        // Reasons are few and repeat per message: keep one counted row each.
        if let Some(r) = self.reasons.iter_mut().find(|r| r.kind == kind && r.outcome == outcome && r.reason == reason)
        {
            r.count += count;
        } else {
            self.reasons.push(Reason { kind, outcome, reason: reason.to_string(), count });
        }
    }

    pub fn messages_read(&self) -> u64 {
        self.read.values().sum()
    }

    pub fn total(&self, outcome: Outcome) -> u64 {
        self.written
            .values()
            .map(|t| match outcome {
                Outcome::Native => t.native,
                Outcome::Downgraded => t.downgraded,
                Outcome::Failed => t.failed,
            })
            .sum()
    }

    /// Folds another side's report into this one (importer + exporter).
    pub fn merge(&mut self, other: Report) {
        for (k, n) in other.read {
            *self.read.entry(k).or_default() += n;
        }
        for (k, t) in other.written {
            let mine = self.written.entry(k).or_default();
            mine.native += t.native;
            mine.downgraded += t.downgraded;
            mine.failed += t.failed;
        }
        for r in other.reasons {
            self.add_reason(r.kind, r.outcome, &r.reason, r.count);
        }
        self.media.carried += other.media.carried;
        self.media.missing += other.media.missing;
        self.media.refused += other.media.refused;
        self.skipped_by_selection += other.skipped_by_selection;
        let folded: std::collections::HashSet<usize> = other.repeats.values().map(|r| r.at).collect();
        for (i, n) in other.notes.into_iter().enumerate() {
            if !folded.contains(&i) {
                self.notes.push(n);
            }
        }
        for (what, r) in other.repeats {
            self.repeat(&what, r.count, &r.first);
        }
        if self.source_adapter.is_empty() {
            self.source_adapter = other.source_adapter;
        }
        if self.target_adapter.is_empty() {
            self.target_adapter = other.target_adapter;
        }
        self.contacts = self.contacts.max(other.contacts);
        self.chats = self.chats.max(other.chats);
    }

    /// The report as a person reads it at the end of `convert`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let read = self.messages_read();
        use crate::text_form::counted;
        out.push_str(&format!(
            "{} → {}: {}, {}, {} read\n",
            self.source_adapter,
            self.target_adapter,
            counted(self.contacts, "contact", "contacts"),
            counted(self.chats, "chat", "chats"),
            counted(read, "message", "messages")
        ));
        if !self.written.is_empty() {
            out.push_str(&format!(
                "{:<10} {:>10} {:>10} {:>10} {:>10}\n",
                "kind", "read", "native", "downgraded", "failed"
            ));
            let kinds: std::collections::BTreeSet<_> = self.read.keys().chain(self.written.keys()).copied().collect();
            for kind in kinds {
                let t = self.written.get(&kind).cloned().unwrap_or_default();
                out.push_str(&format!(
                    "{:<10} {:>10} {:>10} {:>10} {:>10}\n",
                    kind.as_str(),
                    self.read.get(&kind).copied().unwrap_or(0),
                    t.native,
                    t.downgraded,
                    t.failed
                ));
            }
        }
        for r in &self.reasons {
            let what = match r.outcome {
                Outcome::Native => "written",
                Outcome::Downgraded => "downgraded",
                Outcome::Failed => "not written",
            };
            out.push_str(&format!("  {} {} {}: {}\n", r.count, r.kind.as_str(), what, r.reason));
        }
        out.push_str(&format!(
            "media: {} carried, {} missing in the source, {} refused\n",
            self.media.carried, self.media.missing, self.media.refused
        ));
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_counted_once_per_reason() {
        let mut r = Report::new();
        r.downgraded(MessageKind::Payment, "written as text");
        r.downgraded(MessageKind::Payment, "written as text");
        r.failed(MessageKind::Poll, "no polls");
        r.native(MessageKind::Text);
        assert_eq!(r.reasons.len(), 2);
        assert_eq!(r.reasons[0].count, 2);
        assert_eq!(r.total(Outcome::Downgraded), 2);
        assert_eq!(r.total(Outcome::Failed), 1);
        assert_eq!(r.total(Outcome::Native), 1);
    }

    #[test]
    fn merge_adds_both_sides() {
        let mut import = Report::new();
        import.read(MessageKind::Text);
        import.media.missing = 2;
        import.note("2 media files missing");
        let mut export = Report::new();
        export.native(MessageKind::Text);
        export.downgraded(MessageKind::Payment, "as text");
        export.media.carried = 3;
        import.merge(export);
        assert_eq!(import.messages_read(), 1);
        assert_eq!(import.media.missing, 2);
        assert_eq!(import.media.carried, 3);
        assert_eq!(import.reasons.len(), 1);
        let text = import.to_text();
        assert!(text.contains("1 payment downgraded: as text"), "{text}");
        // One of a thing is singular ("1 chats" before).
        import.contacts = 1;
        import.chats = 1;
        assert!(import.to_text().contains(": 1 contact, 1 chat, 1 message read"), "{}", import.to_text());
    }

    #[test]
    fn notes_about_many_messages_fold_into_one_line_each() {
        let mut a = Report::new();
        a.note("opened the store");
        a.note("message 7: its content is not text; kept as raw data");
        a.note("message 9: media file x.jpg is not in the archive");
        assert_eq!(a.notes[1], "message 7: its content is not text; kept as raw data", "one stays as it was");
        let mut b = Report::new();
        for id in [11, 12, 13, 14] {
            b.note(format!("message {id}: its content is not text; kept as raw data"));
        }
        b.note("2 stickers have no file");
        a.merge(b);
        assert_eq!(
            a.notes,
            [
                "opened the store",
                "5 messages: its content is not text; kept as raw data (first: 7, 11, 12, …)",
                "message 9: media file x.jpg is not in the archive",
                "2 stickers have no file",
            ]
        );
        // A million such notes are still one line.
        for id in 0..1_000_000 {
            a.note(format!("message {id}: its content is not text; kept as raw data"));
        }
        assert_eq!(a.notes.len(), 4);
        assert!(a.notes[1].starts_with("1000005 messages: "), "{}", a.notes[1]);
    }

    #[test]
    fn json_keys_are_kind_names() {
        let mut r = Report::new();
        r.read(MessageKind::Voice);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["read"]["voice"], 1);
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
