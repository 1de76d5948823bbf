//! Export: a WhatsApp folder as the phone keeps it — `Databases/msgstore.db`
//! with WhatsApp 2.22.5.13's real schema and every bookkeeping column filled
//! (jid rows, chat.last_message_row_id, sort ids, the placeholder row),
//! `wa.db` with contacts, media under `Media/` where `file_path` points, and
//! with `--opt key-file` a `msgstore.db.crypt15` instead of the plain file.
//!
//! Rows are written as they stream in. Replies are resolved at the end with
//! SQL over a temporary table (the quoted message may come later), so
//! memory does not grow with the history.

use crate::codes;
use crate::crypt::{self, Key};
use crate::import::SOURCE;
use base64::Engine;
use chatferry_core::ddl::{created_name, index_kind, is_internal, statements};
use chatferry_core::media::extension_for;
use chatferry_core::sqlite::{err_at as err, sql_error};
use chatferry_core::*;
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const MSGSTORE_SCHEMA: &str = include_str!("../schema/msgstore-2.22.5.13.sql");
const LATER_TABLES: &str = include_str!("../schema/later-tables.sql");
const WA_DB_SCHEMA: &str = include_str!("../schema/wa.db.sql");

/// Migration flags of a real 2.22.5.13 store: without them the app would
/// try to migrate tables that are already in their final form.
const PROPS: &[(&str, &str)] = &[
    ("fts_ready", "5"),
    ("chat_ready", "2"),
    ("blank_me_jid_ready", "1"),
    ("participant_user_ready", "2"),
    ("broadcast_me_jid_ready", "2"),
    ("receipt_user_ready", "2"),
    ("receipt_device_migration_complete", "1"),
    ("status_list_ready", "1"),
    ("media_message_ready", "2"),
    ("media_message_fixer_ready", "3"),
    ("fts_index_start", "0"),
    ("call_log_ready", "1"),
    ("jid_ready", "1"),
    ("links_ready", "1"),
    ("msgtore_db_schema_version", "bdb68b040de854ab7bf970923174b03a"),
    ("earliest_status_time", "0"),
];

/// The legacy `messages` family, which post-2021 stores no longer have.
/// The extras an invite card read from a WhatsApp store keeps its group by.
const INVITE_KEYS: [&str; 3] = ["wa.invite_group", "wa.invite_code", "wa.invite_admin"];

const LEGACY: &[&str] = &["messages", "messages_quotes", "messages_vcards", "messages_vcards_jids"];

fn is_legacy(statement: &str) -> bool {
    let name = created_name(statement).unwrap_or("");
    if LEGACY.contains(&name) || name == "legacy_available_messages_view" {
        return true;
    }
    // Indexes, triggers and views that read from or fire on a legacy table.
    let lower = statement.to_ascii_lowercase();
    let words: Vec<&str> =
        lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    words.windows(2).any(|w| matches!(w[0], "on" | "from" | "join") && LEGACY.contains(&w[1]))
}

/// Creates the schema but for its indexes, which are returned to be made
/// once the rows are in: building an index once from sorted keys is
/// several times cheaper than keeping it up to date through a million
/// inserts (message_key_index, on random key ids, cost the most).
fn create_schema(conn: &Connection, path: &Path) -> Result<Vec<String>> {
    let mut deferred = Vec::new();
    for s in statements(MSGSTORE_SCHEMA).into_iter().chain(statements(LATER_TABLES)) {
        if is_internal(&s) || is_legacy(&s) {
            continue;
        }
        if index_kind(&s).is_some() {
            deferred.push(s);
            continue;
        }
        conn.execute_batch(&s).map_err(|e| Error::internal(format!("creating the msgstore schema: {e}: {s}")))?;
    }
    conn.pragma_update(None, "user_version", 1).map_err(|e| sql_error(path, e))?;
    for (k, v) in PROPS {
        conn.execute("INSERT INTO props (key, value) VALUES (?1, ?2)", params![k, v])
            .map_err(|e| sql_error(path, e))?;
    }
    Ok(deferred)
}

struct ChatInfo {
    row: i64,
    group: bool,
}

pub struct WaExporter {
    root: PathBuf,
    /// Later copies of a file are hard links to its first copy.
    copies: media::Copies,
    msgstore_path: PathBuf,
    conn: Connection,
    wa: Connection,
    key: Option<[u8; 32]>,
    owner_option: Option<String>,
    header: Header,
    jids: HashMap<String, i64>,
    chats: HashMap<String, ChatInfo>,
    /// The source's row ids are kept when it was WhatsApp Android itself.
    keep_ids: bool,
    /// The highest message row id so far: the next new one is one more,
    /// as AUTOINCREMENT would choose (nothing is ever deleted here).
    last_message_row: i64,
    media_counter: u64,
    report: Report,
    foreign_ids: u64,
    /// Messages whose text before an edit has no place here.
    earlier_texts: u64,
    /// Pins and keep-in-chat marks the template has no place for.
    pins: u64,
    /// People known only by a hidden-number id (LID), written under it.
    lid_only: u64,
    /// The schema's indexes, made in `finish` (see `create_schema`).
    deferred_indexes: Vec<String>,
}

