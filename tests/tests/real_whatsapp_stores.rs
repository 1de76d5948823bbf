//! Every real WhatsApp Android store in ../shared/fixtures/public/whatsapp,
//! imported through the CLI and checked against what the app (or the
//! fixture's own oracle) shows: the 2020–2021 transitional schema (history
//! in the legacy `messages` table), the 2022 store with its crypt12/14/15
//! backups, and the 2023–2026 dumps with their newer message types.

use chatferry_core::{Message, MessageKind};
use chatferry_tests::harness::{archive_messages, path_arg as s, public_fixture, tree_digest, Env};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Converts `input` (plus `args`) to an archive; the messages and the JSON report.
fn import(input: &Path, args: &[&str], out: &Path) -> (Vec<Message>, serde_json::Value) {
    let report = out.with_extension("report.json");
    let mut full = vec!["convert", s(input), "--from", "whatsapp-android", "--to", "archive", "-o", s(out)];
    full.extend(["--report", s(&report)]);
    full.extend(args);
    let before = tree_digest(input.parent().unwrap());
    Env::new().run(&full).ok();
    assert_eq!(tree_digest(input.parent().unwrap()), before, "the input folder changed");
    (archive_messages(out), serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap())
}

fn kinds(messages: &[Message]) -> BTreeMap<&'static str, usize> {
    let mut k = BTreeMap::new();
    for m in messages {
        *k.entry(m.kind.as_str()).or_default() += 1;
    }
    k
}

fn notes(report: &serde_json::Value) -> String {
    report["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect::<Vec<_>>().join("\n")
}

fn utc(m: &Message) -> String {
    chatferry_core::time::format_utc(m.timestamp_ms)[..19].to_string()
}

/// A chat-history-manager SQL dump loaded into a database of its own.
fn load_dump(name: &str, dir: &Path) -> Option<PathBuf> {
    let sql = public_fixture(&format!("whatsapp/chat-history-manager/{name}/msgstore.sql"), name)?;
    let db = dir.join(name).join("msgstore.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(&std::fs::read_to_string(sql).unwrap()).unwrap();
    Some(db)
}

#[test]
fn iped_2021_transitional_store_imports_its_whole_legacy_history() {
    let test = "iped_2021_transitional_store_imports_its_whole_legacy_history";
    let Some(db) = public_fixture("whatsapp/IPED-2021/test_whatsAppMsgStore.db", test) else { return };
    let wa_db = db.with_file_name("test_whatsApp.db");
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(db.with_file_name("expected").join("iped_whatsapp_expected.json")).unwrap(),
    )
    .unwrap();
    let oracle = &expected["tests"]["testWhatsAppParserAndroid"];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("archive");
    let (messages, report) = import(&db, &["--opt", &format!("wa-db={}", s(&wa_db))], &out);

    // IPED's own parser shows 74 messages and 29 chats on this phone.
    assert_eq!(messages.len() as u64, oracle["list_sizes"]["messagebody"].as_u64().unwrap());
    assert_eq!(report["chats"], oracle["list_sizes"]["participants"]);
    let notes = notes(&report);
    assert!(notes.contains("2020–2021 transition"), "{notes}");
    assert!(notes.contains("placeholder rows"), "{notes}");
    assert!(!notes.contains("left over"), "the legacy rows are the history, not left-overs: {notes}");

    // The texts and times IPED asserts, in the chat with Nickerida.
    let nick: Vec<&Message> = messages.iter().filter(|m| m.chat == "556183125151@s.whatsapp.net").collect();
    assert_eq!(nick.len(), 5);
    let texts: Vec<(String, Option<&str>)> = nick.iter().map(|m| (utc(m), m.text.as_deref())).collect();
    for (when, text) in [
        ("2021-06-14T18:55:54", "This is a test for the IPED Whatsapp Parser."),
        ("2021-06-14T19:02:25", "Would you still say you love me"),
        ("2021-06-14T19:02:33", "The game is over"),
        ("2021-06-16T17:01:34", "Teste"),
    ] {
        assert!(texts.contains(&(when.to_string(), Some(text))), "{when} {text:?} not in {texts:?}");
    }
    let notice = nick.iter().find(|m| m.kind == MessageKind::System).expect("the encryption notice");
    assert_eq!(utc(notice), "2021-06-14T18:55:54");
    assert_eq!(notice.system.as_ref().unwrap().action, "encryption_notice");
    // A group event of 2016 (IPED's messagedate index 42).
    assert!(
        messages.iter().any(|m| m.kind == MessageKind::System && utc(m) == "2016-04-29T21:15:08"),
        "the 2016 group event"
    );
    // Each message once: no id twice.
    let mut ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), messages.len());
    // Names come from its wa.db.
    let contacts = std::fs::read_to_string(out.join("contacts.jsonl")).unwrap();
    assert!(contacts.contains("Nickerida"), "wa.db names");
}

