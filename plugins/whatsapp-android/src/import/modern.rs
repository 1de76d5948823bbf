//! The modern schema (WhatsApp ≥ 2.21): `message`, `jid`, `chat` and the
//! per-feature side tables. Tables and columns a given version lacks are
//! read as NULL, so every version from 2.21 to 2026 reads with the same
//! code: one query over the messages, point lookups into the side tables.

use super::business::{self, Order, Product};
use super::cards::{self, CallRow, CardSides, InviteRow, MarkRow};
use super::contacts::phone_of;
use super::polls_events::{self, EventRows, PollEventSides, PollRows};
use super::side::{self, Side};
use super::{Lookups, Structure};
use crate::codes;
use chatferry_core::joined;
use chatferry_core::sqlite as db;
use chatferry_core::*;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

/// `user:3@server` (a companion device) → `user@server`.
pub fn normalize_jid(raw: &str) -> String {
    match raw.split_once('@') {
        Some((user, server)) => match user.split_once(':') {
            Some((u, _device)) => format!("{u}@{server}"),
            None => raw.to_string(),
        },
        None => raw.to_string(),
    }
}

pub fn chat_kind(jid: &str) -> ChatKind {
    match jid.rsplit('@').next().unwrap_or("") {
        "g.us" => ChatKind::Group,
        "broadcast" => ChatKind::Broadcast,
        "newsletter" => ChatKind::Official,
        "s.whatsapp.net" | "lid" | "c.us" => ChatKind::Direct,
        _ => ChatKind::Other,
    }
}

/// The owner's push name (stored in props by 2026 versions).
pub fn own_push_name(conn: &Connection) -> Option<String> {
    if !db::has_table(conn, "props") {
        return None;
    }
    conn.query_row("SELECT value FROM props WHERE key = 'user_push_name'", [], |r| r.get(0)).ok()
}

