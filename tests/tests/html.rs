//! The export-only `html` adapter: capabilities enforced, pages paginated,
//! nothing fetched from the network, and the pages checked in a real
//! (headless) Chromium: DOM after scripts ran, and a screenshot.

use chatferry_core::*;
use chatferry_tests::fixtures::canonical;
use chatferry_tests::fixtures::memory::{History, MemoryImporter};
use chatferry_tests::harness::{chromium_run, have_chromium, path_arg as s, tree, Env};

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn html_is_export_only_and_the_host_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let list = env.run(&["adapters", "--json"]).ok().json();
    let html = list.as_array().unwrap().iter().find(|a| a["id"] == "html").expect("html listed");
    assert_eq!(html["capabilities"], serde_json::json!(["export"]));
    let run = env
        .run(&["convert", s(dir.path()), "--from", "html", "--to", "archive", "-o", s(&dir.path().join("o"))])
        .fails_with(2);
    assert!(run.error_lines()[0].contains("adapter html cannot import"), "{}", run.stderr);
}

#[test]
fn the_sample_renders_with_nothing_from_the_network_and_checks_out_in_chromium() {
    if !have_chromium("the_sample_renders_with_nothing_from_the_network_and_checks_out_in_chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("sample");
    canonical::write_sample_archive(&a).unwrap();
    let out = dir.path().join("html");
    Env::new().run(&["convert", s(&a), "--to", "html", "-o", s(&out), "--opt", "page-size=10"]).ok();

    // Everything is local: no page loads anything from elsewhere.
    for (name, bytes) in tree(&out) {
        if name.ends_with(".html") || name.ends_with(".css") || name.ends_with(".js") {
            let t = String::from_utf8(bytes).unwrap();
            for bad in ["src=\"http", "src=\"//", "<link href=\"http", "url(http", "@import"] {
                assert!(!t.contains(bad), "{name} loads something from the network ({bad})");
            }
        }
    }
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    // Newest chat first: the status broadcast (2100) before the Alice chat (2038) …
    let order: Vec<usize> =
        ["Status", "العائلة الكبيرة", "Alice 🌸", "家族 👨‍👩‍👧"].iter().map(|t| index.find(t).unwrap()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "index lists chats newest first");

    // The family chat has 13 messages (9 to 21): two pages of at most 10.
    let family = out.join("chats/1");
    assert!(family.join("page-2.html").is_file() && !family.join("page-3.html").exists());
    let dom = chromium_run(&family.join("page-1.html"), &["--dump-dom"]);
    assert_eq!(count(&dom, "<div class=\"msg "), 10, "ten messages on page 1");
    assert!(dom.contains("大家好！今天晚上一起吃饭吗？🍜"), "CJK and emoji intact");
    assert!(dom.contains("data-local=\"1\""), "times were turned into local time by the page's script");
    assert!(dom.contains("class=\"msg system\""), "system events are shown as such");
    let page2 = chromium_run(&family.join("page-2.html"), &["--dump-dom"]);
    assert_eq!(count(&page2, "<div class=\"msg "), 3);

    // The Alice chat: an image that really loads, a reply with its quote,
    // a reaction under its message.
    let alice = out.join("chats/0/page-1.html");
    let dom = chromium_run(&alice, &["--dump-dom"]);
    assert!(dom.contains("data-loaded=\"1\""), "the image loaded: {dom}");
    assert!(dom.contains("class=\"reply\""), "reply block present");
    assert!(
        dom.contains("…and just after ⏰</a></div>") || dom.contains("↩ …and just after ⏰"),
        "the quote shows the quoted text"
    );
    assert!(dom.contains("<ul class=\"reactions\"><li title=\"Alice 🌸\">❤️</li></ul>"));
    // RTL text keeps its direction by itself.
    let rtl = chromium_run(&out.join("chats/2/page-1.html"), &["--dump-dom"]);
    assert!(rtl.contains("dir=\"auto\">مرحبا بالجميع! كيف حالكم؟ 🌙</div>"));

    let shot = dir.path().join("shot.png");
    chromium_run(&alice, &[&format!("--screenshot={}", shot.display()), "--window-size=900,1300"]);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot ({} bytes)", png.len());
}

#[test]
fn a_long_chat_is_paginated() {
    let dir = tempfile::tempdir().unwrap();
    let chat = "big@g.us";
    let messages: Vec<Message> = (0..2_345)
        .map(|i| Message {
            id: i.to_string(),
            chat: chat.into(),
            sender: Some("a@s.whatsapp.net".into()),
            timestamp_ms: 1_700_000_000_000 + i * 1000,
            text: Some(format!("message {i}")),
            ..Default::default()
        })
        .collect();
    let history = History {
        header: Header { source_adapter: "test".into(), model_version: MODEL_VERSION.into(), ..Default::default() },
        contacts: vec![],
        chats: vec![Chat { id: chat.into(), kind: ChatKind::Group, title: Some("Big".into()), ..Default::default() }],
        messages,
    };
    let a = dir.path().join("a");
    let mut exporter = chatferry_core::archive::ArchiveExporter::create(&a).unwrap();
    chatferry_core::pipeline::convert(
        &mut MemoryImporter::new(history),
        &mut exporter,
        &mut chatferry_core::pipeline::NoProgress,
    )
    .unwrap();
    let out = dir.path().join("html");
    Env::new().run(&["convert", s(&a), "--to", "html", "-o", s(&out)]).ok();
    let pages: Vec<String> =
        (1..=5).map(|p| std::fs::read_to_string(out.join(format!("chats/0/page-{p}.html"))).unwrap()).collect();
    assert!(!out.join("chats/0/page-6.html").exists());
    let counts: Vec<usize> = pages.iter().map(|p| count(p, "<div class=\"msg ")).collect();
    assert_eq!(counts, [500, 500, 500, 500, 345]);
    assert!(pages[4].contains("message 2344") && pages[0].contains("message 0"));
    assert!(pages[2].contains("page 3 of 5") && pages[2].contains("href=\"page-2.html\" rel=\"prev\""));
}

#[test]
fn a_whatsapp_store_goes_straight_to_pages() {
    use chatferry_tests::fixtures::whatsapp_android as wa;
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let out = dir.path().join("html");
    Env::new().run(&["convert", s(&fx.root), "--to", "html", "-o", s(&out), "--opt", "owner=+4915112345678"]).ok();
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    for title in ["家族 👨‍👩‍👧", "Alice 🌸", "العائلة الكبيرة"] {
        assert!(index.contains(title), "{title} missing from index");
    }
    let pages: String = tree(&out)
        .into_iter()
        .filter(|(n, _)| n.ends_with(".html"))
        .map(|(_, b)| String::from_utf8(b).unwrap())
        .collect();
    assert_eq!(count(&pages, "<div class=\"msg "), 24, "every message the store holds");
    assert!(pages.contains("<audio src=\"../../media/"), "the Opus voice note plays inline");
    assert!(pages.contains("李雷 added You, Bob:"), "the owner is You, names come from wa.db");
}
