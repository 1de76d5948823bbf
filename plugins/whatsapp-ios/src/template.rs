//! Writing into the new iPhone's own backup (`--opt template=BACKUP`):
//! the backup is copied by `chatferry_core::ios_backup::Template` (never
//! modified), WhatsApp's ChatStorage.sqlite is merged in a work copy, new
//! media go under `Message/` beside it; `finish` replaces and adds the
//! blobs and sets each record's `Size` (iOS 10+ manifests hold no content
//! digest; shared/formats/whatsapp.md §3.2).

use crate::source::App;
use chatferry_core::ios_backup::{PasswordSource, Template};
use chatferry_core::{Error, Options, Result};
use std::path::{Path, PathBuf};

pub struct BackupTemplate(Template);

impl BackupTemplate {
    /// Copies `template` into `out` and returns it with the path of a
    /// private working copy of its ChatStorage.sqlite.
    pub fn open(template: &Path, out: &Path, options: &Options) -> Result<(BackupTemplate, PathBuf)> {
        // Into WhatsApp Business's container with --opt app=business; the same files inside.
        let app = App::wanted(options)?.unwrap_or(App::Personal);
        let (t, blob) = Template::open(
            template,
            out,
            app.domain(),
            "ChatStorage.sqlite",
            &format!(
                "it has no {app} ChatStorage.sqlite: install {app} on the new iPhone, register your number, then \
                 make the backup",
                app = app.name()
            ),
            &PasswordSource::for_template(options),
        )?;
        let chat_storage = t.work().join("ChatStorage.sqlite");
        if t.encrypted() {
            // Already a private decrypted copy: moved, not copied again.
            std::fs::rename(&blob, &chat_storage).map_err(|e| Error::io(&blob, "move", e))?;
        } else {
            chatferry_core::small_file::copy_regular(&blob, &chat_storage).map_err(|e| Error::io(&blob, "copy", e))?;
        }
        Ok((BackupTemplate(t), chat_storage))
    }

    pub fn message_root(&self) -> PathBuf {
        self.0.work().join("Message")
    }

    pub fn encrypted(&self) -> bool {
        self.0.encrypted()
    }

    /// Moves the merged store and the new media into the backup and updates
    /// Manifest.db; returns how many files were added.
    pub fn finish(self) -> Result<u64> {
        self.0.finish()
    }
}
