//! chatferry plugin for WhatsApp on Android: msgstore.db (modern and legacy
//! schemas), wa.db, the Media folder, and crypt14/crypt15 backups.

mod codes;
mod crypt;
mod export;
mod gcm;
mod import;
mod source;

/// Entry points for the fuzz targets in fuzz/ (not an API).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::crypt::fuzz_backup as backup;

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_whatsapp_backup_corpus_passes() {
            chatferry_core::fuzzing::smoke("whatsapp_backup", super::backup);
        }
    }
}

use chatferry_core::abi::guest::Plugin;
use chatferry_core::{
    Adapter, AdapterInfo, Capabilities, Exporter, Importer, OptionKind, OptionSpec, Options, PathKind, Result,
};
use std::path::Path;

pub const ADAPTER_ID: &str = "whatsapp-android";

pub struct WhatsAppAndroid;

impl Adapter for WhatsAppAndroid {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: "WhatsApp (Android)".into(),
            description:
                "msgstore.db, msgstore.db.crypt14/.crypt15 backups, or a WhatsApp folder (Databases/, Media/, wa.db)"
                    .into(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::FileOrFolder,
            output: PathKind::Folder,
            options: vec![
                OptionSpec::new(
                    "key-file",
                    OptionKind::Path,
                    "the backup key: a text file with the 64-digit end-to-end key (.crypt15) or encrypted_backup.key, \
                     or the `key` file (.crypt14, reading only); when writing, a crypt15 backup is made with it",
                ),
                OptionSpec::new(
                    "wa-db",
                    OptionKind::Path,
                    "wa.db with contact names, if it is not next to msgstore.db",
                )
                .import_only(),
                OptionSpec::new(
                    "media-dir",
                    OptionKind::Path,
                    "the WhatsApp folder holding Media/, if it is not next to the database",
                )
                .import_only(),
                OptionSpec::new(
                    "app",
                    OptionKind::Text,
                    "personal or business: which app's folder is read when the folder given holds both WhatsApp and \
                     WhatsApp Business (asked when both are there)",
                )
                .import_only(),
                OptionSpec::new(
                    "statuses",
                    OptionKind::Text,
                    "keep: read WhatsApp's Status feed (stories) as one broadcast chat; left out by default, as it \
                     is not chat history",
                )
                .import_only(),
                OptionSpec::new(
                    "owner",
                    OptionKind::Text,
                    "your own phone number with country code (+4915…); WhatsApp's database does not record it",
                ),
                OptionSpec::new(
                    "region",
                    OptionKind::Text,
                    "the country (two letters: DE, GB, CN, …) of phone numbers given without +country code, in \
                     --opt owner= and in a contact map",
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

    fn open_exporter(&self, output: &Path, options: &Options) -> Result<Box<dyn Exporter>> {
        Ok(Box::new(export::WaExporter::create(output, options)?))
    }
}

pub struct WhatsAppAndroidPlugin;

impl Plugin for WhatsAppAndroidPlugin {
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(WhatsAppAndroid)]
    }
}

chatferry_core::export_plugin!(WhatsAppAndroidPlugin);
