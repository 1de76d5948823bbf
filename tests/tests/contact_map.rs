//! Across apps: WhatsApp knows people by phone numbers, WeChat by
//! usernames. Without a pair for everyone in a chat the conversion stops
//! before writing anything; `--write-contact-map` lists who needs one;
//! `--contacts MAP.toml` rewrites every id; `--unmapped keep-as-name` keeps
//! the unpaired under placeholder ids with their names.

use chatferry_tests::fixtures::canonical;
use chatferry_tests::fixtures::wechat_android::{self as wc, Spec};
use chatferry_tests::fixtures::wechat_sample::{self as ws};
use chatferry_tests::harness::{archive_messages, path_arg as s, Env};

const WECHAT_TO_WHATSAPP: &str = r#"
[owner]
wechat = "wxid_k3l9m2n8p4q1"
whatsapp = "+86 139 0000 0000"

[[person]]
name = "Zhang"
wechat = "wxid_zhang3wei"
whatsapp = "+8613800138000"

[[person]]
wechat = "wxid_amina7"
whatsapp = "+971501234567"

[[person]]
wechat = "bob_custom_id"
whatsapp = "14155550123@s.whatsapp.net"
"#;

#[test]
fn a_conversion_across_apps_names_who_has_no_pair_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let env = Env::new();
    let out = dir.path().join("wa");
    let r = env.run(&["convert", s(&fx.root), "--to", "whatsapp-android", "-o", s(&out)]).fails_with(2);
    let line = r.error_lines()[0];
    assert!(line.contains("老张 🐼 (wxid_zhang3wei)") && line.contains("bob_custom_id"), "{line}");
    assert!(line.contains("moving a wechat history to whatsapp needs each person's whatsapp id"), "{line}");
    assert!(line.contains("--write-contact-map") && line.contains("Nothing was written"), "{line}");
    assert!(!out.exists());

    // The template lists the owner and everyone in a chat.
    let map = dir.path().join("map.toml");
    let run = env
        .run(&["convert", s(&fx.root), "--to", "whatsapp-android", "-o", s(&out), "--write-contact-map", s(&map)])
        .ok();
    assert!(run.stdout.contains("3 people"), "{}", run.stdout);
    assert!(!out.exists(), "writing a template converts nothing");
    let text = std::fs::read_to_string(&map).unwrap();
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(parsed["owner"]["wechat"].as_str(), Some(ws::OWNER));
    let people = parsed["person"].as_array().unwrap();
    let ids: Vec<&str> = people.iter().map(|p| p["wechat"].as_str().unwrap()).collect();
    assert_eq!(ids, [ws::ZHANG, ws::BOB, ws::AMINA]);
    assert_eq!(people[0]["name"].as_str(), Some("老张 🐼"));
    assert_eq!(people[0]["whatsapp"].as_str(), Some(""), "to be filled in");
    assert!(text.contains("# known as: nickname 张伟, alias zhangwei88"), "{text}");
}

#[test]
fn a_filled_map_rewrites_every_id_from_wechat_to_whatsapp() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let map = dir.path().join("map.toml");
    std::fs::write(&map, WECHAT_TO_WHATSAPP).unwrap();
    let env = Env::new();
    let (wa, back) = (dir.path().join("wa"), dir.path().join("back"));
    let run = env
        .run(&[
            "convert",
            s(&fx.root),
            "--to",
            "whatsapp-android",
            "-o",
            s(&wa),
            "--contacts",
            s(&map),
            "--opt",
            "owner=+8613900000000",
        ])
        .ok();
    assert!(run.stdout.contains("ids rewritten with the contact map (wechat → whatsapp): 4 pairs"), "{}", run.stdout);
    env.run(&["convert", s(&wa), "--to", "archive", "-o", s(&back), "--opt", "owner=+8613900000000"]).ok();
    let got = archive_messages(&back);
    let media = tempfile::tempdir().unwrap();
    let want = ws::sample_history(media.path());
    // The raw compressed cell has no text form WhatsApp could hold; it is written as a text that says so.
    assert_eq!(got.len(), want.messages.len());
    let group = "24016735412@g.us";
    let zhang = "8613800138000@s.whatsapp.net";
    let from_zhang_in_group: Vec<_> =
        got.iter().filter(|m| m.chat == group && m.sender.as_deref() == Some(zhang)).collect();
    assert!(
        from_zhang_in_group.iter().any(|m| m.text.as_deref() == Some("大家好！周六去爬山吗？⛰️")),
        "{from_zhang_in_group:?}"
    );
    assert!(got.iter().any(|m| m.chat == zhang && m.text.as_deref() == Some("[微笑] 好的，明天见") && m.from_me));
    assert!(got.iter().any(|m| m.sender.as_deref() == Some("14155550123@s.whatsapp.net")
        && m.text.as_deref() == Some("Bob:\nI'm Bob, and this line is my text")));
    assert!(!got.iter().any(|m| m.chat.contains("wxid_") || m.sender.as_deref().is_some_and(|s| s.contains("wxid_"))));
    let chats = std::fs::read_to_string(back.join("chats.jsonl")).unwrap();
    assert!(chats.contains(group) && chats.contains("周末爬山群 ⛰️"), "{chats}");
}

