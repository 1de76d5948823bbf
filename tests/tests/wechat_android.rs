//! WeChat for Android, end to end through the CLI: the generated app
//! folder (real DDL, SQLCipher version-1 encryption) imports with every
//! detail; keys, WAL, damage and escapes; the export round-trips and opens
//! in Debian's `sqlcipher` CLI with the documented PRAGMAs.

use chatferry_core::testing::public_fixture;
use chatferry_core::{Message, MessageKind};
use chatferry_tests::fixtures::wechat_android::{self as wc, apply_key, md5_hex, Spec};
use chatferry_tests::fixtures::wechat_sample::{self as ws, OWNER};
use chatferry_tests::harness::{archive_messages, path_arg as s, tree, tree_digest, Env};
use std::path::Path;
use std::process::Command;

fn chats_of(archive: &Path) -> Vec<chatferry_core::Chat> {
    std::fs::read_to_string(archive.join("chats.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_app_folder_imports_with_every_message_and_detail() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("com.tencent.mm"), &Spec::default());
    let before = tree_digest(&fx.root);
    let env = Env::new();
    let found = env.run(&["detect", s(&fx.root), "--json"]).ok().json();
    assert_eq!(found[0]["adapter"], "wechat-android");
    let out = dir.path().join("archive");
    let report = dir.path().join("report.json");
    let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--report", s(&report)]).ok();
    assert_eq!(tree_digest(&fx.root), before, "the input changed");
    assert!(run.stdout.contains("default device id"), "says how it opened the database: {}", run.stdout);

    let media = tempfile::tempdir().unwrap();
    let want_all = ws::sample_history(media.path());
    let got = archive_messages(&out);
    assert_eq!(got.len(), want_all.messages.len());
    for (m, want) in got.iter().zip(&want_all.messages) {
        assert_eq!(m.id, want.id, "messages come grouped by chat, in time order");
        ws::assert_read_back(m, want, &out, &|id| id.to_string(), false, true);
    }
    let compressed = got.iter().find(|m| m.id == ws::forms::COMPRESSED).unwrap();
    assert_eq!(compressed.extras["wechat.raw_content_hex"], "28b52ffd2005fffe8081", "kept raw, not shown as text");

    let chats = chats_of(&out);
    for want in &want_all.chats {
        let c = chats.iter().find(|c| c.id == want.id).unwrap_or_else(|| panic!("chat {} missing", want.id));
        assert_eq!((c.kind, &c.title), (want.kind, &want.title), "chat {}", want.id);
        assert_eq!(c.participants, want.participants, "chat {}", want.id);
    }
    let contacts = std::fs::read_to_string(out.join("contacts.jsonl")).unwrap();
    for want in &want_all.contacts {
        let line = contacts.lines().find(|l| l.contains(&format!("\"id\":\"{}\"", want.id))).unwrap();
        let c: chatferry_core::Contact = serde_json::from_str(line).unwrap();
        assert_eq!((&c.name, &c.nickname, &c.alias), (&want.name, &want.nickname, &want.alias), "contact {}", want.id);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["owner"]["id"], OWNER, "{manifest}");

    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["media"]["missing"], 1, "the picture never downloaded");
    assert_eq!(r["read"]["payment"], 2);
    assert!(r["notes"].to_string().contains("kept as raw data"), "{}", r["notes"]);
}

#[test]
fn keys_come_from_the_person_and_wrong_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let imei = "861234567890123";
    let spec = Spec { imei: imei.into(), ..Spec::default() };
    let fx = wc::write_sample(&dir.path().join("app"), &spec);
    let env = Env::new();
    let out = |n: &str| dir.path().join(n);

    let failed = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out("a"))]).fails_with(1);
    let line = failed.error_lines().join("\n");
    assert!(line.contains("no key opened") && line.contains("--opt imei="), "{line}");
    assert!(line.contains(ws::UIN), "names the uin it tried: {line}");
    assert!(!out("a").exists());

    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out("b")), "--opt", &format!("imei={imei}")]).ok();
    env.run(&["convert", s(&fx.db), "--to", "archive", "-o", s(&out("c")), "--opt", &format!("key={}", fx.key)]).ok();
    // EnMicroMsg.db alone inside its folders, with the uin and IMEI given.
    env.run(&[
        "convert",
        s(&fx.db),
        "--to",
        "archive",
        "-o",
        s(&out("d")),
        "--opt",
        &format!("uin={}", ws::UIN),
        "--opt",
        &format!("imei={imei}"),
    ])
    .ok();
    assert_eq!(archive_messages(&out("b")), archive_messages(&out("c")));
    assert_eq!(archive_messages(&out("b")).len(), 34);

    let wrong =
        env.run(&["convert", s(&fx.db), "--to", "archive", "-o", s(&out("e")), "--opt", "key=abcdef0"]).fails_with(1);
    assert!(wrong.error_lines()[0].contains("the key you gave did not open"), "{:?}", wrong.error_lines());
    assert!(!wrong.stderr.contains("abcdef0"), "a key is never printed: {}", wrong.stderr);
    let bad = env.run(&["convert", s(&fx.db), "--to", "archive", "-o", s(&out("f")), "--opt", "key=xyz"]).fails_with(2);
    assert!(bad.error_lines()[0].contains("7 hexadecimal"), "{:?}", bad.error_lines());
    assert!(!bad.stderr.contains("xyz"), "{}", bad.stderr);

    // The key in a file, off the command line, opens it the same.
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{}\n", fx.key)).unwrap();
    let k = format!("key-file={}", s(&key_file));
    env.run(&["convert", s(&fx.db), "--to", "archive", "-o", s(&out("g")), "--opt", &k]).ok();
    assert_eq!(archive_messages(&out("g")), archive_messages(&out("c")));
    // A key typed where an option name goes is not echoed either.
    let long = "ab".repeat(2500);
    let typo = env.run(&["convert", s(&fx.db), "--to", "archive", "-o", s(&out("h")), "--opt", &long]).fails_with(2);
    assert!(!typo.stderr.contains(&long[..16]), "{}", typo.stderr);
    assert!(typo.error_lines()[0].contains("5000 characters, not shown"), "{}", typo.stderr);
}

