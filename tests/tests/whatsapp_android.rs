//! WhatsApp Android import, end to end through the CLI, on stores written by
//! the fixture generator with the real DDL, and on the real 2022 fixture.

use chatferry_core::Message;
use chatferry_tests::fixtures::canonical::{self, OWNER};
use chatferry_tests::fixtures::whatsapp_android::{self as wa, shared_dir};
use chatferry_tests::harness::{archive_messages, path_arg as s, tree_digest, Env};
use sha2::Digest;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn real(name: &str) -> PathBuf {
    shared_dir().join("fixtures/public/whatsapp/wa-crypt-tools").join(name)
}

#[test]
fn a_whatsapp_folder_imports_with_every_message_and_detail() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let before = tree_digest(&fx.root);
    let out = dir.path().join("archive");
    let report = dir.path().join("report.json");
    let env = Env::new();
    let found = env.run(&["detect", s(&fx.root), "--json"]).ok().json();
    assert_eq!(found[0]["adapter"], "whatsapp-android");
    env.run(&[
        "convert",
        s(&fx.root),
        "--to",
        "archive",
        "-o",
        s(&out),
        "--opt",
        "owner=+49 151 12345678",
        "--report",
        s(&report),
    ])
    .ok();
    assert_eq!(tree_digest(&fx.root), before, "the input changed");

    let media_src = tempfile::tempdir().unwrap();
    let original = canonical::sample_history(media_src.path());
    let got = archive_messages(&out);
    assert_eq!(got.len(), original.messages.len() - fx.skipped.len());
    let by_key: HashMap<String, &Message> = got.iter().map(|m| (m.extras["wa.key_id"].clone(), m)).collect();
    let imported_id = |canonical_id: &str| fx.row_of[canonical_id].to_string();
    for want in original.messages.iter().filter(|m| !fx.skipped.contains(&m.id)) {
        let m = by_key.get(&wa::key_id(&want.id)).unwrap_or_else(|| panic!("message {} missing", want.id));
        let what = format!("message {}", want.id);
        assert_eq!(m.id, imported_id(&want.id), "{what}");
        assert_eq!(m.chat, want.chat, "{what}");
        assert_eq!(m.kind, want.kind, "{what}");
        assert_eq!(m.timestamp_ms, want.timestamp_ms, "{what}");
        assert_eq!(m.from_me, want.from_me, "{what}");
        let want_sender = if want.from_me { Some(OWNER.to_string()) } else { want.sender.clone() };
        assert_eq!(m.sender, want_sender, "{what}: LIDs resolve to phone JIDs, owner from --opt owner");
        assert_eq!(m.text, want.text, "{what}");
        assert_eq!(m.starred, want.starred, "{what}");
        assert_eq!(m.forwarded, want.forwarded, "{what}");
        assert_eq!(m.edited_ms, want.edited_ms, "{what}");
        assert_eq!(m.location, want.location, "{what}");
        assert_eq!(m.link, want.link, "{what}");
        assert_eq!(m.contact_card, want.contact_card, "{what}");
        assert_eq!(m.reply_to, want.reply_to.as_deref().map(imported_id), "{what}");
        assert_eq!(m.quoted_text, want.quoted_text, "{what}");
        assert_eq!(m.reactions, want.reactions, "{what}");
        assert_eq!(m.system, want.system, "{what}");
        assert_eq!(m.call.as_ref().map(|c| c.video), want.call.as_ref().map(|c| c.video), "{what}");
        match (&m.media, &want.media) {
            (Some(g), Some(w)) => {
                assert_eq!(g.caption, w.caption, "{what}");
                assert_eq!(g.missing, w.missing, "{what}");
                assert_eq!(g.file_name, w.file_name, "{what}");
                if !w.missing {
                    let bytes = std::fs::read(w.path.as_ref().unwrap()).unwrap();
                    assert_eq!(g.sha256.as_deref(), Some(hex::encode(sha2::Sha256::digest(&bytes)).as_str()), "{what}");
                    assert!(out.join(g.file.as_ref().unwrap()).is_file(), "{what}: media carried");
                }
            }
            (g, w) => assert_eq!(g.is_some(), w.is_some(), "{what}"),
        }
    }
    // Chats, roles and names.
    let chats: Vec<chatferry_core::Chat> = std::fs::read_to_string(out.join("chats.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for want in &original.chats {
        let c = chats.iter().find(|c| c.id == want.id).unwrap_or_else(|| panic!("chat {} missing", want.id));
        assert_eq!(c.kind, want.kind);
        assert_eq!(c.archived, want.archived);
        if want.kind == chatferry_core::ChatKind::Group {
            assert_eq!(c.title, want.title);
            let roles: Vec<_> = c.participants.iter().map(|p| (p.contact.clone(), p.role)).collect();
            let want_roles: Vec<_> = want.participants.iter().map(|p| (p.contact.clone(), p.role)).collect();
            assert_eq!(roles, want_roles, "chat {}", want.id);
        }
    }
    let contacts = std::fs::read_to_string(out.join("contacts.jsonl")).unwrap();
    assert!(contacts.contains("\"name\":\"李雷\"") && contacts.contains("\"nickname\":\"雷雷\""), "{contacts}");
    assert!(!contacts.contains("@lid"), "a mapped LID is not a separate person: {contacts}");

    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["media"]["missing"], 1, "the video the phone no longer has");
    assert_eq!(r["read"]["voice"], 1);
}