/// `with_legacy_rows`: chats that have messages in the legacy table (a
/// transitional store), kept even when hidden with no row in `message`.
pub fn read_structure(
    conn: &Connection,
    names: &HashMap<String, Contact>,
    owner: Option<&str>,
    with_legacy_rows: &HashSet<String>,
    keep_statuses: bool,
    report: &mut Report,
) -> Result<Structure> {
    let e = db::err_for(conn);
    // Addresses.
    let mut jids: HashMap<i64, String> = HashMap::new();
    {
        let mut stmt = conn.prepare("SELECT _id, raw_string, user, server FROM jid").map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                let raw: Option<String> = r.get(1)?;
                let user: Option<String> = r.get(2)?;
                let server: Option<String> = r.get(3)?;
                Ok((r.get::<_, i64>(0)?, raw.or_else(|| Some(format!("{}@{}", user?, server?)))))
            })
            .map_err(&e)?;
        for row in rows {
            if let (id, Some(raw)) = row.map_err(&e)? {
                jids.insert(id, normalize_jid(&raw));
            }
        }
    }
    // One person, one id: a hidden-number (LID) address is read as the
    // phone JID it pairs with (`jid_map`; a chat keyed by one form naming
    // the other in `account_jid_row_id`), so their two chats are one.
    let mut pairs: Vec<(i64, i64)> = Vec::new();
    if db::has_table(conn, "jid_map") {
        let mut stmt = conn.prepare("SELECT lid_row_id, jid_row_id FROM jid_map").map_err(&e)?;
        pairs.extend(
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&e)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(&e)?,
        );
    }
    if db::has_column(conn, "chat", "account_jid_row_id") {
        let mut stmt = conn
            .prepare(
                "SELECT jid_row_id, account_jid_row_id FROM chat
                 WHERE account_jid_row_id IS NOT NULL AND account_jid_row_id <> jid_row_id",
            )
            .map_err(&e)?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).map_err(&e)? {
            let (a, b) = row.map_err(&e)?;
            pairs.push((a, b));
            pairs.push((b, a)); // either may be the LID
        }
    }
    let mut lids: HashMap<i64, String> = HashMap::new(); // LID row → the LID, for rows read as a phone JID
    for (lid, phone) in pairs {
        let (Some(l), Some(p)) = (jids.get(&lid), jids.get(&phone)) else { continue };
        // The first pair wins (`jid_map` before the chats'); a phone JID is never re-read as a LID.
        if l.ends_with("@lid") && p.ends_with("@s.whatsapp.net") && !lids.contains_key(&lid) {
            lids.insert(lid, l.clone());
            let p = p.clone();
            jids.insert(lid, p);
        }
    }
    // A number with several LIDs (§1.2) is shown with its first, the same on every run.
    let mut lid_of: HashMap<String, String> = HashMap::new();
    for (row, lid) in lids.iter().collect::<BTreeMap<_, _>>() {
        if let Some(phone) = jids.get(row) {
            lid_of.entry(phone.clone()).or_insert_with(|| lid.clone());
        }
    }
    let mut lid_names: HashMap<String, String> = HashMap::new();
    if db::has_table(conn, "lid_display_name") {
        let mut stmt = conn
            .prepare("SELECT j.raw_string, l.display_name FROM lid_display_name l JOIN jid j ON j._id = l.lid_row_id")
            .map_err(&e)?;
        for row in
            stmt.query_map([], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?))).map_err(&e)?
        {
            if let (Some(j), Some(n)) = row.map_err(&e)? {
                lid_names.insert(j, n);
            }
        }
        // Reached backwards too: a phone JID's person is named by their LID's name.
        for (phone, lid) in &lid_of {
            if let Some(n) = lid_names.get(lid).cloned() {
                lid_names.entry(phone.clone()).or_insert(n);
            }
        }
    }

    // People: every person address in the store, named from wa.db.
    let mut people: BTreeMap<String, Contact> = BTreeMap::new();
    for jid in jids.values() {
        let kind = chat_kind(jid);
        if kind != ChatKind::Direct || jid.starts_with("0@") || jid.starts_with('@') {
            continue;
        }
        let mut c = names.get(jid).cloned().unwrap_or_else(|| Contact { id: jid.clone(), ..Default::default() });
        if c.phone.is_none() {
            c.phone = phone_of(jid);
        }
        if c.name.is_none() && c.nickname.is_none() {
            c.nickname = lid_names.get(jid).cloned();
        }
        people.insert(jid.clone(), c);
    }
    for (jid, c) in names {
        if chat_kind(jid) == ChatKind::Direct && !people.contains_key(jid) {
            let mut c = c.clone();
            if c.phone.is_none() {
                c.phone = phone_of(jid);
            }
            people.insert(jid.clone(), c);
        }
    }

    // Chats.
    let sql = format!(
        "SELECT c._id, c.jid_row_id, {}, {}, {}, {},
                EXISTS (SELECT 1 FROM message m WHERE m.chat_row_id = c._id)
         FROM chat c ORDER BY c._id",
        db::col_or_null(conn, "chat", "c", "subject"),
        db::col_or_null(conn, "chat", "c", "created_timestamp"),
        db::col_or_null(conn, "chat", "c", "archived"),
        db::col_or_null(conn, "chat", "c", "hidden"),
    );
    let mut chats: HashMap<i64, String> = HashMap::new();
    let mut chat_list = Vec::new();
    let mut direct = HashSet::new();
    let mut skipped_hidden = 0;
    // A person's chats under both forms: the row each chat id was first seen in.
    let mut first_row: HashMap<String, (i64, usize)> = HashMap::new();
    let mut joined: HashMap<i64, i64> = HashMap::new();
    let mut statuses = 0i64;
    {
        let mut stmt = conn.prepare(&sql).map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, bool>(6)?,
                ))
            })
            .map_err(&e)?;
        for row in rows {
            let (row_id, jid_row, subject, created, archived, hidden, has_messages) = row.map_err(&e)?;
            let hidden = hidden.unwrap_or(0) != 0;
            let id = jid_row.and_then(|j| jids.get(&j).cloned()).unwrap_or_else(|| format!("chat-{row_id}@unknown"));
            if hidden && !has_messages && !with_legacy_rows.contains(&id) {
                skipped_hidden += 1;
                continue;
            }
            if is_status_feed(&id) && !keep_statuses {
                statuses += conn
                    .query_row("SELECT count(*) FROM message WHERE chat_row_id = ?1", [row_id], |r| r.get::<_, i64>(0))
                    .map_err(&e)?;
                continue;
            }
            if let Some(&(first, at)) = first_row.get(&id) {
                joined.insert(first, first);
                joined.insert(row_id, first);
                chats.insert(row_id, id);
                let chat: &mut Chat = &mut chat_list[at];
                chat.archived &= archived.unwrap_or(0) != 0;
                chat.created_ms = chat.created_ms.into_iter().chain(created.filter(|t| *t > 0)).min();
                continue;
            }
            first_row.insert(id.clone(), (row_id, chat_list.len()));
            let kind = chat_kind(&id);
            if kind == ChatKind::Direct {
                direct.insert(id.clone());
            }
            let mut extras = Extras::new();
            if hidden {
                extras.insert("wa.hidden".into(), "1".into());
            }
            if let Some(lid) = lid_of.get(&id) {
                extras.insert(LID.into(), lid.clone());
            }
            chats.insert(row_id, id.clone());
            chat_list.push(Chat {
                participants: if kind == ChatKind::Direct {
                    vec![Participant { contact: id.clone(), ..Default::default() }]
                } else {
                    vec![]
                },
                id,
                kind,
                title: subject.filter(|s| !s.is_empty()),
                created_ms: created.filter(|t| *t > 0),
                archived: archived.unwrap_or(0) != 0,
                extras,
            });
        }
    }
    if let Some(n) = chatferry_core::joined::joined_chats_note(&joined) {
        report.note(n);
    }
    if statuses > 0 {
        report.note(status_note(statuses as u64));
    }
    if skipped_hidden > 0 {
        report.note(format!(
            "{} without messages {} not imported",
            chatferry_core::text_form::counted(skipped_hidden as u64, "hidden chat row", "hidden chat rows"),
            if skipped_hidden == 1 { "was" } else { "were" }
        ));
    }

    // Group members and their roles.
    if db::has_table(conn, "group_participant_user") {
        let mut members: HashMap<String, Vec<Participant>> = HashMap::new();
        let mut stmt = conn
            .prepare("SELECT group_jid_row_id, user_jid_row_id, rank FROM group_participant_user ORDER BY _id")
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?)))
            .map_err(&e)?;
        for row in rows {
            let (group, user, rank) = row.map_err(&e)?;
            let Some(group) = jids.get(&group) else { continue };
            let contact = match jids.get(&user) {
                Some(u) if !u.starts_with('@') && !u.starts_with("0@") => u.clone(),
                // The owner's own membership row has an empty address.
                _ => match owner {
                    Some(o) => o.to_string(),
                    None => continue,
                },
            };
            let role = match rank.unwrap_or(0) {
                1 => Role::Admin,
                2 => Role::Owner,
                _ => Role::Member,
            };
            members.entry(group.clone()).or_default().push(Participant { contact, role, display_name: None });
        }
        for chat in &mut chat_list {
            if let Some(m) = members.remove(&chat.id) {
                chat.participants = m;
            }
        }
    }

    // For the progress bar only: a plain count is read off the B-tree (the
    // placeholder row and rows of deleted chats make it a little high).
    let estimated: i64 = conn.query_row("SELECT count(*) FROM message", [], |r| r.get(0)).map_err(&e)?;
    if db::has_table(conn, "call_log") {
        let calls: i64 = conn.query_row("SELECT count(*) FROM call_log", [], |r| r.get(0)).unwrap_or(0);
        if calls > 0 {
            report.note(format!(
                "{} the call log (the Calls tab, not chat messages) {} not imported",
                chatferry_core::text_form::counted(calls as u64, "entry of", "entries of"),
                if calls == 1 { "was" } else { "were" }
            ));
        }
    }
    Ok(Structure {
        jids,
        chats,
        direct,
        contacts: people.into_values().collect(),
        chat_list,
        estimated: estimated.max(0) as u64,
        joined,
        lid_rows: lids.into_keys().collect(),
    })
}

