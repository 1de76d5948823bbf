//! Plugins: refusal of incompatible or tampered libraries, panics contained
//! at the boundary, install/list/remove, and `plugin new` from the template.

use chatferry_tests::fixtures::canonical;
use chatferry_tests::harness::{built_library, path_arg as s, target_dir, workspace_root, Env};
use std::process::Command;

fn adapter_ids(env: &Env) -> Vec<String> {
    let list = env.run(&["adapters", "--json"]).ok().json();
    list.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_plugin_built_for_another_abi_is_refused_in_one_line_and_the_rest_load() {
    let env = Env::new().with_plugins(&[("chatferry_testplugin_abi_future", "future")]);
    let run = env.run(&["adapters", "--json"]).ok();
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    let w = warnings[0];
    assert!(w.starts_with("chatferry: warning: skipped plugin "), "{w}");
    assert!(w.contains("libchatferry_plugin_future"), "names the file: {w}");
    assert!(
        w.contains("ABI 3.0.0") && w.contains(&format!("ABI {}", chatferry_core::abi::ABI_VERSION)),
        "names both versions: {w}"
    );
    let ids: Vec<_> = run.json().as_array().unwrap().iter().map(|a| a["id"].clone()).collect();
    assert!(ids.contains(&"archive".into()) && ids.contains(&"template".into()), "{ids:?}");

    let listed = env.run(&["plugin", "list", "--json"]).ok().json();
    assert_eq!(listed["refused"].as_array().unwrap().len(), 1);

    let run = env.run(&["plugin", "install", s(&built_library("chatferry_testplugin_abi_future"))]).fails_with(1);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot install") && run.stderr.contains("3.0.0"), "{}", run.stderr);
    assert!(!env.user_plugin_dir().join("registry.toml").exists());
}

#[test]
fn a_file_that_is_not_a_plugin_is_refused_and_cannot_be_installed() {
    let env = Env::new();
    let junk = env.home.path().join("libchatferry_plugin_junk.so");
    std::fs::write(&junk, b"\x7fELF but not really").unwrap();
    let run = env.run(&["plugin", "install", s(&junk)]).fails_with(1);
    assert!(run.error_lines()[0].contains("cannot be loaded as a dynamic library"), "{}", run.stderr);
}

#[test]
fn a_panic_inside_a_plugin_is_an_error_not_a_dead_host() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new().with_plugins(&[("chatferry_testplugin_panicky", "panicky")]);
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();

    // Panic while importing.
    let out = dir.path().join("out");
    let run = env.run(&["convert", s(&input), "--from", "panicky", "--to", "archive", "-o", s(&out)]).fails_with(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "one line: {}", run.stderr);
    assert!(errors[0].contains("plugin panicky"), "{}", errors[0]);
    assert!(errors[0].contains("panicked in reading messages"), "{}", errors[0]);
    assert!(errors[0].contains("index out of bounds"), "{}", errors[0]);
    assert!(!run.stderr.contains("Attempted to panic across the ffi boundary"));
    assert!(!out.exists(), "no output after a failure");

    // Panic while exporting: the half-written output is discarded.
    let a = canonical::sample_archive_in(dir.path());
    let run = env.run(&["convert", s(&a), "--to", "panicky", "-o", s(&out)]).fails_with(1);
    assert!(run.error_lines()[0].contains("panicked in writing messages: exporter bug"), "{}", run.stderr);
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".chatferry"))
        .collect();
    assert!(leftovers.is_empty(), "temporary output left behind: {leftovers:?}");

    // Panic while probing: a warning, and the other adapters still answer.
    let probe = dir.path().join("probe-panic");
    std::fs::create_dir(&probe).unwrap();
    let run = env.run(&["detect", s(&probe)]);
    assert!(run.stderr.contains("could not probe") && run.stderr.contains("panicked in probe"), "{}", run.stderr);
    env.run(&["detect", s(&a)]).ok();
    env.run(&["convert", s(&a), "--to", "archive", "-o", s(&dir.path().join("fine"))]).ok();
}

