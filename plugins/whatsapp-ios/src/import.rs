//! Import from ChatStorage.sqlite (Core Data): chats, groups and members,
//! push names, messages of every type, media items, replies, reactions,
//! system events, deleted messages. Apple-epoch REAL seconds become UTC
//! milliseconds, rounded (dates before 2001 are negative).

use crate::codes;
use crate::identities::Identities;
use crate::proto;
use crate::source::{MediaRoot, Source};
use chatferry_core::media::{is_escape, resolve_inside, Resolve};
use chatferry_core::producer::{Reader, StreamedImporter};
use chatferry_core::sqlite::{self as db, col_or_null, err_for};
use chatferry_core::text_form::counted;
use chatferry_core::time::apple_seconds_to_unix_ms;
use chatferry_core::*;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub const SOURCE: &str = "whatsapp-ios";

/// The tables beside ZWAMESSAGE and ZWACHATSESSION that the reader uses;
/// a store without one reads it as empty.
const SIDE_TABLES: [&str; 5] =
    ["ZWAGROUPINFO", "ZWAGROUPMEMBER", "ZWAMEDIAITEM", "ZWAMESSAGEINFO", "ZWAPROFILEPUSHNAME"];

struct Lookups {
    chats: HashMap<i64, (String, ChatKind)>,
    /// A session → the first of the sessions it is joined with (one
    /// person's sessions under their phone number and their LID).
    joined: HashMap<i64, i64>,
    ids: Identities,
    /// A kept status session's person (`--opt statuses=keep`), by session.
    posters: HashMap<i64, String>,
    owner: Option<String>,
    media: MediaRoot,
}

