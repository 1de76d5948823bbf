//! WeChat for iOS, end to end through the CLI: the generated Documents
//! folder and iPhone backup (documented tables, hand-encoded contact blobs,
//! media by MesLocalID) import with every detail; several accounts, WAL
//! rows, friend requests and chats of deleted contacts; one-line errors;
//! the export round-trips, takes a WeChat-for-Android history with every
//! file, and goes into a template backup.

use chatferry_core::Message;
use chatferry_tests::fixtures::wechat_android::{self as wc};
use chatferry_tests::fixtures::wechat_ios::{self as wi, md5_hex, Spec};
use chatferry_tests::fixtures::wechat_sample::{self as ws, OWNER};
use chatferry_tests::harness::{archive_messages, path_arg as s, tree, tree_digest, Env};
use std::collections::BTreeSet;
use std::path::Path;

fn jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_documents_folder_imports_with_every_message_and_detail() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wi::write_sample(&dir.path().join("app"), &Spec::default());
    let before = tree_digest(&fx.root);
    let env = Env::new();
    assert_eq!(env.run(&["detect", s(&fx.root), "--json"]).ok().json()[0]["adapter"], "wechat-ios");
    let out = dir.path().join("archive");
    let rep = dir.path().join("report.json");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--report", s(&rep)]).ok();
    assert_eq!(tree_digest(&fx.root), before, "the input changed");

    let media = tempfile::tempdir().unwrap();
    let want_all = ws::sample_history(media.path());
    let got = archive_messages(&out);
    assert_eq!(got.len(), want_all.messages.len());
    for want in &want_all.messages {
        let id = &fx.ids[&want.id];
        let m = got.iter().find(|m| &m.id == id).unwrap_or_else(|| panic!("message {} ({id}) missing", want.id));
        // WeChat for iPhone keeps whole seconds and no sticker files.
        ws::assert_read_back(m, want, &out, &|r| fx.ids[r].clone(), true, false);
    }
    let compressed = got.iter().find(|m| m.id == fx.ids[ws::forms::COMPRESSED]).unwrap();
    assert_eq!(compressed.extras["wechat.raw_content_hex"], "28b52ffd2005fffe8081", "kept raw, not shown as text");
    assert_eq!(compressed.text, None);

    let chats: Vec<chatferry_core::Chat> = jsonl(&out.join("chats.jsonl"));
    for want in &want_all.chats {
        let c = chats.iter().find(|c| c.id == want.id).unwrap_or_else(|| panic!("chat {} missing", want.id));
        assert_eq!((c.kind, &c.title), (want.kind, &want.title), "chat {}", want.id);
        assert_eq!(c.participants, want.participants, "chat {}: members, owner, group nicknames", want.id);
    }
    let contacts: Vec<chatferry_core::Contact> = jsonl(&out.join("contacts.jsonl"));
    for want in &want_all.contacts {
        let c = contacts.iter().find(|c| c.id == want.id).unwrap();
        assert_eq!((&c.name, &c.nickname, &c.alias), (&want.name, &want.nickname, &want.alias), "contact {}", want.id);
    }
    let zhang = contacts.iter().find(|c| c.id == ws::ZHANG).unwrap();
    assert_eq!(zhang.phone.as_deref(), Some(wi::ZHANG_PHONE), "the profile's phone number (dbContactSocial 11)");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["owner"]["id"], OWNER, "{manifest}");
    assert_eq!(manifest["owner"]["alias"], "chatferry_me", "{manifest}");

    let r = report(&rep);
    assert_eq!(r["media"]["missing"], 2, "the picture never downloaded and the sticker: {r}");
    assert_eq!(r["read"]["payment"], 2);
    assert!(r["notes"].to_string().contains("kept as raw data"), "{}", r["notes"]);
}

