//! WhatsApp iOS: round trips, Android → iOS, iPhone backups, bad input, and
//! whatsapp-chat-exporter reading our ChatStorage.sqlite.

use chatferry_core::Message;
use chatferry_tests::fixtures::whatsapp_android as wa;
use chatferry_tests::fixtures::{canonical, ios_backup};
use chatferry_tests::harness::{
    archive_messages, exported_messages, interop_venv, ios_sample, path_arg as s, tree, tree_digest,
    whatsapp_chat_exporter, Env,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const OWNER: &str = "owner=+4915112345678";

#[test]
fn ios_to_archive_to_ios_to_archive_is_identical_and_keeps_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let w = ios_sample(dir.path());
    let before = tree_digest(&w);
    let env = Env::new();
    let (a, w2, b) = (dir.path().join("a"), dir.path().join("w2"), dir.path().join("b"));
    env.run(&["convert", s(&w), "--to", "archive", "-o", s(&a), "--opt", OWNER]).ok();
    env.run(&["convert", s(&a), "--to", "whatsapp-ios", "-o", s(&w2), "--opt", OWNER]).ok();
    env.run(&["convert", s(&w2), "--to", "archive", "-o", s(&b), "--opt", OWNER]).ok();
    assert_eq!(tree_digest(&w), before, "the input changed");
    assert_eq!(tree(&a), tree(&b));
    // Apple-epoch seconds: before 1970, before 2001, after 2038, to the millisecond.
    let got: Vec<i64> = archive_messages(&a).iter().map(|m| m.timestamp_ms).collect();
    for t in [
        canonical::times::MOON_LANDING,
        canonical::times::Y2K_EVE,
        canonical::times::DST_SPRING,
        canonical::times::AFTER_2038,
    ] {
        assert!(got.contains(&t), "{t} lost: {got:?}");
    }
}

#[test]
fn the_store_has_consistent_core_data_bookkeeping() {
    let dir = tempfile::tempdir().unwrap();
    let w = ios_sample(dir.path());
    let db = rusqlite::Connection::open(w.join("ChatStorage.sqlite")).unwrap();
    let q = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("SELECT count(*) FROM ZWAMESSAGE"), 26);
    for (table, name) in
        [("ZWAMESSAGE", "WAMessage"), ("ZWACHATSESSION", "WAChatSession"), ("ZWAMEDIAITEM", "WAMediaItem")]
    {
        let ent: i64 = db.query_row("SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = ?1", [name], |r| r.get(0)).unwrap();
        assert_eq!(q(&format!("SELECT count(*) FROM {table} WHERE Z_ENT <> {ent} OR Z_OPT < 1")), 0, "{table}");
        assert_eq!(
            q(&format!("SELECT Z_MAX FROM Z_PRIMARYKEY WHERE Z_NAME = '{name}'")),
            q(&format!("SELECT max(Z_PK) FROM {table}")),
            "{name} Z_MAX"
        );
    }
    // ZSORT runs 1..n in every chat; the counter is the next one; the last message fields agree.
    assert_eq!(
        q("SELECT count(*) FROM ZWACHATSESSION c WHERE ZMESSAGECOUNTER <> (SELECT count(*) + 1 FROM ZWAMESSAGE m WHERE m.ZCHATSESSION = c.Z_PK)"),
        0
    );
    assert_eq!(
        q("SELECT count(*) FROM (SELECT ZCHATSESSION, ZSORT FROM ZWAMESSAGE GROUP BY 1, 2 HAVING count(*) > 1)"),
        0
    );
    assert_eq!(
        q("SELECT count(*) FROM ZWACHATSESSION c JOIN ZWAMESSAGE m ON m.Z_PK = c.ZLASTMESSAGE
           WHERE m.ZSORT <> c.ZMESSAGECOUNTER - 1 OR c.ZLASTMESSAGEDATE IS NOT m.ZMESSAGEDATE"),
        0
    );
    assert_eq!(q("SELECT count(*) FROM ZWACHATSESSION WHERE ZSESSIONTYPE = 1 AND ZGROUPINFO IS NULL"), 0);
    assert_eq!(q("SELECT count(*) FROM ZWAMESSAGE WHERE ZDATAITEMVERSION <> 2"), 0);
    assert_eq!(q("SELECT count(*) FROM Z_METADATA"), 1);
    // Every index of the app's schema is there (they are made after the rows).
    let indexes: std::collections::BTreeSet<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let schema = std::fs::read_to_string(
        chatferry_tests::harness::workspace_root().join("plugins/whatsapp-ios/schema/ChatStorage.sql"),
    )
    .unwrap();
    let wanted: std::collections::BTreeSet<String> = schema
        .lines()
        .filter_map(|l| l.trim().strip_prefix("CREATE INDEX "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(wanted.len(), 8);
    assert_eq!(indexes, wanted);
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn android_to_ios_keeps_every_message_reply_reaction_and_media_file() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let env = Env::new();
    let (direct, ios, via_ios) = (dir.path().join("direct"), dir.path().join("ios"), dir.path().join("via-ios"));
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&direct), "--opt", OWNER]).ok();
    let report = dir.path().join("r.json");
    env.run(&["convert", s(&fx.root), "--to", "whatsapp-ios", "-o", s(&ios), "--opt", OWNER, "--report", s(&report)])
        .ok();
    let r: chatferry_core::Report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    // Every message has an iPhone form; what the iPhone store has no known
    // column for (the forwarded document's mark, the edited text's mark, the
    // link's description) is counted, not dropped quietly.
    assert_eq!(r.total(chatferry_core::Outcome::Failed), 0);
    assert_eq!(r.total(chatferry_core::Outcome::Native), 21, "{r:?}");
    assert_eq!(r.written[&chatferry_core::MessageKind::Document].downgraded, 1);
    assert_eq!(r.written[&chatferry_core::MessageKind::Text].downgraded, 1);
    assert_eq!(r.written[&chatferry_core::MessageKind::Link].downgraded, 1);
    env.run(&["convert", s(&ios), "--to", "archive", "-o", s(&via_ios), "--opt", OWNER]).ok();
    let want = archive_messages(&direct);
    let got = archive_messages(&via_ios);
    assert_eq!(got.len(), want.len());
    let by_key: HashMap<&str, &Message> = got.iter().map(|m| (m.extras["wai.stanza_id"].as_str(), m)).collect();
    let key_of: HashMap<&str, &str> = want.iter().map(|m| (m.id.as_str(), m.extras["wa.key_id"].as_str())).collect();
    let got_key: HashMap<&str, &str> =
        got.iter().map(|m| (m.id.as_str(), m.extras["wai.stanza_id"].as_str())).collect();
    for w in &want {
        let g = by_key[w.extras["wa.key_id"].as_str()];
        let what = format!("message {}", w.id);
        assert_eq!(
            (g.kind, g.timestamp_ms, g.from_me, &g.sender, &g.text),
            (w.kind, w.timestamp_ms, w.from_me, &w.sender, &w.text),
            "{what}"
        );
        assert_eq!(g.reactions, w.reactions, "{what}");
        assert_eq!(
            g.reply_to.as_deref().map(|r| got_key[r]),
            w.reply_to.as_deref().map(|r| key_of[r]),
            "{what}: reply"
        );
        assert_eq!(g.quoted_text, w.quoted_text, "{what}");
        assert_eq!(g.location, w.location, "{what}");
        assert_eq!(g.contact_card, w.contact_card, "{what}");
        assert_eq!(
            g.media.as_ref().map(|m| (m.sha256.clone(), m.missing, m.caption.clone())),
            w.media.as_ref().map(|m| (m.sha256.clone(), m.missing, m.caption.clone())),
            "{what}: media"
        );
    }
}

