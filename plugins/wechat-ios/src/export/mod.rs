//! Export: `Documents/<md5(owner wxid)>/` as WeChat for iOS keeps it —
//! DB/MM.sqlite with one `Chat_<md5(username)>` (+ `ChatExt2_`) table per
//! chat and `Hello_<md5>` tables for friend requests, DB/WCDB_Contact.sqlite
//! (`Friend` with protobuf blobs), session/session.db (`SessionAbstract`,
//! one row per chat with its last time), mmsetting.archive naming the
//! owner, and media at the paths the rows imply (`Img/<h>/<id>.pic`,
//! `Audio/<h>/<id>.aud`, `Video/<h>/<id>.mp4`, `OpenData/<h>/<id>.<ext>`).
//! With `--opt template=BACKUP` the same files go into a copy of the new
//! iPhone's backup instead (core::ios_backup::Template).

mod media;

use crate::proto::{self, ChatRoom, Remark, Social};
use crate::source::{account_hash, is_account_hash, md5_hex, DOMAIN};
use crate::{account, schema, ADAPTER_ID};
use chatferry_core::ios_backup::{self, PasswordSource, Template};
use chatferry_core::sqlite::{err_at as err, sql_error};
use chatferry_core::*;
use chatferry_wechat::codes;
use chatferry_wechat::write::{
    caption_row, native, quoted_of, reaction_replies, record, stable_id, svr_id_of, with_sender_line,
};
use chatferry_wechat::xml::room_data;
use prost::Message as _;
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A message table being written.
struct TableState {
    hash: String,
    next_local: i64,
    last_time: Option<i64>,
}

pub struct IosExporter {
    output: PathBuf,
    account_opt: Option<String>,
    template_src: Option<PathBuf>,
    template: Option<Template>,
    template_password: PasswordSource,
    account_dir: PathBuf,
    mm_path: PathBuf,
    mm: Option<Connection>,
    contacts_db: Option<(PathBuf, Connection)>,
    owner: Option<String>,
    names: HashMap<String, String>,
    friends: HashSet<String>,
    /// Chat id → its Chat_ table; requester → its Hello_ table.
    tables: HashMap<String, TableState>,
    hellos: HashMap<String, TableState>,
    /// Chats in the order they came, for session rows.
    chat_order: Vec<String>,
    keep_ids: bool,
    sub_second: u64,
    unresolved_quotes: u64,
    /// Messages the template's own databases hold (replaced, and said so).
    template_messages: u64,
    /// Reactions written as emoji replies.
    reaction_rows: u64,
    copies: chatferry_core::media::Copies,
    report: Report,
}

fn create_dir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| Error::io(p, "create", e))
}

fn open_new(path: &Path, ddl: &str) -> Result<Connection> {
    let conn = Connection::open(path).map_err(err(path))?;
    conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE; BEGIN;")
        .map_err(err(path))?;
    conn.execute_batch(ddl).map_err(err(path))?;
    Ok(conn)
}

impl IosExporter {
    pub fn create(output: &Path, options: &Options) -> Result<IosExporter> {
        let template_src = options.path("template");
        if let Some(t) = &template_src {
            if !ios_backup::is_backup(t) {
                return Err(Error::usage(format!(
                    "template {} is not an iPhone backup folder (no Manifest.db); give a backup of the new iPhone \
                     made after logging in to WeChat",
                    t.display()
                )));
            }
        }
        create_dir(output)?;
        Ok(IosExporter {
            output: output.to_path_buf(),
            account_opt: options.get("account").map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
            template_src,
            template: None,
            template_password: PasswordSource::for_template(options),
            account_dir: PathBuf::new(),
            mm_path: PathBuf::new(),
            mm: None,
            contacts_db: None,
            owner: None,
            names: HashMap::new(),
            friends: HashSet::new(),
            tables: HashMap::new(),
            hellos: HashMap::new(),
            chat_order: Vec::new(),
            keep_ids: false,
            sub_second: 0,
            unresolved_quotes: 0,
            template_messages: 0,
            reaction_rows: 0,
            copies: chatferry_core::media::Copies::new(),
            report: Report::new(),
        })
    }

    fn mm(&self) -> &Connection {
        self.mm.as_ref().expect("begin opened MM.sqlite")
    }

