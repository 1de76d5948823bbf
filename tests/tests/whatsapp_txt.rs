//! WhatsApp "Export chat" text (issue 22): the real exports in
//! shared/fixtures/public/whatsapp-txt read as their oracles say, our own
//! exports read back the same (and by whatstk), and bad input is one line.

use chatferry_core::testing::public_fixture;
use chatferry_core::MessageKind;
use chatferry_tests::fixtures::canonical;
use chatferry_tests::harness::{archive_messages, interop_node, interop_venv, path_arg as s, Env};
use std::io::Write;
use std::path::Path;

fn utc_minute(ms: i64) -> String {
    chatferry_core::time::format_utc(ms)[..16].to_string()
}

fn names(archive: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(archive.join("contacts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|c| (c["id"].as_str().unwrap().to_string(), c["name"].as_str().unwrap_or_default().to_string()))
        .collect()
}

#[test]
fn chat_miners_five_shapes_read_as_its_oracle_says() {
    let test = "chat_miners_five_shapes_read_as_its_oracle_says";
    let Some(dir_in) = public_fixture("whatsapp-txt/chat-miner", test) else { return };
    let target: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir_in.join("target.json")).unwrap()).unwrap();
    let mut want: Vec<(String, String, String)> = target
        .iter()
        .map(|t| {
            let ts = t["timestamp"].as_str().unwrap()[..16].to_string();
            (ts, t["author"].as_str().unwrap().to_string(), t["message"].as_str().unwrap().to_string())
        })
        .collect();
    want.sort();
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new().with_var("TZ", "UTC");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir_in).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        files += 1;
        let out = dir.path().join(p.file_stem().unwrap());
        env.run(&["convert", s(&p), "--to", "archive", "-o", s(&out), "--quiet"]).ok();
        let who = names(&out);
        let all = archive_messages(&out);
        assert_eq!(
            all.iter().filter(|m| m.kind == MessageKind::System).count(),
            2,
            "{}: two system lines",
            p.display()
        );
        // chat-miner leaves out system lines and the empty `John Doe:.`, and joins lines with a space.
        let mut got: Vec<(String, String, String)> = all
            .iter()
            .filter(|m| m.kind == MessageKind::Text && m.text.as_deref() != Some("."))
            .map(|m| {
                let author = who.get(m.sender.as_deref().unwrap()).cloned().unwrap_or_default();
                (utc_minute(m.timestamp_ms), author, m.text.clone().unwrap().replace('\n', " "))
            })
            .collect();
        got.sort();
        let want_t: Vec<_> = want.iter().map(|(t, a, m)| (t.clone(), a.clone(), m.clone())).collect();
        assert_eq!(
            got.iter().map(|(t, a, m)| (t.replace(' ', "T"), a.clone(), m.clone())).collect::<Vec<_>>(),
            want_t,
            "{}",
            p.display()
        );
    }
    assert_eq!(files, 5);
}

