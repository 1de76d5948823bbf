//! Export: WeChat's app folder as a phone holds it —
//! `shared_prefs/` (the uin) and `MicroMsg/<md5("mm"+uin)>/EnMicroMsg.db`
//! with the real DDL, encrypted with the key of the target phone
//! (md5(IMEI + uin)[:7], SQLCipher version 1 settings, WAL like the app),
//! and media where the rows point (image2/, voice2/, video/, emoji/,
//! MicroMsg/Download/). With `--opt shared-storage=NAME` the output holds the
//! two trees a phone has: `data/com.tencent.mm/` (the app folder, pushed to
//! /data/data/com.tencent.mm with root) and `NAME/Android/data/com.tencent.mm/`
//! (the media, pushed to the phone's shared storage, /sdcard).

mod media;

use crate::import::SOURCE;
use crate::key::{self, DEFAULT_IMEI};
use chatferry_core::ddl::{index_kind, is_internal, statements, Index};
use chatferry_core::sqlite::{err_at as err, sql_error};
use chatferry_core::*;
use chatferry_wechat::codes;
use chatferry_wechat::write::{
    caption_row, native, quoted_of, reaction_replies, record, stable_id, svr_id_of, with_sender_line,
};
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SCHEMA: &str = include_str!("../../schema/EnMicroMsg.sql");

struct Options2 {
    uin: Option<String>,
    imei: Option<String>,
    key: Option<String>,
    /// The shared-storage tree's folder inside the output (`sdcard`).
    shared: Option<PathBuf>,
}

/// `--opt shared-storage=NAME`: a folder name inside the output
/// (the output appears whole or not at all, so nothing is written elsewhere).
fn shared_tree(value: Option<&str>) -> Result<Option<PathBuf>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let p = PathBuf::from(v);
    let plain = p.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain || p.components().next().is_some_and(|c| c.as_os_str() == "data") {
        return Err(Error::usage(format!(
            "shared-storage {v:?}: give a folder name inside the output for the phone's shared storage \
             (e.g. shared-storage=sdcard); the output is written whole, so nothing goes outside it"
        )));
    }
    Ok(Some(p))
}

pub struct WcExporter {
    output: PathBuf,
    opts: Options2,
    conn: Option<Connection>,
    db_path: PathBuf,
    /// The account folder holding EnMicroMsg.db.
    account: PathBuf,
    /// The account folder the media go to (the same, or on shared storage).
    media_account: PathBuf,
    /// Where received files go (`MicroMsg/Download/`).
    download: PathBuf,
    owner: Option<String>,
    /// Display names for worded notices and quotes.
    names: HashMap<String, String>,
    /// rcontact rowid per username (message.talkerId).
    talker_ids: HashMap<String, i64>,
    /// Per chat: message count, last message's time, text and type.
    conversations: HashMap<String, (i64, i64, String, i64)>,
    keep_ids: bool,
    next_id: i64,
    /// Reactions written as emoji replies.
    reaction_rows: u64,
    copies: chatferry_core::media::Copies,
    report: Report,
    /// The schema's plain (non-unique) indexes, made in `finish`: building
    /// an index once is several times cheaper than keeping it up to date
    /// through every insert (the message table alone has ten).
    deferred_indexes: Vec<String>,
}

impl WcExporter {
    pub fn create(output: &Path, options: &chatferry_core::Options) -> Result<WcExporter> {
        let opts = Options2 {
            uin: options.get("uin").map(key::check_uin).transpose()?,
            imei: options.get("imei").map(|i| i.trim().to_string()).filter(|i| !i.is_empty()),
            key: key::given_key(options)?,
            shared: shared_tree(options.get("shared-storage"))?,
        };
        std::fs::create_dir_all(output).map_err(|e| Error::io(output, "create", e))?;
        Ok(WcExporter {
            output: output.to_path_buf(),
            opts,
            conn: None,
            db_path: PathBuf::new(),
            account: PathBuf::new(),
            media_account: PathBuf::new(),
            download: PathBuf::new(),
            owner: None,
            names: HashMap::new(),
            talker_ids: HashMap::new(),
            conversations: HashMap::new(),
            keep_ids: false,
            next_id: 1,
            reaction_rows: 0,
            copies: chatferry_core::media::Copies::new(),
            report: Report::new(),
            deferred_indexes: Vec::new(),
        })
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("begin opened the database")
    }

