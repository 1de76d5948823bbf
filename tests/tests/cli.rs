//! The command line as a person uses it: listing, detecting, inspecting,
//! converting, options, output safety, exit statuses.

use chatferry_tests::fixtures::canonical::{self, times};
use chatferry_tests::harness::{path_arg as s, tree_digest, workspace_root, Env};

#[test]
fn adapters_json_lists_the_archive_and_every_workspace_plugin() {
    let run = Env::new().run(&["adapters", "--json"]).ok();
    let list = run.json();
    let list = list.as_array().expect("a JSON array");
    let archive = list.iter().find(|a| a["id"] == "archive").expect("archive listed");
    assert_eq!(archive["plugin"], "chatferry-core");
    assert_eq!(archive["capabilities"], serde_json::json!(["import", "export"]));
    for a in list {
        for key in ["id", "plugin", "version", "capabilities"] {
            assert!(a.get(key).is_some(), "{key} missing in {a}");
        }
    }
    // Every plugin crate in the workspace (plugins/* and the template) is loaded.
    let mut crates = vec![workspace_root().join("plugin-template/Cargo.toml")];
    for e in std::fs::read_dir(workspace_root().join("plugins")).unwrap() {
        let manifest = e.unwrap().path().join("Cargo.toml");
        if manifest.is_file() {
            crates.push(manifest);
        }
    }
    for manifest in crates {
        let text = std::fs::read_to_string(&manifest).unwrap();
        let name = text.lines().find_map(|l| l.strip_prefix("name = \"")).unwrap().trim_end_matches('"');
        assert!(list.iter().any(|a| a["plugin"] == name), "plugin {name} is not listed: {}", run.stdout);
    }
    assert!(run.stderr.is_empty(), "no warnings expected: {}", run.stderr);
}

#[test]
fn detect_and_inspect_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let env = Env::new();
    let found = env.run(&["detect", s(&a), "--json"]).ok().json();
    assert_eq!(found[0]["adapter"], "archive");
    assert_eq!(found[0]["confidence"], 100);

    let info = env.run(&["inspect", s(&a), "--json"]).ok().json();
    assert_eq!(info["adapter"], "archive");
    assert_eq!(info["messages"], 26);
    assert_eq!(info["chats"], 4);
    assert_eq!(info["contacts"], 4);
    assert_eq!(info["first_message_ms"], times::MOON_LANDING);
    assert_eq!(info["last_message_ms"], times::YEAR_2100 + 2_000);
    assert_eq!(info["first_message_utc"], "1969-07-20T20:17:40.000Z");
    assert_eq!(info["media"], 5);
    assert_eq!(info["media_missing"], 1);
    assert_eq!(info["replies"], 1);
    assert_eq!(info["reactions"], 1);
    assert_eq!(info["messages_by_kind"]["system"], 2);
    assert_eq!(info["chats_by_kind"]["group"], 2);

    let text = env.run(&["inspect", s(&a)]).ok().stdout;
    assert!(text.contains("messages: 26 from 1969-07-20T20:17:40.000Z to 2100-03-01T12:00:02.000Z"), "{text}");

    let nothing = dir.path().join("empty");
    std::fs::create_dir(&nothing).unwrap();
    let run = env.run(&["convert", s(&nothing), "--to", "archive", "-o", s(&dir.path().join("x"))]).fails_with(1);
    assert!(run.error_lines()[0].contains("no adapter recognises"), "{}", run.stderr);
}