#[test]
fn the_real_android_export_with_two_date_orders_reads_whole() {
    let test = "the_real_android_export_with_two_date_orders_reads_whole";
    let Some(txt) = public_fixture("whatsapp-txt/chat-history-manager/WhatsApp Chat with +123 45 6789.txt", test)
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a");
    let env = Env::new().with_var("TZ", "UTC");
    let run = env.run(&["convert", s(&txt), "--to", "archive", "-o", s(&out)]).ok();
    assert!(
        run.stdout.contains("dates read as month/day/year, dates read as day/month/year")
            || run.stdout.contains("dates read as day/month/year, dates read as month/day/year"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("you are \"Aaaaa Aaaaaaaaaaa\" (inferred"), "{}", run.stdout);
    let m = archive_messages(&out);
    assert_eq!(m.len(), 13);
    // Every date is 30 June 2023, whichever order its line wrote it in.
    assert!(m.iter().all(|x| utc_minute(x.timestamp_ms).starts_with("2023-06-30T16:1")), "{m:?}");
    assert!(m.windows(2).all(|w| w[0].timestamp_ms <= w[1].timestamp_ms), "file order kept");
    assert_eq!(m[2].text.as_deref(), Some("hello there!\n\nthis is a\nmulti-line message!"));
    assert!(m[2].from_me);
    let img = m.iter().find(|x| x.kind == MessageKind::Image).unwrap();
    let media = img.media.as_ref().unwrap();
    assert_eq!(media.caption.as_deref(), Some("image comment"));
    assert!(media.missing, "the export was shared without its files");
    let kinds: Vec<MessageKind> = m.iter().map(|x| x.kind).collect();
    for k in [MessageKind::Video, MessageKind::Audio, MessageKind::Sticker, MessageKind::Other] {
        assert!(kinds.contains(&k), "{k:?} in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == MessageKind::System).count(), 3, "{kinds:?}");
    let timer = m.last().unwrap();
    assert_eq!(timer.system.as_ref().map(|e| e.actor.clone()), Some(Some("123456789@s.whatsapp.net".into())));
}

/// The demo history as our zips (or Android folders), read back.
fn through_txt(env: &Env, from: &Path, work: &Path, style: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let txt = work.join(format!("txt-{style}"));
    env.run(&["convert", s(from), "--to", "whatsapp-txt", "-o", s(&txt), "--opt", &format!("style={style}"), "-q"])
        .ok();
    let back = work.join(format!("back-{style}"));
    env.run(&["convert", s(&txt), "--to", "archive", "-o", s(&back), "--opt", "me=Me", "-q"]).ok();
    (txt, back)
}

#[test]
fn our_exports_read_back_the_same_twice_and_give_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    // UTC: an export holds wall-clock times without their offset, so a time
    // in the hour a DST change repeats cannot come back exactly (see zone.rs).
    let env = Env::new().with_var("TZ", "UTC");
    for style in ["ios", "android"] {
        let (txt, back) = through_txt(&env, &a, dir.path(), style);
        let first = archive_messages(&back);
        // One file per chat: compared as sorted keys.
        // What the text format has no form for comes back as a text that states it.
        let as_text = [MessageKind::Payment, MessageKind::Poll, MessageKind::Call, MessageKind::Link];
        let key = |m: &chatferry_core::Message| {
            let mut kind = if as_text.contains(&m.kind) { MessageKind::Text } else { m.kind };
            // Android's `<Media omitted>` does not say what the file was.
            if style == "android" && m.media.as_ref().is_some_and(|x| x.missing) {
                kind = MessageKind::Other;
            }
            let text = if m.kind == MessageKind::Text { m.text.clone() } else { None };
            (m.timestamp_ms.div_euclid(60_000), format!("{kind:?}"), text)
        };
        let back_key = |m: &chatferry_core::Message| {
            let text = if m.kind == MessageKind::Text && !as_text_body(m) { m.text.clone() } else { None };
            (m.timestamp_ms.div_euclid(60_000), format!("{:?}", m.kind), text)
        };
        let (mut original, mut back_keys): (Vec<_>, Vec<_>) =
            (archive_messages(&a).iter().map(key).collect(), first.iter().map(back_key).collect());
        original.sort();
        back_keys.sort();
        assert_eq!(first.len(), original.len(), "{style}: every message comes back");
        assert_eq!(back_keys, original, "{style}: the same minutes, kinds and texts");
        // txt → archive → txt → archive is identical.
        let work2 = dir.path().join(format!("again-{style}"));
        std::fs::create_dir(&work2).unwrap();
        let (_, back2) = through_txt(&env, &back, &work2, style);
        assert_eq!(archive_messages(&back2), first, "{style}: a second round changes nothing");
        // The same export read twice gives the same ids.
        let again = dir.path().join(format!("reread-{style}"));
        env.run(&["convert", s(&txt), "--to", "archive", "-o", s(&again), "--opt", "me=Me", "-q"]).ok();
        let ids = |m: &[chatferry_core::Message]| m.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&archive_messages(&again)), ids(&first));
    }
}