#[test]
fn the_real_2022_store_and_its_backups_import_without_error() {
    if chatferry_core::testing::public_fixture(
        "whatsapp/wa-crypt-tools",
        "the_real_2022_store_and_its_backups_import_without_error",
    )
    .is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    for (input, key) in [
        ("msgstore.db", None),
        ("msgstore.db.crypt15", Some("encrypted_backup.key")),
        ("msgstore.db.crypt14", Some("key")),
        ("msgstore-noexpiry.db.crypt14", Some("key")),
        ("msgstore.db.crypt12", Some("key")),
    ] {
        let out = dir.path().join(input);
        let mut args = vec![
            "convert".to_string(),
            s(&real(input)).into(),
            "--to".into(),
            "archive".into(),
            "-o".into(),
            s(&out).into(),
        ];
        if let Some(k) = key {
            args.push("--opt".into());
            args.push(format!("key-file={}", s(&real(k))));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = env.run(&args).ok();
        assert!(run.stdout.contains("legacy `messages` table"), "{input}: {}", run.stdout);
        let found = env.run(&["detect", s(&real(input)), "--json"]).ok().json();
        assert_eq!(found[0]["adapter"], "whatsapp-android", "{input} is recognised");
        assert!(out.join("manifest.json").is_file());
    }
}

#[test]
fn wrong_keys_missing_keys_and_damaged_backups_are_one_line_errors() {
    if chatferry_core::testing::public_fixture(
        "whatsapp/wa-crypt-tools",
        "wrong_keys_missing_keys_and_damaged_backups_are_one_line_errors",
    )
    .is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let out = dir.path().join("out");
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, "00".repeat(32)).unwrap();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (vec![s(&real("msgstore.db.crypt15")).into()], 2, "give its key with --opt key-file"),
        (
            vec![s(&real("msgstore.db.crypt15")).into(), "--opt".into(), format!("key-file={}", s(&wrong))],
            1,
            "the key did not open",
        ),
        (
            vec![
                s(&real("msgstore.db.crypt14")).into(),
                "--opt".into(),
                format!("key-file={}", s(&real("encrypted_backup.key"))),
            ],
            1,
            "crypt14 backup",
        ),
        (
            vec![
                s(&real("msgstore.db.crypt12")).into(),
                "--opt".into(),
                format!("key-file={}", s(&real("encrypted_backup.key"))),
            ],
            1,
            "crypt12 backup",
        ),
    ];
    for (mut args, code, needle) in cases {
        let mut full = vec!["convert".to_string()];
        full.append(&mut args);
        full.extend(["--to".into(), "archive".into(), "-o".into(), s(&out).into()]);
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        let run = env.run(&full).fails_with(code);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains(needle), "{needle}: {}", errors[0]);
        assert!(!out.exists());
    }
    // A truncated backup.
    let bytes = std::fs::read(real("msgstore.db.crypt15")).unwrap();
    let cut = dir.path().join("msgstore.db.crypt15");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let run = env
        .run(&[
            "convert",
            s(&cut),
            "--opt",
            &format!("key-file={}", s(&real("encrypted_backup.key"))),
            "--to",
            "archive",
            "-o",
            s(&out),
        ])
        .fails_with(1);
    assert!(run.error_lines()[0].contains("damaged or truncated"), "{}", run.stderr);
}

#[test]
fn bad_stores_are_one_line_errors_and_inputs_stay_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let out = dir.path().join("out");
    // An SQLite file that is not WhatsApp's.
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x');")
        .unwrap();
    // A store cut short.
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let bytes = std::fs::read(&fx.msgstore).unwrap();
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    // Not a database at all.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x42u8; 10_000]).unwrap();
    for (input, needle) in
        [(&other, "not a WhatsApp message store"), (&cut, "is damaged"), (&junk, "neither an SQLite database")]
    {
        let before = std::fs::read(input).unwrap();
        let run = env
            .run(&["convert", s(input), "--from", "whatsapp-android", "--to", "archive", "-o", s(&out)])
            .fails_with(1);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains(needle), "{needle}: {}", errors[0]);
        assert_eq!(std::fs::read(input).unwrap(), before);
        assert!(!out.exists());
    }
}

#[test]
fn a_modern_store_without_its_message_or_jid_table_is_refused_not_read_as_empty() {
    // The 2.22 DDL keeps an empty legacy `messages` table: without `message`
    // (or `jid`) the store read as a legacy one with no messages, exit 0.
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    for table in ["message", "jid"] {
        let fx = wa::write_sample(&dir.path().join(format!("WhatsApp-{table}")));
        rusqlite::Connection::open(&fx.msgstore).unwrap().execute_batch(&format!("DROP TABLE {table}")).unwrap();
        let out = dir.path().join(format!("out-{table}"));
        let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out)]).fails_with(1);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(
            errors[0].contains(&format!("no `{table}` table")) && errors[0].contains("holds no messages"),
            "{table}: {}",
            errors[0]
        );
        assert!(!out.exists());
    }
}

#[test]
fn a_media_path_that_escapes_the_whatsapp_folder_is_refused_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    std::fs::write(dir.path().join("outside.txt"), b"private").unwrap();
    let conn = rusqlite::Connection::open(&fx.msgstore).unwrap();
    let n = conn
        .execute("UPDATE message_media SET file_path = '../outside.txt' WHERE message_row_id = ?1", [fx.row_of["14"]])
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    let out = dir.path().join("out");
    let report = dir.path().join("r.json");
    let run = Env::new().run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--report", s(&report)]).ok();
    assert!(run.stdout.contains("leads outside the media folder"), "{}", run.stdout);
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["media"]["refused"], 1);
    for (name, bytes) in chatferry_tests::harness::tree(&out) {
        assert_ne!(bytes, b"private", "{name}");
    }
}

#[test]
fn rows_only_in_the_wal_are_read_and_the_wal_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    // Keep a connection open so the WAL is not checkpointed away, and add a
    // message that exists only in the WAL.
    let conn = rusqlite::Connection::open(&fx.msgstore).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute(
        "INSERT INTO message (chat_row_id, from_me, key_id, timestamp, message_type, text_data, sort_id)
         SELECT _id, 1, 'WALONLY', 1700000000000, 0, 'only in the WAL', 0 FROM chat LIMIT 1",
        [],
    )
    .unwrap();
    let wal = PathBuf::from(format!("{}-wal", fx.msgstore.display()));
    assert!(wal.is_file());
    let before = (std::fs::read(&fx.msgstore).unwrap(), std::fs::read(&wal).unwrap());
    let out = dir.path().join("out");
    Env::new().run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out)]).ok();
    assert!(archive_messages(&out).iter().any(|m| m.text.as_deref() == Some("only in the WAL")));
    assert_eq!((std::fs::read(&fx.msgstore).unwrap(), std::fs::read(&wal).unwrap()), before);
    drop(conn);
}