impl WaExporter {
    pub fn create(output: &Path, options: &Options) -> Result<WaExporter> {
        let key = match options.path("key-file") {
            None => None,
            Some(p) => match Key::from_file(&p)? {
                Key::Root(root) => Some(root),
                Key::KeyFile { .. } => {
                    return Err(Error::usage(
                        "a crypt14 `key` file cannot make the end-to-end (crypt15) backups chatferry writes; \
                         give the 64-digit end-to-end key",
                    ))
                }
            },
        };
        let dbs = output.join("Databases");
        std::fs::create_dir_all(&dbs).map_err(|e| Error::io(&dbs, "create", e))?;
        let msgstore_path = dbs.join("msgstore.db");
        let conn = Connection::open(&msgstore_path).map_err(err(&msgstore_path))?;
        // The output is a private staging copy until the host renames it:
        // no journal is needed, and a crash leaves nothing behind anyway.
        // Temporary id tables go to disk, not memory: memory stays flat.
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;")
            .map_err(err(&msgstore_path))?;
        let deferred_indexes = create_schema(&conn, &msgstore_path)?;
        // cf_ids gets its index in `finish`, when it is first looked up.
        conn.execute_batch(
            "BEGIN;
             CREATE TEMP TABLE cf_ids (canonical TEXT, row INTEGER NOT NULL);
             CREATE TEMP TABLE cf_replies (row INTEGER, chat_row INTEGER, quoted TEXT, quoted_key TEXT, quoted_text TEXT);",
        )
        .map_err(err(&msgstore_path))?;
        // WhatsApp's own rows: the status broadcast, "me", and the placeholder message.
        let mut me = WaExporter {
            root: output.to_path_buf(),
            copies: media::Copies::new(),
            wa: open_wa_db(&output.join("wa.db"))?,
            msgstore_path,
            conn,
            key,
            // Checked before anything is written: a number without its
            // country would name nobody.
            owner_option: chatferry_core::phone::owner_jid(options.get("owner"), options.get("region"))?,
            header: Header::default(),
            jids: HashMap::new(),
            chats: HashMap::new(),
            keep_ids: false,
            last_message_row: 1,
            media_counter: 0,
            report: Report::new(),
            foreign_ids: 0,
            earlier_texts: 0,
            pins: 0,
            lid_only: 0,
            deferred_indexes,
        };
        me.jid_row("status@broadcast")?;
        me.jid_row("0@s.whatsapp.net")?;
        me.conn
            .execute(
                "INSERT INTO message (_id, chat_row_id, from_me, key_id, timestamp, message_type, sort_id)
                 VALUES (1, -1, 0, '-1', 0, -1, 0)",
                [],
            )
            .map_err(err(&me.msgstore_path))?;
        Ok(me)
    }

