//! Encrypted iPhone backups (shared/formats/ios-encrypted-backup.md): the
//! generator's encrypted backups open in two PyPI readers (so they are real
//! ones, not our own picture); WhatsApp and WeChat imports from them equal
//! the same backups unencrypted; the password comes from a file, the
//! environment or nowhere, never shows, and a wrong one stops the run
//! before anything is written; writing into an encrypted template gives a
//! backup both PyPI readers open with the template's password, returning
//! every file chatferry put in; and pyiosbackup's own encrypted fixture
//! (the real 10,000,000 rounds) opens.

use chatferry_tests::fixtures::ios_backup::{self, Encryption};
use chatferry_tests::fixtures::wechat_ios::{self as wi, Spec};
use chatferry_tests::fixtures::whatsapp_android as wa;
use chatferry_tests::harness::{
    interop_venv, ios_sample, path_arg as s, read_encrypted_backup, tree, tree_digest, Env,
};
use std::path::{Path, PathBuf};

const OWNER: &str = "owner=+4915112345678";
const PASSWORD: &str = "correct horse 🐎 battery";

fn password_file(dir: &Path, password: &str) -> PathBuf {
    let p = dir.join(format!("password-{}", password.len()));
    std::fs::write(&p, format!("{password}\n")).unwrap();
    p
}

/// An archive's files that say what was read (the header names the input path).
fn content(archive: &Path) -> Vec<(String, Vec<u8>)> {
    tree(archive).into_iter().filter(|(name, _)| name != "manifest.json").collect()
}

/// Two archives hold the same; else the first lines that differ.
fn assert_same(a: &Path, b: &Path, what: &str) {
    let (x, y) = (content(a), content(b));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&x), names(&y), "{what}: the archives' files");
    for ((name, p), (_, q)) in x.iter().zip(&y) {
        if p != q {
            let (p, q) = (String::from_utf8_lossy(p), String::from_utf8_lossy(q));
            let (l, m) = p.lines().zip(q.lines()).find(|(l, m)| l != m).unwrap_or_default();
            panic!("{what}: {name} differs:\n{l}\n{m}");
        }
    }
}

#[test]
fn the_generators_encrypted_backups_open_in_both_pypi_readers() {
    if interop_venv("the_generators_encrypted_backups_open_in_both_pypi_readers").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let group = ios_sample(dir.path());
    let backup = dir.path().join("backup");
    ios_backup::write(&group, &backup, Some(&Encryption::new(PASSWORD)));
    let read = dir.path().join("read");
    let listed = read_encrypted_backup(&backup, ios_backup::DOMAIN, PASSWORD, &read);
    let want = tree(&group);
    assert_eq!(listed, want.len(), "every file of the group is listed");
    for reader in ["iphone_backup_decrypt", "pyiosbackup"] {
        assert!(tree(&read.join(reader)) == want, "{reader} returns every file as it was");
    }
}

#[test]
fn whatsapp_and_wechat_imports_from_encrypted_backups_equal_the_unencrypted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let env = Env::new().with_var("TMPDIR", s(&tmp));
    let pw = password_file(dir.path(), PASSWORD);
    let pw_opt = format!("backup-password-file={}", s(&pw));
    let group = ios_sample(dir.path());
    let fx = wi::write_sample(&dir.path().join("wechat"), &Spec { extras: true, wal_rows: 2 });
    for (app, plain, sealed) in [("whatsapp", "wa-plain", "wa-sealed"), ("wechat", "wc-plain", "wc-sealed")] {
        let (plain, sealed) = (dir.path().join(plain), dir.path().join(sealed));
        let enc = Encryption::new(PASSWORD);
        if app == "whatsapp" {
            ios_backup::write(&group, &plain, None);
            ios_backup::write(&group, &sealed, Some(&enc));
        } else {
            wi::write_backup(&fx, &plain, None);
            wi::write_backup(&fx, &sealed, Some(&enc));
        }
        let before = tree_digest(&sealed);
        let (a, b) = (dir.path().join(format!("{app}-a")), dir.path().join(format!("{app}-b")));
        let report = dir.path().join(format!("{app}-report.json"));
        let owner: &[&str] = if app == "whatsapp" { &["--opt", OWNER] } else { &[] };
        let mut args = vec!["convert", s(&plain), "--to", "archive", "-o", s(&a)];
        args.extend(owner);
        env.run(&args).ok();
        let mut args = vec!["convert", s(&sealed), "--to", "archive", "-o", s(&b), "--opt", &pw_opt];
        args.extend(owner);
        args.extend(["--report", s(&report)]);
        let run = env.run(&args).ok();
        assert_eq!(tree_digest(&sealed), before, "{app}: the encrypted backup changed");
        assert_same(&a, &b, app);
        assert!(content(&a).iter().any(|(n, _)| n.starts_with("media/")), "{app}: media came through");
        let r = std::fs::read_to_string(&report).unwrap();
        assert!(r.contains("decrypted into a private temporary folder"), "{app}: {r}");
        for text in [&r, &run.stdout, &run.stderr] {
            assert!(!text.contains(PASSWORD), "{app}: the password shows");
        }
        // Nothing decrypted is left behind in the temporary folder.
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.path()).collect();
        assert!(left.is_empty(), "{app}: left in TMPDIR: {left:?}");
    }
}

