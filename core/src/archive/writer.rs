//! Writes a canonical archive as a stream. The manifest is written last,
//! when the counts are known; the host renames the folder into place only
//! after `finish` succeeds.

use super::*;
use crate::adapter::Exporter;
use crate::error::{Error, Result};
use crate::media::{extension_for, ContentStore};
use crate::model::{Chat, Contact, Header, Media, Message, MODEL_VERSION};
use crate::report::Report;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

struct JsonLinesWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl JsonLinesWriter {
    fn create(path: PathBuf) -> Result<JsonLinesWriter> {
        let file = File::create(&path).map_err(|e| Error::io(&path, "create", e))?;
        Ok(JsonLinesWriter { out: BufWriter::with_capacity(256 * 1024, file), path })
    }
    fn write<T: Serialize>(&mut self, value: &T) -> Result<()> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(|e| Error::io(&self.path, "write", std::io::Error::other(e)))?;
        self.out.write_all(b"\n").map_err(|e| Error::io(&self.path, "write", e))
    }
    fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, "write", e))?;
        self.out.get_ref().sync_all().map_err(|e| Error::io(&self.path, "sync", e))
    }
}

pub struct ArchiveExporter {
    root: PathBuf,
    header: Option<Header>,
    contacts: Option<JsonLinesWriter>,
    chats: Option<JsonLinesWriter>,
    messages: Option<JsonLinesWriter>,
    media: ContentStore,
    counts: Counts,
    report: Report,
    /// Messages whose media record had no file to carry.
    media_without_file: u64,
    unreadable_media: u64,
}

impl ArchiveExporter {
    /// `root` must not exist yet.
    pub fn create(root: &Path) -> Result<ArchiveExporter> {
        std::fs::create_dir(root).map_err(|e| Error::io(root, "create the archive folder", e))?;
        Ok(ArchiveExporter {
            contacts: Some(JsonLinesWriter::create(root.join(CONTACTS))?),
            chats: Some(JsonLinesWriter::create(root.join(CHATS))?),
            messages: Some(JsonLinesWriter::create(root.join(MESSAGES))?),
            media: ContentStore::new(root.join(MEDIA_DIR)),
            root: root.to_path_buf(),
            header: None,
            counts: Counts::default(),
            report: Report::new(),
            media_without_file: 0,
            unreadable_media: 0,
        })
    }

    /// Copies the media file into `media/`, named by its hash.
    fn carry_media(&mut self, media: &mut Media) -> Result<()> {
        let Some(path) = media.path.take() else {
            if !media.missing {
                media.missing = true;
                self.media_without_file += 1;
            }
            media.file = None;
            return Ok(());
        };
        let ext = extension_for(media.mime.as_deref(), media.file_name.as_deref());
        match self.media.put_file(Path::new(&path), &ext) {
            Ok((sha, size, rel, new)) => {
                if new {
                    self.counts.media_files += 1;
                }
                media.sha256 = Some(sha);
                media.size = Some(size);
                media.missing = false;
                let rel = rel.to_string_lossy().replace('\\', "/");
                media.file = Some(format!("{MEDIA_DIR}/{rel}"));
                self.report.media.carried += 1;
            }
            Err(e) if e.kind == crate::ErrorKind::Io && !Path::new(&path).exists() => {
                // The importer pointed at a file that has gone since.
                media.missing = true;
                media.file = None;
                self.unreadable_media += 1;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

fn not_begun() -> Error {
    Error::internal("the archive exporter was used before begin() or after finish()")
}

impl Exporter for ArchiveExporter {
    fn begin(&mut self, header: &Header) -> Result<()> {
        self.header = Some(header.clone());
        Ok(())
    }

    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        let w = self.contacts.as_mut().ok_or_else(not_begun)?;
        for c in &batch {
            w.write(c)?;
        }
        self.counts.contacts += batch.len() as u64;
        Ok(())
    }

    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        let w = self.chats.as_mut().ok_or_else(not_begun)?;
        for c in &batch {
            w.write(c)?;
        }
        self.counts.chats += batch.len() as u64;
        Ok(())
    }

    fn write_messages(&mut self, batch: Vec<Message>) -> Result<()> {
        for mut m in batch {
            if let Some(mut media) = m.media.take() {
                self.carry_media(&mut media)?;
                m.media = Some(media);
            }
            self.messages.as_mut().ok_or_else(not_begun)?.write(&m)?;
            self.report.native(m.kind);
            self.counts.messages += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Report> {
        for w in [self.contacts.take(), self.chats.take(), self.messages.take()] {
            w.ok_or_else(not_begun)?.finish()?;
        }
        let header = self.header.take().ok_or_else(not_begun)?;
        let manifest = Manifest {
            format: FORMAT_NAME.into(),
            model_version: MODEL_VERSION.into(),
            source_adapter: header.source_adapter,
            owner: header.owner,
            counts: self.counts.clone(),
            extras: header.extras,
        };
        let path = self.root.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| Error::io(&path, "write", e))?;
        if self.media_without_file > 0 {
            self.report.media.missing += self.media_without_file;
            self.report.note(format!(
                "{} without a file and marked missing",
                crate::text_form::counted(self.media_without_file, "media record came", "media records came")
            ));
        }
        if self.unreadable_media > 0 {
            self.report.media.missing += self.unreadable_media;
            self.report.note(format!(
                "{} during the conversion and marked missing",
                crate::text_form::counted(self.unreadable_media, "media file disappeared", "media files disappeared")
            ));
        }
        let mut report = std::mem::take(&mut self.report);
        report.target_adapter = ADAPTER_ID.into();
        Ok(report)
    }
}