    fn jid_row(&mut self, jid: &str) -> Result<i64> {
        if let Some(r) = self.jids.get(jid) {
            return Ok(*r);
        }
        let (user, server) = match jid.split_once('@') {
            Some((u, s)) => (u.to_string(), s.to_string()),
            None => {
                // Not a WhatsApp address (another app's id): kept as the
                // user part so nothing is lost; the cross-app contact map
                // replaces these.
                self.foreign_ids += 1;
                (jid.to_string(), "s.whatsapp.net".to_string())
            }
        };
        // whatsapp-2024-2026.md §1.1: 18 a LID user, 21 a channel [S: the
        // app's enums as a reader quotes them]; 17 is a phone's companion device.
        let jid_type = match server.as_str() {
            "g.us" => 1,
            "broadcast" if user == "status" => 5,
            "broadcast" => 2,
            "lid" => 18,
            "newsletter" => 21,
            _ if user == "0" => 7,
            _ => 0,
        };
        if server == "lid" {
            // No number is known for them: kept under the LID (§7), said in the report.
            self.lid_only += 1;
        }
        let raw = format!("{user}@{server}");
        self.conn
            .prepare_cached(
                "INSERT INTO jid (user, server, agent, device, type, raw_string) VALUES (?1, ?2, 0, 0, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![user, server, jid_type, raw]))
            .map_err(err(&self.msgstore_path))?;
        let r = self.conn.last_insert_rowid();
        self.jids.insert(jid.to_string(), r);
        Ok(r)
    }

    fn chat_row(&mut self, chat_id: &str) -> Result<(i64, bool)> {
        if let Some(c) = self.chats.get(chat_id) {
            return Ok((c.row, c.group));
        }
        // A message in a chat the source did not list: make the chat.
        self.insert_chat(&Chat { id: chat_id.into(), kind: ChatKind::Direct, ..Default::default() })?;
        let c = &self.chats[chat_id];
        Ok((c.row, c.group))
    }

    fn insert_chat(&mut self, chat: &Chat) -> Result<()> {
        let jid = self.jid_row(&chat.id)?;
        let group = chat.kind == ChatKind::Group || chat.id.ends_with("@g.us");
        let hidden = chat.extras.get("wa.hidden").map(|h| h == "1").unwrap_or(false);
        self.conn
            .prepare_cached(
                "INSERT INTO chat (jid_row_id, hidden, subject, created_timestamp, archived, sort_timestamp,
                                   unseen_message_count, unseen_row_count, group_type)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, 0, 0)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    jid,
                    hidden as i64,
                    chat.title.as_deref().filter(|_| group || chat.kind == ChatKind::Broadcast),
                    chat.created_ms,
                    chat.archived as i64
                ])
            })
            .map_err(err(&self.msgstore_path))?;
        let row = self.conn.last_insert_rowid();
        self.chats.insert(chat.id.clone(), ChatInfo { row, group });
        if group {
            for p in &chat.participants {
                let user = self.jid_row(&p.contact)?;
                let rank = match p.role {
                    Role::Member => 0,
                    Role::Admin => 1,
                    Role::Owner => 2,
                };
                self.conn
                    .prepare_cached(
                        "INSERT INTO group_participant_user (group_jid_row_id, user_jid_row_id, rank, pending) VALUES (?1, ?2, ?3, 0)",
                    )
                    .and_then(|mut s| s.execute(params![jid, user, rank]))
                    .map_err(err(&self.msgstore_path))?;
            }
        }
        Ok(())
    }

    /// Makes msgstore's unique message_key_index. The rows so far are
    /// committed and this one statement gets a rollback journal (in memory:
    /// an index is written to new pages, which need none, so it stays
    /// small): when repeated keys make it fail, it is rolled back, the keys
    /// are made unique and it is made again. Without a journal, a failed
    /// CREATE UNIQUE INDEX leaves a broken schema behind.
    fn create_key_index(&mut self, sql: &str) -> Result<()> {
        let path = self.msgstore_path.clone();
        let e = err(&path);
        self.conn.execute_batch("COMMIT; PRAGMA journal_mode = MEMORY; BEGIN;").map_err(&e)?;
        match self.conn.execute_batch(sql) {
            Ok(()) => {}
            Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                self.conn.execute_batch("ROLLBACK; BEGIN;").map_err(&e)?;
                self.make_keys_unique()?;
                self.conn.execute_batch(sql).map_err(|x| index_broken(x, sql, &path))?;
            }
            Err(x) => return Err(index_broken(x, sql, &path)),
        }
        self.conn.execute_batch("COMMIT; PRAGMA journal_mode = OFF; BEGIN;").map_err(&e)
    }

    /// WhatsApp allows one message per (chat, from me, key id, sender). Two
    /// can share one when histories were merged (a contact map joining two
    /// chats, an archive holding a message twice): the later ones get
    /// `-<row>` added to their key id, so both are kept, and a note says so.
    /// Runs when making the unique index failed (see `create_key_index`).
    fn make_keys_unique(&mut self) -> Result<()> {
        let e = err(&self.msgstore_path);
        let c = &self.conn;
        c.execute_batch("CREATE INDEX cf_keys ON message (chat_row_id, from_me, key_id, sender_jid_row_id)")
            .map_err(&e)?;
        // An ordered scan of that index; duplicates are rare, so few groups.
        let groups: Vec<(i64, i64, String, i64)> = c
            .prepare(
                "SELECT chat_row_id, from_me, key_id, sender_jid_row_id FROM message
                 WHERE sender_jid_row_id IS NOT NULL GROUP BY 1, 2, 3, 4 HAVING count(*) > 1",
            )
            .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect())
            .map_err(&e)?;
        let mut changed = 0;
        for (chat, from_me, key, sender) in groups {
            changed += c
                .execute(
                    "UPDATE message SET key_id = key_id || '-' || _id
                     WHERE chat_row_id = ?1 AND from_me = ?2 AND key_id = ?3 AND sender_jid_row_id = ?4
                       AND _id > (SELECT min(_id) FROM message WHERE chat_row_id = ?1 AND from_me = ?2
                                  AND key_id = ?3 AND sender_jid_row_id = ?4)",
                    params![chat, from_me, key, sender],
                )
                .map_err(&e)?;
        }
        c.execute_batch("DROP INDEX cf_keys").map_err(&e)?;
        if changed > 0 {
            self.report.note(format!(
                "{} the same key id as an earlier message of the same sender in the same chat; their key ids got \
                 their row number added so that WhatsApp keeps both",
                chatferry_core::text_form::counted(changed as u64, "message had", "messages had")
            ));
        }
        Ok(())
    }

    /// A key_id for messages that did not come from WhatsApp: stable for
    /// the same message, shaped like WhatsApp's (32 upper-case hex digits).
    fn key_id_for(m: &Message) -> String {
        let digest = Sha256::digest(format!("{}\u{0}{}", m.chat, m.id).as_bytes());
        hex::encode_upper(&digest[..16])
    }

    /// An invite card's group (type 24), present in 2.22.5.13 as it is (§3.10).
    fn write_invite(&mut self, m: &Message, row: i64) -> Result<()> {
        let path = self.msgstore_path.clone();
        let value = |k: &str| m.extras.get(k).cloned().unwrap_or_default();
        let group = self.jid_row(&value("wa.invite_group"))?;
        let admin = self.jid_row(&value("wa.invite_admin"))?;
        let expiration = m.extras.get("wa.invite_expiration").and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
        self.conn
            .prepare_cached(
                "INSERT INTO message_group_invite (message_row_id, group_jid_row_id, admin_jid_row_id, group_name,
                    invite_code, expiration, invite_time, expired) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    row,
                    group,
                    admin,
                    m.link.as_ref().and_then(|l| l.title.clone()),
                    value("wa.invite_code"),
                    expiration,
                    m.timestamp_ms
                ])
            })
            .map_err(err(&path))?;
        Ok(())
    }

    fn insert_message(&mut self, m: &Message) -> Result<()> {
        let path = self.msgstore_path.clone();
        let e = err(&path);
        let (chat_row, group) = self.chat_row(&m.chat)?;
        let key_id = m.extras.get("wa.key_id").cloned().unwrap_or_else(|| Self::key_id_for(m));
        let sender_row = match (&m.sender, m.from_me, group) {
            (Some(s), false, true) => Some(self.jid_row(s)?),
            // Any other row: 0, not NULL (whatsapp-chat-exporter compares it
            // with 0 and failed on a missed call and on group events of the
            // owner's written with NULL).
            _ => Some(0),
        };
        let native_type = codes::type_of(m.kind);
        // A type read from a newer store is written back as it was, except
        // those the 2.22.5.13 template has no tables or feature for (§7):
        // they take their closest older form.
        let kept_type = m
            .extras
            .get("wa.message_type")
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|t| !codes::NEWER_THAN_TEMPLATE.contains(t))
            // An invite card needs its group, code and admin (§3.10); without them, a link.
            .filter(|t| *t != 24 || INVITE_KEYS.iter().all(|k| m.extras.get(k).is_some_and(|v| !v.is_empty())));
        let message_type = match (kept_type, native_type) {
            (Some(t), _) => t,
            (None, Some(_)) if m.kind == MessageKind::Image && m.view_once => 42,
            (None, Some(_)) if m.kind == MessageKind::Video && m.view_once => 43,
            (None, Some(10)) if m.call.as_ref().and_then(|c| c.outcome.as_deref()).is_some_and(|o| o != "missed") => 0,
            (None, Some(t)) => t,
            (None, None) => 0,
        };
        let downgraded_text = (message_type == 0 && !matches!(m.kind, MessageKind::Text | MessageKind::Link))
            .then(|| text_form::as_text(m));
        let status = match m.extras.get("wa.status").and_then(|s| s.parse::<i64>().ok()) {
            Some(s) => s,
            None if m.kind == MessageKind::System => 6,
            None => codes::status_code(m.status, m.from_me),
        };
        let text = if let Some(t) = &downgraded_text {
            Some(t.clone())
        } else {
            match m.kind {
                _ if m.media.is_some() => m.media.as_ref().and_then(|x| x.caption.clone()),
                MessageKind::Contact => m.contact_card.as_ref().and_then(|c| c.name.clone()),
                MessageKind::System => m.system.as_ref().and_then(|s| s.value.clone()),
                MessageKind::Deleted | MessageKind::Call => None,
                // A card without a caption of its own was read with its link as the text.
                _ if message_type == 24 => m.text.clone().filter(|t| Some(t) != m.link.as_ref().map(|l| &l.url)),
                _ => m.text.clone(),
            }
        };
        let explicit_id = if self.keep_ids { m.id.parse::<i64>().ok().filter(|id| *id > 1) } else { None };
        // The row id is chosen here, so sort_id (= _id) is written with the row.
        let next_row = self.last_message_row + 1;
        let insert = |id: i64| {
            self.conn
                .prepare_cached(
                    "INSERT INTO message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, status, broadcast,
                        recipient_count, origination_flags, origin, timestamp, received_timestamp,
                        receipt_server_timestamp, message_type, text_data, starred, lookup_tables,
                        message_add_on_flags, sort_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0, 0, ?7, ?7, ?8, ?9, ?10, ?11, 0, ?12, ?1)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        id,
                        chat_row,
                        m.from_me as i64,
                        key_id,
                        sender_row,
                        status,
                        m.timestamp_ms,
                        if m.from_me { m.timestamp_ms } else { -1 },
                        message_type,
                        text,
                        m.starred as i64,
                        (!m.reactions.is_empty()) as i64,
                    ])
                })
        };
        let row = match insert(explicit_id.unwrap_or(next_row)) {
            Ok(_) => explicit_id.unwrap_or(next_row),
            // The id is taken (two sources merged): the next free one.
            Err(rusqlite::Error::SqliteFailure(f, _))
                if explicit_id.is_some() && f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                insert(next_row).map_err(&e)?;
                next_row
            }
            Err(x) => return Err(e(x)),
        };
        self.last_message_row = self.last_message_row.max(row);
        let c = &self.conn;
        c.prepare_cached("INSERT INTO temp.cf_ids (canonical, row) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![m.id, row]))
            .map_err(&e)?;

        if let Some(media) = &m.media {
            self.write_media(m, media, row, chat_row)?;
        }
        let c = &self.conn;
        if let (Some(l), None) = (&m.location, &downgraded_text) {
            c.prepare_cached(
                "INSERT INTO message_location (message_row_id, chat_row_id, latitude, longitude, place_name, place_address, url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| s.execute(params![row, chat_row, l.latitude, l.longitude, l.name, l.address, l.url]))
            .map_err(&e)?;
        }
        if let Some(card) = m.contact_card.as_ref().filter(|_| message_type == 4) {
            c.prepare_cached("INSERT INTO message_vcard (message_row_id, vcard) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![row, card.vcard]))
                .map_err(&e)?;
        }
        if message_type == 24 {
            self.write_invite(m, row)?;
        } else if let Some(link) = &m.link {
            let c = &self.conn;
            c.prepare_cached(
                "INSERT INTO message_text (message_row_id, description, page_title, url, preview_type) VALUES (?1, ?2, ?3, ?4, 0)",
            )
            .and_then(|mut s| s.execute(params![row, link.description, link.title, link.url]))
            .map_err(&e)?;
        }
        if let Some(sys) = m.system.as_ref().filter(|_| message_type == 7) {
            let c = &self.conn;
            let action = m
                .extras
                .get("wa.action_type")
                .and_then(|a| a.parse::<i64>().ok())
                .unwrap_or_else(|| codes::action_code(&sys.action));
            c.prepare_cached("INSERT INTO message_system (message_row_id, action_type) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![row, action]))
                .map_err(&e)?;
            let targets = sys.targets.clone();
            for t in targets {
                let u = self.jid_row(&t)?;
                self.conn
                    .prepare_cached(
                        "INSERT INTO message_system_chat_participant (message_row_id, user_jid_row_id) VALUES (?1, ?2)",
                    )
                    .and_then(|mut s| s.execute(params![row, u]))
                    .map_err(&e)?;
            }
        }
        let c = &self.conn;
        if message_type == 15 {
            let revoked = m.extras.get("wa.revoked_key_id").cloned().unwrap_or_else(|| key_id.clone());
            c.prepare_cached("INSERT INTO message_revoked (message_row_id, revoked_key_id) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![row, revoked]))
                .map_err(&e)?;
        }
        if message_type == 10 {
            let video = m.call.as_ref().is_some_and(|c| c.video);
            c.prepare_cached(
                "INSERT INTO missed_call_logs (message_row_id, timestamp, video_call) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![row, m.timestamp_ms, video as i64]))
            .map_err(&e)?;
        }
        if m.forwarded {
            c.prepare_cached("INSERT INTO message_forwarded (message_row_id, forward_score) VALUES (?1, 1)")
                .and_then(|mut s| s.execute([row]))
                .map_err(&e)?;
        }
        if !m.earlier_texts.is_empty() {
            self.earlier_texts += 1;
        }
        // The template has no pin or keep-in-chat tables (§7: state, not content).
        self.pins += m.pinned.is_some() as u64 + m.kept.is_some() as u64;
        if m.edited {
            c.prepare_cached(
                "INSERT INTO message_edit_info (message_row_id, original_key_id, edited_timestamp, sender_timestamp)
                 VALUES (?1, ?2, ?3, ?3)",
            )
            .and_then(|mut s| s.execute(params![row, key_id, m.edited_ms.unwrap_or(m.timestamp_ms)]))
            .map_err(&e)?;
        }
        if m.reply_to.is_some() || m.quoted_text.is_some() || m.extras.contains_key("wa.quoted_key_id") {
            c.prepare_cached(
                "INSERT INTO temp.cf_replies (row, chat_row, quoted, quoted_key, quoted_text) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![row, chat_row, m.reply_to, m.extras.get("wa.quoted_key_id"), m.quoted_text])
            })
            .map_err(&e)?;
        }
        for (i, r) in m.reactions.iter().enumerate() {
            let sender = match (&r.sender, r.from_me) {
                (Some(s), false) => Some(self.jid_row(s)?),
                _ => None,
            };
            let c = &self.conn;
            c.prepare_cached(
                "INSERT INTO message_add_on (chat_row_id, from_me, key_id, sender_jid_row_id, parent_message_row_id,
                                             timestamp, status, message_add_on_type)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 56)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    chat_row,
                    r.from_me as i64,
                    format!("{}R{i}", &key_id),
                    sender,
                    row,
                    r.timestamp_ms.unwrap_or(m.timestamp_ms)
                ])
            })
            .map_err(&e)?;
            let add_on = c.last_insert_rowid();
            c.prepare_cached(
                "INSERT INTO message_add_on_reaction (message_add_on_row_id, reaction, sender_timestamp) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![add_on, r.emoji, r.timestamp_ms]))
            .map_err(&e)?;
        }

        match (&downgraded_text, text_form::whatsapp_voice_loss(m)) {
            (Some(_), _) => self.report.downgraded(m.kind, text_form::whatsapp_reason(m.kind)),
            (None, Some(why)) => self.report.downgraded(m.kind, &why),
            (None, None) => self.report.native(m.kind),
        }
        Ok(())
    }

    /// Copies the media file where `file_path` will point and writes the
    /// `message_media` row (also for missing files, so the message shows).
    fn write_media(&mut self, m: &Message, media: &Media, row: i64, chat_row: i64) -> Result<()> {
        let e = err(&self.msgstore_path);
        let wanted = m.extras.get("wa.file_path").filter(|p| is_safe_relative(p)).cloned();
        let mut file_path = wanted.clone();
        let mut hash = None;
        let mut size = media.size.map(|s| s as i64);
        if let (Some(src), false) = (&media.path, media.missing) {
            let rel = match wanted {
                Some(p) => p,
                None => {
                    self.media_counter += 1;
                    default_media_path(m, media, self.media_counter)
                }
            };
            let (rel, digest, bytes) = self.place_file(Path::new(src), &rel)?;
            hash = Some(base64::engine::general_purpose::STANDARD.encode(digest));
            size = Some(bytes as i64);
            file_path = Some(rel);
            self.report.media.carried += 1;
        }
        let mime =
            media.mime.clone().or_else(|| (m.kind == MessageKind::Voice).then(|| "audio/ogg; codecs=opus".to_string()));
        self.conn
            .prepare_cached(
                "INSERT INTO message_media (message_row_id, chat_row_id, transferred, file_path, file_size, mime_type,
                                            media_name, file_hash, media_duration, width, height, file_length)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    row,
                    chat_row,
                    hash.is_some() as i64,
                    file_path,
                    size,
                    mime,
                    media.file_name,
                    hash,
                    media.duration_ms.map(|d| ((d + 500) / 1000) as i64),
                    media.width,
                    media.height,
                ])
            })
            .map_err(&e)?;
        Ok(())
    }

    /// Copies `src` to `rel` under the output root (a second message with
    /// the same file reuses it; another file already there gets a new
    /// name). Returns where it went and the file's SHA-256 and size.
    fn place_file(&self, src: &Path, rel: &str) -> Result<(String, [u8; 32], u64)> {
        let mut rel = rel.to_string();
        let mut n = 1;
        loop {
            let dest = self.root.join(&rel);
            let (digest, size, holds_it) = self.copies.place_hashed(src, &dest)?;
            if holds_it || media::hash_file_bytes(&dest)?.0 == digest {
                return Ok((rel, digest, size));
            }
            n += 1;
            let p = Path::new(&rel);
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
            let ext = p.extension().and_then(|s| s.to_str()).map(|e| format!(".{e}")).unwrap_or_default();
            rel = p.with_file_name(format!("{stem} ({n}){ext}")).to_string_lossy().into_owned();
        }
    }
}

