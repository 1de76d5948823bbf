//! What an adapter author implements: plain Rust traits over the canonical
//! model. `export_plugin!` turns them into the stable ABI; the host turns a
//! loaded plugin back into the same traits, so the host, the built-in archive
//! adapter and every plugin look alike to the conversion pipeline.

use crate::error::{Error, Result};
use crate::model::{Chat, Contact, Header, Message, MessageKind};
use crate::report::Report;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Batches of about this many records cross the plugin boundary at a time.
pub const BATCH_SIZE: usize = 1000;

/// How an importer's error ends when its input holds both WhatsApp and
/// WhatsApp Business: `inspect` then shows each (the words are the contract).
pub const BOTH_APPS: &str = "give --opt app=personal or --opt app=business";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub import: bool,
    pub export: bool,
}

impl Capabilities {
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.import {
            v.push("import");
        }
        if self.export {
            v.push("export");
        }
        v
    }
}

/// What an adapter reads or writes at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    File,
    Folder,
    /// A file or a folder holding the store (e.g. msgstore.db or a WhatsApp folder).
    FileOrFolder,
    /// An unencrypted iPhone backup folder (Manifest.db + hashed files), or
    /// the store itself.
    IosBackup,
}

impl PathKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::File => "file",
            PathKind::Folder => "folder",
            PathKind::FileOrFolder => "file-or-folder",
            PathKind::IosBackup => "ios-backup",
        }
    }
    pub(crate) fn code(self) -> u8 {
        match self {
            PathKind::File => 1,
            PathKind::Folder => 2,
            PathKind::FileOrFolder => 3,
            PathKind::IosBackup => 4,
        }
    }
    pub(crate) fn from_code(code: u8) -> PathKind {
        match code {
            1 => PathKind::File,
            2 => PathKind::Folder,
            4 => PathKind::IosBackup,
            _ => PathKind::FileOrFolder,
        }
    }
}

/// The kind of value an option takes (used for help and checking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    Text,
    Path,
    Flag,
    Number,
    /// One or more paths: `--opt NAME=` may be given more than once (the
    /// values reach the adapter joined by newlines; read them with
    /// [`Options::paths`]).
    Paths,
}

impl OptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OptionKind::Text => "text",
            OptionKind::Path => "path",
            OptionKind::Flag => "flag",
            OptionKind::Number => "number",
            OptionKind::Paths => "path, repeatable",
        }
    }
    pub(crate) fn code(self) -> u8 {
        match self {
            OptionKind::Text => 1,
            OptionKind::Path => 2,
            OptionKind::Flag => 3,
            OptionKind::Number => 4,
            OptionKind::Paths => 5,
        }
    }
    pub(crate) fn from_code(code: u8) -> OptionKind {
        match code {
            2 => OptionKind::Path,
            3 => OptionKind::Flag,
            4 => OptionKind::Number,
            5 => OptionKind::Paths,
            _ => OptionKind::Text,
        }
    }
}

/// An option an adapter understands (`--opt key-file=PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: String,
    pub kind: OptionKind,
    pub help: String,
    /// Used when importing.
    pub import: bool,
    /// Used when exporting.
    pub export: bool,
}

impl OptionSpec {
    pub fn new(name: &str, kind: OptionKind, help: &str) -> OptionSpec {
        OptionSpec { name: name.into(), kind, help: help.into(), import: true, export: true }
    }
    pub fn import_only(mut self) -> OptionSpec {
        self.export = false;
        self
    }
    pub fn export_only(mut self) -> OptionSpec {
        self.import = false;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Stable id used on the command line (`whatsapp-android`).
    pub id: String,
    pub name: String,
    pub description: String,
    pub capabilities: Capabilities,
    pub input: PathKind,
    pub output: PathKind,
    pub options: Vec<OptionSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    /// The plugin ABI version the plugin was built against.
    pub abi_version: String,
}

/// Options given with `--opt NAME=VALUE`, already checked against the
/// adapter's declared options by the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options(pub BTreeMap<String, String>);

impl Options {
    pub fn new() -> Options {
        Options::default()
    }
    pub fn with(mut self, name: &str, value: &str) -> Options {
        self.0.insert(name.into(), value.into());
        self
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }
    /// The paths of a repeatable option ([`OptionKind::Paths`]): one per
    /// `--opt` given. A value that is not itself an existing path may be a
    /// list in the system's form (`a:b` on Unix, `a;b` on Windows).
    pub fn paths(&self, name: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for value in self.get(name).into_iter().flat_map(|v| v.split('\n')).filter(|v| !v.is_empty()) {
            let whole = PathBuf::from(value);
            if whole.exists() {
                out.push(whole);
            } else {
                out.extend(std::env::split_paths(value).filter(|p| !p.as_os_str().is_empty()));
            }
        }
        out
    }
    /// A flag is on when given without a value or as `true`/`yes`/`1`.
    pub fn flag(&self, name: &str) -> Result<bool> {
        match self.get(name) {
            None => Ok(false),
            Some("" | "true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(other) => Err(Error::usage(format!("option {name} is a flag; {other:?} is neither true nor false"))),
        }
    }
    pub fn number(&self, name: &str) -> Result<Option<i64>> {
        self.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| Error::usage(format!("option {name} takes a whole number, not {v:?}")))
            })
            .transpose()
    }
}

