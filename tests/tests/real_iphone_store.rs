//! The one public ChatStorage.sqlite the real WhatsApp for iPhone wrote
//! (iLEAPP's test image, iOS 15): imported against iLEAPP's own output,
//! and used as the template a conversion writes into, with every Core Data
//! invariant checked on the result.

use chatferry_core::*;
use chatferry_tests::fixtures::memory::{History, MemoryImporter};
use chatferry_tests::harness::{archive_messages, path_arg as s, public_fixture, tree_digest, Env};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const OWNER_NUMBER: &str = "+19195794674";
const PEER: &str = "19198887386@s.whatsapp.net";

/// The real store copied into `dir` (its -wal and -shm beside it, as the
/// phone left them), so nothing writes into shared/.
fn real_store(dir: &Path, test: &str) -> Option<PathBuf> {
    let src = public_fixture("whatsapp/iLEAPP-josh-ios15", test)?;
    let to = dir.join("iLEAPP-josh-ios15");
    std::fs::create_dir_all(&to).unwrap();
    for name in ["ChatStorage.sqlite", "ChatStorage.sqlite-wal", "ChatStorage.sqlite-shm"] {
        std::fs::copy(src.join(name), to.join(name)).unwrap();
    }
    Some(to.join("ChatStorage.sqlite"))
}

#[test]
fn every_message_ileapp_shows_comes_through_with_its_text_time_and_sender() {
    let test = "every_message_ileapp_shows_comes_through_with_its_text_time_and_sender";
    let dir = tempfile::tempdir().unwrap();
    let Some(store) = real_store(dir.path(), test) else { return };
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(public_fixture("whatsapp/iLEAPP-josh-ios15/expected-messages-iLEAPP.json", test).unwrap())
            .unwrap(),
    )
    .unwrap();
    let out = dir.path().join("archive");
    let before = tree_digest(store.parent().unwrap());
    Env::new()
        .run(&["convert", s(&store), "--to", "archive", "-o", s(&out), "--opt", &format!("owner={OWNER_NUMBER}")])
        .ok();
    assert_eq!(tree_digest(store.parent().unwrap()), before, "the input changed");
    let ours = archive_messages(&out);
    let rows = expected["data"].as_array().unwrap();
    assert_eq!(ours.len(), rows.len(), "iLEAPP shows 32 messages");

    // (unix seconds, text, sent by the owner, the peer's id for incoming 1:1 messages)
    type Key = (i64, Option<String>, bool, Option<String>);
    let mut want: Vec<Key> = rows
        .iter()
        .map(|r| {
            let mine = r[1] == "Local User";
            let from = r[2].as_str().filter(|f| !mine && f.ends_with("@s.whatsapp.net")).map(String::from);
            (r[0].as_i64().unwrap(), r[5].as_str().map(String::from), mine, from)
        })
        .collect();
    let mut got: Vec<Key> = ours
        .iter()
        .map(|m| {
            let peer = m.sender.clone().filter(|s| !m.from_me && s.ends_with("@s.whatsapp.net"));
            (m.timestamp_ms.div_euclid(1000), m.text.clone(), m.from_me, peer)
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    for m in ours.iter().filter(|m| m.from_me) {
        assert_eq!(m.sender.as_deref(), Some("19195794674@s.whatsapp.net"), "message {}", m.id);
    }
    // The four places, to the coordinate.
    let mut places: Vec<(i64, String)> = rows
        .iter()
        .filter_map(|r| {
            r[11].as_f64().map(|lat| (r[0].as_i64().unwrap(), format!("{lat:.6},{:.6}", r[12].as_f64().unwrap())))
        })
        .collect();
    let mut ours_places: Vec<(i64, String)> = ours
        .iter()
        .filter_map(|m| {
            m.location.as_ref().map(|l| (m.timestamp_ms / 1000, format!("{:.6},{:.6}", l.latitude, l.longitude)))
        })
        .collect();
    places.sort();
    ours_places.sort();
    assert_eq!(places.len(), 4);
    assert_eq!(ours_places, places);
}

/// What is added into the phone's store: a message into its existing chat
/// with the peer (between two of its own in time), a photo with its file
/// into a new chat, and a new group with a member.
fn added_history(dir: &Path) -> PathBuf {
    let photo = dir.join("photo.jpg");
    std::fs::write(&photo, b"\xff\xd8\xff\xe0 not really a jpeg, but bytes to carry").unwrap();
    let text = |id: &str, chat: &str, sender: Option<&str>, t: i64, body: &str| Message {
        id: id.into(),
        chat: chat.into(),
        sender: sender.map(String::from),
        from_me: sender.is_none(),
        timestamp_ms: t,
        text: Some(body.into()),
        ..Default::default()
    };
    let alice = "4915187654321@s.whatsapp.net";
    let group = "120363000000000001@g.us";
    let mut photo_msg = text("a2", alice, Some(alice), 1_690_000_000_000, "");
    photo_msg.kind = MessageKind::Image;
    photo_msg.text = None;
    photo_msg.media = Some(Media {
        mime: Some("image/jpeg".into()),
        path: Some(photo.to_str().unwrap().into()),
        caption: Some("from Android 📷".into()),
        ..Default::default()
    });
    let history = History {
        header: Header { source_adapter: "test".into(), model_version: MODEL_VERSION.into(), ..Default::default() },
        contacts: vec![Contact { id: alice.into(), name: Some("Alice".into()), ..Default::default() }],
        chats: vec![
            Chat { id: PEER.into(), kind: ChatKind::Direct, ..Default::default() },
            Chat { id: alice.into(), kind: ChatKind::Direct, ..Default::default() },
            Chat {
                id: group.into(),
                kind: ChatKind::Group,
                title: Some("Neue Gruppe".into()),
                participants: vec![Participant { contact: alice.into(), ..Default::default() }],
                ..Default::default()
            },
        ],
        messages: vec![
            // Between the phone's 1683043007 and 1683043050 messages.
            text("a1", PEER, Some(PEER), 1_683_043_020_000, "added from the old phone"),
            photo_msg,
            text("a3", group, Some(alice), 1_690_000_100_000, "hallo zusammen"),
            text("a4", group, None, 1_690_000_200_000, "hallo Alice"),
        ],
    };
    let archive = dir.join("added");
    let mut exporter = chatferry_core::archive::ArchiveExporter::create(&archive).unwrap();
    chatferry_core::pipeline::convert(
        &mut MemoryImporter::new(history),
        &mut exporter,
        &mut chatferry_core::pipeline::NoProgress,
    )
    .unwrap();
    archive
}

/// Core Data's entity table name: `WAMessage` → `ZWAMESSAGE`.
fn table_of(entity: &str) -> String {
    format!("Z{}", entity.to_uppercase())
}

fn tables(conn: &Connection) -> Vec<String> {
    let mut st = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Every row of `table` as text, by Z_PK.
fn rows(conn: &Connection, table: &str) -> BTreeMap<i64, Vec<String>> {
    let mut st = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let names: Vec<String> = st.column_names().into_iter().map(String::from).collect();
    let pk_at = names.iter().position(|n| n == "Z_PK").unwrap();
    let mut out = BTreeMap::new();
    let mut q = st.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        let mut cells = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let v: rusqlite::types::Value = r.get(i).unwrap();
            cells.push(format!("{name}={v:?}"));
        }
        out.insert(r.get::<_, i64>(pk_at).unwrap(), cells);
    }
    out
}