#[test]
fn an_iphone_backup_is_read_through_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let w = ios_sample(dir.path());
    let backup = dir.path().join("backup");
    ios_backup::write(&w, &backup, None);
    let before = tree_digest(&backup);
    let env = Env::new();
    let found = env.run(&["detect", s(&backup), "--json"]).ok().json();
    assert_eq!(found[0]["adapter"], "whatsapp-ios");
    let (from_folder, from_backup) = (dir.path().join("f"), dir.path().join("b"));
    env.run(&["convert", s(&w), "--to", "archive", "-o", s(&from_folder), "--opt", OWNER]).ok();
    let report = dir.path().join("r.json");
    env.run(&["convert", s(&backup), "--to", "archive", "-o", s(&from_backup), "--opt", OWNER, "--report", s(&report)])
        .ok();
    assert_eq!(tree_digest(&backup), before, "the backup changed");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["media"]["missing"], 1, "every media file is found through Manifest.db");
    let strip = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p.join("messages.jsonl")).unwrap().lines().map(String::from).collect()
    };
    assert_eq!(strip(&from_folder), strip(&from_backup));
}

#[test]
fn encrypted_backups_backups_without_whatsapp_and_damaged_manifests_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let w = ios_sample(dir.path());
    let env = Env::new();
    let out = dir.path().join("out");
    let encrypted = dir.path().join("enc");
    ios_backup::write(&w, &encrypted, Some(&ios_backup::Encryption::new("secret")));
    let empty_group = dir.path().join("no-whatsapp");
    std::fs::create_dir(&empty_group).unwrap();
    let without = dir.path().join("without");
    ios_backup::write(&empty_group, &without, None);
    let damaged = dir.path().join("damaged");
    ios_backup::write(&w, &damaged, None);
    std::fs::write(damaged.join("Manifest.db"), vec![0x55u8; 8192]).unwrap();
    let not_whatsapp = dir.path().join("notes.sqlite");
    rusqlite::Connection::open(&not_whatsapp)
        .unwrap()
        .execute_batch("CREATE TABLE ZNOTE (Z_PK INTEGER PRIMARY KEY);")
        .unwrap();
    for (input, needle, status) in [
        // Without a password given (and no terminal to ask at): how to give it, a usage error.
        (&encrypted, "is an encrypted iPhone backup and needs its password: put it alone in a file", 2),
        (&without, "holds no WhatsApp chats", 1),
        (&damaged, "Manifest.db cannot be read", 1),
        (&not_whatsapp, "not WhatsApp's ChatStorage.sqlite", 1),
    ] {
        let run = env
            .run(&["convert", s(input), "--from", "whatsapp-ios", "--to", "archive", "-o", s(&out)])
            .fails_with(status);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains(needle), "{needle}: {}", errors[0]);
        assert!(!out.exists());
    }
}

