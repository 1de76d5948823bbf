//! What the person pointed at: a ChatStorage.sqlite (media in the
//! `Message/` folder beside it), the WhatsApp shared folder holding it, or
//! an iPhone backup (files found through Manifest.db; an encrypted one is
//! first decrypted, WhatsApp's files only, into a private folder).

use chatferry_core::ios_backup::{self, file_id, Decrypted, Manifest, PasswordSource};
use chatferry_core::sqlite as db;
use chatferry_core::{Error, Options, Result};
use std::path::{Path, PathBuf};

/// The backup domain of WhatsApp's shared app-group container.
pub const DOMAIN: &str = "AppDomainGroup-group.net.whatsapp.WhatsApp.shared";
/// WhatsApp Business's, with the same files inside (whatsapp-2024-2026.md §4).
pub const SMB_DOMAIN: &str = "AppDomainGroup-group.net.whatsapp.WhatsAppSMB.shared";

/// The two apps in a backup's Manifest.plist `Applications`.
const BUNDLE_IDS: [&str; 2] = ["net.whatsapp.WhatsApp", "net.whatsapp.WhatsAppSMB"];

/// Which WhatsApp a backup's chats are read from (or written into).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum App {
    Personal,
    Business,
}

impl App {
    pub fn domain(self) -> &'static str {
        match self {
            App::Personal => DOMAIN,
            App::Business => SMB_DOMAIN,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            App::Personal => "WhatsApp",
            App::Business => "WhatsApp Business",
        }
    }
    /// `--opt app=personal|business`, if given.
    pub fn wanted(options: &Options) -> Result<Option<App>> {
        match options.get("app") {
            None => Ok(None),
            Some("personal") => Ok(Some(App::Personal)),
            Some("business") => Ok(Some(App::Business)),
            Some(other) => Err(Error::usage(format!("--opt app={other}: give app=personal or app=business"))),
        }
    }
}