/// The extras key of a 1:1 chat's hidden-number id (LID), when its person
/// is read under their phone number (`--chat` takes either form; `inspect` shows it).
pub const LID: &str = chatferry_core::pipeline::OTHER_ID;

/// WhatsApp's Status feed (`status@broadcast`; the owner's own `status_me`):
/// stories, not chat history.
pub fn is_status_feed(id: &str) -> bool {
    id == "status@broadcast" || id.ends_with("@status_me")
}

/// The report's line for status updates left out.
pub fn status_note(n: u64) -> String {
    format!(
        "{} left out: WhatsApp's Status feed is not chat history (--opt statuses=keep brings {} in as one \
         broadcast chat)",
        chatferry_core::text_form::counted(n, "status update", "status updates"),
        if n == 1 { "it" } else { "them" }
    )
}

/// The query over every message in (chat, sort order); side tables are
/// read by `Sides`.
const MESSAGE_SQL: &str = "SELECT m._id, m.chat_row_id, m.from_me, m.key_id, m.sender_jid_row_id, m.status,
        m.timestamp, m.message_type, m.text_data, m.starred
    FROM message m
    WHERE m.chat_row_id IN (SELECT _id FROM chat)
    ORDER BY m.chat_row_id, m.sort_id, m._id";

/// The side tables the importer reads, each only for the kinds of message
/// that use it (a table this version of the store lacks is `None`).
struct Sides<'c> {
    media: Option<Side<'c>>,
    location: Option<Side<'c>>,
    quoted: Option<Side<'c>>,
    system: Option<Side<'c>>,
    forwarded: Option<Side<'c>>,
    link: Option<Side<'c>>,
    edit: Option<Side<'c>>,
    call: Option<Side<'c>>,
    revoked: Option<Side<'c>>,
    vcard: Option<Side<'c>>,
    reactions: Option<Side<'c>>,
    targets: Option<Side<'c>>,
    product: Option<Side<'c>>,
    order: Option<Side<'c>>,
    interactive: Option<Side<'c>>,
    /// The album (or other parent) a photo belongs to.
    association: Option<Side<'c>>,
    /// The text search indexed: for an edited message, its text before the edit (§3.5).
    indexed: Option<Side<'c>>,
}

/// The side table, when the message's kind reads it.
fn only<'a, 'c>(side: &'a mut Option<Side<'c>>, wanted: bool) -> Option<&'a mut Side<'c>> {
    side.as_mut().filter(|_| wanted)
}

