//! chatferry plugin `html`: history as pages a person can read in any
//! browser, offline. Export only (it proves the host enforces capabilities).

mod navigation;
mod polls_events;
mod render;
mod search;
mod spill;

use chatferry_core::abi::guest::Plugin;
use chatferry_core::{Adapter, AdapterInfo, Capabilities, Exporter, OptionKind, OptionSpec, Options, PathKind, Result};
use std::path::Path;

pub const ADAPTER_ID: &str = "html";
/// Messages per page unless `--opt page-size` says otherwise: a 100,000-
/// message chat becomes 200 pages that each open at once.
pub const DEFAULT_PAGE_SIZE: usize = 500;

pub struct HtmlAdapter;

impl Adapter for HtmlAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: "Readable HTML pages".into(),
            description: "A folder with index.html and paginated pages per chat, media inline; no network needed"
                .into(),
            capabilities: Capabilities { import: false, export: true },
            input: PathKind::Folder,
            output: PathKind::Folder,
            options: vec![
                OptionSpec::new("page-size", OptionKind::Number, "messages per page (default 500)").export_only()
            ],
        }
    }

    fn open_exporter(&self, output: &Path, options: &Options) -> Result<Box<dyn Exporter>> {
        let page_size = match options.number("page-size")? {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n >= 1 && n <= 100_000 => n as usize,
            Some(n) => return Err(chatferry_core::Error::usage(format!("page-size must be 1 to 100000, not {n}"))),
        };
        Ok(Box::new(render::HtmlExporter::create(output, page_size)?))
    }
}

pub struct HtmlPlugin;

impl Plugin for HtmlPlugin {
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(HtmlAdapter)]
    }
}

chatferry_core::export_plugin!(HtmlPlugin);