    /// A Friend row (once per username).
    fn friend(
        &mut self,
        username: &str,
        ctype: i64,
        remark: &Remark,
        social: Option<&Social>,
        room: Option<&ChatRoom>,
    ) -> Result<()> {
        if !self.friends.insert(username.to_string()) {
            return Ok(());
        }
        let (path, conn) = self.contacts_db.as_ref().expect("begin opened WCDB_Contact.sqlite");
        conn.execute(
            "INSERT INTO Friend (userName, type, certificationFlag, imgStatus, encodeUserName, dbContactRemark,
                                 dbContactSocial, dbContactChatRoom)
             VALUES (?1, ?2, 0, 0, '', ?3, ?4, ?5)",
            params![
                username,
                ctype,
                remark.encode_to_vec(),
                social.map(|s| s.encode_to_vec()),
                room.map(|r| r.encode_to_vec())
            ],
        )
        .map_err(err(path))?;
        Ok(())
    }

    /// The Chat_ table of a chat, created on first use.
    fn table(&mut self, chat: &str, hash: Option<&str>) -> Result<&mut TableState> {
        if !self.tables.contains_key(chat) {
            let hash = hash.map(String::from).unwrap_or_else(|| md5_hex(chat));
            self.mm().execute_batch(&schema::chat_table(&hash)).map_err(err(&self.mm_path))?;
            self.chat_order.push(chat.to_string());
            self.tables.insert(chat.to_string(), TableState { hash, next_local: 1, last_time: None });
        }
        Ok(self.tables.get_mut(chat).expect("inserted"))
    }

    fn hello_table(&mut self, requester: &str) -> Result<&mut TableState> {
        if !self.hellos.contains_key(requester) {
            let hash = md5_hex(requester);
            self.mm().execute_batch(&schema::hello_table(&hash)).map_err(err(&self.mm_path))?;
            self.hellos.insert(requester.to_string(), TableState { hash, next_local: 1, last_time: None });
        }
        Ok(self.hellos.get_mut(requester).expect("inserted"))
    }
}