fn cell<'a>(row: &'a [String], name: &str) -> &'a str {
    row.iter().find(|c| c.starts_with(&format!("{name}="))).map(String::as_str).unwrap()
}

#[test]
fn the_real_iphone_store_as_template_keeps_every_core_data_invariant() {
    let test = "the_real_iphone_store_as_template_keeps_every_core_data_invariant";
    let dir = tempfile::tempdir().unwrap();
    let Some(template) = real_store(dir.path(), test) else { return };
    let template_before = tree_digest(template.parent().unwrap());
    let input = added_history(dir.path());
    let out = dir.path().join("merged");
    Env::new()
        .run(&[
            "convert",
            s(&input),
            "--to",
            "whatsapp-ios",
            "-o",
            s(&out),
            "--opt",
            &format!("owner={OWNER_NUMBER}"),
            "--opt",
            &format!("template={}", s(&template)),
        ])
        .ok();
    assert_eq!(tree_digest(template.parent().unwrap()), template_before, "the template changed");

    let old = Connection::open_with_flags(&template, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let new = Connection::open(out.join("ChatStorage.sqlite")).unwrap();
    let q = |c: &Connection, sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    let integrity: String = new.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");

    // Z_METADATA and Z_MODELCACHE byte-identical; Z_PRIMARYKEY lists the
    // same entities under the same numbers.
    for table in ["Z_METADATA", "Z_MODELCACHE"] {
        let dump = |c: &Connection| -> Vec<Vec<u8>> {
            let mut st = c.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let n = st.column_count();
            let mut out = Vec::new();
            let mut q = st.query([]).unwrap();
            while let Some(r) = q.next().unwrap() {
                for i in 0..n {
                    out.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()).into_bytes());
                }
            }
            out
        };
        assert_eq!(dump(&new), dump(&old), "{table} is the phone's own");
    }
    let entities = |c: &Connection| -> Vec<(i64, String, i64)> {
        let mut st = c.prepare("SELECT Z_ENT, Z_NAME, Z_MAX FROM Z_PRIMARYKEY ORDER BY Z_ENT").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    let (old_ents, new_ents) = (entities(&old), entities(&new));
    assert_eq!(
        old_ents.iter().map(|e| (e.0, e.1.clone())).collect::<Vec<_>>(),
        new_ents.iter().map(|e| (e.0, e.1.clone())).collect::<Vec<_>>(),
        "the phone's entity numbering"
    );
    let present = tables(&new);
    for ((ent, name, old_max), (_, _, new_max)) in old_ents.iter().zip(&new_ents) {
        let table = table_of(name);
        assert!(new_max >= old_max, "{name}: Z_MAX went down from {old_max} to {new_max}");
        if !present.contains(&table) {
            continue;
        }
        let highest = q(&new, &format!("SELECT COALESCE(max(Z_PK), 0) FROM {table}"));
        assert!(*new_max >= highest, "{name}: Z_MAX {new_max} is below its highest Z_PK {highest}");
        let strays = q(&new, &format!("SELECT count(*) FROM {table} WHERE Z_ENT IS NOT {ent}"));
        assert_eq!(strays, 0, "{table}: every row's Z_ENT is {name}'s number {ent}");
    }
    // Something was added where it should be.
    assert_eq!(q(&new, "SELECT count(*) FROM ZWAMESSAGE"), 32 + 4);
    assert!(q(&new, "SELECT count(*) FROM ZWAMEDIAITEM") > q(&old, "SELECT count(*) FROM ZWAMEDIAITEM"));
    assert_eq!(q(&new, "SELECT count(*) FROM ZWACHATSESSION"), 5 + 2);

    // The phone's own rows: the same keys and content; only the rows of the
    // chat that got a message have a new ZSORT and a higher Z_OPT.
    let touched_chat = q(&old, &format!("SELECT Z_PK FROM ZWACHATSESSION WHERE ZCONTACTJID = '{PEER}'"));
    for table in tables(&old).iter().filter(|t| t.starts_with("ZWA")) {
        let (before, after) = (rows(&old, table), rows(&new, table));
        for (pk, row) in &before {
            let now = after.get(pk).unwrap_or_else(|| panic!("{table} row {pk} is gone"));
            let touched = table == "ZWAMESSAGE"
                && cell(row, "ZCHATSESSION") == format!("ZCHATSESSION=Integer({touched_chat})")
                || table == "ZWACHATSESSION" && *pk == touched_chat;
            for (a, b) in row.iter().zip(now) {
                let bookkeeping =
                    ["Z_OPT=", "ZSORT=", "ZMESSAGECOUNTER=", "ZLASTMESSAGE"].iter().any(|p| a.starts_with(p));
                if touched && bookkeeping {
                    continue;
                }
                assert_eq!(a, b, "{table} row {pk} changed");
            }
            if touched {
                let opt = |r: &[String]| {
                    cell(r, "Z_OPT").trim_start_matches("Z_OPT=Integer(").trim_end_matches(')').parse::<i64>().unwrap()
                };
                assert!(opt(now) >= opt(row), "{table} row {pk}: Z_OPT went down");
            }
        }
    }
    // ZSORT runs 1..n without gaps in every chat that got messages, in time order.
    let mut st = new
        .prepare(
            "SELECT ZCHATSESSION, count(*), min(ZSORT), max(ZSORT), count(DISTINCT ZSORT) FROM ZWAMESSAGE GROUP BY 1",
        )
        .unwrap();
    let chats: Vec<(i64, i64, i64, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let old_pks: Vec<i64> = rows(&old, "ZWACHATSESSION").keys().copied().collect();
    for (chat, n, lo, hi, distinct) in chats {
        if old_pks.contains(&chat) && chat != touched_chat {
            continue; // untouched, as the phone left it
        }
        assert_eq!((lo, hi, distinct), (1, n, n), "chat {chat}: ZSORT is 1..{n}");
    }
    assert_eq!(
        q(
            &new,
            "SELECT count(*) FROM ZWAMESSAGE a JOIN ZWAMESSAGE b ON a.ZCHATSESSION = b.ZCHATSESSION
                 WHERE a.ZSORT < b.ZSORT AND a.ZMESSAGEDATE > b.ZMESSAGEDATE"
        ),
        0,
        "ZSORT follows time"
    );
    let sort_of = |text: &str| q(&new, &format!("SELECT ZSORT FROM ZWAMESSAGE WHERE ZTEXT = '{text}'"));
    assert_eq!(sort_of("added from the old phone"), sort_of("I’m here!") + 1, "it joins the chat in time order");
    // The chat's counter and last message follow its messages.
    assert_eq!(
        q(&new, &format!("SELECT ZMESSAGECOUNTER FROM ZWACHATSESSION WHERE Z_PK = {touched_chat}")),
        q(&new, &format!("SELECT max(ZSORT) FROM ZWAMESSAGE WHERE ZCHATSESSION = {touched_chat}")) + 1
    );
    drop(st);
    drop(new);

    // chatferry reads the merged store back: the phone's 32 and our 4.
    let back = dir.path().join("back");
    Env::new().run(&["convert", s(&out), "--to", "archive", "-o", s(&back)]).ok();
    let got = archive_messages(&back);
    assert_eq!(got.len(), 36);
    assert!(got.iter().any(|m| m.text.as_deref() == Some("hallo zusammen")));
    assert!(got
        .iter()
        .any(|m| m.media.as_ref().is_some_and(|x| !x.missing && x.caption.as_deref() == Some("from Android 📷"))));
}

#[test]
fn keys_the_phone_already_handed_out_are_not_given_again() {
    // A message deleted on the phone leaves WAMessage's Z_MAX above the
    // highest Z_PK: our rows are numbered above Z_MAX.
    let test = "keys_the_phone_already_handed_out_are_not_given_again";
    let dir = tempfile::tempdir().unwrap();
    let Some(template) = real_store(dir.path(), test) else { return };
    let conn = Connection::open(&template).unwrap();
    conn.execute_batch("UPDATE Z_PRIMARYKEY SET Z_MAX = 40 WHERE Z_NAME = 'WAMessage'").unwrap();
    drop(conn);
    let input = added_history(dir.path());
    let out = dir.path().join("merged");
    Env::new()
        .run(&[
            "convert",
            s(&input),
            "--to",
            "whatsapp-ios",
            "-o",
            s(&out),
            "--opt",
            &format!("template={}", s(&template)),
        ])
        .ok();
    let new = Connection::open(out.join("ChatStorage.sqlite")).unwrap();
    let q = |sql: &str| -> i64 { new.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("SELECT min(Z_PK) FROM ZWAMESSAGE WHERE Z_PK > 33"), 41, "the first new key is after Z_MAX");
    assert_eq!(q("SELECT count(*) FROM ZWAMESSAGE"), 36, "no row held at Z_MAX is left behind");
    assert_eq!(q("SELECT Z_MAX FROM Z_PRIMARYKEY WHERE Z_NAME = 'WAMessage'"), 44);
}

#[test]
fn a_minimal_chat_storage_reads_what_it_has_and_says_what_it_lacks() {
    // mvt's hand-made ChatStorage.sqlite: five of the tables, few columns.
    let test = "a_minimal_chat_storage_reads_what_it_has_and_says_what_it_lacks";
    let Some(src) = public_fixture("ios-backup/mvt-ios14/7c/7c7fba66680ef796b916b067077cc246adacf01d", test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ChatStorage.sqlite");
    std::fs::copy(src, &store).unwrap();
    let out = dir.path().join("archive");
    let run = Env::new().run(&["convert", s(&store), "--to", "archive", "-o", s(&out)]).ok();
    assert!(run.stdout.contains("has no ZWAGROUPMEMBER, ZWAMESSAGEINFO, ZWAPROFILEPUSHNAME tables"), "{}", run.stdout);
    let got = archive_messages(&out);
    let texts: Vec<&str> = got.iter().filter_map(|m| m.text.as_deref()).collect();
    assert_eq!(texts, ["Hi", "Check https://example.org/news", "Welcome"]);
    assert_eq!(got.iter().filter(|m| m.from_me).count(), 1);
}
