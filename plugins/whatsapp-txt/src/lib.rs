//! chatferry adapter for WhatsApp's "Export chat" text: the one export
//! every person can make without root, keys or a computer, and the format
//! Telegram imports chats from. Reads Android `.txt` exports (with their
//! files), iPhone `.zip` exports, and folders of several; writes either.
//! What real exports look like: shared/formats/whatsapp-txt.md.

mod body;
mod export;
mod folder;
mod header;
mod import;
mod lines;
mod parallel;
mod source;
mod stream;

/// Entry points for the fuzz targets in fuzz/ (not an API).
#[doc(hidden)]
pub mod fuzzing {
    /// Bytes as a transcript: each line's header and body, then the whole
    /// file imported.
    pub fn transcript(bytes: &[u8]) {
        crate::import::fuzz_transcript(bytes);
    }

    /// Bytes as an iPhone export's zip, imported.
    pub fn zip(bytes: &[u8]) {
        crate::import::fuzz_import(bytes, "WhatsApp Chat - Fuzz.zip");
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_whatsapp_txt_lines_corpus_passes() {
            chatferry_core::fuzzing::smoke("whatsapp_txt_lines", super::transcript);
        }

        #[test]
        fn the_whatsapp_txt_zip_corpus_passes() {
            chatferry_core::fuzzing::smoke("whatsapp_txt_zip", super::zip);
        }
    }
}

use chatferry_core::abi::guest::Plugin;
use chatferry_core::{
    Adapter, AdapterInfo, Capabilities, Exporter, Importer, OptionKind, OptionSpec, Options, PathKind, Result,
};
use std::path::Path;

pub const ADAPTER_ID: &str = "whatsapp-txt";

pub struct WhatsAppTxt;

impl Adapter for WhatsAppTxt {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: "WhatsApp \"Export chat\" text".into(),
            description: "WhatsApp's Export chat: an Android `WhatsApp Chat with NAME.txt` with its files, an iPhone \
                          `WhatsApp Chat - NAME.zip`, or a folder of several; writes one per chat (Telegram imports these)"
                .into(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::FileOrFolder,
            output: PathKind::Folder,
            options: vec![
                OptionSpec::new(
                    "timezone",
                    OptionKind::Text,
                    "the time zone of the export's times, an IANA name (Europe/Berlin); default this machine's",
                ),
                OptionSpec::new(
                    "me",
                    OptionKind::Text,
                    "your name as the export writes it (reading: which author is you; writing: the name on your messages)",
                ),
                OptionSpec::new(
                    "date-order",
                    OptionKind::Text,
                    "dmy, mdy, ymd or ydm: how the export writes dates, when no day above 12 shows it (needed for a \
                     two-digit year first)",
                )
                .import_only(),
                OptionSpec::new(
                    "style",
                    OptionKind::Text,
                    "ios (default: a `WhatsApp Chat - NAME.zip` per chat) or android (a folder per chat with \
                     `WhatsApp Chat with NAME.txt`)",
                )
                .export_only(),
            ],
        }
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        Ok(source::probe(path))
    }

    fn open_importer(&self, input: &Path, options: &Options) -> Result<Box<dyn Importer>> {
        Ok(Box::new(import::open(input, options)?))
    }

    fn open_exporter(&self, output: &Path, options: &Options) -> Result<Box<dyn Exporter>> {
        Ok(Box::new(export::TxtExporter::create(output, options)?))
    }
}

pub struct WhatsAppTxtPlugin;

impl Plugin for WhatsAppTxtPlugin {
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(WhatsAppTxt)]
    }
}

chatferry_core::export_plugin!(WhatsAppTxtPlugin);