/// Opens the store: chats, members and names now; messages stream from a
/// reader thread.
pub fn open(input: &std::path::Path, options: &Options) -> Result<StreamedImporter> {
    let mut source = Source::resolve(input, options)?;
    // Outlives the reader: media are copied from it after the last message is read.
    let decrypted = source.decrypted.take();
    let source = Arc::new(source);
    let conn = db::open_read_only(&source.chat_storage)?;
    for t in ["ZWAMESSAGE", "ZWACHATSESSION"] {
        if !db::has_table(&conn, t) {
            return Err(Error::bad_input(format!(
                "{} is an SQLite database but not WhatsApp's ChatStorage.sqlite (no {t} table)",
                source.chat_storage.display()
            )));
        }
    }
    // Without these a message has no chat or no time: nothing to read.
    for (t, c) in [("ZWAMESSAGE", "ZCHATSESSION"), ("ZWAMESSAGE", "ZMESSAGEDATE"), ("ZWACHATSESSION", "ZCONTACTJID")] {
        if !db::has_column(&conn, t, c) {
            return Err(Error::unsupported(format!(
                "{}: its {t} table has no {c} column, so its messages cannot be placed; this is not a ChatStorage \
                 layout chatferry knows (please report the WhatsApp version that wrote it)",
                source.chat_storage.display()
            )));
        }
    }
    let owner = chatferry_core::phone::owner_jid(options.get("owner"), options.get("region"))?;
    let keep_statuses = match options.get("statuses") {
        None | Some("leave-out") => false,
        Some("keep") => true,
        Some(other) => {
            return Err(Error::usage(format!("--opt statuses={other}: give statuses=keep or statuses=leave-out")))
        }
    };
    let e = err_for(&conn);
    let ids = Identities::read(&conn, source.lid_db.as_deref())?;
    let mut report = Report::new();
    for note in &source.notes {
        report.note(note.clone());
    }
    let absent: Vec<&str> = SIDE_TABLES.iter().copied().filter(|t| !db::has_table(&conn, t)).collect();
    if !absent.is_empty() {
        report.note(format!(
            "this ChatStorage.sqlite has no {} table{}: read as empty (a minimal or partial store; what those tables \
             hold, such as group members, media details or receipts, is not in it)",
            absent.join(", "),
            if absent.len() == 1 { "" } else { "s" }
        ));
    }
    if matches!(source.media, MediaRoot::None) {
        report.note("no Message folder beside ChatStorage.sqlite: media files are marked missing");
    }

    // People: push names, 1:1 chat partners, group members.
    let mut people: BTreeMap<String, Contact> = BTreeMap::new();
    fn person<'a>(people: &'a mut BTreeMap<String, Contact>, jid: &str) -> Option<&'a mut Contact> {
        if !jid.ends_with("@s.whatsapp.net") && !jid.ends_with("@lid") {
            return None;
        }
        Some(people.entry(jid.to_string()).or_insert_with(|| Contact {
            id: jid.to_string(),
            phone: chatferry_core::phone::phone_of_jid(jid),
            ..Default::default()
        }))
    }
    if db::has_table(&conn, "ZWAPROFILEPUSHNAME") {
        let mut st = conn.prepare("SELECT ZJID, ZPUSHNAME FROM ZWAPROFILEPUSHNAME ORDER BY Z_PK").map_err(&e)?;
        for row in
            st.query_map([], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?))).map_err(&e)?
        {
            if let (Some(j), name) = row.map_err(&e)? {
                if let Some(c) = person(&mut people, ids.person(&j)) {
                    c.nickname = name.filter(|n| !n.is_empty());
                }
            }
        }
    }
    let mut chats = HashMap::new();
    let mut chat_list = Vec::new();
    let mut first_session: HashMap<String, (i64, usize)> = HashMap::new();
    let mut joined: HashMap<i64, i64> = HashMap::new();
    let (mut statuses, mut posters) = (0i64, HashMap::new());
    let sql = format!(
        "SELECT c.Z_PK, c.ZCONTACTJID, c.ZPARTNERNAME, {st}, {ar}, {hidden}, {removed}, {created}, {creator}
             FROM ZWACHATSESSION c {gi} ORDER BY c.Z_PK",
        st = col_or_null(&conn, "ZWACHATSESSION", "c", "ZSESSIONTYPE"),
        ar = col_or_null(&conn, "ZWACHATSESSION", "c", "ZARCHIVED"),
        hidden = col_or_null(&conn, "ZWACHATSESSION", "c", "ZHIDDEN"),
        removed = col_or_null(&conn, "ZWACHATSESSION", "c", "ZREMOVED"),
        created = col_or_null(&conn, "ZWAGROUPINFO", "g", "ZCREATIONDATE"),
        creator = col_or_null(&conn, "ZWAGROUPINFO", "g", "ZCREATORJID"),
        gi =
            if db::has_table(&conn, "ZWAGROUPINFO") { "LEFT JOIN ZWAGROUPINFO g ON g.Z_PK = c.ZGROUPINFO" } else { "" },
    );
    let mut creators: HashMap<String, String> = HashMap::new();
    {
        let mut st = conn.prepare(&sql).map_err(&e)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<f64>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            })
            .map_err(&e)?;
        for row in rows {
            let (pk, jid, partner, session_type, archived, hidden, removed, created, creator) = row.map_err(&e)?;
            let jid = jid.unwrap_or_else(|| format!("chat-{pk}@unknown"));
            if let Some(poster) = status_poster(&jid) {
                if !keep_statuses {
                    statuses += conn
                        .query_row("SELECT count(*) FROM ZWAMESSAGE WHERE ZCHATSESSION = ?1", [pk], |r| {
                            r.get::<_, i64>(0)
                        })
                        .map_err(&e)?;
                    continue;
                }
                // Every person's status session, one broadcast chat.
                if let Some(p) = poster {
                    posters.insert(pk, ids.person(&p).to_string());
                }
                if !chat_list.iter().any(|c: &Chat| c.id == STATUS_FEED) {
                    chat_list.push(Chat {
                        id: STATUS_FEED.into(),
                        kind: ChatKind::Broadcast,
                        title: Some("Status".into()),
                        ..Default::default()
                    });
                }
                chats.insert(pk, (STATUS_FEED.to_string(), ChatKind::Broadcast));
                continue;
            }
            let kind = codes::chat_kind(session_type.unwrap_or(-1), &jid);
            // A person's session under their LID and under their number are one chat.
            let jid = if kind == ChatKind::Direct { ids.person(&jid).to_string() } else { jid };
            if let Some(&(first, at)) = first_session.get(&jid) {
                joined.insert(first, first);
                joined.insert(pk, first);
                chats.insert(pk, (jid.clone(), kind));
                let chat: &mut Chat = &mut chat_list[at];
                chat.archived &= archived.unwrap_or(0) != 0;
                continue;
            }
            first_session.insert(jid.clone(), (pk, chat_list.len()));
            let mut extras = Extras::new();
            if let Some(lid) = ids.lid_of(&jid).filter(|_| kind == ChatKind::Direct) {
                extras.insert(LID_EXTRA.into(), lid.to_string());
            }
            for (k, v) in [("wai.hidden", hidden), ("wai.removed", removed)] {
                if let Some(v) = v.filter(|v| *v != 0) {
                    extras.insert(k.into(), v.to_string());
                }
            }
            if let Some(t) = session_type {
                if codes::session_type(kind, &jid) != t {
                    extras.insert("wai.session_type".into(), t.to_string());
                }
            }
            let title = partner.clone().filter(|p| !p.is_empty());
            if kind == ChatKind::Direct {
                if let Some(c) = person(&mut people, &jid) {
                    c.name = c.name.take().or(title.clone());
                }
            }
            if let Some(cr) = creator.filter(|c| !c.is_empty()) {
                creators.insert(jid.clone(), ids.person(&cr).to_string());
            }
            chats.insert(pk, (jid.clone(), kind));
            chat_list.push(Chat {
                participants: if kind == ChatKind::Direct {
                    vec![Participant { contact: jid.clone(), ..Default::default() }]
                } else {
                    vec![]
                },
                title: if kind == ChatKind::Direct { None } else { title },
                id: jid,
                kind,
                created_ms: created.map(apple_seconds_to_unix_ms),
                archived: archived.unwrap_or(0) != 0,
                extras,
            });
        }
    }
    if db::has_table(&conn, "ZWAGROUPMEMBER") {
        let sql = format!(
            "SELECT ZCHATSESSION, ZMEMBERJID, {name}, {first}, {admin}, {active} FROM ZWAGROUPMEMBER m ORDER BY Z_PK",
            name = col_or_null(&conn, "ZWAGROUPMEMBER", "m", "ZCONTACTNAME"),
            first = col_or_null(&conn, "ZWAGROUPMEMBER", "m", "ZFIRSTNAME"),
            admin = col_or_null(&conn, "ZWAGROUPMEMBER", "m", "ZISADMIN"),
            active = col_or_null(&conn, "ZWAGROUPMEMBER", "m", "ZISACTIVE"),
        );
        let mut st = conn.prepare(&sql).map_err(&e)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })
            .map_err(&e)?;
        let mut members: HashMap<String, Vec<Participant>> = HashMap::new();
        for row in rows {
            let (chat, jid, name, first, admin, active) = row.map_err(&e)?;
            let (Some(chat), Some(jid)) = (chat.and_then(|c| chats.get(&c)), jid) else { continue };
            let jid = ids.person(&jid).to_string();
            if let Some(c) = person(&mut people, &jid) {
                c.name = c.name.take().or(name.filter(|n| !n.is_empty())).or(first.filter(|n| !n.is_empty()));
            }
            if active == Some(0) {
                continue; // left the group; their messages keep them as senders
            }
            let role = if creators.get(&chat.0) == Some(&jid) {
                Role::Owner
            } else if admin.unwrap_or(0) != 0 {
                Role::Admin
            } else {
                Role::Member
            };
            members.entry(chat.0.clone()).or_default().push(Participant { contact: jid, role, display_name: None });
        }
        for chat in &mut chat_list {
            if let Some(m) = members.remove(&chat.id) {
                chat.participants = m;
            }
        }
    }
    if statuses > 0 {
        report.note(format!(
            "{} left out: WhatsApp's Status feed is not chat history (--opt statuses=keep brings {} in as one \
             broadcast chat)",
            chatferry_core::text_form::counted(statuses as u64, "status update", "status updates"),
            if statuses == 1 { "it" } else { "them" }
        ));
    }
    let estimated: i64 = conn.query_row("SELECT count(*) FROM ZWAMESSAGE", [], |r| r.get(0)).map_err(&e)?;
    let mut extras = Extras::new();
    if let Some(b) = &source.backup {
        extras.insert("wai.backup".into(), b.display().to_string());
    }
    let header = Header {
        source_adapter: SOURCE.into(),
        model_version: MODEL_VERSION.into(),
        owner: owner.as_ref().map(|id| Contact {
            id: id.clone(),
            phone: chatferry_core::phone::phone_of_jid(id),
            ..Default::default()
        }),
        estimated_messages: Some(estimated.max(0) as u64),
        extras,
    };
    if let Some(n) = chatferry_core::joined::joined_chats_note(&joined) {
        report.note(n);
    }
    let lookups = Lookups { chats, joined, ids, posters, owner, media: source.media.clone() };
    let reader: Reader = Box::new(move |size, report, send| {
        let conn = db::open_read_only(&source.chat_storage)?;
        stream(&conn, &lookups, size, report, send)
    });
    let contacts = people.into_values().collect();
    Ok(StreamedImporter::new("whatsapp-ios reader", header, contacts, chat_list, report, reader).keeping(decrypted))
}

