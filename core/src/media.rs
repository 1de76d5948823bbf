//! Media helpers: resolving a store's relative media path safely inside its
//! folder, hashing files, and the content-addressed media store that the
//! archive (and any adapter that wants one) writes into.

use crate::error::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

/// Why a media path was not resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolve {
    /// The file is there.
    Found(PathBuf),
    /// The path is fine but nothing is there (recorded as missing media).
    Missing(PathBuf),
}

/// Joins a path taken from a store (`Media/WhatsApp Images/IMG-1.jpg`) onto
/// the folder it must stay in. A path that is absolute, climbs out with
/// `..`, or leads out through a symbolic link is refused with an error that
/// names it: a store must never make chatferry read files elsewhere.
pub fn resolve_inside(root: &Path, relative: &str) -> Result<Resolve> {
    let rel = Path::new(relative);
    let mut depth: i32 = 0;
    for comp in rel.components() {
        match comp {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(escape_error(root, relative));
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(escape_error(root, relative)),
        }
    }
    let joined = root.join(rel);
    let Ok(meta) = std::fs::symlink_metadata(&joined) else {
        return Ok(Resolve::Missing(joined));
    };
    // The lexical check passed; now make sure no symlink leads outside.
    // Folders are resolved once per run (a store keeps thousands of files
    // in a few folders); only a file that is itself a link is resolved
    // fully.
    let real_root = canonical_dir(root)?;
    let real = if meta.file_type().is_symlink() {
        match joined.canonicalize() {
            Ok(r) => r,
            Err(_) => return Ok(Resolve::Missing(joined)), // a dangling link
        }
    } else {
        match (joined.parent(), joined.file_name()) {
            (Some(parent), Some(name)) => canonical_dir(parent)?.join(name),
            _ => joined.canonicalize().map_err(|e| Error::io(&joined, "resolve", e))?,
        }
    };
    if !real.starts_with(&real_root) {
        return Err(escape_error(root, relative));
    }
    let is_file = if meta.file_type().is_symlink() { real.is_file() } else { meta.is_file() };
    if !is_file {
        return Ok(Resolve::Missing(joined));
    }
    Ok(Resolve::Found(real))
}

/// A folder's canonical path, remembered for the rest of the run. A folder
/// that is not itself a link is its parent's canonical path plus its name:
/// one `lstat` instead of resolving every component from `/` again, which
/// matters where a store spreads its files over tens of thousands of
/// folders (WeChat's `image2/ab/cd/`).
fn canonical_dir(dir: &Path) -> Result<PathBuf> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static DIRS: RefCell<HashMap<PathBuf, PathBuf>> = RefCell::new(HashMap::new());
    }
    if let Some(hit) = DIRS.with(|d| d.borrow().get(dir).cloned()) {
        return Ok(hit);
    }
    let resolve = |e| Error::io(dir, "resolve", e);
    let mut parts = dir.components();
    let real = match (parts.next_back(), parts.as_path()) {
        (Some(Component::Normal(name)), parent) if !parent.as_os_str().is_empty() => {
            if std::fs::symlink_metadata(dir).map_err(resolve)?.file_type().is_symlink() {
                dir.canonicalize().map_err(resolve)?
            } else {
                canonical_dir(parent)?.join(name)
            }
        }
        _ => dir.canonicalize().map_err(resolve)?,
    };
    DIRS.with(|d| {
        let mut d = d.borrow_mut();
        if d.len() >= 4096 {
            d.clear(); // bounded: memory stays flat however many folders
        }
        d.insert(dir.to_path_buf(), real.clone());
    });
    Ok(real)
}

fn escape_error(root: &Path, relative: &str) -> Error {
    Error::bad_input(format!(
        "media path {relative:?} leads outside the media folder {}; refusing to read it",
        root.display()
    ))
}

/// Whether an error from [`resolve_inside`] is the "escapes its folder" refusal.
pub fn is_escape(err: &Error) -> bool {
    err.kind == ErrorKind::BadInput && err.message.contains("leads outside the media folder")
}

/// SHA-256 (lower-case hex) and size of a file, read in a stream.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    hash_copy(path, None)
}

/// SHA-256 (raw bytes) and size of a file, read in a stream.
pub fn hash_file_bytes(path: &Path) -> Result<([u8; 32], u64)> {
    hash_copy_bytes(path, None)
}