#[test]
fn rows_only_in_the_wal_are_read_and_a_decrypted_copy_works_too() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec { wal_rows: 3, ..Spec::default() });
    assert!(fx.account.join("EnMicroMsg.db-wal").is_file());
    let before = tree_digest(&fx.root);
    let env = Env::new();
    let a = dir.path().join("a");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&a)]).ok();
    assert_eq!(tree_digest(&fx.root), before, "db and wal untouched, no -shm created");
    let got = archive_messages(&a);
    assert_eq!(got.len(), 37);
    assert_eq!(got.iter().filter(|m| m.text.as_deref().unwrap_or("").starts_with("only in the WAL")).count(), 3);

    let plain = wc::write_sample(&dir.path().join("plain"), &Spec { plain: true, ..Spec::default() });
    let b = dir.path().join("b");
    env.run(&["convert", s(&plain.db), "--to", "archive", "-o", s(&b)]).ok();
    assert_eq!(archive_messages(&b).len(), 34);
}

#[test]
fn bad_input_gets_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());

    // Truncated mid-page.
    let cut = dir.path().join("cut/EnMicroMsg.db");
    std::fs::create_dir_all(cut.parent().unwrap()).unwrap();
    let bytes = std::fs::read(&fx.db).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 100]).unwrap();
    let r = env.run(&[
        "convert",
        s(&cut),
        "--to",
        "archive",
        "-o",
        s(&dir.path().join("o1")),
        "--opt",
        &format!("key={}", fx.key),
    ]);
    let r = r.fails_with(1);
    assert_eq!(r.error_lines().len(), 1);
    assert!(r.error_lines()[0].contains("truncated or damaged"), "{:?}", r.error_lines());

    // A SQLCipher database that is not WeChat's: the public cracker fixture.
    if let Some(other) =
        public_fixture("wechat/chg-hou-test-EnMicroMsg.db", "bad keys, damage and escaping paths (the cracker fixture)")
    {
        let r = env
            .run(&[
                "convert",
                s(&other),
                "--from",
                "wechat-android",
                "--to",
                "archive",
                "-o",
                s(&dir.path().join("o2")),
                "--opt",
                "key=00001ef",
            ])
            .fails_with(1);
        assert!(r.error_lines()[0].contains("not WeChat's EnMicroMsg.db"), "{:?}", r.error_lines());
    }

    // Junk of page size.
    let junk = dir.path().join("junk/EnMicroMsg.db");
    std::fs::create_dir_all(junk.parent().unwrap()).unwrap();
    std::fs::write(&junk, vec![0x5a; 4096]).unwrap();
    let r = env
        .run(&["convert", s(&junk), "--to", "archive", "-o", s(&dir.path().join("o3")), "--opt", "uin=1"])
        .fails_with(1);
    assert!(r.error_lines()[0].contains("no key opened"), "{:?}", r.error_lines());

    // A video path that climbs out of the account folder.
    let conn = rusqlite::Connection::open(&fx.db).unwrap();
    apply_key(&conn, &fx.key);
    conn.execute("UPDATE message SET imgPath = '../../../../etc/hostname' WHERE type = 43", []).unwrap();
    drop(conn);
    let o4 = dir.path().join("o4");
    let report = dir.path().join("r.json");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&o4), "--report", s(&report)]).ok();
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["media"]["refused"], 1);
    assert!(r["notes"].to_string().contains("leads outside the media folder"), "{}", r["notes"]);

    // Two accounts and no way to tell: say which with --opt uin.
    let two = dir.path().join("two");
    wc::write_sample(&two, &Spec::default());
    let other_uin = "42";
    let second = two.join("MicroMsg").join(md5_hex(format!("mm{other_uin}")));
    std::fs::create_dir_all(&second).unwrap();
    std::fs::copy(&fx.db, second.join("EnMicroMsg.db")).unwrap();
    std::fs::remove_dir_all(two.join("shared_prefs")).unwrap();
    let r = env.run(&["convert", s(&two), "--to", "archive", "-o", s(&dir.path().join("o5"))]).fails_with(2);
    assert!(
        r.error_lines()[0].contains("several WeChat accounts") && r.error_lines()[0].contains("--opt uin="),
        "{:?}",
        r.error_lines()
    );
    env.run(&[
        "convert",
        s(&two),
        "--to",
        "archive",
        "-o",
        s(&dir.path().join("o6")),
        "--opt",
        &format!("uin={}", ws::UIN),
    ])
    .ok();
}