#[test]
fn an_option_no_adapter_declares_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let out = dir.path().join("out");
    let env = Env::new();
    // time-format belongs to the template's exporter, not to the archive.
    let run = env.run(&["convert", s(&a), "--to", "archive", "-o", s(&out), "--opt", "time-format=iso"]).fails_with(2);
    assert_eq!(run.error_lines().len(), 1);
    assert!(run.stderr.contains("\"time-format\" is not understood by archive"), "{}", run.stderr);
    assert!(!out.exists());
    // Declared: accepted, and it changes the output.
    env.run(&["convert", s(&a), "--to", "template", "-o", s(&out), "--opt", "time-format=iso"]).ok();
    let tsv = std::fs::read_to_string(out.join("messages.tsv")).unwrap();
    assert!(tsv.lines().next().unwrap().ends_with("\ttime_utc"));
    assert!(tsv.contains("\t2038-01-19T03:14:08.000Z"), "{tsv}");
    // Unknown adapters and bad flags are usage errors too.
    env.run(&["convert", s(&a), "--to", "nope", "-o", s(&dir.path().join("n"))]).fails_with(2);
    env.run(&["convert", s(&a)]).fails_with(2);
}

#[test]
fn convert_reports_downgrades_and_goes_both_ways_through_a_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let tsv = dir.path().join("tsv");
    let report = dir.path().join("report.json");
    let env = Env::new();
    let run = env.run(&["convert", s(&a), "--to", "template", "-o", s(&tsv), "--report", s(&report)]).ok();
    assert!(run.stdout.contains("archive → template"), "{}", run.stdout);
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["source_adapter"], "archive");
    assert_eq!(r["target_adapter"], "template");
    assert_eq!(r["read"]["text"], 12);
    assert_eq!(r["written"]["image"]["downgraded"], 2);
    assert_eq!(r["written"]["text"]["native"], 10);
    assert_eq!(r["written"]["text"]["downgraded"], 2, "the reply with a reaction, the edited text");
    assert!(r["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("delivery status")));
    let total: u64 = r["read"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    let written: u64 = r["written"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["native"].as_u64().unwrap() + t["downgraded"].as_u64().unwrap() + t["failed"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 26);
    assert_eq!(written, 26, "every message is accounted for");

    let back = dir.path().join("back");
    env.run(&["convert", s(&tsv), "--to", "archive", "-o", s(&back)]).ok();
    let messages = std::fs::read_to_string(back.join("messages.jsonl")).unwrap();
    assert_eq!(messages.lines().count(), 26);
    assert!(messages.contains("大家好！今天晚上一起吃饭吗？🍜"));
    assert!(messages.contains("\"text\":\"Bob:\\nI'm Bob, and this line is my text\""));
}

#[test]
fn strict_makes_any_downgrade_exit_1_after_the_report_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let env = Env::new();
    let tsv = dir.path().join("tsv");
    let report = dir.path().join("report.json");
    let run = env
        .run(&["convert", s(&a), "--to", "template", "-o", s(&tsv), "--report", s(&report), "--strict"])
        .fails_with(1);
    assert!(run.stdout.contains("downgraded"), "the report is printed first: {}", run.stdout);
    assert!(
        run.error_lines()[0].contains("--strict") && run.error_lines()[0].contains("downgraded"),
        "{:?}",
        run.error_lines()
    );
    assert!(tsv.join("messages.tsv").is_file() && report.is_file(), "output and report are written");
    // A lossless conversion passes.
    env.run(&["convert", s(&a), "--to", "archive", "-o", s(&dir.path().join("again")), "--strict"]).ok();
}

#[test]
fn output_is_never_overwritten_without_force_and_never_overlaps_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let before = tree_digest(&a);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"mine").unwrap();
    let env = Env::new();
    let run = env.run(&["convert", s(&a), "--to", "archive", "-o", s(&out)]).fails_with(1);
    assert!(run.error_lines()[0].contains("already exists") && run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(std::fs::read(out.join("keep.txt")).unwrap(), b"mine");
    env.run(&["convert", s(&a), "--to", "archive", "-o", s(&out), "--force", "--quiet"]).ok();
    assert!(!out.join("keep.txt").exists() && out.join("manifest.json").is_file());

    let run = env.run(&["convert", s(&a), "--to", "archive", "-o", s(&a.join("inside")), "--force"]).fails_with(1);
    assert!(run.error_lines()[0].contains("overlap"), "{}", run.stderr);
    let run = env.run(&["convert", s(&a), "--to", "archive", "-o", s(&a), "--force"]).fails_with(1);
    assert!(run.error_lines()[0].contains("overlap"), "{}", run.stderr);
    assert_eq!(tree_digest(&a), before);

    let run = env
        .run(&["convert", s(&dir.path().join("nowhere")), "--to", "archive", "-o", s(&dir.path().join("o2"))])
        .fails_with(1);
    assert!(run.error_lines()[0].contains("does not exist"), "{}", run.stderr);

    // Said before any reading: a store that cannot be opened is not even tried.
    let junk = dir.path().join("EnMicroMsg.db");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    let run =
        env.run(&["convert", s(&junk), "--from", "wechat-android", "--to", "archive", "-o", s(&out)]).fails_with(1);
    assert!(run.error_lines()[0].contains("already exists"), "{}", run.stderr);
}

#[test]
fn the_wrong_adapter_for_an_input_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let run = Env::new()
        .run(&["convert", s(&a), "--from", "template", "--to", "archive", "-o", s(&dir.path().join("o"))])
        .fails_with(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("contacts.tsv"), "{}", errors[0]);
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let run = Env::new().run(&["--quiet", "convert", s(&a), "--to", "archive", "-o", s(&dir.path().join("o"))]).ok();
    assert!(run.stdout.is_empty() && run.stderr.is_empty(), "{run:?}");
}

