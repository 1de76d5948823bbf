//! The chat tables, one after another, row by row into canonical messages:
//! the body is read by the shared WeChat reader, the file is found by
//! MesLocalID in the chat's media folders (`Img/<h>/<id>.pic`, …,
//! `h` = the table's hash). Message ids are `<MesLocalID>@<hash>` (local
//! ids repeat across tables); friend-request rows (`Hello_` tables) come
//! in the `fmessage` chat with their requester as sender.

use super::Table;
use crate::source::{Files, Source};
use chatferry_core::producer::{Batcher, Send};
use chatferry_core::sqlite::{self as db, err_for};
use chatferry_core::*;
use chatferry_wechat::media::{attach, file_ext, Found};
use chatferry_wechat::read::{convert, split_prefix, Context, Row};
use chatferry_wechat::xml::Doc;
use std::path::Path;
use std::sync::Mutex;

/// The message id of a row.
pub fn message_id(local: i64, t: &Table) -> String {
    let hello = if t.hello { ".hello" } else { "" };
    format!("{local}@{}{hello}{}", t.hash, t.id_suffix)
}

/// Whether an unnamed table's received rows start with sender lines.
pub fn looks_like_group(db_path: &Path, hash: &str) -> Result<bool> {
    let conn = db::open_read_only(db_path)?;
    let e = err_for(&conn);
    let mut st = conn
        .prepare(&format!(
            "SELECT Message FROM Chat_{hash} WHERE Des = 1 AND Type NOT IN (10000, 10002) AND typeof(Message) = 'text' LIMIT 20"
        ))
        .map_err(&e)?;
    let bodies: Vec<String> =
        st.query_map([], |r| r.get(0)).map_err(&e)?.collect::<std::result::Result<_, _>>().map_err(&e)?;
    Ok(!bodies.is_empty() && bodies.iter().all(|b| split_prefix(b).is_some()))
}

pub fn read_all(
    source: &Source,
    tables: &[Table],
    ctx: Context,
    batch: usize,
    shared: &Mutex<Report>,
    send: &mut Send,
) -> Result<()> {
    let conns: Vec<rusqlite::Connection> =
        source.message_dbs.iter().map(|p| db::open_read_only(p)).collect::<Result<_>>()?;
    let mut out = Batcher::new(batch, shared);
    let mut unprefixed = 0u64;
    let mut cdn_stickers = 0u64;
    for t in tables {
        let conn = &conns[t.db];
        let e = err_for(conn);
        let name = if t.hello { format!("Hello_{}", t.hash) } else { format!("Chat_{}", t.hash) };
        // Older Hello_ tables may lack these columns: read NULL then.
        let hello_cols = if t.hello {
            format!(
                "{}, {}",
                db::col_or_null(conn, &name, &name, "OpCode"),
                db::col_or_null(conn, &name, &name, "UsrName")
            )
        } else {
            "NULL, NULL".to_string()
        };
        let mut st = conn
            .prepare(&format!(
                "SELECT MesLocalID, MesSvrID, CreateTime, Message, Status, Type, Des, {hello_cols} FROM {name} \
                 ORDER BY CreateTime, MesLocalID"
            ))
            .map_err(&e)?;
        let mut by_svr = conn
            .prepare(&format!("SELECT MesLocalID FROM {name} WHERE MesSvrID = ?1 ORDER BY MesLocalID LIMIT 1"))
            .map_err(&e)?;
        let mut rows = st.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let local: i64 = r.get(0).map_err(&e)?;
            let (content, raw) = Row::cell(r.get(3).map_err(&e)?);
            let row = Row {
                id: message_id(local, t),
                svr_id: r.get::<_, Option<i64>>(1).map_err(&e)?.filter(|s| *s != 0),
                code: r.get::<_, Option<i64>>(5).map_err(&e)?.unwrap_or(0),
                status: r.get(4).map_err(&e)?,
                // Des 0 = the owner sent it.
                is_send: r.get::<_, Option<i64>>(6).map_err(&e)?.unwrap_or(1) == 0,
                time_ms: r.get::<_, Option<i64>>(2).map_err(&e)?.unwrap_or(0).saturating_mul(1000),
                talker: t.chat.clone(),
                content,
                raw,
                quoted_id: None,
            };
            let mut lookup = |svr: i64| -> Option<String> {
                by_svr.query_row([svr], |r| r.get::<_, i64>(0)).ok().map(|l| message_id(l, t))
            };
            let read = convert(row, &ctx, &mut out.report, &mut lookup);
            if !read.had_prefix {
                unprefixed += 1;
            }
            let mut m = read.message;
            if t.hello {
                if let Some(u) = r.get::<_, Option<String>>(8).map_err(&e)?.filter(|u| !u.is_empty()) {
                    if !m.from_me {
                        m.sender = Some(u.clone());
                    }
                    m.extras.insert("wechat.hello_user".into(), u);
                }
                if let Some(op) = r.get::<_, Option<i64>>(7).map_err(&e)?.filter(|o| *o != 0) {
                    m.extras.insert("wechat.hello_opcode".into(), op.to_string());
                }
            }
            find_media(&mut m, read.doc.as_ref(), local, &t.hash, &source.files, &mut out.report);
            if m.kind == MessageKind::Sticker && m.media.as_ref().is_some_and(|x| x.missing) {
                cdn_stickers += 1;
            }
            if !out.push(m, send)? {
                return Ok(());
            }
        }
    }
    if cdn_stickers > 0 {
        out.report.note(format!(
            "{} no file in the backup (WeChat for iPhone fetches them from its servers); the cdnurl is kept",
            chatferry_core::text_form::counted(cdn_stickers, "sticker has", "stickers have")
        ));
    }
    if unprefixed > 0 {
        out.report.note(format!(
            "{} no `sender:` line; their sender is unknown",
            chatferry_core::text_form::counted(unprefixed, "received group message had", "received group messages had")
        ));
    }
    out.finish(send)
}

