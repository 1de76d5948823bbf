//! Where a message's file is inside the account folder, by WeChat's rules:
//! images `image2/<ab>/<cd>/<name>` (ImgInfo2's full image, else the
//! `th_` thumbnail), voice `voice2/<h[0:2]>/<h[2:4]>/msg_<name>.amr` with
//! `h = md5(name)`, video `video/<name>.mp4`, stickers `emoji/[<group>/]<md5>`,
//! received files under `MicroMsg/Download/` (the row keeps a phone path).
//! Every path is resolved inside its folder; one that escapes is refused.

use chatferry_core::Report;
use chatferry_wechat::media::{find, Found};
use md5::{Digest, Md5};
use std::path::PathBuf;

pub struct MediaRoots {
    pub account: Option<PathBuf>,
    pub micromsg: Option<PathBuf>,
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

impl MediaRoots {
    pub fn in_account(&self, relative: &str, message_id: &str, report: &mut Report) -> Found {
        find(self.account.as_deref(), relative, message_id, report)
    }

    pub fn in_micromsg(&self, relative: &str, message_id: &str, report: &mut Report) -> Found {
        find(self.micromsg.as_deref(), relative, message_id, report)
    }
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
    }
}
