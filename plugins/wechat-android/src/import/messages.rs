//! The message table, row by row, into canonical messages: the body is
//! read by the shared WeChat reader (`chatferry_wechat::read`), the files
//! are found here by Android's rules and side tables.

use super::media::{self, MediaRoots};
use crate::source::Source;
use chatferry_core::producer::{Batcher, Send};
use chatferry_core::sqlite::{self as db, err_for};
use chatferry_core::*;
use chatferry_wechat::media::{attach, Found};
use chatferry_wechat::read::{self, convert, Row};
use std::sync::Mutex;

pub struct Context {
    shared: read::Context,
    roots: MediaRoots,
}

impl Context {
    pub fn new(shared: read::Context, roots: MediaRoots) -> Context {
        Context { shared, roots }
    }
}

/// What Android's side tables say about a row's file.
struct SideFacts {
    img_path: Option<String>,
    big_image: Option<String>,
    file_path: Option<String>,
    voice_ms: Option<i64>,
    video_s: Option<i64>,
    sticker_group: Option<String>,
}

fn query(source: &Source) -> String {
    let conn = &source.conn;
    let has = |t: &str| db::has_table(conn, t);
    let img = if has("ImgInfo2") {
        "CASE WHEN m.type = 3 THEN COALESCE(
            (SELECT i.bigImgPath FROM ImgInfo2 i WHERE i.msglocalid = m.msgId ORDER BY i.id LIMIT 1),
            (SELECT i.bigImgPath FROM ImgInfo2 i WHERE m.msgSvrId != 0 AND i.msgSvrId = m.msgSvrId ORDER BY i.id LIMIT 1)) END"
    } else {
        "NULL"
    };
    let file = if has("appattach") {
        "CASE WHEN (m.type & 65535) = 49 THEN (SELECT a.fileFullPath FROM appattach a WHERE a.msgInfoId = m.msgId LIMIT 1) END"
    } else {
        "NULL"
    };
    let quote = if has("MsgQuote") {
        "CASE WHEN (m.type & 65535) = 49 THEN (SELECT q.quotedMsgId FROM MsgQuote q WHERE q.msgId = m.msgId LIMIT 1) END"
    } else {
        "NULL"
    };
    let voice = if has("voiceinfo") {
        "CASE WHEN m.type = 34 THEN (SELECT v.VoiceLength FROM voiceinfo v WHERE v.FileName = m.imgPath) END"
    } else {
        "NULL"
    };
    let video = if has("videoinfo2") {
        "CASE WHEN m.type IN (43, 44, 62) THEN (SELECT v.videolength FROM videoinfo2 v WHERE v.filename = m.imgPath) END"
    } else {
        "NULL"
    };
    let sticker = if has("EmojiInfo") {
        "CASE WHEN m.type = 47 THEN (SELECT e.groupId FROM EmojiInfo e WHERE e.md5 = m.imgPath) END"
    } else {
        "NULL"
    };
    format!(
        "SELECT m.msgId, m.msgSvrId, m.type, m.status, m.isSend, m.createTime, m.talker, m.content, m.imgPath,
                {img}, {file}, {quote}, {voice}, {video}, {sticker}
         FROM message m WHERE m.talker IS NOT NULL ORDER BY m.talker, m.createTime, m.msgId"
    )
}

