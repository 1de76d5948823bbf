//! Where a message's file is inside the account folder, by WeChat's rules:
//! images `image2/<ab>/<cd>/<name>` (ImgInfo2's full image, else the
//! `th_` thumbnail), voice `voice2/<h[0:2]>/<h[2:4]>/msg_<name>.amr` with
//! `h = md5(name)`, video `video/<name>.mp4`, stickers `emoji/[<group>/]<md5>`,
//! received files under `MicroMsg/Download/` (the row keeps a phone path).
//! Every path is resolved inside its folder; one that escapes is refused.
//!
//! On a phone the files are split: the app folder (`/data/data/com.tencent.mm`,
//! root only) holds the database, while pictures, voice, video and received
//! files live on shared storage — `Android/data/com.tencent.mm/MicroMsg/<account>/`
//! now, `tencent/MicroMsg/<account>/` on older versions, `Download/WeiXin/`
//! for files WeChat 8 received. `--opt media-dir=` names copies of those
//! (repeatable); each file is looked for in the app folder first, then in
//! each of them, and the report says how many files each gave.

use chatferry_core::{Error, Report, Result};
use chatferry_wechat::media::{find, Found};
use md5::{Digest, Md5};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// A folder files are looked for in, and how many it gave.
pub struct Root {
    pub dir: PathBuf,
    found: Cell<u64>,
}

impl Root {
    fn new(dir: PathBuf) -> Root {
        Root { dir, found: Cell::new(0) }
    }
}

/// Where a message's file may be, in the order they are searched.
#[derive(Default)]
pub struct MediaRoots {
    /// Account folders (`…/MicroMsg/<md5("mm"+uin)>/`): image2/, voice2/, video/, emoji/.
    pub account: Vec<Root>,
    /// `MicroMsg` folders: received files in their `Download/`.
    pub micromsg: Vec<Root>,
    /// Shared-storage roots (what `adb pull /sdcard` gives): `Download/WeiXin/`.
    pub storage: Vec<Root>,
}

impl MediaRoots {
    /// The app folder's own account and MicroMsg folders, then each
    /// `media-dir` (a copy of shared storage, its `Android/data/com.tencent.mm`
    /// or `tencent` folder, or a `MicroMsg` folder).
    pub fn new(
        account: Option<&Path>,
        micromsg: Option<&Path>,
        account_name: Option<&str>,
        media_dirs: &[PathBuf],
    ) -> Result<MediaRoots> {
        let mut roots = MediaRoots::default();
        roots.account.extend(account.map(|a| Root::new(a.to_path_buf())));
        roots.micromsg.extend(micromsg.map(|m| Root::new(m.to_path_buf())));
        for given in media_dirs {
            if !given.is_dir() {
                return Err(Error::usage(format!(
                    "media-dir {} is not a folder; give a copy of the phone's shared storage (adb pull /sdcard), \
                     its Android/data/com.tencent.mm or tencent folder, or a MicroMsg folder",
                    given.display()
                )));
            }
            let mut micromsgs: Vec<PathBuf> = [
                given.join("Android/data/com.tencent.mm/MicroMsg"),
                given.join("tencent/MicroMsg"),
                given.join("MicroMsg"),
            ]
            .into_iter()
            .filter(|d| d.is_dir())
            .collect();
            let named_micromsg = given.file_name().is_some_and(|n| n == "MicroMsg");
            let holds_account = account_name.is_some_and(|a| given.join(a).is_dir());
            // Not a folder merely holding `Download/`: shared storage has one of
            // its own, whose files are not WeChat's.
            if named_micromsg || holds_account {
                micromsgs.push(given.clone());
            }
            let storage = given.join("Download/WeiXin").is_dir();
            if micromsgs.is_empty() && !storage {
                return Err(Error::usage(format!(
                    "media-dir {} holds no WeChat media: no Android/data/com.tencent.mm/MicroMsg, tencent/MicroMsg, \
                     MicroMsg or Download/WeiXin folder in it",
                    given.display()
                )));
            }
            for m in micromsgs {
                if let Some(a) = account_name.map(|a| m.join(a)).filter(|a| a.is_dir()) {
                    push_new(&mut roots.account, a);
                }
                push_new(&mut roots.micromsg, m);
            }
            if storage {
                push_new(&mut roots.storage, given.clone());
            }
        }
        Ok(roots)
    }

    /// A file under the account folders (`image2/…`).
    pub fn in_account(&self, relative: &str, message_id: &str, report: &mut Report) -> Found {
        search(&self.account, relative, message_id, report)
    }

    /// A file under the MicroMsg folders (`Download/…`).
    pub fn in_micromsg(&self, relative: &str, message_id: &str, report: &mut Report) -> Found {
        search(&self.micromsg, relative, message_id, report)
    }

