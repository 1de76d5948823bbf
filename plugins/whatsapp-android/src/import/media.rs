//! Media paths from the store, resolved safely under the WhatsApp folder.

use chatferry_core::media::{is_escape, resolve_inside, Resolve};
use chatferry_core::{Media, Report};
use std::path::PathBuf;

pub struct MediaResolver {
    root: Option<PathBuf>,
}

impl MediaResolver {
    pub fn new(root: Option<PathBuf>) -> MediaResolver {
        MediaResolver { root }
    }

    /// Points `media` at its file. Old rows hold absolute phone paths
    /// (`/storage/emulated/0/WhatsApp/Media/…`): they are taken relative to
    /// the WhatsApp folder. A path that leads outside it is refused.
    pub fn locate(&self, message_id: &str, file_path: Option<&str>, media: &mut Media, report: &mut Report) {
        let Some(file_path) = file_path.filter(|p| !p.is_empty()) else {
            media.missing = true;
            return;
        };
        let Some(root) = &self.root else {
            media.missing = true;
            return;
        };
        let relative = phone_relative(file_path);
        match resolve_inside(root, relative) {
            Ok(Resolve::Found(p)) => media.path = Some(p.to_string_lossy().into_owned()),
            Ok(Resolve::Missing(_)) => media.missing = true,
            Err(e) => {
                media.missing = true;
                report.media.refused += 1;
                if is_escape(&e) {
                    report.note(format!("message {message_id}: {}", e.message));
                } else {
                    report.note(format!("message {message_id}: media {file_path:?}: {}", e.message));
                }
            }
        }
    }
}

/// `/storage/emulated/0/WhatsApp/Media/x.jpg` → `Media/x.jpg`; relative
/// paths are returned as they are (and then checked for escapes).
fn phone_relative(path: &str) -> &str {
    if path.starts_with('/') {
        for marker in ["/com.whatsapp/WhatsApp/", "/WhatsApp/"] {
            if let Some(i) = path.find(marker) {
                return &path[i + marker.len()..];
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_paths_become_relative() {
        assert_eq!(
            phone_relative("/storage/emulated/0/WhatsApp/Media/WhatsApp Images/a.jpg"),
            "Media/WhatsApp Images/a.jpg"
        );
        assert_eq!(
            phone_relative("/storage/emulated/0/Android/media/com.whatsapp/WhatsApp/Media/a.jpg"),
            "Media/a.jpg"
        );
        assert_eq!(phone_relative("Media/a.jpg"), "Media/a.jpg");
        assert_eq!(phone_relative("/etc/passwd"), "/etc/passwd");
    }

    #[test]
    fn escapes_are_refused_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let r = MediaResolver::new(Some(dir.path().to_path_buf()));
        let mut report = Report::new();
        let mut m = Media::default();
        r.locate("42", Some("../../etc/passwd"), &mut m, &mut report);
        assert!(m.missing && m.path.is_none());
        assert_eq!(report.media.refused, 1);
        assert!(report.notes[0].contains("message 42") && report.notes[0].contains("leads outside"));
        let mut m = Media::default();
        r.locate("43", Some("/etc/passwd"), &mut m, &mut report);
        assert_eq!(report.media.refused, 2);
    }
}
