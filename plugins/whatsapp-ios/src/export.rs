//! Export: a fresh ChatStorage.sqlite with WhatsApp's Core Data layout and
//! `Message/Media/…` beside it, the way the shared app-group folder holds
//! them. Bookkeeping: Z_ENT per entity as listed in Z_PRIMARYKEY, Z_OPT 1,
//! Z_PRIMARYKEY.Z_MAX = highest Z_PK, ZSORT per chat from 1, the chat's
//! ZMESSAGECOUNTER = next ZSORT, ZLASTMESSAGE/DATE/TEXT = its last message,
//! ZDATAITEMVERSION 2 (all messages of a real store had 2).
//!
//! The schema is the secondhand DDL in schema/ChatStorage.sql. Entity
//! numbers follow Core Data's alphabetical numbering of these entities; a
//! real app's model has more entities, so restoring into a phone needs the
//! phone's own store as a template (not built yet, see the issue).

use crate::codes;
use crate::import::SOURCE;
use crate::proto::{MediaMetadata, ReactionItem, Reactions, ReceiptInfo};
use chatferry_core::ddl::{index_kind, is_internal, statements, Index};
use chatferry_core::media::{extension_for, ContentStore};
use chatferry_core::sqlite::err_at as err;
use chatferry_core::time::unix_ms_to_apple_seconds;
use chatferry_core::*;
use prost::Message as _;
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SCHEMA: &str = include_str!("../schema/ChatStorage.sql");

/// (entity, table) in Core Data's alphabetical numbering, Z_ENT = position + 1.
const ENTITIES: &[(&str, &str)] = &[
    ("WAChatSession", "ZWACHATSESSION"),
    ("WAGroupInfo", "ZWAGROUPINFO"),
    ("WAGroupMember", "ZWAGROUPMEMBER"),
    ("WAMediaItem", "ZWAMEDIAITEM"),
    ("WAMessage", "ZWAMESSAGE"),
    ("WAMessageInfo", "ZWAMESSAGEINFO"),
    ("WAProfilePushName", "ZWAPROFILEPUSHNAME"),
    ("WAVCardMention", "ZWAVCARDMENTION"),
];

struct ChatInfo {
    pk: i64,
    group: bool,
    next_sort: i64,
}