#[test]
fn digital_corpora_android10_2020_store_imports_texts_images_and_places() {
    let test = "digital_corpora_android10_2020_store_imports_texts_images_and_places";
    let Some(db) = public_fixture("whatsapp/digital-corpora-android10-2020/msgstore.db", test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (messages, report) = import(&db, &[], &dir.path().join("archive"));
    // 11 legacy rows: the placeholder and 10 messages of one chat.
    assert_eq!(messages.len(), 10);
    assert_eq!(kinds(&messages), BTreeMap::from([("image", 2), ("location", 5), ("system", 1), ("text", 2)]));
    assert!(messages.iter().all(|m| m.chat == "19198887386@s.whatsapp.net"));
    for m in messages.iter().filter(|m| m.kind == MessageKind::Location) {
        let l = m.location.as_ref().unwrap();
        assert!(l.latitude != 0.0 && l.longitude != 0.0, "message {}: {l:?}", m.id);
    }
    let first = messages.iter().map(|m| m.timestamp_ms).min().unwrap();
    assert_eq!(chatferry_core::time::format_utc(first)[..10], *"2020-09-23");
    let notes = notes(&report);
    assert!(notes.contains("4 entries of the call log"), "{notes}");
    assert_eq!(report["media"]["missing"], 2, "the two photos' files are not in the fixture");
}

#[test]
fn the_2022_store_has_only_expired_stories_and_says_so_in_every_backup_form() {
    let test = "the_2022_store_has_only_expired_stories_and_says_so_in_every_backup_form";
    let Some(dir_in) = public_fixture("whatsapp/wa-crypt-tools", test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = format!("key-file={}", s(&dir_in.join("key")));
    let mut archives = Vec::new();
    for (file, args) in [("msgstore.db", vec![]), ("msgstore.db.crypt12", vec!["--opt", &key])] {
        let out = dir.path().join(file);
        let (messages, report) = import(&dir_in.join(file), &args, &out);
        assert!(messages.is_empty(), "{file}");
        let notes = notes(&report);
        assert!(notes.contains("9 expired status updates"), "{file}: {notes}");
        assert!(notes.contains("8 hidden chat rows"), "{file}: {notes}");
        archives.push(std::fs::read(out.join("chats.jsonl")).unwrap());
    }
    assert_eq!(archives[0], archives[1], "crypt12 decrypts to the same store");
}

#[test]
fn the_2023_10_dump_keeps_its_reply_edit_forward_place_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = load_dump("whatsapp-android_2023-10", dir.path()) else { return };
    let (messages, _) = import(&db, &[], &dir.path().join("archive"));
    assert_eq!(kinds(&messages), BTreeMap::from([("deleted", 1), ("location", 1), ("system", 1), ("text", 1)]));
    let by_id: BTreeMap<&str, &Message> = messages.iter().map(|m| (m.id.as_str(), m)).collect();
    let last = by_id["750"];
    assert_eq!(last.text.as_deref(), Some("Last group message"));
    assert_eq!(last.reply_to.as_deref(), Some("169"));
    assert!(last.edited && last.forwarded);
    let joined = by_id["169"].system.as_ref().unwrap();
    assert_eq!(joined.action, "member_added");
    let place = by_id["4863"].location.as_ref().unwrap();
    assert_eq!(place.name.as_deref(), Some("New Bahari"));
    assert!(place.live, "type 16 is a live location");
}

#[test]
fn the_2026_dumps_read_interactive_albums_products_and_orders_with_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let Some(jan) = load_dump("whatsapp-android_2026-01", dir.path()) else { return };
    let Some(may) = load_dump("whatsapp-android_2026-05", dir.path()) else { return };

    let (messages, report) = import(&jan, &[], &dir.path().join("jan"));
    assert_eq!(messages.len(), 1);
    let ui = &messages[0];
    assert_eq!(ui.kind, MessageKind::Text);
    let text = ui.text.as_deref().unwrap();
    assert!(text.starts_with("Line 1\nLine 2\n\nLine 3"), "{text}");
    assert!(text.contains("https://w.meta.me/s/SOMETHING") && text.contains("New Bahari"), "{text}");
    assert_eq!(ui.extras["wa.original_type"], "85");
    assert!(notes(&report).contains("interactive message (type 85)"));

    let (messages, report) = import(&may, &[], &dir.path().join("may"));
    assert!(messages.iter().all(|m| m.kind != MessageKind::Other), "no known type is read as `other`");
    assert_eq!(kinds(&messages), BTreeMap::from([("image", 4)]));
    let by_id: BTreeMap<&str, &Message> = messages.iter().map(|m| (m.id.as_str(), m)).collect();
    let caption = |id: &str| by_id[id].media.as_ref().unwrap().caption.clone().unwrap_or_default();
    assert_eq!(caption("12241"), "🛍 Item Title\nItem Description");
    assert_eq!(by_id["12241"].extras["wa.product.title"], "Item Title");
    assert_eq!(caption("12205"), "🛒 Order: Order Title (1 item)");
    assert_eq!(by_id["12205"].media.as_ref().unwrap().file_name.as_deref(), Some("sent-cart-real-name.jpeg"));
    for photo in ["12115", "12116"] {
        assert_eq!(by_id[photo].extras["wa.parent_row"], "12114", "album photo {photo}");
    }
    assert_eq!(caption("12115"), "Multiline\n\nmessage");
    let notes = notes(&report);
    assert!(notes.contains("1 album row (type 99"), "{notes}");
    assert!(notes.contains("business product (type 23)") && notes.contains("order or cart (type 44)"), "{notes}");
}

