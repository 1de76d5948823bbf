//! The canonical archive, end to end through the real binary.

use chatferry_core::archive::ArchiveImporter;
use chatferry_tests::fixtures::canonical::{self, times, PNG_4X3};
use chatferry_tests::fixtures::memory::read_all;
use chatferry_tests::harness::{tree, tree_digest, workspace_root, Env};
use sha2::Digest;
use std::path::Path;

#[test]
fn archive_to_archive_is_byte_identical_and_leaves_the_input_alone() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let before = tree_digest(&a);
    let b = dir.path().join("b");
    let c = dir.path().join("c");
    let env = Env::new();
    let run = env.run(&["convert", a.to_str().unwrap(), "--to", "archive", "-o", b.to_str().unwrap()]).ok();
    assert!(run.stdout.contains("26 messages read"), "{}", run.stdout);
    env.run(&["convert", b.to_str().unwrap(), "--from", "archive", "--to", "archive", "-o", c.to_str().unwrap()]).ok();
    assert_eq!(tree_digest(&a), before, "the input changed");
    assert_eq!(tree(&a), tree(&b), "archive → archive changed bytes");
    assert_eq!(tree(&b), tree(&c));
    // Only the three outputs are in the folder: no temporary left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn the_shipped_sample_is_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = canonical::sample_archive_in(dir.path());
    let shipped = workspace_root().join("samples/demo-archive");
    assert_eq!(
        tree_digest(&fresh),
        tree_digest(&shipped),
        "samples/demo-archive is stale: regenerate it with \
         `cargo run -p chatferry-tests --bin chatferry-fixtures -- sample-archive samples/demo-archive`"
    );
}

#[test]
fn every_field_survives_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media-src");
    let original = canonical::sample_history(&media);
    let archive = dir.path().join("archive");
    let report = canonical::write_sample_archive(&archive).unwrap();
    assert_eq!(report.messages_read(), 26);
    assert_eq!(report.media.carried, 4, "image, voice, document and the repeated image");
    assert_eq!(report.media.missing, 1, "the video the store had lost");

    let (back, import_report) = read_all(&mut ArchiveImporter::open(&archive).unwrap()).unwrap();
    assert!(import_report.notes.is_empty(), "{:?}", import_report.notes);
    assert_eq!(back.header.owner, original.header.owner);
    assert_eq!(back.header.source_adapter, "fixture");
    assert_eq!(back.contacts, original.contacts);
    assert_eq!(back.chats, original.chats);
    assert_eq!(back.messages.len(), original.messages.len());
    let png_sha = hex::encode(sha2::Sha256::digest(PNG_4X3));
    for (got, want) in back.messages.iter().zip(&original.messages) {
        let mut got = got.clone();
        if let (Some(g), Some(w)) = (got.media.as_mut(), want.media.as_ref()) {
            if w.missing {
                assert!(g.missing && g.file.is_none() && g.path.is_none(), "message {}", got.id);
            } else {
                let path = g.path.take().expect("archive media has a readable path");
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(bytes, std::fs::read(w.path.as_ref().unwrap()).unwrap());
                assert_eq!(g.sha256.take().unwrap(), hex::encode(sha2::Sha256::digest(&bytes)));
                assert_eq!(g.size.take(), Some(bytes.len() as u64));
                let file = g.file.take().unwrap();
                assert!(file.starts_with("media/") && Path::new(&archive).join(&file).is_file());
            }
            g.path = w.path.clone();
        }
        assert_eq!(&got, want, "message {} differs after the archive", want.id);
    }
    let image = back.messages.iter().find(|m| m.id == "7").unwrap();
    assert_eq!(image.media.as_ref().unwrap().sha256.as_deref(), Some(png_sha.as_str()));
    let again = back.messages.iter().find(|m| m.id == "15").unwrap();
    assert_eq!(again.media.as_ref().unwrap().file, image.media.as_ref().unwrap().file, "same bytes, one file");
    assert_eq!(back.messages[0].timestamp_ms, times::MOON_LANDING);
    assert!(back.messages.iter().any(|m| m.timestamp_ms == times::AFTER_2038));
}

#[test]
fn a_damaged_line_is_one_error_naming_it_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let path = a.join("messages.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let cut = &lines[2][..lines[2].len() / 2];
    lines[2] = cut;
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let run =
        Env::new().run(&["convert", a.to_str().unwrap(), "--to", "archive", "-o", out.to_str().unwrap()]).fails_with(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("messages.jsonl line 3 is damaged"), "{}", errors[0]);
    assert!(!out.exists());
}

#[test]
fn a_line_longer_than_any_message_is_refused_before_it_fills_memory() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    // One line of 64 MiB and more with no newline: damage, not a message.
    let mut f = std::fs::OpenOptions::new().append(true).open(a.join("messages.jsonl")).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..=(chatferry_core::archive::MAX_LINE >> 20) {
        std::io::Write::write_all(&mut f, &chunk).unwrap();
    }
    drop(f);
    let out = dir.path().join("out");
    let run =
        Env::new().run(&["convert", a.to_str().unwrap(), "--to", "archive", "-o", out.to_str().unwrap()]).fails_with(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("is longer than 64 MiB"), "{}", errors[0]);
    assert!(!out.exists());
}

#[test]
fn a_media_path_that_escapes_the_archive_is_refused_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, b"not yours").unwrap();
    let path = a.join("messages.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let re = text.lines().find(|l| l.contains("\"id\":\"7\"")).unwrap();
    let file = serde_json::from_str::<serde_json::Value>(re).unwrap()["media"]["file"].as_str().unwrap().to_string();
    std::fs::write(&path, text.replace(&file, "../secret.txt")).unwrap();

    let out = dir.path().join("out");
    let report = dir.path().join("report.json");
    let run = Env::new()
        .run(&[
            "convert",
            a.to_str().unwrap(),
            "--to",
            "archive",
            "-o",
            out.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .ok();
    assert!(run.stdout.contains("leads outside the media folder"), "{}", run.stdout);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    // Messages 7 and 15 share that file, so both references are refused.
    assert_eq!(report["media"]["refused"], 2);
    let written = std::fs::read_to_string(out.join("messages.jsonl")).unwrap();
    let m7: serde_json::Value =
        serde_json::from_str(written.lines().find(|l| l.contains("\"id\":\"7\"")).unwrap()).unwrap();
    assert_eq!(m7["media"]["missing"], true);
    for (name, bytes) in tree(&out) {
        assert_ne!(bytes, b"not yours", "{name} is a copy of a file outside the archive");
    }
}

#[test]
fn an_archive_from_a_newer_model_major_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let manifest = a.join("manifest.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace(&format!("\"model_version\": \"{}\"", chatferry_core::MODEL_VERSION), "\"model_version\": \"2.0.0\"");
    std::fs::write(&manifest, text).unwrap();
    let run = Env::new().run(&["inspect", a.to_str().unwrap()]).fails_with(1);
    assert!(run.error_lines()[0].contains("canonical model 2.0.0"), "{}", run.stderr);
}