#[test]
fn a_legacy_store_imports_by_its_tables() {
    use chatferry_core::{MessageKind, Role};
    use chatferry_tests::fixtures::whatsapp_android_legacy as legacy;
    let dir = tempfile::tempdir().unwrap();
    let fx = legacy::write(&dir.path().join("WhatsApp"));
    let out = dir.path().join("out");
    Env::new().run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", "owner=+4915112345678"]).ok();
    let got = archive_messages(&out);
    assert_eq!(got.len(), 10, "the placeholder row is skipped");
    let by_key: HashMap<&str, &Message> = got.iter().map(|m| (m.extras["wa.key_id"].as_str(), m)).collect();
    assert_eq!(by_key["L1"].timestamp_ms, canonical::times::MOON_LANDING);
    assert_eq!(by_key["L2"].sender.as_deref(), Some(OWNER));
    assert_eq!(by_key["L4"].reply_to.as_deref(), Some(by_key["L3"].id.as_str()));
    assert_eq!(by_key["L4"].quoted_text.as_deref(), Some("…and just after ⏰"));
    let img = by_key["L5"].media.as_ref().unwrap();
    assert!(!img.missing, "the path inside thumb_image is found under the WhatsApp folder");
    assert_eq!(img.sha256.as_deref(), Some(hex::encode(sha2::Sha256::digest(canonical::PNG_4X3)).as_str()));
    assert_eq!(img.caption.as_deref(), Some("Der See 🏞️ im Herbst"));
    let sys = by_key["L6"].system.as_ref().unwrap();
    assert_eq!((sys.action.as_str(), sys.value.as_deref()), ("group_created", Some("家族 👨‍👩‍👧")));
    assert_eq!(by_key["L7"].sender.as_deref(), Some(canonical::PREFIXY));
    assert_eq!(by_key["L7"].text.as_deref(), Some("Bob:\nI'm Bob, and this line is my text"));
    assert_eq!(by_key["L8"].location.as_ref().unwrap().name.as_deref(), Some("天安门广场"));
    assert!(by_key["L9"].contact_card.as_ref().unwrap().vcard.as_deref().unwrap().contains("FN:محمد"));
    assert_eq!(by_key["L10"].kind, MessageKind::Deleted);
    let chats: Vec<chatferry_core::Chat> = std::fs::read_to_string(out.join("chats.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let family = chats.iter().find(|c| c.id == canonical::FAMILY).unwrap();
    assert_eq!(family.title.as_deref(), Some("家族 👨‍👩‍👧"));
    let roles: Vec<_> = family.participants.iter().map(|p| (p.contact.as_str(), p.role)).collect();
    assert_eq!(roles, [(canonical::LI, Role::Owner), (OWNER, Role::Admin), (canonical::PREFIXY, Role::Member)]);
}

#[test]
fn a_message_with_a_far_away_row_id_keeps_its_side_rows() {
    // The side tables are read through per-table sets of message ids; a
    // store with one stray huge id must neither blow those sets up nor lose
    // that message's media, quote or reactions.
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let before = dir.path().join("before");
    Env::new().run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&before)]).ok();
    let conn = rusqlite::Connection::open(&fx.msgstore).unwrap();
    let (id, key): (i64, String) = conn
        .query_row(
            "SELECT m._id, m.key_id FROM message m JOIN message_media mm ON mm.message_row_id = m._id
             WHERE mm.file_path IS NOT NULL ORDER BY m._id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let far: i64 = 1 << 50;
    for (table, column) in [("message", "_id"), ("message_media", "message_row_id")] {
        conn.execute(&format!("UPDATE {table} SET {column} = ?1 WHERE {column} = ?2"), [far, id]).unwrap();
    }
    drop(conn);
    let after = dir.path().join("after");
    Env::new().run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&after)]).ok();
    let find = |archive: &Path| {
        archive_messages(archive).into_iter().find(|m| m.extras.get("wa.key_id") == Some(&key)).expect("the message")
    };
    let (was, now) = (find(&before), find(&after));
    assert_eq!(now.id, far.to_string());
    assert!(was.media.as_ref().and_then(|m| m.sha256.as_ref()).is_some(), "{was:?}");
    assert_eq!(now.media, was.media);
    assert_eq!((now.kind, now.text, now.timestamp_ms), (was.kind, was.text, was.timestamp_ms));
    assert_eq!(archive_messages(&after).len(), archive_messages(&before).len());
}