#[test]
fn the_password_comes_from_a_file_or_the_environment_and_a_wrong_one_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let group = ios_sample(dir.path());
    let backup = dir.path().join("backup");
    ios_backup::write(&group, &backup, Some(&Encryption::new(PASSWORD)));
    let out = dir.path().join("out");
    let env = Env::new();
    let detect = env.run(&["detect", s(&backup)]).ok();
    assert!(detect.stdout.contains("an encrypted iPhone backup (needs its password"), "{}", detect.stdout);

    // No password anywhere (stdin is not a terminal): say how to give it.
    let run = env.run(&["convert", s(&backup), "--to", "archive", "-o", s(&out)]).fails_with(2);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("needs its password") && run.stderr.contains("--opt backup-password-file=FILE"));
    // A wrong one: one line, before anything is written.
    let wrong = password_file(dir.path(), "correct horse battery");
    let run = env
        .run(&[
            "convert",
            s(&backup),
            "--to",
            "archive",
            "-o",
            s(&out),
            "--opt",
            &format!("backup-password-file={}", s(&wrong)),
        ])
        .fails_with(1);
    assert_eq!(run.error_lines(), vec![format!("chatferry: wrong backup password for {}", backup.display())]);
    assert!(!out.exists());
    let env_wrong = Env::new().with_var("CHATFERRY_BACKUP_PASSWORD", "nope");
    let run = env_wrong.run(&["inspect", s(&backup)]).fails_with(1);
    assert!(run.stderr.contains("wrong backup password"), "{}", run.stderr);
    // The right one from the environment.
    let env_right = Env::new().with_var("CHATFERRY_BACKUP_PASSWORD", PASSWORD);
    let run = env_right.run(&["inspect", s(&backup), "--opt", OWNER]).ok();
    assert!(run.stdout.contains("an encrypted iPhone backup"), "{}", run.stdout);
    assert!(run.stdout.contains("messages: 26"), "{}", run.stdout);
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    // A damaged keybag, and an unknown keybag version, are refused in one line naming what was found.
    for (what, needle) in [("version", "keybag is version 9"), ("cut", "a record longer than the keybag")] {
        let bad = dir.path().join(format!("bad-{what}"));
        ios_backup::write(&group, &bad, Some(&Encryption::new(PASSWORD)));
        let plist_path = bad.join("Manifest.plist");
        let mut v = plist::Value::from_file(&plist_path).unwrap();
        let d = v.as_dictionary_mut().unwrap();
        let mut bag = d["BackupKeyBag"].as_data().unwrap().to_vec();
        if what == "version" {
            bag[11] = 9;
        } else {
            bag.truncate(bag.len() - 3);
        }
        d.insert("BackupKeyBag".into(), plist::Value::Data(bag));
        v.to_file_binary(&plist_path).unwrap();
        let run = env_right.run(&["convert", s(&bad), "--to", "archive", "-o", s(&out)]).fails_with(1);
        assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
        assert!(!out.exists());
    }
}

