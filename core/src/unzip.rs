//! Unpacking an export someone zipped (WhatsApp's iPhone "Export chat",
//! a Telegram export folder compressed to send it): into a private
//! temporary folder, member by member, refusing members that climb out of
//! it, links, and sizes or ratios no export has. Shared by the adapters that
//! read such zips, so each refuses the same things in the same words.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// No real export comes near these; a zip beyond them is refused.
const MAX_MEMBERS: usize = 200_000;
pub const MAX_TOTAL: u64 = 64 << 30;
const MAX_RATIO: u64 = 200;
/// Members (and zips) smaller than this are not held to MAX_RATIO: a tiny
/// file's ratio says nothing, and together they are bounded by the zip's.
const RATIO_FROM: u64 = 16 << 10;

/// A zip's files, unpacked; the folder goes when this is dropped.
pub struct Unpacked {
    pub dir: tempfile::TempDir,
    /// The folder the export's files are in: `dir`, or the one folder the
    /// zip holds everything in (a Mac's "Compress" of a folder).
    pub root: PathBuf,
    /// The unpacked files' paths below `root`, `/`-separated, in zip order.
    pub files: Vec<String>,
}

/// What a Mac adds when it zips a folder ("Compress"): resource forks
/// under `__MACOSX/`, `._NAME` files, Finder's `.DS_Store`. Not the
/// export's; passed over.
pub fn is_mac_extra(name: &str) -> bool {
    let last = name.trim_end_matches('/').rsplit('/').next().unwrap_or(name);
    name.starts_with("__MACOSX/") || last.starts_with("._") || last == ".DS_Store"
}

/// The one folder all of a zip's members are in, when the export was
/// zipped as a folder (a Mac's "Compress" of `WhatsApp Chat - NAME/`).
pub fn top_folder(names: &[&str]) -> Option<String> {
    let mut top: Option<&str> = None;
    for name in names.iter().filter(|n| !is_mac_extra(n)) {
        let (first, rest) = name.split_once('/')?;
        if first.is_empty() || first == ".." || first == "." {
            return None;
        }
        if rest.is_empty() {
            continue; // the folder's own entry
        }
        match top {
            None => top = Some(first),
            Some(t) if t == first => {}
            Some(_) => return None,
        }
    }
    top.map(str::to_string)
}

/// A member's name inside the top folder (the name itself without one).
pub fn inside_top<'a>(name: &'a str, top: Option<&str>) -> Option<&'a str> {
    match top {
        None => Some(name),
        Some(t) => name.strip_prefix(t)?.strip_prefix('/'),
    }
}

/// The names of a zip's members inside its top folder, Mac extras left
/// out: what `probe`s look at without unpacking anything.
pub fn member_names(path: &Path) -> Option<Vec<String>> {
    let f = crate::small_file::open_regular(path).ok()?;
    let z = zip::ZipArchive::new(f).ok()?;
    let names: Vec<&str> = z.file_names().collect();
    let top = top_folder(&names);
    Some(
        names
            .iter()
            .filter(|n| !is_mac_extra(n))
            .filter_map(|n| inside_top(n, top.as_deref()))
            .map(str::to_string)
            .collect(),
    )
}

/// What a zip would unpack to, from its listing, before anything is
/// written: compressed far beyond what photos and text allow is refused.
pub fn unpacked_size(zip: &mut zip::ZipArchive<std::fs::File>) -> std::result::Result<u64, String> {
    let (mut whole, mut packed) = (0u64, 0u64);
    for i in 0..zip.len() {
        let member = zip.by_index_raw(i).map_err(|e| format!("member {i} cannot be read ({e})"))?;
        if !is_mac_extra(member.name()) {
            whole = whole.saturating_add(member.size());
            packed = packed.saturating_add(member.compressed_size());
        }
    }
    if whole > MAX_TOTAL {
        return Err("it unpacks to more than 64 GiB".into());
    }
    if whole > RATIO_FROM && whole / packed.max(1) > MAX_RATIO {
        return Err(format!("it unpacks {}× its size, which no export does (a zip bomb?)", whole / packed.max(1)));
    }
    Ok(whole)
}

/// What the zip at `path` unpacks to, from its listing (checked as
/// [`unpacked_size`] checks it); the error says what is wrong with it.
pub fn size_of(path: &Path) -> Result<u64> {
    let bad = |why: String| Error::bad_input(format!("{}: {why}; nothing was read from it", path.display()));
    let f = crate::small_file::open_regular(path).map_err(|e| Error::io(path, "open", e))?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| bad(format!("not a readable zip ({e})")))?;
    unpacked_size(&mut zip).map_err(bad)
}

