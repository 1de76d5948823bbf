//! Crafted inputs: nothing outside the output is touched, nothing outside
//! the input is read. Each test here failed on the code before its fix.

use chatferry_core::testing::mkfifo;
use chatferry_tests::fixtures::{canonical, ios_backup};
use chatferry_tests::harness::{ios_sample, path_arg as s, tree_digest, Env};
use std::path::{Path, PathBuf};

const OWNER: &str = "owner=+4915112345678";

/// An iPhone backup holding the sample as WhatsApp's ChatStorage.sqlite.
fn backup(dir: &Path) -> PathBuf {
    let group = ios_sample(dir);
    let b = dir.join("backup");
    ios_backup::write(&group, &b, None);
    b
}

fn manifest(b: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(b.join("Manifest.db")).unwrap()
}

/// Converts the sample archive into the iPhone format with `template`.
fn into_template(dir: &Path, template: &Path, out: &Path) -> chatferry_tests::harness::Run {
    let a = dir.join("sample");
    Env::new().run(&[
        "convert",
        s(&a),
        "--to",
        "whatsapp-ios",
        "-o",
        s(out),
        "--opt",
        OWNER,
        "--opt",
        &format!("template={}", s(template)),
    ])
}

#[test]
fn a_template_whose_manifest_names_a_path_for_a_file_id_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let b = backup(dir.path());
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    for crafted in [s(&victim).to_string(), "../victim.txt".into(), "zz/../../victim.txt".into(), "é".repeat(20)] {
        let conn = manifest(&b);
        conn.execute("DELETE FROM Files WHERE relativePath = 'crafted'", []).unwrap();
        conn.execute(
            "INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?1, ?2, 'crafted', 1, x'')",
            [&crafted, ios_backup::DOMAIN],
        )
        .unwrap();
        drop(conn);
        let before = tree_digest(&b);
        let out = dir.path().join("new-backup");
        let run = into_template(dir.path(), &b, &out).fails_with(1);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains("lists a file id that is not a SHA-1"), "{crafted}: {}", errors[0]);
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me", "{crafted}");
        assert_eq!(tree_digest(&b), before, "the template changed");
        assert!(!out.exists(), "{crafted}: nothing is written");
    }
}

#[test]
fn a_backup_whose_manifest_points_outside_is_not_read_through() {
    let dir = tempfile::tempdir().unwrap();
    let b = backup(dir.path());
    // Another ChatStorage.sqlite outside the backup, which a crafted id would import.
    let elsewhere = dir.path().join("group/ChatStorage.sqlite");
    let id = ios_backup::file_id(ios_backup::DOMAIN, "ChatStorage.sqlite");
    for crafted in [s(&elsewhere).to_string(), "../group/ChatStorage.sqlite".into()] {
        manifest(&b)
            .execute("UPDATE Files SET fileID = ?1 WHERE fileID = ?2 OR fileID LIKE '%ChatStorage%'", [&crafted, &id])
            .unwrap();
        let out = dir.path().join("archive");
        let run = Env::new().run(&["convert", s(&b), "--to", "archive", "-o", s(&out), "--opt", OWNER]).fails_with(1);
        assert!(run.error_lines()[0].contains("not a SHA-1"), "{crafted}: {}", run.stderr);
        assert!(!out.exists());
    }
}

#[test]
fn a_backup_whose_blob_folder_is_a_link_is_not_read_through() {
    // Only the blob itself was checked: its folder `ab/` as a link to a
    // folder elsewhere (holding another store) was read and exit 0.
    let dir = tempfile::tempdir().unwrap();
    let b = backup(dir.path());
    let id = ios_backup::file_id(ios_backup::DOMAIN, "ChatStorage.sqlite");
    let folder = b.join(&id[..2]);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::rename(&folder, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &folder).unwrap();
    let out = dir.path().join("archive");
    let run = Env::new().run(&["convert", s(&b), "--to", "archive", "-o", s(&out), "--opt", OWNER]).fails_with(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("is a link") && errors[0].contains(&id[..2]), "{}", errors[0]);
    assert!(!out.exists());
}

