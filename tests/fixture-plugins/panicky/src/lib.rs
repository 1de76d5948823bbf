//! Test fixture: a plugin with bugs. Its adapter `panicky` panics while
//! probing a path named `probe-panic`, while reading messages, and while
//! writing messages. The host must turn each into an error and live on.

use chatferry_core::abi::guest::Plugin;
use chatferry_core::*;
use std::path::Path;

struct Panicky;

fn out_of_bounds(index: usize) -> u8 {
    let empty: Vec<u8> = Vec::new();
    empty[index] // the kind of bug that really happens
}

impl Adapter for Panicky {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: "panicky".into(),
            name: "Panics (test fixture)".into(),
            description: "fails on purpose".into(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::FileOrFolder,
            output: PathKind::Folder,
            options: vec![],
        }
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        if path.file_name().is_some_and(|n| n == "probe-panic") {
            return Ok(out_of_bounds(7));
        }
        Ok(0)
    }

    fn open_importer(&self, _input: &Path, _options: &Options) -> Result<Box<dyn Importer>> {
        Ok(Box::new(PanickyImporter { calls: 0 }))
    }

    fn open_exporter(&self, output: &Path, _options: &Options) -> Result<Box<dyn Exporter>> {
        std::fs::create_dir(output).map_err(|e| Error::io(output, "create", e))?;
        std::fs::write(output.join("partial.txt"), b"half written").map_err(|e| Error::io(output, "write", e))?;
        Ok(Box::new(PanickyExporter))
    }
}

struct PanickyImporter {
    calls: u32,
}

impl Importer for PanickyImporter {
    fn header(&mut self) -> Result<Header> {
        Ok(Header { source_adapter: "panicky".into(), model_version: MODEL_VERSION.into(), ..Default::default() })
    }
    fn next_contacts(&mut self, _max: usize) -> Result<Vec<Contact>> {
        Ok(vec![])
    }
    fn next_chats(&mut self, _max: usize) -> Result<Vec<Chat>> {
        Ok(vec![])
    }
    fn next_messages(&mut self, _max: usize) -> Result<Vec<Message>> {
        self.calls += 1;
        if self.calls == 1 {
            return Ok(vec![Message {
                id: "1".into(),
                chat: "c".into(),
                text: Some("hi".into()),
                ..Default::default()
            }]);
        }
        out_of_bounds(3);
        Ok(vec![])
    }
}

struct PanickyExporter;

impl Exporter for PanickyExporter {
    fn begin(&mut self, _header: &Header) -> Result<()> {
        Ok(())
    }
    fn write_contacts(&mut self, _batch: Vec<Contact>) -> Result<()> {
        Ok(())
    }
    fn write_chats(&mut self, _batch: Vec<Chat>) -> Result<()> {
        Ok(())
    }
    fn write_messages(&mut self, _batch: Vec<Message>) -> Result<()> {
        panic!("exporter bug: cannot write messages");
    }
    fn finish(&mut self) -> Result<Report> {
        Ok(Report::new())
    }
}

struct PanickyPlugin;

impl Plugin for PanickyPlugin {
    const NAME: &'static str = "panicky";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "test fixture";
    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(Panicky)]
    }
}

chatferry_core::export_plugin!(PanickyPlugin);