#[test]
fn a_wechat_history_becomes_exports_telegram_can_import() {
    use chatferry_tests::fixtures::wechat_android::{self as wc, Spec};
    let dir = tempfile::tempdir().unwrap();
    let fx = wc::write_sample(&dir.path().join("app"), &Spec::default());
    let env = Env::new().with_var("TZ", "Asia/Shanghai");
    let out = dir.path().join("txt");
    let run = env.run(&["convert", s(&fx.root), "--to", "whatsapp-txt", "-o", s(&out), "--opt", "style=android"]).ok();
    assert!(run.stdout.contains("times written in"), "{}", run.stdout);
    let folders: Vec<_> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(!folders.is_empty() && folders.iter().all(|f| f.starts_with("WhatsApp Chat with ")), "{folders:?}");
    for f in &folders {
        let txt = out.join(f).join(format!("{f}.txt"));
        let text = std::fs::read_to_string(&txt).unwrap();
        // Telegram reads the head: its first line is a header; every attachment is beside it by the name it gives.
        assert!(text.lines().next().is_some_and(|l| l.contains(" - ")), "{text}");
        for l in text.lines().filter(|l| l.ends_with(" (file attached)")) {
            let name = l.rsplit_once(": ").unwrap().1.trim_end_matches(" (file attached)");
            assert!(out.join(f).join(name).is_file(), "{name} is named but not there");
        }
    }
    // And back: the texts came through.
    let back = dir.path().join("back");
    env.run(&["convert", s(&out), "--to", "archive", "-o", s(&back), "-q"]).ok();
    let texts: Vec<String> = archive_messages(&back).into_iter().filter_map(|m| m.text).collect();
    assert!(texts.iter().any(|t| t == "大家好！周六去爬山吗？⛰️"), "{texts:?}");
}