/// Streams `source` through SHA-256, also writing the bytes to `copy` if
/// given (one pass for hashing and copying). Returns the hex hash and size.
fn hash_copy(source: &Path, copy: Option<(&mut dyn Write, &Path)>) -> Result<(String, u64)> {
    let (digest, size) = hash_copy_bytes(source, copy)?;
    Ok((hex::encode(digest), size))
}

fn hash_copy_bytes(source: &Path, copy: Option<(&mut dyn Write, &Path)>) -> Result<([u8; 32], u64)> {
    let input = crate::small_file::open_regular(source).map_err(|e| Error::io(source, "read media file", e))?;
    hash_stream(input, source, copy)
}

/// [`hash_copy_bytes`] of an opened `source`.
fn hash_stream(mut input: File, source: &Path, copy: Option<(&mut dyn Write, &Path)>) -> Result<([u8; 32], u64)> {
    /// Hashes what passes through on its way to `out`.
    struct Hashing<'a> {
        hasher: Sha256,
        out: Option<&'a mut dyn Write>,
        /// A write error, kept apart so it is not reported as a read error.
        write_failed: Option<io::Error>,
    }
    impl Write for Hashing<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(out) = self.out.as_mut() {
                if let Err(e) = out.write_all(buf) {
                    let kind = e.kind();
                    self.write_failed = Some(e);
                    return Err(io::Error::from(kind));
                }
            }
            self.hasher.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.out.as_mut().map_or(Ok(()), |o| o.flush())
        }
    }
    let (out, out_path) = match copy {
        Some((out, path)) => (Some(out), Some(path)),
        None => (None, None),
    };
    let mut sink = Hashing { hasher: Sha256::new(), out, write_failed: None };
    let size = match io::copy(&mut input, &mut sink) {
        Ok(n) => n,
        Err(e) => {
            return Err(match (sink.write_failed.take(), out_path) {
                (Some(w), Some(path)) => Error::io(path, "write", w),
                _ => Error::io(source, "read media file", e),
            })
        }
    };
    Ok((sink.hasher.finalize().into(), size))
}

/// Whether `s` is a lower-case hex SHA-256.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `name` cut to at most `max` bytes at a character boundary, its
/// extension kept: a file system takes 255 bytes per name, and a document
/// named with 90 CJK characters (270 bytes) aborted whole exports. Callers
/// leave room below 255 for numbering (` (2)`) and prefixes.
pub fn fit_name(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= 16 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let mut cut = max.saturating_sub(ext.len()).min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// One plain file name, no folder: `IMG-1.jpg`, not `a/b`, `..`, `.` or
/// `/x`. What a name read from a file must be before it is joined to a
/// folder (a zip member, a registry entry).
pub fn is_plain_file_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(Component::Normal(_)), None)) && !name.contains('/')
}

/// The most bytes a file name made from a history may take (see `fit_name`).
pub const NAME_AT_MOST: usize = 200;

/// The extension a media file gets in a content-addressed store: from the
/// MIME type where known, else from the original name, else `bin`.
pub fn extension_for(mime: Option<&str>, file_name: Option<&str>) -> String {
    if let Some(ext) = mime.and_then(extension_for_mime) {
        return ext.to_string();
    }
    if let Some(ext) = file_name
        .and_then(|n| Path::new(n).extension())
        .and_then(|e| e.to_str())
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return ext.to_ascii_lowercase();
    }
    "bin".to_string()
}

const MIME_EXTENSIONS: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/gif", "gif"),
    ("image/webp", "webp"),
    ("image/heic", "heic"),
    ("image/wxgf", "wxgf"),
    ("video/mp4", "mp4"),
    ("video/3gpp", "3gp"),
    ("video/quicktime", "mov"),
    ("audio/ogg", "ogg"),
    ("audio/opus", "opus"),
    ("audio/mpeg", "mp3"),
    ("audio/mp4", "m4a"),
    ("audio/aac", "aac"),
    ("audio/amr", "amr"),
    ("audio/silk", "silk"),
    ("audio/wav", "wav"),
    ("application/pdf", "pdf"),
    ("text/plain", "txt"),
    ("text/vcard", "vcf"),
    ("application/zip", "zip"),
];

/// `image/jpeg` → `jpg`; parameters (`audio/ogg; codecs=opus`) are ignored.
pub fn extension_for_mime(mime: &str) -> Option<&'static str> {
    let base = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    MIME_EXTENSIONS.iter().find(|(m, _)| *m == base).map(|(_, e)| *e)
}

