//! Where the exports are (formats doc §6): an Android `WhatsApp Chat with
//! NAME.txt` with its files beside it, an iPhone `WhatsApp Chat - NAME.zip`
//! holding `_chat.txt` and its files, or a folder of several. A zip is
//! unpacked into a private temporary folder, member by member, refusing
//! members that climb out of it, links, and sizes or ratios no export has.

use crate::folder::Listing;
use chatferry_core::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One chat's transcript and the folder its files are in.
#[derive(Clone)]
pub struct ChatFile {
    pub txt: PathBuf,
    pub media_root: PathBuf,
    pub title: String,
    /// How the person knows the file (the zip or txt they gave).
    pub shown: String,
    /// The files of `media_root`, when it was listed to find the transcript.
    pub listing: Option<Arc<Listing>>,
}

/// The exports found, and the private folders zips were unpacked into
/// (kept while the chats are read).
#[cfg(test)]
pub struct Found {
    pub chats: Vec<ChatFile>,
    pub _unpacked: Vec<tempfile::TempDir>,
}

/// No real export comes near these; a zip beyond them is refused.
const MAX_MEMBERS: usize = 200_000;
const MAX_TOTAL: u64 = 64 << 30;
const MAX_RATIO: u64 = 200;
/// Members (and zips) smaller than this are not held to MAX_RATIO: a tiny
/// file's ratio says nothing, and together they are bounded by the zip's.
const RATIO_FROM: u64 = 16 << 10;

/// The chat name a file's name carries.
pub fn title_of(name: &str) -> String {
    let stem = name.strip_suffix(".txt").or_else(|| name.strip_suffix(".zip")).unwrap_or(name);
    for prefix in ["WhatsApp Chat with ", "WhatsApp Chat - ", "WhatsApp Chat mit ", "Chat de WhatsApp con "] {
        if let Some(t) = stem.strip_prefix(prefix) {
            return t.trim().to_string();
        }
    }
    stem.trim().to_string()
}

fn is_transcript(name: &str) -> bool {
    name == "_chat.txt" || (name.ends_with(".txt") && name.contains("WhatsApp"))
}

/// Folders inside a folder that `probe` looks into for a transcript.
const PROBED_FOLDERS: usize = 500;

/// How sure we are that `path` is an export (0 = not one).
pub fn probe(path: &Path) -> u8 {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if path.is_file() {
        if name.ends_with(".zip") {
            return match zip_transcript(path) {
                Some(_) if name.contains("WhatsApp") => 95,
                Some(_) => 85,
                None => 0,
            };
        }
        return match first_line_is_header(path) {
            true if name.contains("WhatsApp") || name == "_chat.txt" => 95,
            true => 70,
            false => 0,
        };
    }
    if path.is_dir() {
        // An Android export's folder as WhatsApp names it holds a transcript
        // of its own name: found without listing its media.
        if name.starts_with("WhatsApp") && first_line_is_header(&path.join(format!("{name}.txt"))) {
            return 80;
        }
        let Ok(entries) = std::fs::read_dir(path) else { return 0 };
        // Every name is looked at: an Android export's folder can list a
        // hundred thousand media files before its transcript. Folders in it
        // are looked into, the first few hundred.
        let mut folders = 0;
        for e in entries.flatten().take(crate::folder::MAX_LISTED) {
            let n = e.file_name();
            let n = n.to_string_lossy();
            if is_transcript(&n) && first_line_is_header(&e.path()) {
                return 80;
            }
            if n.ends_with(".zip") && n.contains("WhatsApp") && zip_transcript(&e.path()).is_some() {
                return 80;
            }
            // A folder of Android exports, one folder each.
            if folders < PROBED_FOLDERS && e.file_type().is_ok_and(|t| t.is_dir()) {
                folders += 1;
                if transcript_in(&e.path()).is_some_and(|t| first_line_is_header(&t)) {
                    return 75;
                }
            }
        }
    }
    0
}

fn first_line_is_header(path: &Path) -> bool {
    let mut head = vec![0u8; 4096];
    let Ok(mut f) = chatferry_core::small_file::open_regular(path) else { return false };
    let n = f.read(&mut head).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| crate::header::parse(l).is_some())
}

