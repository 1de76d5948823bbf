//! WhatsApp Android export: round trips, and third-party readers
//! (whatsapp-chat-exporter, wa-crypt-tools from PyPI) reading our output.

use chatferry_tests::fixtures::canonical;
use chatferry_tests::fixtures::whatsapp_android as wa;
use chatferry_tests::harness::{exported_messages, interop_venv, path_arg as s, tree, whatsapp_chat_exporter, Env};
use std::path::Path;
use std::process::Command;

const OWNER: &str = "owner=+4915112345678";
const E2E_KEY: &str = "6730a595a1484d0c39c101dc0ac82ec5e401bb6f0e1b8ee2dc104a6b3687f017";

#[test]
fn whatsapp_to_archive_to_whatsapp_to_archive_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let env = Env::new();
    let (a, w, b) = (dir.path().join("a"), dir.path().join("w"), dir.path().join("b"));
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&a), "--opt", OWNER]).ok();
    env.run(&["convert", s(&a), "--to", "whatsapp-android", "-o", s(&w), "--opt", OWNER]).ok();
    env.run(&["convert", s(&w), "--to", "archive", "-o", s(&b), "--opt", OWNER]).ok();
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (name, bytes) in &ta {
        assert!(bytes == &tb[name], "{name} differs after whatsapp-android → archive → whatsapp-android → archive");
    }
    // The media files sit where the store points, as on the phone.
    assert!(w.join("Media/WhatsApp Voice Notes/202443").is_dir());
}

#[test]
fn the_export_has_consistent_bookkeeping() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let w = dir.path().join("w");
    let run = Env::new().run(&["convert", s(&a), "--to", "whatsapp-android", "-o", s(&w), "--opt", OWNER]).ok();
    assert!(run.stdout.contains("1 payment downgraded") && run.stdout.contains("1 poll downgraded"), "{}", run.stdout);
    let db = rusqlite::Connection::open(w.join("Databases/msgstore.db")).unwrap();
    let q = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("SELECT count(*) FROM message WHERE chat_row_id > 0"), 26);
    assert_eq!(
        q("SELECT count(*) FROM message WHERE _id = 1 AND chat_row_id = -1 AND key_id = '-1'"),
        1,
        "placeholder row"
    );
    assert_eq!(q("SELECT count(*) FROM message WHERE sort_id <> _id AND _id > 1"), 0);
    assert_eq!(
        q("SELECT count(*) FROM chat WHERE last_message_row_id IS NOT (SELECT max(_id) FROM message m WHERE m.chat_row_id = chat._id)"),
        0
    );
    assert_eq!(q("SELECT count(*) FROM chat WHERE jid_row_id NOT IN (SELECT _id FROM jid)"), 0);
    assert_eq!(q("SELECT count(*) FROM message WHERE sender_jid_row_id > 0 AND sender_jid_row_id NOT IN (SELECT _id FROM jid)"), 0);
    // No other sender is 0, never NULL: whatsapp-chat-exporter compares it with 0.
    assert_eq!(q("SELECT count(*) FROM message WHERE _id > 1 AND sender_jid_row_id IS NULL"), 0);
    assert_eq!(q("SELECT count(*) FROM sqlite_master WHERE name = 'messages'"), 0, "no legacy table");
    assert_eq!(q("PRAGMA user_version"), 1);
    assert_eq!(
        q("SELECT count(*) FROM message_quoted q JOIN message m ON m.key_id = q.key_id"),
        1,
        "the reply points at its quote"
    );
    assert_eq!(q("SELECT count(*) FROM message_add_on_reaction"), 1);
    assert_eq!(q("SELECT count(*) FROM props WHERE key = 'chat_ready'"), 1);
    let wa_db = rusqlite::Connection::open(w.join("wa.db")).unwrap();
    let n: i64 = wa_db.query_row("SELECT count(*) FROM wa_contacts", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 4);
    // The store's indexes (made after the rows) are all there, and whole.
    let indexes: i64 = q("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'");
    assert!(indexes >= 70, "{indexes} indexes");
    assert_eq!(q("SELECT count(*) FROM sqlite_master WHERE name = 'message_key_index'"), 1);
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn two_messages_with_one_key_in_a_group_are_both_kept() {
    // A merged history can hold the same group message twice (same chat,
    // sender and key id); WhatsApp's unique message_key_index allows one.
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let lines_path = a.join("messages.jsonl");
    let mut lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&lines_path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let i = lines
        .iter()
        .position(|m| m["chat"].as_str().unwrap().ends_with("@g.us") && m["from_me"] == false && m["kind"] == "text")
        .expect("a received group text");
    lines[i]["extras"]["wa.key_id"] = "SAMEKEY".into();
    let mut twin = lines[i].clone();
    twin["id"] = "twin-of-a-group-message".into();
    twin["text"] = "the twin".into();
    lines.insert(i + 1, twin);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&lines_path, text).unwrap();

    let w = dir.path().join("w");
    let run = Env::new().run(&["convert", s(&a), "--to", "whatsapp-android", "-o", s(&w), "--opt", OWNER]).ok();
    assert!(run.stdout.contains("had the same key id"), "{}", run.stdout);
    let db = rusqlite::Connection::open(w.join("Databases/msgstore.db")).unwrap();
    let keys: Vec<(String, String)> = db
        .prepare("SELECT key_id, text_data FROM message WHERE key_id LIKE 'SAMEKEY%' ORDER BY _id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0].0, "SAMEKEY");
    assert!(keys[1].0.starts_with("SAMEKEY-") && keys[1].1 == "the twin", "{keys:?}");
    // The unique index failed once, was rolled back and made again: it is
    // there and the store is whole.
    let q = |sql: &str| -> String { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("SELECT name FROM sqlite_master WHERE name = 'message_key_index'"), "message_key_index");
    assert_eq!(q("PRAGMA integrity_check"), "ok");
    assert_eq!(
        db.query_row("SELECT count(*) FROM message WHERE chat_row_id > 0", [], |r| r.get::<_, i64>(0)).unwrap(),
        27
    );
}