pub fn read_all(source: &Source, ctx: Context, batch: usize, shared: &Mutex<Report>, send: &mut Send) -> Result<()> {
    let conn = &source.conn;
    let e = err_for(conn);
    let mut st = conn.prepare(&query(source)).map_err(&e)?;
    let mut by_svr =
        conn.prepare("SELECT msgId FROM message WHERE msgSvrId = ?1 ORDER BY msgId LIMIT 1").map_err(&e)?;
    let mut rows = st.query([]).map_err(&e)?;
    let mut out = Batcher::new(batch, shared);
    let mut unprefixed = 0u64;
    while let Some(r) = rows.next().map_err(&e)? {
        let (content, raw) = Row::cell(r.get(7).map_err(&e)?);
        let row = Row {
            id: r.get::<_, i64>(0).map_err(&e)?.to_string(),
            svr_id: r.get::<_, Option<i64>>(1).map_err(&e)?.filter(|s| *s != 0),
            code: r.get::<_, Option<i64>>(2).map_err(&e)?.unwrap_or(0),
            status: r.get(3).map_err(&e)?,
            is_send: r.get::<_, Option<i64>>(4).map_err(&e)?.unwrap_or(0) == 1,
            time_ms: r.get::<_, Option<i64>>(5).map_err(&e)?.unwrap_or(0),
            talker: r.get(6).map_err(&e)?,
            content,
            raw,
            quoted_id: r.get::<_, Option<i64>>(11).map_err(&e)?.map(|q| q.to_string()),
        };
        let side = SideFacts {
            img_path: r.get::<_, Option<String>>(8).map_err(&e)?.filter(|s| !s.is_empty()),
            big_image: r.get::<_, Option<String>>(9).map_err(&e)?.filter(|s| !s.is_empty()),
            file_path: r.get::<_, Option<String>>(10).map_err(&e)?.filter(|s| !s.is_empty()),
            voice_ms: r.get(12).map_err(&e)?,
            video_s: r.get(13).map_err(&e)?,
            sticker_group: r.get::<_, Option<String>>(14).map_err(&e)?,
        };
        let mut lookup = |svr: i64| -> Option<String> {
            by_svr.query_row([svr], |r| r.get::<_, i64>(0)).ok().map(|i| i.to_string())
        };
        let read = convert(row, &ctx.shared, &mut out.report, &mut lookup);
        if !read.had_prefix {
            unprefixed += 1;
        }
        let mut m = read.message;
        find_media(&mut m, read.doc.as_ref(), &side, &ctx.roots, &mut out.report);
        if !out.push(m, send)? {
            return Ok(());
        }
    }
    if unprefixed > 0 {
        out.report.note(format!(
            "{} no `sender:` line; their sender is unknown",
            chatferry_core::text_form::counted(unprefixed, "received group message had", "received group messages had")
        ));
    }
    for line in ctx.roots.describe() {
        out.report.note(line);
    }
    out.finish(send)
}

/// Finds the file of a media message by Android's rules.
fn find_media(
    m: &mut Message,
    doc: Option<&chatferry_wechat::xml::Doc>,
    side: &SideFacts,
    roots: &MediaRoots,
    report: &mut Report,
) {
    let Some(mut md) = m.media.take() else { return };
    let id = m.id.clone();
    match m.kind {
        MessageKind::Image => {
            let mut found = Found::Missing;
            if let Some(big) = side.big_image.as_deref().filter(|b| !b.starts_with("SERVERID://")) {
                if let Some(p) = media::image_path(big) {
                    found = roots.in_account(&p, &id, report);
                }
            }
            if matches!(found, Found::Missing) {
                if let Some(p) = side.img_path.as_deref().and_then(media::thumbnail_path) {
                    found = roots.in_account(&p, &id, report);
                    if found.is_file() {
                        m.extras.insert("wechat.thumbnail_only".into(), "1".into());
                        report.note(format!("message {id}: only the thumbnail of this picture is on the phone"));
                    }
                }
            }
            attach(&mut md, found, side.big_image.as_deref());
        }
        MessageKind::Voice => {
            if let Some(ms) = side.voice_ms.filter(|ms| *ms > 0) {
                md.duration_ms = Some(ms as u64);
            }
            let found = match &side.img_path {
                Some(n) => roots.in_account(&media::voice_path(n), &id, report),
                None => Found::Missing,
            };
            attach(&mut md, found, None);
        }
        MessageKind::Video => {
            if let Some(s) = side.video_s.filter(|s| *s > 0) {
                md.duration_ms = Some(s as u64 * 1000);
            }
            let found = match &side.img_path {
                Some(n) => roots.in_account(&media::video_path(n), &id, report),
                None => Found::Missing,
            };
            attach(&mut md, found, Some("x.mp4"));
        }
        MessageKind::Sticker => {
            let md5 = side.img_path.clone().or_else(|| doc.and_then(|d| d.attr("msg/emoji", "md5")));
            let found = match &md5 {
                Some(h) => roots.in_account(&media::sticker_path(h, side.sticker_group.as_deref()), &id, report),
                None => Found::Missing,
            };
            attach(&mut md, found, None);
            if md.path.is_some() && md.mime.is_none() {
                report.note(format!("message {id}: the sticker file is stored encrypted by WeChat; kept as it is"));
            }
        }
        MessageKind::Document => {
            let found = match side.file_path.as_deref().map(|p| (p, media::download_relative(p))) {
                Some((_, Some(rel))) => roots.in_micromsg(rel, &id, report),
                Some((p, None)) if media::storage_relative(p).is_some() => {
                    roots.in_storage(media::storage_relative(p).expect("checked"), &id, report)
                }
                Some((p, None)) => {
                    report.note(format!("message {id}: file path {p:?} is outside WeChat's folders"));
                    Found::Missing
                }
                None => Found::Missing,
            };
            let name = md.file_name.clone();
            attach(&mut md, found, name.as_deref());
        }
        _ => {}
    }
    m.media = Some(md);
}