/// The transcript member of a zip, if it has one.
fn zip_transcript(path: &Path) -> Option<String> {
    let f = chatferry_core::small_file::open_regular(path).ok()?;
    let z = zip::ZipArchive::new(f).ok()?;
    let names: Vec<&str> = z.file_names().collect();
    let top = top_folder(&names);
    let inner: Vec<&str> =
        names.iter().filter(|n| !is_mac_extra(n)).filter_map(|n| inside_top(n, top.as_deref())).collect();
    inner.iter().find(|n| **n == "_chat.txt").or_else(|| inner.iter().find(|n| is_transcript(n))).map(|n| n.to_string())
}

/// What a Mac adds when it zips a folder ("Compress"): resource forks
/// under `__MACOSX/`, `._NAME` files, Finder's `.DS_Store`. Not the
/// export's; passed over.
fn is_mac_extra(name: &str) -> bool {
    let last = name.trim_end_matches('/').rsplit('/').next().unwrap_or(name);
    name.starts_with("__MACOSX/") || last.starts_with("._") || last == ".DS_Store"
}

/// The one folder all of a zip's members are in, when the export was
/// zipped as a folder (a Mac's "Compress" of `WhatsApp Chat - NAME/`).
fn top_folder(names: &[&str]) -> Option<String> {
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
fn inside_top<'a>(name: &'a str, top: Option<&str>) -> Option<&'a str> {
    match top {
        None => Some(name),
        Some(t) => name.strip_prefix(t)?.strip_prefix('/'),
    }
}

/// Every chat in `input`, in name order (the import lists and reads them
/// in parallel, see `import::learn_all`; tests take them in one call).
#[cfg(test)]
pub fn find(input: &Path) -> Result<Found> {
    let Sources { items, unpacked } = sources(input)?;
    let chats = items.into_iter().filter_map(|item| match item {
        Source::Ready(chat) => Some(chat),
        Source::Folder(p) => listed_chat(&p),
    });
    let found = Found { chats: chats.collect(), _unpacked: unpacked };
    if found.chats.is_empty() {
        return Err(no_export(input));
    }
    Ok(found)
}

/// Where the chats of `input` are, in name order: found, or a folder that
/// may hold one (`listed_chat` says), so that listing a folder of many
/// files can go on beside other work. Zips are unpacked here, into private
/// folders that must outlive the import (exporters copy media after the
/// reader ends).
pub struct Sources {
    pub items: Vec<Source>,
    pub unpacked: Vec<tempfile::TempDir>,
}

pub enum Source {
    Ready(ChatFile),
    /// A folder in a folder of exports, not listed yet.
    Folder(PathBuf),
}