/// Finds the file of a media message by iOS's rules (relative to the
/// account folder; `h` is the chat table's hash).
fn find_media(m: &mut Message, doc: Option<&Doc>, local: i64, h: &str, files: &Files, report: &mut Report) {
    let Some(mut md) = m.media.take() else { return };
    let id = m.id.clone();
    let first = |candidates: &[String], report: &mut Report| -> (Found, usize) {
        for (i, c) in candidates.iter().enumerate() {
            let f = files.media(c, &id, report);
            if !matches!(f, Found::Missing) {
                return (f, i);
            }
        }
        (Found::Missing, 0)
    };
    match m.kind {
        MessageKind::Image => {
            let c = [
                format!("Img/{h}/{local}.pic_hd"),
                format!("Img/{h}/{local}.pic"),
                format!("Img/{h}/{local}.pic_thum"),
            ];
            let (found, i) = first(&c, report);
            if i == 2 && found.is_file() {
                m.extras.insert("wechat.thumbnail_only".into(), "1".into());
                report.note(format!("message {id}: only the thumbnail of this picture is on the phone"));
            }
            attach(&mut md, found, None);
        }
        MessageKind::Voice => {
            let (found, _) = first(&[format!("Audio/{h}/{local}.aud")], report);
            attach(&mut md, found, None);
        }
        MessageKind::Video => {
            let (found, _) = first(&[format!("Video/{h}/{local}.mp4"), format!("Video/{h}/{local}_raw.mp4")], report);
            attach(&mut md, found, Some("x.mp4"));
        }
        MessageKind::Sticker => {
            // WeChat for iOS fetches stickers from `cdnurl`; chatferry's own
            // exports keep the file beside the chat's pictures.
            let (found, _) = first(&[format!("Img/{h}/{local}.pic")], report);
            attach(&mut md, found, None);
        }
        MessageKind::Document => {
            let ext = file_ext(doc, md.file_name.as_deref());
            let rel = match &ext {
                Some(x) => format!("OpenData/{h}/{local}.{x}"),
                None => format!("OpenData/{h}/{local}"),
            };
            let (found, _) = first(&[rel], report);
            let name = md.file_name.clone();
            attach(&mut md, found, name.as_deref());
        }
        _ => {}
    }
    m.media = Some(md);
}