#[test]
fn whatsapp_chat_exporter_reads_every_message_of_our_chat_storage() {
    if interop_venv("whatsapp_chat_exporter_reads_every_message_of_our_chat_storage").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let w = ios_sample(dir.path());
    let json = whatsapp_chat_exporter(
        &dir.path().join("exporter"),
        &["-i", "-d", s(&w.join("ChatStorage.sqlite")), "-m", s(&w)],
    );
    let chats = json.as_object().unwrap();
    let all = exported_messages(&json);
    assert_eq!(all.len(), 26, "every message present");
    assert_eq!(chats[canonical::FAMILY]["name"], "家族 👨‍👩‍👧");
    let replies: Vec<_> = all.iter().filter(|m| !m["reply"].is_null()).collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["quoted_data"], "…and just after ⏰");
    assert_eq!(all.iter().filter(|m| m["media"] == true).count(), 4, "image, voice note, document, image again");
}

/// Converts the generated WhatsApp Android folder into the iPhone format
/// with `template`, writing `out`.
fn convert_with_template(root: &Path, out: &Path, template: &Path) -> chatferry_tests::harness::Run {
    Env::new()
        .run(&[
            "convert",
            s(root),
            "--to",
            "whatsapp-ios",
            "-o",
            s(out),
            "--opt",
            OWNER,
            "--opt",
            &format!("template={}", s(template)),
        ])
        .ok()
}

/// The new iPhone's own store: one chat with Alice, entity numbers unlike
/// ours, and its own metadata blob.
fn phone_store(dir: &Path) -> PathBuf {
    use chatferry_core::*;
    use chatferry_tests::fixtures::memory::{History, MemoryImporter};
    let text = |id: &str, t: i64, body: &str| Message {
        id: id.into(),
        chat: canonical::ALICE.into(),
        sender: Some(canonical::ALICE.into()),
        timestamp_ms: t,
        text: Some(body.into()),
        ..Default::default()
    };
    let history = History {
        header: Header { source_adapter: "phone".into(), model_version: MODEL_VERSION.into(), ..Default::default() },
        contacts: vec![],
        chats: vec![Chat { id: canonical::ALICE.into(), kind: ChatKind::Direct, ..Default::default() }],
        messages: vec![
            text("p1", canonical::times::AFTER_2038 + 10_000, "new phone, first message"),
            text("p2", canonical::times::AFTER_2038 + 20_000, "new phone, second message"),
        ],
    };
    let a = dir.join("phone-archive");
    let mut exporter = chatferry_core::archive::ArchiveExporter::create(&a).unwrap();
    chatferry_core::pipeline::convert(
        &mut MemoryImporter::new(history),
        &mut exporter,
        &mut chatferry_core::pipeline::NoProgress,
    )
    .unwrap();
    let group = dir.join("phone-group");
    Env::new().run(&["convert", s(&a), "--to", "whatsapp-ios", "-o", s(&group)]).ok();
    // The real app's model numbers its entities differently from ours.
    let db = rusqlite::Connection::open(group.join("ChatStorage.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE Z_PRIMARYKEY SET Z_ENT = Z_ENT + 10;
         UPDATE ZWACHATSESSION SET Z_ENT = Z_ENT + 10; UPDATE ZWAMESSAGE SET Z_ENT = Z_ENT + 10;
         UPDATE Z_METADATA SET Z_PLIST = zeroblob(43);",
    )
    .unwrap();
    group
}

#[test]
fn android_history_goes_into_the_new_iphones_own_backup() {
    let dir = tempfile::tempdir().unwrap();
    let group = phone_store(dir.path());
    let template = dir.path().join("phone-backup");
    ios_backup::write(&group, &template, None);
    let template_before = tree_digest(&template);
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let out = dir.path().join("new-backup");
    let env = Env::new();
    let run = convert_with_template(&fx.root, &out, &template);
    assert!(run.stdout.contains("wrote a new iPhone backup"), "{}", run.stdout);
    assert_eq!(tree_digest(&template), template_before, "the template changed");
    assert!(!out.join(".chatferry-work").exists(), "no work files left in the backup");

    // The store inside the new backup: the phone's metadata and entity
    // numbers, its two messages plus the 24 from Android, in time order.
    let id = ios_backup::file_id(ios_backup::DOMAIN, "ChatStorage.sqlite");
    let blob = out.join(&id[..2]).join(&id);
    let db = rusqlite::Connection::open(&blob).unwrap();
    let q = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("SELECT count(*) FROM ZWAMESSAGE"), 26);
    assert_eq!(
        q("SELECT count(*) FROM ZWAMESSAGE WHERE Z_ENT <> (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'WAMessage')"),
        0
    );
    assert_eq!(q("SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'WAMessage'"), 15, "the template's numbering");
    assert_eq!(
        q("SELECT count(*) FROM Z_METADATA WHERE Z_PLIST = zeroblob(43)"),
        1,
        "the template's metadata blob is kept"
    );
    assert_eq!(
        q("SELECT count(*) FROM ZWACHATSESSION WHERE ZCONTACTJID = '4915187654321@s.whatsapp.net'"),
        1,
        "one Alice chat"
    );
    assert_eq!(
        q("SELECT count(*) FROM ZWAMESSAGE a JOIN ZWAMESSAGE b ON a.ZCHATSESSION = b.ZCHATSESSION
           WHERE a.ZSORT < b.ZSORT AND a.ZMESSAGEDATE > b.ZMESSAGEDATE"),
        0,
        "ZSORT follows time in every chat"
    );
    assert_eq!(
        q("SELECT Z_OPT FROM ZWAMESSAGE WHERE ZTEXT = 'new phone, first message'"),
        2,
        "changed rows get a new version"
    );
    drop(db);

    // Manifest.db describes every blob with its real size.
    let manifest = rusqlite::Connection::open(out.join("Manifest.db")).unwrap();
    let mut st =
        manifest.prepare("SELECT fileID, relativePath, file FROM Files WHERE domain = ?1 AND flags = 1").unwrap();
    let rows: Vec<(String, String, Vec<u8>)> = st
        .query_map([ios_backup::DOMAIN], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(rows.len() >= 4, "ChatStorage.sqlite and the media files: {rows:?}");
    for (id, rel, file) in &rows {
        let size = std::fs::metadata(out.join(&id[..2]).join(id)).unwrap().len();
        let record = plist::Value::from_reader(std::io::Cursor::new(file)).unwrap();
        let d = record.as_dictionary().unwrap();
        assert_eq!(d["Size"].as_unsigned_integer(), Some(size), "{rel}");
        assert_eq!(d["RelativePath"].as_string(), Some(rel.as_str()));
    }

    // And chatferry reads the new backup back: both histories.
    let back = dir.path().join("back");
    env.run(&["convert", s(&out), "--to", "archive", "-o", s(&back), "--opt", OWNER]).ok();
    let got = archive_messages(&back);
    assert_eq!(got.len(), 26);
    assert!(got.iter().any(|m| m.text.as_deref() == Some("new phone, first message")));
    assert!(got.iter().any(|m| m.text.as_deref() == Some("大家好！今天晚上一起吃饭吗？🍜")));
    assert!(
        got.iter().filter_map(|m| m.media.as_ref()).filter(|m| !m.missing).count() >= 4,
        "media found in the new backup"
    );
}

#[test]
fn a_chat_storage_file_works_as_template_too() {
    let dir = tempfile::tempdir().unwrap();
    let group = phone_store(dir.path());
    let template = group.join("ChatStorage.sqlite");
    let before = std::fs::read(&template).unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let out = dir.path().join("merged");
    convert_with_template(&fx.root, &out, &template);
    assert_eq!(std::fs::read(&template).unwrap(), before, "the template changed");
    let db = rusqlite::Connection::open(out.join("ChatStorage.sqlite")).unwrap();
    let n: i64 = db.query_row("SELECT count(*) FROM ZWAMESSAGE", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 26);
    assert!(out.join("Message/Media").is_dir());
}

#[test]
fn a_media_path_that_escapes_is_refused_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let w = ios_sample(dir.path());
    std::fs::write(dir.path().join("outside.txt"), b"private").unwrap();
    let db = rusqlite::Connection::open(w.join("ChatStorage.sqlite")).unwrap();
    let n = db
        .execute("UPDATE ZWAMEDIAITEM SET ZMEDIALOCALPATH = '../../outside.txt' WHERE ZMEDIALOCALPATH LIKE '%.pdf'", [])
        .unwrap();
    assert_eq!(n, 1);
    drop(db);
    let out = dir.path().join("out");
    let report = dir.path().join("r.json");
    let run = Env::new().run(&["convert", s(&w), "--to", "archive", "-o", s(&out), "--report", s(&report)]).ok();
    assert!(run.stdout.contains("leads outside the media folder"), "{}", run.stdout);
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["media"]["refused"], 1);
    for (name, bytes) in tree(&out) {
        assert_ne!(bytes, b"private", "{name}");
    }
}

