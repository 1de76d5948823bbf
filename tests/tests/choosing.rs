//! The CLI a user expects (issue 24): choosing part of a history with
//! --chat/--since/--until, phone numbers that must name someone, inspect
//! and detect that help decide, a read-only output folder, and a README
//! whose links stay inside the repository.

use chatferry_tests::fixtures::canonical;
use chatferry_tests::fixtures::wechat_android::{self as wc, Spec};
use chatferry_tests::harness::{archive_messages, open_to_all, path_arg as s, workspace_root, Env};

const FAMILY: &str = "120363025246125486@g.us";
const ALICE: &str = "4915187654321@s.whatsapp.net";

#[test]
fn chat_since_and_until_choose_what_is_converted_and_the_report_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let env = Env::new();
    let all = archive_messages(&a);

    // A chat by its title (case aside), another by its person's name, one day.
    let out = dir.path().join("out");
    let report = env
        .run(&[
            "convert",
            s(&a),
            "--to",
            "archive",
            "-o",
            s(&out),
            "--chat",
            "家族 👨‍👩‍👧",
            "--chat",
            "alice 🌸",
            "--since",
            "2024-10-26T00:00:00Z",
            "--until",
            "2038-01-19T03:14:09Z",
            "--json",
        ])
        .ok()
        .json();
    let got = archive_messages(&out);
    let want: Vec<_> = all
        .iter()
        .filter(|m| m.chat == FAMILY || m.chat == ALICE)
        .filter(|m| (1_729_900_800_000..=2_147_483_649_000).contains(&m.timestamp_ms))
        .collect();
    assert!(!want.is_empty() && want.len() < all.len(), "the selection must keep some and leave some");
    assert_eq!(got.len(), want.len(), "{got:?}");
    assert!(got.iter().all(|m| m.chat == FAMILY || m.chat == ALICE));
    assert_eq!(report["skipped_by_selection"], (all.len() - want.len()) as u64);
    let notes = report["notes"].to_string();
    assert!(notes.contains(&format!("{} messages and 2 chats left out", all.len() - want.len())), "{notes}");
    let chats = std::fs::read_to_string(out.join("chats.jsonl")).unwrap();
    assert_eq!(chats.lines().count(), 2, "{chats}");
    // The address book is carried whole: every sender keeps a name.
    assert_eq!(std::fs::read_to_string(out.join("contacts.jsonl")).unwrap().lines().count(), 4);

    // A date alone is a whole day in the machine's time zone.
    let day = dir.path().join("day");
    let mut cmd = env.command();
    cmd.env("TZ", "Asia/Shanghai").args(["convert", s(&a), "--to", "archive", "-o", s(&day), "--since", "2024-10-26"]);
    cmd.args(["--until", "2024-10-26", "--quiet"]);
    assert!(cmd.status().unwrap().success());
    let shanghai_day = (1_729_872_000_000..1_729_958_400_000).clone();
    let want = all.iter().filter(|m| shanghai_day.contains(&m.timestamp_ms)).count();
    let utc_day = all.iter().filter(|m| (1_729_900_800_000..1_729_987_200_000).contains(&m.timestamp_ms)).count();
    assert!(want > 0 && want != utc_day, "the sample must tell the zones apart ({want} vs {utc_day})");
    assert_eq!(archive_messages(&day).len(), want);

    // inspect takes the same selection.
    let info = env.run(&["inspect", s(&a), "--chat", FAMILY, "--json"]).ok().json();
    assert_eq!(info["messages"], all.iter().filter(|m| m.chat == FAMILY).count() as u64);
    assert_eq!(info["chat_list"].as_array().unwrap().len(), 1);
}

