//! Telegram Desktop exports through the real `chatferry`: the generated
//! whole-account export (every kind, the exporter's invalid JSON, a
//! supergroup upgrade, left chats, files present and left out) read as a
//! folder, a zip and `result.json`; into pages, into WhatsApp (read back by
//! whatsapp-chat-exporter) and into WhatsApp's export text the way Telegram
//! imports it. The conversion into every app store is in matrix.rs.

use chatferry_core::{Message, MessageKind};
use chatferry_tests::fixtures::telegram;
use chatferry_tests::harness::{
    archive_messages, exported_messages, interop_node, interop_venv, path_arg as s, whatsapp_chat_exporter, Env,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

fn export(dir: &Path) -> PathBuf {
    telegram::write_account(&dir.join("DataExport_2026-12-08")).parent().unwrap().to_path_buf()
}

fn to_archive(env: &Env, input: &Path, out: &Path) -> Vec<Message> {
    env.run(&["convert", s(input), "--to", "archive", "-o", s(out)]).ok();
    archive_messages(out)
}

fn find<'a>(msgs: &'a [Message], id: &str) -> &'a Message {
    msgs.iter().find(|m| m.id == id).unwrap_or_else(|| panic!("no message {id}"))
}

#[test]
fn the_generated_account_export_reads_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path());
    let env = Env::new();
    let msgs = to_archive(&env, &input, &dir.path().join("a"));
    assert_eq!(msgs.len(), telegram::MESSAGES, "every message once (one id is repeated in the file)");
    let chats: Vec<String> = {
        let text = std::fs::read_to_string(dir.path().join("a/chats.jsonl")).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Saved Messages is the owner's chat with themselves.
    let want: Vec<&str> =
        telegram::CHATS.iter().map(|c| if *c == "saved_messages" { telegram::OWNER } else { c }).collect();
    assert_eq!(chats, want);
    let mut kinds: BTreeMap<MessageKind, usize> = BTreeMap::new();
    for m in &msgs {
        *kinds.entry(m.kind).or_default() += 1;
    }
    for k in [
        MessageKind::Text,
        MessageKind::Image,
        MessageKind::Video,
        MessageKind::Voice,
        MessageKind::Document,
        MessageKind::Sticker,
        MessageKind::Gif,
        MessageKind::Location,
        MessageKind::Contact,
        MessageKind::Call,
        MessageKind::System,
        MessageKind::Poll,
        MessageKind::Other,
    ] {
        assert!(kinds.contains_key(&k), "no {k} read: {kinds:?}");
    }
    // The exporter's invalid JSON, read: `\x07`, the unquoted custom emoji, a second `text`.
    assert_eq!(find(&msgs, "user300000003:1").text.as_deref(), Some("ring \u{7} ring"));
    assert_eq!(find(&msgs, "user300000003:2").text.as_deref(), Some("smile 😮"));
    let gift = find(&msgs, "user300000003:6");
    assert_eq!(gift.text.as_deref(), Some("and a message"));
    assert_eq!(gift.extras.get("tg.gift_text").map(String::as_str), Some("Thank you for the gift"));
    // A media type nobody knows yet is a document, its name kept.
    let holo = find(&msgs, "user300000003:5");
    assert_eq!(holo.kind, MessageKind::Document);
    assert_eq!(holo.extras.get("tg.media_type").map(String::as_str), Some("hologram"));
    // The supergroup's old messages (ids −10⁹) and new ones are one chat; a reply crosses the upgrade.
    let across = find(&msgs, "channel1500000002:3");
    assert_eq!(across.reply_to.as_deref(), Some("channel1500000002:-999999998"));
    // Times from date_unixtime, exact around DST and past 2038; before 1970 too.
    let t = |id: &str| find(&msgs, id).timestamp_ms;
    assert_eq!(t("user200000002:19"), chatferry_tests::fixtures::canonical::times::DST_SPRING.div_euclid(1000) * 1000);
    assert_eq!(t("user200000002:21"), 2_147_483_648_000);
    assert_eq!(t("user700000007:2"), -14_182_940_000);
    // Files present are carried with their hash; the photo's bytes are the generator's.
    let photo = find(&msgs, "user200000002:4").media.clone().unwrap();
    assert!(!photo.missing && photo.sha256.is_some() && photo.caption.as_deref() == Some("照片 📷"));
    // Reactions with who and when; the custom emoji is said, not dropped.
    let reacted = find(&msgs, "user200000002:3");
    assert_eq!(reacted.reactions.len(), 3);
    assert!(reacted.reactions.iter().any(|r| r.from_me && r.emoji == "❤️"));
    assert!(reacted.edited && reacted.extras.get("tg.entities").unwrap().contains("https://example.org/x"));
    // The group's events, each in the model's words; the custom one in Telegram's.
    let action = |id: &str| find(&msgs, id).system.as_ref().unwrap().action.clone();
    assert_eq!(action("chat4000000001:1"), "group_created");
    assert_eq!(action("chat4000000001:11"), "member_left");
    assert_eq!(action("chat4000000001:12"), "member_joined_by_link");
    assert_eq!(find(&msgs, "chat4000000001:13").text.as_deref(), Some("Ben changed the group's theme"));
    // The group's creation names its members by id where they wrote, by name where not.
    let created = find(&msgs, "chat4000000001:1").system.clone().unwrap();
    assert!(created.targets.contains(&telegram::LI.0.to_string()), "{:?}", created.targets);
    assert!(created.targets.contains(&telegram::ANNA.0.to_string()), "{:?}", created.targets);

    // The report names what the export left out or refused.
    let out = env.run(&["inspect", s(&input)]).ok().stdout;
    for needle in [
        "1 chat holds only your own messages (\"Left Behind\")",
        "1 message is twice in the export",
        "3 files were not in the export",
        "1 media path leads outside the export's folder",
        "Telegram service action \"new_creator_pending\"",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
}

#[test]
fn a_zip_of_the_export_and_its_result_json_read_as_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path());
    let zip_path = dir.path().join("Telegram export.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut stack = vec![input.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(input.parent().unwrap()).unwrap().to_string_lossy().to_string();
                z.start_file(rel, deflated).unwrap();
                z.write_all(&std::fs::read(&p).unwrap()).unwrap();
            }
        }
    }
    z.finish().unwrap();
    let env = Env::new();
    let detect = env.run(&["detect", s(&zip_path)]).ok().stdout;
    assert!(detect.contains("adapter telegram-json"), "{detect}");
    let folder = to_archive(&env, &input, &dir.path().join("from-folder"));
    let zipped = to_archive(&env, &zip_path, &dir.path().join("from-zip"));
    let json = to_archive(&env, &input.join("result.json"), &dir.path().join("from-json"));
    for (what, other) in [("the zip", &zipped), ("result.json", &json)] {
        assert_eq!(folder.len(), other.len(), "{what}");
        for (a, b) in folder.iter().zip(other.iter()) {
            assert_eq!(a, b, "{what} reads {} otherwise", a.id);
        }
    }
    assert!(zipped.iter().filter(|m| m.media.as_ref().is_some_and(|x| !x.missing)).count() >= 6);
}

