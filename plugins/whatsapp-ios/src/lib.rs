//! chatferry plugin for WhatsApp on iPhone: ChatStorage.sqlite (Core Data)
//! and iPhone backups, encrypted or not.

mod codes;
mod export;
mod identities;
mod import;
mod proto;
mod source;
mod template;

/// Entry points for the fuzz targets in fuzz/ (not an API).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::proto::fuzz_blobs as blobs;

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_whatsapp_ios_blobs_corpus_passes() {
            chatferry_core::fuzzing::smoke("whatsapp_ios_blobs", super::blobs);
        }
    }
}

use chatferry_core::abi::guest::Plugin;
use chatferry_core::{
    Adapter, AdapterInfo, Capabilities, Exporter, Importer, OptionKind, OptionSpec, Options, PathKind, Result,
};
use std::path::Path;

pub const ADAPTER_ID: &str = "whatsapp-ios";

pub struct WhatsAppIos;

impl Adapter for WhatsAppIos {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: "WhatsApp (iPhone)".into(),
            description: "ChatStorage.sqlite with its Message/ folder, or an iPhone backup folder (encrypted too); \
                          writes ChatStorage.sqlite + Message/Media"
                .into(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::IosBackup,
            output: PathKind::Folder,
            options: vec![
                OptionSpec::new(
                    "app",
                    OptionKind::Text,
                    "personal or business: which app's chats a backup holding both WhatsApp and WhatsApp Business is \
                     read from (asked when both are there), or which app's container in a template is written into \
                     (default personal)",
                ),
                OptionSpec::new(
                    "statuses",
                    OptionKind::Text,
                    "keep: read WhatsApp's Status feed (each person's stories) as one broadcast chat; left out by \
                     default, as it is not chat history",
                )
                .import_only(),
                OptionSpec::new(
                    "owner",
                    OptionKind::Text,
                    "your own phone number with country code (+4915…); the store does not record it",
                ),
                OptionSpec::new(
                    "region",
                    OptionKind::Text,
                    "the country (two letters: DE, GB, CN, …) of phone numbers given without +country code, in \
                     --opt owner= and in a contact map",
                ),
                OptionSpec::new(
                    "template",
                    OptionKind::Path,
                    "the new iPhone's ChatStorage.sqlite or backup folder: the history is added to a copy of it (its \
                     data model kept) and, for a backup, a new backup folder is written (encrypted when the template is)",
                )
                .export_only(),
            ]
            .into_iter()
            .chain(chatferry_core::ios_backup::password_options())
            .collect(),
        }
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        Ok(source::probe(path))
    }

    fn open_importer(&self, input: &Path, options: &Options) -> Result<Box<dyn Importer>> {
        Ok(Box::new(import::open(input, options)?))
    }

    fn open_exporter(&self, output: &Path, options: &Options) -> Result<Box<dyn Exporter>> {
        Ok(Box::new(export::IosExporter::create(output, options)?))
    }
}

pub struct WhatsAppIosPlugin;

impl Plugin for WhatsAppIosPlugin {
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(WhatsAppIos)]
    }
}

chatferry_core::export_plugin!(WhatsAppIosPlugin);