#[test]
fn a_backup_with_requests_deleted_contacts_and_wal_rows_imports_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wi::write_sample(&dir.path().join("app"), &Spec { extras: true, wal_rows: 3 });
    assert!(fx.account.join("DB/MM.sqlite-wal").is_file());
    let backup = dir.path().join("backup");
    wi::write_backup(&fx, &backup, None);
    let before = tree_digest(&backup);
    let env = Env::new();
    assert_eq!(env.run(&["detect", s(&backup), "--json"]).ok().json()[0]["adapter"], "wechat-ios");
    let out = dir.path().join("archive");
    let rep = dir.path().join("report.json");
    env.run(&["convert", s(&backup), "--to", "archive", "-o", s(&out), "--report", s(&rep)]).ok();
    assert_eq!(tree_digest(&backup), before, "the backup changed");
    let got = archive_messages(&out);
    assert_eq!(got.len(), 34 + 3 + 1 + 2, "sample + WAL rows + a friend request + a deleted contact's chat");
    assert_eq!(got.iter().filter(|m| m.text.as_deref().unwrap_or("").starts_with("only in the WAL")).count(), 3);
    let hello = got.iter().find(|m| m.chat == "fmessage").unwrap();
    assert_eq!((hello.sender.as_deref(), hello.text.as_deref()), (Some(wi::REQUESTER), Some("你好，我是 Carol 👋")));
    let gone = md5_hex(wi::GONE);
    let chats: Vec<chatferry_core::Chat> = jsonl(&out.join("chats.jsonl"));
    let c = chats.iter().find(|c| c.id == gone).expect("a table nobody's name matches is still a chat");
    assert_eq!(c.title.as_deref(), Some(format!("Chat_{gone}").as_str()));
    assert_eq!(got.iter().filter(|m| m.chat == gone).count(), 2);
    // Media come out of the backup's hashed blobs.
    let photo = got.iter().find(|m| m.id == fx.ids["5"]).unwrap();
    assert!(out.join(photo.media.as_ref().unwrap().file.as_ref().unwrap()).is_file());
    let r = report(&rep);
    assert!(r["notes"].to_string().contains("to no username the backup knows"), "{}", r["notes"]);
    assert!(r["notes"].to_string().contains(&format!("contact {}: its name record cannot be read", wi::DAMAGED)));
    let contacts: Vec<chatferry_core::Contact> = jsonl(&out.join("contacts.jsonl"));
    assert!(contacts.iter().any(|c| c.id == wi::DAMAGED && c.nickname.is_none()), "the contact is kept without a name");

    // The same history read from the folder and from the backup.
    let folder = dir.path().join("folder");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&folder)]).ok();
    assert_eq!(archive_messages(&folder), got);
}