/// Import checked against a store written independently of the plugin (the
/// fixture generator, plain SQL, the real DDL, other entity numbers).
#[test]
fn a_generated_iphone_store_imports_with_every_detail() {
    use chatferry_tests::fixtures::whatsapp_ios as gen;
    let dir = tempfile::tempdir().unwrap();
    let fx = gen::write_sample(&dir.path().join("group"));
    let before = tree_digest(&fx.root);
    let out = dir.path().join("a");
    Env::new().run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", OWNER]).ok();
    assert_eq!(tree_digest(&fx.root), before, "the input changed");
    let media_src = tempfile::tempdir().unwrap();
    let original = canonical::sample_history(media_src.path());
    let got = archive_messages(&out);
    assert_eq!(got.len(), original.messages.len() - fx.skipped.len());
    let by_stanza: HashMap<&str, &Message> = got.iter().map(|m| (m.extras["wai.stanza_id"].as_str(), m)).collect();
    for want in original.messages.iter().filter(|m| !fx.skipped.contains(&m.id)) {
        let m = by_stanza[gen::stanza(&want.id).as_str()];
        let what = format!("message {}", want.id);
        assert_eq!(m.id, fx.pk_of[&want.id].to_string(), "{what}");
        assert_eq!(
            (m.kind, m.timestamp_ms, m.from_me, m.chat.as_str()),
            (want.kind, want.timestamp_ms, want.from_me, want.chat.as_str()),
            "{what}"
        );
        let want_sender = if want.from_me { Some(canonical::OWNER.to_string()) } else { want.sender.clone() };
        if want.kind != chatferry_core::MessageKind::System {
            assert_eq!(m.sender, want_sender, "{what}");
        }
        assert_eq!(m.text, want.text, "{what}");
        assert_eq!(m.starred, want.starred, "{what}");
        assert_eq!(m.location, want.location, "{what}");
        assert_eq!(m.contact_card, want.contact_card, "{what}");
        assert_eq!(m.reply_to, want.reply_to.as_ref().map(|r| fx.pk_of[r].to_string()), "{what}");
        assert_eq!(m.quoted_text, want.quoted_text, "{what}");
        assert_eq!(m.reactions, want.reactions, "{what}");
        assert_eq!(m.link.as_ref().map(|l| &l.url), want.link.as_ref().map(|l| &l.url), "{what}");
        // System events keep their text; their action codes are not public [U].
        assert_eq!(
            m.system.as_ref().and_then(|x| x.value.clone()),
            want.system.as_ref().and_then(|x| x.value.clone()),
            "{what}"
        );
        match (&m.media, &want.media) {
            (Some(g), Some(w)) => {
                assert_eq!((g.missing, &g.caption), (w.missing, &w.caption), "{what}");
                // Only documents have a file-name column (ZTITLE) on the iPhone.
                if want.kind == chatferry_core::MessageKind::Document {
                    assert_eq!(g.file_name, w.file_name, "{what}");
                }
                if !w.missing {
                    let bytes = std::fs::read(w.path.as_ref().unwrap()).unwrap();
                    use sha2::Digest;
                    assert_eq!(g.sha256.as_deref(), Some(hex::encode(sha2::Sha256::digest(&bytes)).as_str()), "{what}");
                }
            }
            (g, w) => assert_eq!(g.is_some(), w.is_some(), "{what}"),
        }
    }
    let chats: Vec<chatferry_core::Chat> = std::fs::read_to_string(out.join("chats.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for want in &original.chats {
        let c = chats.iter().find(|c| c.id == want.id).unwrap();
        assert_eq!((c.kind, c.archived), (want.kind, want.archived), "chat {}", want.id);
        if want.kind == chatferry_core::ChatKind::Group {
            assert_eq!(c.title, want.title);
            assert_eq!(c.created_ms, want.created_ms);
            let roles: Vec<_> = c.participants.iter().map(|p| (p.contact.clone(), p.role)).collect();
            let want_roles: Vec<_> = want.participants.iter().map(|p| (p.contact.clone(), p.role)).collect();
            assert_eq!(roles, want_roles, "chat {}", want.id);
        }
    }
    let contacts = std::fs::read_to_string(out.join("contacts.jsonl")).unwrap();
    assert!(contacts.contains("\"nickname\":\"雷雷\"") && contacts.contains("\"name\":\"Alice 🌸\""), "{contacts}");
}

#[test]
fn status_sessions_are_counted_not_read_as_chats_unless_kept() {
    use chatferry_tests::fixtures::whatsapp_ios as gen;
    let dir = tempfile::tempdir().unwrap();
    let fx = gen::write_sample(&dir.path().join("group"));
    // One status session per person whose stories were seen (2024+ builds).
    let conn = rusqlite::Connection::open(fx.root.join("ChatStorage.sqlite")).unwrap();
    conn.execute_batch(
        "INSERT INTO ZWACHATSESSION (Z_PK, Z_ENT, Z_OPT, ZCONTACTJID, ZSESSIONTYPE) VALUES
             (9001, 3, 1, '4915187654321@status', 3), (9002, 3, 1, '70000000000001@lid.status', 3);
         INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, Z_OPT, ZCHATSESSION, ZISFROMME, ZMESSAGEDATE, ZMESSAGETYPE, ZTEXT, ZSORT)
         VALUES (9001, 10, 1, 9001, 0, 700000000, 0, 'Alice''s story', 1),
                (9002, 10, 1, 9001, 0, 700000100, 0, 'Alice''s next story', 2),
                (9003, 10, 1, 9002, 0, 700000200, 0, 'a hidden number''s story', 1);",
    )
    .unwrap();
    drop(conn);
    let env = Env::new();
    let out = dir.path().join("a");
    let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", OWNER]).ok();
    assert!(run.stdout.contains("3 status updates left out"), "{}", run.stdout);
    let chats = std::fs::read_to_string(out.join("chats.jsonl")).unwrap();
    assert!(!chats.contains("status"), "{chats}");
    assert!(!archive_messages(&out).iter().any(|m| m.text.as_deref().is_some_and(|t| t.contains("story"))));

    let kept = dir.path().join("kept");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&kept), "--opt", OWNER, "--opt", "statuses=keep"])
        .ok();
    let stories: Vec<Message> = archive_messages(&kept).into_iter().filter(|m| m.chat == "status@broadcast").collect();
    let posters: Vec<&str> = stories.iter().map(|m| m.sender.as_deref().unwrap_or_default()).collect();
    assert_eq!(posters, ["4915187654321@s.whatsapp.net", "4915187654321@s.whatsapp.net", "70000000000001@lid"]);
    let chats = std::fs::read_to_string(kept.join("chats.jsonl")).unwrap();
    assert_eq!(chats.matches("\"id\":\"status@broadcast\"").count(), 1, "one broadcast chat: {chats}");
}

