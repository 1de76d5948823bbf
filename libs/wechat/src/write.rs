//! A canonical message as WeChat's type code and content. Rows that came
//! from WeChat keep their own code and XML (`wechat.type`,
//! `wechat.content`); others are written in the closest native form, and
//! what WeChat has no place for is named so the exporter can count it.
//! Codes are Android's (composite for quotes, files, payments); the iOS
//! exporter stores their base type, as WeChat for iOS does.

use crate::codes::{self, app};
use crate::xml::esc;
use chatferry_core::text_form::as_text;
use chatferry_core::*;

/// A positive server id for a message from another app, stable across runs
/// (FNV-1a of chat and id), 19 digits like WeChat's own.
pub fn stable_id(chat: &str, id: &str) -> i64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in chat.bytes().chain([0]).chain(id.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    (1_000_000_000_000_000_000 + h % 8_000_000_000_000_000_000) as i64
}

/// The server id a row gets: its own from a WeChat store (0 if it had
/// none), else a stable one.
pub fn svr_id_of(m: &Message) -> i64 {
    match m.extras.get("wechat.msgSvrId").and_then(|s| s.parse::<i64>().ok()) {
        Some(s) => s,
        None if m.extras.contains_key("wechat.type") => 0,
        None => stable_id(&m.chat, &m.id),
    }
}

/// The facts of a message written earlier that a reply quotes, from the
/// exporter's `cf_ids` table (canonical id → svr_id, code, sender, text).
pub fn quoted_of(conn: &rusqlite::Connection, reply_to: &str) -> Option<Quoted> {
    conn.prepare_cached("SELECT svr_id, code, sender, text FROM cf_ids WHERE canonical = ?1")
        .and_then(|mut st| {
            st.query_row([reply_to], |r| {
                Ok(Quoted { svr_id: r.get(0)?, code: r.get(1)?, sender: r.get(2)?, content: r.get(3)? })
            })
        })
        .ok()
}

/// A row's content: received group rows start with their sender's line.
pub fn with_sender_line(body: &str, sender: Option<&str>, group: bool, from_me: bool, system: bool) -> String {
    match sender {
        Some(s) if group && !from_me && !system => format!("{s}:\n{body}"),
        _ => body.to_string(),
    }
}

/// The caption WeChat has no place for: it follows as a text row of its own.
pub fn caption_row(m: &Message) -> Option<String> {
    let caption = m.media.as_ref().and_then(|md| md.caption.clone())?;
    (m.kind.has_media() && !m.extras.contains_key("wechat.type")).then_some(caption)
}

/// What a message becomes before media and ids are filled in.
pub struct Native {
    pub code: i64,
    /// The body (no group sender line yet).
    pub body: String,
    /// A binary cell kept from a WeChat store.
    pub raw: Option<Vec<u8>>,
    /// Why it is not the same kind of thing in WeChat, if it is not.
    pub downgrade: Option<String>,
}

impl Native {
    fn new(code: i64, body: impl Into<String>) -> Native {
        Native { code, body: body.into(), raw: None, downgrade: None }
    }
    fn downgraded(code: i64, body: impl Into<String>, why: &str) -> Native {
        Native { code, body: body.into(), raw: None, downgrade: Some(why.to_string()) }
    }
}

/// Quoted-message facts known when the reply is written.
pub struct Quoted {
    pub svr_id: i64,
    pub code: i64,
    pub sender: Option<String>,
    pub content: Option<String>,
}

/// The code and body of a message that came from a WeChat store.
fn kept(m: &Message) -> Option<Native> {
    let code = m.extras.get("wechat.type")?.parse::<i64>().ok()?;
    if let Some(hex) = m.extras.get("wechat.raw_content_hex") {
        return Some(Native { raw: hex::decode(hex).ok(), ..Native::new(code, "") });
    }
    let body = match m.extras.get("wechat.content") {
        Some(c) => c.clone(),
        None => m.text.clone().unwrap_or_default(),
    };
    Some(Native::new(code, body))
}