#[test]
fn links_inside_a_template_are_not_followed_into_the_new_backup() {
    let dir = tempfile::tempdir().unwrap();
    let b = backup(dir.path());
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, b"outside the backup").unwrap();
    // A link among the blobs, and one at the top (as Status.plist).
    let blob_dir = std::fs::read_dir(&b).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir()).unwrap();
    for link in [blob_dir.join("0000000000000000000000000000000000000000"), b.join("Status.plist")] {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let out = dir.path().join("new-backup");
        let run = into_template(dir.path(), &b, &out).fails_with(1);
        assert!(run.error_lines()[0].contains("a link"), "{}", run.stderr);
        assert!(!out.exists(), "nothing is written");
        std::fs::remove_file(&link).unwrap();
    }
}

/// A generated WhatsApp Android folder (the sample, with media).
fn whatsapp_folder(dir: &Path) -> PathBuf {
    chatferry_tests::fixtures::whatsapp_android::write_sample(&dir.join("WhatsApp")).root
}

#[test]
fn a_report_or_contact_map_path_over_the_input_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let root = whatsapp_folder(dir.path());
    let before = tree_digest(&root);
    let db = root.join("Databases/msgstore.db");
    let out = dir.path().join("out");
    for args in
        [vec!["--report", s(&db)], vec!["--report", s(&root.join("report.json"))], vec!["--write-contact-map", s(&db)]]
    {
        let mut full = vec!["convert", s(&root), "--to", "archive", "-o", s(&out), "--opt", OWNER];
        full.extend(&args);
        let run = Env::new().run(&full).fails_with(1);
        assert!(run.error_lines()[0].contains("would overlap the input"), "{args:?}: {}", run.stderr);
        assert_eq!(tree_digest(&root), before, "{args:?}: the input changed");
        assert!(!out.exists());
    }
}

