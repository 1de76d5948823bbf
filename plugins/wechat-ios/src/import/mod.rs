//! Import: the owner, contacts and groups (WCDB_Contact.sqlite `Friend`
//! with its protobuf blobs), the chat list (session.db), and every
//! `Chat_<md5>` table of MM.sqlite and message_<n>.sqlite, mapped back to
//! its username by hashing every username the account knows. Messages
//! stream from a reader thread, chat by chat in time order.

pub mod messages;

use crate::proto::{self, ChatRoom, Remark, Social};
use crate::source::{md5_hex, Source};
use crate::{account, ADAPTER_ID};
use chatferry_core::producer::{Reader, StreamedImporter};
use chatferry_core::sqlite::{self as db, col_or_null, err_for};
use chatferry_core::*;
use chatferry_wechat::read::{chat_kind, member_list};
use chatferry_wechat::xml::room_display_names;

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A message table: which database, its name, and the chat it holds.
#[derive(Clone)]
pub struct Table {
    pub db: usize,
    pub hash: String,
    pub hello: bool,
    pub chat: String,
    /// Set when a table of this name was already read from another file,
    /// so message ids stay unique (`<id>@<hash>.<db>`).
    pub id_suffix: String,
}

struct Room {
    members: Vec<String>,
    owner: Option<String>,
    names: Vec<(String, String)>,
}

fn decode<M: prost::Message + Default>(blob: Option<Vec<u8>>, what: &str, user: &str, report: &mut Report) -> M {
    match blob {
        Some(b) if !b.is_empty() => M::decode(b.as_slice()).unwrap_or_else(|_| {
            report.note(format!("contact {user}: its {what} cannot be read; left out"));
            M::default()
        }),
        _ => M::default(),
    }
}

/// A `Friend` row: a person, or a group with its title and members.
enum Friend {
    Person(Contact),
    Group { user: String, title: Option<String>, room: Room },
}

/// A `Friend` row from its user name, type and protobuf blobs; a blob
/// that does not decode is noted and left out.
fn read_friend(
    user: String,
    ctype: Option<i64>,
    remark: Option<Vec<u8>>,
    social: Option<Vec<u8>>,
    room: Option<Vec<u8>>,
    report: &mut Report,
) -> Friend {
    let remark: Remark = decode(remark, "name record", &user, report);
    if chat_kind(&user) == ChatKind::Group {
        let room: ChatRoom = decode(room, "member list", &user, report);
        let title = proto::text(&remark.nickname).or(proto::text(&remark.remark));
        let members = member_list(&proto::text(&room.members).unwrap_or_default());
        let names = proto::text(&room.room_data).map(|x| room_display_names(&x)).unwrap_or_default();
        return Friend::Group { user, title, room: Room { members, owner: proto::text(&room.owner), names } };
    }
    let social: Social = decode(social, "profile", &user, report);
    let mut extras = Extras::new();
    if let Some(t) = ctype {
        extras.insert("wechat.contact_type".into(), t.to_string());
    }
    Friend::Person(Contact {
        id: user,
        name: proto::text(&remark.remark),
        nickname: proto::text(&remark.nickname),
        alias: proto::text(&remark.alias),
        phone: proto::text(&social.phone),
        extras,
        ..Default::default()
    })
}

/// For the fuzz target `wechat_ios_contacts` (fuzz/): `bytes` as each
/// protobuf blob of a person's and a group's `Friend` row, and as the
/// account's mmsetting.archive.
#[doc(hidden)]
pub fn fuzz_contacts(bytes: &[u8]) {
    let mut report = Report::new();
    let blob = || Some(bytes.to_vec());
    let _ = read_friend("wxid_a".into(), Some(3), blob(), blob(), None, &mut report);
    let _ = read_friend("1@chatroom".into(), Some(2), blob(), None, blob(), &mut report);
    if let Ok(v) = plist::Value::from_reader(std::io::Cursor::new(bytes)) {
        let _ = crate::account::setting_of(&v);
    }
}