    /// A file under shared storage (`Download/WeiXin/…`).
    pub fn in_storage(&self, relative: &str, message_id: &str, report: &mut Report) -> Found {
        search(&self.storage, relative, message_id, report)
    }

    pub fn is_empty(&self) -> bool {
        self.account.is_empty() && self.micromsg.is_empty() && self.storage.is_empty()
    }

    /// One line per folder searched, with how many files it gave.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in self.account.iter().chain(&self.micromsg).chain(&self.storage) {
            let n = r.found.get();
            out.push(format!(
                "media searched in {}: {n} {} found there",
                r.dir.display(),
                if n == 1 { "file" } else { "files" }
            ));
        }
        out
    }
}

/// Adds `dir` unless it is there already (the same folder given twice, or
/// reached from two of the given ones).
fn push_new(roots: &mut Vec<Root>, dir: PathBuf) {
    let real = dir.canonicalize().unwrap_or_else(|_| dir.clone());
    if !roots.iter().any(|r| r.dir.canonicalize().unwrap_or_else(|_| r.dir.clone()) == real) {
        roots.push(Root::new(dir));
    }
}

fn search(roots: &[Root], relative: &str, message_id: &str, report: &mut Report) -> Found {
    for r in roots {
        match find(Some(&r.dir), relative, message_id, report) {
            Found::File(p) => {
                r.found.set(r.found.get() + 1);
                return Found::File(p);
            }
            Found::Refused => return Found::Refused,
            Found::Missing => {}
        }
    }
    Found::Missing
}

/// `<ab>/<cd>/` from the first four characters of a hashed name.
pub fn fan_out(name: &str) -> Option<String> {
    let a = name.get(0..2)?;
    let b = name.get(2..4)?;
    Some(format!("{a}/{b}"))
}

pub fn image_path(file: &str) -> Option<String> {
    Some(format!("image2/{}/{file}", fan_out(file)?))
}

/// The thumbnail named by `imgPath` (`THUMBNAIL_DIRPATH://th_<md5>`).
pub fn thumbnail_path(img_path: &str) -> Option<String> {
    let name = img_path.strip_prefix("THUMBNAIL_DIRPATH://").unwrap_or(img_path);
    let hash = name.strip_prefix("th_")?;
    Some(format!("image2/{}/{name}", fan_out(hash)?))
}

pub fn voice_path(name: &str) -> String {
    let h = hex::encode(Md5::digest(name.as_bytes()));
    format!("voice2/{}/{}/msg_{name}.amr", &h[0..2], &h[2..4])
}

pub fn video_path(name: &str) -> String {
    format!("video/{name}.mp4")
}

pub fn sticker_path(md5: &str, group: Option<&str>) -> String {
    match group.filter(|g| !g.is_empty()) {
        Some(g) => format!("emoji/{g}/{md5}"),
        None => format!("emoji/{md5}"),
    }
}

/// A received file's phone path (`/storage/…/MicroMsg/Download/x.pdf`)
/// relative to the MicroMsg folder (`Download/x.pdf`).
pub fn download_relative(full: &str) -> Option<&str> {
    full.rfind("/MicroMsg/").map(|i| &full[i + "/MicroMsg/".len()..]).or(if full.starts_with('/') {
        None
    } else {
        Some(full)
    })
}

/// WeChat 8 keeps received files in shared storage's `Download/WeiXin/`:
/// `/storage/emulated/0/Download/WeiXin/x.pdf` → `Download/WeiXin/x.pdf`.
pub fn storage_relative(full: &str) -> Option<&str> {
    full.find("/Download/WeiXin/").map(|i| &full[i + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_documented_rules() {
        assert_eq!(thumbnail_path("THUMBNAIL_DIRPATH://th_0123abcd").as_deref(), Some("image2/01/23/th_0123abcd"));
        assert_eq!(image_path("89ab77.jpg").as_deref(), Some("image2/89/ab/89ab77.jpg"));
        let h = hex::encode(Md5::digest(b"2024101512000001"));
        assert_eq!(voice_path("2024101512000001"), format!("voice2/{}/{}/msg_2024101512000001.amr", &h[..2], &h[2..4]));
        assert_eq!(
            download_relative("/storage/emulated/0/Android/data/com.tencent.mm/MicroMsg/Download/报告.pdf"),
            Some("Download/报告.pdf")
        );
        assert_eq!(download_relative("/etc/passwd"), None);
        assert_eq!(storage_relative("/storage/emulated/0/Download/WeiXin/报告.pdf"), Some("Download/WeiXin/报告.pdf"));
        assert_eq!(storage_relative("/storage/emulated/0/Android/data/com.tencent.mm/MicroMsg/Download/a.pdf"), None);
    }
}