pub struct IosExporter {
    db_path: PathBuf,
    /// Where `Message/` media go (the output, or a work folder of a backup).
    message_root: PathBuf,
    /// Z_ENT per table, from the store's own Z_PRIMARYKEY.
    ents: HashMap<&'static str, i64>,
    /// Writing into a copy of the phone's store: its highest message Z_PK
    /// before we added any, and the chats we added messages to.
    template_max_pk: Option<i64>,
    /// Rows held at a template table's Z_MAX while we write (see `load_template`).
    key_holders: Vec<(&'static str, i64)>,
    touched: std::collections::HashSet<i64>,
    push_names: std::collections::HashSet<String>,
    backup: Option<crate::template::BackupTemplate>,
    conn: Connection,
    names: HashMap<String, (Option<String>, Option<String>)>,
    chats: HashMap<String, ChatInfo>,
    members: HashMap<(i64, String), i64>,
    keep_ids: bool,
    owner: Option<String>,
    report: Report,
    /// One content store per chat folder, so files shared by many messages
    /// are copied once (bounded: cleared past 64 chats).
    stores: std::cell::RefCell<HashMap<String, ContentStore>>,
    /// A fresh store's indexes, made in `finish`: building an index once
    /// from sorted keys is several times cheaper than keeping it up to date
    /// through a million inserts.
    deferred_indexes: Vec<String>,
}

/// A stanza id for messages from elsewhere: 20 upper-case hex digits like
/// the iPhone app's own (and the length public readers detect in replies).
fn stanza_for(m: &Message) -> String {
    let d = Sha256::digest(format!("{}\u{0}{}", m.chat, m.id).as_bytes());
    hex::encode_upper(&d[..10])
}

fn stanza_of(m: &Message) -> String {
    m.extras.get("wai.stanza_id").or(m.extras.get("wa.key_id")).cloned().unwrap_or_else(|| stanza_for(m))
}

impl IosExporter {
    pub fn create(output: &Path, options: &Options) -> Result<IosExporter> {
        let owner = chatferry_core::phone::owner_jid(options.get("owner"), options.get("region"))?;
        let (db_path, message_root, backup, fresh) = match options.path("template") {
            None => {
                std::fs::create_dir_all(output.join("Message")).map_err(|e| Error::io(output, "create", e))?;
                (output.join("ChatStorage.sqlite"), output.join("Message"), None, true)
            }
            Some(t) if t.is_dir() && t.join("Manifest.db").is_file() => {
                std::fs::create_dir_all(output).map_err(|e| Error::io(output, "create", e))?;
                let (b, db) = crate::template::BackupTemplate::open(&t, output, options)?;
                let root = b.message_root();
                (db, root, Some(b), false)
            }
            Some(t) if t.is_file() => {
                std::fs::create_dir_all(output.join("Message")).map_err(|e| Error::io(output, "create", e))?;
                let db = output.join("ChatStorage.sqlite");
                chatferry_core::small_file::copy_regular(&t, &db).map_err(|e| Error::io(&t, "copy", e))?;
                // The phone's newest rows may be only in its WAL: it comes
                // along, and SQLite folds it in when the copy is opened.
                let wal = PathBuf::from(format!("{}-wal", t.display()));
                if wal.is_file() {
                    let to = PathBuf::from(format!("{}-wal", db.display()));
                    chatferry_core::small_file::copy_regular(&wal, &to).map_err(|e| Error::io(&wal, "copy", e))?;
                }
                (db, output.join("Message"), None, false)
            }
            Some(t) => {
                return Err(Error::usage(format!(
                    "template {} is neither a ChatStorage.sqlite nor an iPhone backup folder",
                    t.display()
                )))
            }
        };
        let conn = Connection::open(&db_path).map_err(err(&db_path))?;
        // Temporary id tables go to disk, not memory: memory stays flat.
        conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;")
            .map_err(err(&db_path))?;
        let mut ents = HashMap::new();
        let mut deferred_indexes = Vec::new();
        if fresh {
            deferred_indexes = create_fresh(&conn, &db_path, output)?;
        } else if !chatferry_core::sqlite::has_table(&conn, "ZWAMESSAGE")
            || !chatferry_core::sqlite::has_table(&conn, "Z_PRIMARYKEY")
        {
            return Err(Error::bad_input(
                "the template is not WhatsApp's ChatStorage.sqlite (no ZWAMESSAGE / Z_PRIMARYKEY)",
            ));
        }
        for (name, table) in ENTITIES {
            let e: Option<i64> =
                conn.query_row("SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = ?1", [name], |r| r.get(0)).ok();
            let e = e.ok_or_else(|| {
                Error::unsupported(format!("the template's Core Data model has no {name} entity; its WhatsApp version is not known to chatferry"))
            })?;
            ents.insert(*table, e);
        }
        // cf_ids gets its index in `finish`, when it is first looked up.
        conn.execute_batch(
            "BEGIN; CREATE TEMP TABLE cf_ids (canonical TEXT, pk INTEGER, stanza TEXT, sender TEXT);
             CREATE TEMP TABLE cf_replies (item INTEGER, quoted TEXT, quoted_text TEXT, quoted_stanza TEXT);",
        )
        .map_err(err(&db_path))?;
        let mut me = IosExporter {
            db_path,
            message_root,
            ents,
            template_max_pk: None,
            key_holders: Vec::new(),
            touched: Default::default(),
            push_names: Default::default(),
            backup,
            conn,
            names: HashMap::new(),
            chats: HashMap::new(),
            members: HashMap::new(),
            keep_ids: false,
            owner,
            report: Report::new(),
            stores: Default::default(),
            deferred_indexes,
        };
        if !fresh {
            me.load_template()?;
        }
        Ok(me)
    }

    fn ent(&self, table: &str) -> i64 {
        self.ents[table]
    }

