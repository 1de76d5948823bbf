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
    /// Anything else a person should know (one line each, with counts folded in).
    #[serde(default)]
    pub notes: Vec<String>,
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
        self.notes.push(note.into());
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
        self.notes.extend(other.notes);
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
        out.push_str(&format!(
            "{} → {}: {} contacts, {} chats, {} messages read\n",
            self.source_adapter, self.target_adapter, self.contacts, self.chats, read
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