impl Exporter for IosExporter {
    fn begin(&mut self, header: &Header) -> Result<()> {
        let owner = match (&header.owner, &self.account_opt) {
            (Some(o), Some(a)) if account_hash(a) != md5_hex(&o.id) => {
                return Err(Error::usage(format!(
                    "--opt account={a} is not the source's owner {}; leave the option out, or map the owner with \
                     --contacts",
                    o.id
                )))
            }
            (Some(o), _) => o.clone(),
            (None, Some(a)) if is_account_hash(&a.to_ascii_lowercase()) => {
                return Err(Error::usage(format!(
                    "--opt account={a} is a folder name (the md5 of a wxid); writing needs the wxid itself, which \
                     the folder name cannot be turned back into: give --opt account=<your wxid>"
                )))
            }
            (None, Some(a)) => Contact { id: a.clone(), ..Default::default() },
            (None, None) => {
                return Err(Error::usage(
                    "writing WeChat for iPhone needs the account's own WeChat id (its folder is md5 of it): the \
                     source does not name one; give --opt account=<your wxid>",
                ))
            }
        };
        let hash = md5_hex(&owner.id);
        self.owner = Some(owner.id.clone());
        self.keep_ids = header.source_adapter == ADAPTER_ID;
        let root = match &self.template_src {
            Some(t) => {
                let (tpl, _) = Template::open(
                    t,
                    &self.output,
                    DOMAIN,
                    &format!("Documents/{hash}/DB/MM.sqlite"),
                    &format!(
                        "it has no WeChat account folder for {} (Documents/{hash}/): install WeChat on the new \
                         iPhone, log in with this account, then make the backup",
                        owner.id
                    ),
                    &self.template_password,
                )?;
                self.template_messages = count_template_messages(&tpl, &hash);
                let work = tpl.work();
                self.template = Some(tpl);
                work
            }
            None => self.output.clone(),
        };
        self.account_dir = root.join("Documents").join(&hash);
        for d in ["DB", "session"] {
            create_dir(&self.account_dir.join(d))?;
        }
        account::write_setting(&self.account_dir.join("mmsetting.archive"), &owner)?;
        self.mm_path = self.account_dir.join("DB/MM.sqlite");
        let mm = open_new(&self.mm_path, "")?;
        mm.execute_batch(
            "CREATE TEMP TABLE cf_ids (canonical TEXT PRIMARY KEY, svr_id INTEGER, code INTEGER, sender TEXT,
                                       text TEXT) WITHOUT ROWID;",
        )
        .map_err(err(&self.mm_path))?;
        self.mm = Some(mm);
        let cpath = self.account_dir.join("DB/WCDB_Contact.sqlite");
        self.contacts_db = Some((cpath.clone(), open_new(&cpath, schema::FRIEND)?));
        if let Some(n) = owner.nickname.as_ref().or(owner.name.as_ref()) {
            self.names.insert(owner.id.clone(), n.clone());
        }
        Ok(())
    }

    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        for c in batch {
            let ctype = c.extras.get("wechat.contact_type").and_then(|t| t.parse().ok()).unwrap_or(3);
            if let Some(n) = c.name.as_ref().or(c.nickname.as_ref()) {
                self.names.insert(c.id.clone(), n.clone());
            }
            let remark = Remark {
                nickname: proto::field(c.nickname.as_deref()),
                alias: proto::field(c.alias.as_deref()),
                remark: proto::field(c.name.as_deref()),
            };
            let social = c.phone.as_deref().map(|p| Social { phone: proto::field(Some(p)) });
            self.friend(&c.id, ctype, &remark, social.as_ref(), None)?;
            self.report.contacts += 1;
        }
        Ok(())
    }

    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        for chat in batch {
            self.report.chats += 1;
            let unmatched_hash = chat.extras.get("wechat.table_hash").cloned();
            if chat.id != "fmessage" {
                self.table(&chat.id, unmatched_hash.as_deref())?;
            }
            if unmatched_hash.is_some() {
                continue; // a table nobody's name hashes to: no contact row
            }
            let remark = Remark { nickname: proto::field(chat.title.as_deref()), ..Default::default() };
            if chat.kind == ChatKind::Group {
                let members: Vec<String> = chat.participants.iter().map(|p| p.contact.clone()).collect();
                let owner = chat.participants.iter().find(|p| p.role == Role::Owner).map(|p| p.contact.clone());
                let names: Vec<(String, String)> = chat
                    .participants
                    .iter()
                    .filter_map(|p| p.display_name.clone().map(|d| (p.contact.clone(), d)))
                    .collect();
                let room = ChatRoom {
                    members: proto::field(Some(&members.join(";"))),
                    owner: proto::field(owner.as_deref()),
                    max_members: Some(500),
                    room_data: (!names.is_empty()).then(|| room_data(&names).into_bytes()),
                };
                self.friend(&chat.id, 2, &remark, None, Some(&room))?;
                if chat.participants.iter().any(|p| p.role == Role::Admin) {
                    self.report.note(format!(
                        "group {}: WeChat has one group owner and no admins; admins are written as members",
                        chat.id
                    ));
                }
                if let Some(t) = &chat.title {
                    self.names.insert(chat.id.clone(), t.clone());
                }
            } else if chat.id != "fmessage" {
                self.friend(&chat.id, 3, &remark, None, None)?;
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
        let mm_path = self.mm_path.clone();
        let mut tables: Vec<&TableState> = self.tables.values().collect();
        tables.sort_by(|a, b| a.hash.cmp(&b.hash));
        let indexes: String = tables.iter().map(|t| schema::chat_indexes(&t.hash)).collect();
        {
            let mm = self.mm();
            mm.execute_batch(&indexes).map_err(err(&mm_path))?;
            mm.execute_batch("DROP TABLE cf_ids; COMMIT;").map_err(err(&mm_path))?;
        }
        if let Some(c) = self.mm.take() {
            c.close().map_err(|(_, e)| sql_error(&mm_path, e))?;
        }
        if let Some((p, c)) = self.contacts_db.take() {
            c.execute_batch("COMMIT").map_err(err(&p))?;
            c.close().map_err(|(_, e)| sql_error(&p, e))?;
        }
        // The chat list: one session row per chat, with its last message's time.
        let spath = self.account_dir.join("session/session.db");
        let session = open_new(&spath, schema::SESSION)?;
        for chat in &self.chat_order {
            let t = &self.tables[chat];
            session
                .execute(
                    "INSERT INTO SessionAbstract (UsrName, CreateTime, unreadcount, ConIntRes1) VALUES (?1, ?2, 0, 0)",
                    params![chat, t.last_time.unwrap_or(0)],
                )
                .map_err(err(&spath))?;
        }
        session.execute_batch("COMMIT").map_err(err(&spath))?;
        session.close().map_err(|(_, e)| sql_error(&spath, e))?;

        let mut r = std::mem::take(&mut self.report);
        if self.reaction_rows > 0 {
            r.note(format!(
                "{} written as emoji replies quoting their message (WeChat has no reactions)",
                chatferry_core::text_form::counted(self.reaction_rows, "reaction", "reactions")
            ));
        }
        if self.sub_second > 0 {
            r.note(format!(
                "{} times with milliseconds; WeChat for iPhone keeps whole seconds",
                chatferry_core::text_form::counted(self.sub_second, "message had", "messages had")
            ));
        }
        if self.unresolved_quotes > 0 {
            r.note(format!(
                "{} a message that is not in the history or comes later; written with the quoted text only",
                chatferry_core::text_form::counted(self.unresolved_quotes, "reply quotes", "replies quote")
            ));
        }
        if let Some(t) = self.template.take() {
            // The converted history replaces the account's message databases:
            // the new phone's own message_<n>.sqlite would repeat or contradict it.
            let prefix = self.account_dir.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            let removed = t.remove(&format!("Documents/{prefix}/DB/message%"))?;
            let added = t.finish()?;
            r.note(format!(
                "wrote a new iPhone backup: WeChat's MM.sqlite, WCDB_Contact.sqlite and session.db replaced, {} other \
                 message databases taken out, {added} files added to Manifest.db",
                removed.len()
            ));
            if self.template_messages > 0 {
                r.note(format!(
                    "the new iPhone's backup had {} WeChat messages of its own; the new backup holds the converted \
                     history instead (they stay in the template backup)",
                    self.template_messages
                ));
            }
        }
        r.target_adapter = ADAPTER_ID.into();
        Ok(r)
    }
}

