//! The plists of an iPhone backup, readable without the rest of the backup
//! code: the host's `detect` uses `is_encrypted` to say that a backup needs
//! its password, and `backups` lists what each says of itself.

use crate::{Error, Result};
use std::path::Path;

/// Whether the backup says it is encrypted (Manifest.plist `IsEncrypted`).
pub fn is_encrypted(dir: &Path) -> bool {
    read_plist(&dir.join("Manifest.plist"), "the backup's Manifest.plist").ok().is_some_and(|v| says_encrypted(&v))
}

/// Whether the backup's Manifest.plist lists the app `bundle_id` among its
/// `Applications` (`None` when it has no such list): readable without the
/// password, so an encrypted backup's adapter is known before opening it.
pub fn has_app(dir: &Path, bundle_id: &str) -> Option<bool> {
    let v = read_plist(&dir.join("Manifest.plist"), "the backup's Manifest.plist").ok()?;
    let apps = v.as_dictionary()?.get("Applications")?.as_dictionary()?;
    Some(apps.contains_key(bundle_id))
}

/// What a backup says of itself without its password: Info.plist and
/// Manifest.plist are never encrypted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// The phone's name as its owner set it ("Anna's iPhone").
    pub device: Option<String>,
    /// The iOS version (`17.5.1`).
    pub ios: Option<String>,
    /// When the backup was made, UTC (`2026-12-01T10:00:00Z`).
    pub date_utc: Option<String>,
    pub encrypted: bool,
    /// The bundle ids of the apps whose data it holds (`net.whatsapp.WhatsApp`).
    pub apps: Vec<String>,
}

/// The summary of the backup in `dir`, or `None` when it has neither
/// Info.plist nor Manifest.plist to read (not a backup).
pub fn summary(dir: &Path) -> Option<Summary> {
    let info = read_plist(&dir.join("Info.plist"), "the backup's Info.plist").ok();
    let manifest = read_plist(&dir.join("Manifest.plist"), "the backup's Manifest.plist").ok();
    if info.is_none() && manifest.is_none() {
        return None;
    }
    let info = info.as_ref().and_then(|v| v.as_dictionary());
    let lockdown = manifest.as_ref().and_then(|m| m.as_dictionary()?.get("Lockdown")?.as_dictionary());
    let text = |d: Option<&plist::Dictionary>, key: &str| -> Option<String> {
        d?.get(key)?.as_string().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
    };
    let date = |d: Option<&plist::Dictionary>, key: &str| -> Option<String> {
        let t: std::time::SystemTime = d?.get(key)?.as_date()?.into();
        let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
        Some(crate::time::format_utc(ms))
    };
    let manifest_dict = manifest.as_ref().and_then(|m| m.as_dictionary());
    let mut apps: Vec<String> = manifest_dict
        .and_then(|m| m.get("Applications")?.as_dictionary())
        .map(|a| a.keys().cloned().collect())
        .unwrap_or_default();
    if apps.is_empty() {
        // Older backups list their apps in Info.plist only.
        apps = info
            .and_then(|i| i.get("Installed Applications")?.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_string().map(str::to_string)).collect())
            .unwrap_or_default();
    }
    apps.sort();
    Some(Summary {
        device: text(info, "Device Name").or_else(|| text(lockdown, "DeviceName")),
        ios: text(info, "Product Version").or_else(|| text(lockdown, "ProductVersion")),
        date_utc: date(info, "Last Backup Date").or_else(|| date(manifest_dict, "Date")),
        encrypted: manifest.as_ref().is_some_and(says_encrypted),
        apps,
    })
}

pub(crate) fn says_encrypted(v: &plist::Value) -> bool {
    v.as_dictionary().and_then(|d| d.get("IsEncrypted")).and_then(|e| e.as_boolean()).unwrap_or(false)
}

/// The plists of a backup or an app's folder are at most a few hundred KB;
/// a larger one (or a device, or a pipe) is not read.
pub const MAX_PLIST: u64 = 16 << 20;

/// A plist file (XML or binary), read only when it is a regular file of at
/// most `MAX_PLIST` bytes.
pub fn read_plist(path: &Path, what: &str) -> Result<plist::Value> {
    let bytes = crate::small_file::read(path, what, MAX_PLIST).map_err(|e| Error::bad_input(e.message))?;
    // The parser's own words (`InvalidTrailerObjectOffsetSize`) tell a
    // person nothing.
    plist::Value::from_reader(std::io::Cursor::new(bytes)).map_err(|_| {
        Error::bad_input(format!("{what} {} is damaged (not a property list that can be read)", path.display()))
    })
}