#[test]
fn pages_show_every_kind_of_a_telegram_history() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path());
    let out = dir.path().join("pages");
    Env::new().run(&["convert", s(&input), "--to", "html", "-o", s(&out)]).ok();
    let mut all = String::new();
    for chat in std::fs::read_dir(out.join("chats")).unwrap() {
        let p = chat.unwrap().path().join("page-1.html");
        all.push_str(&std::fs::read_to_string(p).unwrap());
    }
    for needle in [
        "新年快乐",              // text before 2001
        "مرحبا بالجميع",         // RTL
        "Dinner where?",         // poll
        "☑ Shopping",            // checklist
        "Brandenburger Tor",     // venue
        "Anna Schmidt",          // contact card
        "🔘 Refresh",            // a bot's buttons
        "Ben changed the group", // custom service message
        "First post",            // channel post
        "Plan (final).pdf",      // document
        "照片 📷",               // caption
    ] {
        assert!(all.contains(needle), "{needle} not on the pages");
    }
    assert!(all.contains("<img") && all.contains("<audio") && all.contains("<video"), "media shown");
}

#[test]
fn whatsapp_chat_exporter_reads_a_telegram_history_written_as_whatsapp() {
    let test = "whatsapp_chat_exporter_reads_a_telegram_history_written_as_whatsapp";
    if interop_venv(test).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path());
    let w = dir.path().join("w");
    let map = dir.path().join("map.toml");
    std::fs::write(
        &map,
        "[owner]\ntelegram = \"user100000001\"\nwhatsapp = \"+4915112345678\"\n\
         [[person]]\ntelegram = \"user200000002\"\nwhatsapp = \"+8613800138000\"\n",
    )
    .unwrap();
    let args = ["convert", s(&input), "--to", "whatsapp-android", "-o", s(&w), "--opt", "owner=+4915112345678"];
    let mut args = args.to_vec();
    args.extend(["--contacts", s(&map), "--unmapped", "keep-as-name"]);
    Env::new().run(&args).ok();
    let json = whatsapp_chat_exporter(
        &dir.path().join("exporter"),
        &["-a", "-d", s(&w.join("Databases/msgstore.db")), "-w", s(&w.join("wa.db")), "-m", s(&w)],
    );
    let chats = json.as_object().unwrap();
    let all = exported_messages(&json);
    assert_eq!(all.len(), telegram::MESSAGES, "every message present");
    assert_eq!(chats["8613800138000@s.whatsapp.net"]["name"], "李雷");
    let texts: Vec<&str> = all.iter().filter_map(|m| m["data"].as_str()).collect();
    for needle in ["新年快乐！🎆 before 2001", "مرحبا بالجميع! كيف حالكم؟ 🌙", "Dinner where?", "after 2038 ⏳"]
    {
        assert!(texts.iter().any(|t| t.contains(needle)), "{needle} not read: {texts:?}");
    }
}