/// One person under two forms (2024+): their chat keyed by their phone
/// number points at their hidden-number id (LID) through
/// `account_jid_row_id`, a newer chat is keyed by the LID itself, and the
/// same message sits in both. Beside them, the Status feed.
fn add_lid_person_and_statuses(msgstore: &Path) {
    let conn = rusqlite::Connection::open(msgstore).unwrap();
    if !chatferry_core::sqlite::has_column(&conn, "chat", "account_jid_row_id") {
        // The 2026 column (../shared/formats/ddl/android_msgstore_2026_tables.sql).
        conn.execute_batch("ALTER TABLE chat ADD COLUMN account_jid_row_id INTEGER").unwrap();
    }
    conn.execute_batch(
        "INSERT INTO jid (_id, user, server, agent, device, type, raw_string) VALUES
             (3001, '4917600000001', 's.whatsapp.net', 0, 0, 0, '4917600000001@s.whatsapp.net'),
             (3002, '70000000000001', 'lid', 0, 0, 18, '70000000000001@lid');
         INSERT INTO chat (_id, jid_row_id, hidden, account_jid_row_id) VALUES (3001, 3001, 0, 3002), (3002, 3002, 0, NULL);
         INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id, timestamp, message_type, text_data, sort_id)
         VALUES (3001, 0, 'LIDTEST-A', 0, 1700000001000, 0, 'first, under the number', 1),
                (3001, 1, 'LIDTEST-C', 0, 1700000003000, 0, 'third, under the number', 2),
                (3002, 0, 'LIDTEST-B', 0, 1700000002000, 0, 'second, under the LID', 1),
                (3002, 0, 'LIDTEST-A', 0, 1700000001000, 0, 'first, under the number', 2);
         INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id, timestamp, message_type, text_data, sort_id)
         SELECT c._id, 0, 'LIDTEST-G', 3002, 1700000004000, 0, 'in the group, as a LID', 99999
             FROM chat c JOIN jid j ON j._id = c.jid_row_id WHERE j.raw_string = '120363025246125486@g.us';
         INSERT INTO chat (_id, jid_row_id, hidden) SELECT 3003, _id, 0 FROM jid WHERE raw_string = 'status@broadcast';
         INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id, timestamp, message_type, text_data, sort_id)
         VALUES (3003, 0, 'STATUS-1', 3001, 1700000005000, 0, 'a story', 1),
                (3003, 1, 'STATUS-2', 0, 1700000006000, 0, 'my story', 2);",
    )
    .unwrap();
}

#[test]
fn one_person_under_a_number_and_a_lid_is_one_chat_and_statuses_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    add_lid_person_and_statuses(&fx.msgstore);
    let env = Env::new();
    let out = dir.path().join("archive");
    let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out)]).ok();
    let got = archive_messages(&out);
    let person = "4917600000001@s.whatsapp.net";
    let theirs: Vec<&str> =
        got.iter().filter(|m| m.chat == person).map(|m| m.text.as_deref().unwrap_or_default()).collect();
    assert_eq!(
        theirs,
        ["first, under the number", "second, under the LID", "third, under the number"],
        "one chat, each message once, in time order"
    );
    assert!(!got.iter().any(|m| m.chat.ends_with("@lid")), "no chat under the LID");
    let chats = std::fs::read_to_string(out.join("chats.jsonl")).unwrap();
    assert_eq!(chats.matches(&format!("\"id\":\"{person}\"")).count(), 1, "{chats}");
    assert!(chats.contains("70000000000001@lid"), "the chat keeps its other form: {chats}");
    let in_group = got.iter().find(|m| m.text.as_deref() == Some("in the group, as a LID")).unwrap();
    assert_eq!(in_group.sender.as_deref(), Some(person), "a group sender under either form is the same sender");
    assert!(!got.iter().any(|m| m.chat == "status@broadcast"), "statuses are not chat history");
    for note in [
        "1 chat with a person under their hidden-number id (LID) joined",
        "1 message in both of a person's chats",
        "2 status updates left out",
    ] {
        assert!(run.stdout.contains(note), "{note:?} in {}", run.stdout);
    }
    // Brought in when asked.
    let kept = dir.path().join("kept");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&kept), "--opt", "statuses=keep"]).ok();
    let stories: Vec<_> = archive_messages(&kept).into_iter().filter(|m| m.chat == "status@broadcast").collect();
    assert_eq!(stories.len(), 2);
    // A person picks the chat by either form.
    let one = dir.path().join("one");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&one), "--chat", "70000000000001@lid"]).ok();
    assert_eq!(archive_messages(&one).len(), 3);
}

/// A quiz whose voter changed their mind, and an event with answers, in
/// the 2026 tables (`message_poll*`, add-ons 67 and 93, `message_event`).
fn add_quiz_and_event(msgstore: &Path) {
    let conn = rusqlite::Connection::open(msgstore).unwrap();
    wa::add_tables_of_2026(&conn);
    let (chat, _, li, _) = family_chat_li_alice(&conn);
    conn.execute_batch(&format!(
        "INSERT INTO message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, timestamp, message_type, text_data, sort_id)
         VALUES (7001, {chat}, 0, 'QUIZ1', {li}, 1700000000000, 66, 'Capital of Australia?', 7001),
                (7002, {chat}, 1, 'EVENT1', 0, 1700000100000, 92, NULL, 7002);
         INSERT INTO message_poll (message_row_id, selectable_options_count, poll_type, correct_option_id)
         VALUES (7001, 1, 1, 502);
         INSERT INTO message_poll_option (_id, message_row_id, option_name, vote_total)
         VALUES (501, 7001, 'Sydney', 0), (502, 7001, 'Canberra', 2), (503, 7001, 'Melbourne', 0);
         INSERT INTO message_add_on (_id, chat_row_id, from_me, key_id, sender_jid_row_id, parent_message_row_id,
                                     timestamp, status, message_add_on_type)
         VALUES (801, {chat}, 0, 'V1', {li}, 7001, 1700000001000, 0, 67),
                (802, {chat}, 0, 'V2', {li}, 7001, 1700000002000, 0, 67),
                (803, {chat}, 1, 'V3', 0, 7001, 1700000003000, 0, 67),
                (804, {chat}, 0, 'R1', {li}, 7002, 1700000101000, 0, 93),
                (805, {chat}, 1, 'R2', 0, 7002, 1700000102000, 0, 93);
         INSERT INTO message_add_on_poll_vote (message_add_on_row_id, sender_timestamp)
         VALUES (801, 1700000001000), (802, 1700000002000), (803, 1700000003000);
         INSERT INTO message_add_on_poll_vote_selected_option (message_add_on_row_id, message_poll_option_id)
         VALUES (801, 501), (802, 502), (803, 502);
         INSERT INTO message_event (message_row_id, name, description, start_time, end_time, location_name,
                                    join_link, is_canceled, chat_row_id)
         VALUES (7002, 'Picnic 🧺', 'Bring a blanket', 1700600000000, 1700610000000, 'Tiergarten',
                 'https://call.whatsapp.com/video/x', 0, {chat});
         INSERT INTO message_add_on_event_response (message_add_on_row_id, response, sender_timestamp, extra_guest_count)
         VALUES (804, 1, 1700000101000, 2), (805, 2, 1700000102000, 0);"
    ))
    .unwrap();
}