#[test]
fn a_chat_that_is_not_there_or_a_date_that_is_not_one_stops_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let env = Env::new();
    let out = dir.path().join("out");
    for (args, needle) in [
        (vec!["--chat", "Famliy"], "--chat \"Famliy\" names no chat of the input"),
        (vec!["--since", "26.10.2024"], "--since \"26.10.2024\" is not a date"),
        (vec!["--since", "2025-01-01", "--until", "2024-01-01"], "is after --until"),
    ] {
        let mut full = vec!["convert", s(&a), "--to", "archive", "-o", s(&out)];
        full.extend(args);
        let run = env.run(&full).fails_with(2);
        assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
        assert!(run.error_lines()[0].contains(needle), "{needle}: {}", run.stderr);
        assert!(!out.exists());
    }
}

#[test]
fn a_chosen_chat_needs_pairs_only_for_its_own_people() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let map = dir.path().join("map.toml");
    std::fs::write(
        &map,
        "[owner]\nwechat = \"wxid_k3l9m2n8p4q1\"\nwhatsapp = \"+86 139 0000 0000\"\n\n\
         [[person]]\nwechat = \"wxid_zhang3wei\"\nwhatsapp = \"+8613800138000\"\n",
    )
    .unwrap();
    let env = Env::new();
    let out = dir.path().join("wa");
    let base = ["convert", s(&fx.root), "--to", "whatsapp-android", "-o", s(&out), "--contacts", s(&map)];
    // The whole history has people the map does not pair …
    let run = env.run(&base).fails_with(2);
    assert!(run.error_lines()[0].contains("have no whatsapp id in the contact map"), "{}", run.stderr);
    // … the one-to-one chat with Zhang has only Zhang.
    let mut one = base.to_vec();
    one.extend(["--chat", "wxid_zhang3wei"]);
    env.run(&one).ok();
    let back = dir.path().join("back");
    env.run(&["convert", s(&out), "--to", "archive", "-o", s(&back), "--opt", "owner=+8613900000000"]).ok();
    let got = archive_messages(&back);
    assert!(!got.is_empty());
    assert!(got.iter().all(|m| m.chat == "8613800138000@s.whatsapp.net"), "{got:?}");
}

#[test]
fn phone_numbers_without_their_country_are_refused_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let env = Env::new();
    let out = dir.path().join("w");
    let wa = |owner: &str, extra: &[&str]| {
        let mut args = vec!["convert", s(&a), "--to", "whatsapp-android", "-o", s(&out)];
        let opt = format!("owner={owner}");
        args.extend(["--opt", &opt]);
        args.extend(extra);
        env.run(&args)
    };
    let run = wa("015112345678", &[]).fails_with(2);
    let line = run.error_lines()[0];
    assert!(line.contains("\"015112345678\" has no country code") && line.contains("--opt region="), "{line}");
    assert!(!out.exists());
    let run = wa("+49 151 1", &[]).fails_with(2);
    assert!(run.error_lines()[0].contains("not a valid number for country code +49"), "{}", run.stderr);
    // The same number, national with its country: accepted, and the same owner.
    wa("0151 12345678", &["--opt", "region=DE", "--quiet"]).ok();
    let back = dir.path().join("back");
    env.run(&["convert", s(&out), "--to", "archive", "-o", s(&back), "--opt", "owner=+4915112345678"]).ok();
    let me = archive_messages(&back).into_iter().find(|m| m.from_me && m.sender.is_some()).expect("a sent message");
    assert_eq!(me.sender.as_deref(), Some("4915112345678@s.whatsapp.net"));

    // A contact map's national number, the same way.
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let map = dir.path().join("map.toml");
    std::fs::write(
        &map,
        "[owner]\nwechat = \"wxid_k3l9m2n8p4q1\"\nwhatsapp = \"+86 139 0000 0000\"\n\n\
         [[person]]\nname = \"Zhang\"\nwechat = \"wxid_zhang3wei\"\nwhatsapp = \"138 0013 8000\"\n",
    )
    .unwrap();
    let o2 = dir.path().join("wa2");
    let args = ["convert", s(&fx.root), "--to", "whatsapp-android", "-o", s(&o2), "--contacts", s(&map)];
    let mut with_chat = args.to_vec();
    with_chat.extend(["--chat", "wxid_zhang3wei"]);
    let run = env.run(&with_chat).fails_with(2);
    let line = run.error_lines()[0];
    assert!(line.contains("\"Zhang\"") && line.contains("\"138 0013 8000\" has no country code"), "{line}");
    with_chat.extend(["--opt", "region=CN"]);
    env.run(&with_chat).ok();
}

