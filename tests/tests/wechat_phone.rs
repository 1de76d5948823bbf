//! WeChat for Android as phones keep it (issue 23): the app folder apart from
//! the media on shared storage (the new `Android/data/com.tencent.mm` place,
//! the old `tencent` one, or both), found with `--opt media-dir`; the key's
//! device id and uin from `MicroMsg/CompatibleInfo.cfg` / `systemInfo.cfg`,
//! Java-serialised maps that real Java writes byte for byte as the
//! generator does; what `inspect` tells a person.

use chatferry_tests::fixtures::java_settings;
use chatferry_tests::fixtures::wechat_android::{self as wc, Spec, Storage};
use chatferry_tests::fixtures::wechat_sample as ws;
use chatferry_tests::harness::{archive_messages, path_arg as s, tool, tree_digest, Env};
use std::path::Path;

fn report_of(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The media messages of an archive: (id, sha256) for those with a file.
fn media_hashes(archive: &Path) -> Vec<(String, Option<String>)> {
    archive_messages(archive).into_iter().filter_map(|m| m.media.map(|md| (m.id, md.sha256))).collect()
}

#[test]
fn media_on_shared_storage_is_found_through_media_dir() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    // The reference: everything in the app folder.
    let whole = wc::write_sample(&dir.path().join("whole/com.tencent.mm"), &Spec::default());
    let reference = dir.path().join("reference");
    env.run(&["convert", s(&whole.root), "--to", "archive", "-o", s(&reference)]).ok();
    let want = media_hashes(&reference);
    let with_file = want.iter().filter(|(_, h)| h.is_some()).count();
    assert!(with_file >= 6, "the sample has pictures, voice, video, stickers and a document: {want:?}");

    for (name, storage) in [
        ("current", Storage::Current(dir.path().join("current/sdcard"))),
        ("old", Storage::Old(dir.path().join("old/sdcard"))),
        ("both", Storage::Both(dir.path().join("both/sdcard"))),
    ] {
        let sdcard = dir.path().join(name).join("sdcard");
        let fx = wc::write_sample(&dir.path().join(name).join("com.tencent.mm"), &Spec { storage, ..Spec::default() });
        assert!(!fx.account.join("image2").exists(), "{name}: the app folder holds no media");
        let before = tree_digest(&sdcard);

        // Without media-dir the files are missing, and the report says so.
        let report = dir.path().join(format!("{name}-without.json"));
        let out = dir.path().join(format!("{name}-without"));
        env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--report", s(&report)]).ok();
        assert_eq!(report_of(&report)["media"]["missing"], want.len() as u64, "{name}");

        // With it — the whole shared storage once, or its two app trees — nothing is missing.
        let given: Vec<String> = match name {
            "both" => vec![
                format!("media-dir={}", s(&sdcard.join("Android/data/com.tencent.mm"))),
                format!("media-dir={}", s(&sdcard.join("tencent"))),
                format!("media-dir={}", s(&sdcard)),
            ],
            _ => vec![format!("media-dir={}", s(&sdcard))],
        };
        let report = dir.path().join(format!("{name}.json"));
        let out = dir.path().join(name).join("archive");
        let mut args = vec!["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--report", s(&report)];
        for g in &given {
            args.extend(["--opt", g.as_str()]);
        }
        env.run(&args).ok();
        assert_eq!(tree_digest(&sdcard), before, "{name}: shared storage changed");
        assert_eq!(media_hashes(&out), want, "{name}: every file found, the same bytes");
        let r = report_of(&report);
        assert_eq!(r["media"]["missing"], (want.len() - with_file) as u64, "{name}: only the never-downloaded");
        let notes = r["notes"].to_string();
        let account = fx.account.file_name().unwrap().to_string_lossy().to_string();
        let searched = |tree: &str| {
            notes
                .split("media searched in ")
                .skip(1)
                .find(|n| n.contains(tree) && n.contains(&account))
                .and_then(|n| n.split(": ").nth(1))
                .and_then(|n| n.split(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
        };
        let (new, old) = (searched("Android/data/com.tencent.mm/MicroMsg/"), searched("tencent/MicroMsg/"));
        match name {
            "current" => assert!(new.unwrap() > 0 && old.is_none(), "{name}: {notes}"),
            "old" => assert!(old.unwrap() > 0 && new.is_none(), "{name}: {notes}"),
            _ => assert!(new.unwrap() > 0 && old.unwrap() > 0, "{name}: both trees gave files: {notes}"),
        }
    }

    // A media-dir that is no WeChat folder is one clear line.
    let fx = wc::write_sample(&dir.path().join("plain/com.tencent.mm"), &Spec::default());
    let empty = tempfile::tempdir().unwrap();
    let out = dir.path().join("refused");
    let run = env
        .run(&[
            "convert",
            s(&fx.root),
            "--to",
            "archive",
            "-o",
            s(&out),
            "--opt",
            &format!("media-dir={}", s(empty.path())),
        ])
        .fails_with(2);
    assert!(run.error_lines()[0].contains("holds no WeChat media"), "{:?}", run.error_lines());
    assert!(!out.exists());
}

#[test]
fn java_writes_the_settings_as_the_generator_does() {
    let test = "java_writes_the_settings_as_the_generator_does";
    let Some(java) = tool("java", "apt-get install default-jdk-headless", test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let program = chatferry_tests::harness::workspace_root().join("tests/java/WriteSettings.java");
    let out = std::process::Command::new(java)
        .args([s(&program), s(dir.path()), "358240051111110", ws::UIN])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let java_compatible = std::fs::read(dir.path().join("CompatibleInfo.cfg")).unwrap();
    let java_system = std::fs::read(dir.path().join("systemInfo.cfg")).unwrap();
    assert_eq!(java_compatible, java_settings::compatible_info("358240051111110"), "CompatibleInfo.cfg");
    assert_eq!(java_system, java_settings::system_info(ws::UIN.parse().unwrap()), "systemInfo.cfg");

    // And the files Java wrote open the database: no shared_prefs, no --opt,
    // a device id that is not WeChat's default.
    let spec = Spec { imei: "358240051111110".into(), prefs: false, ..Spec::default() };
    let fx = wc::write_sample(&dir.path().join("com.tencent.mm"), &spec);
    std::fs::write(fx.root.join("MicroMsg/CompatibleInfo.cfg"), &java_compatible).unwrap();
    std::fs::write(fx.root.join("MicroMsg/systemInfo.cfg"), &java_system).unwrap();
    let archive = dir.path().join("archive");
    let run = Env::new().run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&archive)]).ok();
    assert!(
        run.stdout.contains("MicroMsg/CompatibleInfo.cfg") && run.stdout.contains("MicroMsg/systemInfo.cfg"),
        "says where the key's parts came from: {}",
        run.stdout
    );
    assert_eq!(archive_messages(&archive).len(), 34);
}