impl IosExporter {
    /// Writes one row; `counted` is false for rows made here (reactions),
    /// which the report notes instead of counting as messages.
    fn write_message(&mut self, m: &Message, counted: bool) -> Result<()> {
        let mm_path = self.mm_path.clone();
        let hello = m.chat == "fmessage";
        let keep = self.keep_ids;
        let requester = m.extras.get("wechat.hello_user").cloned().or(m.sender.clone()).unwrap_or_default();
        let t = if hello { self.hello_table(&requester)? } else { self.table(&m.chat, None)? };
        // Local ids are kept from a WeChat iPhone source (`<id>@<hash>`), else numbered.
        let kept_local = keep
            .then(|| m.id.split_once('@'))
            .flatten()
            .and_then(|(l, rest)| (rest.trim_end_matches(".hello") == t.hash).then_some(l))
            .and_then(|l| l.parse::<i64>().ok())
            .filter(|l| *l > 0);
        let local = kept_local.unwrap_or(t.next_local);
        t.next_local = t.next_local.max(local + 1);
        let secs = m.timestamp_ms.div_euclid(1000);
        t.last_time = Some(t.last_time.map_or(secs, |l| l.max(secs)));
        let hash = t.hash.clone();
        let table = if hello { format!("Hello_{hash}") } else { format!("Chat_{hash}") };
        if m.timestamp_ms.rem_euclid(1000) != 0 {
            self.sub_second += 1;
        }

        let svr_id = svr_id_of(m);
        let quoted = match &m.reply_to {
            Some(q) => {
                let found = quoted_of(self.mm(), q);
                if found.is_none() && !m.extras.contains_key("wechat.type") {
                    self.unresolved_quotes += 1;
                }
                found
            }
            None => None,
        };
        let names = &self.names;
        let name_of = |id: &str| names.get(id).cloned();
        let mut n = native(m, self.owner.as_deref(), &name_of, quoted.as_ref());
        n.code = codes::for_ios(n.code);
        let placed = media::place(self, m, &mut n, local, &hash, svr_id)?;

        let group = m.chat.ends_with("@chatroom");
        let base = codes::base(n.code);
        let system = base == codes::SYSTEM || base == codes::SYSTEM_XML;
        let sender = m.sender.clone().or(if m.from_me { self.owner.clone() } else { None });
        let content: rusqlite::types::Value = match &n.raw {
            Some(b) => rusqlite::types::Value::Blob(b.clone()),
            None => {
                rusqlite::types::Value::Text(with_sender_line(&n.body, sender.as_deref(), group, m.from_me, system))
            }
        };
        let status = m
            .extras
            .get("wechat.status")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or_else(|| codes::status_code(m.status, m.from_me));
        let des = if m.from_me { 0 } else { 1 };
        let img_status = if placed.file { 2 } else { 0 };
        let insert = if hello {
            format!(
                "INSERT INTO {table} (MesLocalID, MesSvrID, CreateTime, Message, Status, ImgStatus, Type, Des, OpCode, UsrName)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, {}, ?9)",
                m.extras.get("wechat.hello_opcode").and_then(|o| o.parse::<i64>().ok()).unwrap_or(0)
            )
        } else {
            format!(
                "INSERT INTO {table} (MesLocalID, MesSvrID, CreateTime, Message, Status, ImgStatus, Type, Des)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            )
        };
        let mut st = self.mm().prepare_cached(&insert).map_err(err(&mm_path))?;
        let result = if hello {
            st.execute(params![local, svr_id, secs, content, status, img_status, n.code, des, requester])
        } else {
            st.execute(params![local, svr_id, secs, content, status, img_status, n.code, des])
        };
        drop(st);
        result.map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                Error::bad_input(format!("message id {} appears twice in the source", m.id))
            }
            e => sql_error(&mm_path, e),
        })?;
        let quoted_text = match base {
            codes::TEXT => Some(n.body.clone()),
            codes::APP if m.reply_to.is_some() => m.text.clone(),
            _ => None,
        };
        self.mm()
            .prepare_cached("INSERT OR REPLACE INTO cf_ids VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut s| s.execute(params![m.id, svr_id, n.code, sender, quoted_text]))
            .map_err(err(&mm_path))?;

        // WeChat media have no caption: it follows as a text of its own.
        if let Some(c) = caption_row(m).filter(|_| !hello) {
            let t = self.table(&m.chat, None)?;
            let id = t.next_local;
            t.next_local += 1;
            let body = with_sender_line(&c, sender.as_deref(), group, m.from_me, false);
            self.mm()
                .execute(
                    &format!(
                        "INSERT INTO {table} (MesLocalID, MesSvrID, CreateTime, Message, Status, ImgStatus, Type, Des)
                         VALUES (?1, ?2, ?3, ?4, ?5, 0, 1, ?6)"
                    ),
                    params![id, stable_id(&m.chat, &format!("{}#caption", m.id)), secs, body, status, des],
                )
                .map_err(err(&mm_path))?;
        }

        if counted {
            record(&mut self.report, m, n.downgrade.as_deref().or(placed.downgrade.as_deref()));
        }
        Ok(())
    }
}

/// How many messages the template's account already holds (MM.sqlite and
/// message_<n>.sqlite, with their WALs); 0 when they cannot be read.
fn count_template_messages(template: &Template, hash: &str) -> u64 {
    let Ok(dbs) = template.list(&format!("Documents/{hash}/DB/%.sqlite")) else { return 0 };
    let Ok(tmp) = tempfile::tempdir() else { return 0 };
    let mut total = 0u64;
    for rel in dbs.iter().filter(|r| r.ends_with("/MM.sqlite") || r.contains("/message_")) {
        let copy = tmp.path().join("db.sqlite");
        let wal = tmp.path().join("db.sqlite-wal");
        let _ = std::fs::remove_file(&wal);
        if !template.extract(rel, &copy).unwrap_or(false) {
            continue;
        }
        let _ = template.extract(&format!("{rel}-wal"), &wal);
        let Ok(conn) = Connection::open(&copy) else { continue };
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'Chat\\_%' ESCAPE '\\'")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .unwrap_or_default();
        for t in tables {
            total +=
                conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0)).unwrap_or(0) as u64;
        }
    }
    total
}