    /// Runs a statement kept prepared: a message writes up to five rows,
    /// and parsing their SQL again for each was a seventh of the export.
    pub(crate) fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn().prepare_cached(sql)?.execute(params)
    }

    fn name_of(&self, id: &str) -> Option<String> {
        self.names.get(id).cloned()
    }

    /// An rcontact row (once per username); returns its rowid.
    fn contact_row(&mut self, username: &str, nickname: &str, remark: &str, alias: &str, ctype: i64) -> Result<i64> {
        if let Some(id) = self.talker_ids.get(username) {
            return Ok(*id);
        }
        let conn = self.conn.as_ref().expect("open");
        conn.execute(
            "INSERT INTO rcontact (username, alias, conRemark, nickname, type, verifyFlag, chatroomFlag, deleteFlag)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, 0)",
            params![username, alias, remark, nickname, ctype, username.ends_with("@chatroom") as i64],
        )
        .map_err(err(&self.db_path))?;
        let id = conn.last_insert_rowid();
        self.talker_ids.insert(username.to_string(), id);
        Ok(id)
    }
}

impl Exporter for WcExporter {
    fn begin(&mut self, header: &Header) -> Result<()> {
        let uin =
            match (&self.opts.uin, header.extras.get("wechat.uin")) {
                (Some(u), _) => u.clone(),
                (None, Some(u)) => {
                    self.report.note(format!("uin {u} taken from the source store (the same WeChat account)"));
                    key::check_uin(u)?
                }
                (None, None) => return Err(Error::usage(
                    "writing WeChat for Android needs the account's uin: give --opt uin=<uin> (from the new phone's \
                     shared_prefs/auth_info_key_prefs.xml, after logging in once) and, if WeChat there reads the \
                     IMEI, --opt imei=",
                )),
            };
        let key = match (&self.opts.key, &self.opts.imei) {
            (Some(k), _) => k.clone(),
            (None, Some(imei)) => key::derive_key(imei, &uin),
            (None, None) => {
                self.report.note(format!(
                    "encrypted with WeChat's default device id ({DEFAULT_IMEI}); give --opt imei= if WeChat on the \
                     target phone uses its IMEI"
                ));
                key::derive_key(DEFAULT_IMEI, &uin)
            }
        };
        self.owner = header.owner.as_ref().map(|o| o.id.clone());
        self.keep_ids = header.source_adapter == SOURCE;

        let app_root = match &self.opts.shared {
            Some(_) => self.output.join("data").join("com.tencent.mm"),
            None => self.output.clone(),
        };
        let prefs = app_root.join("shared_prefs");
        std::fs::create_dir_all(&prefs).map_err(|e| Error::io(&prefs, "create", e))?;
        for (name, text) in key::prefs_files(&uin, self.owner.as_deref()) {
            let p = prefs.join(name);
            std::fs::write(&p, text).map_err(|e| Error::io(&p, "write", e))?;
        }
        let account_name = key::account_dir_name(&uin);
        self.account = app_root.join("MicroMsg").join(&account_name);
        std::fs::create_dir_all(&self.account).map_err(|e| Error::io(&self.account, "create", e))?;
        let media_micromsg = match &self.opts.shared {
            Some(tree) => self.output.join(tree).join("Android/data/com.tencent.mm/MicroMsg"),
            None => app_root.join("MicroMsg"),
        };
        self.media_account = media_micromsg.join(&account_name);
        self.download = media_micromsg.join("Download");
        if let Some(tree) = &self.opts.shared {
            self.report.note(format!(
                "written as two trees: data/com.tencent.mm/ (the app folder: /data/data/com.tencent.mm on the phone, \
                 root needed) and {}/ (shared storage: /sdcard)",
                tree.display()
            ));
        }
        self.db_path = self.account.join(crate::source::DB_NAME);
        let conn = Connection::open(&self.db_path).map_err(err(&self.db_path))?;
        key::apply_key(&conn, &key).map_err(err(&self.db_path))?;
        // Written without a journal (the output is a private staging copy
        // until the host renames it; writing through a WAL cost a fifth of
        // the export in WAL lookups) and switched to WAL, as WeChat 7+ keeps
        // it, at the end. Temporary tables go to disk.
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;")
            .map_err(err(&self.db_path))?;
        conn.execute_batch("BEGIN").map_err(err(&self.db_path))?;
        for s in statements(SCHEMA) {
            if is_internal(&s) {
                continue;
            }
            // Unique indexes are constraints (and INSERT OR IGNORE relies on them): made now.
            if index_kind(&s) == Some(Index::Plain) {
                self.deferred_indexes.push(s);
                continue;
            }
            conn.execute_batch(&s).map_err(|e| Error::internal(format!("schema statement failed: {e}: {s}")))?;
        }
        conn.execute_batch(
            "CREATE TEMP TABLE cf_ids (canonical TEXT PRIMARY KEY, msg_id INTEGER, svr_id INTEGER, code INTEGER,
                                       sender TEXT, text TEXT, talker TEXT) WITHOUT ROWID;
             CREATE TEMP TABLE cf_replies (msg_id INTEGER, svr_id INTEGER, quoted TEXT, talker TEXT);",
        )
        .map_err(err(&self.db_path))?;
        if let Some(o) = &header.owner {
            conn.execute("INSERT INTO userinfo (id, type, value) VALUES (2, 3, ?1)", [&o.id])
                .map_err(err(&self.db_path))?;
            if let Some(n) = o.nickname.as_ref().or(o.name.as_ref()) {
                conn.execute("INSERT INTO userinfo (id, type, value) VALUES (4, 3, ?1)", [n])
                    .map_err(err(&self.db_path))?;
                self.names.insert(o.id.clone(), n.clone());
            }
            if let Some(a) = &o.alias {
                conn.execute("INSERT INTO userinfo (id, type, value) VALUES (42, 3, ?1)", [a])
                    .map_err(err(&self.db_path))?;
            }
        } else {
            self.report.note("the source does not name the account's owner: userinfo has no own username");
        }
        conn.execute("INSERT INTO userinfo (id, type, value) VALUES (9, 1, ?1)", [&uin]).map_err(err(&self.db_path))?;
        self.conn = Some(conn);
        Ok(())
    }

    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        for c in batch {
            let ctype = c.extras.get("wechat.contact_type").and_then(|t| t.parse().ok()).unwrap_or(3);
            if let Some(n) = c.name.as_ref().or(c.nickname.as_ref()) {
                self.names.insert(c.id.clone(), n.clone());
            }
            self.contact_row(
                &c.id,
                c.nickname.as_deref().unwrap_or(""),
                c.name.as_deref().unwrap_or(""),
                c.alias.as_deref().unwrap_or(""),
                ctype,
            )?;
            self.report.contacts += 1;
        }
        Ok(())
    }

    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        for chat in batch {
            self.report.chats += 1;
            let title = chat.title.clone().unwrap_or_default();
            match chat.kind {
                ChatKind::Group => {
                    self.contact_row(&chat.id, &title, "", "", 2)?;
                    let members: Vec<String> = chat.participants.iter().map(|p| p.contact.clone()).collect();
                    let room_owner =
                        chat.participants.iter().find(|p| p.role == Role::Owner).map(|p| p.contact.clone());
                    let self_name = chat
                        .participants
                        .iter()
                        .find(|p| Some(&p.contact) == self.owner.as_ref())
                        .and_then(|p| p.display_name.clone());
                    let display = chat.extras.get("wechat.member_names").cloned().unwrap_or_else(|| {
                        members
                            .iter()
                            .map(|m| self.name_of(m).unwrap_or_else(|| m.clone()))
                            .collect::<Vec<_>>()
                            .join("、")
                    });
                    self.exec(
                        "INSERT INTO chatroom (chatroomname, addtime, memberlist, displayname, roomowner,
                                               selfDisplayName, memberCount)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            chat.id,
                            chat.created_ms.unwrap_or(0),
                            members.join(";"),
                            display,
                            room_owner,
                            self_name,
                            members.len() as i64
                        ],
                    )
                    .map_err(err(&self.db_path))?;
                    if chat.participants.iter().any(|p| p.role == Role::Admin) {
                        self.report.note(format!(
                            "group {}: WeChat has one group owner and no admins; admins are written as members",
                            chat.id
                        ));
                    }
                    if chat.title.is_some() {
                        self.names.insert(chat.id.clone(), title);
                    }
                }
                _ => {
                    self.contact_row(&chat.id, &title, "", "", 3)?;
                }
            }
            if chat.archived {
                self.report.note(format!(
                    "chat {}: the archived mark is not written (WeChat has folded chats only for groups)",
                    chat.id
                ));
            }
        }
        Ok(())
    }

    fn write_messages(&mut self, batch: Vec<Message>) -> Result<()> {
        for m in batch {
            self.write_message(&m, true)?;
            let replies = reaction_replies(&m, self.owner.as_deref());
            for r in replies {
                self.reaction_rows += 1;
                self.write_message(&r, false)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Report> {
        let db = self.db_path.clone();
        let mut notes = Vec::new();
        {
            let conn = self.conn();
            // The reader is done by now: SQLite may sort the index keys on a
            // second thread.
            conn.execute_batch("PRAGMA threads = 2").map_err(err(&db))?;
            for sql in &self.deferred_indexes {
                conn.execute_batch(sql).map_err(err(&db))?;
            }
            // Replies to messages written later: resolved now that every id is known.
            conn.execute_batch(
                "INSERT INTO MsgQuote (msgId, msgSvrId, quotedMsgId, quotedMsgSvrId, status, quotedMsgTalker)
                 SELECT r.msg_id, r.svr_id, i.msg_id, i.svr_id, 0, r.talker
                 FROM cf_replies r JOIN cf_ids i ON i.canonical = r.quoted;",
            )
            .map_err(err(&db))?;
            let unresolved: i64 = conn
                .query_row(
                    "SELECT count(*) FROM cf_replies r WHERE NOT EXISTS (SELECT 1 FROM cf_ids i WHERE i.canonical = r.quoted)",
                    [],
                    |r| r.get(0),
                )
                .map_err(err(&db))?;
            if unresolved > 0 {
                notes.push(format!(
                    "{} a message that is not in the history; written with the quoted text only",
                    chatferry_core::text_form::counted(unresolved as u64, "reply quotes", "replies quote")
                ));
            }
            let mut st = conn
                .prepare(
                    "INSERT INTO rconversation (msgCount, username, unReadCount, conversationTime, content, msgType,
                                                digest, isSend, status)
                     VALUES (?1, ?2, 0, ?3, ?4, ?5, ?4, 0, 0)",
                )
                .map_err(err(&db))?;
            let mut conv: Vec<_> = self.conversations.iter().collect();
            conv.sort();
            for (talker, (count, time, digest, code)) in conv {
                st.execute(params![count, talker, time, digest, code.to_string()]).map_err(err(&db))?;
            }
            drop(st);
            // Everything is in the file itself (no journal so far); from
            // here on it is in WAL mode, with an empty WAL that closing
            // removes, so the folder holds one complete database.
            conn.execute_batch("DROP TABLE cf_ids; DROP TABLE cf_replies; COMMIT; PRAGMA journal_mode = WAL;")
                .map_err(err(&db))?;
        }
        if let Some(conn) = self.conn.take() {
            conn.close().map_err(|(_, e)| sql_error(&db, e))?;
        }
        for suffix in ["-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", db.display()));
            if p.exists() && std::fs::metadata(&p).map(|m| m.len() == 0).unwrap_or(false) {
                let _ = std::fs::remove_file(&p);
            }
        }
        let mut r = std::mem::take(&mut self.report);
        if self.reaction_rows > 0 {
            r.note(format!(
                "{} written as emoji replies quoting their message (WeChat has no reactions)",
                chatferry_core::text_form::counted(self.reaction_rows, "reaction", "reactions")
            ));
        }
        for n in notes {
            r.note(n);
        }
        r.target_adapter = SOURCE.into();
        Ok(r)
    }
}

