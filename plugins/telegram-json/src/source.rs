//! Where the export is (formats doc §1): `result.json` itself, the folder
//! Telegram Desktop wrote (`ChatExport_<date>/`, `DataExport_<date>/`, or
//! the folder above one), or a zip of that folder. Media paths in the JSON
//! are relative to the folder holding it.

use chatferry_core::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

pub struct Source {
    pub json: PathBuf,
    /// The folder media paths are relative to.
    pub root: PathBuf,
    /// How the person knows the input, for messages.
    pub shown: String,
    /// A zip's private unpacked folder: whoever takes it keeps the files.
    pub unpacked: Option<tempfile::TempDir>,
}

const NAME: &str = "result.json";

pub fn locate(input: &Path) -> Result<Source> {
    let shown = input.display().to_string();
    let meta = std::fs::metadata(input).map_err(|e| Error::io(input, "read", e))?;
    if meta.is_file() {
        if is_zip(input) {
            let unpacked = chatferry_core::unzip::unpack(input, "chatferry-telegram-json-", true)?;
            // The shallowest result.json: the export's own, not one inside a media folder.
            let found = unpacked
                .files
                .iter()
                .filter(|f| f.rsplit('/').next() == Some(NAME))
                .min_by_key(|f| f.matches('/').count())
                .cloned();
            let Some(rel) = found else {
                return Err(Error::bad_input(format!(
                    "{shown} holds no result.json: zip the folder Telegram Desktop exported (with result.json), \
                     exported as \"Machine-readable JSON\""
                )));
            };
            let json = unpacked.root.join(&rel);
            let root = json.parent().map(Path::to_path_buf).unwrap_or_else(|| unpacked.root.clone());
            return Ok(Source { json, root, shown, unpacked: Some(unpacked.dir) });
        }
        let root = input.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        return Ok(Source { json: input.to_path_buf(), root, shown, unpacked: None });
    }
    if let Some(json) = json_in(input) {
        return Ok(Source { json, root: input.to_path_buf(), shown, unpacked: None });
    }
    // The folder above the export's (where Telegram Desktop puts it: Downloads/Telegram Desktop/).
    let mut inner: Vec<PathBuf> = std::fs::read_dir(input)
        .map_err(|e| Error::io(input, "list", e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| json_in(p).is_some())
        .collect();
    inner.sort();
    match inner.len() {
        1 => {
            let root = inner.remove(0);
            Ok(Source { json: root.join(NAME), root, shown, unpacked: None })
        }
        0 => Err(Error::bad_input(format!(
            "{shown} holds no result.json: give the folder Telegram Desktop exported (ChatExport_… or \
             DataExport_…), exported as \"Machine-readable JSON\" (an HTML-only export cannot be read; export \
             again choosing JSON)"
        ))),
        n => Err(Error::usage(format!(
            "{shown} holds {n} Telegram exports ({}); convert one at a time",
            inner.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn json_in(dir: &Path) -> Option<PathBuf> {
    let p = dir.join(NAME);
    std::fs::symlink_metadata(&p).ok().filter(|m| m.is_file()).map(|_| p)
}

fn is_zip(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    chatferry_core::small_file::open_regular(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok()
        && &magic == b"PK\x03\x04"
}

/// How sure we are that `path` is a Telegram export (0: not one), from the
/// first bytes of its JSON: the keys only Telegram writes at the top.
pub fn probe(path: &Path) -> u8 {
    if path.is_dir() {
        let json = json_in(path).or_else(|| {
            let mut found = std::fs::read_dir(path).ok()?.filter_map(|e| e.ok()).filter_map(|e| json_in(&e.path()));
            let one = found.next()?;
            found.next().is_none().then_some(one)
        });
        return json.map_or(0, |j| head_score(&j).saturating_sub(5));
    }
    if is_zip(path) {
        let has = chatferry_core::unzip::member_names(path)
            .is_some_and(|names| names.iter().any(|n| n == NAME || n.ends_with("/result.json")));
        return if has { 80 } else { 0 };
    }
    head_score(path)
}

fn head_score(json: &Path) -> u8 {
    let mut head = vec![0u8; 16 << 10];
    let Ok(mut f) = chatferry_core::small_file::open_regular(json) else { return 0 };
    let n = f.read(&mut head).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    if !text.trim_start().starts_with('{') {
        return 0;
    }
    let has = |k: &str| text.contains(k);
    let chat_type = [
        "\"personal_chat\"",
        "\"private_group\"",
        "\"private_supergroup\"",
        "\"public_supergroup\"",
        "\"private_channel\"",
        "\"public_channel\"",
        "\"bot_chat\"",
        "\"saved_messages\"",
    ]
    .iter()
    .any(|t| text.contains(t));
    if has("\"personal_information\"") || (has("\"chats\"") && has("\"about\"")) {
        95
    } else if has("\"messages\"") && (chat_type || has("\"date_unixtime\"") || has("\"from_id\"")) {
        90
    } else if has("\"messages\"") && has("\"from\"") && has("\"text\"") {
        60
    } else {
        0
    }
}
