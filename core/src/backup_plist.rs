//! The plists of an iPhone backup, readable without the rest of the backup
//! code: the host's `detect` uses `is_encrypted` to say that a backup needs
//! its password.

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