#[test]
fn one_person_under_a_number_and_a_lid_is_one_chat_on_iphone_too() {
    use chatferry_tests::fixtures::whatsapp_ios as gen;
    let dir = tempfile::tempdir().unwrap();
    let fx = gen::write_sample(&dir.path().join("group"));
    let conn = rusqlite::Connection::open(fx.root.join("ChatStorage.sqlite")).unwrap();
    let family: i64 = conn
        .query_row("SELECT Z_PK FROM ZWACHATSESSION WHERE ZCONTACTJID = ?1", [canonical::FAMILY], |r| r.get(0))
        .unwrap();
    // An older session under the number naming the LID, a newer one under
    // the LID (2025+), one message in both; a group member known only by a
    // LID that LID.sqlite pairs with a number.
    conn.execute_batch(&format!(
        "INSERT INTO ZWACHATSESSION (Z_PK, Z_ENT, Z_OPT, ZCONTACTJID, ZCONTACTIDENTIFIER, ZSESSIONTYPE, ZPARTNERNAME)
         VALUES (9101, 3, 1, '4917600000001@s.whatsapp.net', '70000000000001@lid', 0, 'Dana'),
                (9102, 3, 1, '70000000000001@lid', NULL, 0, 'Dana');
         INSERT INTO ZWAGROUPMEMBER (Z_PK, Z_ENT, Z_OPT, ZCHATSESSION, ZMEMBERJID, ZISACTIVE)
         VALUES (9201, 7, 1, {family}, '70000000000002@lid', 1);
         INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, Z_OPT, ZCHATSESSION, ZISFROMME, ZMESSAGEDATE, ZMESSAGETYPE, ZTEXT, ZSORT, ZSTANZAID, ZGROUPMEMBER)
         VALUES (9301, 10, 1, 9101, 0, 700000000, 0, 'first, under the number', 1, 'S1', NULL),
                (9302, 10, 1, 9101, 1, 700000300, 0, 'third, under the number', 2, 'S3', NULL),
                (9303, 10, 1, 9102, 0, 700000200, 0, 'second, under the LID', 1, 'S2', NULL),
                (9304, 10, 1, 9102, 0, 700000000, 0, 'first, under the number', 2, 'S1', NULL),
                (9305, 10, 1, {family}, 0, 700000400, 0, 'in the group, as a LID', 99999, 'S5', 9201);"
    ))
    .unwrap();
    drop(conn);
    let lid = rusqlite::Connection::open(fx.root.join("LID.sqlite")).unwrap();
    lid.execute_batch(
        "CREATE TABLE ZWAPHONENUMBERLIDPAIR (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
             ZTIMESTAMP TIMESTAMP, ZLID VARCHAR, ZPHONENUMBER VARCHAR);
         INSERT INTO ZWAPHONENUMBERLIDPAIR VALUES (1, 1, 1, 700000000, '70000000000002', '+4917600000002');",
    )
    .unwrap();
    drop(lid);
    let env = Env::new();
    let out = dir.path().join("a");
    let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", OWNER]).ok();
    let got = archive_messages(&out);
    let person = "4917600000001@s.whatsapp.net";
    let theirs: Vec<&str> =
        got.iter().filter(|m| m.chat == person).map(|m| m.text.as_deref().unwrap_or_default()).collect();
    assert_eq!(theirs, ["first, under the number", "second, under the LID", "third, under the number"]);
    assert!(!got.iter().any(|m| m.chat.ends_with("@lid")), "no chat under the LID");
    let in_group = got.iter().find(|m| m.text.as_deref() == Some("in the group, as a LID")).unwrap();
    assert_eq!(in_group.sender.as_deref(), Some("4917600000002@s.whatsapp.net"), "paired by LID.sqlite");
    for note in [
        "1 chat with a person under their hidden-number id (LID) joined",
        "1 message in both",
        "1 sender known by a hidden-number id",
    ] {
        assert!(run.stdout.contains(note), "{note:?} in {}", run.stdout);
    }
    let one = dir.path().join("one");
    env.run(&[
        "convert",
        s(&fx.root),
        "--to",
        "archive",
        "-o",
        s(&one),
        "--opt",
        OWNER,
        "--chat",
        "70000000000001@lid",
    ])
    .ok();
    assert_eq!(archive_messages(&one).len(), 3, "--chat takes the LID form");
    let shown = env.run(&["inspect", s(&fx.root), "--opt", OWNER]).ok();
    assert!(
        shown.stdout.contains("also known by a hidden-number id (LID): Dana = 70000000000001@lid"),
        "{}",
        shown.stdout
    );
}