/// `jpg` → `image/jpeg`, for stores that keep no MIME type.
pub fn mime_for_extension(ext: &str) -> Option<&'static str> {
    // Compared ignoring case: no lower-cased copy per file.
    let ext = if ext.eq_ignore_ascii_case("jpeg") { "jpg" } else { ext };
    MIME_EXTENSIONS.iter().find(|(_, e)| e.eq_ignore_ascii_case(ext)).map(|(m, _)| *m)
}

/// The MIME type a file's first bytes show, for stores that keep none or
/// name files wrongly (WeChat's WXGF images are named `.jpg`). `None` when
/// the bytes are not one of the formats chat apps store.
pub fn sniff_mime(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if starts(b"wxgf") {
        Some("image/wxgf")
    } else if starts(b"#!SILK_V3") || starts(b"\x02#!SILK_V3") {
        Some("audio/silk")
    } else if starts(b"#!AMR") {
        Some("audio/amr")
    } else if starts(b"OggS") {
        Some("audio/ogg")
    } else if starts(b"%PDF") {
        Some("application/pdf")
    } else if starts(b"PK\x03\x04") {
        Some("application/zip")
    } else if head.get(4..8) == Some(b"ftyp") {
        match head.get(8..12) {
            Some(b"heic" | b"heix" | b"mif1") => Some("image/heic"),
            Some(b"qt  ") => Some("video/quicktime"),
            Some(b"M4A ") => Some("audio/mp4"),
            Some(b"3gp4" | b"3gp5" | b"3gp6") => Some("video/3gpp"),
            _ => Some("video/mp4"),
        }
    } else {
        None
    }
}

/// [`sniff_mime`] of a file's first bytes (`None` if it cannot be read).
pub fn sniff_file(path: &Path) -> Option<&'static str> {
    let mut head = [0u8; 16];
    let mut f = crate::small_file::open_regular(path).ok()?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    sniff_mime(&head[..n])
}

/// A folder of files named by their SHA-256: `<root>/ab/abcdef….ext`.
/// Writing copies and hashes in one pass into a temporary file beside the
/// destination and renames it, so a half-copied file never has a real name.
pub struct ContentStore {
    root: PathBuf,
    /// Files stored in this run, by source path: a file many messages share
    /// is read once, without even a stat for the later ones (a source does
    /// not change while it is being converted). Bounded.
    stored: std::sync::Mutex<std::collections::HashMap<PathBuf, (String, u64, PathBuf)>>,
    /// Folders known to exist (no create_dir_all per file).
    made: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

impl ContentStore {
    pub fn new(root: impl Into<PathBuf>) -> ContentStore {
        ContentStore { root: root.into(), stored: Default::default(), made: Default::default() }
    }

    fn make_dir(&self, dir: &Path) -> Result<()> {
        let mut made = self.made.lock().map_err(|_| Error::internal("media folder list poisoned"))?;
        if !made.contains(dir) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
            made.insert(dir.to_path_buf());
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a file with this hash and extension, relative to the root.
    pub fn relative_path(sha256: &str, ext: &str) -> PathBuf {
        PathBuf::from(&sha256[..2]).join(format!("{sha256}.{ext}"))
    }

    /// Copies `source` in; returns its hash, size, path relative to the
    /// root, and whether the file was new (not already stored).
    pub fn put_file(&self, source: &Path, ext: &str) -> Result<(String, u64, PathBuf, bool)> {
        let hit = self.stored.lock().map_err(|_| Error::internal("media cache poisoned"))?.get(source).cloned();
        if let Some((sha, size, rel)) = hit {
            if rel.extension().and_then(|e| e.to_str()) == Some(ext) {
                return Ok((sha, size, rel, false));
            }
        }
        let (sha, size, rel, new) = self.copy_in(source, ext)?;
        let mut stored = self.stored.lock().map_err(|_| Error::internal("media cache poisoned"))?;
        if stored.len() >= 4096 {
            stored.clear();
        }
        stored.insert(source.to_path_buf(), (sha.clone(), size, rel.clone()));
        Ok((sha, size, rel, new))
    }

    fn copy_in(&self, source: &Path, ext: &str) -> Result<(String, u64, PathBuf, bool)> {
        self.make_dir(&self.root)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.root)
            .map_err(|e| Error::io(&self.root, "create a temporary file in", e))?;
        let tmp_path = tmp.path().to_path_buf();
        let (sha, size) = hash_copy(source, Some((tmp.as_file_mut(), &tmp_path)))?;
        let rel = Self::relative_path(&sha, ext);
        let dest = self.root.join(&rel);
        if dest.exists() {
            // Same content already stored; the temporary copy is dropped.
            return Ok((sha, size, rel, false));
        }
        self.make_dir(dest.parent().expect("content path has a parent"))?;
        tmp.persist(&dest).map_err(|e| Error::io(&dest, "write", e.error))?;
        Ok((sha, size, rel, true))
    }
}

/// Copies a file with a streaming read, creating the destination's folder.
pub fn copy_file(source: &Path, dest: &Path) -> Result<u64> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    }
    let mut input = crate::small_file::open_regular(source).map_err(|e| Error::io(source, "read", e))?;
    let mut output = File::create(dest).map_err(|e| Error::io(dest, "create", e))?;
    io::copy(&mut input, &mut output).map_err(|e| Error::io(dest, "write", e))
}

