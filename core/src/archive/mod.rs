//! The canonical archive: a folder any tool can read without chatferry.
//!
//! ```text
//! manifest.json    format name, model version, source adapter, owner, counts
//! contacts.jsonl   one contact per line
//! chats.jsonl      one chat per line
//! messages.jsonl   one message per line
//! media/ab/abcdef….jpg   files named by their sha256
//! ```
//!
//! Built into core and always available as the adapter `archive`; tests use
//! it to look at what an import produced.

mod reader;
mod writer;

pub use reader::{fuzz_lines, ArchiveImporter, MAX_LINE};
pub use writer::ArchiveExporter;

use crate::adapter::{Adapter, AdapterInfo, Capabilities, Exporter, Importer, Options, PathKind};
use crate::error::Result;
use crate::model::{Contact, Extras};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const ADAPTER_ID: &str = "archive";
/// The value of `format` in every manifest.
pub const FORMAT_NAME: &str = "chatferry-archive";
pub const MANIFEST: &str = "manifest.json";
pub const CONTACTS: &str = "contacts.jsonl";
pub const CHATS: &str = "chats.jsonl";
pub const MESSAGES: &str = "messages.jsonl";
pub const MEDIA_DIR: &str = "media";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub contacts: u64,
    pub chats: u64,
    pub messages: u64,
    /// Distinct media files in `media/`.
    pub media_files: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub model_version: String,
    /// The adapter that read the original store.
    pub source_adapter: String,
    pub owner: Option<Contact>,
    pub counts: Counts,
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extras: Extras,
}

/// The built-in `archive` adapter.
pub struct ArchiveAdapter;

impl Adapter for ArchiveAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: "chatferry canonical archive".into(),
            description: "An open folder of JSON Lines files and content-addressed media; \
                          readable without chatferry"
                .into(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::Folder,
            output: PathKind::Folder,
            options: vec![],
        }
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        let manifest = path.join(MANIFEST);
        if !manifest.is_file() {
            return Ok(0);
        }
        // A manifest that names our format is certain; a damaged one is
        // still most likely ours (the importer then says what is wrong).
        // Read with the importer's size limit: probing a crafted folder must
        // not read a huge file (or a FIFO) named manifest.json.
        let text = crate::small_file::read_text(&manifest, "the archive's manifest", 1 << 20).unwrap_or_default();
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) if v.get("format").and_then(|f| f.as_str()) == Some(FORMAT_NAME) => Ok(100),
            Ok(_) => Ok(0),
            Err(_) if path.join(MESSAGES).is_file() => Ok(60),
            Err(_) => Ok(0),
        }
    }

    fn open_importer(&self, input: &Path, _options: &Options) -> Result<Box<dyn Importer>> {
        Ok(Box::new(ArchiveImporter::open(input)?))
    }

    fn open_exporter(&self, output: &Path, _options: &Options) -> Result<Box<dyn Exporter>> {
        Ok(Box::new(ArchiveExporter::create(output)?))
    }
}