    /// The phone's own chats, members and push names: new messages join them.
    fn load_template(&mut self) -> Result<()> {
        let path = self.db_path.clone();
        let e = err(&path);
        self.template_max_pk =
            Some(self.conn.query_row("SELECT COALESCE(max(Z_PK), 0) FROM ZWAMESSAGE", [], |r| r.get(0)).map_err(&e)?);
        let mut st = self
            .conn
            .prepare(
                "SELECT c.Z_PK, c.ZCONTACTJID, c.ZGROUPINFO IS NOT NULL, COALESCE((SELECT max(ZSORT) FROM ZWAMESSAGE m WHERE m.ZCHATSESSION = c.Z_PK), 0)
                 FROM ZWACHATSESSION c WHERE c.ZCONTACTJID IS NOT NULL",
            )
            .map_err(&e)?;
        let rows: Vec<(i64, String, bool, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(&e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(&e)?;
        drop(st);
        for (pk, jid, group, max_sort) in rows {
            self.chats.insert(jid, ChatInfo { pk, group, next_sort: max_sort + 1 });
        }
        let mut st = self
            .conn
            .prepare("SELECT Z_PK, ZCHATSESSION, ZMEMBERJID FROM ZWAGROUPMEMBER WHERE ZMEMBERJID IS NOT NULL")
            .map_err(&e)?;
        let rows: Vec<(i64, i64, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(&e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(&e)?;
        drop(st);
        for (pk, chat, jid) in rows {
            self.members.insert((chat, jid), pk);
        }
        let mut st = self.conn.prepare("SELECT ZJID FROM ZWAPROFILEPUSHNAME WHERE ZJID IS NOT NULL").map_err(&e)?;
        let rows: Vec<String> =
            st.query_map([], |r| r.get(0)).map_err(&e)?.collect::<std::result::Result<_, _>>().map_err(&e)?;
        drop(st);
        self.push_names.extend(rows);
        // Core Data hands out the key after Z_MAX. A row the phone deleted
        // leaves Z_MAX above the highest Z_PK, and that key is not to be
        // given out again: a row held at Z_MAX while we write makes SQLite
        // number ours above it (it is taken out in `finish`).
        for (_, table) in ENTITIES {
            let ent = self.ents[table];
            let (z_max, max_pk): (i64, i64) = self
                .conn
                .query_row(
                    &format!(
                        "SELECT Z_MAX, (SELECT COALESCE(max(Z_PK), 0) FROM {table}) FROM Z_PRIMARYKEY WHERE Z_ENT = ?1"
                    ),
                    [ent],
                    |r| Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0), r.get(1)?)),
                )
                .map_err(&e)?;
            if z_max > max_pk {
                self.conn
                    .execute(&format!("INSERT INTO {table} (Z_PK, Z_ENT, Z_OPT) VALUES (?1, ?2, 0)"), [z_max, ent])
                    .map_err(&e)?;
                self.key_holders.push((table, z_max));
            }
        }
        Ok(())
    }

    fn insert_chat(&mut self, chat: &Chat) -> Result<i64> {
        let path = self.db_path.clone();
        let e = err(&path);
        let group = chat.kind == ChatKind::Group;
        let session = chat
            .extras
            .get("wai.session_type")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| codes::session_type(chat.kind, &chat.id));
        let partner = if chat.kind == ChatKind::Direct {
            self.names.get(&chat.id).and_then(|(n, nick)| n.clone().or(nick.clone())).or(chat.title.clone())
        } else {
            chat.title.clone()
        };
        let flag = |k: &str| chat.extras.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        self.conn
            .execute(
                "INSERT INTO ZWACHATSESSION (Z_ENT, Z_OPT, ZARCHIVED, ZHIDDEN, ZREMOVED, ZSESSIONTYPE, ZUNREADCOUNT,
                                             ZMESSAGECOUNTER, ZCONTACTJID, ZPARTNERNAME, ZFLAGS)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, 0, 1, ?6, ?7, 0)",
                params![
                    self.ent("ZWACHATSESSION"),
                    chat.archived as i64,
                    flag("wai.hidden"),
                    flag("wai.removed"),
                    session,
                    chat.id,
                    partner
                ],
            )
            .map_err(&e)?;
        let pk = self.conn.last_insert_rowid();
        if group {
            let creator = chat.participants.iter().find(|p| p.role == Role::Owner).map(|p| p.contact.clone());
            self.conn
                .execute(
                    "INSERT INTO ZWAGROUPINFO (Z_ENT, Z_OPT, ZSTATE, ZCHATSESSION, ZCREATIONDATE, ZCREATORJID, ZOWNERJID)
                     VALUES (?1, 1, 0, ?2, ?3, ?4, ?4)",
                    params![self.ent("ZWAGROUPINFO"), pk, chat.created_ms.map(unix_ms_to_apple_seconds), creator],
                )
                .map_err(&e)?;
            let info = self.conn.last_insert_rowid();
            self.conn
                .execute("UPDATE ZWACHATSESSION SET ZGROUPINFO = ?1 WHERE Z_PK = ?2", params![info, pk])
                .map_err(&e)?;
            for p in &chat.participants {
                self.member(pk, &p.contact, p.role != Role::Member, true)?;
            }
        }
        self.chats.insert(chat.id.clone(), ChatInfo { pk, group, next_sort: 1 });
        Ok(pk)
    }

    fn member(&mut self, chat_pk: i64, jid: &str, admin: bool, active: bool) -> Result<i64> {
        if let Some(pk) = self.members.get(&(chat_pk, jid.to_string())) {
            return Ok(*pk);
        }
        let (name, nick) = self.names.get(jid).cloned().unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO ZWAGROUPMEMBER (Z_ENT, Z_OPT, ZISACTIVE, ZISADMIN, ZCHATSESSION, ZCONTACTNAME, ZFIRSTNAME, ZMEMBERJID)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![self.ent("ZWAGROUPMEMBER"), active as i64, admin as i64, chat_pk, name, nick, jid],
            )
            .map_err(err(&self.db_path))?;
        let pk = self.conn.last_insert_rowid();
        self.members.insert((chat_pk, jid.to_string()), pk);
        Ok(pk)
    }

    fn insert_message(&mut self, m: &Message) -> Result<()> {
        let path = self.db_path.clone();
        let e = err(&path);
        if !self.chats.contains_key(&m.chat) {
            self.insert_chat(&Chat { id: m.chat.clone(), kind: ChatKind::Direct, ..Default::default() })?;
        }
        let (chat_pk, group, sort) = {
            let c = self.chats.get_mut(&m.chat).expect("inserted");
            self.touched.insert(c.pk);
            let sort = c.next_sort;
            c.next_sort += 1;
            (c.pk, c.group, sort)
        };
        let member = match (&m.sender, m.from_me, group) {
            (Some(s), false, true) => Some(self.member(chat_pk, s, false, false)?),
            _ => None,
        };
        // A missed call is a call row there; any other call, a text that states it.
        let answered = m.call.as_ref().and_then(|c| c.outcome.as_deref()).is_some_and(|o| o != "missed");
        let native = codes::type_of(m.kind).filter(|_| !(m.kind == MessageKind::Call && answered));
        let mtype = m.extras.get("wai.message_type").and_then(|t| t.parse::<i64>().ok()).or(native).unwrap_or(0);
        let downgraded = native.is_none() && !m.extras.contains_key("wai.message_type");
        let text = if downgraded {
            Some(text_form::as_text(m))
        } else {
            match m.kind {
                MessageKind::System => m.system.as_ref().and_then(|s| s.value.clone()),
                MessageKind::Document => m.media.as_ref().and_then(|x| x.caption.clone()),
                _ if m.media.is_some() => None,
                MessageKind::Deleted | MessageKind::Call | MessageKind::Contact | MessageKind::Location => None,
                _ => m.text.clone(),
            }
        };
        let status =
            m.extras.get("wai.status").and_then(|s| s.parse::<i64>().ok()).unwrap_or(if m.from_me { 5 } else { 0 });
        let stanza = stanza_of(m);
        let date = unix_ms_to_apple_seconds(m.timestamp_ms);
        let explicit = if self.keep_ids { m.id.parse::<i64>().ok() } else { None };
        let opt_i = |k: &str| m.extras.get(k).and_then(|v| v.parse::<i64>().ok());
        let insert = |pk: Option<i64>| {
            self.conn.prepare_cached(
                "INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, Z_OPT, ZCHATSESSION, ZISFROMME, ZMESSAGEDATE, ZSENTDATE, ZTEXT, ZMESSAGETYPE,
                    ZMESSAGESTATUS, ZFROMJID, ZTOJID, ZGROUPMEMBER, ZPUSHNAME, ZSTANZAID, ZSORT, ZSTARRED, ZFLAGS,
                    ZGROUPEVENTTYPE, ZDATAITEMVERSION, ZDOCID, ZSPOTLIGHTSTATUS)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 2, 0, 0)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    pk,
                    self.ent("ZWAMESSAGE"),
                    chat_pk,
                    m.from_me as i64,
                    date,
                    text,
                    mtype,
                    status,
                    if m.from_me { None } else { Some(m.chat.clone()) },
                    if m.from_me { Some(m.chat.clone()) } else { None },
                    member,
                    m.sender.as_ref().filter(|_| !m.from_me).and_then(|s| self.names.get(s)).and_then(|(_, nick)| nick.clone()),
                    stanza,
                    sort,
                    m.starred as i64,
                    opt_i("wai.flags").unwrap_or(0),
                    opt_i("wai.group_event"),
                ])
            })
        };
        match insert(explicit) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(f, _))
                if explicit.is_some() && f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                insert(None).map_err(&e)?;
            }
            Err(x) => return Err(e(x)),
        }
        let pk = self.conn.last_insert_rowid();
        self.conn
            .prepare_cached("INSERT INTO temp.cf_ids (canonical, pk, stanza, sender) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![m.id, pk, stanza, m.sender]))
            .map_err(&e)?;

        // The media item: files, places, cards, and the metadata of replies.
        let needs_item = m.media.is_some()
            || m.location.is_some()
            || m.link.as_ref().is_some_and(|l| l.title.is_some())
            || m.contact_card.is_some()
            || m.reply_to.is_some()
            || m.quoted_text.is_some()
            || m.extras.contains_key("wai.metadata");
        if needs_item && !downgraded {
            let (mut local_path, mut size, mut title, mut mime, mut duration) = (None, None, None, None, None);
            if let Some(media) = &m.media {
                mime = media.mime.clone();
                duration = media.duration_ms.map(|d| d as f64 / 1000.0);
                title = if m.kind == MessageKind::Document { media.file_name.clone() } else { media.caption.clone() };
                size = media.size.map(|s| s as i64);
                if let (Some(src), false) = (&media.path, media.missing) {
                    let wanted = m.extras.get("wai.local_path").filter(|p| safe_relative(p)).cloned();
                    let (rel, bytes) = self.place(Path::new(src), wanted, media, &m.chat)?;
                    local_path = Some(rel);
                    size = Some(bytes as i64);
                    self.report.media.carried += 1;
                } else {
                    local_path = m.extras.get("wai.local_path").cloned();
                }
            }
            let (lat, lon) = m.location.as_ref().map(|l| (Some(l.latitude), Some(l.longitude))).unwrap_or((None, None));
            if let Some(l) = &m.location {
                // The place's address goes on the title's second line [U].
                title = match (&l.name, &l.address) {
                    (Some(n), Some(a)) => Some(format!("{n}\n{a}")),
                    (n, a) => n.clone().or(a.clone()),
                };
            }
            if let Some(link) = &m.link {
                title = link.title.clone();
            }
            let (vname, vstring) = match &m.contact_card {
                Some(c) => (c.name.clone(), c.vcard.clone()),
                None => (None, mime),
            };
            let meta: Option<Vec<u8>> = m.extras.get("wai.metadata").and_then(|h| hex::decode(h).ok());
            self.conn
                .prepare_cached(
                    "INSERT INTO ZWAMEDIAITEM (Z_ENT, Z_OPT, ZFILESIZE, ZMOVIEDURATION, ZMESSAGE, ZLATITUDE, ZLONGITUDE,
                        ZMEDIALOCALPATH, ZTITLE, ZVCARDNAME, ZVCARDSTRING, ZMETADATA)
                     VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        self.ent("ZWAMEDIAITEM"),
                        size,
                        duration.map(|d| d.round() as i64),
                        pk,
                        lat,
                        lon,
                        local_path,
                        title,
                        vname,
                        vstring,
                        meta
                    ])
                })
                .map_err(&e)?;
            let item = self.conn.last_insert_rowid();
            self.conn
                .prepare_cached("UPDATE ZWAMESSAGE SET ZMEDIAITEM = ?1 WHERE Z_PK = ?2")
                .and_then(|mut s| s.execute(params![item, pk]))
                .map_err(&e)?;
            if !m.extras.contains_key("wai.metadata") && (m.reply_to.is_some() || m.quoted_text.is_some()) {
                self.conn
                    .prepare_cached("INSERT INTO temp.cf_replies (item, quoted, quoted_text, quoted_stanza) VALUES (?1, ?2, ?3, ?4)")
                    .and_then(|mut s| {
                        s.execute(params![
                            item,
                            m.reply_to,
                            m.quoted_text,
                            m.extras.get("wai.quoted_stanza").or(m.extras.get("wa.quoted_key_id"))
                        ])
                    })
                    .map_err(&e)?;
            }
        }
        // Reactions live in the message info's receipt blob.
        let receipts: Option<Vec<u8>> = match m.extras.get("wai.receipt_info").and_then(|h| hex::decode(h).ok()) {
            Some(raw) => Some(raw),
            None if !m.reactions.is_empty() => Some(
                ReceiptInfo {
                    poll: None,
                    reactions: Some(Reactions {
                        items: m
                            .reactions
                            .iter()
                            .map(|r| ReactionItem {
                                stanza: Some(stanza_of(m)),
                                jid: if r.from_me { self.owner.clone().or(r.sender.clone()) } else { r.sender.clone() },
                                emoji: Some(r.emoji.clone()),
                                timestamp: r.timestamp_ms,
                            })
                            .collect(),
                    }),
                }
                .encode_to_vec(),
            ),
            None => None,
        };
        if let Some(blob) = receipts {
            self.conn
                .prepare_cached(
                    "INSERT INTO ZWAMESSAGEINFO (Z_ENT, Z_OPT, ZMESSAGE, ZRECEIPTINFO) VALUES (?1, 1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![self.ent("ZWAMESSAGEINFO"), pk, blob]))
                .map_err(&e)?;
            let info = self.conn.last_insert_rowid();
            self.conn
                .prepare_cached("UPDATE ZWAMESSAGE SET ZMESSAGEINFO = ?1 WHERE Z_PK = ?2")
                .and_then(|mut s| s.execute(params![info, pk]))
                .map_err(&e)?;
        }
        let lost = lost_details(m);
        if downgraded {
            self.report.downgraded(m.kind, text_form::whatsapp_reason(m.kind));
        } else if let Some(why) = text_form::whatsapp_voice_loss(m) {
            self.report.downgraded(m.kind, &why);
        } else if !lost.is_empty() {
            let reason = format!("the iPhone store has no known place for {}; written without", lost.join(", "));
            self.report.downgraded(m.kind, &reason);
        } else {
            self.report.native(m.kind);
        }
        Ok(())
    }

    /// Copies a media file under `Message/`; returns its ZMEDIALOCALPATH.
    fn place(&self, src: &Path, wanted: Option<String>, media: &Media, chat: &str) -> Result<(String, u64)> {
        if let Some(rel) = wanted {
            let dest = self.message_root.join(&rel);
            let bytes = if dest.exists() {
                std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0)
            } else {
                chatferry_core::media::copy_file(src, &dest)?
            };
            return Ok((rel, bytes));
        }
        // Media/<chat>/<a>/<b>/<sha256>.<ext>, as the app spreads files.
        let ext = extension_for(media.mime.as_deref(), media.file_name.as_deref());
        let folder = chat.replace(['/', '\\'], "_");
        let mut stores = self.stores.borrow_mut();
        if stores.len() >= 64 && !stores.contains_key(&folder) {
            stores.clear();
        }
        let store = stores
            .entry(folder.clone())
            .or_insert_with(|| ContentStore::new(self.message_root.join("Media").join(&folder)));
        let (_, size, rel, _) = store.put_file(src, &ext)?;
        Ok((format!("Media/{}/{}", chat.replace(['/', '\\'], "_"), rel.to_string_lossy().replace('\\', "/")), size))
    }
}