use chatferry_core::media;

/// The error for rows that break one of the schema's indexes (or for a
/// full disk while building one: not a bug, and said as what it is).
fn index_broken(x: rusqlite::Error, sql: &str, path: &Path) -> Error {
    if chatferry_core::sqlite::is_disk_full(&x) {
        return chatferry_core::sqlite::disk_full(path);
    }
    Error::internal(format!(
        "the messages written break one of WhatsApp's indexes ({x}); this is a chatferry bug, \
         please report it with this line: {}",
        created_name(sql).unwrap_or("?")
    ))
}

/// A store path that stays inside the WhatsApp folder.
fn is_safe_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty() && path.components().all(|c| matches!(c, std::path::Component::Normal(_))) && p.starts_with("Media/")
}

/// Where WhatsApp would keep this file (`Media/WhatsApp Images/Sent/IMG-20241027-WA0001.jpg`).
fn default_media_path(m: &Message, media: &Media, n: u64) -> String {
    let date: String = time::format_utc(m.timestamp_ms).chars().take(10).filter(|c| *c != '-').collect();
    let ext = extension_for(media.mime.as_deref(), media.file_name.as_deref());
    let sent = if m.from_me { "Sent/" } else { "" };
    match m.kind {
        MessageKind::Image => format!("Media/WhatsApp Images/{sent}IMG-{date}-WA{n:04}.{ext}"),
        MessageKind::Video => format!("Media/WhatsApp Video/{sent}VID-{date}-WA{n:04}.{ext}"),
        MessageKind::Gif => format!("Media/WhatsApp Animated Gifs/{sent}VID-{date}-WA{n:04}.{ext}"),
        MessageKind::Voice => {
            let week = chrono_week(m.timestamp_ms);
            // WhatsApp names recorded notes .opus whatever the MIME type says;
            // a note in another codec (WeChat's SILK) keeps its own extension.
            let ext = match media.mime.as_deref() {
                Some(mime) if !mime.starts_with("audio/ogg") && !mime.starts_with("audio/opus") => ext,
                _ => "opus".into(),
            };
            format!("Media/WhatsApp Voice Notes/{week}/PTT-{date}-WA{n:04}.{ext}")
        }
        MessageKind::Audio => format!("Media/WhatsApp Audio/{sent}AUD-{date}-WA{n:04}.{ext}"),
        MessageKind::Sticker => format!("Media/WhatsApp Stickers/{sent}STK-{date}-WA{n:04}.{ext}"),
        _ => {
            let name = media
                .file_name
                .as_deref()
                .map(|f| media::fit_name(&f.replace(['/', '\\'], "_"), media::NAME_AT_MOST))
                .filter(|f| !f.is_empty() && f != "." && f != "..")
                .unwrap_or_else(|| format!("DOC-{date}-WA{n:04}.{ext}"));
            format!("Media/WhatsApp Documents/{sent}{name}")
        }
    }
}