#[test]
fn a_quizs_votes_and_an_events_answers_reach_the_archive_the_pages_and_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    add_quiz_and_event(&fx.msgstore);
    let env = Env::new();
    let owner = "owner=+49 151 12345678";
    let out = dir.path().join("archive");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", owner]).ok();
    let got = archive_messages(&out);
    let quiz = got.iter().find(|m| m.id == "7001").expect("the quiz");
    assert_eq!(quiz.kind, chatferry_core::MessageKind::Poll);
    let p = quiz.poll.as_ref().unwrap();
    assert_eq!(p.question, "Capital of Australia?");
    assert_eq!(p.options.iter().map(|o| o.text.as_str()).collect::<Vec<_>>(), ["Sydney", "Canberra", "Melbourne"]);
    assert_eq!(p.correct, Some(1), "the right option, by index");
    assert!(!p.multiple);
    assert_eq!(p.options[1].voters, [canonical::LI, OWNER], "Li's first vote (Sydney) was changed");
    assert!(p.options[0].voters.is_empty());
    let votes: Vec<(Option<&str>, &[u32], Option<i64>)> =
        p.votes.iter().map(|v| (v.voter.as_deref(), &v.options[..], v.timestamp_ms)).collect();
    assert_eq!(
        votes,
        [(Some(canonical::LI), &[1u32][..], Some(1700000002000)), (Some(OWNER), &[1][..], Some(1700000003000))]
    );
    let event = got.iter().find(|m| m.id == "7002").expect("the event");
    assert_eq!(event.kind, chatferry_core::MessageKind::Event);
    let e = event.event.as_ref().unwrap();
    assert_eq!((e.name.as_str(), e.start_ms, e.end_ms), ("Picnic 🧺", Some(1700600000000), Some(1700610000000)));
    assert_eq!(e.place.as_deref(), Some("Tiergarten"));
    let answers: Vec<(Option<&str>, &str, Option<u32>)> =
        e.responses.iter().map(|r| (r.person.as_deref(), r.answer.as_str(), r.extra_guests)).collect();
    assert_eq!(answers, [(Some(canonical::LI), "going", Some(2)), (Some(OWNER), "not_going", None)]);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains(&format!("\"model_version\": \"{}\"", chatferry_core::MODEL_VERSION)), "{manifest}");

    // The pages show who voted and who answered, by name.
    let html = pages_of(&env, &out, dir.path());
    for want in [
        "📊 Quiz: Capital of Australia?",
        "Canberra <span title=\"the right answer\">✓</span> (2 votes)",
        "李雷",
        "📅 Picnic 🧺",
        ": going +2",
        ": not going",
    ] {
        assert!(html.contains(want), "{want:?} not in the pages");
    }

    // An export writes the poll as WhatsApp's own export does, and says what it cannot show.
    let txt = dir.path().join("txt");
    let run = env
        .run(&[
            "convert",
            s(&out),
            "--to",
            "whatsapp-txt",
            "-o",
            s(&txt),
            "--chat",
            canonical::FAMILY,
            "--opt",
            "timezone=UTC",
            "--opt",
            "style=android",
        ])
        .ok();
    let text = all_text(&txt, "txt");
    assert!(
        text.contains("POLL:\nCapital of Australia?\nOPTION: Sydney (0 votes)\nOPTION: Canberra (2 votes)"),
        "{text}"
    );
    assert!(text.contains("📅 Event: Picnic 🧺"), "{text}");
    assert!(run.stdout.contains("not who voted"), "{}", run.stdout);

    // Into the 2.22.5.13 template, which has no poll or event tables: texts (§7), not type 66/92 rows without theirs.
    let (wa_out, back) = (dir.path().join("wa"), dir.path().join("back"));
    env.run(&["convert", s(&out), "--to", "whatsapp-android", "-o", s(&wa_out), "--opt", owner]).ok();
    let conn = rusqlite::Connection::open(wa_out.join("Databases/msgstore.db")).unwrap();
    let newer: i64 =
        conn.query_row("SELECT count(*) FROM message WHERE message_type IN (66, 92, 106)", [], |r| r.get(0)).unwrap();
    assert_eq!(newer, 0);
    drop(conn);
    env.run(&["convert", s(&wa_out), "--to", "archive", "-o", s(&back), "--opt", owner]).ok();
    let again = archive_messages(&back);
    assert!(again.iter().any(|m| m.text.as_deref().is_some_and(|t| t.starts_with("📊 Quiz: Capital of Australia?"))));
    assert!(again.iter().any(|m| m.text.as_deref().is_some_and(|t| t.starts_with("📅 Event: Picnic 🧺"))));
}

/// In a sample store: the family group's chat row and `jid` row, and the `jid` rows of Li and Alice.
fn family_chat_li_alice(conn: &rusqlite::Connection) -> (i64, i64, i64, i64) {
    let row = |raw: &str| -> i64 {
        conn.query_row("SELECT _id FROM jid WHERE raw_string = ?1", [raw], |r| r.get(0)).unwrap()
    };
    let family = row(canonical::FAMILY);
    let chat = conn.query_row("SELECT _id FROM chat WHERE jid_row_id = ?1", [family], |r| r.get(0)).unwrap();
    (chat, family, row(canonical::LI), row(canonical::ALICE))
}

