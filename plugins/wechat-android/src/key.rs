//! The database key and opening EnMicroMsg.db.
//!
//! WeChat derives the SQLCipher passphrase from the phone and the account:
//! `md5(device_id + uin)` in lower-case hex, first 7 characters. The uin is
//! in shared_prefs; the device id is the IMEI, or the literal
//! `1234567890ABCDEF` WeChat uses when it cannot read one (Android 10+).
//! chatferry only uses what the person supplies or what the copied app
//! folder holds; it never reads anything from a running app.

use chatferry_core::sqlite::{self as db, sql_error};
use chatferry_core::{Error, Result};
use md5::{Digest, Md5};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The device id WeChat uses when it cannot read the IMEI.
pub const DEFAULT_IMEI: &str = "1234567890ABCDEF";

/// SQLCipher page size of EnMicroMsg.db (SQLCipher version 1 settings).
pub const PAGE_SIZE: u64 = 1024;

pub fn derive_key(imei: &str, uin: &str) -> String {
    let digest = Md5::digest(format!("{imei}{uin}").as_bytes());
    hex::encode(digest)[..7].to_string()
}

/// The account folder's name: `md5("mm" + uin)`.
pub fn account_dir_name(uin: &str) -> String {
    hex::encode(Md5::digest(format!("mm{uin}").as_bytes()))
}

/// A uin as WeChat writes it: a signed 32-bit decimal.
pub fn check_uin(uin: &str) -> Result<String> {
    let t = uin.trim();
    t.parse::<i32>().map(|u| u.to_string()).map_err(|_| {
        Error::usage(format!(
            "uin {uin:?} is not a WeChat uin (a whole number such as -1570123456, from shared_prefs/auth_info_key_prefs.xml)"
        ))
    })
}

/// The key as WeChat uses it (7 lower-case hex digits). An error never
/// repeats what was given: it may be a real key with a typo.
pub fn check_key(key: &str) -> Result<String> {
    let k = key.trim().to_ascii_lowercase();
    if k.len() == 7 && k.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(k)
    } else {
        Err(Error::usage(format!(
            "the key given ({} characters) is not a WeChat database key: that is 7 hexadecimal characters, e.g. 1a2b3c4",
            k.chars().count()
        )))
    }
}

/// The key from `--opt key-file=` (the key alone in a text file: it stays
/// off the command line, where other users of the machine can see it) or
/// `--opt key=`.
pub fn given_key(options: &chatferry_core::Options) -> Result<Option<String>> {
    match (options.get("key"), options.path("key-file")) {
        (Some(_), Some(_)) => Err(Error::usage("give the database key once: --opt key-file= or --opt key=, not both")),
        (Some(k), None) => check_key(k).map(Some),
        (None, Some(path)) => {
            let text = chatferry_core::small_file::read_text(&path, "the key file", 4096)?;
            check_key(&text).map(Some)
        }
        (None, None) => Ok(None),
    }
}

/// Applies WeChat's SQLCipher settings (version 1: PBKDF2-SHA1 with 4000
/// iterations, no HMAC, 1024-byte pages) with `key` to a fresh connection.
pub fn apply_key(conn: &Connection, key: &str) -> rusqlite::Result<()> {
    conn.pragma_update(None, "key", key)?;
    conn.execute_batch("PRAGMA cipher_compatibility = 1;")
}

/// How the database file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The person's own file, read-only and immutable: nothing beside it
    /// is written. Only for a database with no `-wal` beside it.
    InPlace,
    /// A private copy (made because a `-wal` sits beside the original):
    /// opened normally, so SQLite reads the copied WAL.
    PrivateCopy,
}

/// Opens the database with `key`; `Ok(None)` when the key does not decrypt it.
pub fn try_open(path: &Path, key: Option<&str>, access: Access) -> Result<Option<Connection>> {
    let conn = match access {
        Access::InPlace => db::open_immutable(path),
        Access::PrivateCopy => {
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        }
    }
    .map_err(|e| sql_error(path, e))?;
    if let Some(key) = key {
        apply_key(&conn, key).map_err(|e| sql_error(path, e))?;
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {
            conn.pragma_update(None, "temp_store", "FILE").map_err(|e| sql_error(path, e))?;
            Ok(Some(conn))
        }
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::NotADatabase => Ok(None),
        Err(e) => Err(sql_error(path, e)),
    }
}