/// Voice notes are filed by year and week number (`202443`).
fn chrono_week(ms: i64) -> String {
    time::format_utc_with(ms, "%G%V").unwrap_or_else(|| "197001".into())
}

fn open_wa_db(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(err(path))?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;").map_err(err(path))?;
    for s in statements(WA_DB_SCHEMA) {
        conn.execute_batch(&s).map_err(|e| Error::internal(format!("creating the wa.db schema: {e}")))?;
    }
    conn.execute("INSERT INTO android_metadata (locale) VALUES ('en_US')", []).map_err(err(path))?;
    conn.execute_batch("BEGIN").map_err(err(path))?;
    Ok(conn)
}

/// The last two digits of the owner's number, which a crypt15 header carries.
fn jid_suffix(owner: Option<&Contact>, option: Option<&str>) -> Option<String> {
    let raw = option
        .map(String::from)
        .or_else(|| owner.and_then(|o| o.phone.clone()))
        .or_else(|| owner.map(|o| o.id.split('@').next().unwrap_or("").to_string()))?;
    let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits.len() >= 2).then(|| digits[digits.len() - 2..].to_string())
}

impl Exporter for WaExporter {
    fn begin(&mut self, header: &Header) -> Result<()> {
        self.header = header.clone();
        self.keep_ids = header.source_adapter == SOURCE;
        if self.key.is_some() && jid_suffix(header.owner.as_ref(), self.owner_option.as_deref()).is_none() {
            return Err(Error::usage(
                "a crypt15 backup must name its owner's number: add --opt owner=+<your number with country code>",
            ));
        }
        if let Some(name) = header.owner.as_ref().and_then(|o| o.nickname.clone()) {
            self.conn
                .execute("INSERT INTO props (key, value) VALUES ('user_push_name', ?1)", [name])
                .map_err(err(&self.msgstore_path))?;
        }
        Ok(())
    }

    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        let path = self.root.join("wa.db");
        let mut stmt = self
            .wa
            .prepare_cached(
                "INSERT INTO wa_contacts (jid, is_whatsapp_user, number, display_name, wa_name, sort_name)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5)",
            )
            .map_err(err(&path))?;
        for c in batch {
            stmt.execute(params![c.id, c.phone, c.name, c.nickname, c.name.as_deref().or(c.nickname.as_deref())])
                .map_err(err(&path))?;
        }
        Ok(())
    }

    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        for chat in &batch {
            if !self.chats.contains_key(&chat.id) {
                self.insert_chat(chat)?;
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
        let path = self.msgstore_path.clone();
        let e = err(&path);
        // The reader is done by now: SQLite may sort the index keys on a
        // second thread.
        self.conn.execute_batch("PRAGMA threads = 2").map_err(&e)?;
        for sql in std::mem::take(&mut self.deferred_indexes) {
            if created_name(&sql) == Some("message_key_index") {
                self.create_key_index(&sql)?;
            } else {
                self.conn.execute_batch(&sql).map_err(|x| index_broken(x, &sql, &path))?;
            }
        }
        self.conn.execute_batch("CREATE INDEX temp.cf_ids_canonical ON cf_ids (canonical)").map_err(&e)?;
        // Replies: point at the quoted message's key, or keep the quote's
        // snapshot when the quoted message is not in the history (of two
        // messages with one id, the first written).
        self.conn
            .execute_batch(
                "INSERT INTO message_quoted (message_row_id, chat_row_id, parent_message_chat_row_id, from_me,
                        sender_jid_row_id, key_id, timestamp, message_type, origin, text_data)
                 SELECT r.row, r.chat_row, COALESCE(q.chat_row_id, r.chat_row), COALESCE(q.from_me, 0),
                        q.sender_jid_row_id, COALESCE(q.key_id, r.quoted_key, 'chatferry-unknown'),
                        q.timestamp, COALESCE(q.message_type, 0), 0, COALESCE(r.quoted_text, q.text_data)
                 FROM temp.cf_replies r
                 LEFT JOIN temp.cf_ids i ON i.rowid = (SELECT min(rowid) FROM temp.cf_ids WHERE canonical = r.quoted)
                 LEFT JOIN message q ON q._id = i.row;
                 UPDATE chat SET
                    last_message_row_id = (SELECT max(_id) FROM message m WHERE m.chat_row_id = chat._id),
                    display_message_row_id = (SELECT max(_id) FROM message m WHERE m.chat_row_id = chat._id),
                    last_read_message_row_id = (SELECT max(_id) FROM message m WHERE m.chat_row_id = chat._id),
                    sort_timestamp = COALESCE((SELECT max(timestamp) FROM message m WHERE m.chat_row_id = chat._id),
                                              created_timestamp, 0);
                 COMMIT;",
            )
            .map_err(&e)?;
        self.wa.execute_batch("COMMIT").map_err(err(&self.root.join("wa.db")))?;
        if self.lid_only > 0 {
            self.report.note(format!(
                "{} under their hidden-number id (…@lid), the closest form this store has: its 2.22.5.13 \
                 schema predates those ids, and whether a newer WhatsApp shows them after the restore is not known; \
                 a contact map can give them their numbers",
                chatferry_core::text_form::counted(
                    self.lid_only,
                    "person known by no number was written",
                    "people known by no number were written"
                )
            ));
        }
        if self.earlier_texts > 0 {
            self.report.note(format!(
                "{}: WhatsApp keeps only the final text",
                chatferry_core::text_form::counted(
                    self.earlier_texts,
                    "edited message's earlier text was not written",
                    "edited messages' earlier texts were not written"
                )
            ));
        }
        if self.pins > 0 {
            self.report.note(format!(
                "{} not written: WhatsApp 2.22, which this store is written as, has no pins",
                chatferry_core::text_form::counted(
                    self.pins,
                    "pin or keep-in-chat mark was",
                    "pins and keep-in-chat marks were"
                )
            ));
        }
        if self.foreign_ids > 0 {
            self.report.note(format!(
                "{} not WhatsApp addresses (another app's contacts); map them with a contact map",
                chatferry_core::text_form::counted(self.foreign_ids, "id is", "ids are")
            ));
        }
        if let Some(root) = self.key {
            let suffix =
                jid_suffix(self.header.owner.as_ref(), self.owner_option.as_deref()).expect("checked in begin");
            let mut iv = [0u8; 16];
            getrandom_iv(&mut iv);
            let out = path.with_file_name("msgstore.db.crypt15");
            // Close the database before reading it whole.
            let conn = std::mem::replace(&mut self.conn, Connection::open_in_memory().map_err(&e)?);
            conn.close().map_err(|(_, x)| e(x))?;
            crypt::encrypt_crypt15(&path, &root, &suffix, iv, &out)?;
            std::fs::remove_file(&path).map_err(|x| Error::io(&path, "remove", x))?;
            self.report.note(format!(
                "wrote an end-to-end encrypted backup (crypt15) for a number ending in {suffix}, app version {}",
                crypt::APP_VERSION
            ));
        }
        let mut report = std::mem::take(&mut self.report);
        report.target_adapter = crate::ADAPTER_ID.into();
        Ok(report)
    }
}

/// A fresh random IV from the operating system's generator.
fn getrandom_iv(iv: &mut [u8; 16]) {
    use aes_gcm::aead::rand_core::RngCore;
    aes_gcm::aead::OsRng.fill_bytes(iv);
}