pub fn native(
    m: &Message,
    owner: Option<&str>,
    sender_name: &dyn Fn(&str) -> Option<String>,
    quoted: Option<&Quoted>,
) -> Native {
    if let Some(n) = kept(m) {
        return n;
    }
    let sender = m.sender.as_deref().or(if m.from_me { owner } else { None }).unwrap_or("");
    if m.reply_to.is_some() && matches!(m.kind, MessageKind::Text | MessageKind::Link | MessageKind::Other) {
        return Native::new(codes::QUOTE, quote_xml(m, quoted, sender_name));
    }
    match m.kind {
        MessageKind::Text => Native::new(codes::TEXT, m.text.clone().unwrap_or_default()),
        MessageKind::Image => Native::new(codes::IMAGE, String::new()),
        MessageKind::Voice => Native::new(codes::VOICE, String::new()),
        MessageKind::Video => Native::new(codes::VIDEO, String::new()),
        MessageKind::Gif => {
            Native::downgraded(codes::VIDEO, String::new(), "WeChat has no GIF messages; written as a video")
        }
        MessageKind::Sticker => Native::new(codes::STICKER, String::new()),
        MessageKind::Document => Native::new(codes::FILE, String::new()),
        MessageKind::Audio => Native::downgraded(
            codes::FILE,
            String::new(),
            "WeChat sends audio files as files; written as a file message",
        ),
        MessageKind::Location => match &m.location {
            Some(l) => {
                let xml = format!(
                    "<msg><location x=\"{}\" y=\"{}\" scale=\"15\" label=\"{}\" maptype=\"roadmap\" poiname=\"{}\" poiid=\"\" /></msg>",
                    l.latitude,
                    l.longitude,
                    esc(l.address.as_deref().unwrap_or("")),
                    esc(l.name.as_deref().unwrap_or("")),
                );
                if l.live || l.url.is_some() {
                    Native::downgraded(
                        codes::LOCATION,
                        xml,
                        "WeChat's location message has no link or live flag; written without",
                    )
                } else {
                    Native::new(codes::LOCATION, xml)
                }
            }
            None => Native::downgraded(codes::TEXT, as_text(m), "a location without coordinates is written as text"),
        },
        MessageKind::Contact => {
            let card = m.contact_card.clone().unwrap_or_default();
            let mut text = format!("👤 {}", card.name.as_deref().unwrap_or("Contact"));
            if let Some(v) = &card.vcard {
                text.push('\n');
                text.push_str(v);
            }
            Native::downgraded(
                codes::TEXT,
                text,
                "WeChat contact cards point at WeChat accounts; the card is written as a text with its vCard",
            )
        }
        MessageKind::Link => {
            let link = m.link.clone().unwrap_or_default();
            let text = m.text.clone().filter(|t| t.trim() != link.url);
            match text {
                // The person wrote more than the link: keep their words.
                Some(t) => Native::downgraded(
                    codes::TEXT,
                    t,
                    "WeChat shows a link inside a text without its preview; the preview's title and description are not written",
                ),
                None => Native::new(
                    codes::APP,
                    appmsg(
                        app::LINK,
                        link.title.as_deref().unwrap_or(&link.url),
                        link.description.as_deref().unwrap_or(""),
                        &format!("<url>{}</url>", esc(&link.url)),
                    ),
                ),
            }
        }
        MessageKind::Call => {
            let c = m.call.clone().unwrap_or_default();
            let msg = match (c.outcome.as_deref(), c.duration_ms) {
                (_, Some(ms)) if ms > 0 => {
                    let s = ms / 1000;
                    if s >= 3600 {
                        format!("通话时长 {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                    } else {
                        format!("通话时长 {:02}:{:02}", s / 60, s % 60)
                    }
                }
                (Some("missed" | "unavailable"), _) => "未接听".to_string(),
                (Some("cancelled"), _) => "已取消".to_string(),
                (Some("declined"), _) => "已拒绝".to_string(),
                _ => "通话".to_string(),
            };
            let xml = format!(
                "<voipmsg type=\"VoIPBubbleMsg\"><VoIPBubbleMsg><msg><![CDATA[{msg}]]></msg><room_type>{}</room_type></VoIPBubbleMsg></voipmsg>",
                if c.video { 1 } else { 0 }
            );
            Native::new(codes::VOIP, xml)
        }
        MessageKind::Payment => payment(m),
        MessageKind::Poll => Native::downgraded(
            codes::TEXT,
            as_text(m),
            "WeChat has no polls; written as a text with the question and options",
        ),
        MessageKind::System => {
            let text = m.text.clone().unwrap_or_else(|| describe(m.system.as_deref(), sender_name));
            Native::new(codes::SYSTEM, text)
        }
        MessageKind::Deleted => {
            let text = m.text.clone().unwrap_or_else(|| {
                if m.from_me {
                    "你撤回了一条消息".to_string()
                } else {
                    let who = sender_name(sender).unwrap_or_else(|| sender.to_string());
                    format!("\"{who}\" 撤回了一条消息")
                }
            });
            Native::new(codes::REVOKE_NOTICE, text)
        }
        MessageKind::Event => Native::downgraded(
            codes::TEXT,
            as_text(m),
            "WeChat has no events; written as a text with the time, place and answers",
        ),
        MessageKind::Other => {
            Native::downgraded(codes::TEXT, as_text(m), "WeChat has no such message; written as a text that states it")
        }
    }
}

fn appmsg(t: i64, title: &str, des: &str, inner: &str) -> String {
    format!(
        "<msg><appmsg appid=\"\" sdkver=\"0\"><title>{}</title><des>{}</des><type>{t}</type>{inner}</appmsg></msg>",
        esc(title),
        esc(des)
    )
}

/// The appmsg of a file message.
pub fn file_xml(name: &str, size: u64) -> String {
    let ext = std::path::Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("");
    appmsg(
        app::FILE,
        name,
        "",
        &format!(
            "<appattach><totallen>{size}</totallen><attachid></attachid><fileext>{}</fileext></appattach>",
            esc(ext)
        ),
    )
}

fn quote_xml(m: &Message, quoted: Option<&Quoted>, sender_name: &dyn Fn(&str) -> Option<String>) -> String {
    let text = match m.kind {
        MessageKind::Link if m.text.is_none() => m.link.as_ref().map(|l| l.url.clone()).unwrap_or_default(),
        _ => as_text(m),
    };
    let (svr, code, who, content) = match quoted {
        Some(q) => (q.svr_id, q.code, q.sender.clone(), q.content.clone().or(m.quoted_text.clone())),
        None => (0, codes::TEXT, None, m.quoted_text.clone()),
    };
    let group = m.chat.ends_with("@chatroom");
    let who_id = who.clone().unwrap_or_default();
    let display = who.as_deref().and_then(sender_name).unwrap_or_else(|| who_id.clone());
    // In groups the quoted content keeps its sender line, as WeChat writes it.
    let content = content.unwrap_or_default();
    let content = if group && !who_id.is_empty() && codes::base(code) == codes::TEXT {
        format!("{who_id}:\n{content}")
    } else {
        content
    };
    let refer_type = if codes::base(code) == codes::TEXT || code == codes::QUOTE { 1 } else { codes::base(code) };
    appmsg(
        app::QUOTE,
        &text,
        "",
        &format!(
            "<refermsg><type>{refer_type}</type><svrid>{svr}</svrid><fromusr>{}</fromusr><chatusr>{}</chatusr>\
             <displayname>{}</displayname><content>{}</content></refermsg>",
            esc(&m.chat),
            if group { esc(&who_id) } else { String::new() },
            esc(&display),
            esc(&content),
        ),
    )
}

fn payment(m: &Message) -> Native {
    let p = m.payment.clone().unwrap_or_default();
    match p.kind.as_str() {
        "transfer" => {
            let fee = match (p.amount.as_deref(), p.currency.as_deref()) {
                (Some(a), Some("CNY") | None) => format!("￥{a}"),
                (Some(a), Some(c)) => format!("{a} {c}"),
                (None, _) => String::new(),
            };
            let sub = match p.status.as_deref() {
                Some("received") => 3,
                Some("refunded") => 4,
                _ => 1,
            };
            let inner = format!(
                "<wcpayinfo><paysubtype>{sub}</paysubtype><feedesc>{}</feedesc><pay_memo>{}</pay_memo></wcpayinfo>",
                esc(&fee),
                esc(p.note.as_deref().unwrap_or(""))
            );
            let xml = appmsg(app::TRANSFER, "微信转账", &fee, &inner);
            let foreign_currency = p.currency.as_deref().is_some_and(|c| c != "CNY");
            let odd_status = p.status.as_deref().is_some_and(|s| !matches!(s, "sent" | "received" | "refunded"));
            if foreign_currency || odd_status {
                Native::downgraded(codes::TRANSFER, xml, "WeChat transfers are in yuan with sent/received/refunded states; the amount or state is written as text in the transfer")
            } else {
                Native::new(codes::TRANSFER, xml)
            }
        }
        "red_packet" => {
            let note = p.note.clone().unwrap_or_else(|| "恭喜发财，大吉大利".into());
            let des = match &p.amount {
                Some(a) => format!("{note} ({a} {})", p.currency.as_deref().unwrap_or("")),
                None => note.clone(),
            };
            let inner = format!("<wcpayinfo><sendertitle>{}</sendertitle></wcpayinfo>", esc(&note));
            let xml = appmsg(app::RED_PACKET, "微信红包", des.trim(), &inner);
            if p.amount.is_some() || p.status.is_some() {
                Native::downgraded(
                    codes::RED_PACKET,
                    xml,
                    "WeChat's red-packet message shows no amount or state; they are written into its description",
                )
            } else {
                Native::new(codes::RED_PACKET, xml)
            }
        }
        _ => {
            Native::downgraded(codes::TEXT, as_text(m), "WeChat has no such payment; written as a text that states it")
        }
    }
}

/// A system event without text, worded.
fn describe(e: Option<&SystemEvent>, name: &dyn Fn(&str) -> Option<String>) -> String {
    let Some(e) = e else { return "[system message]".into() };
    let who = |id: &Option<String>| id.as_deref().map(|i| name(i).unwrap_or_else(|| i.to_string())).unwrap_or_default();
    let targets: Vec<String> =
        e.targets.iter().map(|t| format!("\"{}\"", name(t).unwrap_or_else(|| t.clone()))).collect();
    match e.action.as_str() {
        "group_created" => format!("\"{}\"创建了群聊", who(&e.actor)),
        "member_added" => format!("\"{}\"邀请{}加入了群聊", who(&e.actor), targets.join("、")),
        "member_removed" => format!("\"{}\"将{}移出了群聊", who(&e.actor), targets.join("、")),
        "member_left" => format!("\"{}\"退出了群聊", who(&e.actor)),
        "title_changed" => format!("\"{}\"修改群名为“{}”", who(&e.actor), e.value.as_deref().unwrap_or("")),
        other => match &e.value {
            Some(v) => format!("[{other}] {v}"),
            None => format!("[{other}]"),
        },
    }
}

/// What WeChat has no place for in an otherwise native message.
/// (Reactions are not lost: they become reply rows, `reaction_replies`.)
pub fn lost_details(m: &Message) -> Vec<&'static str> {
    if m.extras.contains_key("wechat.type") {
        return Vec::new();
    }
    let mut lost = chatferry_core::text_form::marks(m);
    if m.starred {
        lost.push("the star");
    }
    lost
}