pub fn sources(input: &Path) -> Result<Sources> {
    let mut out = Sources { items: Vec::new(), unpacked: Vec::new() };
    let meta = std::fs::metadata(input).map_err(|e| Error::io(input, "read", e))?;
    if meta.is_file() {
        let (chat, unpacked) = one(input)?;
        out.items.push(Source::Ready(chat));
        out.unpacked.extend(unpacked);
        return Ok(out);
    }
    if let Some(chat) = listed_chat(input) {
        out.items.push(Source::Ready(chat));
        return Ok(out);
    }
    // Each entry's type comes with the listing (a link is neither a file
    // nor a folder here), as `transcript_in` takes it.
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(input)
        .map_err(|e| Error::io(input, "list", e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    // Every zip stays unpacked until the conversion ends (the writer copies
    // media after the reading): their sum must fit, said before the first.
    let zips: Vec<&PathBuf> = entries
        .iter()
        .filter(|(p, t)| t.is_file() && p.extension().is_some_and(|e| e == "zip") && zip_transcript(p).is_some())
        .map(|(p, _)| p)
        .collect();
    zips_fit(input, &zips, chatferry_core::disk::free_bytes(&std::env::temp_dir()))?;
    for (p, t) in entries {
        let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if t.is_file() && name.ends_with(".zip") && zip_transcript(&p).is_some() {
            let (chat, unpacked) = unzip(&p)?;
            out.items.push(Source::Ready(chat));
            out.unpacked.extend(unpacked);
        } else if t.is_file() && is_transcript(&name) {
            // Android exports side by side, their files in this folder too.
            out.items.push(Source::Ready(txt_chat(&p, input)));
        } else if t.is_dir() {
            out.items.push(Source::Folder(p));
        }
    }
    Ok(out)
}

/// The chat in the folder `p` (the input, or one in a folder of exports),
/// if it holds one.
pub fn listed_chat(p: &Path) -> Option<ChatFile> {
    let (txt, listing) = listed_transcript_in(p)?;
    Some(ChatFile { listing, ..txt_chat(&txt, p) })
}

/// What is said when `input` holds no chat.
pub fn no_export(input: &Path) -> Error {
    Error::bad_input(format!(
        "{} holds no WhatsApp export (a `WhatsApp Chat with NAME.txt`, `_chat.txt` or `WhatsApp Chat - NAME.zip`)",
        input.display()
    ))
}

/// The transcript in `dir`, with the folder's listing kept for its
/// attachments (a folder of exports is listed once, not twice).
fn listed_transcript_in(dir: &Path) -> Option<(PathBuf, Option<Arc<Listing>>)> {
    let Some(listing) = crate::folder::list(dir) else {
        return transcript_in(dir).map(|t| (t, None));
    };
    if listing.has_other_names() {
        // A name that is not UTF-8 may be the transcript's: looked for as before.
        return transcript_in(dir).map(|t| (t, Some(Arc::new(listing))));
    }
    let mut names: Vec<&str> = listing.texts().filter(|n| is_transcript(n)).collect();
    names.sort_unstable();
    // One transcript per folder: a folder with several, or with an export's
    // zip beside its transcript, is a folder of exports.
    let [name] = names[..] else { return None };
    if listing.texts().any(|n| is_export_zip(n) && zip_transcript(&dir.join(n)).is_some()) {
        return None;
    }
    Some((dir.join(name), Some(Arc::new(listing))))
}

fn transcript_in(dir: &Path) -> Option<PathBuf> {
    // Names first: a folder of exports can hold tens of thousands of media files.
    let (mut names, mut zips) = (Vec::new(), false);
    for e in std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if is_transcript(&name) {
            names.push(e.path());
        } else if is_export_zip(&name) && zip_transcript(&e.path()).is_some() {
            zips = true;
        }
    }
    names.sort();
    // One transcript per folder: a folder with several, or with an export's
    // zip beside its transcript, is a folder of exports.
    (names.len() == 1 && !zips).then(|| names.remove(0))
}

/// A name an iPhone export's zip has (`WhatsApp Chat - NAME.zip`).
fn is_export_zip(name: &str) -> bool {
    name.ends_with(".zip") && name.contains("WhatsApp")
}

fn one(path: &Path) -> Result<(ChatFile, Option<tempfile::TempDir>)> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if name.ends_with(".zip") {
        return unzip(path);
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok((txt_chat(path, parent), None))
}

fn txt_chat(txt: &Path, folder: &Path) -> ChatFile {
    let name = txt.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let title = if name == "_chat.txt" {
        folder.file_name().map(|n| title_of(&n.to_string_lossy())).unwrap_or_else(|| "chat".into())
    } else {
        title_of(&name)
    };
    ChatFile {
        txt: txt.to_path_buf(),
        media_root: folder.to_path_buf(),
        title,
        shown: txt.display().to_string(),
        listing: None,
    }
}

/// What a zip would unpack to, from its listing, before anything is
/// written: compressed far beyond what photos and text allow is refused.
fn unpacked_size(zip: &mut zip::ZipArchive<std::fs::File>) -> std::result::Result<u64, String> {
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

/// Whether a folder's export zips fit the temporary folder (`free` bytes)
/// all at once, as they must: every zip stays unpacked until the
/// conversion ends (the writer copies media after the reading).
fn zips_fit(input: &Path, zips: &[&PathBuf], free: Option<u64>) -> Result<()> {
    if zips.len() < 2 {
        return Ok(()); // one is checked as it is unpacked
    }
    let mut sum = 0u64;
    for p in zips {
        let bad = |why: String| Error::bad_input(format!("{}: {why}; nothing was read from it", p.display()));
        let f = chatferry_core::small_file::open_regular(p).map_err(|e| Error::io(p, "open", e))?;
        let mut zip = zip::ZipArchive::new(f).map_err(|e| bad(format!("not a readable zip ({e})")))?;
        sum = sum.saturating_add(unpacked_size(&mut zip).map_err(bad)?);
    }
    if sum > MAX_TOTAL {
        return Err(Error::bad_input(format!(
            "{}: its {} exports unpack to more than 64 GiB together; convert them a few at a time",
            input.display(),
            zips.len()
        )));
    }
    room_for(sum, &format!("the {} exports of {}", zips.len(), input.display()), free)
}

/// Unpacking `bytes` (of `what`) must leave the temporary folder (`free`
/// bytes) room: one that cannot hold them is said before anything is unpacked.
fn room_for(bytes: u64, what: &str, free: Option<u64>) -> Result<()> {
    let temp = std::env::temp_dir();
    if let Some(free) = free.filter(|free| bytes > *free) {
        use chatferry_core::disk::human;
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

/// Unpacks an iPhone export into a private temporary folder.
fn unzip(path: &Path) -> Result<(ChatFile, Option<tempfile::TempDir>)> {
    let bad = |why: String| Error::bad_input(format!("{}: {why}; nothing was read from it", path.display()));
    let file = chatferry_core::small_file::open_regular(path).map_err(|e| Error::io(path, "open", e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a readable zip ({e})")))?;
    if zip.len() > MAX_MEMBERS {
        return Err(bad(format!("it holds {} members, more than any export", zip.len())));
    }
    let top = top_folder(&zip.file_names().collect::<Vec<_>>());
    let whole = unpacked_size(&mut zip).map_err(bad)?;
    let temp = std::env::temp_dir();
    room_for(whole, "the export", chatferry_core::disk::free_bytes(&temp))?;
    let dir = tempfile::Builder::new()
        .prefix("chatferry-whatsapp-txt-")
        .tempdir()
        .map_err(|e| Error::io(&temp, "create a folder in", e))?;
    let mut transcript = None;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(|e| bad(format!("member {i} cannot be read ({e})")))?;
        let raw = member.name().to_string();
        let shown = chatferry_core::error::shortened(&raw, 120);
        if member.is_dir() || is_mac_extra(&raw) {
            continue;
        }
        if member.is_symlink() {
            return Err(bad(format!("member {shown:?} is a link; an export holds none")));
        }
        let plain = member.enclosed_name().is_some() && !raw.contains('\\');
        let inner = inside_top(&raw, top.as_deref()).filter(|n| plain && chatferry_core::media::is_plain_file_name(n));
        let Some(rel) = inner.map(PathBuf::from) else {
            return Err(bad(format!(
                "member {shown:?} is not a file of the export's own folder (it would land outside the export)"
            )));
        };
        if raw.len() > 1024 || rel.as_os_str().len() > 255 {
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
        let mut out = std::fs::File::create(&out_path).map_err(|e| Error::io(&out_path, "create", e))?;
        // Never more than the member says it holds, whatever its stream claims.
        let copied = std::io::copy(&mut (&mut member).take(size + 1), &mut out)
            .map_err(|e| bad(format!("member {shown:?} is damaged ({e})")))?;
        if copied != size {
            return Err(bad(format!("member {shown:?} holds {copied} bytes, not the {size} it declares")));
        }
        let name = rel.to_string_lossy().to_string();
        if name == "_chat.txt" || (transcript.is_none() && is_transcript(&name)) {
            transcript = Some(out_path);
        }
    }
    let Some(txt) = transcript else {
        return Err(bad("it holds no _chat.txt".into()));
    };
    let zip_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let chat = ChatFile {
        txt,
        media_root: dir.path().to_path_buf(),
        title: title_of(&zip_name),
        shown: path.display().to_string(),
        listing: None,
    };
    Ok((chat, Some(dir)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_transcript_whose_name_is_not_utf8_is_found() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let chat = dir.path().join("chat");
        std::fs::create_dir(&chat).unwrap();
        let name = std::ffi::OsStr::from_bytes(b"WhatsApp Chat with J\xfcrgen.txt");
        std::fs::write(chat.join(name), "1/2/24, 10:00 - J: hi\n").unwrap();
        std::fs::write(chat.join("IMG-1.jpg"), b"x").unwrap();
        for input in [dir.path(), chat.as_path()] {
            let found = find(input).unwrap();
            assert_eq!(found.chats.len(), 1);
            assert_eq!(found.chats[0].txt, chat.join(name));
            assert!(found.chats[0].listing.as_ref().is_some_and(|l| l.contains("IMG-1.jpg")));
        }
    }

    /// An Android export's folder: its transcript among tens of thousands
    /// of media files. Where it comes in a listing is the file system's
    /// choice (by a hash of the name on ext4): when only the first 10,000
    /// names were looked at, about half of these names were missed.
    #[test]
    fn an_export_is_recognised_among_many_media_files() {
        let dir = tempfile::tempdir().unwrap();
        let chat = dir.path().join("chat");
        std::fs::create_dir(&chat).unwrap();
        let mut transcript = chat.join("WhatsApp Chat with Anna.txt");
        std::fs::write(&transcript, "1/2/24, 10:00 - Anna: hi\n").unwrap();
        for i in 0..20_000 {
            std::fs::File::create(chat.join(format!("IMG-20240101-WA{i:05}.jpg"))).unwrap();
        }
        for name in ["Anna", "Ben", "Zoë", "家族", "Anna Maria", "+49 151 23456789"] {
            let renamed = chat.join(format!("WhatsApp Chat with {name}.txt"));
            std::fs::rename(&transcript, &renamed).unwrap();
            transcript = renamed;
            assert_eq!(probe(&chat), 80, "{name}");
            assert_eq!(probe(dir.path()), 75, "{name}: a folder of export folders");
            assert_eq!(find(&chat).unwrap().chats[0].title, name);
        }
        std::fs::remove_file(&transcript).unwrap();
        assert_eq!(probe(&chat), 0, "media alone are no export");
    }

    /// A folder named as WhatsApp names an export, with its transcript of
    /// that name, is recognised without listing it; a folder of that name
    /// whose own-named file is no transcript still is by the listing.
    #[test]
    fn an_export_folder_of_its_transcripts_name_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let chat = dir.path().join("WhatsApp Chat with Anna");
        std::fs::create_dir(&chat).unwrap();
        let own = chat.join("WhatsApp Chat with Anna.txt");
        std::fs::write(&own, "1/2/24, 10:00 - Anna: hi\n").unwrap();
        assert_eq!(probe(&chat), 80);
        std::fs::write(&own, "not a transcript\n").unwrap();
        assert_eq!(probe(&chat), 0, "an own-named file that is no transcript");
        std::fs::write(chat.join("WhatsApp Chat with Anna (2).txt"), "1/2/24, 10:00 - Anna: hi\n").unwrap();
        assert_eq!(probe(&chat), 80, "the listing finds another");
    }

    #[test]
    fn titles_come_from_file_names() {
        assert_eq!(title_of("WhatsApp Chat with +123 45 6789.txt"), "+123 45 6789");
        assert_eq!(title_of("WhatsApp Chat - Anna.zip"), "Anna");
        assert_eq!(title_of("family.txt"), "family");
    }

    #[test]
    fn a_folders_zips_must_fit_the_temporary_folder_together_before_one_is_unpacked() {
        let dir = tempfile::tempdir().unwrap();
        let mut zips = Vec::new();
        for name in ["WhatsApp Chat - Anna.zip", "WhatsApp Chat - Bo.zip"] {
            let p = dir.path().join(name);
            let mut z = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
            let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            z.start_file("_chat.txt", stored).unwrap();
            std::io::Write::write_all(&mut z, &[b'x'; 3000]).unwrap();
            z.finish().unwrap();
            zips.push(p);
        }
        let zips: Vec<&PathBuf> = zips.iter().collect();
        // Each fits alone, both do not: refused, naming what they need.
        let err = zips_fit(dir.path(), &zips, Some(5000)).unwrap_err().to_string();
        assert!(err.contains("the 2 exports of") && err.contains("set TMPDIR"), "{err}");
        zips_fit(dir.path(), &zips, Some(6000)).unwrap();
        zips_fit(dir.path(), &zips[..1], Some(10)).unwrap(); // one zip is checked as it is unpacked
    }
}