/// What Telegram's "Import chat history" takes (shared/formats/whatsapp-txt.md
/// §7): a transcript whose name holds "WhatsApp" and ends in `.txt`, lines
/// of Android's form, every attachment as `NAME (file attached)` with the
/// file of that name beside it, voice notes as `.opus` (shown as voice).
/// The npm whatsapp-chat-parser reads each transcript as an independent check.
#[test]
fn a_telegram_history_written_as_whatsapp_text_is_what_telegram_imports() {
    let test = "a_telegram_history_written_as_whatsapp_text_is_what_telegram_imports";
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path());
    let out = dir.path().join("to-telegram");
    let env = Env::new().with_var("TZ", "UTC");
    let args = ["--opt", "style=android", "--opt", "timezone=UTC", "--opt", "me=Ben Owner"];
    let mut all = vec!["convert", s(&input), "--to", "whatsapp-txt", "-o", s(&out)];
    all.extend(args);
    env.run(&all).ok();
    let header = |l: &str| {
        let b = l.as_bytes();
        b.len() > 20 && b[2] == b'/' && b[5] == b'/' && &l[10..12] == ", " && l[12..].find(" - ") == Some(5)
    };
    let mut transcripts = Vec::new();
    for chat in std::fs::read_dir(&out).unwrap() {
        let folder = chat.unwrap().path();
        let name = folder.file_name().unwrap().to_string_lossy().to_string();
        let txt = folder.join(format!("{name}.txt"));
        assert!(name.contains("WhatsApp") && txt.is_file(), "{}", txt.display());
        let text = std::fs::read_to_string(&txt).unwrap();
        assert!(header(text.lines().next().unwrap()), "{}: {:?}", txt.display(), text.lines().next());
        for line in text.lines().filter(|l| l.ends_with(" (file attached)")) {
            let file = line.split(": ").nth(1).unwrap().trim_end_matches(" (file attached)");
            assert!(folder.join(file).is_file(), "{file} attached but not beside {}", txt.display());
        }
        transcripts.push((txt, text));
    }
    assert_eq!(transcripts.len(), 10);
    let li = transcripts.iter().find(|(p, _)| p.to_string_lossy().contains("李雷")).unwrap();
    assert!(li.1.contains(".opus (file attached)"), "the voice note is an .opus: {}", li.1);

    let Some(modules) = interop_node(test) else { return };
    let script = dir.path().join("read.cjs");
    std::fs::write(
        &script,
        "const { parseString } = require(process.argv[2]);\n\
         const text = require('fs').readFileSync(process.argv[3], 'utf8');\n\
         console.log(JSON.stringify(parseString(text).map(m => [m.author, m.message])));\n",
    )
    .unwrap();
    let mut read = 0;
    for (txt, text) in &transcripts {
        let out = std::process::Command::new("node")
            .arg(&script)
            .arg(modules.join("whatsapp-chat-parser"))
            .arg(txt)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let parsed: Vec<(Option<String>, String)> = serde_json::from_slice(&out.stdout).unwrap();
        let headers = text.lines().filter(|l| header(l)).count();
        assert_eq!(parsed.len(), headers, "{}: every line's message", txt.display());
        read += parsed.len();
    }
    assert_eq!(read, telegram::MESSAGES);
}

#[test]
fn a_cut_short_export_is_one_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path());
    let json = input.join("result.json");
    let text = std::fs::read(&json).unwrap();
    std::fs::write(&json, &text[..text.len() * 2 / 3]).unwrap();
    let out = dir.path().join("out");
    let run = Env::new().run(&["convert", s(&input), "--to", "html", "-o", s(&out)]);
    assert_ne!(run.code, 0);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("ends in the middle") && run.stderr.contains("export again"), "{}", run.stderr);
    assert!(!out.exists(), "nothing is written");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "no temporary output is left beside it: {left:?}");
}