impl<'c> Sides<'c> {
    fn open(conn: &'c Connection, messages: u64) -> Result<Sides<'c>> {
        let cols = |table: &str, names: &[&str]| -> String {
            names.iter().map(|c| side::col(conn, table, c)).collect::<Vec<_>>().join(", ")
        };
        let open = |table: &str, select: &str| Side::open(conn, table, select, messages);
        Ok(Sides {
            media: open(
                "message_media",
                &cols(
                    "message_media",
                    &[
                        "file_path",
                        "file_size",
                        "mime_type",
                        "media_name",
                        "file_hash",
                        "media_duration",
                        "width",
                        "height",
                        "media_caption",
                    ],
                ),
            )?,
            location: open(
                "message_location",
                &cols("message_location", &["latitude", "longitude", "place_name", "place_address", "url"]),
            )?,
            // chat, from_me and key_id are the prefix of the unique
            // message_key_index: one index probe finds the quoted message.
            quoted: open(
                "message_quoted",
                &format!(
                    "{}, (SELECT q._id FROM message q WHERE q.chat_row_id = t.parent_message_chat_row_id
                        AND q.from_me = t.from_me AND q.key_id = t.key_id LIMIT 1)",
                    cols("message_quoted", &["key_id", "text_data"])
                ),
            )?,
            system: open("message_system", &cols("message_system", &["action_type"]))?,
            forwarded: open("message_forwarded", "1")?,
            link: open("message_text", &cols("message_text", &["url", "page_title", "description"]))?,
            edit: open("message_edit_info", &cols("message_edit_info", &["edited_timestamp"]))?,
            call: open("missed_call_logs", &cols("missed_call_logs", &["video_call"]))?,
            revoked: open("message_revoked", &cols("message_revoked", &["revoked_key_id", "admin_jid_row_id"]))?,
            // The first card (a message may hold several); min(_id) comes from
            // the (message_row_id, vcard) index, ORDER BY would sort each time.
            vcard: Side::with_sql(
                conn,
                "message_vcard",
                "message_row_id",
                "SELECT vcard FROM message_vcard
                 WHERE _id = (SELECT min(_id) FROM message_vcard WHERE message_row_id = ?1)",
                messages,
            )?,
            reactions: if db::has_table(conn, "message_add_on_reaction") {
                Side::with_sql(
                    conn,
                    "message_add_on",
                    "parent_message_row_id",
                    "SELECT a.from_me, a.sender_jid_row_id, r.reaction, COALESCE(r.sender_timestamp, a.timestamp)
                     FROM message_add_on a JOIN message_add_on_reaction r ON r.message_add_on_row_id = a._id
                     WHERE a.parent_message_row_id = ?1 ORDER BY a._id",
                    messages,
                )?
            } else {
                None
            },
            targets: Side::with_sql(
                conn,
                "message_system_chat_participant",
                "message_row_id",
                "SELECT user_jid_row_id FROM message_system_chat_participant WHERE message_row_id = ?1 ORDER BY rowid",
                messages,
            )?,
            product: open(
                "message_product",
                &cols(
                    "message_product",
                    &[
                        "title",
                        "description",
                        "currency_code",
                        "amount_1000",
                        "sale_amount_1000",
                        "product_id",
                        "retailer_id",
                        "url",
                        "body",
                        "footer",
                    ],
                ),
            )?,
            order: open(
                "message_order",
                &cols(
                    "message_order",
                    &[
                        "order_title",
                        "item_count",
                        "currency_code",
                        "total_amount_1000",
                        "order_id",
                        "message",
                        "status",
                    ],
                ),
            )?,
            interactive: Side::with_sql(
                conn,
                "message_ui_elements",
                "message_row_id",
                &format!(
                    "SELECT {} FROM message_ui_elements t WHERE t.message_row_id = ?1 ORDER BY t._id",
                    cols("message_ui_elements", &["element_content", "description", "footer_text", "button_text"])
                ),
                messages,
            )?,
            indexed: if db::has_column(conn, "message_ftsv2_content", "c0content") {
                Side::with_sql(
                    conn,
                    "message_ftsv2_content",
                    "docid",
                    "SELECT c0content FROM message_ftsv2_content WHERE docid = ?1",
                    messages,
                )?
            } else {
                None
            },
            association: Side::with_sql(
                conn,
                "message_association",
                "child_message_row_id",
                "SELECT parent_message_row_id, association_type FROM message_association
                 WHERE child_message_row_id = ?1 ORDER BY _id LIMIT 1",
                messages,
            )?,
        })
    }