/// Where media files of `ZMEDIALOCALPATH` (relative to `Message/`) are.
#[derive(Clone)]
pub enum MediaRoot {
    None,
    /// The `Message/` folder.
    Folder(PathBuf),
    /// A backup folder: `Message/<path>` of the domain is looked up by its file id.
    Backup(PathBuf, &'static str),
}

impl MediaRoot {
    /// The folder a relative path must stay in, and the path to check.
    pub fn locate(&self, local_path: &str) -> Option<(PathBuf, String)> {
        match self {
            MediaRoot::None => None,
            MediaRoot::Folder(root) => Some((root.clone(), local_path.to_string())),
            MediaRoot::Backup(root, domain) => {
                // Refuse escapes before hashing: the id hides the path.
                if local_path.split('/').any(|c| c == "..") || local_path.starts_with('/') {
                    return Some((root.clone(), local_path.to_string()));
                }
                let id = file_id(domain, &format!("Message/{local_path}"));
                Some((root.clone(), format!("{}/{id}", &id[..2])))
            }
        }
    }
}

pub struct Source {
    pub chat_storage: PathBuf,
    /// `LID.sqlite` (phone number ⇄ hidden-number id pairs), when beside it.
    pub lid_db: Option<PathBuf>,
    pub media: MediaRoot,
    pub backup: Option<PathBuf>,
    /// What the report says about decrypting an encrypted backup.
    pub notes: Vec<String>,
    _temp: Option<tempfile::TempDir>,
    /// The decrypted view of an encrypted backup (media are read from it).
    pub decrypted: Option<Decrypted>,
}

fn is_chat_storage(path: &Path) -> bool {
    db::is_sqlite(path)
        && db::open_read_only(path)
            .is_ok_and(|c| db::has_table(&c, "ZWAMESSAGE") && db::has_table(&c, "ZWACHATSESSION"))
}

/// The blob of `relative_path` in `domain`, via Manifest.db.
fn backup_file(dir: &Path, domain: &str, relative_path: &str) -> Result<Option<PathBuf>> {
    Manifest::open(dir)?.find(domain, relative_path)
}

/// The apps of a backup (`dir`: plain, or an encrypted one's decrypted
/// view) that have a ChatStorage.sqlite, with it.
fn stores_in(dir: &Path, apps: &[App]) -> Result<Vec<(App, PathBuf)>> {
    let mut found = Vec::new();
    for app in apps {
        if let Some(f) = backup_file(dir, app.domain(), "ChatStorage.sqlite")? {
            found.push((*app, f));
        }
    }
    Ok(found)
}

pub fn probe(path: &Path) -> u8 {
    if path.is_file() {
        return if is_chat_storage(path) { 95 } else { 0 };
    }
    if path.join("Manifest.db").is_file() {
        if ios_backup::is_encrypted(path) {
            // Its files are known only once decrypted; its app list is not encrypted.
            let has = BUNDLE_IDS.map(|id| ios_backup::has_app(path, id));
            return if has.contains(&Some(true)) {
                85
            } else if has.contains(&None) {
                55
            } else {
                0
            };
        }
        return match stores_in(path, &[App::Personal, App::Business]).map(|f| f.is_empty()) {
            Ok(false) => 90,
            // It lists WhatsApp's store under a file id or a blob it will
            // not use: ours to say why.
            Err(_) => 60,
            Ok(true) => 0,
        };
    }
    if is_chat_storage(&path.join("ChatStorage.sqlite")) {
        return 90;
    }
    0
}

impl Source {
    pub fn resolve(input: &Path, options: &Options) -> Result<Source> {
        let mut decrypted = None;
        let mut notes = Vec::new();
        let (file, lid, media, backup) = if input.is_dir() && input.join("Manifest.db").is_file() {
            let apps: &[App] = match App::wanted(options)? {
                Some(App::Personal) => &[App::Personal],
                Some(App::Business) => &[App::Business],
                None => &[App::Personal, App::Business],
            };
            // An encrypted backup is read through its decrypted view: each
            // app's store first (to choose), then the chosen app's files.
            let mut d = if ios_backup::is_encrypted(input) {
                let mut d = Decrypted::open(input, &PasswordSource::for_reading(options))?;
                for app in apps {
                    d.decrypt(app.domain(), "ChatStorage.sqlite")?;
                }
                Some(d)
            } else {
                None
            };
            let dir = d.as_ref().map_or_else(|| input.to_path_buf(), |d| d.dir().to_path_buf());
            let found = stores_in(&dir, apps)?;
            let (app, file) = match &found[..] {
                [] => {
                    let why = match apps {
                        [one] => format!("no {} chats (no ChatStorage.sqlite in {})", one.name(), one.domain()),
                        _ => format!("no WhatsApp chats (no ChatStorage.sqlite in {DOMAIN} or {SMB_DOMAIN})"),
                    };
                    if let Some(why) = d.as_ref().and_then(|d| d.failure("ChatStorage.sqlite")) {
                        return Err(Error::bad_input(format!(
                            "the encrypted iPhone backup {}: WhatsApp's ChatStorage.sqlite {why}",
                            input.display()
                        )));
                    }
                    return Err(Error::bad_input(format!("the iPhone backup {} holds {why}", input.display())));
                }
                [one] => one.clone(),
                _ => {
                    return Err(Error::usage(format!(
                        "the iPhone backup {} holds both WhatsApp and WhatsApp Business: {}",
                        input.display(),
                        chatferry_core::adapter::BOTH_APPS
                    )))
                }
            };
            if let Some(d) = d.as_mut() {
                d.decrypt(app.domain(), "%")?;
                notes = d.notes();
            }
            if app == App::Business {
                notes.push(format!("read WhatsApp Business's chats ({})", app.domain()));
            }
            decrypted = d;
            let lid = backup_file(&dir, app.domain(), "LID.sqlite")?;
            (file, lid, MediaRoot::Backup(dir, app.domain()), Some(input.to_path_buf()))
        } else if input.is_dir() {
            let file = input.join("ChatStorage.sqlite");
            if !file.is_file() {
                return Err(Error::bad_input(format!(
                    "{} holds neither ChatStorage.sqlite nor an iPhone backup (Manifest.db)",
                    input.display()
                )));
            }
            let media = input.join("Message");
            let lid = Some(input.join("LID.sqlite"));
            (file, lid, if media.is_dir() { MediaRoot::Folder(media) } else { MediaRoot::None }, None)
        } else if input.is_file() {
            let media = input.parent().map(|p| p.join("Message")).filter(|m| m.is_dir());
            let lid = input.parent().map(|p| p.join("LID.sqlite"));
            (input.to_path_buf(), lid, media.map(MediaRoot::Folder).unwrap_or(MediaRoot::None), None)
        } else {
            return Err(Error::bad_input(format!("{} does not exist", input.display())));
        };
        if !db::is_sqlite(&file) {
            return Err(Error::bad_input(format!("{} is not an SQLite database", file.display())));
        }
        let mut temp: Option<tempfile::TempDir> = None;
        let mut temp_dir = || -> Result<PathBuf> {
            if temp.is_none() {
                temp = Some(
                    tempfile::Builder::new()
                        .prefix("chatferry-wa-ios-")
                        .tempdir()
                        .map_err(|e| Error::io(Path::new("temporary folder"), "create", e))?,
                );
            }
            Ok(temp.as_ref().expect("set").path().to_path_buf())
        };
        let chat_storage = db::copy_if_wal(&file, &mut temp_dir, "ChatStorage.sqlite")?;
        // Optional: a store without it (or with one that is not a database) reads without its pairs.
        // A link is not followed (it may lead out of the input).
        let plain_file = |p: &PathBuf| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
        let lid_db = match lid.filter(|p| plain_file(p) && db::is_sqlite(p)) {
            Some(p) => Some(db::copy_if_wal(&p, &mut temp_dir, "LID.sqlite")?),
            None => None,
        };
        Ok(Source { chat_storage, lid_db, media, backup, notes, _temp: temp, decrypted })
    }
}
