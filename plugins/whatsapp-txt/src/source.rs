//! Where the exports are (formats doc §6): an Android `WhatsApp Chat with
//! NAME.txt` with its files beside it, an iPhone `WhatsApp Chat - NAME.zip`
//! holding `_chat.txt` and its files, or a folder of several. A zip is
//! unpacked into a private temporary folder, member by member, refusing
//! members that climb out of it, links, and sizes or ratios no export has.

use crate::folder::Listing;
use chatferry_core::unzip::{self, room_for, MAX_TOTAL};
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
    let inner = unzip::member_names(path)?;
    inner.iter().find(|n| *n == "_chat.txt").or_else(|| inner.iter().find(|n| is_transcript(n))).cloned()
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

/// Whether a folder's export zips fit the temporary folder (`free` bytes)
/// all at once, as they must: every zip stays unpacked until the
/// conversion ends (the writer copies media after the reading).
fn zips_fit(input: &Path, zips: &[&PathBuf], free: Option<u64>) -> Result<()> {
    if zips.len() < 2 {
        return Ok(()); // one is checked as it is unpacked
    }
    let mut sum = 0u64;
    for p in zips {
        sum = sum.saturating_add(unzip::size_of(p)?);
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

fn unzip(path: &Path) -> Result<(ChatFile, Option<tempfile::TempDir>)> {
    let unpacked = unzip::unpack(path, "chatferry-whatsapp-txt-", false)?;
    let name =
        unpacked.files.iter().find(|n| *n == "_chat.txt").or_else(|| unpacked.files.iter().find(|n| is_transcript(n)));
    let Some(name) = name else {
        return Err(Error::bad_input(format!("{}: it holds no _chat.txt; nothing was read from it", path.display())));
    };
    let zip_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let chat = ChatFile {
        txt: unpacked.root.join(name),
        media_root: unpacked.root.clone(),
        title: title_of(&zip_name),
        shown: path.display().to_string(),
        listing: None,
    };
    Ok((chat, Some(unpacked.dir)))
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