/// Counts a written message: downgraded with the first reason there is
/// (the form, the media, or details WeChat has no place for), else native.
pub fn record(report: &mut Report, m: &Message, downgrade: Option<&str>) {
    let lost = lost_details(m);
    match downgrade {
        Some(why) => report.downgraded(m.kind, why),
        None if !lost.is_empty() => {
            report.downgraded(m.kind, &format!("WeChat has no place for {}; written without", lost.join(", ")))
        }
        None => report.native(m.kind),
    }
}

/// WeChat has no reactions; people answer with an emoji quoting the
/// message. Each reaction becomes such a reply, from the one who reacted,
/// at the reaction's time (never before the message), written right after
/// it. Exporters count these rows in a note, not as messages read.
pub fn reaction_replies(m: &Message, owner: Option<&str>) -> Vec<Message> {
    m.reactions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let from_me = r.from_me || (owner.is_some() && r.sender.as_deref() == owner);
            let sender = r.sender.clone().or(if from_me { owner.map(String::from) } else { None });
            Message {
                id: format!("{}#reaction{}", m.id, i + 1),
                chat: m.chat.clone(),
                sender,
                from_me,
                timestamp_ms: r.timestamp_ms.unwrap_or(m.timestamp_ms).max(m.timestamp_ms),
                kind: MessageKind::Text,
                status: if from_me { Status::Sent } else { Status::Received },
                text: Some(r.emoji.clone()),
                reply_to: Some(m.id.clone()),
                quoted_text: Some(as_text(m)).filter(|t| !t.is_empty()),
                ..Default::default()
            }
        })
        .collect()
}

