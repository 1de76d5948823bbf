//! One stored WeChat row into a canonical message — the same on Android
//! and iOS: both keep the same text and XML bodies and base type codes.
//!
//! Group rows someone else sent start with `<sender>:\n`; rows the owner
//! sent, system rows and 1:1 rows never do, so the prefix is split only
//! from received group rows (a 1:1 text that starts `x:\n` stays text).
//! What the model has no field for rides in `wechat.*` extras — the raw
//! type code, the server id, the XML of non-text rows — so WeChat → WeChat
//! keeps it. Where a row's file is differs per platform: media messages
//! come back with what the XML says (duration, name, size) and the caller
//! finds the file.

use crate::codes::{self, app};
use crate::xml::Doc;
use chatferry_core::*;
use std::collections::HashMap;

/// The kind of a chat from its username.
pub fn chat_kind(username: &str) -> ChatKind {
    if username.ends_with("@chatroom") {
        ChatKind::Group
    } else if username.starts_with("gh_") {
        ChatKind::Official
    } else if matches!(username, "fmessage" | "medianote" | "floatbottle" | "qmessage" | "tmessage" | "newsapp") {
        ChatKind::Other
    } else {
        ChatKind::Direct
    }
}

/// A group's member list as WeChat stores it (`wxid_a;wxid_b;…`).
pub fn member_list(list: &str) -> Vec<String> {
    list.split(';').map(str::trim).filter(|m| !m.is_empty()).map(String::from).collect()
}

/// What the whole store knows that a row needs.
#[derive(Default)]
pub struct Context {
    pub owner: Option<String>,
    /// Display names (remark, else nickname) for `${username}` in templates.
    pub names: HashMap<String, String>,
    /// Each group's members and their names in that group, to tell who
    /// recalled a message from the name in the notice.
    pub members: HashMap<String, Vec<(String, Option<String>)>>,
}

impl Context {
    /// Remembers the members of the groups among `chats`.
    pub fn add_members(&mut self, chats: &[Chat]) {
        for c in chats.iter().filter(|c| c.kind == ChatKind::Group) {
            let list = c.participants.iter().map(|p| (p.contact.clone(), p.display_name.clone())).collect();
            self.members.insert(c.id.clone(), list);
        }
    }

    /// The member of `room` called `name` (their name in the group, their
    /// remark or nickname, or their username), if exactly one is.
    fn member_named(&self, room: &str, name: &str) -> Option<String> {
        let members = self.members.get(room)?;
        let matches: Vec<&String> = members
            .iter()
            .filter(|(id, in_group)| {
                in_group.as_deref() == Some(name) || self.names.get(id).map(String::as_str) == Some(name) || id == name
            })
            .map(|(id, _)| id)
            .collect();
        (matches.len() == 1).then(|| matches[0].clone())
    }

    /// Who recalled the message a notice stands for: you (`你撤回了一条消息`),
    /// the peer of a one-to-one chat, or the group member the notice names
    /// (`"Alice" 撤回了一条消息`). `None` when the name matches no single member.
    fn revoker(&self, m: &Message, group: bool) -> Option<(String, bool)> {
        let text = m.text.as_deref().unwrap_or("").trim();
        if text.starts_with("你撤回了") || text.starts_with("You recalled") {
            return self.owner.clone().map(|o| (o, true));
        }
        if !group {
            return Some((m.chat.clone(), false));
        }
        let head = text
            .split(" 撤回了")
            .next()
            .filter(|h| h.len() < text.len())
            .or_else(|| text.split(" recalled a message").next().filter(|h| h.len() < text.len()))?;
        let name = head.trim().trim_matches(['"', '“', '”', '「', '」']);
        self.member_named(&m.chat, name).map(|id| (id, false))
    }

