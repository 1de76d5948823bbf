//! Reads a canonical archive as a stream: one JSON line at a time.

use super::*;
use crate::adapter::Importer;
use crate::error::{Error, Result};
use crate::media::{is_escape, resolve_inside, Resolve};
use crate::model::{Chat, Contact, Header, Message, MODEL_VERSION};
use crate::producer::{Finishing, Reader, ReaderMessages};
use crate::report::Report;
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// No line of a chatferry archive comes near this (a message's longest
/// text is a few MB); a longer one is damage, not a message, and is
/// refused before it fills memory.
pub const MAX_LINE: usize = 64 << 20;

/// The manifest is a few hundred bytes; one larger than this is damage.
const MAX_MANIFEST: u64 = 1 << 20;

/// Reads one `.jsonl` file line by line, with the line number for errors.
struct JsonLines {
    name: &'static str,
    reader: Box<dyn BufRead + Send>,
    line: u64,
    buf: String,
}

impl JsonLines {
    fn open(root: &Path, name: &'static str) -> Result<JsonLines> {
        let path = root.join(name);
        let file = crate::small_file::open_regular(&path).map_err(|e| {
            Error::bad_input(format!(
                "{} is not a complete chatferry archive: cannot open {name} ({e})",
                root.display()
            ))
        })?;
        Ok(JsonLines::new(name, Box::new(BufReader::with_capacity(256 * 1024, file))))
    }

    fn new(name: &'static str, reader: Box<dyn BufRead + Send>) -> JsonLines {
        JsonLines { name, reader, line: 0, buf: String::new() }
    }

    fn next_batch<T: DeserializeOwned>(&mut self, max: usize) -> Result<Vec<T>> {
        let mut out = Vec::new();
        while out.len() < max {
            self.buf.clear();
            let n = (&mut self.reader)
                .take(MAX_LINE as u64 + 1)
                .read_line(&mut self.buf)
                .map_err(|e| Error::bad_input(format!("cannot read {} after line {}: {e}", self.name, self.line)))?;
            if n == 0 {
                break;
            }
            self.line += 1;
            if n > MAX_LINE {
                return Err(Error::bad_input(format!(
                    "{} line {} is longer than {} MiB; the archive is damaged and cannot be read past it",
                    self.name,
                    self.line,
                    MAX_LINE >> 20
                )));
            }
            let text = self.buf.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let value = serde_json::from_str(text).map_err(|e| {
                Error::bad_input(format!(
                    "{} line {} is damaged ({e}); the archive cannot be read past it",
                    self.name, self.line
                ))
            })?;
            out.push(value);
        }
        Ok(out)
    }
}

pub struct ArchiveImporter {
    manifest: Manifest,
    contacts: JsonLines,
    chats: JsonLines,
    /// messages.jsonl, parsed on a reader thread while the exporter writes.
    messages: ReaderMessages,
}

impl ArchiveImporter {
    pub fn open(root: &Path) -> Result<ArchiveImporter> {
        if !root.is_dir() {
            return Err(Error::bad_input(format!(
                "{} is not a folder; a chatferry archive is a folder with {MANIFEST}",
                root.display()
            )));
        }
        let manifest_path = root.join(MANIFEST);
        if !manifest_path.is_file() {
            return Err(Error::bad_input(format!("{} has no {MANIFEST}; is it a chatferry archive?", root.display())));
        }
        let text = crate::small_file::read_text(&manifest_path, "the archive's manifest", MAX_MANIFEST)
            .map_err(|e| Error::bad_input(e.message))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::bad_input(format!("{} is damaged: {e}", manifest_path.display())))?;
        if manifest.format != FORMAT_NAME {
            return Err(Error::bad_input(format!(
                "{} says format {:?}, not {FORMAT_NAME:?}",
                manifest_path.display(),
                manifest.format
            )));
        }
        check_model_version(&manifest.model_version)?;
        Ok(ArchiveImporter {
            contacts: JsonLines::open(root, CONTACTS)?,
            chats: JsonLines::open(root, CHATS)?,
            messages: ReaderMessages::new("archive", Report::new(), read_messages(JsonLines::open(root, MESSAGES)?))
                .finishing_each(locate_in(root)),
            manifest,
        })
    }
}

