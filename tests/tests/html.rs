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
    // Newest chat first: the broadcast list (2100) before the Alice chat (2038) …
    let order: Vec<usize> =
        ["Family list", "العائلة الكبيرة", "Alice 🌸", "家族 👨‍👩‍👧"].iter().map(|t| index.find(t).unwrap()).collect();
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

/// An archive in `dir/a` holding one chat and its messages.
fn archive_of(dir: &std::path::Path, chat: Chat, messages: Vec<Message>) -> std::path::PathBuf {
    let history = History {
        header: Header { source_adapter: "test".into(), model_version: MODEL_VERSION.into(), ..Default::default() },
        contacts: vec![],
        chats: vec![chat],
        messages,
    };
    let a = dir.join("a");
    let mut exporter = chatferry_core::archive::ArchiveExporter::create(&a).unwrap();
    chatferry_core::pipeline::convert(
        &mut MemoryImporter::new(history),
        &mut exporter,
        &mut chatferry_core::pipeline::NoProgress,
    )
    .unwrap();
    a
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
    let chat = Chat { id: chat.into(), kind: ChatKind::Group, title: Some("Big".into()), ..Default::default() };
    let a = archive_of(dir.path(), chat, messages);
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

/// A message's position in its chat (its anchor `#m<position>`) and chat
/// number, as the html adapter numbers them: chats in the archive's order,
/// messages in the order they come.
fn positions(archive: &std::path::Path) -> (Vec<Chat>, Vec<(usize, u64, Message)>) {
    let chats: Vec<Chat> = std::fs::read_to_string(archive.join("chats.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut counts = vec![0u64; chats.len()];
    let mut out = Vec::new();
    for m in chatferry_tests::harness::archive_messages(archive) {
        let c = chats.iter().position(|c| c.id == m.chat).expect("every message's chat is listed");
        counts[c] += 1;
        out.push((c, counts[c], m));
    }
    (chats, out)
}

/// The `href`s and `data-*` values a page's DOM holds for `attr`.
fn attrs<'a>(dom: &'a str, attr: &str) -> Vec<&'a str> {
    dom.split(&format!("{attr}=\"")).skip(1).map(|s| &s[..s.find('"').unwrap()]).collect()
}

fn local_day(ms: i64, zone: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().with_timezone(&zone).format("%Y-%m-%d").to_string()
}

/// One pixel of a PNG, read by Pillow.
fn pixel(python: &std::path::Path, png: &std::path::Path, x: u32, y: u32) -> (u8, u8, u8) {
    let out = std::process::Command::new(python)
        .args(["-c", "import sys; from PIL import Image; p = Image.open(sys.argv[1]).convert('RGB').getpixel((int(sys.argv[2]), int(sys.argv[3]))); print(*p)"])
        .arg(png)
        .args([x.to_string(), y.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Vec<u8> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(|n| n.parse().unwrap()).collect();
    (v[0], v[1], v[2])
}

#[test]
fn search_days_calendar_and_gallery_work_in_chromium() {
    let test = "search_days_calendar_and_gallery_work_in_chromium";
    if !have_chromium(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("sample");
    canonical::write_sample_archive(&a).unwrap();
    let out = dir.path().join("html");
    let run = Env::new().run(&["convert", s(&a), "--to", "html", "-o", s(&out), "--opt", "page-size=3"]).ok();
    assert!(run.stdout.contains("search index:"), "{}", run.stdout);
    let (chats, messages) = positions(&a);

    // Search: a CJK word, an Arabic word and an emoji, each found in every
    // message that holds it, across pages, and nowhere else.
    for word in ["晚上", "بالجميع", "🍜", "Herbst"] {
        let mut want: Vec<String> = messages
            .iter()
            .filter(|(_, _, m)| {
                let caption = m.media.as_ref().and_then(|x| x.caption.clone()).unwrap_or_default();
                format!("{} {caption}", m.text.clone().unwrap_or_default())
                    .to_lowercase()
                    .contains(&word.to_lowercase())
            })
            .map(|(c, p, _)| format!("chats/{c}/page-{}.html#m{p}", (p - 1) / 3 + 1))
            .collect();
        want.sort();
        assert!(!want.is_empty(), "{word}: the sample holds it");
        let page = format!("{}?q={}", out.join("index.html").display(), percent(word));
        let dom = chromium_run(std::path::Path::new(&page), &["--dump-dom"]);
        let mut got: Vec<&str> =
            attrs(&dom, "href").into_iter().filter(|h| h.starts_with("chats/") && h.contains(".html#m")).collect();
        got.sort();
        assert_eq!(got, want, "{word}: {dom}");
        assert_eq!(attrs(&dom, "data-results"), [want.len().to_string()], "{word}");
        if word == "晚上" {
            let pages: std::collections::BTreeSet<&str> = got.iter().map(|h| h.split('#').next().unwrap()).collect();
            assert!(pages.len() > 1, "found across pages: {got:?}");
        }
    }
    // Within one chat: the family chat only.
    let family = chats.iter().position(|c| c.title.as_deref() == Some("家族 👨‍👩‍👧")).unwrap();
    let page = format!("{}?q=%F0%9F%8C%99&here=1&chat={family}", out.join("index.html").display());
    let dom = chromium_run(std::path::Path::new(&page), &["--dump-dom"]);
    assert_eq!(attrs(&dom, "data-results"), ["0"], "🌙 is only in the Arabic group: {dom}");

    // A result's link lands on its message, highlighted.
    let hit = format!("{}#m3", out.join(format!("chats/{family}/page-1.html")).display());
    let dom = chromium_run(std::path::Path::new(&hit), &["--dump-dom"]);
    assert!(dom.contains("id=\"m3\"") && dom.contains("data-hit=\"1\""), "{dom}");

    // Day separators and the calendar in the viewer's own zone.
    for zone in [chrono_tz::Asia::Tokyo, chrono_tz::America::Los_Angeles] {
        let env = [("TZ", zone.name())];
        for (c, _) in chats.iter().enumerate() {
            let in_chat: Vec<&(usize, u64, Message)> = messages.iter().filter(|(mc, _, _)| *mc == c).collect();
            if in_chat.is_empty() {
                continue;
            }
            // Page 1's separators: one per local day, in order.
            let first_page: Vec<String> =
                in_chat.iter().take(3).map(|(_, _, m)| local_day(m.timestamp_ms, zone)).collect();
            let mut days = first_page.clone();
            days.dedup();
            let dom = chromium_env(&out.join(format!("chats/{c}/page-1.html")), &["--dump-dom"], &env);
            assert_eq!(attrs(&dom, "data-day"), days, "chat {c} in {zone}");
            // The calendar links each day to its first message.
            let dom = chromium_env(&out.join(format!("chats/{c}/index.html")), &["--dump-dom"], &env);
            let links: Vec<(&str, &str)> = dom
                .split("<a href=\"")
                .skip(1)
                .filter_map(|s| {
                    let href = &s[..s.find('"')?];
                    let day = s.split("data-day=\"").nth(1).map(|d| &d[..d.find('"').unwrap()])?;
                    (href.contains("#m") && s.find("data-day").unwrap() < s.find('>').unwrap()).then_some((href, day))
                })
                .collect();
            let mut want: Vec<(String, String)> = Vec::new();
            for (_, p, m) in &in_chat {
                let day = local_day(m.timestamp_ms, zone);
                if !want.iter().any(|(_, d)| *d == day) {
                    want.push((format!("page-{}.html#m{p}", (p - 1) / 3 + 1), day));
                }
            }
            want.sort_by(|a, b| a.1.cmp(&b.1));
            let got: Vec<(String, String)> = links.iter().map(|(h, d)| (h.to_string(), d.to_string())).collect();
            assert_eq!(got, want, "chat {c}'s calendar in {zone}");
        }
    }

    // The gallery lists every picture whose file is there.
    for (c, _) in chats.iter().enumerate() {
        let pictures = messages
            .iter()
            .filter(|(mc, _, m)| {
                *mc == c
                    && matches!(
                        m.kind,
                        MessageKind::Image | MessageKind::Video | MessageKind::Sticker | MessageKind::Gif
                    )
                    && m.media.as_ref().is_some_and(|x| x.sha256.is_some())
            })
            .count();
        let page = std::fs::read_to_string(out.join(format!("chats/{c}/media.html"))).unwrap();
        assert_eq!(count(&page, "<a class=\"tile"), pictures, "chat {c}");
    }
}

fn percent(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// `chromium_run` with environment variables (the viewer's time zone).
fn chromium_env(page: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    chatferry_tests::harness::chromium_run_env(page, extra, env)
}

#[test]
fn dark_mode_and_print_are_readable() {
    let test = "dark_mode_and_print_are_readable";
    if !have_chromium(test) {
        return;
    }
    let Some(venv) = chatferry_tests::harness::interop_venv(test) else { return };
    let Some(pdftoppm) = chatferry_tests::harness::tool("pdftoppm", "apt-get install poppler-utils", test) else {
        return;
    };
    let python = venv.join("bin/python");
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("sample");
    canonical::write_sample_archive(&a).unwrap();
    let out = dir.path().join("html");
    Env::new().run(&["convert", s(&a), "--to", "html", "-o", s(&out), "--opt", "page-size=10"]).ok();
    let page = out.join("chats/1/page-1.html");
    let shot = |name: &str, flags: &[&str]| {
        let png = dir.path().join(name);
        let mut args = vec![format!("--screenshot={}", png.display()), "--window-size=900,1200".to_string()];
        args.extend(flags.iter().map(|f| f.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chromium_run(&page, &args);
        png
    };
    let light = shot("light.png", &[]);
    let dark = shot("dark.png", &["--force-dark-mode"]);
    let brightness = |p: (u8, u8, u8)| (u32::from(p.0) + u32::from(p.1) + u32::from(p.2)) / 3;
    // The empty background below the messages, and the header bar.
    assert!(brightness(pixel(&python, &light, 450, 1190)) > 200, "light background");
    assert!(brightness(pixel(&python, &dark, 450, 1190)) < 40, "dark background in dark mode");
    assert!(brightness(pixel(&python, &dark, 5, 5)) < 80, "a dark header bar");

    // Print: a PDF whose first page has no coloured header bar and every message whole.
    let pdf = dir.path().join("print.pdf");
    chromium_run(&page, &[&format!("--print-to-pdf={}", pdf.display()), "--no-pdf-header-footer"]);
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"), "a PDF");
    let prefix = dir.path().join("printed");
    let status = std::process::Command::new(pdftoppm)
        .args(["-png", "-r", "60", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let printed = dir.path().join("printed-1.png");
    assert!(brightness(pixel(&python, &printed, 3, 3)) > 240, "no header bar on paper");
    let screen_bar = pixel(&python, &light, 5, 5);
    assert!(
        brightness(screen_bar) < 120 && screen_bar.1 > screen_bar.0,
        "the screen has its green bar: {screen_bar:?}"
    );
}

#[test]
fn only_web_and_mail_links_are_links_and_the_pages_run_no_inline_script() {
    let test = "only_web_and_mail_links_are_links_and_the_pages_run_no_inline_script";
    let dir = tempfile::tempdir().unwrap();
    let chat = "a@s.whatsapp.net";
    let urls = [
        "javascript:document.title='XSS_FIRED'",
        " JaVa\tScRiPt:alert(1)",
        "\u{1}javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "https://example.org/ok",
        "HTTP://example.org/upper",
        "mailto:a@example.org",
    ];
    let messages: Vec<Message> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| Message {
            id: i.to_string(),
            chat: chat.into(),
            sender: Some(chat.into()),
            timestamp_ms: 1_700_000_000_000 + i as i64 * 1000,
            text: Some(format!("link {i}")),
            link: Some(Box::new(Link {
                url: url.to_string(),
                title: Some(format!("title {i}")),
                ..Default::default()
            })),
            ..Default::default()
        })
        .collect();
    let chat = Chat { id: chat.into(), kind: ChatKind::Direct, title: Some("A".into()), ..Default::default() };
    let a = archive_of(dir.path(), chat, messages);
    let out = dir.path().join("html");
    Env::new().run(&["convert", s(&a), "--to", "html", "-o", s(&out)]).ok();
    let page_path = out.join("chats/0/page-1.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    let hrefs: Vec<&str> = attrs(&page, "href").into_iter().filter(|h| h.contains(':')).collect();
    assert_eq!(hrefs, ["https://example.org/ok", "HTTP://example.org/upper", "mailto:a@example.org"], "{page}");
    for i in 0..6 {
        assert!(page.contains(&format!("title {i}")), "a refused link keeps its title as text");
    }
    assert!(page.contains("Content-Security-Policy"), "the page carries its policy");

    if !have_chromium(test) {
        return;
    }
    // Something that got into a page anyway (an inline handler, an inline
    // script) does not run; the page's own
    // scripts still do (they turn the times into local ones).
    let crafted = page.replace(
        "</main>",
        r#"<img src="missing.png" onerror="document.title='XSS_FIRED'"><script>document.title='XSS_FIRED'</script></main>"#,
    );
    let crafted_path = out.join("chats/0/crafted.html");
    std::fs::write(&crafted_path, crafted).unwrap();
    let dom = chromium_run(&crafted_path, &["--dump-dom"]);
    assert!(!dom.contains("<title>XSS_FIRED"), "an inline script ran: {dom}");
    assert!(dom.contains("data-local=\"1\""), "the page's own script did not run: {dom}");
}