/// `archive` converted to pages in `dir/pages`: all their html.
fn pages_of(env: &Env, archive: &Path, dir: &Path) -> String {
    let pages = dir.join("pages");
    env.run(&["convert", s(archive), "--to", "html", "-o", s(&pages)]).ok();
    all_text(&pages, "html")
}

/// Every `.EXT` file under `dir`, one after another.
fn all_text(dir: &Path, ext: &str) -> String {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn whatsapp_business_folders_are_found_and_a_folder_with_both_apps_asks_which() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("phone");
    let shop = wa::write_sample(&storage.join("Android/media/com.whatsapp.w4b/WhatsApp Business"));
    let conn = rusqlite::Connection::open(&shop.msgstore).unwrap();
    conn.execute_batch(
        "INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id, timestamp, message_type, text_data, sort_id)
         SELECT chat_row_id, 1, 'SHOP1', 0, 1700000000000, 0, 'from the shop', 99999 FROM message WHERE chat_row_id > 0 LIMIT 1",
    )
    .unwrap();
    drop(conn);
    let env = Env::new();
    // The phone's shared storage, the Business folder somewhere below it.
    let found = env.run(&["detect", s(&storage), "--json"]).ok().json();
    assert_eq!(found[0]["adapter"], "whatsapp-android");
    let out = dir.path().join("a");
    let run = env.run(&["convert", s(&storage), "--to", "archive", "-o", s(&out)]).ok();
    assert!(run.stdout.contains("WhatsApp Business"), "the folder read is named: {}", run.stdout);
    let got = archive_messages(&out);
    assert!(got.iter().any(|m| m.text.as_deref() == Some("from the shop")));
    assert!(got.iter().any(|m| m.media.as_ref().is_some_and(|x| !x.missing)), "media from WhatsApp Business/Media");

    // Both apps: asked which, then each read when named.
    wa::write_sample(&storage.join("Android/media/com.whatsapp/WhatsApp"));
    let run = env.run(&["convert", s(&storage), "--to", "archive", "-o", s(&dir.path().join("x"))]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.error_lines()[0].contains("both WhatsApp") && run.error_lines()[0].contains("--opt app=business"));
    let read = |app: &str| {
        let out = dir.path().join(app);
        env.run(&["convert", s(&storage), "--to", "archive", "-o", s(&out), "--opt", app]).ok();
        archive_messages(&out).iter().any(|m| m.text.as_deref() == Some("from the shop"))
    };
    assert!(read("app=business"));
    assert!(!read("app=personal"));
    // inspect shows each app, the shop's one message more.
    let shown = env.run(&["inspect", s(&storage)]).ok();
    for want in ["== WhatsApp (--opt app=personal) ==", "== WhatsApp Business (--opt app=business) =="] {
        assert!(shown.stdout.contains(want), "{want:?} in {}", shown.stdout);
    }
    let both = env.run(&["inspect", s(&storage), "--json"]).ok().json();
    let count = |app: &str| both["apps"][app]["messages"].as_u64().unwrap_or_else(|| panic!("{app}: {both}"));
    assert_eq!(count("business"), count("personal") + 1);
}