/// One format adapter. Implement `open_importer` and/or `open_exporter`
/// according to the capabilities declared in `info`.
pub trait Adapter: Send + Sync {
    fn info(&self) -> AdapterInfo;

    /// How sure the adapter is that it can import `path`: 0 (no) to 100
    /// (certain). Must be cheap and must not modify anything.
    fn probe(&self, _path: &Path) -> Result<u8> {
        Ok(0)
    }

    fn open_importer(&self, _input: &Path, _options: &Options) -> Result<Box<dyn Importer>> {
        Err(Error::usage(format!("adapter {} cannot import", self.info().id)))
    }

    /// `output` does not exist yet; the exporter creates it (a file or a
    /// folder). The host gives a temporary path and renames it when done.
    fn open_exporter(&self, _output: &Path, _options: &Options) -> Result<Box<dyn Exporter>> {
        Err(Error::usage(format!("adapter {} cannot export", self.info().id)))
    }
}

/// A streaming reader. The host calls `header` once, then `next_contacts`
/// until it returns an empty batch, then `next_chats` likewise, then
/// `next_messages` likewise, then `finish`. A batch holds at most `max`
/// records; memory should not grow with the size of the history.
/// Messages should come grouped by chat and in time order within a chat.
pub trait Importer: Send {
    fn header(&mut self) -> Result<Header>;
    fn next_contacts(&mut self, max: usize) -> Result<Vec<Contact>>;
    fn next_chats(&mut self, max: usize) -> Result<Vec<Chat>>;
    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>>;
    /// Takes back a batch `next_messages` gave once its contents were
    /// copied elsewhere, so an importer that built it on a thread of its
    /// own can free it there.
    fn recycle(&mut self, batch: Vec<Message>) {
        drop(batch)
    }
    /// Whether `recycle` does that (the batches come from another thread):
    /// then a consumer that copies them anyway hands them back. Freeing
    /// them on the consuming thread instead makes both threads contend for
    /// the builder's malloc arena.
    fn wants_batches_back(&self) -> bool {
        false
    }
    /// Shows the next batch (at most `max`) to `glance`, a message at a time,
    /// for a caller that only counts (`inspect`); the number shown, 0 at the
    /// end. An importer in a plugin shows its lent batch where it is, so no
    /// message is copied across (copying each message to the host and freeing
    /// it again doubled `inspect`'s time for whatsapp-txt).
    fn glance_messages(&mut self, max: usize, glance: &mut dyn FnMut(&Glance<'_>)) -> Result<usize> {
        let batch = self.next_messages(max)?;
        for m in &batch {
            glance(&Glance::of(m));
        }
        let n = batch.len();
        self.recycle(batch);
        Ok(n)
    }
    /// What the importer wants the person to know (missing or refused media,
    /// undecodable rows…). Counts of messages read are kept by the host.
    fn finish(&mut self) -> Result<Report> {
        Ok(Report::new())
    }
}

/// What `inspect` counts of a message, borrowed from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Glance<'a> {
    pub chat: &'a str,
    pub kind: MessageKind,
    pub timestamp_ms: i64,
    /// `Some(missing)` for a message with media.
    pub media_missing: Option<bool>,
    pub reply: bool,
    pub reactions: usize,
}

impl<'a> Glance<'a> {
    pub fn of(m: &'a Message) -> Glance<'a> {
        Glance {
            chat: &m.chat,
            kind: m.kind,
            timestamp_ms: m.timestamp_ms,
            media_missing: m.media.as_ref().map(|x| x.missing),
            reply: m.reply_to.is_some(),
            reactions: m.reactions.len(),
        }
    }
}

/// A streaming writer, mirroring [`Importer`]: `begin`, contacts, chats,
/// messages (each in batches), then `finish`, which completes the output
/// and returns the per-kind tally of what was written and how.
/// If anything fails the host discards the output.
pub trait Exporter: Send {
    fn begin(&mut self, header: &Header) -> Result<()>;
    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()>;
    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()>;
    fn write_messages(&mut self, batch: Vec<Message>) -> Result<()>;
    /// Writes a batch the caller keeps, for exporters that copy what they
    /// are given anyway (a plugin, across the ABI); `None`: this exporter
    /// takes batches by value only.
    fn write_borrowed(&mut self, _batch: &[Message]) -> Option<Result<()>> {
        None
    }
    fn finish(&mut self) -> Result<Report>;
}
