//! Media files placed where iOS rows point (by MesLocalID in the chat's
//! folders, `h` = the table's hash). Messages built here from other apps
//! get their XML body now that MD5 and size are known.

use super::IosExporter;
use chatferry_core::*;
use chatferry_wechat::codes;
use chatferry_wechat::media::{file_ext, md5_file, source_file};
use chatferry_wechat::write::{
    emoji_xml, file_xml, image_xml, safe_file_name, video_xml, voice_downgrade, voice_xml, Native,
};
use chatferry_wechat::xml::Doc;
use std::path::Path;

pub struct Placed {
    /// A file was written for the row.
    pub file: bool,
    pub downgrade: Option<String>,
}

impl IosExporter {
    fn put(&mut self, src: &Path, relative: &str) -> Result<()> {
        let dest = self.account_dir.join(relative);
        self.copies.place(src, &dest)?;
        self.report.media.carried += 1;
        Ok(())
    }
}

pub fn place(ex: &mut IosExporter, m: &Message, n: &mut Native, local: i64, h: &str, svr_id: i64) -> Result<Placed> {
    let mut placed = Placed { file: false, downgrade: None };
    let built = !m.extras.contains_key("wechat.type");
    let src = source_file(m);
    let media = m.media.clone().unwrap_or_default();
    if m.media.is_some() && src.is_none() && !media.missing {
        ex.report.media.missing += 1;
    }
    if built && media.caption.is_some() && m.kind.has_media() {
        placed.downgrade =
            Some("WeChat media messages have no caption; the caption is written as a text message right after".into());
    }
    let sender = m.sender.clone().or(if m.from_me { ex.owner.clone() } else { None }).unwrap_or_default();
    placed.file = src.is_some();
    match codes::base(n.code) {
        codes::IMAGE => {
            let thumb_only = m.extras.contains_key("wechat.thumbnail_only");
            if let Some(p) = &src {
                ex.put(p, &format!("Img/{h}/{local}.pic_thum"))?;
                if !thumb_only {
                    ex.put(p, &format!("Img/{h}/{local}.pic"))?;
                }
            }
            if built {
                let (md5, size) = match &src {
                    Some(p) => md5_file(p)?,
                    None => (format!("{:032x}", svr_id as u128), 0),
                };
                n.body = image_xml(&md5, size);
            }
        }
        codes::VOICE => {
            if let Some(p) = &src {
                ex.put(p, &format!("Audio/{h}/{local}.aud"))?;
                if built {
                    placed.downgrade = voice_downgrade(media.mime.as_deref());
                }
            }
            if built {
                let size = src.as_ref().and_then(|p| std::fs::metadata(p).ok()).map(|md| md.len());
                let amr = media.mime.as_deref().is_some_and(|m| m.starts_with("audio/amr"));
                n.body = voice_xml(amr, media.duration_ms.unwrap_or(0), size.or(media.size).unwrap_or(0), &sender);
            }
        }
        codes::VIDEO | codes::VIDEO_OLD | codes::SHORT_VIDEO => {
            if let Some(p) = &src {
                ex.put(p, &format!("Video/{h}/{local}.mp4"))?;
            }
            if built {
                let (md5, size) = match &src {
                    Some(p) => md5_file(p)?,
                    None => (String::new(), media.size.unwrap_or(0)),
                };
                n.body = video_xml(size, media.duration_ms.unwrap_or(0) / 1000, &md5, &sender);
            }
        }
        codes::STICKER => {
            // WeChat for iOS fetches stickers by `cdnurl`; the file is kept
            // beside the chat's pictures so nothing is lost.
            if let Some(p) = &src {
                ex.put(p, &format!("Img/{h}/{local}.pic"))?;
            }
            if built {
                let (md5, size) = match &src {
                    Some(p) => md5_file(p)?,
                    None => (format!("{:032x}", svr_id as u128), 0),
                };
                n.body = emoji_xml(&sender, &m.chat, &md5, size);
            }
        }
        codes::APP if m.kind == MessageKind::Document || m.kind == MessageKind::Audio => {
            let name = if built {
                let ext = chatferry_core::media::extension_for(media.mime.as_deref(), media.file_name.as_deref());
                let name = safe_file_name(media.file_name.as_deref(), &format!("file-{local}.{ext}"));
                let size = match &src {
                    Some(p) => std::fs::metadata(p).map(|md| md.len()).unwrap_or(0),
                    None => media.size.unwrap_or(0),
                };
                n.body = file_xml(&name, size);
                Some(name)
            } else {
                media.file_name.clone()
            };
            if let Some(p) = &src {
                let rel = match file_ext(Doc::parse(&n.body).as_ref(), name.as_deref()) {
                    Some(x) => format!("OpenData/{h}/{local}.{x}"),
                    None => format!("OpenData/{h}/{local}"),
                };
                ex.put(p, &rel)?;
            }
        }
        _ => placed.file = false,
    }
    Ok(placed)
}