#[test]
fn several_accounts_need_a_choice() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wi::write_sample(&dir.path().join("app"), &Spec::default());
    // A second account: a copy of the first under another folder name.
    let other = fx.root.join("Documents").join(md5_hex("wxid_second"));
    copy_tree(&fx.account, &other);
    let env = Env::new();
    let r = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&dir.path().join("a"))]).fails_with(2);
    let line = r.error_lines().join("\n");
    assert!(line.contains("2 WeChat accounts") && line.contains("--opt account="), "{line}");
    assert!(line.contains(&md5_hex(OWNER)), "names them: {line}");
    assert!(!dir.path().join("a").exists());
    let out = dir.path().join("b");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", &format!("account={OWNER}")]).ok();
    assert_eq!(archive_messages(&out).len(), 34);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn bad_input_gets_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let fx = wi::write_sample(&dir.path().join("app"), &Spec::default());
    let one_line = |args: &[&str], code: i32, want: &str| {
        let r = env.run(args).fails_with(code);
        assert_eq!(r.error_lines().len(), 1, "{:?}", r.error_lines());
        assert!(r.error_lines()[0].contains(want), "wanted {want:?}: {:?}", r.error_lines());
    };

    // MM.sqlite cut mid-page.
    let cut = dir.path().join("cut");
    copy_tree(&fx.account, &cut);
    let mm = cut.join("DB/MM.sqlite");
    let bytes = std::fs::read(&mm).unwrap();
    std::fs::write(&mm, &bytes[..bytes.len() / 2 + 100]).unwrap();
    let o = dir.path().join("o1");
    one_line(&["convert", s(&cut), "--from", "wechat-ios", "--to", "archive", "-o", s(&o)], 1, "truncated or damaged");
    assert!(!o.exists());

    // Not a database at all.
    std::fs::write(&mm, b"this is not a database, just text that happens to be long enough").unwrap();
    let o = dir.path().join("o2");
    one_line(
        &["convert", s(&cut), "--from", "wechat-ios", "--to", "archive", "-o", s(&o)],
        1,
        "not an SQLite database",
    );

    // An encrypted backup.
    let backup = dir.path().join("backup");
    wi::write_backup(&fx, &backup, None);
    let mut info = plist::Dictionary::new();
    info.insert("IsEncrypted".into(), plist::Value::Boolean(true));
    plist::Value::Dictionary(info).to_file_binary(backup.join("Manifest.plist")).unwrap();
    let o = dir.path().join("o3");
    one_line(
        &["convert", s(&backup), "--from", "wechat-ios", "--to", "archive", "-o", s(&o)],
        1,
        "encrypted iPhone backup",
    );

    // A picture that is a link out of the account folder: refused, counted, noted.
    let esc = dir.path().join("esc");
    copy_tree(&fx.root, &esc);
    let account = esc.join("Documents").join(md5_hex(OWNER));
    let pic = account.join(format!("Img/{}/5.pic", md5_hex(ws::ZHANG)));
    std::fs::remove_file(&pic).unwrap();
    std::fs::remove_file(pic.with_extension("pic_hd")).ok();
    std::os::unix::fs::symlink("/etc/passwd", &pic).unwrap();
    let o = dir.path().join("o4");
    let rep = dir.path().join("r4.json");
    env.run(&["convert", s(&esc), "--to", "archive", "-o", s(&o), "--report", s(&rep)]).ok();
    let r = report(&rep);
    assert_eq!(r["media"]["refused"], 1, "{r}");
    assert!(!tree(&o).values().any(|b| b.starts_with(b"root:")), "nothing of /etc/passwd was copied");
}

#[test]
fn wechat_ios_to_archive_to_wechat_ios_to_archive_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wi::write_sample(&dir.path().join("app"), &Spec { extras: true, wal_rows: 0 });
    let env = Env::new();
    let (a, w, b) = (dir.path().join("a"), dir.path().join("w"), dir.path().join("b"));
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&a)]).ok();
    env.run(&["convert", s(&a), "--to", "wechat-ios", "-o", s(&w)]).ok();
    env.run(&["convert", s(&w), "--to", "archive", "-o", s(&b)]).ok();
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (name, bytes) in &ta {
        assert!(bytes == &tb[name], "{name} differs after wechat-ios → archive → wechat-ios → archive");
    }
    // The phone's layout.
    let account = w.join("Documents").join(md5_hex(OWNER));
    for f in ["DB/MM.sqlite", "DB/WCDB_Contact.sqlite", "session/session.db", "mmsetting.archive"] {
        assert!(account.join(f).is_file(), "{f}");
    }
    let h = md5_hex(ws::ZHANG);
    assert!(account.join(format!("Img/{h}/5.pic")).is_file());
    let conn = rusqlite::Connection::open(account.join("DB/MM.sqlite")).unwrap();
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM Chat_{h}"), [], |r| r.get(0)).unwrap();
    assert_eq!(n, 19);
    let sessions = rusqlite::Connection::open(account.join("session/session.db")).unwrap();
    let t: i64 = sessions
        .query_row("SELECT CreateTime FROM SessionAbstract WHERE UsrName = ?1", [ws::ZHANG], |r| r.get(0))
        .unwrap();
    let last: i64 = conn.query_row(&format!("SELECT max(CreateTime) FROM Chat_{h}"), [], |r| r.get(0)).unwrap();
    assert_eq!(t, last, "the session row holds the chat's last time");
}