/// Bodies of media messages built for other apps' messages, once the file's
/// MD5 and size are known.
pub fn image_xml(md5: &str, size: u64) -> String {
    format!("<?xml version=\"1.0\"?>\n<msg>\n\t<img length=\"{size}\" md5=\"{md5}\" hevc_mid_size=\"0\" />\n</msg>\n")
}

/// `amr`: voiceformat 0; everything else is written as SILK (4).
pub fn voice_xml(amr: bool, ms: u64, size: u64, sender: &str) -> String {
    format!(
        "<msg><voicemsg endflag=\"1\" cancelflag=\"0\" forwardflag=\"0\" voiceformat=\"{}\" \
         voicelength=\"{ms}\" length=\"{size}\" fromusername=\"{}\" /></msg>",
        if amr { 0 } else { 4 },
        esc(sender)
    )
}

pub fn video_xml(size: u64, secs: u64, md5: &str, sender: &str) -> String {
    format!(
        "<msg><videomsg length=\"{size}\" playlength=\"{secs}\" md5=\"{md5}\" fromusername=\"{}\" /></msg>",
        esc(sender)
    )
}

pub fn emoji_xml(sender: &str, chat: &str, md5: &str, size: u64) -> String {
    format!(
        "<msg><emoji fromusername=\"{}\" tousername=\"{}\" type=\"2\" md5=\"{md5}\" len=\"{size}\" productid=\"\" /></msg>",
        esc(sender),
        esc(chat)
    )
}