pub fn open(input: &std::path::Path, options: &Options) -> Result<StreamedImporter> {
    let mut source = Source::open(input, options)?;
    // Outlives the reader: media are copied from it after the last message is read.
    let decrypted = source.decrypted.take();
    let mut report = Report::new();
    for note in &source.notes {
        report.note(note.clone());
    }

    // Contacts and groups.
    let mut contacts: Vec<Contact> = Vec::new();
    let mut titles: HashMap<String, String> = HashMap::new();
    let mut rooms: HashMap<String, Room> = HashMap::new();
    match &source.contact_db {
        Some(path) => {
            let conn = db::open_read_only(path)?;
            let e = err_for(&conn);
            if !db::has_table(&conn, "Friend") {
                return Err(Error::bad_input(format!(
                    "{}: WCDB_Contact.sqlite has no Friend table; it is not WeChat's contact database",
                    path.display()
                )));
            }
            let col = |c: &str| col_or_null(&conn, "Friend", "f", c);
            let sql = format!(
                "SELECT f.userName, {}, {}, {}, {} FROM Friend f ORDER BY f.rowid",
                col("type"),
                col("dbContactRemark"),
                col("dbContactSocial"),
                col("dbContactChatRoom")
            );
            let mut st = conn.prepare(&sql).map_err(&e)?;
            let mut rows = st.query([]).map_err(&e)?;
            while let Some(r) = rows.next().map_err(&e)? {
                let Some(user) = r.get::<_, Option<String>>(0).map_err(&e)?.filter(|u| !u.is_empty()) else {
                    continue;
                };
                let ctype: Option<i64> = r.get(1).map_err(&e)?;
                let (remark, social, room) = (r.get(2).map_err(&e)?, r.get(3).map_err(&e)?, r.get(4).map_err(&e)?);
                match read_friend(user, ctype, remark, social, room, &mut report) {
                    Friend::Person(c) => contacts.push(c),
                    Friend::Group { user, title, room } => {
                        if let Some(t) = title {
                            titles.insert(user.clone(), t);
                        }
                        rooms.insert(user, room);
                    }
                }
            }
        }
        None => report.note("no DB/WCDB_Contact.sqlite: contacts have no names and groups no member lists"),
    }

    // The owner: mmsetting.archive, else a wxid whose md5 is the folder name.
    let mut owner: Option<Contact> = None;
    if let Some((id, nickname, alias)) = source.setting_file().and_then(|p| account::read_setting(&p)) {
        owner = Some(Contact { id, nickname, alias, ..Default::default() });
    }
    if owner.is_none() {
        let candidates = source.mmkv_wxids.iter().chain(contacts.iter().map(|c| &c.id));
        if let Some(id) = candidates.into_iter().find(|w| md5_hex(w) == source.account) {
            owner = Some(Contact { id: id.clone(), ..Default::default() });
        }
    }
    if let Some(o) = owner.as_mut() {
        if let Some(c) = contacts.iter().find(|c| c.id == o.id) {
            o.nickname = o.nickname.take().or(c.nickname.clone());
            o.alias = o.alias.take().or(c.alias.clone());
        }
    } else {
        report.note(format!(
            "the account's own wxid (md5 {}) is not named in the backup: messages you sent have no sender id",
            source.account
        ));
    }

    // The chat list.
    let mut sessions: BTreeSet<String> = BTreeSet::new();
    if let Some(path) = &source.session_db {
        let conn = db::open_read_only(path)?;
        if db::has_table(&conn, "SessionAbstract") {
            let e = err_for(&conn);
            let mut st = conn.prepare("SELECT UsrName FROM SessionAbstract").map_err(&e)?;
            for u in st.query_map([], |r| r.get::<_, Option<String>>(0)).map_err(&e)? {
                if let Some(u) = u.map_err(&e)?.filter(|u| !u.is_empty()) {
                    sessions.insert(u);
                }
            }
        }
    }

    // Every username the account knows, by md5: table names point at them.
    let mut known: HashMap<String, String> = HashMap::new();
    {
        let mut add = |u: &str| {
            known.entry(md5_hex(u)).or_insert_with(|| u.to_string());
        };
        contacts.iter().for_each(|c| add(&c.id));
        for (id, room) in &rooms {
            add(id);
            room.members.iter().for_each(|m| add(m));
        }
        sessions.iter().for_each(|s| add(s));
        source.mmkv_wxids.iter().for_each(|w| add(w));
        if let Some(o) = &owner {
            add(&o.id);
        }
        for special in ["fmessage", "medianote", "floatbottle", "newsapp", "weixin", "filehelper", "notifymessage"] {
            add(special);
        }
    }

    // The message tables.
    let mut tables: Vec<Table> = Vec::new();
    let mut estimated: u64 = 0;
    let mut unmatched = Vec::new();
    let mut compressed_column = false;
    for (i, path) in source.message_dbs.iter().enumerate() {
        let conn = db::open_read_only(path)?;
        let e = err_for(&conn);
        let mut st = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'Chat\\_%' ESCAPE '\\' OR name LIKE 'Hello\\_%' ESCAPE '\\') ORDER BY name",
            )
            .map_err(&e)?;
        let names: Vec<String> =
            st.query_map([], |r| r.get(0)).map_err(&e)?.collect::<std::result::Result<_, _>>().map_err(&e)?;
        for name in names {
            let (hello, hash) = match name.split_once('_') {
                Some(("Chat", h)) => (false, h),
                Some(("Hello", h)) => (true, h),
                _ => continue,
            };
            if hash.len() != 32 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let hash = hash.to_ascii_lowercase();
            let hash = hash.as_str();
            let again = tables.iter().any(|t| t.hash == hash && t.hello == hello);
            let id_suffix = if again { format!(".{i}") } else { String::new() };
            let count: i64 = conn.query_row(&format!("SELECT count(*) FROM {name}"), [], |r| r.get(0)).map_err(&e)?;
            estimated += count.max(0) as u64;
            compressed_column |= db::has_column(&conn, &name, "WCDB_CT_Message");
            let chat = if hello {
                "fmessage".to_string()
            } else {
                match known.get(hash) {
                    Some(u) => u.clone(),
                    None => {
                        unmatched.push(hash.to_string());
                        hash.to_string()
                    }
                }
            };
            tables.push(Table { db: i, hash: hash.to_string(), hello, chat, id_suffix });
        }
    }
    if tables.is_empty() && source.contact_db.is_none() && source.session_db.is_none() {
        return Err(Error::bad_input(format!(
            "{}: MM.sqlite has no chat tables (Chat_<md5>) and there is no contact database; it is not WeChat's \
             message store",
            input.display()
        )));
    }
    if compressed_column {
        report.note("this WeChat version compresses some message texts (WCDB_CT_Message); those rows are kept raw");
    }
    if !unmatched.is_empty() {
        report.note(format!(
            "{} to no username the backup knows (deleted contacts or groups you left); imported as chats \
             titled by their table hash: {}",
            chatferry_core::text_form::counted(unmatched.len() as u64, "chat table belongs", "chat tables belong"),
            unmatched.join(", ")
        ));
    }
    let owner_id = owner.as_ref().map(|o| o.id.clone());
    // A table nobody's name hashes to: a group if its received rows carry
    // sender lines (then `<hash>@chatroom`, so they are split), else a person.
    for t in tables.iter_mut().filter(|t| !t.hello && t.chat == t.hash) {
        if messages::looks_like_group(&source.message_dbs[t.db], &t.hash)? {
            t.chat = format!("{}@chatroom", t.hash);
        }
    }
    tables.sort_by(|a, b| (&a.chat, a.hello, &a.hash).cmp(&(&b.chat, b.hello, &b.hash)));
    let mut chat_ids: BTreeMap<String, Option<String>> = BTreeMap::new(); // id → unmatched hash
    for t in &tables {
        let unmatched_hash = unmatched.contains(&t.hash).then(|| t.hash.clone()).filter(|_| !t.hello);
        chat_ids.entry(t.chat.clone()).or_insert(unmatched_hash);
    }
    for s in &sessions {
        chat_ids.entry(s.clone()).or_insert(None);
    }
    let mut chats = Vec::new();
    for (id, unmatched_hash) in chat_ids {
        let kind = chat_kind(&id);
        let mut chat = Chat { id: id.clone(), kind, ..Default::default() };
        if let Some(h) = unmatched_hash {
            chat.title = Some(format!("Chat_{h}"));
            chat.extras.insert("wechat.table_hash".into(), h);
        }
        match kind {
            ChatKind::Group => {
                chat.title = titles.get(&id).cloned().or(chat.title);
                if let Some(room) = rooms.remove(&id) {
                    let names: HashMap<String, String> = room.names.into_iter().collect();
                    for m in room.members {
                        let role = if room.owner.as_deref() == Some(&m) { Role::Owner } else { Role::Member };
                        let display_name = names.get(&m).cloned();
                        chat.participants.push(Participant { contact: m, role, display_name });
                    }
                }
            }
            ChatKind::Direct => chat.participants.push(Participant { contact: id.clone(), ..Default::default() }),
            _ => {
                chat.title = chat.title.or_else(|| {
                    contacts.iter().find(|c| c.id == id).and_then(|c| c.nickname.clone().or(c.name.clone()))
                });
            }
        }
        chats.push(chat);
    }

    let header = Header {
        source_adapter: ADAPTER_ID.into(),
        model_version: MODEL_VERSION.into(),
        owner: owner.clone(),
        estimated_messages: Some(estimated),
        extras: Extras::new(),
    };
    let names = contacts
        .iter()
        .chain(owner.iter())
        .filter_map(|c| c.name.clone().or(c.nickname.clone()).map(|n| (c.id.clone(), n)))
        .collect();
    let mut ctx = chatferry_wechat::read::Context { owner: owner_id, names, ..Default::default() };
    ctx.add_members(&chats);
    let reader: Reader =
        Box::new(move |size, report, send| messages::read_all(&source, &tables, ctx, size, report, send));
    Ok(StreamedImporter::new("wechat-ios reader", header, contacts, chats, report, reader).keeping(decrypted))
}