/// Unpacking `bytes` (of `what`) must leave the temporary folder (`free`
/// bytes) room: one that cannot hold them is said before anything is unpacked.
pub fn room_for(bytes: u64, what: &str, free: Option<u64>) -> Result<()> {
    let temp = std::env::temp_dir();
    if let Some(free) = free.filter(|free| bytes > *free) {
        use crate::disk::human;
        return Err(Error::io(
            &temp,
            &format!("unpack {what} into"),
            std::io::Error::other(format!(
                "it needs {} and the folder has {} free; set TMPDIR to a folder with room",
                human(bytes),
                human(free)
            )),
        ));
    }
    Ok(())
}

/// Unpacks the zip at `path` into a new private folder named `prefix…` in
/// the temporary folder. Every member must be a plain file of the export's
/// own folder; the first that is not (a link, `../x`, an absolute name, a
/// member that unpacks to more than it declares) stops it with an error
/// naming the member, and the folder is removed. `folders`: whether the
/// export has folders of its own (Telegram's `photos/`), or only files.
pub fn unpack(path: &Path, prefix: &str, folders: bool) -> Result<Unpacked> {
    let bad = |why: String| Error::bad_input(format!("{}: {why}; nothing was read from it", path.display()));
    let file = crate::small_file::open_regular(path).map_err(|e| Error::io(path, "open", e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a readable zip ({e})")))?;
    if zip.len() > MAX_MEMBERS {
        return Err(bad(format!("it holds {} members, more than any export", zip.len())));
    }
    let top = top_folder(&zip.file_names().collect::<Vec<_>>());
    let whole = unpacked_size(&mut zip).map_err(bad)?;
    let temp = std::env::temp_dir();
    room_for(whole, "the export", crate::disk::free_bytes(&temp))?;
    let dir =
        tempfile::Builder::new().prefix(prefix).tempdir().map_err(|e| Error::io(&temp, "create a folder in", e))?;
    let mut files = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(|e| bad(format!("member {i} cannot be read ({e})")))?;
        let raw = member.name().to_string();
        let shown = crate::error::shortened(&raw, 120);
        if member.is_dir() || is_mac_extra(&raw) {
            continue;
        }
        if member.is_symlink() {
            return Err(bad(format!("member {shown:?} is a link; an export holds none")));
        }
        let plain = member.enclosed_name().is_some() && !raw.contains('\\');
        let inner = inside_top(&raw, top.as_deref()).filter(|n| plain && is_plain_path(n, folders));
        let Some(rel) = inner.map(str::to_string) else {
            return Err(bad(format!(
                "member {shown:?} is not a file of the export's own folder (it would land outside the export)"
            )));
        };
        if raw.len() > 1024 || rel.split('/').any(|part| part.len() > 255) {
            return Err(bad(format!("member {shown:?} has a name longer than a file system allows")));
        }
        let size = member.size();
        total = total.saturating_add(size);
        if total > whole {
            return Err(bad(format!("member {shown:?} unpacks to more than its listing says")));
        }
        if size > RATIO_FROM && size / member.compressed_size().max(1) > MAX_RATIO {
            return Err(bad(format!(
                "member {shown:?} unpacks {}× its size (a zip bomb?)",
                size / member.compressed_size().max(1)
            )));
        }
        let out_path = dir.path().join(&rel);
        if let Some(parent) = out_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create", e))?;
        }
        let mut out = std::fs::File::create(&out_path).map_err(|e| Error::io(&out_path, "create", e))?;
        // Never more than the member says it holds, whatever its stream claims.
        let copied = std::io::copy(&mut (&mut member).take(size + 1), &mut out)
            .map_err(|e| bad(format!("member {shown:?} is damaged ({e})")))?;
        if copied != size {
            return Err(bad(format!("member {shown:?} holds {copied} bytes, not the {size} it declares")));
        }
        files.push(rel);
    }
    let root = dir.path().to_path_buf();
    Ok(Unpacked { dir, root, files })
}

/// A member's name that stays in its folder: a plain name, or (`folders`)
/// `/`-separated plain names, none empty, `.` or `..`.
fn is_plain_path(name: &str, folders: bool) -> bool {
    match folders {
        true => !name.is_empty() && name.split('/').all(crate::media::is_plain_file_name),
        false => crate::media::is_plain_file_name(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(path: &Path, members: &[(&str, &[u8])]) {
        let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in members {
            z.start_file(*name, stored).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }

    #[test]
    fn a_folder_zipped_unpacks_below_its_top_folder_and_climbing_out_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.zip");
        zip_of(&good, &[("Export/result.json", b"{}"), ("Export/photos/a.jpg", b"x"), ("__MACOSX/._a", b"")]);
        let u = unpack(&good, "chatferry-test-", true).unwrap();
        assert_eq!(u.files, ["result.json", "photos/a.jpg"]);
        assert_eq!(std::fs::read(u.root.join("photos/a.jpg")).unwrap(), b"x");
        let evil = dir.path().join("evil.zip");
        zip_of(&evil, &[("result.json", b"{}"), ("../../x.jpg", b"x")]);
        let err = unpack(&evil, "chatferry-test-", true).err().unwrap().to_string();
        assert!(err.contains("would land outside the export"), "{err}");
    }
}