/// What of a message this store cannot hold (its columns for these are not
/// public): said in the report instead of dropped quietly.
fn lost_details(m: &Message) -> Vec<&'static str> {
    let mut lost = chatferry_core::text_form::marks(m);
    if m.link.as_ref().is_some_and(|l| l.description.is_some()) {
        lost.push("the link preview's description");
    }
    if m.location.as_ref().is_some_and(|l| l.url.is_some() || l.live) {
        lost.push("the location's link or live flag");
    }
    lost
}

/// A new, empty store: the schema, Z_PRIMARYKEY in Core Data's
/// alphabetical entity numbering, and Z_METADATA. Returns the schema's
/// CREATE INDEX statements, to be run once the rows are in.
fn create_fresh(conn: &Connection, db_path: &Path, output: &Path) -> Result<Vec<String>> {
    let mut indexes = Vec::new();
    for s in statements(SCHEMA) {
        if is_internal(&s) {
            continue;
        }
        if index_kind(&s) == Some(Index::Plain) {
            indexes.push(s);
            continue;
        }
        conn.execute_batch(&s).map_err(|e| Error::internal(format!("creating ChatStorage schema: {e}: {s}")))?;
    }
    for (i, (name, _)) in ENTITIES.iter().enumerate() {
        conn.execute(
            "INSERT INTO Z_PRIMARYKEY (Z_ENT, Z_NAME, Z_SUPER, Z_MAX) VALUES (?1, ?2, 0, 0)",
            params![i as i64 + 1, name],
        )
        .map_err(err(db_path))?;
    }
    let uuid = {
        let d = Sha256::digest(output.display().to_string().as_bytes());
        let h = hex::encode_upper(&d[..16]);
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    };
    let mut meta = plist::Dictionary::new();
    meta.insert("NSStoreType".into(), "SQLite".into());
    meta.insert("NSStoreUUID".into(), uuid.clone().into());
    meta.insert("NSPersistenceFrameworkVersion".into(), plist::Value::Integer(1.into()));
    let mut blob = Vec::new();
    plist::Value::Dictionary(meta)
        .to_writer_binary(&mut blob)
        .map_err(|e| Error::internal(format!("writing Z_METADATA: {e}")))?;
    conn.execute("INSERT INTO Z_METADATA (Z_VERSION, Z_UUID, Z_PLIST) VALUES (1, ?1, ?2)", params![uuid, blob])
        .map_err(err(db_path))?;
    Ok(indexes)
}