#[test]
fn wechat_to_archive_to_wechat_to_archive_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let env = Env::new();
    let (a, w, b) = (dir.path().join("a"), dir.path().join("w"), dir.path().join("b"));
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&a)]).ok();
    let run = env.run(&["convert", s(&a), "--to", "wechat-android", "-o", s(&w)]).ok();
    assert!(run.stdout.contains("taken from the source store"), "{}", run.stdout);
    env.run(&["convert", s(&w), "--to", "archive", "-o", s(&b)]).ok();
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (name, bytes) in &ta {
        assert!(bytes == &tb[name], "{name} differs after wechat-android → archive → wechat-android → archive");
    }
    // The layout a phone has: prefs, the account folder named by the uin.
    let account = w.join("MicroMsg").join(md5_hex(format!("mm{}", ws::UIN)));
    assert!(account.join("EnMicroMsg.db").is_file());
    assert!(!account.join("EnMicroMsg.db-wal").exists(), "one complete file");
    assert!(std::fs::read_to_string(w.join("shared_prefs/auth_info_key_prefs.xml")).unwrap().contains(ws::UIN));
    assert!(w.join("MicroMsg/Download/路线 2024 – 概览.pdf").is_file());
}

/// Debian's sqlcipher (3.4.1) with the PRAGMAs the format doc gives.
fn sqlcipher(db: &Path, key: &str, sql: &str) -> std::process::Output {
    let script = format!(
        "PRAGMA key = '{key}';\nPRAGMA cipher_use_hmac = OFF;\nPRAGMA cipher_page_size = 1024;\nPRAGMA kdf_iter = 4000;\n{sql}\n"
    );
    let mut child = Command::new("sqlcipher")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("Debian's sqlcipher is installed by .ci/run (apt-get install sqlcipher)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn debian_sqlcipher_opens_our_export_with_the_documented_pragmas() {
    let test = "debian_sqlcipher_opens_our_export_with_the_documented_pragmas";
    if chatferry_tests::harness::tool("sqlcipher", "Debian: apt-get install sqlcipher", test).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = chatferry_tests::fixtures::canonical::sample_archive_in(dir.path());
    let w = dir.path().join("w");
    let imei = "358240051111110";
    let uin = "1234567890";
    let run = Env::new()
        .run(&[
            "convert",
            s(&a),
            "--to",
            "wechat-android",
            "-o",
            s(&w),
            "--opt",
            &format!("uin={uin}"),
            "--opt",
            &format!("imei={imei}"),
            "--unmapped",
            "keep-as-name",
        ])
        .ok();
    assert!(run.stdout.contains("payment") && run.stdout.contains("poll"), "{}", run.stdout);
    let db = w.join("MicroMsg").join(md5_hex(format!("mm{uin}"))).join("EnMicroMsg.db");
    let key = md5_hex(format!("{imei}{uin}"))[..7].to_string();
    // sqlcipher opens WAL-mode files read-write: work on a copy.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let schema = std::fs::read_to_string(
        chatferry_tests::harness::workspace_root().join("plugins/wechat-android/schema/EnMicroMsg.sql"),
    )
    .unwrap();
    let indexes = schema.lines().filter(|l| l.contains("INDEX") && l.contains(" ON message (")).count();
    assert!(indexes >= 10, "{indexes}");
    let out = sqlcipher(
        &copy,
        &key,
        "SELECT count(*) FROM message;\nSELECT count(*) FROM rcontact;\nSELECT value FROM userinfo WHERE id = 9;
         SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message' AND name NOT LIKE 'sqlite_%';
         PRAGMA integrity_check;\nPRAGMA journal_mode;",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // 26 messages plus a text row for the one caption and an emoji reply for
    // the one reaction; 4 people and the owner (under placeholder ids, no
    // contact map here), 2 groups, the status feed. Then: the schema's
    // indexes (made after the rows) are there and whole, and the file is in
    // WAL mode, as WeChat keeps it.
    assert_eq!(
        lines,
        ["28", "8", uin, indexes.to_string().as_str(), "ok", "wal"],
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wrong = sqlcipher(&copy, "0000000", "SELECT count(*) FROM message;");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not a database"), "{:?}", wrong);
    // And it reads back: every sample message, in WeChat's closest forms.
    let b = dir.path().join("b");
    Env::new().run(&["convert", s(&w), "--to", "archive", "-o", s(&b), "--opt", &format!("imei={imei}")]).ok();
    let back = archive_messages(&b);
    assert_eq!(back.len(), 28);
    let kinds = |v: &[Message], k: MessageKind| v.iter().filter(|m| m.kind == k).count();
    assert_eq!(kinds(&back, MessageKind::Image), 2);
    assert_eq!(kinds(&back, MessageKind::Voice), 1);
    assert_eq!(kinds(&back, MessageKind::Document), 1);
    assert_eq!(kinds(&back, MessageKind::Location), 1);
    assert!(back.iter().any(|m| m.reply_to.is_some() && m.quoted_text.as_deref() == Some("…and just after ⏰")));
}

#[test]
fn wechat_pages_show_the_stores_own_words_for_system_rows() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let html = dir.path().join("html");
    Env::new().run(&["convert", s(&fx.root), "--to", "html", "-o", s(&html)]).ok();
    let pages: String = (0..3)
        .map(|n| std::fs::read_to_string(html.join(format!("chats/{n}/page-1.html"))).unwrap_or_default())
        .collect();
    assert!(
        pages.contains("加入了群聊") && pages.contains("拍了拍"),
        "the invite and the pat are worded as WeChat wrote them"
    );
    assert!(pages.contains("wxid_zhang3wei:\n这不是前缀，是我发的"), "a sent text keeps its `x:` first line");
}
