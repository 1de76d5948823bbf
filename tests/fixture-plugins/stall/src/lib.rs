//! Test fixture: the adapter `stall` reads any file named `*.stall`. Like
//! an importer that decrypts a backup, it keeps a private temporary folder
//! (under TMPDIR) holding "private" data; it hands over one message and
//! then waits about a minute before the next, so a test can stop the run
//! while the output is half written.

use chatferry_core::abi::guest::Plugin;
use chatferry_core::*;
use std::path::Path;

struct Stall;

impl Adapter for Stall {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: "stall".into(),
            name: "Stalls (test fixture)".into(),
            description: "waits mid-import on purpose".into(),
            capabilities: Capabilities { import: true, export: false },
            input: PathKind::File,
            output: PathKind::Folder,
            options: vec![],
        }
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        Ok(if path.extension().is_some_and(|e| e == "stall") { 100 } else { 0 })
    }

    fn open_importer(&self, _input: &Path, _options: &Options) -> Result<Box<dyn Importer>> {
        let temp = tempfile::Builder::new()
            .prefix("chatferry-stall-")
            .tempdir()
            .map_err(|e| Error::io(Path::new("temporary folder"), "create", e))?;
        std::fs::write(temp.path().join("decrypted.db"), b"private messages")
            .map_err(|e| Error::io(temp.path(), "write", e))?;
        Ok(Box::new(StallImporter { chat_sent: false, message_sent: false, _temp: temp }))
    }

    fn open_exporter(&self, _output: &Path, _options: &Options) -> Result<Box<dyn Exporter>> {
        Err(Error::usage("stall cannot export"))
    }
}

struct StallImporter {
    chat_sent: bool,
    message_sent: bool,
    _temp: tempfile::TempDir,
}

impl Importer for StallImporter {
    fn header(&mut self) -> Result<Header> {
        Ok(Header { source_adapter: "stall".into(), model_version: MODEL_VERSION.into(), ..Default::default() })
    }
    fn next_contacts(&mut self, _max: usize) -> Result<Vec<Contact>> {
        Ok(vec![])
    }
    fn next_chats(&mut self, _max: usize) -> Result<Vec<Chat>> {
        if std::mem::replace(&mut self.chat_sent, true) {
            return Ok(vec![]);
        }
        Ok(vec![Chat { id: "c".into(), ..Default::default() }])
    }
    fn next_messages(&mut self, _max: usize) -> Result<Vec<Message>> {
        if !std::mem::replace(&mut self.message_sent, true) {
            return Ok(vec![Message {
                id: "1".into(),
                chat: "c".into(),
                text: Some("before the wait".into()),
                ..Default::default()
            }]);
        }
        // Long enough for any test to stop the run; short enough that a
        // test that fails to stop it does not hang forever.
        std::thread::sleep(std::time::Duration::from_secs(60));
        Ok(vec![])
    }
}

struct StallPlugin;

impl Plugin for StallPlugin {
    const NAME: &'static str = "stall";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "test fixture";
    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(Stall)]
    }
}

chatferry_core::export_plugin!(StallPlugin);