#[test]
fn pins_kept_messages_call_entries_and_invite_cards_are_read_and_each_target_says_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let conn = rusqlite::Connection::open(&fx.msgstore).unwrap();
    wa::add_tables_of_2026(&conn);
    // The template's add-on table has 2.22's nine columns; a 2026 store has the pin's expiry too.
    conn.execute_batch("ALTER TABLE message_add_on ADD COLUMN expiry_timestamp INTEGER").unwrap();
    let (chat, family, li, alice) = family_chat_li_alice(&conn);
    conn.execute_batch(&format!(
        "INSERT INTO message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, timestamp, message_type, text_data, sort_id)
         VALUES (7201, {chat}, 0, 'PIN1', {alice}, 1700000000000, 0, 'the address is Hauptstr. 1', 7201),
                (7202, {chat}, 0, 'UNPIN', {alice}, 1700000001000, 0, 'pinned, then not', 7202),
                (7203, {chat}, 1, 'CALL1', 0, 1700000002000, 90, NULL, 7203),
                (7204, {chat}, 0, 'CALL2', {li}, 1700000003000, 90, NULL, 7204),
                (7205, {chat}, 0, 'INV1', {li}, 1700000004000, 24, 'join the choir', 7205),
                (7206, {chat}, 0, 'SYS79', {li}, 1700000005000, 7, NULL, 7206);
         INSERT INTO message_system (message_row_id, action_type) VALUES (7206, 79);
         INSERT INTO message_add_on (_id, chat_row_id, from_me, key_id, sender_jid_row_id, parent_message_row_id,
                                     timestamp, status, message_add_on_type, expiry_timestamp)
         VALUES (901, {chat}, 0, 'P1', {li}, 7201, 1700000010000, 0, 79, 1700604810000),
                (902, {chat}, 1, 'K1', 0, 7201, 1700000011000, 0, 68, 0),
                (903, {chat}, 0, 'P2', {li}, 7202, 1700000012000, 0, 79, 0),
                (904, {chat}, 0, 'P3', {li}, 7202, 1700000013000, 0, 79, 0);
         INSERT INTO message_add_on_pin_in_chat (message_add_on_row_id, pin_in_chat_state, sender_timestamp)
         VALUES (901, 1, 1700000010000), (903, 1, 1700000012000), (904, 0, 1700000013000);
         INSERT INTO message_add_on_keep_in_chat (message_add_on_row_id, keep_in_chat_state, sender_timestamp)
         VALUES (902, 1, 1700000011000);
         INSERT INTO call_log (_id, jid_row_id, from_me, call_id, timestamp, video_call, duration, call_result, group_jid_row_id)
         VALUES (61, {family}, 1, 'C1', 1700000002000, 1, 65, 5, {family}),
                (62, {li}, 0, 'C2', 1700000003000, 0, 0, 2, 0);
         INSERT INTO message_call_log (message_row_id, call_log_row_id) VALUES (7203, 61), (7204, 62);
         INSERT INTO message_group_invite (message_row_id, group_jid_row_id, admin_jid_row_id, group_name, invite_code,
                                           expiration, invite_time, expired)
         VALUES (7205, {family}, {li}, 'Choir 🎶', 'AbCdEfGh123', 1700600000000, 1700000004000, 0);"
    ))
    .unwrap();
    drop(conn);
    let env = Env::new();
    let owner = "owner=+49 151 12345678";
    let out = dir.path().join("a");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", owner]).ok();
    let got = archive_messages(&out);
    let by_id = |id: &str| got.iter().find(|m| m.id == id).unwrap_or_else(|| panic!("message {id}"));
    let pinned = by_id("7201");
    let pin = pinned.pinned.as_ref().expect("pinned by Li");
    assert_eq!(
        (pin.sender.as_deref(), pin.from_me, pin.timestamp_ms, pin.until_ms),
        (Some(canonical::LI), false, Some(1700000010000), Some(1700604810000))
    );
    let kept = pinned.kept.as_ref().expect("kept by the owner");
    assert!(kept.from_me && kept.sender.as_deref() == Some(OWNER), "{kept:?}");
    assert!(by_id("7202").pinned.is_none(), "the later unpin wins");
    let call = by_id("7203").call.as_ref().expect("a call").clone();
    assert_eq!(
        (call.video, call.group, call.duration_ms, call.outcome.as_deref()),
        (true, true, Some(65_000), Some("answered"))
    );
    let missed = by_id("7204").call.as_ref().expect("a call").clone();
    assert_eq!((missed.video, missed.outcome.as_deref()), (false, Some("missed")));
    let invite = by_id("7205");
    assert_eq!(invite.kind, chatferry_core::MessageKind::Link);
    let link = invite.link.as_ref().expect("the group's link");
    assert_eq!((link.url.as_str(), link.title.as_deref()), ("https://chat.whatsapp.com/AbCdEfGh123", Some("Choir 🎶")));
    assert_eq!(invite.text.as_deref(), Some("join the choir"));

    let html = pages_of(&env, &out, dir.path());
    for want in [
        "📌 Pinned by 李雷",
        "🔖 Kept in the chat by you",
        "https://chat.whatsapp.com/AbCdEfGh123",
        "Choir 🎶",
        "李雷 joined from the community",
    ] {
        assert!(html.contains(want), "{want:?} not in the pages");
    }

    // The 2.22.5.13 template: the card as it was, the call as a text, the pins counted (§7).
    let wa_out = dir.path().join("w");
    let run = env.run(&["convert", s(&out), "--to", "whatsapp-android", "-o", s(&wa_out), "--opt", owner]).ok();
    assert!(run.stdout.contains("2 pins and keep-in-chat marks were not written"), "{}", run.stdout);
    let conn = rusqlite::Connection::open(wa_out.join("Databases/msgstore.db")).unwrap();
    let card: (i64, Option<String>, String, String, String) = conn
        .query_row(
            "SELECT m.message_type, m.text_data, i.group_name, i.invite_code, g.raw_string
             FROM message m JOIN message_group_invite i ON i.message_row_id = m._id
             JOIN jid g ON g._id = i.group_jid_row_id WHERE m.key_id = 'INV1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        card,
        (24, Some("join the choir".into()), "Choir 🎶".into(), "AbCdEfGh123".into(), canonical::FAMILY.into())
    );
    let call_text: String =
        conn.query_row("SELECT text_data FROM message WHERE key_id = 'CALL1'", [], |r| r.get(0)).unwrap();
    assert_eq!(call_text, "📞 Video call, answered, 65 s");
    let action: i64 = conn
        .query_row(
            "SELECT s.action_type FROM message m JOIN message_system s ON s.message_row_id = m._id WHERE m.key_id = 'SYS79'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(action, 79, "a community event goes back as its code");
    drop(conn);
    // An iPhone store has no known place for a pin: said, not dropped quietly.
    let run =
        env.run(&["convert", s(&out), "--to", "whatsapp-ios", "-o", s(&dir.path().join("i")), "--opt", owner]).ok();
    assert!(run.stdout.contains("the pin, keep-in-chat"), "{}", run.stdout);
}