/// Copies into a layout that wants one file per message (WeChat's and
/// WhatsApp's folders): the first copy of a source file is a real copy,
/// later copies of the same file are hard links to it — the same bytes
/// without the time and space of another copy. Where the file system has
/// no hard links, they are copies. A destination that already exists is
/// left as it is. Remembers a bounded number of sources, by path (a source
/// does not change while it is being converted).
#[derive(Default)]
pub struct Copies {
    first: std::sync::Mutex<std::collections::HashMap<PathBuf, FirstCopy>>,
    /// Folders known to exist (no create_dir_all per file).
    made: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

#[derive(Clone)]
struct FirstCopy {
    dest: PathBuf,
    /// SHA-256 and size, when the copy was made by [`Copies::place_hashed`].
    digest: Option<([u8; 32], u64)>,
}

impl Copies {
    pub fn new() -> Copies {
        Copies::default()
    }

    /// `source` at `dest`, unless something is there already. Returns
    /// whether it wrote.
    pub fn place(&self, source: &Path, dest: &Path) -> Result<bool> {
        if self.link_earlier(source, dest)? {
            return Ok(true);
        }
        // The source is opened first: a file that cannot be read leaves
        // no empty copy behind.
        let mut input = crate::small_file::open_regular(source).map_err(|e| Error::io(source, "read", e))?;
        self.make_dir(dest)?;
        let Some(mut output) = create_new(dest)? else { return Ok(false) };
        io::copy(&mut input, &mut output).map_err(|e| Error::io(dest, "write", e))?;
        self.remember(source, FirstCopy { dest: dest.to_path_buf(), digest: None });
        Ok(true)
    }

    /// Like [`Copies::place`], also giving the source's SHA-256 and size:
    /// hashed while it is copied (one read), remembered for later links,
    /// read once more only when `dest` was already there. The flag says
    /// whether `dest` holds the source's bytes (copied, linked, or it is
    /// the source's own earlier copy); false: another file was there and
    /// is left as it is.
    pub fn place_hashed(&self, source: &Path, dest: &Path) -> Result<([u8; 32], u64, bool)> {
        let earlier = self.earlier(source)?;
        if let Some(FirstCopy { dest: first, digest: Some((digest, size)) }) = &earlier {
            if first == dest || self.link(first, dest)? {
                return Ok((*digest, *size, true));
            }
        }
        let input = crate::small_file::open_regular(source).map_err(|e| Error::io(source, "read media file", e))?;
        self.make_dir(dest)?;
        let Some(mut output) = create_new(dest)? else {
            let (digest, size) = match earlier.and_then(|e| e.digest) {
                Some(known) => known,
                None => hash_stream(input, source, None)?,
            };
            return Ok((digest, size, false));
        };
        let (digest, size) = hash_stream(input, source, Some((&mut output, dest)))?;
        self.remember(source, FirstCopy { dest: dest.to_path_buf(), digest: Some((digest, size)) });
        Ok((digest, size, true))
    }

    fn earlier(&self, source: &Path) -> Result<Option<FirstCopy>> {
        Ok(self.first.lock().map_err(|_| Error::internal("media copy list poisoned"))?.get(source).cloned())
    }

    /// A hard link at `dest` to an earlier copy of `source`, if there is one.
    fn link_earlier(&self, source: &Path, dest: &Path) -> Result<bool> {
        match self.earlier(source)? {
            Some(first) => self.link(&first.dest, dest),
            None => Ok(false),
        }
    }