#[test]
fn the_device_id_comes_from_compatible_info_and_a_damaged_file_is_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let device = "867530912345678";
    let spec =
        Spec { imei: device.into(), compatible_info: Some(java_settings::compatible_info(device)), ..Spec::default() };
    let fx = wc::write_sample(&dir.path().join("ok/com.tencent.mm"), &spec);
    let out = dir.path().join("ok/archive");
    let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out)]).ok();
    assert!(run.stdout.contains("MicroMsg/CompatibleInfo.cfg"), "{}", run.stdout);
    assert_eq!(archive_messages(&out).len(), 34);

    // The uin from systemInfo.cfg alone (no shared_prefs).
    let spec = Spec { prefs: false, system_info: true, ..Spec::default() };
    let fx = wc::write_sample(&dir.path().join("uin/com.tencent.mm"), &spec);
    let out = dir.path().join("uin/archive");
    let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out)]).ok();
    assert!(run.stdout.contains("systemInfo.cfg"), "{}", run.stdout);

    // Damaged: cut short, or not Java data at all. The import says so and
    // tries the rest; with the device id only in that file, no key opens it,
    // and the error lists what was tried, never a key.
    let whole = java_settings::compatible_info(device);
    for (name, bytes) in [("cut", whole[..whole.len() - 9].to_vec()), ("text", b"<map/>".to_vec())] {
        let spec = Spec { imei: device.into(), compatible_info: Some(bytes), ..Spec::default() };
        let fx = wc::write_sample(&dir.path().join(name).join("com.tencent.mm"), &spec);
        let out = dir.path().join(name).join("archive");
        let run = env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out)]).fails_with(1);
        let line = run.error_lines().join("\n");
        assert!(line.contains("no key opened") && line.contains("WeChat's default device id"), "{name}: {line}");
        assert!(line.contains("shared_prefs/auth_info_key_prefs.xml"), "{name}: names where the uin came from: {line}");
        assert!(!run.stderr.contains(&fx.key), "{name}: the key is never printed");
        assert!(!out.exists(), "{name}");
        // Given the IMEI, it opens, and the report notes the damaged file.
        let report = dir.path().join(name).join("report.json");
        let imei = format!("imei={device}");
        env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&out), "--opt", &imei, "--report", s(&report)])
            .ok();
        let notes = report_of(&report)["notes"].to_string();
        assert!(notes.contains("CompatibleInfo.cfg could not be read"), "{name}: {notes}");
    }
}