    /// Fills `row`'s side columns from the tables its kind uses.
    fn fill(&mut self, row: &mut Row) -> rusqlite::Result<()> {
        let id = row.id;
        let kind = row.kind;
        let business = business::is_business(row.message_type);
        if let Some(s) = only(&mut self.media, kind.has_media() || business) {
            s.get(id, |r| {
                row.file_path = r.get(0)?;
                row.file_size = r.get(1)?;
                row.mime = r.get(2)?;
                row.media_name = r.get(3)?;
                row.file_hash = hash_hex(r.get_ref(4)?);
                row.duration_s = r.get(5)?;
                row.width = r.get(6)?;
                row.height = r.get(7)?;
                row.caption = r.get(8)?;
                Ok(())
            })?;
        }
        // Interactive messages may carry a place too (2026).
        let wants_place = kind == MessageKind::Location || row.message_type == business::INTERACTIVE;
        if let Some(s) = only(&mut self.location, wants_place) {
            s.get(id, |r| {
                row.lat = r.get(0)?;
                row.lon = r.get(1)?;
                row.place = r.get(2)?;
                row.address = r.get(3)?;
                row.loc_url = r.get(4)?;
                Ok(())
            })?;
        }
        if let Some(s) = self.quoted.as_mut() {
            s.get(id, |r| {
                row.quoted_key = r.get(0)?;
                row.quoted_text = r.get(1)?;
                row.quoted_row = r.get(2)?;
                Ok(())
            })?;
        }
        if let Some(s) = only(&mut self.system, kind == MessageKind::System) {
            row.action = s.get(id, |r| r.get(0))?.flatten();
        }
        if let Some(s) = self.forwarded.as_mut() {
            row.forwarded = s.get(id, |_| Ok(()))?.is_some();
        }
        // A link preview makes a text message a link; other kinds keep theirs.
        if let Some(s) = only(&mut self.link, kind == MessageKind::Text) {
            s.get(id, |r| {
                row.url = r.get(0)?;
                row.title = r.get(1)?;
                row.description = r.get(2)?;
                Ok(())
            })?;
        }
        if let Some(s) = self.edit.as_mut() {
            row.edited_ms = s.get(id, |r| r.get(0))?.flatten();
        }
        // Search is not re-indexed on an edit: what it holds is the text before.
        if let Some(s) = only(&mut self.indexed, row.edited_ms.is_some()) {
            row.indexed_text = s.get(id, |r| r.get(0))?.flatten();
        }
        if let Some(s) = only(&mut self.call, kind == MessageKind::Call) {
            row.video_call = s.get(id, |r| r.get(0))?.flatten();
        }
        if let Some(s) = only(&mut self.revoked, kind == MessageKind::Deleted) {
            if let Some((key, admin)) = s.get(id, |r| Ok((r.get(0)?, r.get(1)?)))? {
                (row.revoked_key, row.revoked_by) = (key, admin);
            }
        }
        if let Some(s) = only(&mut self.vcard, kind == MessageKind::Contact) {
            row.vcard = s.get(id, |r| r.get(0))?.flatten();
        }
        if let Some(s) = self.reactions.as_mut() {
            row.reactions =
                s.all(id, |r| Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0) != 0, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        }
        if let Some(s) = only(&mut self.targets, kind == MessageKind::System) {
            row.targets = s.all(id, |r| r.get(0))?;
        }
        if let Some(s) = only(&mut self.product, row.message_type == business::PRODUCT) {
            row.product = s.get(id, |r| {
                Ok(Product {
                    title: r.get(0)?,
                    description: r.get(1)?,
                    currency: r.get(2)?,
                    amount_1000: r.get(3)?,
                    sale_amount_1000: r.get(4)?,
                    product_id: r.get(5)?,
                    retailer_id: r.get(6)?,
                    url: r.get(7)?,
                    body: r.get(8)?,
                    footer: r.get(9)?,
                })
            })?;
        }
        if let Some(s) = only(&mut self.order, row.message_type == business::ORDER) {
            row.order = s.get(id, |r| {
                Ok(Order {
                    title: r.get(0)?,
                    item_count: r.get(1)?,
                    currency: r.get(2)?,
                    total_1000: r.get(3)?,
                    order_id: r.get(4)?,
                    message: r.get(5)?,
                    status: r.get(6)?,
                })
            })?;
        }
        if let Some(s) = only(&mut self.interactive, row.message_type == business::INTERACTIVE) {
            row.interactive = s.all(id, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        }
        if let Some(s) = only(&mut self.association, kind.has_media()) {
            row.parent = s.get(id, |r| Ok((r.get(0)?, r.get(1)?)))?;
        }
        Ok(())
    }
}

/// One message with its side columns, before mapping.
#[derive(Default)]
struct Row {
    id: i64,
    chat_row: i64,
    from_me: bool,
    key_id: String,
    sender_row: Option<i64>,
    status: Option<i64>,
    timestamp: i64,
    message_type: i64,
    /// What `message_type` means (before voice/link refinement).
    kind: MessageKind,
    text: Option<String>,
    starred: bool,
    file_path: Option<String>,
    file_size: Option<i64>,
    mime: Option<String>,
    media_name: Option<String>,
    file_hash: Option<String>,
    duration_s: Option<i64>,
    width: Option<i64>,
    height: Option<i64>,
    caption: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    place: Option<String>,
    address: Option<String>,
    loc_url: Option<String>,
    quoted_key: Option<String>,
    quoted_text: Option<String>,
    quoted_row: Option<i64>,
    action: Option<i64>,
    forwarded: bool,
    vcard: Option<String>,
    url: Option<String>,
    title: Option<String>,
    description: Option<String>,
    edited_ms: Option<i64>,
    video_call: Option<i64>,
    revoked_key: Option<String>,
    /// The admin who deleted it (`jid._id`), for a type-64 delete.
    revoked_by: Option<i64>,
    /// (from me, sender jid row, emoji, time) of each reaction row, oldest first.
    reactions: Vec<(bool, Option<i64>, Option<String>, Option<i64>)>,
    /// The people a system event names (`jid` rows), in order.
    targets: Vec<Option<i64>>,
    product: Option<Product>,
    order: Option<Order>,
    /// (content JSON, description, footer, button text) of each UI element.
    interactive: Vec<(Option<String>, Option<String>, Option<String>, Option<String>)>,
    /// (parent row, association type): the album a photo is part of.
    parent: Option<(Option<i64>, Option<i64>)>,
    poll: Option<PollRows>,
    event: Option<EventRows>,
    /// What search indexed (read for edited messages only).
    indexed_text: Option<String>,
    /// Pin and keep-in-chat add-ons, oldest first.
    pins: Vec<MarkRow>,
    kept: Vec<MarkRow>,
    /// The call of a call entry (type 90).
    call_entry: Option<CallRow>,
    /// The group of an invite card (type 24).
    invite: Option<InviteRow>,
}

/// The message's own columns; the side columns start empty.
fn read_row(r: &rusqlite::Row) -> rusqlite::Result<Row> {
    let message_type = r.get::<_, Option<i64>>(7)?.unwrap_or(0);
    Ok(Row {
        id: r.get(0)?,
        chat_row: r.get(1)?,
        from_me: r.get::<_, Option<i64>>(2)?.unwrap_or(0) != 0,
        key_id: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        sender_row: r.get(4)?,
        status: r.get(5)?,
        timestamp: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
        message_type,
        kind: codes::kind_of(message_type),
        text: r.get(8)?,
        starred: r.get::<_, Option<i64>>(9)?.unwrap_or(0) != 0,
        ..Row::default()
    })
}

/// `file_hash` as hex: base64 text of the SHA-256 as WhatsApp writes it,
/// or (should a version keep it so) the 32 raw bytes.
fn hash_hex(v: rusqlite::types::ValueRef) -> Option<String> {
    match v {
        rusqlite::types::ValueRef::Text(t) => hash_to_hex(std::str::from_utf8(t).ok()?),
        rusqlite::types::ValueRef::Blob(b) if b.len() == 32 => Some(hex::encode(b)),
        _ => None,
    }
}

/// `file_hash` is base64 of the SHA-256; the model keeps hex.
pub fn hash_to_hex(b64: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    (raw.len() == 32).then(|| hex::encode(raw))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// What a message's type says that the report should hear of, once per type.
fn type_note(message_type: i64) -> Option<String> {
    Some(match message_type {
        business::PRODUCT => "a WhatsApp business product (type 23): read as its photo (or a text) with title, \
                              description and price in the body, the fields in extras"
            .into(),
        business::ORDER => "a WhatsApp order or cart (type 44): read as its photo (or a text) with title, item count \
                            and total in the body, the fields in extras"
            .into(),
        business::INTERACTIVE => "a WhatsApp interactive message (type 85): read as a text with its title, \
                                  description and buttons, the content in extras"
            .into(),
        11 => "WhatsApp was still waiting for this message's content (type 11): kept as a notice".into(),
        t if codes::kind_of(t) == MessageKind::Other => {
            format!("unknown WhatsApp message type {t}: kept as an `other` message with its code and text")
        }
        _ => return None,
    })
}

/// Maps one row to the model (reactions and system targets come later).
fn to_message(mut row: Row, lk: &Lookups) -> Option<Message> {
    let chat = lk.chats.get(&row.chat_row)?.clone();
    let business = business::is_business(row.message_type);
    if business {
        row.kind = business::kind(row.file_path.is_some() || row.mime.is_some());
    }
    let mut kind = row.kind;
    if kind == MessageKind::Audio && codes::is_voice_note(row.mime.as_deref(), row.file_path.as_deref()) {
        kind = MessageKind::Voice;
    }
    let has_link = row.url.as_deref().is_some_and(|u| !u.is_empty());
    if kind == MessageKind::Text && has_link {
        kind = MessageKind::Link;
    }
    let sender = if row.from_me {
        lk.owner.clone()
    } else {
        match row.sender_row.filter(|r| *r > 0).and_then(|r| lk.jids.get(&r)) {
            Some(j) => Some(j.clone()),
            None if lk.direct.contains(&chat) => Some(chat.clone()),
            None => None,
        }
    };
    let mut extras = Extras::new();
    extras.insert("wa.key_id".into(), row.key_id);
    if business {
        // Written back as the kind it was read as: the type's own code would
        // need side rows that no writer makes.
        extras.insert("wa.original_type".into(), row.message_type.to_string());
        let body = if let Some(p) = row.product.take() {
            let t = p.text();
            p.keep(&mut extras);
            Some(t)
        } else if let Some(o) = row.order.take() {
            let t = o.text();
            o.keep(&mut extras);
            Some(t)
        } else if row.message_type == business::INTERACTIVE {
            if let Some(json) = row.interactive.iter().find_map(|e| e.0.clone()) {
                extras.insert("wa.ui_elements".into(), json);
            }
            let mut text = business::interactive_text(&row.interactive);
            if let (Some(lat), Some(lon)) = (row.lat, row.lon) {
                let place: Vec<&str> = [&row.place, &row.address].into_iter().flatten().map(String::as_str).collect();
                text.push_str(&format!("\n📍 {} ({lat:.5}, {lon:.5})", place.join(", ")));
            }
            Some(text)
        } else {
            None
        };
        // The body goes where this kind keeps it (a photo's caption, a text).
        match (body, row.text.take()) {
            (Some(b), Some(t)) if !t.is_empty() => row.text = Some(format!("{b}\n{t}")),
            (Some(b), _) => row.text = Some(b),
            (None, t) => row.text = t,
        }
    } else if codes::type_of(kind) != Some(row.message_type) {
        extras.insert("wa.message_type".into(), row.message_type.to_string());
    }
    if let Some((Some(parent), kind_of_link)) = row.parent {
        extras.insert("wa.parent_row".into(), parent.to_string());
        if let Some(k) = kind_of_link {
            extras.insert("wa.association_type".into(), k.to_string());
        }
    }
    let status = codes::status_of(row.status, row.from_me);
    if let Some(s) = row.status {
        if codes::status_code(status, row.from_me) != s {
            extras.insert("wa.status".into(), s.to_string());
        }
    }
    let mut m = Message {
        id: row.id.to_string(),
        chat,
        sender,
        from_me: row.from_me,
        timestamp_ms: row.timestamp,
        kind,
        status,
        starred: row.starred,
        forwarded: row.forwarded,
        view_once: matches!(row.message_type, 42 | 43 | 82),
        ..Default::default()
    };
    if kind.has_media() {
        let mut media = Media {
            mime: non_empty(row.mime),
            size: row.file_size.filter(|s| *s >= 0).map(|s| s as u64),
            file_name: non_empty(row.media_name),
            width: row.width.filter(|w| *w > 0).map(|w| w as u32),
            height: row.height.filter(|h| *h > 0).map(|h| h as u32),
            duration_ms: row.duration_s.filter(|d| *d > 0).map(|d| d as u64 * 1000),
            caption: non_empty(row.caption).or(non_empty(row.text)),
            sha256: row.file_hash,
            ..Default::default()
        };
        if media.mime.is_none() {
            media.mime = row
                .file_path
                .as_deref()
                .and_then(|p| Path::new(p).extension())
                .and_then(|e| e.to_str())
                .and_then(media::mime_for_extension)
                .map(String::from);
        }
        if let Some(p) = &row.file_path {
            extras.insert(super::FILE_PATH.into(), p.clone());
        }
        m.media = Some(media);
    } else {
        match kind {
            MessageKind::Location => {
                m.location = Some(Box::new(Location {
                    latitude: row.lat.unwrap_or(0.0),
                    longitude: row.lon.unwrap_or(0.0),
                    name: non_empty(row.place),
                    address: non_empty(row.address),
                    url: non_empty(row.loc_url),
                    live: row.message_type == 16,
                }));
                m.text = non_empty(row.text);
            }
            MessageKind::Contact => {
                m.contact_card = Some(Box::new(ContactCard { name: non_empty(row.text), vcard: non_empty(row.vcard) }));
            }
            MessageKind::System => {
                let code = row.action.unwrap_or(0);
                let action = match row.message_type {
                    36 if row.action.is_none() => "disappearing_timer",
                    _ => codes::action_of(code),
                };
                if row.message_type == 11 && row.text.is_none() {
                    row.text = Some("Waiting for this message. This may take a while.".into());
                }
                if row.action.is_some() && codes::action_code(action) != code {
                    extras.insert("wa.action_type".into(), code.to_string());
                }
                m.system = Some(Box::new(SystemEvent {
                    action: action.into(),
                    actor: m.sender.clone(),
                    targets: vec![],
                    value: non_empty(row.text),
                }));
            }
            MessageKind::Call => {
                m.call = Some(Box::new(match &row.call_entry {
                    Some(c) => cards::call(c, row.from_me),
                    None => Call {
                        video: row.video_call.unwrap_or(0) != 0,
                        group: false,
                        duration_ms: None,
                        outcome: (row.message_type == 10).then(|| "missed".to_string()),
                    },
                }));
            }
            MessageKind::Link if row.message_type == 24 => {
                // An invite card: a link to join the group, its fields kept
                // so a WhatsApp store gets the card back (§3.10).
                let invite = row.invite.take().unwrap_or_default();
                let url = invite.code.as_deref().filter(|c| !c.is_empty()).map(cards::invite_url);
                for (key, value) in [
                    ("wa.invite_group", invite.group_row.and_then(|r| lk.jids.get(&r).cloned())),
                    ("wa.invite_admin", invite.admin_row.and_then(|r| lk.jids.get(&r).cloned())),
                    ("wa.invite_code", invite.code.clone()),
                    ("wa.invite_expiration", invite.expiration.map(|t| t.to_string())),
                ] {
                    if let Some(v) = value {
                        extras.insert(key.into(), v);
                    }
                }
                m.text = non_empty(row.text).or(url.clone());
                m.link = url.map(|url| {
                    Box::new(Link {
                        url,
                        title: non_empty(invite.group_name),
                        description: Some("WhatsApp group invite".into()),
                    })
                });
            }
            MessageKind::Deleted => {
                if let Some(k) = row.revoked_key {
                    extras.insert("wa.revoked_key_id".into(), k);
                }
                // Deleted by a group admin, not its sender: the admin is the actor.
                if let Some(admin) = row.revoked_by.filter(|a| *a > 0).and_then(|a| lk.jids.get(&a)) {
                    m.system = Some(Box::new(SystemEvent {
                        action: "deleted_by_admin".into(),
                        actor: Some(admin.clone()),
                        targets: m.sender.iter().cloned().collect(),
                        value: None,
                    }));
                }
            }
            MessageKind::Poll if row.poll.is_some() => {
                let rows = row.poll.take().expect("checked");
                m.poll = Some(Box::new(polls_events::poll(rows, non_empty(row.text), &|me, s| person(lk, me, s))));
            }
            MessageKind::Event if row.event.is_some() => {
                let rows = row.event.take().expect("checked");
                m.event = Some(Box::new(polls_events::event(rows, &|me, s| person(lk, me, s))));
                m.text = non_empty(row.text);
            }
            MessageKind::Link => {
                m.text = non_empty(row.text);
                m.link = Some(Box::new(Link {
                    url: row.url.unwrap_or_default(),
                    title: non_empty(row.title),
                    description: non_empty(row.description),
                }));
            }
            _ => m.text = row.text,
        }
    }
    if let Some(key) = row.quoted_key {
        m.reply_to = row.quoted_row.map(|r| r.to_string());
        m.quoted_text = non_empty(row.quoted_text);
        if m.reply_to.is_none() {
            extras.insert("wa.quoted_key_id".into(), key);
        }
    }
    if let Some(t) = row.edited_ms.filter(|t| *t > 0) {
        m.edited = true;
        m.edited_ms = Some(t);
        // Whether search keeps the text verbatim is not known (§3.5): one
        // that differs from the final text only in case or spacing is no earlier text.
        let plain = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let now = m.text.as_deref().or(m.media.as_ref().and_then(|x| x.caption.as_deref())).unwrap_or("");
        if let Some(before) = row.indexed_text.take().filter(|b| !b.trim().is_empty() && plain(b) != plain(now)) {
            m.earlier_texts.push(before);
        }
    }
    m.pinned = cards::latest_mark(&row.pins, &|me, s| person(lk, me, s)).map(Box::new);
    m.kept = cards::latest_mark(&row.kept, &|me, s| person(lk, me, s)).map(Box::new);
    for (from_me, sender_row, emoji, ts) in row.reactions {
        let sender = if from_me { lk.owner.clone() } else { sender_row.and_then(|r| lk.jids.get(&r).cloned()) };
        // One current reaction per person: a later row replaces an earlier
        // one, and an empty reaction means it was taken back.
        m.reactions.retain(|x| !(x.from_me == from_me && x.sender == sender));
        if let Some(emoji) = emoji.filter(|e| !e.is_empty()) {
            m.reactions.push(Reaction { sender, from_me, emoji, timestamp_ms: ts });
        }
    }
    if let Some(sys) = m.system.as_mut() {
        for user in row.targets {
            // The owner's own rows name no one or WhatsApp's placeholder.
            let who = match user.and_then(|u| lk.jids.get(&u)) {
                Some(j) if !j.starts_with('@') && !j.starts_with("0@") => Some(j.clone()),
                _ => lk.owner.clone(),
            };
            sys.targets.extend(who);
        }
    }
    m.extras = extras;
    Some(m)
}

use chatferry_core::media;

/// Who an add-on row (a vote, an answer) is from: the owner's, or its sender's address.
fn person(lk: &Lookups, from_me: bool, sender_row: Option<i64>) -> Option<String> {
    if from_me {
        lk.owner.clone()
    } else {
        sender_row.and_then(|r| lk.jids.get(&r).cloned())
    }
}

/// Reads every message in (chat, sort order), in batches. Types that are
/// not read as their own kind are noted for the report (media files are
/// looked for after, see `open`).
pub fn stream_messages(
    conn: &Connection,
    lk: &Lookups,
    batch_size: usize,
    report: &Mutex<Report>,
    send: &mut dyn FnMut(Vec<Message>) -> bool,
) -> Result<()> {
    let e = db::err_for(conn);
    let mut sides = Sides::open(conn, lk.message_count)?;
    let mut polls_and_events = PollEventSides::open(conn, lk.message_count)?;
    let mut cards = CardSides::open(conn, lk.message_count)?;
    let mut batcher = chatferry_core::producer::Batcher::new(batch_size, report);
    let mut albums = 0u64;
    let mut lid_senders: HashSet<i64> = HashSet::new();
    // One message read into the model and sent; false once the importer was dropped.
    let mut handle = |mut row: Row, batcher: &mut chatferry_core::producer::Batcher<'_>| -> Result<bool> {
        if let Some(s) = row.sender_row.filter(|s| lk.lid_rows.contains(s)) {
            lid_senders.insert(s);
        }
        if row.message_type == business::ALBUM {
            // An album's own row shows nothing: its photos follow as
            // messages of their own, each pointing at it (`wa.parent_row`).
            albums += 1;
            return Ok(true);
        }
        sides.fill(&mut row).map_err(&e)?;
        match row.kind {
            MessageKind::Poll => row.poll = Some(polls_and_events.poll(row.id).map_err(&e)?),
            MessageKind::Event => row.event = polls_and_events.event(row.id).map_err(&e)?,
            _ => {}
        }
        (row.pins, row.kept) = cards.marks(row.id).map_err(&e)?;
        match row.message_type {
            90 => row.call_entry = cards.call(row.id).map_err(&e)?,
            24 => row.invite = cards.invite(row.id).map_err(&e)?,
            _ => {}
        }
        let note = type_note(row.message_type);
        if let Some(m) = to_message(row, lk) {
            if let Some(what) = note {
                batcher.report.note(format!("message {}: {what}", m.id));
            }
            return batcher.push(m, send);
        }
        Ok(true)
    };
    // Every chat but a person's joined ones, in the (chat, sort_id) order an index may serve.
    let every_chat = "WHERE m.chat_row_id IN (SELECT _id FROM chat)";
    let sql = if lk.joined.is_empty() {
        MESSAGE_SQL.to_string()
    } else {
        // A temporary table on this connection, the store untouched.
        conn.execute_batch("CREATE TEMP TABLE cf_joined (chat_row_id INTEGER PRIMARY KEY)").map_err(&e)?;
        let mut ins = conn.prepare("INSERT INTO temp.cf_joined VALUES (?1)").map_err(&e)?;
        for row in lk.joined.keys() {
            ins.execute([row]).map_err(&e)?;
        }
        MESSAGE_SQL.replace(
            every_chat,
            &format!("{every_chat} AND m.chat_row_id NOT IN (SELECT chat_row_id FROM temp.cf_joined)"),
        )
    };
    let mut stmt = conn.prepare(&sql).map_err(&e)?;
    let mut rows = stmt.query([]).map_err(&e)?;
    while let Some(r) = rows.next().map_err(&e)? {
        if !handle(read_row(r).map_err(&e)?, &mut batcher)? {
            return Ok(()); // the importer was dropped
        }
    }
    // Then each person's chats as one: each chat in its own order, merged
    // by time (their `sort_id` runs are each their own).
    let one_chat = MESSAGE_SQL.replace(every_chat, "WHERE m.chat_row_id = ?1");
    let (went_on, twice) = joined::read_people(
        conn,
        &one_chat,
        &lk.joined,
        read_row,
        |a, b| a.timestamp.cmp(&b.timestamp),
        // By (from me, key id), the app's own key.
        |row, seen| seen.first(row.from_me, &row.key_id),
        |row| handle(row, &mut batcher),
    )?;
    if !went_on {
        return Ok(()); // the importer was dropped
    }
    if let Some(n) = chatferry_core::joined::read_once_note(twice) {
        batcher.report.note(n);
    }
    if let Some(n) = chatferry_core::joined::lid_senders_note(lid_senders.len()) {
        batcher.report.note(n);
    }
    if albums > 0 {
        batcher.report.note(format!(
            "{} (type 99: a header with no content of its own) {} not imported as messages; their photos are, \
             each with `wa.parent_row` naming its album",
            chatferry_core::text_form::counted(albums, "album row", "album rows"),
            if albums == 1 { "was" } else { "were" }
        ));
    }
    batcher.finish(send)
}