#[test]
fn whatsapp_row_ids_are_kept_and_a_taken_one_gets_the_next_free_row() {
    // From WhatsApp Android itself, messages keep their row ids; a merged
    // history can carry one id twice, and the second (here the last message
    // written) gets the next row after all of them.
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let env = Env::new();
    let a = dir.path().join("a");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&a), "--opt", OWNER]).ok();
    let lines_path = a.join("messages.jsonl");
    let mut lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&lines_path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let i = lines.iter().position(|m| m["kind"] == "text" && m["from_me"] == true).expect("a sent text");
    let mut twin = lines[i].clone();
    twin["extras"]["wa.key_id"] = "TWINKEY".into();
    twin["text"] = "the twin".into();
    lines.push(twin);
    let original_row: i64 = lines[i]["id"].as_str().unwrap().parse().unwrap();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&lines_path, text).unwrap();

    let w = dir.path().join("w");
    env.run(&["convert", s(&a), "--to", "whatsapp-android", "-o", s(&w), "--opt", OWNER]).ok();
    let db = rusqlite::Connection::open(w.join("Databases/msgstore.db")).unwrap();
    let q = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    let source_rows = lines.len() as i64 - 1;
    assert_eq!(q("SELECT count(*) FROM message WHERE chat_row_id > 0"), source_rows + 1);
    let kept: i64 = q(&format!(
        "SELECT count(*) FROM message WHERE _id IN ({}) AND key_id != 'TWINKEY'",
        lines.iter().map(|l| l["id"].as_str().unwrap().to_string()).collect::<Vec<_>>().join(",")
    ));
    assert_eq!(kept, source_rows, "every source message kept its row id");
    assert_eq!(q(&format!("SELECT count(*) FROM message WHERE _id = {original_row} AND key_id != 'TWINKEY'")), 1);
    assert_eq!(q("SELECT _id FROM message WHERE key_id = 'TWINKEY'"), q("SELECT max(_id) FROM message"));
    assert_eq!(q("SELECT count(*) FROM message WHERE text_data = 'the twin'"), 1);
    assert_eq!(q("SELECT count(*) FROM message WHERE _id > 1 AND sort_id != _id"), 0, "sort_id follows the row");
    assert_eq!(
        q("SELECT seq FROM sqlite_sequence WHERE name = 'message'"),
        q("SELECT max(_id) FROM message"),
        "AUTOINCREMENT's counter is where WhatsApp will continue"
    );
}