impl WcExporter {
    /// Writes one row; `counted` is false for rows made here (reactions),
    /// which the report notes instead of counting as messages.
    fn write_message(&mut self, m: &Message, counted: bool) -> Result<()> {
        let db = self.db_path.clone();
        // Ids of other sources get the next free number.
        let msg_id =
            self.keep_ids.then(|| m.id.parse::<i64>().ok()).flatten().filter(|i| *i > 0).unwrap_or(self.next_id);
        self.next_id = self.next_id.max(msg_id + 1);
        let svr_id = svr_id_of(m);
        let quoted = m.reply_to.as_deref().and_then(|q| quoted_of(self.conn(), q));
        let names = &self.names;
        let name_of = |id: &str| names.get(id).cloned();
        let mut n = native(m, self.owner.as_deref(), &name_of, quoted.as_ref());
        // A row kept from iOS has the base type; Android stores composite codes.
        n.code = codes::for_android(n.code, &n.body);

        // Media files go where the row will point.
        let placed = media::place(self, m, &mut n, msg_id, svr_id)?;

        let group = m.chat.ends_with("@chatroom");
        let base = codes::base(n.code);
        let system = base == codes::SYSTEM || base == codes::SYSTEM_XML;
        let sender = m.sender.clone().or(if m.from_me { self.owner.clone() } else { None });
        let content_text = with_sender_line(&n.body, sender.as_deref(), group, m.from_me, system);
        let content: rusqlite::types::Value = match &n.raw {
            Some(b) => rusqlite::types::Value::Blob(b.clone()),
            None => rusqlite::types::Value::Text(content_text),
        };
        let status = m
            .extras
            .get("wechat.status")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or_else(|| codes::status_code(m.status, m.from_me));
        let talker_id = match self.talker_ids.get(&m.chat) {
            Some(i) => *i,
            None => self.contact_row(&m.chat, "", "", "", 3)?,
        };
        self.exec(
            "INSERT INTO message (msgId, msgSvrId, type, status, isSend, isShowTimer, createTime, talker, content,
                                  imgPath, talkerId, bizChatId, flag)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, -1, 0)",
            params![
                msg_id,
                svr_id,
                n.code,
                status,
                m.from_me as i64,
                m.timestamp_ms,
                m.chat,
                content,
                placed.img_path,
                talker_id
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                Error::bad_input(format!("message id {} appears twice in the source", m.id))
            }
            e => sql_error(&db, e),
        })?;
        let quoted_text = match base {
            codes::TEXT => Some(n.body.clone()),
            _ if n.code == codes::QUOTE => m.text.clone(),
            _ => None,
        };
        self.exec(
            "INSERT OR REPLACE INTO cf_ids VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![m.id, msg_id, svr_id, n.code, sender, quoted_text, m.chat],
        )
        .map_err(err(&db))?;
        if let Some(q) = &m.reply_to {
            self.exec("INSERT INTO cf_replies VALUES (?1, ?2, ?3, ?4)", params![msg_id, svr_id, q, m.chat])
                .map_err(err(&db))?;
        }

        let digest = match base {
            codes::TEXT | codes::SYSTEM => n.body.chars().take(60).collect(),
            _ => format!("[{}]", m.kind.as_str()),
        };
        let e = self.conversations.entry(m.chat.clone()).or_insert((0, i64::MIN, String::new(), 0));
        e.0 += 1;
        if m.timestamp_ms >= e.1 {
            e.1 = m.timestamp_ms;
            e.2 = digest;
            e.3 = n.code;
        }

        // WeChat media have no caption: it follows as a text of its own.
        if let Some(c) = caption_row(m) {
            let id = self.next_id;
            self.next_id += 1;
            let body = with_sender_line(&c, sender.as_deref(), group, m.from_me, false);
            self.exec(
                "INSERT INTO message (msgId, msgSvrId, type, status, isSend, isShowTimer, createTime, talker, content,
                                      talkerId, bizChatId, flag)
                 VALUES (?1, ?2, 1, ?3, ?4, 0, ?5, ?6, ?7, ?8, -1, 0)",
                params![
                    id,
                    stable_id(&m.chat, &format!("{}#caption", m.id)),
                    status,
                    m.from_me as i64,
                    m.timestamp_ms,
                    m.chat,
                    body,
                    talker_id
                ],
            )
            .map_err(err(&db))?;
            self.conversations.entry(m.chat.clone()).or_insert((0, i64::MIN, String::new(), 0)).0 += 1;
        }

        if counted {
            record(&mut self.report, m, n.downgrade.as_deref().or(placed.downgrade.as_deref()));
        }
        Ok(())
    }
}
