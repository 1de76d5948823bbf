//! The README's job sections, run: every `chatferry` command in their code
//! blocks, as written, in a folder holding what the person would have there
//! under the names the README uses (`WhatsApp/` with its crypt15 and
//! `e2e-key.txt`, `com.tencent.mm/`, `DataExport_2026-12-08`, the iPhone's
//! backup at `$HOME/Library/Application Support/MobileSync/Backup/<UDID>`),
//! made by the fixture generator. Where the README says to fill in a contact
//! map, the test fills it. A command that stops fails the test.

use chatferry_tests::fixtures::{ios_backup, telegram, wechat_android, whatsapp_android, whatsapp_ios};
use chatferry_tests::harness::{workspace_root, Env};
use std::path::Path;

/// The job sections: from the first `## WhatsApp:` heading to "Good to know".
fn job_sections(readme: &str) -> Vec<(String, Vec<String>)> {
    let start = readme.find("\n## WhatsApp: Android → iPhone").expect("the first job section");
    let end = readme.find("\n## Good to know").expect("the section after the jobs");
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in readme[start..end].lines() {
        if let Some(title) = line.strip_prefix("## ") {
            out.push((title.to_string(), Vec::new()));
            continue;
        }
        if line.starts_with("```") {
            in_block = line == "```sh";
            continue;
        }
        if !in_block {
            continue;
        }
        // A comment may follow a command; a line ending in `\` goes on.
        let code = match line.find(" # ") {
            Some(i) if !line.trim_start().starts_with('#') => &line[..i],
            _ => line,
        };
        let code = code.trim();
        if code.starts_with('#') || code.is_empty() {
            continue;
        }
        match code.strip_suffix('\\') {
            Some(part) => pending.push_str(part),
            None => {
                pending.push_str(code);
                out.last_mut().expect("a section").1.push(std::mem::take(&mut pending));
            }
        }
    }
    out
}

/// A command line split as a shell splits it here: words, double quotes,
/// `$HOME` inside them.
fn words(line: &str, home: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            _ => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out.into_iter().map(|w| w.replace("$HOME", &home.display().to_string())).collect()
}

/// What the person has in the folder they run the section's commands in.
fn their_files(dir: &Path, home: &Path) {
    let sample = dir.join("sample-android");
    whatsapp_android::write_sample(&sample);
    let key = dir.join("e2e-key.txt");
    std::fs::write(&key, format!("{}\n", "0123456789abcdef".repeat(4))).unwrap();
    // Off the phone without root: the WhatsApp folder with its crypt15, no plain database.
    Env::new()
        .run(&[
            "convert",
            sample.to_str().unwrap(),
            "--opt",
            "owner=+4915112345678",
            "--to",
            "whatsapp-android",
            "--opt",
            &format!("key-file={}", key.display()),
            "-o",
            dir.join("WhatsApp").to_str().unwrap(),
            "-q",
        ])
        .ok();
    std::fs::remove_dir_all(&sample).unwrap();
    wechat_android::write_sample(&dir.join("com.tencent.mm"), &wechat_android::Spec::default());
    telegram::write_account(&dir.join("DataExport_2026-12-08"));
    // The new iPhone's backup, with its own WhatsApp chats.
    let group = dir.join("iphone-group");
    whatsapp_ios::write_sample(&group);
    ios_backup::write(&group, &home.join("Library/Application Support/MobileSync/Backup/<UDID>"), None);
    std::fs::remove_dir_all(&group).unwrap();
}

/// Fills a contact map the way its comments ask: a number for everyone without one.
fn fill_in(map: &Path) {
    let text = std::fs::read_to_string(map).unwrap();
    let mut n = 0;
    let filled: Vec<String> = text
        .lines()
        .map(|l| match l {
            "whatsapp = \"\"" => {
                n += 1;
                format!("whatsapp = \"+1415555{n:04}\"")
            }
            other => other.to_string(),
        })
        .collect();
    std::fs::write(map, filled.join("\n")).unwrap();
}

#[test]
fn every_command_of_the_readmes_job_sections_runs() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let sections = job_sections(&readme);
    assert!(sections.len() >= 6, "the job sections: {:?}", sections.iter().map(|s| &s.0).collect::<Vec<_>>());
    let mut ran = 0;
    for (title, commands) in sections {
        let env = Env::new();
        let dir = tempfile::tempdir().unwrap();
        their_files(dir.path(), env.home.path());
        for line in commands {
            let args = words(&line, env.home.path());
            assert_eq!(args[0], "chatferry", "{title}: a command of the README is chatferry's: {line}");
            let rest: Vec<&str> = args[1..].iter().map(String::as_str).collect();
            let run = env.command().current_dir(dir.path()).args(&rest).output().unwrap();
            let run = chatferry_tests::harness::Run::from(run);
            assert_eq!(run.code, 0, "{title}: `{line}` failed:\n{}{}", run.stdout, run.stderr);
            if let Some(i) = rest.iter().position(|a| *a == "--write-contact-map") {
                fill_in(&dir.path().join(rest[i + 1]));
            }
            ran += 1;
        }
    }
    assert!(ran >= 10, "{ran} commands ran");
}
