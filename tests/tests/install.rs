//! Installing chatferry the documented way gives a binary that finds its
//! plugins (issue 24): `cargo xtask install`, the release archive of
//! `cargo xtask dist`, and the error when no plugin is found.

use chatferry_tests::fixtures::canonical;
use chatferry_tests::harness::{path_arg as s, target_dir, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

const ADAPTERS: [&str; 8] = [
    "archive",
    "html",
    "telegram-json",
    "wechat-android",
    "wechat-ios",
    "whatsapp-android",
    "whatsapp-ios",
    "whatsapp-txt",
];

/// `target/<profile>/xtask TASK ARGS`, using the build the tests run from.
fn xtask(args: &[&str]) -> Run {
    chatferry_tests::harness::build_workspace(); // xtask included
    let mut cmd = Command::new(target_dir().join(format!("xtask{}", std::env::consts::EXE_SUFFIX)));
    cmd.args(args);
    if target_dir().ends_with("debug") {
        cmd.arg("--debug");
    }
    Run::from(cmd.output().expect("run xtask"))
}

/// Runs an installed chatferry as a user with no plugins of their own.
fn installed(bin: &Path, home: &Path, args: &[&str]) -> Run {
    let out = Command::new(bin)
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("CHATFERRY_PLUGIN_PATH")
        .output()
        .expect("run the installed chatferry");
    Run::from(out)
}

/// Every adapter is listed, and the sample converts into every format.
fn check_layout(prefix: &Path, home: &Path) {
    let bin = prefix.join("bin/chatferry");
    let listed = installed(&bin, home, &["adapters", "--json"]).ok().json();
    let mut ids: Vec<String> =
        listed.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    assert_eq!(ids, ADAPTERS, "the installed chatferry finds every plugin");
    let sample = home.join("sample");
    canonical::write_sample_archive(&sample).unwrap();
    let out = home.join("out");
    installed(&bin, home, &["convert", s(&sample), "--to", "html", "-o", s(&out), "-q"]).ok();
    assert!(out.join("index.html").is_file());
    let man = std::fs::read_to_string(prefix.join("share/man/man1/chatferry.1")).unwrap();
    assert!(man.contains(".TH chatferry 1"), "a roff man page: {}", &man[..man.len().min(200)]);
    for (path, needle) in [
        ("share/bash-completion/completions/chatferry", "_chatferry()"),
        ("share/zsh/site-functions/_chatferry", "#compdef chatferry"),
        ("share/fish/vendor_completions.d/chatferry.fish", "complete -c chatferry"),
    ] {
        let text = std::fs::read_to_string(prefix.join(path)).unwrap();
        assert!(text.contains(needle) && text.contains("convert"), "{path}");
    }
    for doc in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(prefix.join("share/doc/chatferry").join(doc).is_file(), "{doc}");
    }
}

#[test]
fn xtask_install_gives_a_chatferry_that_finds_its_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("prefix");
    xtask(&["install", "--prefix", s(&prefix)]).ok();
    check_layout(&prefix, dir.path());
    // Installing again over it (an upgrade) works and keeps one copy of each.
    xtask(&["install", "--prefix", s(&prefix)]).ok();
    let plugins: Vec<PathBuf> =
        std::fs::read_dir(prefix.join("lib/chatferry/plugins")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(plugins.len(), ADAPTERS.len() - 1, "{plugins:?}");
}

#[test]
fn the_release_archive_unpacks_into_a_working_chatferry() {
    let dir = tempfile::tempdir().unwrap();
    let run = xtask(&["dist", "--out", s(dir.path())]).ok();
    let archive = PathBuf::from(run.stdout.trim().strip_prefix("wrote ").expect("names the archive"));
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("chatferry-0.") && name.ends_with(".tar.gz"), "{name}");
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let status = Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&unpacked).status();
    assert!(status.unwrap().success(), "tar -xzf {name}");
    let top = unpacked.join(name.trim_end_matches(".tar.gz"));
    for doc in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(top.join(doc).is_file(), "{doc} at the archive's top");
    }
    check_layout(&top, dir.path());
}

#[test]
fn a_chatferry_without_plugins_says_where_it_looked_and_how_to_install_them() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin/chatferry");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(chatferry_tests::harness::chatferry_bin(), &bin).unwrap();
    let sample = dir.path().join("sample");
    canonical::write_sample_archive(&sample).unwrap();
    let out = dir.path().join("out");
    let run = installed(&bin, dir.path(), &["convert", s(&sample), "--to", "html", "-o", s(&out)]).fails_with(2);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("no format plugins are installed"), "{}", errors[0]);
    assert!(errors[0].contains(&format!("{}", dir.path().join("lib/chatferry/plugins").display())), "{}", errors[0]);
    assert!(errors[0].contains("cargo xtask install"), "{}", errors[0]);
}