#[test]
fn android_history_moves_to_the_iphone_with_every_message_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let android = wc::write_sample(&dir.path().join("android"), &wc::Spec::default());
    let env = Env::new();
    let (a, w, b) = (dir.path().join("a"), dir.path().join("w"), dir.path().join("b"));
    env.run(&["convert", s(&android.root), "--to", "archive", "-o", s(&a)]).ok();
    let rep = dir.path().join("r.json");
    env.run(&["convert", s(&android.root), "--to", "wechat-ios", "-o", s(&w), "--report", s(&rep)]).ok();
    let r = report(&rep);
    let failed: u64 = r["written"].as_object().unwrap().values().map(|k| k["failed"].as_u64().unwrap()).sum();
    assert_eq!(failed, 0, "{r}");
    assert!(r["notes"].to_string().contains("keeps whole seconds"), "{}", r["notes"]);
    env.run(&["convert", s(&w), "--to", "archive", "-o", s(&b)]).ok();
    let (from_android, from_iphone) = (archive_messages(&a), archive_messages(&b));
    assert_eq!(from_android.len(), from_iphone.len());
    let key = |m: &Message| (m.chat.clone(), m.timestamp_ms.div_euclid(1000), m.kind, m.from_me);
    let mut x: Vec<&Message> = from_android.iter().collect();
    let mut y: Vec<&Message> = from_iphone.iter().collect();
    x.sort_by_key(|m| key(m));
    y.sort_by_key(|m| key(m));
    for (m, n) in x.iter().zip(&y) {
        let what = format!("message {} → {}", m.id, n.id);
        assert_eq!(key(m), key(n), "{what}");
        assert_eq!((&m.sender, &m.text, &m.quoted_text), (&n.sender, &n.text, &n.quoted_text), "{what}");
        assert_eq!((&m.location, &m.link, &m.payment, &m.call), (&n.location, &n.link, &n.payment, &n.call), "{what}");
        assert_eq!(m.reply_to.is_some(), n.reply_to.is_some(), "{what}");
        let sha = |m: &Message| m.media.as_ref().and_then(|x| x.sha256.clone());
        assert_eq!(sha(m), sha(n), "{what}: the same file");
    }
    let files = |msgs: &[Message]| -> BTreeSet<String> {
        msgs.iter().filter_map(|m| m.media.as_ref().and_then(|x| x.sha256.clone())).collect()
    };
    assert_eq!(files(&from_android), files(&from_iphone), "every media file kept");
    assert!(files(&from_android).len() >= 7);
}

#[test]
fn the_export_goes_into_a_template_backup_of_the_new_iphone() {
    let dir = tempfile::tempdir().unwrap();
    let source = wi::write_sample(&dir.path().join("old"), &Spec::default());
    // The new iPhone: WeChat logged in to the same account, a small fresh
    // history (its MM.sqlite still has a WAL), backed up.
    let fresh = wi::write_sample(&dir.path().join("new"), &Spec { extras: false, wal_rows: 2 });
    let template = dir.path().join("template");
    wi::write_backup(&fresh, &template, None);
    let before = tree_digest(&template);
    let env = Env::new();
    let out = dir.path().join("new-backup");
    let run = env
        .run(&[
            "convert",
            s(&source.root),
            "--to",
            "wechat-ios",
            "-o",
            s(&out),
            "--opt",
            &format!("template={}", s(&template)),
        ])
        .ok();
    assert!(run.stdout.contains("wrote a new iPhone backup"), "{}", run.stdout);
    assert_eq!(tree_digest(&template), before, "the template is never modified");
    // The -wal of the replaced MM.sqlite is gone from the new backup.
    let m = rusqlite::Connection::open(out.join("Manifest.db")).unwrap();
    let wal: i64 =
        m.query_row("SELECT count(*) FROM Files WHERE relativePath LIKE '%MM.sqlite-wal'", [], |r| r.get(0)).unwrap();
    assert_eq!(wal, 0);
    let img: i64 = m
        .query_row(
            "SELECT count(*) FROM Files WHERE domain = ?1 AND relativePath LIKE '%/Img/%.pic' AND flags = 1",
            [wi::DOMAIN],
            |r| r.get(0),
        )
        .unwrap();
    assert!(img >= 2, "media are listed in the manifest");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    env.run(&["convert", s(&source.root), "--to", "archive", "-o", s(&a)]).ok();
    env.run(&["convert", s(&out), "--to", "archive", "-o", s(&b)]).ok();
    let (x, y) = (archive_messages(&a), archive_messages(&b));
    assert_eq!(x.len(), y.len(), "the new backup holds the old history, not the new phone's too");
    for (m, n) in x.iter().zip(&y) {
        assert_eq!(m, n);
    }
    assert!(
        run.stdout.contains("WeChat messages of its own"),
        "says the template's messages are not carried: {}",
        run.stdout
    );

    // A folder that is not a backup, and a backup of another account, are
    // refused before anything is written.
    let other = wi::write_sample(&dir.path().join("other"), &Spec::default());
    let o2 = dir.path().join("o2");
    let r = env
        .run(&[
            "convert",
            s(&source.root),
            "--to",
            "wechat-ios",
            "-o",
            s(&o2),
            "--opt",
            &format!("template={}", s(&other.root)),
        ])
        .fails_with(2);
    assert!(r.error_lines()[0].contains("not an iPhone backup"), "{:?}", r.error_lines());
    assert!(!o2.exists());
    std::fs::rename(&other.account, other.root.join("Documents").join(md5_hex("wxid_someone_else"))).unwrap();
    let foreign = dir.path().join("foreign-backup");
    wi::write_backup(&other, &foreign, None);
    let r = env
        .run(&[
            "convert",
            s(&source.root),
            "--to",
            "wechat-ios",
            "-o",
            s(&o2),
            "--opt",
            &format!("template={}", s(&foreign)),
        ])
        .fails_with(1);
    assert_eq!(r.error_lines().len(), 1, "{:?}", r.error_lines());
    assert!(r.error_lines()[0].contains("no WeChat account folder for wxid_k3l9m2n8p4q1"), "{:?}", r.error_lines());
    assert!(!o2.exists());
}