#[test]
fn inspect_lists_each_chat_and_the_notes_and_detect_says_it_in_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let env = Env::new();
    let text = env.run(&["inspect", s(&a)]).ok().stdout;
    assert!(text.contains("read:     ") && text.contains("with archive (chatferry canonical archive)"), "{text}");
    let alice = text.lines().find(|l| l.starts_with("Alice 🌸")).unwrap_or_else(|| panic!("{text}"));
    let cols: Vec<&str> = alice.split_whitespace().collect();
    assert_eq!(cols[2..], ["direct", "10", "1969-07-20", "2038-01-19", "2/1"], "{alice}");

    let info = env.run(&["inspect", s(&a), "--json"]).ok().json();
    let list = info["chat_list"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    let family = list.iter().find(|c| c["id"] == FAMILY).unwrap();
    assert_eq!(family["messages"], 13);
    assert_eq!(family["media"], 3);
    assert_eq!(list.iter().map(|c| c["messages"].as_u64().unwrap()).sum::<u64>(), info["messages"].as_u64().unwrap());

    // A WhatsApp folder without wa.db or Media: inspect prints what convert would note.
    let w = dir.path().join("w");
    env.run(&["convert", s(&a), "--to", "whatsapp-android", "-o", s(&w), "--opt", "owner=+4915112345678"]).ok();
    std::fs::remove_file(w.join("wa.db")).unwrap();
    std::fs::remove_dir_all(w.join("Media")).unwrap();
    let text = env.run(&["inspect", s(&w)]).ok().stdout;
    assert!(text.contains("no wa.db found") && text.contains("--opt wa-db=PATH"), "{text}");
    assert!(text.contains("no WhatsApp Media folder found"), "{text}");
    assert!(text.contains("owner:    not recorded in the store"), "{text}");

    let said = env.run(&["detect", s(&w)]).ok().stdout;
    assert!(said.contains(": certainly WhatsApp (Android) (adapter whatsapp-android, confidence"), "{said}");
}

#[test]
fn an_output_folder_that_may_not_be_written_is_permission_denied_before_reading() {
    let test = "an_output_folder_that_may_not_be_written_is_permission_denied_before_reading";
    let dir = tempfile::tempdir().unwrap();
    open_to_all(dir.path());
    let a = canonical::sample_archive_in(dir.path());
    open_to_all(&a);
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let env = Env::new();
    for out in [locked.join("out"), locked.join("a/b/out")] {
        let Some(run) = env.run_unprivileged(&["convert", s(&a), "--to", "archive", "-o", s(&out)], test) else {
            return;
        };
        let run = run.fails_with(1);
        let line = run.error_lines()[0];
        assert!(line.contains(&format!("permission denied: you may not write in {}", locked.display())), "{line}");
        assert!(!out.exists());
    }
}

#[test]
fn the_readme_links_only_to_files_inside_the_repository() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut links = 0;
    for (i, _) in readme.match_indices("](") {
        let rest = &readme[i + 2..];
        let target = &rest[..rest.find(')').unwrap()];
        if target.starts_with('#') || target.starts_with("http") {
            continue;
        }
        let path = target.split('#').next().unwrap();
        assert!(!path.starts_with("..") && !path.starts_with('/'), "README links outside the repository: {target}");
        assert!(root.join(path).exists(), "README links to {target}, which is not in the repository");
        links += 1;
    }
    assert!(links >= 1, "README links to docs/DESIGN.md");
    assert!(readme.contains("](docs/DESIGN.md)"));
}