#[test]
fn view_once_voice_video_notes_admin_deletes_and_text_before_an_edit_are_read_as_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let conn = rusqlite::Connection::open(&fx.msgstore).unwrap();
    let (chat, _, li, alice) = family_chat_li_alice(&conn);
    conn.execute_batch(&format!(
        "INSERT INTO message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, timestamp, message_type, text_data, sort_id)
         VALUES (7101, {chat}, 0, 'VO1', {li}, 1700000000000, 82, NULL, 7101),
                (7102, {chat}, 0, 'VN1', {li}, 1700000001000, 81, NULL, 7102),
                (7103, {chat}, 0, 'AD1', {alice}, 1700000002000, 64, NULL, 7103),
                (7104, {chat}, 0, 'ED1', {alice}, 1700000003000, 0, 'see you at eight', 7104);
         INSERT INTO message_edit_info (message_row_id, original_key_id, edited_timestamp, sender_timestamp)
         VALUES (7104, 'ED1', 1700000009000, 1700000009000);
         INSERT INTO message_ftsv2_content (docid, c0content) VALUES (7104, 'see you at seven');
         INSERT INTO message_media (message_row_id, chat_row_id, mime_type, file_path, media_duration)
         VALUES (7101, {chat}, 'audio/ogg; codecs=opus', NULL, 4), (7102, {chat}, 'video/mp4', NULL, 7);
         INSERT INTO message_revoked (message_row_id, revoked_key_id, admin_jid_row_id) VALUES (7103, 'AD1', {li});"
    ))
    .unwrap();
    drop(conn);
    let env = Env::new();
    let out = dir.path().join("a");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", "owner=+49 151 12345678"]).ok();
    let got = archive_messages(&out);
    let by_id = |id: &str| got.iter().find(|m| m.id == id).unwrap_or_else(|| panic!("message {id}"));
    let voice = by_id("7101");
    assert!(voice.kind == chatferry_core::MessageKind::Voice && voice.view_once, "{voice:?}");
    let note = by_id("7102");
    assert_eq!(note.kind, chatferry_core::MessageKind::Video);
    assert_eq!(note.extras["wa.message_type"], "81", "a video note stays one going back to WhatsApp");
    let deleted = by_id("7103");
    assert_eq!(deleted.kind, chatferry_core::MessageKind::Deleted);
    let by = deleted.system.as_ref().expect("who deleted it");
    assert_eq!((by.action.as_str(), by.actor.as_deref()), ("deleted_by_admin", Some(canonical::LI)));
    let html = pages_of(&env, &out, dir.path());
    assert!(html.contains("This message was deleted by 李雷"), "the admin is named");
    let edited = by_id("7104");
    assert_eq!((edited.text.as_deref(), edited.edited_ms), (Some("see you at eight"), Some(1700000009000)));
    assert_eq!(edited.earlier_texts, ["see you at seven"], "search still held the text before the edit");
    assert!(html.contains("before the edit") && html.contains("<s>see you at seven</s>"));
    // A store that keeps only the final text says what it left out.
    let run = env.run(&["convert", s(&out), "--to", "whatsapp-android", "-o", s(&dir.path().join("w"))]).ok();
    assert!(run.stdout.contains("1 edited message's earlier text was not written"), "{}", run.stdout);
    let conn = rusqlite::Connection::open(dir.path().join("w/Databases/msgstore.db")).unwrap();
    let types: Vec<i64> = conn
        .prepare("SELECT message_type FROM message WHERE key_id IN ('VO1', 'VN1', 'AD1') ORDER BY key_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|t| t.unwrap())
        .collect();
    assert_eq!(types, [15, 3, 2], "a delete, a video, a voice note: the template's forms (§7)");
}

#[test]
fn a_person_known_only_by_a_lid_is_written_under_it_said_and_can_be_given_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let conn = rusqlite::Connection::open(&fx.msgstore).unwrap();
    wa::add_tables_of_2026(&conn);
    conn.execute_batch(
        "INSERT INTO jid (_id, user, server, agent, device, type, raw_string)
             VALUES (3101, '70000000000009', 'lid', 0, 0, 18, '70000000000009@lid');
         INSERT INTO lid_display_name (lid_row_id, display_name) VALUES (3101, 'Ola');
         INSERT INTO chat (_id, jid_row_id, hidden) VALUES (3101, 3101, 0);
         INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id, timestamp, message_type, text_data, sort_id)
         VALUES (3101, 0, 'OLA1', 0, 1700000001000, 0, 'hei fra Ola', 1);",
    )
    .unwrap();
    drop(conn);
    let env = Env::new();
    let owner = "owner=+49 151 12345678";
    let plain = dir.path().join("plain");
    let run = env.run(&["convert", s(&fx.root), "--to", "whatsapp-android", "-o", s(&plain), "--opt", owner]).ok();
    assert!(
        run.stdout.contains("1 person known by no number was written under their hidden-number id"),
        "{}",
        run.stdout
    );

    let map = dir.path().join("map.toml");
    let args = ["convert", s(&fx.root), "--to", "whatsapp-android", "--opt", owner];
    env.run(&[&args[..], &["-o", s(&dir.path().join("unused")), "--write-contact-map", s(&map)]].concat()).ok();
    let text = std::fs::read_to_string(&map).unwrap();
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    let people = parsed["person"].as_array().unwrap();
    assert_eq!(people.len(), 1, "only who needs a number: {text}");
    assert_eq!((people[0]["name"].as_str(), people[0]["whatsapp"].as_str()), (Some("Ola"), Some("")), "{text}");
    std::fs::write(&map, text.replace("whatsapp = \"\"", "whatsapp = \"+47 412 34 567\"")).unwrap();
    let (wa_out, back) = (dir.path().join("wa"), dir.path().join("back"));
    env.run(&[&args[..], &["-o", s(&wa_out), "--contacts", s(&map)]].concat()).ok();
    env.run(&["convert", s(&wa_out), "--to", "archive", "-o", s(&back), "--opt", owner]).ok();
    let got = archive_messages(&back);
    let hei = got.iter().find(|m| m.text.as_deref() == Some("hei fra Ola")).unwrap();
    assert_eq!(hei.chat, "4741234567@s.whatsapp.net");
    assert!(!got.iter().any(|m| m.chat.ends_with("@lid")));
}

#[test]
fn a_generated_2026_store_with_a_person_split_under_two_ids_reads_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let env = Env::new();
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&before), "--opt", "owner=+49 151 12345678"]).ok();
    wa::split_person_under_lid(&fx.msgstore);
    let moved: i64 = rusqlite::Connection::open(&fx.msgstore)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM message m JOIN chat c ON c._id = m.chat_row_id JOIN jid j ON j._id = c.jid_row_id
             WHERE j.raw_string = '70000000000042@lid'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(moved > 0, "the generator moved some of Alice's messages under her LID");
    let run =
        env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&after), "--opt", "owner=+49 151 12345678"]).ok();
    assert!(run.stdout.contains("1 chat with a person under their hidden-number id (LID) joined"), "{}", run.stdout);
    // Chat by chat (a joined person's chat is read after the others).
    let ids = |dir: &Path| -> std::collections::BTreeMap<String, Vec<String>> {
        let mut by_chat = std::collections::BTreeMap::<String, Vec<String>>::new();
        for m in archive_messages(dir) {
            by_chat.entry(m.chat).or_default().push(m.extras.get("wa.key_id").cloned().unwrap_or_default());
        }
        by_chat
    };
    assert_eq!(ids(&after), ids(&before), "every message in the same chat and order as before the split");
}
