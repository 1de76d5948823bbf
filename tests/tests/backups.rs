//! `chatferry backups`: iPhone backups found where Finder, iTunes and Apple
//! Devices keep them (HOME pointed at a temporary folder), and in a folder
//! given, each with its phone's name, iOS, date, encryption and chat apps —
//! read without a password.

use chatferry_tests::fixtures::ios_backup::{Backup, Encryption};
use chatferry_tests::harness::{path_arg as s, Env};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// A backup of `apps` (the domains their files lie in) under `dir`.
fn backup(dir: &Path, device: &str, ios: &str, secs: u64, encryption: Option<&Encryption>, domains: &[&str]) {
    let b = Backup::create_named(dir, encryption, device, ios, Some(UNIX_EPOCH + Duration::from_secs(secs)));
    let file = dir.join("payload");
    std::fs::write(&file, b"x").unwrap();
    for domain in domains {
        b.add(domain, "Documents/x", Some(&file));
    }
    drop(b);
    std::fs::remove_file(file).unwrap();
}

#[test]
fn backups_are_found_where_apples_software_keeps_them_and_where_told() {
    let env = Env::new();
    let mac = env.home.path().join("Library/Application Support/MobileSync/Backup");
    let store = env.home.path().join("Apple/MobileSync/Backup");
    let password = Encryption::new("secret");
    backup(
        &mac.join("00008030-000A"),
        "Anna's iPhone",
        "17.5.1",
        1_764_000_000,
        None,
        &["AppDomainGroup-group.net.whatsapp.WhatsApp.shared"],
    );
    backup(
        &mac.join("00008030-000B"),
        "Ben’s iPhone 15",
        "18.1",
        1_765_000_000,
        Some(&password),
        &["AppDomain-com.tencent.xin", "AppDomainGroup-group.net.whatsapp.WhatsAppSMB.shared"],
    );
    backup(&store.join("00008030-000C"), "Windows iPhone", "16.7", 1_700_000_000, None, &[]);
    std::fs::create_dir_all(mac.join("not-a-backup")).unwrap();

    let list = env.run(&["backups", "--json"]).ok().json();
    let list = list.as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|b| b["device"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ben’s iPhone 15", "Anna's iPhone", "Windows iPhone"], "newest first, in every place");
    assert_eq!(list[0]["encrypted"], true);
    assert_eq!(list[0]["ios"], "18.1");
    assert_eq!(list[0]["date_utc"], "2025-12-06T05:46:40.000Z");
    assert_eq!(list[0]["chat_apps"], serde_json::json!(["WhatsApp Business", "WeChat"]));
    assert_eq!(list[1]["encrypted"], false);
    assert_eq!(list[1]["chat_apps"], serde_json::json!(["WhatsApp"]));
    assert_eq!(list[2]["chat_apps"], serde_json::json!([]));

    let text = env.run(&["backups"]).ok().stdout;
    assert!(text.starts_with("3 iPhone backups:"), "{text}");
    assert!(text.contains("Ben’s iPhone 15 · iOS 18.1 · made 2025-12-06 05:46 UTC · encrypted"), "{text}");
    assert!(
        text.contains(&format!(
            "WeChat: chatferry inspect \"{}\" --from wechat-ios",
            mac.join("00008030-000B").display()
        )),
        "the command to read it, quoted: {text}"
    );

    // A folder given: a backup itself, or a folder of them (libimobiledevice's on Linux).
    let given = env.run(&["backups", "--json", s(&mac.join("00008030-000A"))]).ok().json();
    assert_eq!(given.as_array().unwrap().len(), 1);
    let none = tempfile::tempdir().unwrap();
    let text = env.run(&["backups", s(none.path())]).ok().stdout;
    assert!(text.starts_with("no iPhone backups found in:") && text.contains("idevicebackup2"), "{text}");
}