#[test]
fn writing_a_history_without_an_owner_asks_for_the_wxid() {
    // WhatsApp on iPhone does not record its owner.
    let dir = tempfile::tempdir().unwrap();
    let wa = chatferry_tests::fixtures::whatsapp_ios::write_sample(&dir.path().join("wa"));
    let env = Env::new();
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec!["convert", s(&wa.root), "--to", "wechat-ios", "-o", s(&out), "--unmapped", "keep-as-name"];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let r = run(&[]).fails_with(2);
    assert!(r.error_lines()[0].contains("give --opt account=<your wxid>"), "{:?}", r.error_lines());
    let folder = format!("account={}", md5_hex("wxid_me"));
    let r = run(&["--opt", &folder]).fails_with(2);
    assert!(r.error_lines()[0].contains("is a folder name (the md5 of a wxid)"), "{:?}", r.error_lines());
    assert!(!out.exists());
    run(&["--opt", "account=wxid_me"]).ok();
    assert!(out.join("Documents").join(md5_hex("wxid_me")).join("DB/MM.sqlite").is_file());
}

#[test]
fn a_backup_whose_blob_folder_is_a_link_is_not_read_through() {
    // The blob's folder `ab/` as a link to a folder elsewhere was followed
    // (the store read from outside the backup, exit 0).
    let dir = tempfile::tempdir().unwrap();
    let fx = wi::write_sample(&dir.path().join("app"), &Spec { extras: false, wal_rows: 0 });
    let backup = dir.path().join("backup");
    wi::write_backup(&fx, &backup, None);
    let account = fx.account.file_name().unwrap().to_string_lossy().into_owned();
    let id = chatferry_core::ios_backup::file_id(wi::DOMAIN, &format!("Documents/{account}/DB/MM.sqlite"));
    let folder = backup.join(&id[..2]);
    assert!(folder.join(&id).is_file(), "the fixture's MM.sqlite blob is where the test looks");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::rename(&folder, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &folder).unwrap();
    let out = dir.path().join("out");
    let run = Env::new().run(&["convert", s(&backup), "--to", "archive", "-o", s(&out)]).fails_with(1);
    assert!(run.error_lines()[0].contains("is a link"), "{}", run.stderr);
    assert!(!out.exists());
}
