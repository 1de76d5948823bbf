//! chatferry adapter for Telegram Desktop's JSON export ("Export chat
//! history" of one chat, or "Export Telegram data" of the whole account):
//! `result.json` with its media folders, the folder, or a zip of it. Read
//! only: Telegram imports nothing but WhatsApp's "Export chat" text, which
//! the whatsapp-txt adapter writes. What real exports hold:
//! shared/formats/telegram-json.md.

mod import;
mod message;
mod people;
mod raw;
mod source;
mod walk;

/// Entry points for the fuzz targets in fuzz/ (not an API).
#[doc(hidden)]
pub mod fuzzing {
    use chatferry_core::{Adapter, Options};

    /// Bytes as a `result.json`, imported whole (both passes), errors ignored.
    pub fn export(bytes: &[u8]) {
        let Ok(dir) = tempfile::tempdir() else { return };
        let json = dir.path().join("result.json");
        if std::fs::write(&json, bytes).is_err() {
            return;
        }
        if let Ok(mut imp) = super::TelegramJson.open_importer(&json, &Options::new()) {
            let _ = chatferry_core::testing::drain(imp.as_mut(), 100);
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_telegram_json_corpus_passes() {
            chatferry_core::fuzzing::smoke("telegram_json", super::export);
        }
    }
}

use chatferry_core::abi::guest::Plugin;
use chatferry_core::{Adapter, AdapterInfo, Capabilities, Importer, OptionKind, OptionSpec, Options, PathKind, Result};
use std::path::Path;

/// The adapter's id on the command line (`chatferry convert result.json --from telegram-json`).
pub const ADAPTER_ID: &str = "telegram-json";

pub struct TelegramJson;

impl Adapter for TelegramJson {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: "Telegram Desktop export (JSON)".into(),
            description: "Telegram Desktop's \"Export chat history\" or \"Export Telegram data\" as \
                          machine-readable JSON: `result.json`, the folder holding it (ChatExport_…, \
                          DataExport_…) or a zip of that folder"
                .into(),
            capabilities: Capabilities { import: true, export: false },
            input: PathKind::FileOrFolder,
            output: PathKind::Folder,
            options: vec![
                OptionSpec::new(
                    "timezone",
                    OptionKind::Text,
                    "the time zone exports before mid-2022 wrote their times in, an IANA name (Europe/Berlin); \
                     default this machine's",
                ),
                OptionSpec::new(
                    "me",
                    OptionKind::Text,
                    "who you are in a single chat's export (it does not say): your name as the export writes it, \
                     or your user id",
                ),
            ],
        }
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        Ok(source::probe(path))
    }

    fn open_importer(&self, input: &Path, options: &Options) -> Result<Box<dyn Importer>> {
        Ok(Box::new(import::open(input, options)?))
    }
}

pub struct TelegramJsonPlugin;

impl Plugin for TelegramJsonPlugin {
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(TelegramJson)]
    }
}

chatferry_core::export_plugin!(TelegramJsonPlugin);