fn zip_with(path: &Path, members: &[(&str, &[u8])]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn a_zip_of_the_export_folder_made_on_a_mac_is_read() {
    // Finder's "Compress" puts the export in one folder and adds
    // `__MACOSX/._*` resource forks; it was refused as escaping the export.
    let dir = tempfile::tempdir().unwrap();
    let z = dir.path().join("WhatsApp Chat - Anna.zip");
    zip_with(
        &z,
        &[
            ("WhatsApp Chat - Anna/", b""),
            ("WhatsApp Chat - Anna/_chat.txt", b"[01/02/2024, 10:00:00] Anna: hi\n[01/02/2024, 10:01:00] Anna: <attached: 00000002-PHOTO-2024-02-01-10-01-00.jpg>\n"),
            ("WhatsApp Chat - Anna/00000002-PHOTO-2024-02-01-10-01-00.jpg", b"\xff\xd8\xff jpeg"),
            ("__MACOSX/WhatsApp Chat - Anna/._chat.txt", b"\0\x05\x16\x07"),
            ("WhatsApp Chat - Anna/.DS_Store", b"\0\0\0\x01Bud1"),
        ],
    );
    let env = Env::new();
    let run = env.run(&["detect", s(&z)]).ok();
    assert!(run.stdout.contains("whatsapp-txt"), "{}", run.stdout);
    let out = dir.path().join("out");
    env.run(&["convert", s(&z), "--to", "archive", "-o", s(&out), "--opt", "timezone=UTC"]).ok();
    let messages = archive_messages(&out);
    assert_eq!(messages.len(), 2);
    assert!(
        messages[1].media.as_ref().and_then(|m| m.file.as_ref()).is_some(),
        "the photo was found: {:?}",
        messages[1]
    );
    // A zip whose members are in two folders is still refused.
    let two = dir.path().join("WhatsApp Chat - Two.zip");
    zip_with(&two, &[("a/_chat.txt", b"[01/02/2024, 10:00:00] Anna: hi\n"), ("b/x.jpg", b"x")]);
    let run =
        env.run(&["convert", s(&two), "--from", "whatsapp-txt", "--to", "archive", "-o", s(&dir.path().join("o2"))]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn bad_exports_are_one_line_errors_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let good = b"[01/02/2024, 10:00:00] Anna: hi\n".as_slice();
    let climbing = dir.path().join("WhatsApp Chat - Climb.zip");
    zip_with(&climbing, &[("_chat.txt", good), ("../../evil.txt", b"x")]);
    let bomb = dir.path().join("WhatsApp Chat - Bomb.zip");
    zip_with(&bomb, &[("_chat.txt", good), ("00000001-PHOTO-2024-01-01-10-00-00.jpg", &vec![0u8; 64 << 20])]);
    // Members of exactly 1 MiB of zeros passed (only larger ones were held
    // to the ratio): 600 of them, 600 MiB from a zip of under 1 MB.
    let small_bombs = dir.path().join("WhatsApp Chat - Small.zip");
    let zeros = vec![0u8; 1 << 20];
    let names: Vec<String> = (0..600).map(|i| format!("{i:08}-PHOTO.jpg")).collect();
    let mut members: Vec<(&str, &[u8])> = vec![("_chat.txt", good)];
    members.extend(names.iter().map(|n| (n.as_str(), zeros.as_slice())));
    zip_with(&small_bombs, &members);
    // A member name of 65,000 bytes was quoted whole in the error.
    let long_name = dir.path().join("WhatsApp Chat - Long.zip");
    let name = format!("{}.jpg", "x".repeat(65_000));
    zip_with(&long_name, &[("_chat.txt", good), (name.as_str(), b"x")]);
    let binary = dir.path().join("WhatsApp Chat with Bin.txt");
    std::fs::write(&binary, b"\x7fELF\x02\x01\x01\x00\x00\x00binary").unwrap();
    let empty = dir.path().join("WhatsApp Chat with Empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let prose = dir.path().join("WhatsApp Chat with Prose.txt");
    std::fs::write(&prose, "Dear diary,\ntoday nothing happened.\n").unwrap();
    for (input, needle) in [
        (&climbing, "is not a file of the export's own folder (it would land outside the export)"),
        (&bomb, "(a zip bomb?)"),
        (&small_bombs, "(a zip bomb?)"),
        (&long_name, "has a name longer than a file system allows"),
        (&binary, "holds binary data"),
        (&empty, "is empty"),
        (&prose, "no line starts like a WhatsApp export message"),
    ] {
        let out = dir.path().join("out");
        let run =
            env.run(&["convert", s(input), "--from", "whatsapp-txt", "--to", "archive", "-o", s(&out)]).fails_with(1);
        assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
        assert!(run.error_lines()[0].contains(needle), "{needle}: {}", run.stderr);
        assert!(run.stderr.len() < 1000, "{needle}: an error of {} bytes", run.stderr.len());
        assert!(!out.exists());
    }
    assert!(!dir.path().parent().unwrap().join("evil.txt").exists());
}

#[test]
fn whatstk_reads_every_export_we_write() {
    let test = "whatstk_reads_every_export_we_write";
    let Some(venv) = interop_venv(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let env = Env::new().with_var("TZ", "UTC");
    let (txt, back) = through_txt(&env, &a, dir.path(), "android");
    let ours = archive_messages(&back);
    let mut checked = 0;
    for entry in std::fs::read_dir(&txt).unwrap() {
        let folder = entry.unwrap().path();
        let name = folder.file_name().unwrap().to_string_lossy().to_string();
        let file = folder.join(format!("{name}.txt"));
        let script = "import sys, json\nfrom whatstk import WhatsAppChat\n\
                      chat = WhatsAppChat.from_source(filepath=sys.argv[1], hformat='%d/%m/%Y, %H:%M - %name:')\n\
                      df = chat.df\n\
                      print(json.dumps([[str(r.date), r.username, r.message] for r in df.itertuples()]))";
        let out = std::process::Command::new(venv.join("bin/python")).args(["-c", script]).arg(&file).output().unwrap();
        assert!(out.status.success(), "whatstk failed on {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        let rows: Vec<(String, String, String)> = serde_json::from_slice(&out.stdout).unwrap();
        // whatstk reads messages with an author (not system lines), with their text.
        let text = std::fs::read_to_string(&file).unwrap();
        let authored = text.lines().filter_map(chatferry_txt_header).filter(|rest| rest.contains(": ")).count();
        assert_eq!(rows.len(), authored, "{}: {rows:?}", file.display());
        for (_, user, message) in &rows {
            assert!(!user.is_empty());
            // whatstk folds full-width forms (！？) to ASCII: compare folded.
            let fold = |t: &str| {
                t.replace('…', "...")
                    .chars()
                    .map(|c| match c as u32 {
                        0xff01..=0xff5e => char::from_u32(c as u32 - 0xfee0).unwrap(),
                        _ => c,
                    })
                    .collect::<String>()
            };
            let first_line = fold(message.lines().next().unwrap_or(""));
            assert!(fold(&text).contains(first_line.trim()), "{message:?}");
        }
        checked += rows.len();
    }
    assert!(checked >= ours.iter().filter(|m| m.kind == MessageKind::Text).count());
}

/// What follows the ` - ` of an Android header line we wrote.
fn chatferry_txt_header(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    (b.len() > 20 && b[2] == b'/' && b[5] == b'/' && &line[10..12] == ", " && &line[17..20] == " - ")
        .then(|| &line[20..])
}

/// A text our export wrote for a kind it has no form for (`📊 Poll: …`).
fn as_text_body(m: &chatferry_core::Message) -> bool {
    m.text
        .as_deref()
        .is_some_and(|t| ["📊 ", "POLL:\n", "🧧 ", "💸 ", "📞 ", "Look: https://"].iter().any(|p| t.starts_with(p)))
}

/// `format` (whatstk's notation) with one date and author filled in.
fn whatstk_line(format: &str, t: chrono::NaiveDateTime, name: &str) -> String {
    // whatstk's tokens are strftime's, but for %name.
    t.format(&format.replace("%name", "\u{1}")).to_string().replace('\u{1}', name)
}

#[test]
fn every_header_format_whatstk_supports_is_read() {
    let test = "every_header_format_whatstk_supports_is_read";
    let Some(json) = public_fixture("whatsapp-txt/whatstk/header_format_support.json", test) else { return };
    let formats: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(formats.len(), 96);
    let day = |m: u32, d: u32, h: u32, min: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
    };
    let times = [day(3, 31, 15, 7), day(4, 2, 9, 5), day(12, 25, 23, 59), day(12, 26, 0, 30)];
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new().with_var("TZ", "UTC");
    for (i, f) in formats.iter().enumerate() {
        let format = f["format"].as_str().unwrap();
        let mut text = String::new();
        for (k, t) in times.iter().enumerate() {
            let who = if k % 2 == 0 { "Anna" } else { "Bo Li" };
            text.push_str(&format!("{} message {k}: with a colon\n", whatstk_line(format, *t, who)));
        }
        let folder = dir.path().join(format!("f{i}"));
        std::fs::create_dir(&folder).unwrap();
        let file = folder.join("WhatsApp Chat with Anna.txt");
        std::fs::write(&file, &text).unwrap();
        let out = dir.path().join(format!("o{i}"));
        let mut args = vec!["convert", s(&file), "--to", "archive", "-o", s(&out), "-q"];
        // A two-digit year first cannot be told from a day: the person says so.
        let order = if format.trim_start_matches('[').starts_with("%y") {
            if format.contains("%y-%m") || format.contains("%y/%m") || format.contains("%y.%m") {
                "date-order=ymd"
            } else {
                "date-order=ydm"
            }
        } else {
            ""
        };
        if !order.is_empty() {
            args.extend(["--opt", order]);
        }
        env.run(&args).ok();
        let got = archive_messages(&out);
        assert_eq!(got.len(), 4, "{format}: {text}");
        for (m, t) in got.iter().zip(&times) {
            assert_eq!(m.timestamp_ms, t.and_utc().timestamp_millis(), "{format}: {text}");
            assert_eq!(m.text.as_deref().map(|t| t.starts_with("message ")), Some(true), "{format}: {m:?}");
        }
        let who = names(&out);
        assert_eq!(who.get(got[0].sender.as_deref().unwrap()).map(String::as_str), Some("Anna"), "{format}");
        assert!(got[1].from_me && !got[0].from_me, "{format}: Bo Li, not the chat's title, is you");
    }
}

#[test]
fn a_whatsapp_android_store_through_txt_keeps_texts_minutes_authors_and_media() {
    use chatferry_tests::fixtures::whatsapp_android as wa;
    let dir = tempfile::tempdir().unwrap();
    let fx = wa::write_sample(&dir.path().join("WhatsApp"));
    let env = Env::new().with_var("TZ", "UTC");
    let owner = "owner=+4915112345678";
    let direct = dir.path().join("direct");
    env.run(&["convert", s(&fx.root), "--to", "archive", "-o", s(&direct), "--opt", owner, "-q"]).ok();
    let txt = dir.path().join("txt");
    env.run(&[
        "convert",
        s(&fx.root),
        "--to",
        "whatsapp-txt",
        "-o",
        s(&txt),
        "--opt",
        owner,
        "--opt",
        "style=android",
        "--opt",
        "me=Me",
        "-q",
    ])
    .ok();
    let back = dir.path().join("back");
    env.run(&["convert", s(&txt), "--to", "archive", "-o", s(&back), "--opt", "me=Me", "-q"]).ok();
    let (a, b) = (archive_messages(&direct), archive_messages(&back));
    let (na, nb) = (names(&direct), names(&back));
    let author = |m: &chatferry_core::Message, n: &std::collections::HashMap<String, String>| {
        if m.from_me {
            "me".to_string()
        } else {
            m.sender.as_deref().and_then(|x| n.get(x)).cloned().unwrap_or_default()
        }
    };
    let texts = |v: &[chatferry_core::Message], n: &std::collections::HashMap<String, String>| {
        let mut t: Vec<(i64, String, String)> = v
            .iter()
            .filter(|m| m.kind == MessageKind::Text && !as_text_body(m))
            .map(|m| (m.timestamp_ms.div_euclid(60_000), author(m, n), m.text.clone().unwrap()))
            .collect();
        t.sort();
        t
    };
    let want = texts(&a, &na);
    assert!(!want.is_empty());
    // Authors by the name the store knows them by (wa.db), or their number.
    let got = texts(&b, &nb);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.0, &g.2), (w.0, &w.2));
        // A colon in a name is written as U+A789 (the report counts it).
        let w_name = w.1.replace(':', "\u{a789}");
        assert!(w.1.is_empty() || g.1 == w_name, "author {:?} for {:?}", g.1, w.1);
    }
    let hashes = |v: &[chatferry_core::Message]| {
        // A contact card becomes the .vcf an export attaches: compare the other files.
        let mut h: Vec<String> = v
            .iter()
            .filter(|m| m.kind != MessageKind::Contact)
            .filter_map(|m| m.media.as_ref()?.sha256.clone())
            .collect();
        h.sort();
        h
    };
    assert!(!hashes(&a).is_empty());
    assert_eq!(hashes(&b), hashes(&a), "every carried file comes through byte for byte");
}

#[test]
fn the_npm_whatsapp_chat_parser_reads_every_export_we_write() {
    let test = "the_npm_whatsapp_chat_parser_reads_every_export_we_write";
    let Some(modules) = interop_node(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let env = Env::new().with_var("TZ", "UTC");
    let script = dir.path().join("read.cjs");
    std::fs::write(
        &script,
        "const { parseString } = require(process.argv[2]);\n\
         const text = require('fs').readFileSync(process.argv[3], 'utf8');\n\
         console.log(JSON.stringify(parseString(text).map(m => [m.date, m.author, m.message])));\n",
    )
    .unwrap();
    for style in ["android", "ios"] {
        let (txt, back) = through_txt(&env, &a, dir.path(), style);
        let ours = archive_messages(&back);
        let mut read = 0;
        for entry in std::fs::read_dir(&txt).unwrap() {
            let p = entry.unwrap().path();
            // The transcript: Android's .txt in its folder, the iPhone's _chat.txt in its zip.
            let file = if style == "android" {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                p.join(format!("{name}.txt"))
            } else {
                let mut z = zip::ZipArchive::new(std::fs::File::open(&p).unwrap()).unwrap();
                let out = dir.path().join(format!("{}.txt", read));
                std::io::copy(&mut z.by_name("_chat.txt").unwrap(), &mut std::fs::File::create(&out).unwrap()).unwrap();
                out
            };
            let out = std::process::Command::new("node")
                .arg(&script)
                .arg(modules.join("whatsapp-chat-parser"))
                .arg(&file)
                .env("TZ", "UTC")
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let rows: Vec<(String, Option<String>, String)> = serde_json::from_slice(&out.stdout).unwrap();
            let text = std::fs::read_to_string(&file).unwrap();
            for (date, _, message) in &rows {
                // Its times are ours to the minute; its texts are in the file.
                let minute = &date[..16];
                assert!(ours.iter().any(|m| utc_minute(m.timestamp_ms) == minute), "{style}: {date} {message:?}");
                assert!(
                    text.contains(message.lines().next().unwrap_or("").trim_start_matches('\u{200e}')),
                    "{message:?}"
                );
            }
            read += rows.len();
        }
        assert_eq!(read, ours.len(), "{style}: it reads as many messages as we do");
    }
}

#[test]
fn an_iphone_one_to_one_export_is_a_direct_chat_and_you_are_inferred() {
    // The iPhone writes a one-to-one chat's system lines (the encryption
    // notice first) under the other person's name, the chat's title: read
    // as a group's, which made every writer make a group (whatsapp-chat-
    // parser #258).
    let dir = tempfile::tempdir().unwrap();
    let z = dir.path().join("WhatsApp Chat - Anna.zip");
    let chat = "[01/02/2024, 10:00:00] Anna: \u{200e}Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.\n\
                [01/02/2024, 10:01:00] Anna: hi\n\
                [01/02/2024, 10:02:00] Ben Me: hello\n\
                [01/02/2024, 10:03:00] Anna: \u{200e}You blocked this contact.\n";
    zip_with(&z, &[("_chat.txt", chat.as_bytes())]);
    let out = dir.path().join("out");
    Env::new().run(&["convert", s(&z), "--to", "archive", "-o", s(&out), "--opt", "timezone=UTC"]).ok();
    let chats: Vec<serde_json::Value> = std::fs::read_to_string(out.join("chats.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0]["kind"], "direct", "{}", chats[0]);
    let messages = archive_messages(&out);
    let ben = messages.iter().find(|m| m.text.as_deref() == Some("hello")).unwrap();
    assert!(ben.from_me, "the author who is not the title is you");
    let anna = messages.iter().find(|m| m.text.as_deref() == Some("hi")).unwrap();
    assert!(!anna.from_me);
    // A group still reads as one: its system lines are under its name,
    // which writes no messages.
    let g = dir.path().join("WhatsApp Chat - Team.zip");
    let group = "[01/02/2024, 10:00:00] Team: \u{200e}Anna created group \u{201c}Team\u{201d}\n\
                 [01/02/2024, 10:01:00] Anna: hi\n\
                 [01/02/2024, 10:02:00] Ben Me: hello\n";
    zip_with(&g, &[("_chat.txt", group.as_bytes())]);
    let out = dir.path().join("out-group");
    Env::new().run(&["convert", s(&g), "--to", "archive", "-o", s(&out), "--opt", "timezone=UTC"]).ok();
    assert!(std::fs::read_to_string(out.join("chats.jsonl")).unwrap().contains("\"kind\":\"group\""));
}

#[test]
fn a_folder_of_several_exports_reads_each_of_them() {
    // Two Android transcripts side by side were "no WhatsApp export"; one
    // transcript beside iPhone zips was read alone, the zips skipped.
    let dir = tempfile::tempdir().unwrap();
    let two = dir.path().join("two");
    std::fs::create_dir(&two).unwrap();
    std::fs::write(two.join("WhatsApp Chat with Anna.txt"), "01/02/2024, 10:00 - Anna: hi\n").unwrap();
    std::fs::write(two.join("WhatsApp Chat with Ben.txt"), "01/02/2024, 11:00 - Ben: ho\n").unwrap();
    let mixed = dir.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::write(mixed.join("WhatsApp Chat with Anna.txt"), "01/02/2024, 10:00 - Anna: hi\n").unwrap();
    for name in ["Cy", "Dee"] {
        zip_with(
            &mixed.join(format!("WhatsApp Chat - {name}.zip")),
            &[("_chat.txt", format!("[01/02/2024, 12:00:00] {name}: hey\n").as_bytes())],
        );
    }
    let env = Env::new();
    for (folder, chats) in [(&two, 2), (&mixed, 3)] {
        let out = dir.path().join(format!("out-{chats}"));
        env.run(&["convert", s(folder), "--to", "archive", "-o", s(&out), "--opt", "timezone=UTC"]).ok();
        assert_eq!(std::fs::read_to_string(out.join("chats.jsonl")).unwrap().lines().count(), chats, "{folder:?}");
        assert_eq!(archive_messages(&out).len(), chats);
    }
}

#[test]
fn me_must_name_an_author_and_a_given_time_zone_is_named_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("WhatsApp Chat with Anna.txt");
    std::fs::write(&txt, "01/02/2024, 10:00 - Anna: hi\n01/02/2024, 10:01 - Ben: ho\n").unwrap();
    let env = Env::new();
    // A name nobody wrote under made every message "received", silently.
    let out = dir.path().join("out");
    let run = env.run(&["convert", s(&txt), "--to", "archive", "-o", s(&out), "--opt", "me=Benn"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("names nobody") && errors[0].contains("\"Anna\", \"Ben\""), "{}", errors[0]);
    assert!(!out.exists());
    // The note asked for --opt timezone even when it was given.
    let run = env.run(&["convert", s(&txt), "--to", "archive", "-o", s(&out), "--opt", "timezone=Asia/Tokyo"]).ok();
    assert!(run.stdout.contains("times read as Asia/Tokyo (given with --opt timezone)"), "{}", run.stdout);
    assert!(!run.stdout.contains("give --opt timezone"), "{}", run.stdout);
    // People known by name only get placeholder numbers in an app's store:
    // said, not done silently.
    assert!(run.stdout.contains("1 person is known by name only"), "Anna (Ben is you): {}", run.stdout);
}

#[test]
fn a_first_line_with_a_date_that_cannot_be_is_counted_not_dropped_silently() {
    // It was counted as a message in the note ("2 messages") and then not
    // read, without a word.
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("WhatsApp Chat with Anna.txt");
    std::fs::write(&txt, "31/02/2024, 10:00 - Anna: on a day that does not exist\n01/03/2024, 10:01 - Anna: then\n")
        .unwrap();
    let out = dir.path().join("out");
    let run = Env::new().run(&["convert", s(&txt), "--to", "archive", "-o", s(&out), "--opt", "timezone=UTC"]).ok();
    assert!(run.stdout.contains("1 message by 1 author"), "{}", run.stdout);
    assert!(run.stdout.contains("1 line before the first message was not read"), "{}", run.stdout);
    assert_eq!(archive_messages(&out).len(), 1);
}
