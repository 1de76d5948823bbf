//! Finding a row's file inside a folder of the account, refusing paths that
//! escape it, and filling the canonical media from the bytes.

use chatferry_core::media::{is_escape, mime_for_extension, resolve_inside, sniff_file, Resolve};
use chatferry_core::{Media, Report};
use std::path::{Path, PathBuf};

pub enum Found {
    File(PathBuf),
    Missing,
    Refused,
}

impl Found {
    pub fn is_file(&self) -> bool {
        matches!(self, Found::File(_))
    }
}

/// `relative` under `root`; an escaping or unreadable path is refused,
/// counted and noted against the message.
pub fn find(root: Option<&Path>, relative: &str, message_id: &str, report: &mut Report) -> Found {
    let Some(root) = root else { return Found::Missing };
    match resolve_inside(root, relative) {
        Ok(Resolve::Found(p)) => Found::File(p),
        Ok(Resolve::Missing(_)) => Found::Missing,
        Err(e) => {
            report.media.refused += 1;
            if is_escape(&e) {
                report.note(format!("message {message_id}: {}", e.message));
            } else {
                report.note(format!("message {message_id}: media {relative:?}: {}", e.message));
            }
            Found::Refused
        }
    }
}

/// Fills `media` from what was found; the MIME type comes from the bytes
/// (WXGF images are named .jpg), else from the name.
pub fn attach(media: &mut Media, found: Found, name_hint: Option<&str>) {
    match found {
        Found::File(p) => {
            media.mime = sniff_file(&p)
                .map(String::from)
                .or_else(|| {
                    name_hint
                        .and_then(|n| Path::new(n).extension())
                        .and_then(|e| e.to_str())
                        .and_then(mime_for_extension)
                        .map(String::from)
                })
                .or(media.mime.take());
            media.size = std::fs::metadata(&p).ok().map(|m| m.len());
            media.path = Some(p.to_string_lossy().into_owned());
        }
        Found::Missing | Found::Refused => media.missing = true,
    }
}

/// MD5 (hex) of a file and its size, streamed.
pub fn md5_file(path: &Path) -> chatferry_core::Result<(String, u64)> {
    use md5::{Digest, Md5};
    use std::io::Read;
    let err = |e| chatferry_core::Error::io(path, "read media file", e);
    let mut f = chatferry_core::small_file::open_regular(path).map_err(err)?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(h.finalize()), size))
}

/// The readable source file of a message's media, if any.
pub fn source_file(m: &chatferry_core::Message) -> Option<PathBuf> {
    let media = m.media.as_ref()?;
    if media.missing {
        return None;
    }
    media.path.as_ref().map(PathBuf::from).filter(|p| p.is_file())
}

/// A file message's extension: the XML's `appattach/fileext`, else the
/// name's; never one that could leave a folder.
pub fn file_ext(doc: Option<&crate::xml::Doc>, name: Option<&str>) -> Option<String> {
    doc.and_then(|d| d.text("msg/appmsg/appattach/fileext"))
        .or_else(|| name.and_then(|n| Path::new(n).extension()).and_then(|e| e.to_str()).map(String::from))
        .filter(|e| !e.is_empty() && !e.contains(['/', '\\']) && !e.contains(".."))
}