    /// Whether `dest` now holds the bytes of `first` by a hard link. False
    /// when it cannot (another file system, no links, `dest` taken): the
    /// caller copies or checks what is there.
    fn link(&self, first: &Path, dest: &Path) -> Result<bool> {
        self.make_dir(dest)?;
        Ok(std::fs::hard_link(first, dest).is_ok())
    }

    fn remember(&self, source: &Path, first: FirstCopy) {
        if let Ok(mut m) = self.first.lock() {
            if m.len() >= 4096 {
                m.clear(); // bounded: memory stays flat however many files
            }
            m.insert(source.to_path_buf(), first);
        }
    }

    /// Creates the folder `dest` goes in, once per folder.
    fn make_dir(&self, dest: &Path) -> Result<()> {
        let Some(dir) = dest.parent() else { return Ok(()) };
        let mut made = self.made.lock().map_err(|_| Error::internal("media folder list poisoned"))?;
        if !made.contains(dir) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
            if made.len() >= 4096 {
                made.clear();
            }
            made.insert(dir.to_path_buf());
        }
        Ok(())
    }
}

/// A new file at `path`, or None when something is already there.
fn create_new(path: &Path) -> Result<Option<File>> {
    match File::options().write(true).create_new(true).open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(Error::io(path, "create", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_by_bytes_keeping_the_extension() {
        let cjk = format!("{}.pdf", "文".repeat(90));
        let fit = fit_name(&cjk, NAME_AT_MOST);
        assert!(fit.len() <= NAME_AT_MOST && fit.ends_with(".pdf") && fit.starts_with("文文"), "{fit}");
        assert_eq!(fit_name("short.jpg", NAME_AT_MOST), "short.jpg");
        assert_eq!(fit_name(&"老".repeat(90), 10), "老老老");
    }

    #[test]
    fn later_copies_of_a_file_are_links_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.bin");
        std::fs::write(&src, b"voice").unwrap();
        let copies = Copies::new();
        let (a, b) = (dir.path().join("out/1.aud"), dir.path().join("out/x/2.aud"));
        copies.place(&src, &a).unwrap();
        copies.place(&src, &b).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"voice");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(&a).unwrap().ino(), std::fs::metadata(&b).unwrap().ino());
            assert_eq!(std::fs::metadata(&src).unwrap().nlink(), 1, "the source is never linked");
        }
    }

    #[test]
    fn a_copy_never_overwrites_and_hashes_what_it_copied() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.bin");
        std::fs::write(&src, b"picture").unwrap();
        let expected: [u8; 32] = Sha256::digest(b"picture").into();
        let taken = dir.path().join("out/taken.jpg");
        std::fs::create_dir_all(taken.parent().unwrap()).unwrap();
        std::fs::write(&taken, b"someone else's").unwrap();

        let copies = Copies::new();
        assert!(!copies.place(&src, &taken).unwrap(), "an existing file is not replaced");
        assert_eq!(std::fs::read(&taken).unwrap(), b"someone else's");

        // First copy, then a link to it, then a taken name: the same hash each time.
        let (a, b) = (dir.path().join("out/a/1.jpg"), dir.path().join("out/b/2.jpg"));
        assert_eq!(copies.place_hashed(&src, &a).unwrap(), (expected, 7, true));
        assert_eq!(copies.place_hashed(&src, &b).unwrap(), (expected, 7, true));
        assert_eq!(copies.place_hashed(&src, &taken).unwrap(), (expected, 7, false));
        // Its own first copy again: it holds the bytes, nothing is read or written.
        assert_eq!(copies.place_hashed(&src, &a).unwrap(), (expected, 7, true));
        assert_eq!(std::fs::read(&b).unwrap(), b"picture");
        assert_eq!(std::fs::read(&taken).unwrap(), b"someone else's");
        // Not remembered yet: hashed from the source when the name is taken.
        assert_eq!(Copies::new().place_hashed(&src, &taken).unwrap(), (expected, 7, false));
        assert_eq!(hash_file_bytes(&b).unwrap(), (expected, 7));
        assert_eq!(hash_file(&b).unwrap().0, hex::encode(expected));

        // A source that cannot be read is an error and leaves nothing behind.
        let gone = dir.path().join("gone.jpg");
        let dest = dir.path().join("out/c/3.jpg");
        assert!(copies.place(&gone, &dest).is_err() && copies.place_hashed(&gone, &dest).is_err());
        assert!(!dest.exists());
    }

    #[test]
    fn refuses_paths_that_escape() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "Media/../../x"] {
            let err = resolve_inside(dir.path(), bad).unwrap_err();
            assert!(is_escape(&err), "{bad}: {err}");
            assert!(err.message.contains(bad), "{err}");
        }
    }

    #[test]
    fn resolves_present_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("Media/a")).unwrap();
        std::fs::write(dir.path().join("Media/a/x.jpg"), b"jpeg").unwrap();
        assert!(matches!(resolve_inside(dir.path(), "Media/a/x.jpg").unwrap(), Resolve::Found(_)));
        assert!(matches!(resolve_inside(dir.path(), "Media/./a/../a/x.jpg").unwrap(), Resolve::Found(_)));
        assert!(matches!(resolve_inside(dir.path(), "Media/a/y.jpg").unwrap(), Resolve::Missing(_)));
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_folder_deep_in_the_path_is_followed_and_checked() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("cd")).unwrap();
        std::fs::write(outside.path().join("cd/secret.jpg"), b"s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("image2/ab/cd")).unwrap();
        std::fs::write(dir.path().join("image2/ab/cd/x.jpg"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("image2/ef")).unwrap();
        // Inside: the folders resolved component by component.
        let Resolve::Found(real) = resolve_inside(dir.path(), "image2/ab/cd/x.jpg").unwrap() else { panic!() };
        assert_eq!(real, dir.path().canonicalize().unwrap().join("image2/ab/cd/x.jpg"));
        // A link two levels up the file's folder still leads out.
        let err = resolve_inside(dir.path(), "image2/ef/cd/secret.jpg").unwrap_err();
        assert!(is_escape(&err), "{err}");
        // A link that stays inside is followed.
        std::os::unix::fs::symlink(dir.path().join("image2/ab"), dir.path().join("image2/gh")).unwrap();
        let Resolve::Found(real) = resolve_inside(dir.path(), "image2/gh/cd/x.jpg").unwrap() else { panic!() };
        assert_eq!(real, dir.path().canonicalize().unwrap().join("image2/ab/cd/x.jpg"));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_symlink_that_leads_out() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let err = resolve_inside(dir.path(), "link/secret.txt").unwrap_err();
        assert!(is_escape(&err), "{err}");
    }

    #[test]
    fn content_store_names_files_by_hash_and_dedupes() {
        let src = tempfile::tempdir().unwrap();
        let a = src.path().join("a.jpg");
        std::fs::write(&a, b"hello").unwrap();
        let store_dir = tempfile::tempdir().unwrap();
        let store = ContentStore::new(store_dir.path());
        let (sha, size, rel, new) = store.put_file(&a, "jpg").unwrap();
        assert!(new);
        assert_eq!(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(size, 5);
        assert_eq!(rel, PathBuf::from("2c").join(format!("{sha}.jpg")));
        assert_eq!(std::fs::read(store_dir.path().join(&rel)).unwrap(), b"hello");
        let again = store.put_file(&a, "jpg").unwrap();
        assert_eq!(again.0, sha);
        assert!(!again.3, "the same content is stored once");
        // Only the one file plus its folder: no temporary left behind.
        let entries: Vec<_> = std::fs::read_dir(store_dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
        assert_eq!(hash_file(&a).unwrap(), (sha, 5));
    }

    #[test]
    fn sniffs_what_chat_apps_store() {
        assert_eq!(sniff_mime(b"wxgf\x01\x02"), Some("image/wxgf"));
        assert_eq!(sniff_mime(b"\x02#!SILK_V3\x0c\x00"), Some("audio/silk"));
        assert_eq!(sniff_mime(b"\x00\x00\x00\x18ftypisom"), Some("video/mp4"));
        assert_eq!(sniff_mime(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"hello"), None);
    }

    #[test]
    fn extensions() {
        assert_eq!(extension_for(Some("audio/ogg; codecs=opus"), None), "ogg");
        assert_eq!(extension_for(None, Some("Report 2024.PDF")), "pdf");
        assert_eq!(extension_for(Some("application/x-unknown"), Some("a.b/../c")), "bin");
        assert_eq!(extension_for(None, None), "bin");
        assert_eq!(mime_for_extension("JPEG"), Some("image/jpeg"));
    }
}