#[test]
fn a_whatsapp_business_backup_is_read_and_one_with_both_apps_asks_which() {
    use chatferry_tests::fixtures::whatsapp_ios as gen;
    let dir = tempfile::tempdir().unwrap();
    let fx = gen::write_sample(&dir.path().join("group"));
    let conn = rusqlite::Connection::open(fx.root.join("ChatStorage.sqlite")).unwrap();
    conn.execute(
        "INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, Z_OPT, ZCHATSESSION, ZISFROMME, ZMESSAGEDATE, ZMESSAGETYPE, ZTEXT, ZSORT)
         SELECT 9401, 10, 1, Z_PK, 1, 700000000, 0, 'from the shop', 99999 FROM ZWACHATSESSION WHERE ZCONTACTJID = ?1",
        [canonical::ALICE],
    )
    .unwrap();
    drop(conn);
    let backup = dir.path().join("backup");
    let b = ios_backup::Backup::create(&backup, None);
    b.add(ios_backup::SMB_DOMAIN, "ChatStorage.sqlite", Some(&fx.root.join("ChatStorage.sqlite")));
    b.add(ios_backup::SMB_DOMAIN, "Message", None);
    b.add_tree(ios_backup::SMB_DOMAIN, &fx.root.join("Message"), "Message/");
    drop(b);
    let env = Env::new();
    let found = env.run(&["detect", s(&backup), "--json"]).ok().json();
    assert_eq!(found[0]["adapter"], "whatsapp-ios");
    let out = dir.path().join("a");
    let run = env.run(&["convert", s(&backup), "--to", "archive", "-o", s(&out), "--opt", OWNER]).ok();
    assert!(run.stdout.contains("read WhatsApp Business's chats"), "{}", run.stdout);
    let got = archive_messages(&out);
    assert!(got.iter().any(|m| m.text.as_deref() == Some("from the shop")));
    assert!(got.iter().any(|m| m.media.as_ref().is_some_and(|x| !x.missing)), "media come from the Business domain");

    // With the consumer app's store too: which one is asked, and either is read when named.
    // The consumer app's store is the same without the shop's message.
    let personal = dir.path().join("personal.sqlite");
    std::fs::copy(fx.root.join("ChatStorage.sqlite"), &personal).unwrap();
    rusqlite::Connection::open(&personal).unwrap().execute("DELETE FROM ZWAMESSAGE WHERE Z_PK = 9401", []).unwrap();
    let both = dir.path().join("both");
    let b = ios_backup::Backup::create(&both, None);
    b.add(ios_backup::SMB_DOMAIN, "ChatStorage.sqlite", Some(&fx.root.join("ChatStorage.sqlite")));
    b.add(ios_backup::DOMAIN, "ChatStorage.sqlite", Some(&personal));
    drop(b);
    let run = env.run(&["convert", s(&both), "--to", "archive", "-o", s(&dir.path().join("x")), "--opt", OWNER]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.error_lines()[0].contains("--opt app=business"), "{}", run.stderr);
    for (app, shop) in [("app=business", true), ("app=personal", false)] {
        let out = dir.path().join(app);
        env.run(&["convert", s(&both), "--to", "archive", "-o", s(&out), "--opt", OWNER, "--opt", app]).ok();
        let got = archive_messages(&out);
        assert!(!got.is_empty(), "{app}");
        assert_eq!(got.iter().any(|m| m.text.as_deref() == Some("from the shop")), shop, "{app} reads its own app");
    }
    let shown = env.run(&["inspect", s(&both), "--json", "--opt", OWNER]).ok().json();
    let count = |app: &str| shown["apps"][app]["messages"].as_u64().unwrap_or_else(|| panic!("{app}: {shown}"));
    assert_eq!(count("business"), count("personal") + 1, "inspect shows both apps");
}