/// A 1:1 chat's hidden-number id, when its person is read under their
/// phone number (`--chat` takes either form); the same key as whatsapp-android's.
const LID_EXTRA: &str = chatferry_core::pipeline::OTHER_ID;

/// The Status feed's chat when kept: WhatsApp's own address for it.
const STATUS_FEED: &str = "status@broadcast";

/// Whether a session is a status session (one per person:
/// `<number>@status`, `<lid>@lid.status`; or the feed itself), and whose
/// statuses it holds when it says.
fn status_poster(jid: &str) -> Option<Option<String>> {
    if jid == STATUS_FEED {
        return Some(None);
    }
    if let Some(number) = jid.strip_suffix("@status") {
        return Some(Some(format!("{number}@s.whatsapp.net")));
    }
    jid.strip_suffix(".status").map(|lid| Some(lid.to_string()))
}

/// Stanza id → Z_PK for every message some reply quotes (two scans, memory
/// proportional to the number of replies, not of messages).
fn quoted_rows(conn: &Connection) -> Result<HashMap<String, i64>> {
    let e = err_for(conn);
    let mut wanted: HashSet<String> = HashSet::new();
    if db::has_column(conn, "ZWAMEDIAITEM", "ZMETADATA") {
        let mut st = conn.prepare("SELECT ZMETADATA FROM ZWAMEDIAITEM WHERE ZMETADATA IS NOT NULL").map_err(&e)?;
        let mut rows = st.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            if let Ok(blob) = r.get::<_, Vec<u8>>(0) {
                if let Some((s, _)) = proto::quote_of(&blob) {
                    wanted.insert(s);
                }
            }
        }
    }
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    if !db::has_column(conn, "ZWAMESSAGE", "ZSTANZAID") {
        return Ok(out);
    }
    let mut st = conn.prepare("SELECT Z_PK, ZSTANZAID FROM ZWAMESSAGE WHERE ZSTANZAID IS NOT NULL").map_err(&e)?;
    let mut rows = st.query([]).map_err(&e)?;
    while let Some(r) = rows.next().map_err(&e)? {
        let stanza: String = r.get(1).map_err(&e)?;
        if wanted.contains(&stanza) {
            out.insert(stanza, r.get(0).map_err(&e)?);
        }
    }
    Ok(out)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn stream(
    conn: &Connection,
    lk: &Lookups,
    batch_size: usize,
    report: &Mutex<Report>,
    send: &mut chatferry_core::producer::Send,
) -> Result<()> {
    let e = err_for(conn);
    let quoted = quoted_rows(conn)?;
    let c = |t: &str, a: &str, col: &str| col_or_null(conn, t, a, col);
    // A side table is joined when the store has it and the column pointing
    // at it; its columns are NULL otherwise.
    let joins = |link: &str, table: &str| db::has_column(conn, "ZWAMESSAGE", link) && db::has_table(conn, table);
    let (members, media, info) = (
        joins("ZGROUPMEMBER", "ZWAGROUPMEMBER"),
        joins("ZMEDIAITEM", "ZWAMEDIAITEM"),
        joins("ZMESSAGEINFO", "ZWAMESSAGEINFO"),
    );
    let side = |joined: bool, t: &str, a: &str, col: &str| if joined { c(t, a, col) } else { "NULL".into() };
    let sort = if db::has_column(conn, "ZWAMESSAGE", "ZSORT") { "m.ZSORT" } else { "m.ZMESSAGEDATE" };
    let sql = format!(
        "SELECT m.Z_PK, m.ZCHATSESSION, {from_me}, m.ZMESSAGEDATE, {text}, {mtype}, {status}, {stanza},
                {starred}, {flags}, {event}, {pushname}, {member}, {from_jid},
                {path}, {title}, {size}, {duration}, {lat}, {lon}, {vname}, {vstring}, {meta},
                {receipts}
         FROM ZWAMESSAGE m
         {member_join}
         {media_join}
         {info_join}
         {{joined}}
         ORDER BY {{order}}, m.Z_PK",
        from_me = c("ZWAMESSAGE", "m", "ZISFROMME"),
        text = c("ZWAMESSAGE", "m", "ZTEXT"),
        mtype = c("ZWAMESSAGE", "m", "ZMESSAGETYPE"),
        stanza = c("ZWAMESSAGE", "m", "ZSTANZAID"),
        from_jid = c("ZWAMESSAGE", "m", "ZFROMJID"),
        member = side(members, "ZWAGROUPMEMBER", "g", "ZMEMBERJID"),
        path = side(media, "ZWAMEDIAITEM", "i", "ZMEDIALOCALPATH"),
        title = side(media, "ZWAMEDIAITEM", "i", "ZTITLE"),
        size = side(media, "ZWAMEDIAITEM", "i", "ZFILESIZE"),
        duration = side(media, "ZWAMEDIAITEM", "i", "ZMOVIEDURATION"),
        lat = side(media, "ZWAMEDIAITEM", "i", "ZLATITUDE"),
        lon = side(media, "ZWAMEDIAITEM", "i", "ZLONGITUDE"),
        member_join = if members { "LEFT JOIN ZWAGROUPMEMBER g ON g.Z_PK = m.ZGROUPMEMBER" } else { "" },
        media_join = if media { "LEFT JOIN ZWAMEDIAITEM i ON i.Z_PK = m.ZMEDIAITEM" } else { "" },
        status = c("ZWAMESSAGE", "m", "ZMESSAGESTATUS"),
        starred = c("ZWAMESSAGE", "m", "ZSTARRED"),
        flags = c("ZWAMESSAGE", "m", "ZFLAGS"),
        event = c("ZWAMESSAGE", "m", "ZGROUPEVENTTYPE"),
        pushname = c("ZWAMESSAGE", "m", "ZPUSHNAME"),
        vname = side(media, "ZWAMEDIAITEM", "i", "ZVCARDNAME"),
        vstring = side(media, "ZWAMEDIAITEM", "i", "ZVCARDSTRING"),
        meta = side(media, "ZWAMEDIAITEM", "i", "ZMETADATA"),
        receipts = side(info, "ZWAMESSAGEINFO", "r", "ZRECEIPTINFO"),
        info_join = if info { "LEFT JOIN ZWAMESSAGEINFO r ON r.Z_PK = m.ZMESSAGEINFO" } else { "" },
    );
    if !lk.joined.is_empty() {
        // On this read-only connection's own temporary schema: the store is untouched.
        conn.execute_batch("CREATE TEMP TABLE cf_joined (session INTEGER PRIMARY KEY, key INTEGER NOT NULL)")
            .map_err(&e)?;
        let mut ins = conn.prepare("INSERT INTO temp.cf_joined VALUES (?1, ?2)").map_err(&e)?;
        for (session, key) in &lk.joined {
            ins.execute([session, key]).map_err(&e)?;
        }
    }
    // Every session but a person's joined ones, in the order of the app's
    // (ZCHATSESSION, ZSORT) index.
    let every_session = "WHERE m.ZCHATSESSION IN (SELECT Z_PK FROM ZWACHATSESSION)";
    let first = if lk.joined.is_empty() {
        sql.replace("{joined}", every_session)
    } else {
        sql.replace(
            "{joined}",
            &format!("{every_session} AND m.ZCHATSESSION NOT IN (SELECT session FROM temp.cf_joined)"),
        )
    }
    .replace("{order}", &format!("m.ZCHATSESSION, {sort}"));
    let one_session = sql.replace("{joined}", "WHERE m.ZCHATSESSION = ?1").replace("{order}", sort);
    let mut batcher = chatferry_core::producer::Batcher::new(batch_size, report);
    let mut lid_senders: HashSet<String> = HashSet::new();
    // (type, what the report says of it) → messages.
    let mut type_notes: std::collections::BTreeMap<(i64, &str), u64> = Default::default();
    // One message read into the model and sent; false once the importer was dropped.
    let mut handle = |raw: RawRow, batcher: &mut chatferry_core::producer::Batcher<'_>| -> Result<bool> {
        let RawRow {
            pk,
            session,
            from_me,
            date,
            text,
            mtype,
            status,
            stanza,
            starred,
            flags,
            event,
            member,
            from_jid,
            local_path,
            title,
            size,
            duration,
            lat,
            lon,
            vname,
            vstring,
            meta,
            receipts,
        } = raw;
        let Some((chat, chat_kind)) = session.and_then(|c| lk.chats.get(&c)).cloned() else {
            return Ok(true);
        };
        let mut kind = codes::kind_of(mtype);
        if let Some(what) = codes::type_note(mtype) {
            *type_notes.entry((mtype, what)).or_insert(0) += 1;
        }
        let sender = if from_me {
            lk.owner.clone()
        } else if chat_kind == ChatKind::Group {
            non_empty(member).map(|j| {
                if lk.ids.is_lid_paired(&j) && !lid_senders.contains(&j) {
                    lid_senders.insert(j.clone());
                }
                lk.ids.person(&j).to_string()
            })
        } else if let Some(poster) = session.and_then(|c| lk.posters.get(&c)) {
            Some(poster.clone())
        } else {
            Some(non_empty(from_jid).map_or_else(|| chat.clone(), |j| lk.ids.person(&j).to_string()))
        };
        let mut extras = Extras::new();
        if let Some(s) = &stanza {
            extras.insert("wai.stanza_id".into(), s.clone());
        }
        // Kept where they differ from what the iPhone writer writes without
        // them (status 5 sent, 0 received; flags 0): most messages carry none.
        let status = status.filter(|s| *s != if from_me { 5 } else { 0 });
        for (k, v) in [("wai.status", status), ("wai.flags", flags.filter(|f| *f != 0)), ("wai.group_event", event)] {
            if let Some(v) = v {
                extras.insert(k.into(), v.to_string());
            }
        }
        if codes::type_of(kind) != Some(mtype) {
            extras.insert("wai.message_type".into(), mtype.to_string());
        }
        let id = pk.to_string();
        let mut m = Message {
            id: id.clone(),
            chat,
            sender,
            from_me,
            timestamp_ms: apple_seconds_to_unix_ms(date),
            kind,
            status: if from_me { Status::Sent } else { Status::Received },
            starred,
            view_once: codes::is_view_once(mtype),
            ..Default::default()
        };
        if kind.has_media() {
            let mime = non_empty(vstring.clone()).filter(|v| v.contains('/') && !v.contains('\n'));
            let mut media = Media {
                mime,
                size: size.filter(|s| *s >= 0).map(|s| s as u64),
                duration_ms: duration.filter(|d| *d > 0.0).map(|d| (d * 1000.0).round() as u64),
                ..Default::default()
            };
            if kind == MessageKind::Document {
                media.file_name = non_empty(title.clone());
                media.caption = non_empty(text.clone());
            } else {
                media.caption = non_empty(title.clone()).or(non_empty(text.clone()));
            }
            match local_path.as_deref().filter(|p| !p.is_empty()) {
                None => media.missing = true,
                Some(p) => {
                    extras.insert("wai.local_path".into(), p.to_string());
                    locate(&lk.media, &id, p, &mut media, &mut batcher.report);
                }
            }
            m.media = Some(media);
        } else {
            match kind {
                MessageKind::Location => {
                    // Place name, and the address on a second line [U].
                    let (name, address) = match title.as_deref().map(|t| t.split_once('\n')) {
                        Some(Some((n, a))) => (Some(n.to_string()), Some(a.to_string())),
                        _ => (title.clone(), None),
                    };
                    m.location = Some(Box::new(Location {
                        latitude: lat.unwrap_or(0.0),
                        longitude: lon.unwrap_or(0.0),
                        name: non_empty(name),
                        address: non_empty(address),
                        ..Default::default()
                    }))
                }
                MessageKind::Contact => {
                    m.contact_card = Some(Box::new(ContactCard { name: non_empty(vname), vcard: non_empty(vstring) }))
                }
                MessageKind::System => {
                    m.system = Some(Box::new(SystemEvent {
                        action: if text.is_some() && chat_kind == ChatKind::Group {
                            "title_changed".into()
                        } else {
                            "other".into()
                        },
                        actor: m.sender.clone(),
                        targets: vec![],
                        value: non_empty(text.clone()),
                    }))
                }
                MessageKind::Call if mtype == 59 => {
                    // A call entry: its length in the metadata, 0 when no one answered (§3.9) [U].
                    let seconds = meta.as_deref().and_then(proto::call_seconds);
                    m.call = Some(Box::new(Call {
                        duration_ms: seconds.filter(|s| *s > 0).map(|s| s * 1000),
                        outcome: seconds.map(|s| if s > 0 { "answered" } else { "missed" }.to_string()),
                        ..Default::default()
                    }))
                }
                MessageKind::Call => {
                    // A missed call; its kind only in the event code (voice 1/45/21, video 4/46/22 [S: one reader]).
                    let video = matches!(event, Some(4 | 46 | 22));
                    m.call = Some(Box::new(Call { outcome: Some("missed".into()), video, ..Default::default() }))
                }
                MessageKind::Deleted => {
                    // Deleted by a group admin: the admin's address is in the card column (§3.8) [S].
                    let by = non_empty(vstring.clone()).filter(|v| v.contains('@') && !v.contains(['/', '\n', ' ']));
                    if let Some(admin) =
                        by.map(|j| lk.ids.person(&j).to_string()).filter(|a| Some(a) != m.sender.as_ref())
                    {
                        m.system = Some(Box::new(SystemEvent {
                            action: "deleted_by_admin".into(),
                            actor: Some(admin),
                            targets: m.sender.iter().cloned().collect(),
                            value: None,
                        }));
                    }
                }
                MessageKind::Link => {
                    m.text = text.clone();
                    let url = text
                        .as_deref()
                        .and_then(|t| {
                            t.split_whitespace().find(|w| w.starts_with("http://") || w.starts_with("https://"))
                        })
                        .map(String::from);
                    m.link = url.map(|url| Box::new(Link { url, title: non_empty(title.clone()), description: None }));
                }
                _ => m.text = text.clone(),
            }
        }
        if let Some(blob) = meta.filter(|b| !b.is_empty()) {
            if let Some((q, quoted_text)) = proto::quote_of(&blob) {
                m.reply_to = quoted.get(&q).map(|pk| pk.to_string());
                m.quoted_text = quoted_text;
                if m.reply_to.is_none() {
                    extras.insert("wai.quoted_stanza".into(), q);
                }
            }
            extras.insert("wai.metadata".into(), hex::encode(&blob));
        }
        if let Some(blob) = receipts.filter(|b| !b.is_empty()) {
            m.reactions.extend(proto::reactions_of(&blob, lk.owner.as_ref()));
            if kind == MessageKind::Poll {
                m.poll = proto::poll_of(&blob, (from_me, m.sender.as_ref()), &|j| lk.ids.person(j).to_string()).map(
                    |mut p| {
                        if p.question.is_empty() {
                            p.question = m.text.clone().unwrap_or_default();
                        }
                        Box::new(p)
                    },
                );
            }
            extras.insert("wai.receipt_info".into(), hex::encode(&blob));
        }
        if kind == MessageKind::Poll && m.poll.is_none() {
            // No poll where public readers find one: kept as what it was.
            kind = MessageKind::Other;
            m.kind = kind;
            let what = "a poll whose question and options are not where public readers find them";
            *type_notes.entry((mtype, what)).or_insert(0) += 1;
        }
        m.extras = extras;
        batcher.push(m, send)
    };
    let mut st = conn.prepare(&first).map_err(&e)?;
    let mut rows = st.query([]).map_err(&e)?;
    while let Some(r) = rows.next().map_err(&e)? {
        if !handle(RawRow::read(r).map_err(&e)?, &mut batcher)? {
            return Ok(()); // the importer was dropped
        }
    }
    // Then each person's sessions as one: each in its own ZSORT order,
    // merged by date (their ZSORT runs are each their own, §6).
    let (went_on, twice) = chatferry_core::joined::read_people(
        conn,
        &one_session,
        &lk.joined,
        RawRow::read,
        |a, b| a.date.total_cmp(&b.date),
        // By (from me, stanza id); a row without one is read.
        |raw, seen| raw.stanza.as_deref().is_none_or(|id| seen.first(raw.from_me, id)),
        |raw| handle(raw, &mut batcher),
    )?;
    if !went_on {
        return Ok(()); // the importer was dropped
    }
    if let Some(n) = chatferry_core::joined::lid_senders_note(lid_senders.len()) {
        batcher.report.note(n);
    }
    if let Some(n) = chatferry_core::joined::read_once_note(twice) {
        batcher.report.note(n);
    }
    for ((mtype, what), n) in type_notes {
        batcher.report.note(format!(
            "WhatsApp iPhone message type {mtype} ({what}): {} as `other` with {} code and text",
            counted(n, "message kept", "messages kept"),
            if n == 1 { "its" } else { "their" }
        ));
    }
    batcher.finish(send)
}