#[test]
fn an_unknown_message_type_keeps_its_code_and_text_and_is_named_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = load_dump("whatsapp-android_2023-10", dir.path()) else { return };
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO message SELECT 9001, chat_row_id, 0, 'FUTURE1', sender_jid_row_id, 0, 0, 0, NULL, 0, 0,
                1700000000000, 1700000000000, -1, 777, 'a body from the future', 0, 0, 9001, 0, NULL
         FROM message WHERE _id = 4863",
    )
    .unwrap();
    drop(conn);
    let (messages, report) = import(&db, &[], &dir.path().join("archive"));
    let future = messages.iter().find(|m| m.id == "9001").expect("the unknown type is imported");
    assert_eq!(future.kind, MessageKind::Other);
    assert_eq!(future.text.as_deref(), Some("a body from the future"));
    assert_eq!(future.extras["wa.message_type"], "777");
    assert!(notes(&report).contains("message 9001: unknown WhatsApp message type 777"), "{}", notes(&report));
    assert_eq!(report["read"]["other"], 1);
}

#[test]
fn a_transitional_store_reads_each_message_once_with_ids_that_never_clash() {
    // The real 2022 DDL, both tables: one message in `message`; in the
    // legacy table the same message again, one only there whose `_id` a
    // modern row already has, and a reply to the first.
    let test = "a_transitional_store_reads_each_message_once_with_ids_that_never_clash";
    let Some(real) = public_fixture("whatsapp/wa-crypt-tools/msgstore.db", test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("in").join("msgstore.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::copy(real, &db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO jid (_id, user, server, agent, device, type, raw_string)
             VALUES (2000, '4915112345678', 's.whatsapp.net', 0, 0, 0, '4915112345678@s.whatsapp.net');
         INSERT INTO chat (_id, jid_row_id, hidden) VALUES (50, 2000, 0);
         INSERT INTO message (_id, chat_row_id, from_me, key_id, timestamp, message_type, text_data, sort_id)
             VALUES (5, 50, 0, 'K1', 1600000000000, 0, 'in both tables', 5);
         INSERT INTO messages (_id, key_remote_jid, key_from_me, key_id, status, data, timestamp, media_wa_type)
             VALUES (20, '4915112345678@s.whatsapp.net', 0, 'K1', 0, 'in both tables', 1600000000000, '0'),
                    (5, '4915112345678@s.whatsapp.net', 1, 'K2', 13, 'only in the legacy table', 1600000001000, '0'),
                    (21, '4915112345678@s.whatsapp.net', 1, 'K3', 13, 'a reply', 1600000002000, '0');
         INSERT INTO messages_quotes (_id, key_remote_jid, key_from_me, key_id, data)
             VALUES (1, '4915112345678@s.whatsapp.net', 0, 'K1', 'in both tables');
         UPDATE messages SET quoted_row_id = 1 WHERE _id = 21;",
    )
    .unwrap();
    drop(conn);
    let (messages, report) = import(&db, &[], &dir.path().join("archive"));
    let got: BTreeMap<&str, (&str, Option<&str>)> =
        messages.iter().map(|m| (m.id.as_str(), (m.text.as_deref().unwrap_or(""), m.reply_to.as_deref()))).collect();
    assert_eq!(
        got,
        BTreeMap::from([
            ("5", ("in both tables", None)),
            ("legacy-5", ("only in the legacy table", None)),
            ("21", ("a reply", Some("5"))),
        ]),
        "each message once; the legacy row whose _id is taken gets another id; the reply points at the modern row"
    );
    let notes = notes(&report);
    assert!(notes.contains("1 row of the legacy `messages` table also in the `message` table"), "{notes}");
    assert!(notes.contains("9 expired status updates"), "{notes}");
}

#[test]
fn what_chatferry_may_not_read_is_a_permission_error_not_a_wrong_format() {
    use chatferry_tests::harness::open_to_all;
    use std::os::unix::fs::PermissionsExt;
    let test = "what_chatferry_may_not_read_is_a_permission_error_not_a_wrong_format";
    let Some(real) = public_fixture("whatsapp/wa-crypt-tools/msgstore.db", test) else { return };
    let dir = tempfile::tempdir().unwrap();
    open_to_all(dir.path());
    let lock = |p: &Path| std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o000)).unwrap();
    // A store file, a WhatsApp folder whose Databases/ is closed, an iPhone backup folder.
    let file = dir.path().join("msgstore.db");
    std::fs::copy(&real, &file).unwrap();
    let folder = dir.path().join("WhatsApp");
    std::fs::create_dir_all(folder.join("Databases")).unwrap();
    std::fs::copy(&real, folder.join("Databases/msgstore.db")).unwrap();
    let backup = dir.path().join("MobileSync/Backup/00008030-001A2B3C4D5E");
    std::fs::create_dir_all(&backup).unwrap();
    open_to_all(&dir.path().join("MobileSync"));
    open_to_all(&dir.path().join("MobileSync/Backup"));
    lock(&file);
    lock(&folder.join("Databases"));
    lock(&backup);
    let out = dir.path().join("out");
    for (input, names, hint) in [
        (&file, file.clone(), "check its permissions"),
        (&folder, folder.join("Databases"), "check its permissions"),
        (&backup, backup.clone(), "Full Disk Access"),
    ] {
        let Some(run) = Env::new().run_unprivileged(&["convert", s(input), "--to", "archive", "-o", s(&out)], test)
        else {
            return;
        };
        let run = run.fails_with(1);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains("permission denied: ") && errors[0].contains(s(&names)), "{}", errors[0]);
        assert!(errors[0].contains(hint), "{}", errors[0]);
        assert!(!out.exists());
    }
}

#[test]
fn a_store_missing_its_message_or_jid_table_stops_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = load_dump("whatsapp-android_2023-10", dir.path()) else { return };
    for table in ["message", "jid"] {
        let broken = dir.path().join(format!("without-{table}")).join("msgstore.db");
        std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
        std::fs::copy(&db, &broken).unwrap();
        rusqlite::Connection::open(&broken).unwrap().execute_batch(&format!("DROP TABLE {table}")).unwrap();
        let out = dir.path().join(format!("out-{table}"));
        let run = Env::new()
            .run(&["convert", s(&broken), "--from", "whatsapp-android", "--to", "archive", "-o", s(&out)])
            .fails_with(1);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains(&format!("no `{table}` table")), "{}", errors[0]);
        assert!(!out.exists(), "nothing is written");
    }
}