#[test]
fn a_report_that_cannot_be_written_fails_before_the_output_appears() {
    let dir = tempfile::tempdir().unwrap();
    let root = whatsapp_folder(dir.path());
    let out = dir.path().join("out");
    let report = dir.path().join("no-such-folder/report.json");
    let run = Env::new()
        .run(&["convert", s(&root), "--to", "archive", "-o", s(&out), "--opt", OWNER, "--report", s(&report)])
        .fails_with(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("cannot write the report") && errors[0].contains("nothing was written"),
        "{}",
        errors[0]
    );
    assert!(!out.exists(), "no output without its report");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".chatferry"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn contact_maps_that_are_devices_pipes_huge_or_give_two_people_one_id_are_usage_errors() {
    use chatferry_tests::fixtures::wechat_android::{self as wc, Spec};
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let out = dir.path().join("wa");
    let fifo = dir.path().join("map.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let huge = dir.path().join("huge.toml");
    std::fs::File::create(&huge).unwrap().set_len(17 * 1024 * 1024).unwrap();
    let twice = dir.path().join("twice.toml");
    std::fs::write(
        &twice,
        "[[person]]\nname = \"Zhang\"\nwechat = \"wxid_zhang3wei\"\nwhatsapp = \"+8613800138000\"\n\n\
         [[person]]\nname = \"Amina\"\nwechat = \"wxid_amina7\"\nwhatsapp = \"+86 138 0013 8000\"\n",
    )
    .unwrap();
    for (map, needle) in [
        (PathBuf::from("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (huge, "larger than"),
        (twice, "\"Zhang\" and \"Amina\" both have the whatsapp id 8613800138000@s.whatsapp.net"),
    ] {
        let run = Env::new()
            .run(&["convert", s(&fx.root), "--to", "whatsapp-android", "-o", s(&out), "--contacts", s(&map)])
            .fails_with(2);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains(needle), "{}: {}", map.display(), errors[0]);
        assert!(!out.exists());
    }
}

#[test]
fn times_no_store_can_hold_are_refused_per_message_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("sample");
    canonical::write_sample_archive(&a).unwrap();
    let lines = std::fs::read_to_string(a.join("messages.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    let mut extra = String::new();
    for (id, t) in [("far-past", i64::MIN), ("far-future", i64::MAX), ("year-10000", 253_402_300_800_000)] {
        let mut m = first.clone();
        m["id"] = id.into();
        m["timestamp_ms"] = t.into();
        m["reply_to"] = serde_json::Value::Null;
        extra.push_str(&format!("{m}\n"));
    }
    std::fs::write(a.join("messages.jsonl"), format!("{lines}{extra}")).unwrap();
    let total = lines.lines().count();
    for target in ["whatsapp-ios", "whatsapp-android", "html", "archive"] {
        let out = dir.path().join(target);
        let report = dir.path().join(format!("{target}.json"));
        let mut args = vec!["convert", s(&a), "--to", target, "-o", s(&out), "--report", s(&report)];
        match target {
            "whatsapp-ios" | "whatsapp-android" => args.extend(["--opt", OWNER]),
            _ => {}
        }
        Env::new().run(&args).ok();
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let failed: u64 = r["written"].as_object().unwrap().values().map(|t| t["failed"].as_u64().unwrap_or(0)).sum();
        assert!(failed >= 3, "{target}: {r}");
        assert!(
            r["notes"].to_string().contains("3 messages: not written, its time is outside the years 1–9999"),
            "{target}: {}",
            r["notes"]
        );
        if target == "archive" {
            let back = chatferry_tests::harness::archive_messages(&out);
            assert_eq!(back.len(), total, "every other message is written");
            assert!(back.iter().all(|m| chatferry_core::time::in_range(m.timestamp_ms)));
        }
    }
}

/// Runs chatferry with `args`, killing it after 20 s: `None` if it hung.
fn run_or_hang(env: &Env, args: &[&str]) -> Option<chatferry_tests::harness::Run> {
    let mut child = env
        .command()
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Some(chatferry_tests::harness::Run::from(child.wait_with_output().unwrap()))
}

#[test]
fn a_fifo_where_a_file_is_expected_is_an_error_not_a_hang() {
    // Each of these blocked for ever in open(), waiting for a writer.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wa = whatsapp_folder(d);
    std::fs::remove_file(wa.join("Databases/msgstore.db")).unwrap();
    mkfifo(&wa.join("Databases/msgstore.db"));
    mkfifo(&d.join("msgstore.db"));
    let arch = canonical::sample_archive_in(d);
    std::fs::remove_file(arch.join("messages.jsonl")).unwrap();
    mkfifo(&arch.join("messages.jsonl"));
    std::fs::create_dir(d.join("ios")).unwrap();
    mkfifo(&d.join("ios/ChatStorage.sqlite"));
    std::fs::create_dir(d.join("plain")).unwrap();
    mkfifo(&d.join("plain/_chat.txt"));
    mkfifo(&d.join("WhatsApp Chat with F.txt"));
    let env = Env::new();
    let out = d.join("out");
    let (store, ios, plain, txt) =
        (d.join("msgstore.db"), d.join("ios"), d.join("plain"), d.join("WhatsApp Chat with F.txt"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["detect", s(&wa)], "WhatsApp folder whose msgstore.db is a FIFO"),
        (vec!["convert", s(&store), "--to", "archive", "-o", s(&out)], "msgstore.db a FIFO"),
        (vec!["convert", s(&arch), "--to", "html", "-o", s(&out)], "archive messages.jsonl a FIFO"),
        (vec!["detect", s(&ios)], "ChatStorage.sqlite a FIFO"),
        (vec!["convert", s(&plain), "--to", "archive", "-o", s(&out)], "a FIFO _chat.txt"),
        (vec!["convert", s(&txt), "--to", "archive", "-o", s(&out)], "the input a FIFO"),
    ];
    for (args, what) in cases {
        let run = run_or_hang(&env, &args).unwrap_or_else(|| panic!("{what}: chatferry hung"));
        assert!(run.code != 0 || args[0] == "detect", "{what}: {}", run.stderr);
        assert!(!out.exists(), "{what}");
    }
    // The plugin registry a FIFO: every command read it.
    let registry = env.user_plugin_dir().join("registry.toml");
    std::fs::create_dir_all(registry.parent().unwrap()).unwrap();
    mkfifo(&registry);
    let run = run_or_hang(&env, &["adapters"]).expect("adapters hung on a FIFO registry");
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
}

#[test]
fn special_files_are_never_replaced_and_reports_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let arch = canonical::sample_archive_in(d);
    let env = Env::new();
    // -o a FIFO (or a link to a device) with --force: refused, left as it is.
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    let null = d.join("null");
    std::os::unix::fs::symlink("/dev/null", &null).unwrap();
    for special in [&fifo, &null] {
        let run = env.run(&["convert", s(&arch), "--to", "archive", "-o", s(special), "--force"]).fails_with(1);
        assert!(run.error_lines()[0].contains("never replaces"), "{}", run.stderr);
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(fifo.metadata().unwrap().file_type().is_fifo());
    assert!(null.symlink_metadata().unwrap().file_type().is_symlink());
    // --report into a link to /dev/null: written into, not replaced.
    let out = d.join("out");
    env.run(&["convert", s(&arch), "--to", "archive", "-o", s(&out), "--report", s(&null), "-q"]).ok();
    assert!(null.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    // An existing report needs --force; one equal to -o is refused up front.
    let report = d.join("report.json");
    std::fs::write(&report, b"keep").unwrap();
    let run = env.run(&["convert", s(&arch), "--to", "archive", "-o", s(&d.join("o2")), "--report", s(&report)]);
    assert!(run.fails_with(1).error_lines()[0].contains("--force"));
    assert_eq!(std::fs::read(&report).unwrap(), b"keep");
    assert!(!d.join("o2").exists(), "refused before writing");
    let same = d.join("same");
    let run = env.run(&["convert", s(&arch), "--to", "archive", "-o", s(&same), "--report", s(&same)]).fails_with(1);
    assert!(run.error_lines()[0].contains("give each its own path"), "{}", run.stderr);
    assert!(!same.exists());
}

#[test]
fn names_of_90_cjk_characters_are_written_cut_to_fit() {
    // Names were cut to 120 characters, not to the 255 bytes a file system
    // takes: a document or chat of 90 CJK characters (270 bytes) aborted
    // the whole export with "File name too long".
    let dir = tempfile::tempdir().unwrap();
    let arch = canonical::sample_archive_in(dir.path());
    let edit = |file: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let p = arch.join(file);
        let lines: Vec<String> = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                f(&mut v);
                v.to_string()
            })
            .collect();
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    };
    let mut documents = 0;
    edit("messages.jsonl", &|m| {
        if m["kind"] == "document" && m["media"].is_object() {
            m["media"]["file_name"] = format!("{}.pdf", "文".repeat(90)).into();
        }
    });
    for l in std::fs::read_to_string(arch.join("messages.jsonl")).unwrap().lines() {
        documents += usize::from(l.contains("文文文"));
    }
    assert!(documents > 0, "the sample has a document to rename");
    edit("chats.jsonl", &|c| c["title"] = "老".repeat(90).into());
    let env = Env::new();
    for (to, extra) in [
        ("whatsapp-android", vec!["--opt", OWNER]),
        ("wechat-android", vec!["--opt", "uin=-1570123456"]),
        ("whatsapp-txt", vec![]),
    ] {
        let out = dir.path().join(format!("out-{to}"));
        let mut args = vec!["convert", s(&arch), "--to", to, "-o", s(&out), "--unmapped", "keep-as-name"];
        args.extend(extra);
        env.run(&args).ok();
        let longest = walk_names(&out).into_iter().map(|n| n.len()).max().unwrap();
        assert!(longest <= 255, "{to}: a name of {longest} bytes");
    }
    let txt = walk_names(&dir.path().join("out-whatsapp-txt"));
    assert!(txt.iter().any(|n| n.contains("老老老") && n.ends_with(".zip")), "the chat keeps its title: {txt:?}");
}

/// Every file and folder name below `dir`.
fn walk_names(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        names.push(e.file_name().to_string_lossy().into_owned());
        if e.file_type().unwrap().is_dir() {
            names.extend(walk_names(&e.path()));
        }
    }
    names
}