#[test]
fn install_list_tamper_and_remove() {
    let env = Env::new();
    let lib = built_library("chatferry_plugin_template");
    let run = env.run(&["plugin", "install", s(&lib)]).ok();
    assert!(run.stdout.contains("installed chatferry-plugin-template"), "{}", run.stdout);
    let registry = std::fs::read_to_string(env.user_plugin_dir().join("registry.toml")).unwrap();
    assert!(registry.contains("name = \"chatferry-plugin-template\"") && registry.contains("sha256 = "), "{registry}");

    let listed = env.run(&["plugin", "list", "--json"]).ok().json();
    let template =
        listed["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "chatferry-plugin-template").unwrap();
    assert_eq!(template["source"], "user", "the user folder comes before the executable's");

    let again = env.run(&["plugin", "install", s(&lib)]).fails_with(1);
    assert!(again.stderr.contains("already installed") && again.stderr.contains("--force"), "{}", again.stderr);
    env.run(&["plugin", "install", s(&lib), "--force"]).ok();

    // Tamper with the installed file: refused by hash, with a one-line reason.
    let installed = std::fs::read_dir(env.user_plugin_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == std::env::consts::DLL_EXTENSION))
        .unwrap();
    let mut bytes = std::fs::read(&installed).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&installed, bytes).unwrap();
    let run = env.run(&["adapters", "--json"]).ok();
    assert!(run.stderr.contains("sha256 no longer matches"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let listed = env.run(&["plugin", "list", "--json"]).ok().json();
    let template =
        listed["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "chatferry-plugin-template").unwrap();
    assert_eq!(template["source"], "bundled", "the tampered copy is not used");

    env.run(&["plugin", "remove", "chatferry-plugin-template"]).ok();
    assert!(!installed.exists());
    let registry = std::fs::read_to_string(env.user_plugin_dir().join("registry.toml")).unwrap();
    assert!(!registry.contains("chatferry-plugin-template"), "{registry}");
    let run = env.run(&["plugin", "remove", "chatferry-plugin-template"]).fails_with(2);
    assert!(run.stderr.contains("no installed plugin"), "{}", run.stderr);
    assert!(env.run(&["adapters"]).ok().stderr.is_empty());
}

#[test]
fn plugin_new_builds_installs_and_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    env.run(&["plugin", "new", "hello-tsv", "--dir", s(dir.path())]).ok();
    let krate = dir.path().join("hello-tsv");
    assert!(krate.join("src/lib.rs").is_file() && krate.join("tests/roundtrip.rs").is_file());
    env.run(&["plugin", "new", "hello-tsv", "--dir", s(dir.path())]).fails_with(1);
    env.run(&["plugin", "new", "Bad_Name", "--dir", s(dir.path())]).fails_with(2);
    // A --dir that names the crate's own (empty) folder is that folder, not its parent.
    let own = dir.path().join("plugins/named-here");
    std::fs::create_dir_all(&own).unwrap();
    env.run(&["plugin", "new", "named-here", "--dir", s(&own)]).ok();
    assert!(own.join("Cargo.toml").is_file() && !own.join("named-here").exists());

    // Same dependency versions as the workspace, and a target folder kept
    // between runs so only the new crate itself compiles.
    std::fs::copy(workspace_root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let target = target_dir().parent().unwrap().join("plugin-new-test");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--offline", "--manifest-path", s(&krate.join("Cargo.toml"))])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(status.success(), "the new plugin crate does not build");
    let lib = target.join("debug").join(format!(
        "{}chatferry_plugin_hello_tsv{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    env.run(&["plugin", "install", s(&lib)]).ok();
    let list = env.run(&["adapters", "--json"]).ok().json();
    let hello = list.as_array().unwrap().iter().find(|a| a["id"] == "hello-tsv").expect("new adapter listed");
    assert_eq!(hello["plugin"], "chatferry-plugin-hello-tsv");
    assert_eq!(hello["capabilities"], serde_json::json!(["import", "export"]));
    assert!(adapter_ids(&env).contains(&"template".to_string()), "the template itself still loads");

    // And it converts.
    let a = canonical::sample_archive_in(dir.path());
    env.run(&["convert", s(&a), "--to", "hello-tsv", "-o", s(&dir.path().join("out"))]).ok();
    assert!(dir.path().join("out/messages.tsv").is_file());
}

#[test]
fn a_plugin_whose_layout_differs_is_refused_in_one_readable_line() {
    let env = Env::new().with_plugins(&[("chatferry_testplugin_abi_liar", "liar")]);
    let run = env.run(&["adapters", "--json"]).ok();
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "abi_stable's long report must be folded: {}", run.stderr);
    assert!(warnings[0].contains("libchatferry_plugin_liar"), "{}", warnings[0]);
    assert!(warnings[0].contains("record layouts differ"), "{}", warnings[0]);
    assert!(run.json().as_array().unwrap().iter().any(|a| a["id"] == "template"));
}

#[test]
fn a_truncated_library_is_refused_before_it_is_loaded() {
    // The loader maps a cut library past its end: the host died of SIGBUS,
    // on every command while it sat on CHATFERRY_PLUGIN_PATH.
    let env = Env::new();
    let whole = std::fs::read(built_library("chatferry_plugin_template")).unwrap();
    let folder = env.home.path().join("pp");
    std::fs::create_dir(&folder).unwrap();
    let cut = folder.join("libchatferry_plugin_cut.so");
    std::fs::write(&cut, &whole[..whole.len().min(70_000)]).unwrap();
    let run = env.run(&["plugin", "install", s(&cut)]).fails_with(1);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("damaged or cut short"), "{}", run.stderr);
    let mut on_path = Env::new();
    on_path.plugin_path.push(folder.clone());
    let run = on_path.run(&["adapters"]).ok();
    assert!(run.stderr.contains("skipped plugin") && run.stderr.contains("cut short"), "{}", run.stderr);
}

#[test]
fn a_library_named_without_a_folder_is_the_one_in_the_current_folder() {
    let env = Env::new();
    let here = env.home.path().join("here");
    std::fs::create_dir(&here).unwrap();
    std::fs::copy(built_library("chatferry_plugin_template"), here.join("libchatferry_plugin_mine.so")).unwrap();
    let run = env.command().current_dir(&here).args(["plugin", "install", "libchatferry_plugin_mine.so"]).output();
    let run = chatferry_tests::harness::Run::from(run.unwrap()).ok();
    assert!(run.stdout.contains("installed chatferry-plugin-template"), "{}", run.stdout);
}

#[test]
fn a_registry_entry_naming_a_path_out_of_the_plugin_folder_removes_nothing() {
    let env = Env::new();
    env.run(&["plugin", "install", s(&built_library("chatferry_plugin_template"))]).ok();
    let victim = env.home.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let registry = env.user_plugin_dir().join("registry.toml");
    let text = std::fs::read_to_string(&registry).unwrap();
    for crafted in ["../../../victim.txt".to_string(), s(&victim).to_string()] {
        let changed: String = text
            .lines()
            .map(|l| if l.starts_with("file = ") { format!("file = {crafted:?}\n") } else { format!("{l}\n") })
            .collect();
        std::fs::write(&registry, changed).unwrap();
        let run = env.run(&["plugin", "remove", "chatferry-plugin-template"]).fails_with(1);
        assert!(run.stderr.contains("not a file name in its folder"), "{}", run.stderr);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "{crafted}");
    }
}

#[test]
fn plugins_in_a_folder_anyone_may_write_are_not_loaded() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new().with_plugins(&[("chatferry_plugin_template", "shared")]);
    let folder = env.plugin_path[0].clone();
    assert!(adapter_ids(&env).contains(&"template".to_string()));
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = env.run(&["plugin", "list", "--json"]).ok();
    let listed = run.json();
    let shared = listed["plugins"].as_array().unwrap().iter().find(|p| p["source"] == "env");
    assert!(shared.is_none(), "loaded from a world-writable folder: {listed}");
    let refused = listed["refused"].to_string();
    assert!(refused.contains("any user of this computer") && refused.contains("chmod o-w"), "{refused}");
}
