//! Media files placed where WeChat's rows point, with their side rows
//! (ImgInfo2, voiceinfo, videoinfo2, EmojiInfo, appattach). Messages built
//! here from other apps get their XML body now that size and MD5 are known.

use super::{err, WcExporter};
use crate::import::media::{fan_out, image_path, sticker_path, video_path, voice_path};
use chatferry_core::*;
use chatferry_wechat::codes;
use chatferry_wechat::media::{md5_file, source_file};
use chatferry_wechat::write::{
    emoji_xml, file_xml, image_xml, safe_file_name, video_xml, voice_downgrade, voice_xml, Native,
};
use rusqlite::params;
use std::path::Path;

/// Where received files live on the phone (shared storage).
const DOWNLOAD_PREFIX: &str = "/storage/emulated/0/Android/data/com.tencent.mm/MicroMsg/Download/";

pub struct Placed {
    pub img_path: Option<String>,
    pub downgrade: Option<String>,
}

impl WcExporter {
    fn put(&mut self, src: &Path, relative_to_account: &str) -> Result<()> {
        let dest = self.media_account.join(relative_to_account);
        self.copies.place(src, &dest)?;
        self.report.media.carried += 1;
        Ok(())
    }
}

pub fn place(ex: &mut WcExporter, m: &Message, n: &mut Native, msg_id: i64, svr_id: i64) -> Result<Placed> {
    let db = ex.db_path.clone();
    let mut placed = Placed { img_path: None, downgrade: None };
    let built = !m.extras.contains_key("wechat.type");
    let src = source_file(m);
    let sender = m.sender.clone().or(if m.from_me { ex.owner.clone() } else { None }).unwrap_or_default();
    let secs = m.timestamp_ms.div_euclid(1000);
    let base = codes::base(n.code);
    let media = m.media.clone().unwrap_or_default();
    if m.media.is_some() && src.is_none() && !media.missing {
        ex.report.media.missing += 1;
    }
    if built && media.caption.is_some() && m.kind.has_media() {
        placed.downgrade =
            Some("WeChat media messages have no caption; the caption is written as a text message right after".into());
    }
    match (n.code, base) {
        (_, codes::IMAGE) => {
            let (name, size) = match &src {
                Some(p) => md5_file(p)?,
                None => (format!("{:032x}", svr_id as u128), 0),
            };
            let thumb_name = format!("th_{name}");
            let dir = fan_out(&name).expect("md5 names are long");
            let thumb = format!("image2/{dir}/{thumb_name}");
            let thumb_only = m.extras.contains_key("wechat.thumbnail_only");
            let big = match &src {
                Some(p) => {
                    ex.put(p, &thumb)?;
                    if thumb_only {
                        None
                    } else {
                        let big = format!("{name}.jpg");
                        let rel = image_path(&big).expect("md5 names are long");
                        let dest = ex.media_account.join(&rel);
                        ex.copies.place(p, &dest)?;
                        Some(big)
                    }
                }
                None => Some(format!("SERVERID://{svr_id}")),
            };
            placed.img_path = Some(format!("THUMBNAIL_DIRPATH://{thumb_name}"));
            ex.exec(
                "INSERT INTO ImgInfo2 (msgSvrId, offset, totalLen, bigImgPath, thumbImgPath, createtime, msglocalid,
                                       status, nettimes, iscomplete, origImgMD5, msgTalker)
                 VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10)",
                params![
                    svr_id,
                    size as i64,
                    big,
                    thumb_name,
                    secs,
                    msg_id,
                    if src.is_some() { 199 } else { 0 },
                    src.is_some() as i64,
                    name,
                    m.chat
                ],
            )
            .map_err(err(&db))?;
            if built {
                n.body = image_xml(&name, size);
            }
        }
        (_, codes::VOICE) => {
            let name = format!("{:x}{:08x}", secs.max(0), msg_id);
            let (size, ms) = (media.size.unwrap_or(0), media.duration_ms.unwrap_or(0));
            let mut size = size;
            if let Some(p) = &src {
                size = std::fs::metadata(p).map(|md| md.len()).unwrap_or(size);
                ex.put(p, &voice_path(&name))?;
                if built {
                    placed.downgrade = voice_downgrade(media.mime.as_deref());
                }
            }
            placed.img_path = Some(name.clone());
            ex.exec(
                "INSERT INTO voiceinfo (FileName, User, MsgId, NetOffset, FileNowSize, TotalLen, Status, CreateTime,
                                        LastModifyTime, VoiceLength, MsgLocalId, MsgTalker)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?4, ?5, ?6, ?6, ?7, ?8, ?2)",
                params![name, m.chat, svr_id, size as i64, if src.is_some() { 99 } else { 0 }, secs, ms as i64, msg_id],
            )
            .map_err(err(&db))?;
            if built {
                let amr = media.mime.as_deref().is_some_and(|m| m.starts_with("audio/amr"));
                n.body = voice_xml(amr, ms, size, &sender);
            }
        }
        (_, codes::VIDEO | codes::VIDEO_OLD | codes::SHORT_VIDEO) => {
            let name = format!("{:x}{:08x}", secs.max(0), msg_id);
            let secs_long = media.duration_ms.map(|d| (d / 1000) as i64).unwrap_or(0);
            let (md5, size) = match &src {
                Some(p) => {
                    ex.put(p, &video_path(&name))?;
                    md5_file(p)?
                }
                None => (String::new(), media.size.unwrap_or(0)),
            };
            placed.img_path = Some(name.clone());
            ex.exec(
                "INSERT INTO videoinfo2 (filename, msgsvrid, netoffset, filenowsize, totallen, status, createtime,
                                         lastmodifytime, videolength, msglocalid, user, videomd5, origin_file_name,
                                         msg_talker)
                 VALUES (?1, ?2, ?3, ?3, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?8)",
                params![
                    name,
                    svr_id,
                    size as i64,
                    if src.is_some() { 199 } else { 0 },
                    secs,
                    secs_long,
                    msg_id,
                    m.chat,
                    md5,
                    media.file_name
                ],
            )
            .map_err(err(&db))?;
            if built {
                n.body = video_xml(size, secs_long as u64, &md5, &sender);
            }
        }
        (_, codes::STICKER) => {
            let (md5, size) = match &src {
                Some(p) => md5_file(p)?,
                None => (format!("{:032x}", svr_id as u128), 0),
            };
            if let Some(p) = &src {
                ex.put(p, &sticker_path(&md5, None))?;
            }
            placed.img_path = Some(md5.clone());
            ex.exec(
                    "INSERT OR IGNORE INTO EmojiInfo (md5, catalog, type, size, groupId, width, height) VALUES (?1, 0, 2, ?2, '', ?3, ?4)",
                    params![md5, size as i64, media.width.unwrap_or(0), media.height.unwrap_or(0)],
                )
                .map_err(err(&db))?;
            if built {
                n.body = emoji_xml(&sender, &m.chat, &md5, size);
            }
        }
        (codes::FILE, _) => {
            let ext = chatferry_core::media::extension_for(media.mime.as_deref(), media.file_name.as_deref());
            let wanted = safe_file_name(media.file_name.as_deref(), &format!("file-{msg_id}.{ext}"));
            let download = ex.download.clone();
            let (name, size) = match &src {
                Some(p) => {
                    let size = std::fs::metadata(p).map(|md| md.len()).unwrap_or(0);
                    let name = free_name(&download, &wanted, p)?;
                    let dest = download.join(&name);
                    ex.copies.place(p, &dest)?;
                    ex.report.media.carried += 1;
                    (name, size)
                }
                None => (wanted, media.size.unwrap_or(0)),
            };
            ex.exec(
                "INSERT INTO appattach (appId, sdkVer, mediaSvrId, type, totalLen, offset, status, isUpload,
                                        createTime, lastModifyTime, fileFullPath, msgInfoId, netTimes, isUseCdn,
                                        msgInfoTalker)
                 VALUES ('', 0, '', 6, ?1, ?2, ?3, 0, ?4, ?4, ?5, ?6, 0, 1, ?7)",
                params![
                    size as i64,
                    if src.is_some() { size as i64 } else { 0 },
                    if src.is_some() { 199 } else { 101 },
                    m.timestamp_ms,
                    format!("{DOWNLOAD_PREFIX}{name}"),
                    msg_id,
                    m.chat
                ],
            )
            .map_err(err(&db))?;
            if built {
                n.body = file_xml(&name, size);
            }
        }
        _ => {}
    }
    Ok(placed)
}

/// `name`, or `name (2)`… when another file of that name is already there.
fn free_name(dir: &Path, wanted: &str, src: &Path) -> Result<String> {
    let path = Path::new(wanted);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(wanted);
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| format!(".{e}")).unwrap_or_default();
    for i in 1.. {
        let name = if i == 1 { wanted.to_string() } else { format!("{stem} ({i}){ext}") };
        let p = dir.join(&name);
        if !p.exists() {
            return Ok(name);
        }
        // The same file again (forwarded twice): one copy serves both rows.
        if md5_file(&p)? == md5_file(src)? {
            return Ok(name);
        }
    }
    unreachable!("some name is free")
}