fn safe_relative(p: &str) -> bool {
    !p.is_empty() && Path::new(p).components().all(|c| matches!(c, std::path::Component::Normal(_)))
}

impl Exporter for IosExporter {
    fn begin(&mut self, header: &Header) -> Result<()> {
        // Row ids are kept only in a fresh store (a template has its own).
        self.keep_ids = header.source_adapter == SOURCE && self.template_max_pk.is_none();
        if self.owner.is_none() {
            self.owner = header.owner.as_ref().map(|o| o.id.clone());
        }
        Ok(())
    }

    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        for c in batch {
            if let Some(nick) = c.nickname.as_ref().filter(|_| !self.push_names.contains(&c.id)) {
                self.conn
                    .execute(
                        "INSERT INTO ZWAPROFILEPUSHNAME (Z_ENT, Z_OPT, ZJID, ZPUSHNAME) VALUES (?1, 1, ?2, ?3)",
                        params![self.ent("ZWAPROFILEPUSHNAME"), c.id, nick],
                    )
                    .map_err(err(&self.db_path))?;
            }
            self.names.insert(c.id, (c.name, c.nickname));
        }
        Ok(())
    }

    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        for c in &batch {
            if !self.chats.contains_key(&c.id) {
                self.insert_chat(c)?;
            }
        }
        Ok(())
    }

    fn write_messages(&mut self, batch: Vec<Message>) -> Result<()> {
        for m in &batch {
            self.insert_message(m)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Report> {
        let e = err(&self.db_path);
        for (table, pk) in std::mem::take(&mut self.key_holders) {
            self.conn.execute(&format!("DELETE FROM {table} WHERE Z_PK = ?1"), [pk]).map_err(&e)?;
        }
        // The reader is done by now: SQLite may sort the index keys on a
        // second thread.
        self.conn.execute_batch("PRAGMA threads = 2").map_err(&e)?;
        for sql in std::mem::take(&mut self.deferred_indexes) {
            self.conn.execute_batch(&sql).map_err(&e)?;
        }
        self.conn.execute_batch("CREATE INDEX temp.cf_ids_canonical ON cf_ids (canonical)").map_err(&e)?;
        // Replies: the quoted message's stanza id (and author, text); of
        // two messages with one id, the first written. Streamed: read from
        // the temp tables while the media items (another table) are
        // updated, so memory stays flat.
        {
            let mut replies = self
                .conn
                .prepare(
                    "SELECT r.item, COALESCE(i.stanza, r.quoted_stanza), i.sender, r.quoted_text
                     FROM temp.cf_replies r
                     LEFT JOIN temp.cf_ids i ON i.rowid = (SELECT min(rowid) FROM temp.cf_ids WHERE canonical = r.quoted)",
                )
                .map_err(&e)?;
            let mut rows = replies.query([]).map_err(&e)?;
            let mut update = self.conn.prepare("UPDATE ZWAMEDIAITEM SET ZMETADATA = ?1 WHERE Z_PK = ?2").map_err(&e)?;
            while let Some(r) = rows.next().map_err(&e)? {
                let item: i64 = r.get(0).map_err(&e)?;
                let blob = MediaMetadata {
                    quoted_stanza: r.get(1).map_err(&e)?,
                    quoted_author: r.get(2).map_err(&e)?,
                    quoted_text: r.get(3).map_err(&e)?,
                    call: None,
                }
                .encode_to_vec();
                update.execute(params![blob, item]).map_err(&e)?;
            }
        }
        if let Some(max_pk) = self.template_max_pk {
            // The phone's own messages and the added ones, in time order in
            // every chat that got messages; Core Data's version counter goes
            // up on every pre-existing row that changes.
            let touched: Vec<String> = self.touched.iter().map(|c| c.to_string()).collect();
            if !touched.is_empty() {
                let list = touched.join(",");
                self.conn
                    .execute_batch(&format!(
                        "CREATE TEMP TABLE cf_sort AS SELECT Z_PK, ROW_NUMBER() OVER (PARTITION BY ZCHATSESSION ORDER BY ZMESSAGEDATE, Z_PK) AS n
                           FROM ZWAMESSAGE WHERE ZCHATSESSION IN ({list});
                         UPDATE ZWAMESSAGE SET Z_OPT = Z_OPT + (ZWAMESSAGE.Z_PK <= {max_pk}), ZSORT = s.n
                           FROM temp.cf_sort s WHERE s.Z_PK = ZWAMESSAGE.Z_PK AND ZWAMESSAGE.ZSORT IS NOT s.n;
                         UPDATE ZWACHATSESSION SET Z_OPT = Z_OPT + 1 WHERE Z_PK IN ({list});"
                    ))
                    .map_err(&e)?;
            }
        }
        // Chat bookkeeping: in a phone's store only for the chats that got
        // messages, and its last-message fields only where the last message
        // is now one of ours (the app keeps its own form of them).
        let (scope, ours_after) = match self.template_max_pk {
            None => ("1".to_string(), 0),
            Some(max_pk) => {
                let touched: Vec<String> = self.touched.iter().map(|c| c.to_string()).collect();
                (format!("Z_PK IN ({})", if touched.is_empty() { "NULL".into() } else { touched.join(",") }), max_pk)
            }
        };
        self.conn
            .execute_batch(&format!(
                "UPDATE ZWACHATSESSION SET
                    ZMESSAGECOUNTER = COALESCE((SELECT max(ZSORT) FROM ZWAMESSAGE m WHERE m.ZCHATSESSION = ZWACHATSESSION.Z_PK), 0) + 1
                 WHERE {scope};
                 CREATE TEMP TABLE cf_last AS SELECT c.Z_PK AS chat,
                    (SELECT m.Z_PK FROM ZWAMESSAGE m WHERE m.ZCHATSESSION = c.Z_PK ORDER BY m.ZSORT DESC LIMIT 1) AS last
                    FROM ZWACHATSESSION c WHERE {scope};
                 DELETE FROM temp.cf_last WHERE last IS NULL OR last <= {ours_after};
                 UPDATE ZWACHATSESSION SET ZLASTMESSAGE = l.last,
                    ZLASTMESSAGEDATE = (SELECT ZMESSAGEDATE FROM ZWAMESSAGE m WHERE m.Z_PK = l.last),
                    ZLASTMESSAGETEXT = (SELECT ZTEXT FROM ZWAMESSAGE m WHERE m.Z_PK = l.last)
                    FROM temp.cf_last l WHERE l.chat = ZWACHATSESSION.Z_PK;"
            ))
            .map_err(&e)?;
        // Core Data hands out the next key from Z_MAX: it never goes down
        // (keys of rows since deleted stay used) and covers every row. The
        // entity's number is the store's own (a phone's model has more
        // entities than ours, numbered differently).
        for (_, table) in ENTITIES {
            self.conn
                .execute(
                    &format!(
                        "UPDATE Z_PRIMARYKEY SET Z_MAX = max(Z_MAX, (SELECT COALESCE(max(Z_PK), 0) FROM {table}))
                         WHERE Z_ENT = ?1"
                    ),
                    [self.ents[table]],
                )
                .map_err(&e)?;
        }
        self.conn.execute_batch("COMMIT").map_err(&e)?;
        if let Some(backup) = self.backup.take() {
            // Close the store before it moves into the backup.
            let conn = std::mem::replace(&mut self.conn, Connection::open_in_memory().map_err(&e)?);
            conn.close().map_err(|(_, x)| e(x))?;
            let encrypted = backup.encrypted();
            let added = backup.finish()?;
            self.report.note(format!(
                "wrote a new {}iPhone backup: ChatStorage.sqlite replaced, {added} files added to Manifest.db",
                if encrypted { "encrypted (with the template's password) " } else { "" }
            ));
        }
        let mut report = std::mem::take(&mut self.report);
        report.target_adapter = crate::ADAPTER_ID.into();
        Ok(report)
    }
}