/// Reads messages.jsonl in batches.
fn read_messages(mut lines: JsonLines) -> Reader {
    Box::new(move |size, _, send| loop {
        let batch: Vec<Message> = lines.next_batch(size)?;
        if batch.is_empty() || !send(batch) {
            return Ok(());
        }
    })
}

/// Media are pointed at their files by the finishing step, on whichever
/// thread has time (see `Finishing`).
fn locate_in(root: &Path) -> Finishing {
    let root = root.to_path_buf();
    Arc::new(move |m, report| locate_media(&root, m, report))
}

/// Points a message's media record at its file inside the archive. A file
/// that is not there is recorded as missing; a path that leads outside the
/// archive is refused, reported, and treated as missing.
fn locate_media(root: &Path, m: &mut Message, report: &mut Report) {
    let Some(media) = m.media.as_mut() else {
        return;
    };
    let Some(file) = media.file.clone() else {
        return;
    };
    match resolve_inside(root, &file) {
        Ok(Resolve::Found(p)) => media.path = Some(p.to_string_lossy().into_owned()),
        Ok(Resolve::Missing(_)) => {
            if !media.missing {
                media.missing = true;
                report.note(format!("message {}: media file {file} is not in the archive", m.id));
            }
        }
        Err(e) => {
            media.missing = true;
            report.media.refused += 1;
            if is_escape(&e) {
                report.note(format!("message {}: {}", m.id, e.message));
            } else {
                report.note(format!("message {}: media file {file}: {}", m.id, e.message));
            }
        }
    }
}

/// Archives from the same model major are readable (newer minors only add
/// optional fields, which serde ignores or defaults).
fn check_model_version(v: &str) -> Result<()> {
    let found = semver::Version::parse(v)
        .map_err(|_| Error::bad_input(format!("the archive's model_version {v:?} is not a version number")))?;
    let ours = semver::Version::parse(MODEL_VERSION).expect("valid");
    if found.major != ours.major {
        return Err(Error::unsupported(format!(
            "the archive uses canonical model {found}; this chatferry reads model {}.x: use a chatferry that reads it",
            ours.major
        )));
    }
    Ok(())
}

/// For the fuzz target `archive_lines` (fuzz/): `bytes` read as each of
/// the archive's line files, each message's media then located in `root`
/// as the importer does. Errors are expected; panics and runaway memory
/// are the bugs.
#[doc(hidden)]
pub fn fuzz_lines(bytes: &[u8], root: &Path) {
    let lines = || JsonLines::new("fuzz.jsonl", Box::new(std::io::Cursor::new(bytes.to_vec())));
    let _ = lines().next_batch::<Contact>(usize::MAX);
    let _ = lines().next_batch::<Chat>(usize::MAX);
    let _ = serde_json::from_slice::<Manifest>(bytes);
    let mut report = Report::new();
    if let Ok(messages) = lines().next_batch::<Message>(usize::MAX) {
        for mut m in messages {
            locate_media(root, &mut m, &mut report);
        }
    }
}

impl Importer for ArchiveImporter {
    fn header(&mut self) -> Result<Header> {
        Ok(Header {
            source_adapter: self.manifest.source_adapter.clone(),
            model_version: MODEL_VERSION.into(),
            owner: self.manifest.owner.clone(),
            estimated_messages: Some(self.manifest.counts.messages),
            extras: self.manifest.extras.clone(),
        })
    }

    fn next_contacts(&mut self, max: usize) -> Result<Vec<Contact>> {
        self.contacts.next_batch(max)
    }

    fn next_chats(&mut self, max: usize) -> Result<Vec<Chat>> {
        self.chats.next_batch(max)
    }

    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>> {
        self.messages.next(max)
    }

    fn recycle(&mut self, batch: Vec<Message>) {
        self.messages.recycle(batch)
    }

    fn wants_batches_back(&self) -> bool {
        true
    }

    fn finish(&mut self) -> Result<Report> {
        self.messages.finish()
    }
}