#[test]
fn whatsapp_chat_exporter_reads_every_message_of_our_msgstore() {
    if interop_venv("whatsapp_chat_exporter_reads_every_message_of_our_msgstore").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let w = dir.path().join("w");
    Env::new().run(&["convert", s(&a), "--to", "whatsapp-android", "-o", s(&w), "--opt", OWNER]).ok();
    let json = whatsapp_chat_exporter(
        &dir.path().join("exporter"),
        &["-a", "-d", s(&w.join("Databases/msgstore.db")), "-w", s(&w.join("wa.db")), "-m", s(&w)],
    );
    let chats = json.as_object().unwrap();
    let all = exported_messages(&json);
    assert_eq!(all.len(), 26, "every message present");
    assert_eq!(chats[canonical::FAMILY]["name"], "家族 👨‍👩‍👧");
    assert_eq!(chats[canonical::ALICE]["name"], "Alice 🌸");
    let texts: Vec<&str> = all.iter().filter_map(|m| m["data"].as_str()).collect();
    for needle in [
        "大家好！今天晚上一起吃饭吗？🍜",
        "مرحبا بالجميع! كيف حالكم؟ 🌙",
        "Red packet: 88.88 CNY",
        "Poll: Dinner where?",
    ] {
        assert!(texts.iter().any(|t| t.contains(needle)), "{needle} not read: {texts:?}");
    }
    let reacted = all.iter().filter(|m| m["reactions"].as_object().is_some_and(|r| !r.is_empty())).count();
    assert_eq!(reacted, 1);
    let replies = all.iter().filter(|m| !m["reply"].is_null()).count();
    assert_eq!(replies, 1, "the reply is linked to its quote");
    // whatsapp-chat-exporter 0.13.1 calls fetchone() on its media cursor
    // before looping over it, so it drops one media row of every store; all
    // other media rows (5 in the sample, one of them missing) must be read.
    let media = all.iter().filter(|m| m["media"] == true).count();
    assert!(media >= 4, "{media} media read");
}

#[test]
fn our_crypt15_decrypts_with_wa_crypt_tools_to_the_same_store() {
    let Some(venv) = interop_venv("our_crypt15_decrypts_with_wa_crypt_tools_to_the_same_store") else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let key = dir.path().join("e2e.key");
    std::fs::write(&key, format!("{E2E_KEY}\n")).unwrap();
    let (plain, enc) = (dir.path().join("plain"), dir.path().join("enc"));
    let env = Env::new();
    env.run(&["convert", s(&a), "--to", "whatsapp-android", "-o", s(&plain), "--opt", OWNER]).ok();
    let run = env
        .run(&[
            "convert",
            s(&a),
            "--to",
            "whatsapp-android",
            "-o",
            s(&enc),
            "--opt",
            OWNER,
            "--opt",
            &format!("key-file={}", s(&key)),
        ])
        .ok();
    assert!(run.stdout.contains("crypt15") && run.stdout.contains("ending in 78"), "{}", run.stdout);
    let crypt = enc.join("Databases/msgstore.db.crypt15");
    assert!(crypt.is_file() && !enc.join("Databases/msgstore.db").exists(), "only the encrypted store is written");
    let decrypted = dir.path().join("decrypted.db");
    let out = Command::new(venv.join("bin/wadecrypt")).args([E2E_KEY, s(&crypt), s(&decrypted)]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = |p: &Path| -> Vec<(String, Option<String>)> {
        let c = rusqlite::Connection::open(p).unwrap();
        let mut st = c.prepare("SELECT key_id, text_data FROM message ORDER BY _id").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    let got = rows(&decrypted);
    assert_eq!(got.len(), 27);
    assert_eq!(got, rows(&plain.join("Databases/msgstore.db")));
    // And chatferry reads its own backup back.
    let back = dir.path().join("back");
    env.run(&["convert", s(&enc), "--to", "archive", "-o", s(&back), "--opt", &format!("key-file={}", s(&key))]).ok();
    assert_eq!(std::fs::read_to_string(back.join("messages.jsonl")).unwrap().lines().count(), 26);
}

#[test]
fn a_crypt15_needs_to_know_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let key = dir.path().join("e2e.key");
    std::fs::write(&key, E2E_KEY).unwrap();
    let out = dir.path().join("o");
    let run = Env::new()
        .run(&[
            "convert",
            s(&fx.root),
            "--to",
            "whatsapp-android",
            "-o",
            s(&out),
            "--opt",
            &format!("key-file={}", s(&key)),
        ])
        .fails_with(2);
    assert!(run.error_lines()[0].contains("--opt owner="), "{}", run.stderr);
    assert!(!out.exists());
}
