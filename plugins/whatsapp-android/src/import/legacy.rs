//! The legacy schema (WhatsApp ≤ 2.21): one `messages` table keyed by the
//! chat's JID, `chat_list`, `messages_quotes`, `group_participants`.
//! Facts marked [U] in shared/formats/whatsapp.md are used as documented and
//! noted here: system-event codes in `media_size`, the media file path
//! inside the serialised `thumb_image`.

use super::contacts::phone_of;
use super::modern::{chat_kind, hash_to_hex, normalize_jid};
use super::{Lookups, Structure};
use crate::codes;
use chatferry_core::sqlite as db;
use chatferry_core::*;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

pub fn read_structure(
    conn: &Connection,
    names: &HashMap<String, Contact>,
    owner: Option<&str>,
    keep_statuses: bool,
) -> Result<Structure> {
    let e = db::err_for(conn);
    let live = super::legacy_read(keep_statuses);
    let mut people: BTreeMap<String, Contact> = BTreeMap::new();
    let mut add_person = |jid: &str| {
        let jid = normalize_jid(jid);
        if chat_kind(&jid) == ChatKind::Direct && !people.contains_key(&jid) {
            let mut c = names.get(&jid).cloned().unwrap_or_else(|| Contact { id: jid.clone(), ..Default::default() });
            if c.phone.is_none() {
                c.phone = phone_of(&jid);
            }
            people.insert(jid, c);
        }
    };
    let mut chat_jids: Vec<String> = Vec::new();
    {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT key_remote_jid FROM messages WHERE {live} GROUP BY key_remote_jid
                 UNION SELECT remote_resource FROM messages WHERE remote_resource IS NOT NULL AND remote_resource <> ''
                    AND {live}"
            ))
            .map_err(&e)?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(&e)? {
            add_person(&row.map_err(&e)?);
        }
        let mut stmt = conn
            .prepare(&format!("SELECT DISTINCT key_remote_jid FROM messages WHERE {live} ORDER BY key_remote_jid"))
            .map_err(&e)?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(&e)? {
            chat_jids.push(row.map_err(&e)?);
        }
    }
    for (jid, c) in names {
        if chat_kind(jid) == ChatKind::Direct && !people.contains_key(jid) {
            people.insert(jid.clone(), c.clone());
        }
    }

    // chat_list has subject, creation and archived per chat JID.
    let mut info: HashMap<String, (Option<String>, Option<i64>, bool)> = HashMap::new();
    if db::has_table(conn, "chat_list") {
        let sql = format!(
            "SELECT key_remote_jid, {}, {}, {} FROM chat_list c",
            db::col_or_null(conn, "chat_list", "c", "subject"),
            db::col_or_null(conn, "chat_list", "c", "creation"),
            db::col_or_null(conn, "chat_list", "c", "archived")
        );
        let mut stmt = conn.prepare(&sql).map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?.unwrap_or(0) != 0,
                ))
            })
            .map_err(&e)?;
        for row in rows {
            let (jid, subject, creation, archived) = row.map_err(&e)?;
            if !chat_jids.contains(&jid) {
                chat_jids.push(jid.clone());
            }
            info.insert(jid, (subject, creation, archived));
        }
    }
    let mut members: HashMap<String, Vec<Participant>> = HashMap::new();
    if db::has_table(conn, "group_participants") {
        let mut stmt = conn.prepare("SELECT gjid, jid, admin FROM group_participants ORDER BY _id").map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<i64>>(2)?))
            })
            .map_err(&e)?;
        for row in rows {
            let (group, jid, admin) = row.map_err(&e)?;
            // The owner's own membership is the row with an empty jid.
            let contact = match jid.filter(|j| !j.is_empty()) {
                Some(j) => normalize_jid(&j),
                None => match owner {
                    Some(o) => o.to_string(),
                    None => continue,
                },
            };
            let role = match admin.unwrap_or(0) {
                1 => Role::Admin,
                2 => Role::Owner,
                _ => Role::Member,
            };
            members.entry(group).or_default().push(Participant { contact, role, display_name: None });
        }
    }
    let mut direct = HashSet::new();
    let mut chat_list = Vec::new();
    for jid in chat_jids {
        let (subject, creation, archived) = info.remove(&jid).unwrap_or((None, None, false));
        let kind = chat_kind(&jid);
        let participants = if kind == ChatKind::Direct {
            direct.insert(jid.clone());
            vec![Participant { contact: jid.clone(), ..Default::default() }]
        } else {
            members.remove(&jid).unwrap_or_default()
        };
        chat_list.push(Chat {
            id: jid,
            kind,
            title: subject.filter(|s| !s.is_empty()),
            participants,
            created_ms: creation.filter(|t| *t > 0),
            archived,
            extras: Extras::new(),
        });
    }
    let estimated: i64 =
        conn.query_row(&format!("SELECT count(*) FROM messages WHERE {live}"), [], |r| r.get(0)).map_err(&e)?;
    Ok(Structure {
        jids: HashMap::new(),
        chats: HashMap::new(),
        direct,
        contacts: people.into_values().collect(),
        chat_list,
        estimated: estimated.max(0) as u64,
        joined: HashMap::new(),
        lid_rows: Default::default(),
    })
}

