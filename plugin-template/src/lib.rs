//! A chatferry plugin: one adapter for a folder of tab-separated text.
//! Copy this crate to add a format (`chatferry plugin new NAME`).

mod tsv;

use chatferry_core::abi::guest::Plugin;
use chatferry_core::{
    Adapter, AdapterInfo, Capabilities, Exporter, Importer, OptionKind, OptionSpec, Options, PathKind, Result,
};
use std::path::Path;

/// The adapter's id on the command line (`--to template`).
pub const ADAPTER_ID: &str = "template";
/// The name shown in `chatferry adapters`.
pub const ADAPTER_NAME: &str = "Tab-separated text (plugin template)";

pub struct TsvAdapter;

impl Adapter for TsvAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: ADAPTER_NAME.into(),
            description: "A folder with contacts.tsv, chats.tsv and messages.tsv, for spreadsheets".into(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::Folder,
            output: PathKind::Folder,
            options: vec![OptionSpec::new(
                "time-format",
                OptionKind::Text,
                "how times are written: `ms` (milliseconds since 1970, default) or `iso` (UTC text, plus ms)",
            )
            .export_only()],
        }
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        Ok(tsv::probe(path))
    }

    fn open_importer(&self, input: &Path, _options: &Options) -> Result<Box<dyn Importer>> {
        Ok(Box::new(tsv::TsvImporter::open(input)?))
    }

    fn open_exporter(&self, output: &Path, options: &Options) -> Result<Box<dyn Exporter>> {
        Ok(Box::new(tsv::TsvExporter::create(output, options)?))
    }
}

pub struct TemplatePlugin;

impl Plugin for TemplatePlugin {
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(TsvAdapter)]
    }
}

chatferry_core::export_plugin!(TemplatePlugin);
