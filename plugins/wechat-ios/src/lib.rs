//! chatferry plugin for WeChat on iPhone: an account folder
//! `Documents/<md5(wxid)>/` (DB/MM.sqlite and DB/message_<n>.sqlite with
//! one `Chat_<md5(username)>` table per chat, DB/WCDB_Contact.sqlite,
//! session/session.db, Img/ Audio/ Video/ OpenData/), found directly or
//! inside an unencrypted iPhone backup. The databases are plain SQLite.

mod account;
mod export;
mod import;
mod proto;
mod schema;
mod source;

/// Entry points for the fuzz targets in fuzz/ (not an API).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::import::fuzz_contacts as contacts;

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_wechat_ios_contacts_corpus_passes() {
            chatferry_core::fuzzing::smoke("wechat_ios_contacts", super::contacts);
        }
    }
}

use chatferry_core::abi::guest::Plugin;
use chatferry_core::{
    Adapter, AdapterInfo, Capabilities, Exporter, Importer, OptionKind, OptionSpec, Options, PathKind, Result,
};
use std::path::Path;

pub const ADAPTER_ID: &str = "wechat-ios";

pub struct WeChatIos;

impl Adapter for WeChatIos {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: "WeChat (iPhone)".into(),
            description: "WeChat's Documents/<account>/ folder (DB/MM.sqlite, message_N.sqlite, WCDB_Contact.sqlite, \
                          session/, Img/, Audio/, Video/, OpenData/), the Documents folder, MM.sqlite alone, or an \
                          iPhone backup (encrypted too); writes the Documents layout or a new backup from a template"
                .into(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::FileOrFolder,
            output: PathKind::Folder,
            options: vec![
                OptionSpec::new(
                    "account",
                    OptionKind::Text,
                    "the WeChat account: its wxid or its Documents/<md5> folder name. Reading: which one when the \
                     backup holds several; writing: the owner when the source does not name one",
                ),
                OptionSpec::new(
                    "template",
                    OptionKind::Path,
                    "a backup of the new iPhone (WeChat installed and logged in): a new backup is written with \
                     WeChat's files replaced and added (encrypted with its password when the template is)",
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

pub struct WeChatIosPlugin;

impl Plugin for WeChatIosPlugin {
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(WeChatIos)]
    }
}

chatferry_core::export_plugin!(WeChatIosPlugin);