#[test]
fn unmapped_people_can_be_kept_under_placeholders_with_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let env = Env::new();
    let (wa, back) = (dir.path().join("wa"), dir.path().join("back"));
    let run =
        env.run(&["convert", s(&fx.root), "--to", "whatsapp-android", "-o", s(&wa), "--unmapped", "keep-as-name"]).ok();
    assert!(run.stdout.contains("4 people had no pair and were kept under placeholder ids"), "{}", run.stdout);
    env.run(&["convert", s(&wa), "--to", "archive", "-o", s(&back)]).ok();
    assert_eq!(archive_messages(&back).len(), 34);
    let contacts = std::fs::read_to_string(back.join("contacts.jsonl")).unwrap();
    let zhang = contacts.lines().find(|l| l.contains("老张 🐼")).unwrap_or_else(|| panic!("{contacts}"));
    let c: chatferry_core::Contact = serde_json::from_str(zhang).unwrap();
    assert!(c.id.starts_with('0') && c.id.ends_with("@s.whatsapp.net"), "no real number starts with 0: {}", c.id);
}

#[test]
fn whatsapp_history_goes_to_wechat_with_a_map() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let map = dir.path().join("map.toml");
    std::fs::write(
        &map,
        r#"
[owner]
whatsapp = "+4915112345678"
wechat = "wxid_me"
[[person]]
whatsapp = "+4915187654321"
wechat = "wxid_alice"
[[person]]
whatsapp = "+8613800138000"
wechat = "wxid_lilei"
[[person]]
whatsapp = "+971501234567"
wechat = "wxid_mohammed"
[[person]]
whatsapp = "+14155550123"
wechat = "bob_custom_id"
"#,
    )
    .unwrap();
    let env = Env::new();
    let (w, back) = (dir.path().join("w"), dir.path().join("back"));
    env.run(&["convert", s(&a), "--to", "wechat-android", "-o", s(&w), "--contacts", s(&map), "--opt", "uin=12345"])
        .ok();
    env.run(&["convert", s(&w), "--to", "archive", "-o", s(&back)]).ok();
    let got = archive_messages(&back);
    assert_eq!(got.len(), 28, "26 messages, the caption's own row and the reaction's emoji reply");
    let reaction = got.iter().find(|m| m.text.as_deref() == Some("❤️")).expect("the reaction as a reply");
    assert_eq!(reaction.sender.as_deref(), Some("wxid_alice"), "from who reacted");
    let quoted = got.iter().find(|m| Some(&m.id) == reaction.reply_to.as_ref()).expect("quoting its message");
    assert_eq!(quoted.chat, reaction.chat);
    assert!(got
        .iter()
        .any(|m| m.chat == "wxid_alice" && m.text.as_deref() == Some("Replying to that 👆") && m.reply_to.is_some()));
    assert!(got.iter().any(|m| m.chat == "120363025246125486@chatroom" && m.sender.as_deref() == Some("wxid_lilei")));
    let manifest = std::fs::read_to_string(back.join("manifest.json")).unwrap();
    assert!(manifest.contains("wxid_me"), "the owner is named on the WeChat side: {manifest}");
}

/// An "Export chat" text names people; an app's store keys them by number.
fn export_with_names(dir: &std::path::Path) -> std::path::PathBuf {
    let txt = dir.join("WhatsApp Chat with Anna.txt");
    std::fs::write(&txt, "01/02/2024, 10:00 - Anna Lindqvist: hej\n01/02/2024, 10:01 - Ben: hi\n").unwrap();
    txt
}