/// The uin recorded in a copied app folder's shared_prefs, in the order
/// tools trust them.
pub fn uins_from_prefs(app_root: &Path) -> Vec<String> {
    uins_from_prefs_with_source(app_root).into_iter().map(|(u, _)| u).collect()
}

/// Each uin in shared_prefs with the file it came from.
pub fn uins_from_prefs_with_source(app_root: &Path) -> Vec<(String, &'static str)> {
    let prefs = app_root.join("shared_prefs");
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for (file, name, shown) in [
        ("auth_info_key_prefs.xml", "_auth_uin", "shared_prefs/auth_info_key_prefs.xml"),
        ("system_config_prefs.xml", "default_uin", "shared_prefs/system_config_prefs.xml"),
        ("com.tencent.mm_preferences.xml", "last_login_uin", "shared_prefs/com.tencent.mm_preferences.xml"),
    ] {
        if let Some(u) = pref_value(&prefs.join(file), name).and_then(|u| check_uin(&u).ok()) {
            if !out.iter().any(|(o, _)| *o == u) {
                out.push((u, shown));
            }
        }
    }
    out
}

/// The device id WeChat keyed the database with, from `MicroMsg/CompatibleInfo.cfg`
/// (a Java-serialised HashMap, key 258). `Err` names what is wrong with a damaged file.
pub fn device_id_from_settings(micromsg: &Path) -> std::result::Result<Option<String>, String> {
    settings_value(&micromsg.join("CompatibleInfo.cfg"), 258)
        .map(|v| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
}

/// The uin from `MicroMsg/systemInfo.cfg` (a Java-serialised HashMap, key 1).
pub fn uin_from_settings(micromsg: &Path) -> std::result::Result<Option<String>, String> {
    match settings_value(&micromsg.join("systemInfo.cfg"), 1)? {
        Some(u) => check_uin(&u).map(Some).map_err(|_| format!("its uin {u:?} is not a whole number")),
        None => Ok(None),
    }
}

/// One value of a settings file; `Ok(None)` when the file or the key is not there.
fn settings_value(file: &Path, key: i64) -> std::result::Result<Option<String>, String> {
    if !file.is_file() {
        return Ok(None);
    }
    if is_link(file) {
        return Err("it is a link, which chatferry does not follow out of the input".into());
    }
    let bytes = chatferry_core::small_file::read(file, "the settings file", crate::javaser::MAX_INPUT as u64)
        .map_err(|e| e.message)?;
    crate::javaser::map_value(&bytes, key)
}

/// A value from an Android shared_prefs XML file: `<int name="N" value="V"/>`
/// or `<string name="N">V</string>`.
pub fn pref_value(file: &Path, name: &str) -> Option<String> {
    // A prefs file is never a link on a phone, and a few kilobytes: a link
    // (to /dev/zero, or out of the input) or a huge file is not read.
    if is_link(file) {
        return None;
    }
    let bytes = chatferry_core::small_file::read(file, "the settings file", MAX_PREFS).ok()?;
    pref_in(&String::from_utf8(bytes).ok()?, name)
}

/// `pref_value` of a prefs file's text.
pub fn pref_in(text: &str, name: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut in_wanted = false;
    loop {
        match reader.read_event().ok()? {
            Event::Empty(e) | Event::Start(e) if attr(&e, "name").as_deref() == Some(name) => {
                if let Some(v) = attr(&e, "value") {
                    return Some(v);
                }
                in_wanted = true;
            }
            Event::Text(t) if in_wanted => return t.unescape().ok().map(|s| s.trim().to_string()),
            Event::End(_) => in_wanted = false,
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The most a shared_prefs file is read: WeChat's are a few kilobytes.
const MAX_PREFS: u64 = 1 << 20;

fn is_link(file: &Path) -> bool {
    file.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink())
}

fn attr(e: &quick_xml::events::BytesStart, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| a.unescape_value().ok()).map(|v| v.into_owned())
}

/// shared_prefs files as WeChat writes them, for an exported folder.
pub fn prefs_files(uin: &str, username: Option<&str>) -> Vec<(&'static str, String)> {
    let head = "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n";
    let mut mm = format!("{head}    <string name=\"last_login_uin\">{uin}</string>\n");
    if let Some(u) = username {
        mm.push_str(&format!("    <string name=\"login_weixin_username\">{}</string>\n", quick_xml::escape::escape(u)));
    }
    mm.push_str("</map>\n");
    vec![
        ("auth_info_key_prefs.xml", format!("{head}    <int name=\"_auth_uin\" value=\"{uin}\" />\n</map>\n")),
        ("system_config_prefs.xml", format!("{head}    <int name=\"default_uin\" value=\"{uin}\" />\n</map>\n")),
        ("com.tencent.mm_preferences.xml", mm),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefs_file_that_is_a_link_or_huge_is_not_read() {
        // Read whole and through links: a link to /dev/zero filled memory.
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("auth_info_key_prefs.xml");
        std::fs::write(&good, r#"<map><int name="_auth_uin" value="-1570123456" /></map>"#).unwrap();
        assert_eq!(pref_value(&good, "_auth_uin").as_deref(), Some("-1570123456"));
        let link = dir.path().join("link.xml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert_eq!(pref_value(&link, "_auth_uin"), None);
        let outside = dir.path().join("outside.xml");
        std::os::unix::fs::symlink(&good, &outside).unwrap();
        assert_eq!(pref_value(&outside, "_auth_uin"), None, "a link is not followed, even to a good file");
        let huge = dir.path().join("huge.xml");
        let f = std::fs::File::create(&huge).unwrap();
        f.set_len(3 << 30).unwrap();
        assert_eq!(pref_value(&huge, "_auth_uin"), None);
    }

    #[test]
    fn key_rule_matches_the_documented_example() {
        // md5("1234567890ABCDEF" + "-1570123456"), first 7 hex digits.
        let full = hex::encode(Md5::digest(b"1234567890ABCDEF-1570123456"));
        assert_eq!(derive_key(DEFAULT_IMEI, "-1570123456"), full[..7]);
        assert_eq!(account_dir_name("1"), hex::encode(Md5::digest(b"mm1")));
        assert_eq!(check_uin(" -1570123456 ").unwrap(), "-1570123456");
        assert!(check_uin("12ab").is_err());
        assert_eq!(check_key("00001EF").unwrap(), "00001ef");
        assert!(check_key("00001e").is_err());
    }

    #[test]
    fn reads_prefs_written_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("shared_prefs")).unwrap();
        for (name, text) in prefs_files("-42", Some("wxid_me")) {
            std::fs::write(dir.path().join("shared_prefs").join(name), text).unwrap();
        }
        assert_eq!(uins_from_prefs(dir.path()), vec!["-42".to_string()]);
        let mm = dir.path().join("shared_prefs/com.tencent.mm_preferences.xml");
        assert_eq!(pref_value(&mm, "login_weixin_username").as_deref(), Some("wxid_me"));
    }

    #[test]
    fn opens_the_public_cracker_fixture_with_its_key_only() {
        let test = "opens_the_public_cracker_fixture_with_its_key_only";
        let Some(fixture) = chatferry_core::testing::public_fixture("wechat/chg-hou-test-EnMicroMsg.db", test) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("EnMicroMsg.db");
        std::fs::copy(&fixture, &copy).unwrap();
        for access in [Access::InPlace, Access::PrivateCopy] {
            assert!(try_open(&copy, Some("00001ee"), access).unwrap().is_none(), "a wrong key must not open it");
            let conn = try_open(&copy, Some("00001ef"), access).unwrap().expect("the documented key opens it");
            let n: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'test_table'", [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 1);
        }
    }
}
