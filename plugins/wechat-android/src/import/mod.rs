//! Import from EnMicroMsg.db: the owner (userinfo), contacts (rcontact),
//! chats with group members (chatroom), then messages streamed from a
//! reader thread, grouped by chat and in time order.

pub mod media;
mod messages;

use crate::source::Source;
use chatferry_core::producer::{Reader, StreamedImporter};
use chatferry_core::sqlite::{self as db, col_or_null, err_for};
use chatferry_core::*;
use std::collections::{BTreeSet, HashMap};

pub const SOURCE: &str = "wechat-android";

pub use chatferry_wechat::read::chat_kind;
use chatferry_wechat::read::member_list;

/// Opens the store: owner, contacts and chats now; messages stream from a
/// reader thread.
pub fn open(input: &std::path::Path, options: &Options) -> Result<StreamedImporter> {
    let source = Source::open(input, options)?;
    let account_name =
        source.account_dir.as_ref().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned());
    let account_name = account_name.or_else(|| source.uin.as_deref().map(crate::key::account_dir_name));
    let roots = media::MediaRoots::new(
        source.account_dir.as_deref(),
        source.micromsg_dir.as_deref(),
        account_name.as_deref(),
        &options.paths("media-dir"),
    )?;
    let conn = &source.conn;
    let e = err_for(conn);
    let mut report = Report::new();
    report.note(format!("EnMicroMsg.db opened with {}", source.opened_with));
    for n in &source.notes {
        report.note(n.clone());
    }
    if roots.is_empty() {
        report.note(
            "no account folder (image2/, voice2/, video/) beside EnMicroMsg.db and no --opt media-dir: media files \
             are marked missing",
        );
    }

    // The owner: userinfo id 2 = own username, 4 = nickname.
    let mut owner: Option<Contact> = None;
    if db::has_table(conn, "userinfo") {
        let value = |id: i64| -> Option<String> {
            conn.query_row("SELECT value FROM userinfo WHERE id = ?1", [id], |r| r.get::<_, Option<String>>(0))
                .ok()
                .flatten()
                .filter(|v| !v.is_empty())
        };
        if let Some(id) = value(2) {
            owner = Some(Contact { id, nickname: value(4), alias: value(42), ..Default::default() });
        }
    }
    match (&owner, &source.uin) {
        (None, _) => report.note("userinfo does not name the account's owner: messages you sent have no sender id"),
        (Some(o), uin) => report.note(format!(
            "account {}{}{}",
            o.id,
            uin.as_ref().map(|u| format!(", uin {u}")).unwrap_or_default(),
            account_name.as_ref().map(|a| format!(", folder MicroMsg/{a}")).unwrap_or_default()
        )),
    }

    // People and group titles from rcontact.
    let mut contacts = Vec::new();
    let mut titles: HashMap<String, String> = HashMap::new();
    {
        let ctype = col_or_null(conn, "rcontact", "r", "type");
        let mut st = conn
            .prepare(&format!(
                "SELECT r.username, r.alias, r.conRemark, r.nickname, {ctype} FROM rcontact r ORDER BY r.rowid"
            ))
            .map_err(&e)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            })
            .map_err(&e)?;
        let some = |s: Option<String>| s.filter(|s| !s.is_empty());
        for row in rows {
            let (username, alias, remark, nickname, ctype) = row.map_err(&e)?;
            let Some(username) = some(username) else { continue };
            if chat_kind(&username) == ChatKind::Group {
                if let Some(t) = some(nickname) {
                    titles.insert(username, t);
                }
                continue;
            }
            let mut extras = Extras::new();
            if let Some(t) = ctype {
                extras.insert("wechat.contact_type".into(), t.to_string());
            }
            if let Some(o) = owner.as_mut().filter(|o| o.id == username) {
                o.alias = o.alias.take().or(some(alias.clone()));
            }
            contacts.push(Contact {
                id: username,
                name: some(remark),
                nickname: some(nickname),
                alias: some(alias),
                extras,
                ..Default::default()
            });
        }
    }

    // Chats: every talker with messages, and the conversation list.
    let mut talkers: BTreeSet<String> = BTreeSet::new();
    {
        let mut st = conn.prepare("SELECT DISTINCT talker FROM message WHERE talker IS NOT NULL").map_err(&e)?;
        for t in st.query_map([], |r| r.get::<_, String>(0)).map_err(&e)? {
            talkers.insert(t.map_err(&e)?);
        }
        if db::has_table(conn, "rconversation") {
            let mut st = conn.prepare("SELECT username FROM rconversation").map_err(&e)?;
            for t in st.query_map([], |r| r.get::<_, Option<String>>(0)).map_err(&e)? {
                if let Some(t) = t.map_err(&e)?.filter(|t| !t.is_empty()) {
                    talkers.insert(t);
                }
            }
        }
    }
    let mut rooms: HashMap<String, (Vec<String>, Option<String>, Option<String>, Option<String>)> = HashMap::new();
    if db::has_table(conn, "chatroom") {
        let mut st = conn
            .prepare(&format!(
                "SELECT c.chatroomname, c.memberlist, c.roomowner, {sdn}, {dn} FROM chatroom c",
                sdn = col_or_null(conn, "chatroom", "c", "selfDisplayName"),
                dn = col_or_null(conn, "chatroom", "c", "displayname"),
            ))
            .map_err(&e)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(&e)?;
        for row in rows {
            let (name, members, room_owner, self_name, display) = row.map_err(&e)?;
            let Some(name) = name.filter(|n| !n.is_empty()) else { continue };
            let members = member_list(&members.unwrap_or_default());
            talkers.insert(name.clone());
            rooms.insert(name, (members, room_owner.filter(|o| !o.is_empty()), self_name, display));
        }
    }
    let owner_id = owner.as_ref().map(|o| o.id.clone());
    let mut chats = Vec::new();
    for t in talkers {
        let kind = chat_kind(&t);
        let mut chat = Chat { id: t.clone(), kind, ..Default::default() };
        match kind {
            ChatKind::Group => {
                chat.title = titles.get(&t).cloned();
                if let Some((members, room_owner, self_name, display)) = rooms.remove(&t) {
                    for m in members {
                        let role = if room_owner.as_deref() == Some(&m) { Role::Owner } else { Role::Member };
                        let display_name = if owner_id.as_deref() == Some(&m) {
                            self_name.clone().filter(|s| !s.is_empty())
                        } else {
                            None
                        };
                        chat.participants.push(Participant { contact: m, role, display_name });
                    }
                    if let Some(d) = display.filter(|d| !d.is_empty()) {
                        chat.extras.insert("wechat.member_names".into(), d);
                    }
                    if chat.title.is_none() {
                        chat.title = chat.extras.get("wechat.member_names").cloned();
                    }
                }
            }
            ChatKind::Direct => chat.participants.push(Participant { contact: t.clone(), ..Default::default() }),
            _ => {}
        }
        if kind == ChatKind::Official || kind == ChatKind::Other {
            chat.title = contacts.iter().find(|c| c.id == t).and_then(|c| c.nickname.clone().or(c.name.clone()));
        }
        chats.push(chat);
    }

    let estimated: i64 = conn.query_row("SELECT count(*) FROM message", [], |r| r.get(0)).map_err(&e)?;
    let mut extras = Extras::new();
    if let Some(u) = &source.uin {
        extras.insert("wechat.uin".to_string(), u.clone());
    }
    let header = Header {
        source_adapter: SOURCE.into(),
        model_version: MODEL_VERSION.into(),
        owner: owner.clone(),
        estimated_messages: Some(estimated.max(0) as u64),
        extras,
    };
    drop(e);
    let names =
        contacts.iter().filter_map(|c| c.name.clone().or(c.nickname.clone()).map(|n| (c.id.clone(), n))).collect();
    let mut shared = chatferry_wechat::read::Context { owner: owner_id, names, ..Default::default() };
    shared.add_members(&chats);
    let ctx = messages::Context::new(shared, roots);
    let reader: Reader = Box::new(move |size, report, send| messages::read_all(&source, ctx, size, report, send));
    Ok(StreamedImporter::new("wechat-android reader", header, contacts, chats, report, reader))
}