/// Why a voice note may not play in WeChat, for one built from another app.
pub fn voice_downgrade(mime: Option<&str>) -> Option<String> {
    let mime = mime.unwrap_or("").to_ascii_lowercase();
    (!mime.starts_with("audio/silk") && !mime.starts_with("audio/amr")).then(|| {
        format!(
            "WeChat plays SILK or AMR voice notes; the {} file is kept as it is and may not play there",
            if mime.is_empty() { "unknown" } else { mime.as_str() }
        )
    })
}

/// A file name that stays inside its folder: the last component, no
/// control characters, never empty.
pub fn safe_file_name(name: Option<&str>, fallback: &str) -> String {
    let last = name.and_then(|n| n.rsplit(['/', '\\']).next()).unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        fallback.to_string()
    } else {
        chatferry_core::media::fit_name(&clean, chatferry_core::media::NAME_AT_MOST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_become_emoji_replies_from_who_reacted() {
        let m = Message {
            id: "7".into(),
            chat: "wxid_a".into(),
            timestamp_ms: 5_000,
            kind: MessageKind::Text,
            text: Some("hi".into()),
            reactions: vec![
                Reaction {
                    sender: Some("wxid_a".into()),
                    from_me: false,
                    emoji: "👍".into(),
                    timestamp_ms: Some(9_000),
                },
                Reaction { sender: None, from_me: true, emoji: "❤️".into(), timestamp_ms: Some(1_000) },
            ],
            ..Default::default()
        };
        let r = reaction_replies(&m, Some("wxid_me"));
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].sender.as_deref(), r[0].text.as_deref(), r[0].timestamp_ms),
            (Some("wxid_a"), Some("👍"), 9_000)
        );
        assert_eq!((r[1].sender.as_deref(), r[1].from_me, r[1].timestamp_ms), (Some("wxid_me"), true, 5_000));
        assert_eq!((r[0].reply_to.as_deref(), r[0].quoted_text.as_deref()), (Some("7"), Some("hi")));
        assert!(lost_details(&m).is_empty());
    }

    #[test]
    fn file_names_stay_inside_their_folder() {
        assert_eq!(safe_file_name(Some("../../etc/passwd"), "f"), "passwd");
        assert_eq!(safe_file_name(Some("报告 2024.pdf"), "f"), "报告 2024.pdf");
        assert_eq!(safe_file_name(Some(".."), "file-1.bin"), "file-1.bin");
        assert_eq!(safe_file_name(None, "file-1.bin"), "file-1.bin");
    }
}