#[test]
fn an_export_gets_numbers_from_a_contact_map_and_the_report_counts_who_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let txt = export_with_names(dir.path());
    let env = Env::new();
    let opts = ["--opt", "timezone=UTC", "--opt", "me=Ben"];
    let convert = |out: &std::path::Path, more: &[&str]| {
        let mut args = vec!["convert", s(&txt), "--to", "whatsapp-android", "-o", s(out)];
        args.extend(opts);
        args.extend(more);
        env.run(&args)
    };
    // Without a map: converted, and the placeholder said (it was made up silently).
    let plain = dir.path().join("plain");
    let run = convert(&plain, &[]).ok();
    assert!(
        run.stdout.contains("1 person known by name only was kept under placeholder numbers")
            && run.stdout.contains("--write-contact-map"),
        "{}",
        run.stdout
    );
    // The template (refused before: "not a WhatsApp or WeChat history") lists who needs a number.
    let map = dir.path().join("map.toml");
    let run = convert(&dir.path().join("unused"), &["--write-contact-map", s(&map)]).ok();
    assert!(run.stdout.contains("1 person"), "{}", run.stdout);
    let text = std::fs::read_to_string(&map).unwrap();
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(parsed["owner"]["name"].as_str(), Some("Ben"), "{text}");
    assert_eq!(parsed["person"][0]["name"].as_str(), Some("Anna Lindqvist"), "{text}");
    assert_eq!(parsed["person"][0]["whatsapp"].as_str(), Some(""), "to be filled in: {text}");
    assert!(parsed["person"][0].get("wechat").is_none(), "one app: {text}");

    std::fs::write(
        &map,
        text.replacen("whatsapp = \"\"", "whatsapp = \"+44 7911 123456\"", 1).replacen(
            "whatsapp = \"\"",
            "whatsapp = \"+49 151 12345678\"",
            1,
        ),
    )
    .unwrap();
    let (wa, back) = (dir.path().join("wa"), dir.path().join("back"));
    let run = convert(&wa, &["--contacts", s(&map)]).ok();
    assert!(run.stdout.contains("2 people known by name only given their number"), "{}", run.stdout);
    assert!(!run.stdout.contains("kept under placeholder"), "{}", run.stdout);
    env.run(&["convert", s(&wa), "--to", "archive", "-o", s(&back)]).ok();
    let got = archive_messages(&back);
    let anna = got.iter().find(|m| m.text.as_deref() == Some("hej")).unwrap();
    assert_eq!(anna.chat, "4915112345678@s.whatsapp.net", "Anna's chat under her number");
    assert!(got.iter().any(|m| m.text.as_deref() == Some("hi") && m.from_me));
    assert!(!got.iter().any(|m| m.chat.starts_with('0')), "no placeholder left: {got:?}");
}

#[test]
fn an_export_goes_to_wechat_with_a_map_found_by_names() {
    let dir = tempfile::tempdir().unwrap();
    let txt = export_with_names(dir.path());
    let env = Env::new();
    let (w, back) = (dir.path().join("w"), dir.path().join("back"));
    let base = ["convert", s(&txt), "--to", "wechat-android", "-o", s(&w), "--opt", "timezone=UTC", "--opt", "me=Ben"];
    let run = env.run(&[&base[..], &["--opt", "uin=12345"]].concat()).fails_with(2);
    assert!(run.error_lines()[0].contains("Anna Lindqvist"), "{}", run.stderr);
    let map = dir.path().join("map.toml");
    env.run(&[&base[..], &["--write-contact-map", s(&map)]].concat()).ok();
    let text = std::fs::read_to_string(&map).unwrap();
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(parsed["person"][0]["wechat"].as_str(), Some(""), "{text}");
    let filled = text.replacen("wechat = \"\"", "wechat = \"wxid_ben\"", 1).replacen(
        "wechat = \"\"",
        "wechat = \"wxid_anna\"",
        1,
    );
    std::fs::write(&map, filled).unwrap();
    env.run(&[&base[..], &["--contacts", s(&map), "--opt", "uin=12345"]].concat()).ok();
    env.run(&["convert", s(&w), "--to", "archive", "-o", s(&back)]).ok();
    let got = archive_messages(&back);
    let hej = got.iter().find(|m| m.text.as_deref() == Some("hej")).expect("Anna's message");
    assert_eq!(hej.chat, "wxid_anna");
}