#[test]
fn inspect_shows_the_account_key_source_chats_and_media_per_root() {
    let dir = tempfile::tempdir().unwrap();
    let sdcard = dir.path().join("sdcard");
    let fx = wc::write_sample(
        &dir.path().join("com.tencent.mm"),
        &Spec { storage: Storage::Current(sdcard.clone()), ..Spec::default() },
    );
    let run = Env::new().run(&["inspect", s(&fx.root), "--opt", &format!("media-dir={}", s(&sdcard))]).ok();
    let out = &run.stdout;
    assert!(out.contains("opened with the key for uin") && out.contains("default device id"), "key source: {out}");
    // Each chat with its message count and dates.
    let row = |title: &str| out.lines().find(|l| l.starts_with(title)).unwrap_or_else(|| panic!("{title}: {out}"));
    let group: Vec<&str> = row("周末爬山群").split_whitespace().collect();
    assert_eq!(group[group.len() - 5..], ["group", "14", "2024-10-26", "2100-03-01", "2/0"], "{out}");
    let direct: Vec<&str> = row("老张").split_whitespace().collect();
    assert_eq!(direct[direct.len() - 5..], ["direct", "19", "1969-07-20", "2038-01-19", "6/1"], "{out}");
    let account = fx.account.file_name().unwrap().to_string_lossy().to_string();
    assert!(out.contains(&format!("account {}, uin {}, folder MicroMsg/{account}", ws::OWNER, ws::UIN)), "{out}");
    let per_root = format!("sdcard/Android/data/com.tencent.mm/MicroMsg/{account}: 6 files found there");
    assert!(out.contains(&per_root), "media per root: {out}");
    assert!(out.contains("sdcard: 1 file found there"), "the document in Download/WeiXin: {out}");
}

#[test]
fn written_as_the_phone_keeps_it_two_trees_that_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let fx = wc::write_sample(&dir.path().join("com.tencent.mm"), &Spec::default());
    let reference = dir.path().join("reference");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&reference)]).ok();

    let out = dir.path().join("phone");
    let run =
        env.run(&["convert", s(&fx.root), "--to", "wechat-android", "-o", s(&out), "--opt", "shared-storage=sdcard"]);
    let run = run.ok();
    assert!(run.stdout.contains("written as two trees"), "{}", run.stdout);
    let account = fx.account.file_name().unwrap();
    let app = out.join("data/com.tencent.mm");
    let media = out.join("sdcard/Android/data/com.tencent.mm/MicroMsg");
    assert!(app.join("MicroMsg").join(account).join("EnMicroMsg.db").is_file());
    assert!(app.join("shared_prefs/auth_info_key_prefs.xml").is_file());
    assert!(!app.join("MicroMsg").join(account).join("image2").exists(), "no media in the app tree");
    for sub in ["image2", "voice2", "video", "emoji"] {
        assert!(media.join(account).join(sub).is_dir(), "{sub} on shared storage");
    }
    assert!(std::fs::read_dir(media.join("Download")).unwrap().count() >= 1, "the document in MicroMsg/Download");

    // Read back from the two trees: the same messages and files as the source.
    let back = dir.path().join("back");
    let sd = format!("media-dir={}", s(&out.join("sdcard")));
    env.run(&["convert", s(&app), "--to", "archive", "-o", s(&back), "--opt", &sd]).ok();
    assert_eq!(media_hashes(&back), media_hashes(&reference));
    assert_eq!(archive_messages(&back).len(), archive_messages(&reference).len());

    // Only a folder name inside the output is taken.
    for bad in ["../elsewhere", "/tmp/x", "data"] {
        let o = dir.path().join("refused");
        let opt = format!("shared-storage={bad}");
        let run =
            env.run(&["convert", s(&fx.root), "--to", "wechat-android", "-o", s(&o), "--opt", &opt]).fails_with(2);
        assert!(run.error_lines()[0].contains("inside the output"), "{bad}: {:?}", run.error_lines());
        assert!(!o.exists() && !dir.path().join("elsewhere").exists(), "{bad}");
    }
}