#[test]
fn an_input_whose_name_is_not_utf8_is_one_line() {
    // Each adapter said so in a warning of its own (six), then "no adapter
    // recognises".
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(std::ffi::OsStr::from_bytes(b"w\xffa"));
    std::fs::create_dir(&input).unwrap();
    let out = dir.path().join("out");
    let output = Env::new().command().arg("convert").arg(&input).args(["--to", "archive", "-o"]).arg(&out).output();
    let run = chatferry_tests::harness::Run::from(output.unwrap()).fails_with(1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("is not valid UTF-8"), "{}", run.stderr);
}

/// Help a person understands: an app's bare name or a typo gets the ids
/// meant; the man page is one page with convert's options and examples and
/// no pointers to pages that are not installed; completions offer the ids.
#[test]
fn help_names_the_apps_and_their_adapter_ids() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let a = canonical::sample_archive_in(dir.path());
    let out = dir.path().join("o");
    let run = env.run(&["convert", s(&a), "--to", "whatsapp", "-o", s(&out)]).fails_with(2);
    assert!(run.stderr.contains("did you mean whatsapp-android (Android), whatsapp-ios (iPhone)"), "{}", run.stderr);
    let run = env.run(&["convert", s(&a), "--to", "wechat-andriod", "-o", s(&out)]).fails_with(2);
    assert!(run.stderr.contains("did you mean wechat-android (Android)?"), "{}", run.stderr);
    let help = env.run(&["--help"]).ok().stdout;
    assert!(help.contains("WhatsApp") && help.contains("WeChat") && help.contains("Telegram"), "{help}");
    let convert = env.run(&["convert", "--help"]).ok().stdout;
    assert!(convert.contains("whatsapp-ios") && convert.contains("Examples:"), "{convert}");
    let man = env.run(&["man"]).ok().stdout;
    assert!(
        man.contains(".SH \"CONVERT\"") && man.contains(".SH EXAMPLES") && man.contains("whatsapp\\-android"),
        "{man}"
    );
    assert!(
        !man.contains("chatferry\\-convert(1)") && !man.contains("chatferry-convert(1)"),
        "no pages that are not installed"
    );
    // Every adapter the build installs is offered (the lists in commands.rs
    // are written out: a new plugin must be added there).
    let listed = env.run(&["adapters", "--json"]).ok().json();
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    for shell in ["bash", "zsh", "fish"] {
        let c = env.run(&["completions", shell]).ok().stdout;
        for id in ids.iter().filter(|id| **id != "template") {
            assert!(c.contains(id), "{shell} completes {id}");
        }
    }
}