#[test]
fn writing_into_an_encrypted_template_gives_a_backup_both_pypi_readers_open() {
    let venv = interop_venv("writing_into_an_encrypted_template_gives_a_backup_both_pypi_readers_open");
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let group = ios_sample(dir.path());
    // The new iPhone's backup, encrypted, and the same unencrypted.
    let (sealed, plain) = (dir.path().join("template-sealed"), dir.path().join("template-plain"));
    ios_backup::write(&group, &sealed, Some(&Encryption::new(PASSWORD)));
    ios_backup::write(&group, &plain, None);
    let before = tree_digest(&sealed);
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let pw = password_file(dir.path(), PASSWORD);
    let (out_sealed, out_plain) = (dir.path().join("new-sealed"), dir.path().join("new-plain"));
    let convert = |template: &Path, out: &Path, extra: &[&str]| {
        let t = format!("template={}", s(template));
        let mut args = vec!["convert", s(&fx.root), "--to", "whatsapp-ios", "-o", s(out), "--opt", OWNER, "--opt", &t];
        args.extend(extra);
        env.run(&args).ok()
    };
    let run = convert(&sealed, &out_sealed, &["--opt", &format!("template-password-file={}", s(&pw))]);
    assert!(
        run.stdout.contains("wrote a new encrypted (with the template's password) iPhone backup"),
        "{}",
        run.stdout
    );
    convert(&plain, &out_plain, &[]);
    assert_eq!(tree_digest(&sealed), before, "the template is never modified");
    let manifest = std::fs::metadata(out_sealed.join("Manifest.db")).unwrap().len();
    assert_eq!(manifest % 512, 16, "Manifest.db is written PKCS#7-padded");
    assert!(!std::fs::read(out_sealed.join("Manifest.db")).unwrap().starts_with(b"SQLite format 3"));

    // chatferry reads the new encrypted backup as the unencrypted one.
    let pw_opt = format!("backup-password-file={}", s(&pw));
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    env.run(&["convert", s(&out_plain), "--to", "archive", "-o", s(&a), "--opt", OWNER]).ok();
    env.run(&["convert", s(&out_sealed), "--to", "archive", "-o", s(&b), "--opt", OWNER, "--opt", &pw_opt]).ok();
    assert_same(&a, &b, "the encrypted new backup and the unencrypted one");
    assert_eq!(chatferry_tests::harness::archive_messages(&b).len(), 26 + 24);

    // Both PyPI readers open it with the template's password and return
    // every file of WhatsApp's domain as chatferry wrote it (the same
    // bytes as in the unencrypted new backup), the untouched files too.
    if venv.is_none() {
        return;
    }
    let read = dir.path().join("read");
    read_encrypted_backup(&out_sealed, ios_backup::DOMAIN, PASSWORD, &read);
    let m = rusqlite::Connection::open(out_plain.join("Manifest.db")).unwrap();
    let mut st = m.prepare("SELECT fileID, relativePath FROM Files WHERE domain = ?1 AND flags = 1").unwrap();
    let want: Vec<(String, Vec<u8>)> = st
        .query_map([ios_backup::DOMAIN], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .map(|(id, rel)| (rel, std::fs::read(out_plain.join(&id[..2]).join(&id)).unwrap()))
        .collect();
    assert!(want.len() >= 5, "ChatStorage.sqlite and media: {}", want.len());
    for reader in ["iphone_backup_decrypt", "pyiosbackup"] {
        let got = tree(&read.join(reader));
        assert_eq!(got.len(), want.len(), "{reader}: every file");
        for (rel, bytes) in &want {
            assert!(got.get(rel) == Some(bytes), "{reader}: {rel} differs");
        }
    }
}

#[test]
fn wechat_goes_into_an_encrypted_template_too() {
    let venv = interop_venv("wechat_goes_into_an_encrypted_template_too");
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let source = wi::write_sample(&dir.path().join("old"), &Spec::default());
    let fresh = wi::write_sample(&dir.path().join("new"), &Spec { extras: false, wal_rows: 2 });
    let template = dir.path().join("template");
    wi::write_backup(&fresh, &template, Some(&Encryption::new(PASSWORD)));
    let out = dir.path().join("new-backup");
    let run = Env::new()
        .with_var("CHATFERRY_TEMPLATE_PASSWORD", PASSWORD)
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
    assert!(
        run.stdout.contains("WeChat messages of its own"),
        "the template's own messages were counted: {}",
        run.stdout
    );
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    env.run(&["convert", s(&source.root), "--to", "archive", "-o", s(&a)]).ok();
    Env::new()
        .with_var("CHATFERRY_BACKUP_PASSWORD", PASSWORD)
        .run(&["convert", s(&out), "--to", "archive", "-o", s(&b)])
        .ok();
    let (x, y) = (chatferry_tests::harness::archive_messages(&a), chatferry_tests::harness::archive_messages(&b));
    assert_eq!(x, y, "the new encrypted backup holds the old history");
    if venv.is_none() {
        return;
    }
    let read = dir.path().join("read");
    read_encrypted_backup(&out, wi::DOMAIN, PASSWORD, &read);
    let mm = format!("Documents/{}/DB/MM.sqlite", source.account.file_name().unwrap().to_string_lossy());
    for reader in ["iphone_backup_decrypt", "pyiosbackup"] {
        let db = read.join(reader).join(&mm);
        let n: i64 = rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT count(*) FROM sqlite_master WHERE name LIKE 'Chat\\_%' ESCAPE '\\'", [], |r| r.get(0))
            .unwrap();
        assert!(n > 0, "{reader}: MM.sqlite has its chat tables");
    }
}

#[test]
fn pyiosbackups_encrypted_fixture_opens_with_its_password() {
    let test = "pyiosbackups_encrypted_fixture_opens_with_its_password";
    let Some(backup) =
        chatferry_core::testing::public_fixture("ios-backup/pyiosbackup-encrypted/assembled_backup", test)
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The real 10,000,000 rounds: the right password opens it (and it holds no WhatsApp).
    let env = Env::new().with_var("CHATFERRY_BACKUP_PASSWORD", "0000");
    let run =
        env.run(&["convert", s(&backup), "--from", "whatsapp-ios", "--to", "archive", "-o", s(&out)]).fails_with(1);
    assert!(run.stderr.contains("holds no WhatsApp chats"), "{}", run.stderr);
    let env = Env::new().with_var("CHATFERRY_BACKUP_PASSWORD", "1234");
    let run =
        env.run(&["convert", s(&backup), "--from", "whatsapp-ios", "--to", "archive", "-o", s(&out)]).fails_with(1);
    assert!(run.stderr.contains("wrong backup password"), "{}", run.stderr);
    assert!(!out.exists());
}

/// The records of a real encrypted backup (mvt's iOS 14.3 Manifest.db):
/// every WhatsApp file's key is read through its reference, its class
/// prefix matches ProtectionClass, and a rewrite changes the key, path and
/// size in place — by reference, never by index — leaving the rest as iOS
/// wrote it.
#[test]
fn the_real_backups_file_records_are_read_and_rewritten_through_their_references() {
    use chatferry_core::ios_backup::FileRecord;
    let test = "the_real_backups_file_records_are_read_and_rewritten_through_their_references";
    let Some(dir) = chatferry_core::testing::public_fixture("ios-backup/mvt-ios14", test) else { return };
    let m = rusqlite::Connection::open_with_flags(dir.join("Manifest.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut st = m.prepare("SELECT relativePath, file FROM Files WHERE domain = ?1 AND flags = 1").unwrap();
    let rows: Vec<(String, Vec<u8>)> =
        st.query_map([ios_backup::DOMAIN], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert!(rows.len() >= 20, "WhatsApp's files in the real manifest: {}", rows.len());
    let objects = |bytes: &[u8]| -> Vec<plist::Value> {
        let v = plist::Value::from_reader(std::io::Cursor::new(bytes)).unwrap();
        v.as_dictionary().unwrap()["$objects"].as_array().unwrap().clone()
    };
    for (rel, bytes) in &rows {
        let mut r = FileRecord::parse(bytes).unwrap();
        let key = r.encryption_key().unwrap_or_else(|| panic!("{rel}: no EncryptionKey"));
        assert_eq!(key.len(), 44, "{rel}");
        let class = u32::from_le_bytes(key[..4].try_into().unwrap());
        assert_eq!(Some(class), r.protection_class(), "{rel}: the key's class prefix is its ProtectionClass");
        let before = objects(bytes);
        let new_key = [0xABu8; 44];
        r.set_encryption(class, &new_key);
        r.set_path("Message/Media/new.jpg");
        r.set_size(12345);
        let out = r.to_bytes().unwrap();
        let after = objects(&out);
        assert_eq!(after.len(), before.len(), "{rel}: no object added or lost");
        let again = FileRecord::parse(&out).unwrap();
        assert_eq!(again.encryption_key(), Some(&new_key[..]));
        assert_eq!((again.size(), again.protection_class()), (Some(12345), Some(class)));
        let root = |o: &[plist::Value]| o[1].as_dictionary().unwrap().clone();
        let (b, a) = (root(&before), root(&after));
        for field in ["Mode", "InodeNumber", "UserID", "GroupID", "Birth", "Flags", "$class"] {
            assert_eq!(a.get(field), b.get(field), "{rel}: {field} kept");
        }
        let path_at = a["RelativePath"].as_uid().unwrap().get() as usize;
        assert_eq!(after[path_at].as_string(), Some("Message/Media/new.jpg"));
        let changed = (0..after.len()).filter(|&i| after[i] != before[i]).count();
        assert!(changed <= 3, "{rel}: only the MBFile, its path and its key object change ({changed})");
    }
}

#[test]
fn damaged_encrypted_backups_are_one_plain_line_each() {
    // A damaged Manifest.plist was "Manifest.db is not an SQLite database";
    // a cut Manifest.db showed the decrypted copy's temporary path.
    let dir = tempfile::tempdir().unwrap();
    let group = ios_sample(dir.path());
    let made = dir.path().join("made");
    ios_backup::write(&group, &made, Some(&Encryption::new(PASSWORD)));
    let pw = password_file(dir.path(), PASSWORD);
    let env = Env::new();
    type Damage = Box<dyn Fn(&Path)>;
    let damage: Vec<(&str, Damage)> = vec![
        ("plist garbage", Box::new(|b: &Path| std::fs::write(b.join("Manifest.plist"), b"\x00garbage\xff").unwrap())),
        (
            "plist cut",
            Box::new(|b: &Path| {
                let p = std::fs::read(b.join("Manifest.plist")).unwrap();
                std::fs::write(b.join("Manifest.plist"), &p[..p.len() / 2]).unwrap()
            }),
        ),
        ("manifest db garbage", Box::new(|b: &Path| std::fs::write(b.join("Manifest.db"), vec![7u8; 4096]).unwrap())),
        (
            "manifest db cut",
            Box::new(|b: &Path| {
                let p = std::fs::read(b.join("Manifest.db")).unwrap();
                std::fs::write(b.join("Manifest.db"), &p[..p.len() / 2 / 16 * 16]).unwrap()
            }),
        ),
    ];
    for (what, f) in damage {
        let b = dir.path().join(what.replace(' ', "-"));
        std::fs::create_dir(&b).unwrap();
        for (name, bytes) in tree(&made) {
            let p = b.join(&name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        f(&b);
        let out = dir.path().join("out");
        let run = env.run(&[
            "convert",
            s(&b),
            "--to",
            "archive",
            "-o",
            s(&out),
            "--opt",
            OWNER,
            "--opt",
            &format!("backup-password-file={}", s(&pw)),
        ]);
        let run = run.fails_with(1);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{what}: {}", run.stderr);
        let line = errors[0];
        assert!(line.contains(s(&b)) && line.contains("the backup is damaged"), "{what}: {line}");
        // No path of chatferry's own temporary files, no parser's debug words.
        assert!(!line.contains("chatferry-run-") && !line.contains("chatferry-decrypted"), "{what}: {line}");
        assert!(!line.contains("not an SQLite database") && !line.contains("Invalid"), "{what}: {line}");
        assert!(!out.exists());
    }
}