/// The file path inside a serialised MediaData (`thumb_image`): Java writes
/// strings as `0x74`, a 2-byte length, then UTF-8. [U]
pub fn path_in_media_data(blob: &[u8]) -> Option<String> {
    let mut i = 0;
    while i + 3 <= blob.len() {
        if blob[i] == 0x74 {
            let len = u16::from_be_bytes([blob[i + 1], blob[i + 2]]) as usize;
            if let Some(s) = blob.get(i + 3..i + 3 + len).and_then(|b| std::str::from_utf8(b).ok()) {
                if s.contains("Media/") && !s.contains('\0') {
                    return Some(s.to_string());
                }
            }
        }
        i += 1;
    }
    None
}

/// In a transitional store (`beside_modern`), what the `message` table
/// already holds: each legacy row is looked up there by its key and read
/// only when it is not, under an id that cannot clash with a modern row's.
struct ModernTable<'c> {
    /// Chat id → `chat._id`.
    chat_rows: HashMap<String, i64>,
    by_key: rusqlite::Statement<'c>,
    by_id: rusqlite::Statement<'c>,
    /// Legacy rows also in `message`, read there.
    duplicates: u64,
}

impl<'c> ModernTable<'c> {
    fn open(conn: &'c Connection, lk: &Lookups) -> rusqlite::Result<ModernTable<'c>> {
        Ok(ModernTable {
            chat_rows: lk.chats.iter().map(|(row, id)| (id.clone(), *row)).collect(),
            by_key: conn
                .prepare("SELECT _id FROM message WHERE chat_row_id = ?1 AND from_me = ?2 AND key_id = ?3 LIMIT 1")?,
            by_id: conn.prepare("SELECT EXISTS (SELECT 1 FROM message WHERE _id = ?1)")?,
            duplicates: 0,
        })
    }

    /// The `message._id` of the message with this key, if that table has it.
    fn row_of(&mut self, chat: &str, from_me: bool, key_id: &str) -> rusqlite::Result<Option<i64>> {
        let Some(chat_row) = self.chat_rows.get(chat) else { return Ok(None) };
        use rusqlite::OptionalExtension;
        self.by_key.query_row(rusqlite::params![chat_row, from_me as i64, key_id], |r| r.get(0)).optional()
    }

    /// The id a legacy row is imported under: its `_id`, or `legacy-<_id>`
    /// when a modern row already has that number.
    fn id_of(&mut self, legacy_row: i64) -> rusqlite::Result<String> {
        let taken: bool = self.by_id.query_row([legacy_row], |r| r.get(0))?;
        Ok(if taken { format!("legacy-{legacy_row}") } else { legacy_row.to_string() })
    }
}

/// Reads the legacy table's messages; `beside_modern`: the store also has a
/// `message` table, already read (a transitional store).
pub fn stream_messages(
    conn: &Connection,
    lk: &Lookups,
    batch_size: usize,
    report: &Mutex<Report>,
    beside_modern: bool,
    send: &mut dyn FnMut(Vec<Message>) -> bool,
) -> Result<()> {
    let e = db::err_for(conn);
    let mut modern = if beside_modern { Some(ModernTable::open(conn, lk).map_err(&e)?) } else { None };
    let has_quotes = db::has_table(conn, "messages_quotes");
    let has_vcards = db::has_table(conn, "messages_vcards");
    let sql = format!(
        "SELECT m._id, m.key_remote_jid, m.key_from_me, m.key_id, m.status, m.data, m.timestamp,
                m.media_wa_type, m.media_mime_type, m.media_size, m.media_name, {caption}, m.media_hash,
                m.media_duration, m.latitude, m.longitude, m.remote_resource, {starred}, {edit_version},
                {forwarded}, {q_key}, {q_data}, {q_row}, m.thumb_image, {vcard}, {q_chat}, {q_from_me}
         FROM messages m {quotes}
         WHERE {live}
         ORDER BY m.key_remote_jid, m.timestamp, m._id",
        live = super::legacy_read(lk.keep_statuses)
            .replace("key_remote_jid", "m.key_remote_jid")
            .replace("(timestamp", "(m.timestamp"),
        q_chat = if has_quotes { "q.key_remote_jid" } else { "NULL" },
        q_from_me = if has_quotes { "q.key_from_me" } else { "NULL" },
        caption = db::col_or_null(conn, "messages", "m", "media_caption"),
        starred = db::col_or_null(conn, "messages", "m", "starred"),
        edit_version = db::col_or_null(conn, "messages", "m", "edit_version"),
        forwarded = db::col_or_null(conn, "messages", "m", "forwarded"),
        q_key = if has_quotes { "q.key_id" } else { "NULL" },
        q_data = if has_quotes { "q.data" } else { "NULL" },
        q_row = if has_quotes {
            "(SELECT o._id FROM messages o WHERE o.key_remote_jid = q.key_remote_jid AND o.key_from_me = q.key_from_me AND o.key_id = q.key_id LIMIT 1)"
        } else {
            "NULL"
        },
        vcard = if has_vcards {
            "(SELECT v.vcard FROM messages_vcards v WHERE v.message_row_id = m._id ORDER BY v._id LIMIT 1)"
        } else {
            "NULL"
        },
        quotes = if has_quotes { "LEFT JOIN messages_quotes q ON q._id = m.quoted_row_id" } else { "" },
    );
    let mut stmt = conn.prepare(&sql).map_err(&e)?;
    let mut rows = stmt.query([]).map_err(&e)?;
    let mut batcher = chatferry_core::producer::Batcher::new(batch_size, report);
    while let Some(r) = rows.next().map_err(&e)? {
        let id: i64 = r.get(0).map_err(&e)?;
        let chat = normalize_jid(&r.get::<_, String>(1).map_err(&e)?);
        let from_me = r.get::<_, Option<i64>>(2).map_err(&e)?.unwrap_or(0) != 0;
        let key_id: String = r.get::<_, Option<String>>(3).map_err(&e)?.unwrap_or_default();
        let status: Option<i64> = r.get(4).map_err(&e)?;
        let data: Option<String> = r.get(5).map_err(&e)?;
        let timestamp: i64 = r.get::<_, Option<i64>>(6).map_err(&e)?.unwrap_or(0);
        let wa_type: i64 = r.get::<_, Option<String>>(7).map_err(&e)?.and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        let mime: Option<String> = r.get(8).map_err(&e)?;
        let media_size: Option<i64> = r.get(9).map_err(&e)?;
        let media_name: Option<String> = r.get(10).map_err(&e)?;
        let caption: Option<String> = r.get(11).map_err(&e)?;
        let media_hash: Option<String> = r.get(12).map_err(&e)?;
        let duration: Option<i64> = r.get(13).map_err(&e)?;
        let lat: Option<f64> = r.get(14).map_err(&e)?;
        let lon: Option<f64> = r.get(15).map_err(&e)?;
        let author: Option<String> = r.get(16).map_err(&e)?;
        let starred = r.get::<_, Option<i64>>(17).map_err(&e)?.unwrap_or(0) != 0;
        let edit_version: Option<i64> = r.get(18).map_err(&e)?;
        let forwarded = r.get::<_, Option<i64>>(19).map_err(&e)?.unwrap_or(0) != 0;
        let q_key: Option<String> = r.get(20).map_err(&e)?;
        let q_data: Option<String> = r.get(21).map_err(&e)?;
        let q_row: Option<i64> = r.get(22).map_err(&e)?;
        let thumb: Option<Vec<u8>> = match r.get_ref(23).map_err(&e)? {
            rusqlite::types::ValueRef::Blob(b) => Some(b.to_vec()),
            rusqlite::types::ValueRef::Text(t) => Some(t.to_vec()),
            _ => None,
        };
        let vcard: Option<String> = r.get(24).map_err(&e)?;
        let q_chat: Option<String> = r.get(25).map_err(&e)?;
        let q_from_me = r.get::<_, Option<i64>>(26).map_err(&e)?.unwrap_or(0) != 0;
        let (id, reply_to) = match modern.as_mut() {
            None => (id.to_string(), q_row.map(|r| r.to_string())),
            Some(t) => {
                if t.row_of(&chat, from_me, &key_id).map_err(&e)?.is_some() {
                    t.duplicates += 1;
                    continue;
                }
                // A quoted message the `message` table has is read from
                // there, under its modern id.
                let quoted_modern = match (&q_chat, &q_key) {
                    (Some(c), Some(k)) => t.row_of(&normalize_jid(c), q_from_me, k).map_err(&e)?,
                    _ => None,
                };
                let reply_to = match (quoted_modern, q_row) {
                    (Some(m), _) => Some(m.to_string()),
                    (None, Some(r)) => Some(t.id_of(r).map_err(&e)?),
                    (None, None) => None,
                };
                (t.id_of(id).map_err(&e)?, reply_to)
            }
        };

        let system = status == Some(6);
        let mut kind = if system {
            MessageKind::System
        } else if edit_version == Some(7) {
            MessageKind::Deleted
        } else {
            codes::kind_of(wa_type)
        };
        let file_path = thumb.as_deref().and_then(path_in_media_data);
        if kind == MessageKind::Audio && codes::is_voice_note(mime.as_deref(), file_path.as_deref()) {
            kind = MessageKind::Voice;
        }
        let sender = if from_me {
            lk.owner.clone()
        } else if let Some(a) = author.filter(|a| !a.is_empty()) {
            Some(normalize_jid(&a))
        } else if lk.direct.contains(&chat) {
            Some(chat.clone())
        } else {
            None
        };
        let mut extras = Extras::new();
        extras.insert("wa.key_id".into(), key_id);
        let st = codes::status_of(status, from_me);
        let mut m = Message {
            id,
            chat,
            sender,
            from_me,
            timestamp_ms: timestamp,
            kind,
            status: if system { Status::Unknown } else { st },
            starred,
            forwarded,
            ..Default::default()
        };
        if kind.has_media() {
            let media = Media {
                mime: mime.filter(|s| !s.is_empty()),
                size: media_size.filter(|s| *s >= 0).map(|s| s as u64),
                file_name: media_name.filter(|s| !s.is_empty()),
                duration_ms: duration.filter(|d| *d > 0).map(|d| d as u64 * 1000),
                caption: caption.filter(|s| !s.is_empty()),
                sha256: media_hash.as_deref().and_then(hash_to_hex),
                ..Default::default()
            };
            if let Some(p) = &file_path {
                extras.insert(super::FILE_PATH.into(), p.clone());
            }
            m.media = Some(media);
        } else if system {
            let code = media_size.unwrap_or(0);
            m.system = Some(Box::new(SystemEvent {
                action: codes::action_of(code).into(),
                actor: m.sender.clone(),
                targets: vec![],
                value: data.filter(|s| !s.is_empty()),
            }));
            extras.insert("wa.action_type".into(), code.to_string());
        } else {
            match kind {
                MessageKind::Location => {
                    m.location = Some(Box::new(Location {
                        latitude: lat.unwrap_or(0.0),
                        longitude: lon.unwrap_or(0.0),
                        name: media_name.filter(|s| !s.is_empty()),
                        live: wa_type == 16,
                        ..Default::default()
                    }))
                }
                MessageKind::Contact => {
                    m.contact_card = Some(Box::new(ContactCard {
                        name: media_name.filter(|s| !s.is_empty()),
                        vcard: vcard.or(data),
                    }))
                }
                MessageKind::Deleted => {}
                _ => m.text = data,
            }
        }
        if let Some(k) = q_key {
            m.reply_to = reply_to;
            m.quoted_text = q_data.filter(|s| !s.is_empty());
            if m.reply_to.is_none() {
                extras.insert("wa.quoted_key_id".into(), k);
            }
        }
        if codes::type_of(kind) != Some(wa_type) && !system {
            extras.insert("wa.message_type".into(), wa_type.to_string());
            if kind == MessageKind::Other {
                batcher.report.note(format!(
                    "message {}: unknown WhatsApp message type {wa_type}: kept as an `other` message with its code and text",
                    m.id
                ));
            }
        }
        m.extras = extras;
        if !batcher.push(m, send)? {
            return Ok(()); // the importer was dropped
        }
    }
    if let Some(t) = modern.filter(|t| t.duplicates > 0) {
        batcher.report.note(format!(
            "{} the legacy `messages` table also in the `message` table and read from there",
            chatferry_core::text_form::counted(t.duplicates, "row of", "rows of")
        ));
    }
    batcher.finish(send)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_path_in_serialised_media_data() {
        let mut blob = vec![0xac, 0xed, 0x00, 0x05, 0x73, 0x72];
        let path = "/storage/emulated/0/WhatsApp/Media/WhatsApp Images/IMG-20190101-WA0001.jpg";
        blob.push(0x74);
        blob.extend((path.len() as u16).to_be_bytes());
        blob.extend(path.as_bytes());
        blob.extend([0x78, 0x70]);
        assert_eq!(path_in_media_data(&blob).as_deref(), Some(path));
        assert_eq!(path_in_media_data(b"no path here"), None);
    }
}