#[test]
fn polls_call_entries_view_once_video_notes_and_admin_deletes_are_read_on_iphone() {
    use chatferry_tests::fixtures::whatsapp_ios::{self as gen, pb_bytes, pb_varint};
    let dir = tempfile::tempdir().unwrap();
    let fx = gen::write_sample(&dir.path().join("group"));
    let conn = rusqlite::Connection::open(fx.root.join("ChatStorage.sqlite")).unwrap();
    let (family, prefixy, li): (i64, i64, i64) = conn
        .query_row(
            "SELECT s.Z_PK, (SELECT Z_PK FROM ZWAGROUPMEMBER WHERE ZCHATSESSION = s.Z_PK AND ZMEMBERJID = ?2),
                    (SELECT Z_PK FROM ZWAGROUPMEMBER WHERE ZCHATSESSION = s.Z_PK AND ZMEMBERJID = ?3)
             FROM ZWACHATSESSION s WHERE s.ZCONTACTJID = ?1",
            [canonical::FAMILY, canonical::PREFIXY, canonical::LI],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    // The poll as public readers find it: ZRECEIPTINFO field 8 (§3.2).
    let option = |text: &str| {
        let mut o = Vec::new();
        pb_bytes(&mut o, 1, text.as_bytes());
        o
    };
    let vote = |selected: &[u64], voter: Option<&str>| {
        let mut v = Vec::new();
        for i in selected {
            pb_varint(&mut v, 1, *i);
        }
        if let Some(j) = voter {
            pb_bytes(&mut v, 4, j.as_bytes());
        }
        v
    };
    let mut poll = Vec::new();
    pb_bytes(&mut poll, 2, "Wohin am Samstag? 🍕".as_bytes());
    pb_bytes(&mut poll, 3, &option("饺子"));
    pb_bytes(&mut poll, 3, &option("Pizza"));
    pb_bytes(&mut poll, 5, &vote(&[0], Some(canonical::LI)));
    pb_bytes(&mut poll, 6, &vote(&[1], None));
    let mut receipt = Vec::new();
    pb_bytes(&mut receipt, 8, &poll);
    // A call entry's length: ZMETADATA 87 → 1 → 3 (§3.9).
    let mut detail = Vec::new();
    pb_varint(&mut detail, 3, 65);
    let mut call = Vec::new();
    pb_bytes(&mut call, 1, &detail);
    let mut meta = Vec::new();
    pb_bytes(&mut meta, 87, &call);
    conn.execute_batch(&format!(
        "INSERT INTO ZWAMEDIAITEM (Z_PK, Z_ENT, Z_OPT, ZMETADATA, ZVCARDSTRING, ZMEDIALOCALPATH) VALUES
             (9601, 9, 1, x'{}', NULL, NULL),
             (9602, 9, 1, NULL, '{}', NULL),
             (9603, 9, 1, NULL, 'image/jpeg', NULL),
             (9604, 9, 1, NULL, 'video/mp4', NULL);
         INSERT INTO ZWAMESSAGEINFO (Z_PK, Z_ENT, Z_OPT, ZMESSAGE, ZRECEIPTINFO) VALUES (9701, 11, 1, 9501, x'{}');
         INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, Z_OPT, ZCHATSESSION, ZISFROMME, ZMESSAGEDATE, ZMESSAGETYPE, ZTEXT, ZSORT,
                                 ZSTANZAID, ZGROUPMEMBER, ZMEDIAITEM, ZMESSAGEINFO, ZGROUPEVENTTYPE) VALUES
             (9501, 10, 1, {family}, 1, 700000000, 46, NULL, 90001, 'P1', NULL, NULL, 9701, NULL),
             (9502, 10, 1, {family}, 1, 700000100, 59, NULL, 90002, 'C1', NULL, 9601, NULL, NULL),
             (9503, 10, 1, {family}, 0, 700000200, 10, NULL, 90003, 'C2', {prefixy}, NULL, NULL, 4),
             (9504, 10, 1, {family}, 0, 700000300, 14, NULL, 90004, 'D1', {prefixy}, 9602, NULL, NULL),
             (9505, 10, 1, {family}, 0, 700000400, 38, NULL, 90005, 'V1', {li}, 9603, NULL, NULL),
             (9506, 10, 1, {family}, 0, 700000500, 54, NULL, 90006, 'N1', {li}, 9604, NULL, NULL),
             (9507, 10, 1, {family}, 0, 700000600, 63, 'Picnic', 90007, 'E1', {li}, NULL, NULL, NULL),
             (9508, 10, 1, {family}, 0, 700000700, 91, 'something new', 90008, 'U1', {li}, NULL, NULL, NULL);",
        hex(&meta),
        canonical::LI,
        hex(&receipt),
    ))
    .unwrap();
    drop(conn);
    let env = Env::new();
    let out = dir.path().join("a");
    let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", OWNER]).ok();
    let got = archive_messages(&out);
    let by_id = |id: &str| got.iter().find(|m| m.id == id).unwrap_or_else(|| panic!("message {id}"));
    let p = by_id("9501").poll.as_ref().expect("the poll");
    assert_eq!(p.question, "Wohin am Samstag? 🍕");
    assert_eq!(p.options.iter().map(|o| o.text.as_str()).collect::<Vec<_>>(), ["饺子", "Pizza"]);
    assert_eq!(p.options[0].voters, [canonical::LI]);
    assert_eq!(p.options[1].voters, [canonical::OWNER], "the creator's own vote");
    let c = by_id("9502").call.as_ref().expect("a call entry");
    assert_eq!((c.duration_ms, c.outcome.as_deref()), (Some(65_000), Some("answered")));
    let missed = by_id("9503").call.as_ref().expect("a missed call");
    assert!(missed.video, "event code 4: a video call");
    let deleted = by_id("9504");
    let by = deleted.system.as_ref().expect("deleted by an admin");
    assert_eq!((by.action.as_str(), by.actor.as_deref()), ("deleted_by_admin", Some(canonical::LI)));
    let once = by_id("9505");
    assert!(once.kind == chatferry_core::MessageKind::Image && once.view_once);
    assert_eq!(by_id("9506").kind, chatferry_core::MessageKind::Video);
    assert_eq!(by_id("9508").kind, chatferry_core::MessageKind::Other);
    for note in [
        "WhatsApp iPhone message type 63 (an event: where the iPhone keeps its name, time and answers is not known): 1 message kept",
        "WhatsApp iPhone message type 91 (a type chatferry does not know): 1 message kept as `other` with its code and text",
    ] {
        assert!(run.stdout.contains(note), "{note:?} in {}", run.stdout);
    }
    let pages = dir.path().join("pages");
    env.run(&["convert", s(&out), "--to", "html", "-o", s(&pages)]).ok();
    let html: String = tree(&pages)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".html"))
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .collect();
    for want in ["Wohin am Samstag? 🍕", "This message was deleted by 李雷"] {
        assert!(html.contains(want), "{want:?} not in the pages");
    }
    // Back into an iPhone store: the poll and the call entry as they were (iOS → iOS).
    let back = dir.path().join("back");
    env.run(&["convert", s(&out), "--to", "whatsapp-ios", "-o", s(&back), "--opt", OWNER]).ok();
    let conn = rusqlite::Connection::open(back.join("ChatStorage.sqlite")).unwrap();
    let types: Vec<i64> = conn
        .prepare("SELECT ZMESSAGETYPE FROM ZWAMESSAGE WHERE ZSTANZAID IN ('P1', 'C1', 'V1', 'N1') ORDER BY ZSTANZAID")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|t| t.unwrap())
        .collect();
    assert_eq!(types, [59, 54, 46, 38]);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