    /// `"${wxid_a}" 拍了拍 "${wxid_b}"` → `"Alice" 拍了拍 "Bob"`.
    fn fill_template(&self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            match rest[i + 2..].find('}') {
                Some(j) => {
                    let id = &rest[i + 2..i + 2 + j];
                    out.push_str(self.names.get(id).map(String::as_str).unwrap_or(id));
                    rest = &rest[i + 3 + j..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A stored row, platform-neutral.
pub struct Row {
    pub id: String,
    pub svr_id: Option<i64>,
    pub code: i64,
    pub status: Option<i64>,
    pub is_send: bool,
    pub time_ms: i64,
    pub talker: String,
    pub content: Option<String>,
    /// Content that is not text (a compressed or binary cell), kept raw.
    pub raw: Option<Vec<u8>>,
    /// The quoted message's id when the store links it (Android MsgQuote).
    pub quoted_id: Option<String>,
}

impl Row {
    /// The content cell as text, or raw bytes when it is not UTF-8.
    pub fn cell(v: rusqlite::types::Value) -> (Option<String>, Option<Vec<u8>>) {
        match v {
            rusqlite::types::Value::Text(t) => (Some(t), None),
            rusqlite::types::Value::Blob(b) => match String::from_utf8(b) {
                Ok(t) => (Some(t), None),
                Err(b) => (None, Some(b.into_bytes())),
            },
            rusqlite::types::Value::Null => (None, None),
            rusqlite::types::Value::Integer(i) => (Some(i.to_string()), None),
            rusqlite::types::Value::Real(f) => (Some(f.to_string()), None),
        }
    }
}

/// A converted row: the message, and what the caller needs to find its file.
pub struct Read {
    pub message: Message,
    /// False for a received group row without a `sender:` line.
    pub had_prefix: bool,
    /// The parsed XML body, if it is XML.
    pub doc: Option<Doc>,
}

/// `wxid_abc:\nbody` → (`wxid_abc`, `body`). A username never holds
/// whitespace, `:` or `<`, so longer or odd heads are not prefixes.
pub fn split_prefix(content: &str) -> Option<(&str, &str)> {
    let i = content.find(":\n")?;
    let head = &content[..i];
    let ok = !head.is_empty()
        && head.len() <= 80
        && !head.chars().any(|c| c.is_whitespace() || c == ':' || c == '<' || c == '"');
    ok.then(|| (head, &content[i + 2..]))
}

/// The old voice/video header `<sender>:<length>:<flag>\n`.
fn media_header(body: &str) -> Option<(&str, i64)> {
    let line = body.split('\n').next()?;
    let mut parts = line.split(':');
    let who = parts.next()?;
    let n = parts.next()?.parse::<i64>().ok()?;
    parts.next()?;
    (!who.is_empty() && !who.contains('<')).then_some((who, n))
}

pub fn convert(row: Row, ctx: &Context, report: &mut Report, lookup: &mut dyn FnMut(i64) -> Option<String>) -> Read {
    let id = row.id.clone();
    let group = row.talker.ends_with("@chatroom");
    let base = codes::base(row.code);
    let system = base == codes::SYSTEM || base == codes::SYSTEM_XML;
    let mut m = Message {
        id: id.clone(),
        chat: row.talker.clone(),
        from_me: row.is_send,
        timestamp_ms: row.time_ms,
        status: codes::status(row.is_send, row.status),
        ..Default::default()
    };
    m.extras.insert("wechat.type".into(), row.code.to_string());
    if let Some(s) = row.svr_id {
        m.extras.insert("wechat.msgSvrId".into(), s.to_string());
    }
    if let Some(s) = row.status.filter(|s| *s != codes::status_code(m.status, m.from_me)) {
        m.extras.insert("wechat.status".into(), s.to_string());
    }
    let content = row.content.clone().unwrap_or_default();
    let mut had_prefix = true;
    let mut body: &str = &content;
    if group && !row.is_send {
        if system {
            // `room:\n<sysmsg …>`: the room's own name, not a sender.
            if let Some((_, rest)) = split_prefix(body).filter(|(_, rest)| rest.starts_with('<')) {
                body = rest;
            }
        } else if let Some((who, rest)) = split_prefix(body) {
            m.sender = Some(who.to_string());
            body = rest;
        } else if let Some((who, _)) = media_header(body).filter(|_| base == codes::VOICE || base == codes::VIDEO) {
            m.sender = Some(who.to_string());
        } else {
            had_prefix = false;
        }
    } else if row.is_send {
        m.sender = ctx.owner.clone();
    } else if !system {
        m.sender = Some(row.talker.clone());
    }
    if let Some(raw) = &row.raw {
        // A cell that is not text (newer versions compress some): kept
        // as it is, never shown as garbage text.
        m.kind = MessageKind::Other;
        m.extras.insert("wechat.raw_content_hex".into(), hex::encode(raw));
        report.note(format!("message {id}: its content is not text (compressed or binary); kept as raw data"));
        return Read { message: m, had_prefix, doc: None };
    }
    let keep_xml = |m: &mut Message, body: &str| {
        m.extras.insert("wechat.content".into(), body.to_string());
    };
    let doc = match Doc::parse_checked(body) {
        crate::xml::Parsed::Doc(d) => Some(d),
        crate::xml::Parsed::NotXml => None,
        crate::xml::Parsed::TooDeep => {
            m.extras.insert("wechat.content".into(), body.to_string());
            report.note(format!(
                "message {id}: its XML is nested deeper than {} levels (no WeChat message is); kept as raw text",
                crate::xml::MAX_DEPTH
            ));
            None
        }
    };
    let no_doc = Doc::default();
    match (row.code, base) {
        (codes::REVOKE_NOTICE, _) => {
            m.kind = MessageKind::Deleted;
            m.text = Some(body.to_string());
        }
        (_, codes::TEXT) => {
            m.kind = MessageKind::Text;
            m.text = Some(body.to_string());
        }
        (_, codes::IMAGE) => {
            m.kind = MessageKind::Image;
            keep_xml(&mut m, body);
            m.media = Some(Media::default());
        }
        (_, codes::VOICE) => {
            m.kind = MessageKind::Voice;
            keep_xml(&mut m, body);
            let xml_ms = doc.as_ref().and_then(|d| d.attr("msg/voicemsg", "voicelength")).and_then(|v| v.parse().ok());
            let header_ms = media_header(body).map(|(_, ms)| ms);
            let duration_ms = xml_ms.or(header_ms).filter(|ms: &i64| *ms > 0).map(|ms| ms as u64);
            m.media = Some(Media { duration_ms, ..Default::default() });
        }
        (_, codes::VIDEO | codes::VIDEO_OLD | codes::SHORT_VIDEO) => {
            m.kind = MessageKind::Video;
            keep_xml(&mut m, body);
            let xml_s = doc.as_ref().and_then(|d| d.attr("msg/videomsg", "playlength")).and_then(|v| v.parse().ok());
            let duration_ms =
                xml_s.or(media_header(body).map(|(_, s)| s)).filter(|s: &i64| *s > 0).map(|s| s as u64 * 1000);
            m.media = Some(Media { duration_ms, ..Default::default() });
        }
        (_, codes::STICKER) => {
            m.kind = MessageKind::Sticker;
            keep_xml(&mut m, body);
            m.media = Some(Media::default());
        }
        (_, codes::LOCATION) => {
            m.kind = MessageKind::Location;
            keep_xml(&mut m, body);
            let d = doc.as_ref().unwrap_or(&no_doc);
            let num = |k: &str| d.attr("msg/location", k).and_then(|v| v.parse::<f64>().ok());
            match (num("x"), num("y")) {
                (Some(lat), Some(lon)) => {
                    m.location = Some(Box::new(Location {
                        latitude: lat,
                        longitude: lon,
                        name: d.attr("msg/location", "poiname"),
                        address: d.attr("msg/location", "label"),
                        ..Default::default()
                    }))
                }
                _ => m.text = Some(body.to_string()),
            }
        }
        (_, codes::CONTACT_CARD) => {
            m.kind = MessageKind::Contact;
            keep_xml(&mut m, body);
            let d = doc.as_ref().unwrap_or(&no_doc);
            m.contact_card = Some(Box::new(ContactCard {
                name: d.attr("msg", "nickname").or_else(|| d.attr("msg", "username")),
                vcard: None,
            }));
        }
        (_, codes::VOIP) => {
            m.kind = MessageKind::Call;
            keep_xml(&mut m, body);
            m.call = Some(Box::new(call_of(doc.as_ref(), body)));
        }
        (_, codes::APP) => {
            keep_xml(&mut m, body);
            app_message(&mut m, doc.as_ref(), body, &row, lookup);
        }
        (_, codes::SYSTEM) => {
            m.text = Some(body.to_string());
            if body.contains("撤回了一条消息") || body.contains("recalled a message") {
                m.kind = MessageKind::Deleted;
            } else {
                m.kind = MessageKind::System;
                m.system = Some(Box::new(SystemEvent { action: system_action(body).into(), ..Default::default() }));
            }
        }
        (_, codes::SYSTEM_XML) => {
            keep_xml(&mut m, body);
            let d = doc.as_ref().unwrap_or(&no_doc);
            match d.attr("sysmsg", "type").as_deref() {
                Some("revokemsg") => {
                    m.kind = MessageKind::Deleted;
                    m.text = d.text("sysmsg/revokemsg/replacemsg");
                }
                Some("pat") => {
                    m.kind = MessageKind::System;
                    m.text = d.text("sysmsg/pat/template").map(|t| ctx.fill_template(&t));
                    m.system = Some(Box::new(SystemEvent {
                        action: "pat".into(),
                        actor: d.text("sysmsg/pat/fromusername"),
                        targets: d.text("sysmsg/pat/pattedusername").into_iter().collect(),
                        value: None,
                    }));
                }
                _ => {
                    m.kind = MessageKind::System;
                    m.text = d.text("sysmsg/sysmsgtemplate/content_template/template").or(Some(body.to_string()));
                    m.system = Some(Box::new(SystemEvent { action: "other".into(), ..Default::default() }));
                }
            }
        }
        _ => {
            m.kind = MessageKind::Other;
            m.text = Some(body.to_string());
            report.note(format!("message {id}: WeChat type {} is kept as text", row.code));
        }
    }
    if m.kind == MessageKind::Deleted && m.sender.is_none() {
        // A notice has no sender of its own; the writers need who recalled it.
        match ctx.revoker(&m, group) {
            Some((who, mine)) => {
                m.sender = Some(who);
                m.from_me |= mine;
            }
            None => report.note(format!(
                "message {id}: who recalled it is not known (the notice {:?} names no single member of the chat)",
                m.text.as_deref().unwrap_or("")
            )),
        }
    }
    Read { message: m, had_prefix, doc }
}

fn system_action(text: &str) -> &'static str {
    if text.contains("修改群名为") || text.contains("changed the group name") {
        "title_changed"
    } else if text.contains("移出了群聊") || text.contains("removed") {
        "member_removed"
    } else if text.contains("退出了群聊") || text.contains("left the group") {
        "member_left"
    } else if text.contains("邀请")
        || text.contains("加入了群聊")
        || text.contains("joined")
        || text.contains("invited")
    {
        "member_added"
    } else {
        "other"
    }
}

/// `<voipmsg type="VoIPBubbleMsg"><VoIPBubbleMsg><msg>通话时长 00:42</msg>…`.
fn call_of(doc: Option<&Doc>, body: &str) -> Call {
    let text = doc.and_then(|d| d.text("voipmsg/VoIPBubbleMsg/msg")).unwrap_or_else(|| body.to_string());
    let video = doc.and_then(|d| d.text("voipmsg/VoIPBubbleMsg/room_type")).as_deref() == Some("1")
        || body.contains("voip_content_video");
    let mut call = Call { video, ..Default::default() };
    let digits: Vec<u64> = text
        .rsplit(' ')
        .next()
        .unwrap_or("")
        .split(':')
        .map(|p| p.trim().parse::<u64>())
        .collect::<std::result::Result<_, _>>()
        .unwrap_or_default();
    if digits.len() >= 2 {
        let secs = digits.iter().fold(0, |acc, d| acc * 60 + d);
        call.duration_ms = Some(secs * 1000);
        call.outcome = Some("answered".into());
    } else if text.contains("取消") || text.contains("Canceled") || text.contains("Cancelled") {
        call.outcome = Some("cancelled".into());
    } else if text.contains("拒绝") || text.contains("Declined") {
        call.outcome = Some("declined".into());
    } else if text.contains("未接") || text.contains("无应答") || text.contains("Missed") || text.contains("No answer")
    {
        call.outcome = Some("missed".into());
    }
    call
}

fn app_message(
    m: &mut Message,
    doc: Option<&Doc>,
    body: &str,
    row: &Row,
    lookup: &mut dyn FnMut(i64) -> Option<String>,
) {
    let Some(d) = doc else {
        m.kind = MessageKind::Other;
        m.text = Some(body.to_string());
        return;
    };
    let t = |p: &str| d.text(&format!("msg/appmsg/{p}"));
    let app_type = t("type").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    match app_type {
        app::QUOTE => {
            m.kind = MessageKind::Text;
            m.text = t("title");
            m.reply_to =
                row.quoted_id.clone().or_else(|| t("refermsg/svrid").and_then(|s| s.parse().ok()).and_then(lookup));
            if t("refermsg/type").as_deref() == Some("1") {
                let c = t("refermsg/content").unwrap_or_default();
                let c = match split_prefix(&c) {
                    Some((_, rest)) if t("refermsg/chatusr").is_some() => rest.to_string(),
                    _ => c,
                };
                m.quoted_text = Some(c).filter(|c| !c.is_empty());
            }
        }
        app::FILE => {
            m.kind = MessageKind::Document;
            m.media = Some(Media {
                file_name: t("title"),
                size: t("appattach/totallen").and_then(|v| v.parse().ok()),
                ..Default::default()
            });
        }
        app::TRANSFER => {
            m.kind = MessageKind::Payment;
            let fee = t("wcpayinfo/feedesc").unwrap_or_default();
            let (amount, currency) = money(&fee);
            let status = match t("wcpayinfo/paysubtype").as_deref() {
                Some("1") => Some("sent".to_string()),
                Some("3") => Some("received".to_string()),
                Some("4") => Some("refunded".to_string()),
                other => other.map(|o| format!("state {o}")),
            };
            m.payment = Some(Box::new(Payment {
                kind: "transfer".into(),
                amount,
                currency,
                note: t("wcpayinfo/pay_memo"),
                status,
            }));
        }
        app::RED_PACKET => {
            m.kind = MessageKind::Payment;
            m.payment = Some(Box::new(Payment {
                kind: "red_packet".into(),
                note: t("wcpayinfo/sendertitle").or_else(|| t("des")),
                ..Default::default()
            }));
        }
        app::PAT => {
            m.kind = MessageKind::System;
            m.text = t("title");
            m.system = Some(Box::new(SystemEvent { action: "pat".into(), ..Default::default() }));
        }
        app::MINI_PROGRAM | app::MINI_PROGRAM_2 => {
            m.kind = MessageKind::Link;
            let url = t("weappinfo/pagepath").or_else(|| t("url")).unwrap_or_default();
            m.link = Some(Box::new(Link {
                url,
                title: t("title"),
                description: t("sourcedisplayname").or_else(|| t("des")),
            }));
        }
        app::FORWARDED_RECORD => {
            m.kind = MessageKind::Other;
            m.text = Some([t("title"), t("des")].into_iter().flatten().collect::<Vec<_>>().join("\n"));
        }
        _ => match t("url") {
            Some(url) => {
                m.kind = MessageKind::Link;
                m.link = Some(Box::new(Link { url, title: t("title"), description: t("des") }));
            }
            None => {
                m.kind = MessageKind::Other;
                m.text = t("title").or_else(|| Some(body.to_string()));
            }
        },
    }
}

/// `￥88.00` → (`88.00`, `CNY`).
fn money(fee: &str) -> (Option<String>, Option<String>) {
    let cny = fee.contains('￥') || fee.contains('¥');
    let amount: String = fee.chars().filter(|c| c.is_ascii_digit() || *c == '.').collect();
    let amount = Some(amount).filter(|a| !a.is_empty());
    (amount.clone(), amount.and(if cny { Some("CNY".into()) } else { None }))
}

/// For the fuzz target `wechat_xml` (fuzz/): `bytes` as the content of a
/// row of every type that has an XML or text body, in a 1:1 chat and in a
/// group, sent and received, and as a group's member XML.
#[doc(hidden)]
pub fn fuzz_content(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let ctx = Context {
        owner: Some("wxid_me".into()),
        names: HashMap::from([("wxid_a".into(), "A".into())]),
        members: HashMap::from([("1@chatroom".into(), vec![("wxid_a".into(), Some("A".into()))])]),
    };
    let mut report = Report::new();
    let codes = [
        codes::TEXT,
        codes::IMAGE,
        codes::VOICE,
        codes::CONTACT_CARD,
        codes::VIDEO,
        codes::STICKER,
        codes::LOCATION,
        codes::APP,
        codes::VOIP,
        codes::SYSTEM,
        codes::SYSTEM_XML,
        codes::TRANSFER,
        codes::RED_PACKET,
        codes::QUOTE,
        codes::FILE,
        codes::REVOKE_NOTICE,
    ];
    for code in codes {
        for (talker, is_send) in [("wxid_a", false), ("1@chatroom", false), ("1@chatroom", true)] {
            let row = Row {
                id: "1".into(),
                svr_id: Some(1),
                code,
                status: Some(2),
                is_send,
                time_ms: 0,
                talker: talker.into(),
                content: Some(text.clone().into_owned()),
                raw: None,
                quoted_id: None,
            };
            let _ = convert(row, &ctx, &mut report, &mut |_| Some("wxid_a".into()));
        }
    }
    let _ = crate::xml::room_display_names(&text);
    let _ = member_list(&text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_usernames_only() {
        assert_eq!(split_prefix("wxid_a1:\nhello"), Some(("wxid_a1", "hello")));
        assert_eq!(split_prefix("bob_custom_id:\nBob:\nhi"), Some(("bob_custom_id", "Bob:\nhi")));
        assert_eq!(split_prefix("Bob said:\nhi"), None, "whitespace is not in usernames");
        assert_eq!(split_prefix("wxid_a:2040:0\n"), None, "a voice header is not a prefix");
        assert_eq!(media_header("wxid_a:2040:0\n"), Some(("wxid_a", 2040)));
        assert_eq!(money("￥88.00"), (Some("88.00".into()), Some("CNY".into())));
    }

    #[test]
    fn a_revoke_notice_names_who_recalled_it() {
        let mut ctx = Context {
            owner: Some("wxid_me".into()),
            names: HashMap::from([("wxid_a".into(), "Alice".into()), ("wxid_b".into(), "Bob".into())]),
            ..Default::default()
        };
        let room = Chat {
            id: "1@chatroom".into(),
            kind: ChatKind::Group,
            participants: vec![
                Participant { contact: "wxid_a".into(), ..Default::default() },
                Participant { contact: "wxid_b".into(), display_name: Some("老王".into()), ..Default::default() },
                Participant { contact: "wxid_c".into(), ..Default::default() },
            ],
            ..Default::default()
        };
        ctx.add_members(&[room]);
        let read = |talker: &str, code: i64, text: &str| {
            let row = Row {
                id: "7".into(),
                svr_id: None,
                code,
                status: None,
                is_send: false,
                time_ms: 0,
                talker: talker.into(),
                content: Some(text.into()),
                raw: None,
                quoted_id: None,
            };
            let mut report = Report::new();
            let m = convert(row, &ctx, &mut report, &mut |_| None).message;
            (m.kind, m.sender, m.from_me, report.notes.len())
        };
        let deleted = MessageKind::Deleted;
        let peer = Some("wxid_a".to_string());
        assert_eq!(read("wxid_a", codes::SYSTEM, "\"Alice\" 撤回了一条消息"), (deleted, peer.clone(), false, 0));
        assert_eq!(read("wxid_a", codes::REVOKE_NOTICE, "\"Alice\" 撤回了一条消息"), (deleted, peer.clone(), false, 0));
        assert_eq!(read("wxid_a", codes::SYSTEM, "你撤回了一条消息"), (deleted, Some("wxid_me".into()), true, 0));
        assert_eq!(read("1@chatroom", codes::SYSTEM, "\"Alice\" 撤回了一条消息"), (deleted, peer, false, 0));
        assert_eq!(
            read("1@chatroom", codes::SYSTEM, "\"老王\" 撤回了一条消息"),
            (deleted, Some("wxid_b".into()), false, 0),
            "by the name in the group"
        );
        assert_eq!(read("1@chatroom", codes::SYSTEM, "\"Zed\" 撤回了一条消息"), (deleted, None, false, 1), "noted");
        let xml = "<sysmsg type=\"revokemsg\"><revokemsg><replacemsg><![CDATA[\"Bob\" 撤回了一条消息]]></replacemsg></revokemsg></sysmsg>";
        assert_eq!(read("1@chatroom", codes::SYSTEM_XML, xml).1, Some("wxid_b".into()));
    }

    #[test]
    fn calls_read_duration_and_outcome() {
        let d = Doc::parse("<voipmsg type=\"VoIPBubbleMsg\"><VoIPBubbleMsg><msg><![CDATA[通话时长 01:02]]></msg><room_type>1</room_type></VoIPBubbleMsg></voipmsg>");
        let c = call_of(d.as_ref(), "");
        assert_eq!((c.video, c.duration_ms, c.outcome.as_deref()), (true, Some(62_000), Some("answered")));
        let d =
            Doc::parse("<voipmsg type=\"VoIPBubbleMsg\"><VoIPBubbleMsg><msg>未接听</msg></VoIPBubbleMsg></voipmsg>");
        assert_eq!(call_of(d.as_ref(), "").outcome.as_deref(), Some("missed"));
    }
}
