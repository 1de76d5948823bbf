//! Hostile and broken input: each is one clear error (or, for a media
//! path out of the export, a refusal counted in the report), never a panic,
//! never a file read from outside the export.

use chatferry_core::{Adapter, Options};
use chatferry_plugin_telegram_json::TelegramJson;
use std::io::Write;
use std::path::Path;

fn open_err(path: &Path) -> String {
    match TelegramJson.open_importer(path, &Options::new()) {
        Ok(mut imp) => {
            // Some faults show only in the second pass.
            let mut err = None;
            loop {
                match imp.next_messages(100) {
                    Ok(b) if b.is_empty() => break,
                    Ok(_) => {}
                    Err(e) => {
                        err = Some(e.to_string());
                        break;
                    }
                }
            }
            err.unwrap_or_else(|| panic!("{} was read without an error", path.display()))
        }
        Err(e) => e.to_string(),
    }
}

const ONE_CHAT: &str = r#"{
 "name": "Anna",
 "type": "personal_chat",
 "id": 42,
 "messages": [
  {
   "id": 1,
   "type": "message",
   "date": "2024-01-02T03:04:05",
   "date_unixtime": "1704164645",
   "from": "Anna",
   "from_id": "user42",
   "text": "hi"
  }
 ]
}
"#;

#[test]
fn a_truncated_export_says_it_was_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("result.json");
    std::fs::write(&p, &ONE_CHAT[..ONE_CHAT.len() - 20]).unwrap();
    let err = open_err(&p);
    assert!(err.contains("ends in the middle") && err.contains("export again"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn json_that_is_no_telegram_export_is_said_to_be_none() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("result.json");
    std::fs::write(&p, r#"{"name": "package", "version": "1.0.0", "dependencies": {}}"#).unwrap();
    let err = open_err(&p);
    assert!(err.contains("not a Telegram Desktop export"), "{err}");
    std::fs::write(&p, "[1, 2, 3]").unwrap();
    let err = open_err(&p);
    assert!(err.contains("not a JSON object, as every Telegram export is"), "{err}");
    std::fs::write(&p, r#"{"messages": [{"id": 1, "text": {"a": 1}}]}"#).unwrap();
    let err = open_err(&p);
    // At the byte the wrong value starts (its `{`), not serde's line 1 of the message.
    assert!(err.contains("shape of a Telegram export near byte 32"), "{err}");
    assert!(!err.contains(" at line "), "{err}");
}

#[test]
fn a_string_of_gigabytes_stops_at_the_cap_without_buffering_it() {
    // 70 MiB is enough: the cap is 64 MiB, and a 10 GB string stops where this one does.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("result.json");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    f.write_all(br#"{"messages": [{"id": 1, "type": "message", "text": ""#).unwrap();
    let block = vec![b'a'; 1 << 20];
    for _ in 0..70 {
        f.write_all(&block).unwrap();
    }
    f.write_all(b"\"}]}").unwrap();
    drop(f);
    let err = open_err(&p);
    assert!(err.contains("longer than 64 MiB"), "{err}");
}

#[test]
fn a_million_nested_arrays_are_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("result.json");
    for wrap in [("{\"x\": ", "}"), ("{\"messages\": [{\"text\": ", "}]}"), ("{\"chats\": {\"list\": ", "}}")] {
        let depth = 1_000_000;
        let mut text = String::with_capacity(2 * depth + 64);
        text.push_str(wrap.0);
        text.push_str(&"[".repeat(depth));
        text.push_str(&"]".repeat(depth));
        text.push_str(wrap.1);
        std::fs::write(&p, text).unwrap();
        let err = open_err(&p);
        assert!(err.contains("result.json") && err.lines().count() == 1, "{wrap:?}: {err}");
    }
}

#[test]
fn a_zip_bomb_and_a_zip_climbing_out_are_refused_before_unpacking() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("export.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&bomb).unwrap());
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    z.start_file("result.json", deflated).unwrap();
    z.write_all(ONE_CHAT.as_bytes()).unwrap();
    z.start_file("photos/zeros.jpg", deflated).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        z.write_all(&zeros).unwrap();
    }
    z.finish().unwrap();
    let err = open_err(&bomb);
    assert!(err.contains("zip bomb"), "{err}");

    let out = dir.path().join("out.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&out).unwrap());
    z.start_file("result.json", deflated).unwrap();
    z.write_all(ONE_CHAT.as_bytes()).unwrap();
    z.start_file("../../evil.jpg", deflated).unwrap();
    z.write_all(b"x").unwrap();
    z.finish().unwrap();
    let err = open_err(&out);
    assert!(err.contains("would land outside the export"), "{err}");
    assert!(!dir.path().join("../evil.jpg").exists());
}

#[test]
fn a_media_path_out_of_the_export_is_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("ChatExport_2024-01-02");
    std::fs::create_dir(&export).unwrap();
    std::fs::write(dir.path().join("secret.jpg"), b"not the export's").unwrap();
    let text = ONE_CHAT.replace(r#""text": "hi""#, r#""photo": "../secret.jpg", "text": """#);
    std::fs::write(export.join("result.json"), text).unwrap();
    let mut imp = TelegramJson.open_importer(&export, &Options::new()).unwrap();
    let batch = imp.next_messages(10).unwrap();
    let media = batch[0].media.as_ref().unwrap();
    assert!(media.missing && media.path.is_none() && media.sha256.is_none());
    assert!(imp.next_messages(10).unwrap().is_empty());
    let report = imp.finish().unwrap();
    assert_eq!(report.media.refused, 1);
    assert!(report.notes.iter().any(|n| n.contains("outside the export's folder") && n.contains("../secret.jpg")));
}

#[test]
fn telegrams_invalid_json_is_read_not_refused() {
    // `\xHH` control characters (2018 on) and an unquoted custom-emoji path (4.0.4–4.1.1).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("result.json");
    let text = ONE_CHAT.replace(
        r#""text": "hi""#,
        "\"text\": [\"bell\\x07 \", {\n     \"type\": \"custom_emoji\",\n     \"text\": \"😮\",\n     \"document_id\": video_files/sticker (2).webm\n    }]",
    );
    std::fs::write(&p, text).unwrap();
    let mut imp = TelegramJson.open_importer(&p, &Options::new()).unwrap();
    let batch = imp.next_messages(10).unwrap();
    assert_eq!(batch[0].text.as_deref(), Some("bell\u{7} 😮"));
    assert!(batch[0].extras.get("tg.entities").unwrap().contains("video_files/sticker (2).webm"));
}