/// One message row of the query, before mapping.
struct RawRow {
    pk: i64,
    session: Option<i64>,
    from_me: bool,
    /// Apple seconds.
    date: f64,
    text: Option<String>,
    mtype: i64,
    status: Option<i64>,
    stanza: Option<String>,
    starred: bool,
    flags: Option<i64>,
    event: Option<i64>,
    member: Option<String>,
    from_jid: Option<String>,
    local_path: Option<String>,
    title: Option<String>,
    size: Option<i64>,
    duration: Option<f64>,
    lat: Option<f64>,
    lon: Option<f64>,
    vname: Option<String>,
    vstring: Option<String>,
    meta: Option<Vec<u8>>,
    receipts: Option<Vec<u8>>,
}

impl RawRow {
    fn read(r: &rusqlite::Row) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            pk: r.get(0)?,
            session: r.get(1)?,
            from_me: r.get::<_, Option<i64>>(2)?.unwrap_or(0) != 0,
            date: r.get::<_, Option<f64>>(3)?.unwrap_or(0.0),
            text: r.get(4)?,
            mtype: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
            status: r.get(6)?,
            stanza: r.get(7)?,
            starred: r.get::<_, Option<i64>>(8)?.unwrap_or(0) != 0,
            flags: r.get(9)?,
            event: r.get(10)?,
            // 11: the push name, not read.
            member: r.get(12)?,
            from_jid: r.get(13)?,
            local_path: r.get(14)?,
            title: r.get(15)?,
            size: r.get(16)?,
            duration: r.get(17)?,
            lat: r.get(18)?,
            lon: r.get(19)?,
            vname: r.get(20)?,
            vstring: r.get(21)?,
            meta: r.get(22)?,
            receipts: r.get(23)?,
        })
    }
}

fn locate(root: &MediaRoot, id: &str, local_path: &str, media: &mut Media, report: &mut Report) {
    let Some((dir, rel)) = root.locate(local_path) else {
        media.missing = true;
        return;
    };
    match resolve_inside(&dir, &rel) {
        Ok(Resolve::Found(p)) => media.path = Some(p.to_string_lossy().into_owned()),
        Ok(Resolve::Missing(_)) => media.missing = true,
        Err(err) => {
            media.missing = true;
            report.media.refused += 1;
            if is_escape(&err) {
                report.note(format!("message {id}: media path {local_path:?} leads outside the media folder; refused"));
            } else {
                report.note(format!("message {id}: media {local_path:?}: {}", err.message));
            }
        }
    }
}
