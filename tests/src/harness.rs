//! Runs the real `chatferry` binary the way a person would, with its own
//! user data folder and plugin path so tests never touch the real ones.
//!
//! `cargo test` does not build other members' cdylibs, so the first use
//! runs `cargo build --workspace` once and then finds the binary and the
//! plugin libraries in the target folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The target profile folder (`target/debug`) this test binary runs from.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> → target/debug
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Builds every workspace member (binary, plugins, fixture plugins) once.
pub fn build_workspace() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile = target_dir().file_name().unwrap().to_string_lossy().into_owned();
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(workspace_root()).args(["build", "--workspace", "--quiet"]);
        if profile == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build --workspace");
        assert!(status.success(), "cargo build --workspace failed");
    });
}

/// The `chatferry` binary.
pub fn chatferry_bin() -> PathBuf {
    build_workspace();
    target_dir().join(format!("chatferry{}", std::env::consts::EXE_SUFFIX))
}

/// A dynamic library built by the workspace, by its lib name
/// (`chatferry_plugin_template`).
pub fn built_library(lib_name: &str) -> PathBuf {
    build_workspace();
    let p = target_dir().join(format!("{}{lib_name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    assert!(p.is_file(), "{} was not built", p.display());
    p
}

/// An isolated environment for running chatferry: its own data folder
/// (so the user plugin folder is empty and private) and plugin path.
pub struct Env {
    pub home: tempfile::TempDir,
    pub plugin_path: Vec<PathBuf>,
    /// More environment for every run (`TZ`).
    pub vars: Vec<(String, String)>,
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Env {
    pub fn new() -> Env {
        Env { home: tempfile::tempdir().expect("temp home"), plugin_path: Vec::new(), vars: Vec::new() }
    }

    /// Every run of this environment with `name=value` set (e.g. `TZ`).
    pub fn with_var(mut self, name: &str, value: &str) -> Env {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// The user plugin folder chatferry uses in this environment.
    pub fn user_plugin_dir(&self) -> PathBuf {
        self.home.path().join("data/chatferry/plugins")
    }

    /// A folder on CHATFERRY_PLUGIN_PATH holding copies of the given built
    /// libraries under plugin file names (`libchatferry_plugin_<as>.so`).
    pub fn with_plugins(mut self, libs: &[(&str, &str)]) -> Env {
        let dir = self.home.path().join(format!("plugin-path-{}", self.plugin_path.len()));
        std::fs::create_dir_all(&dir).unwrap();
        for (lib, as_name) in libs {
            let dest = dir.join(format!(
                "{}chatferry_plugin_{as_name}{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ));
            std::fs::copy(built_library(lib), dest).unwrap();
        }
        self.plugin_path.push(dir);
        self
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(chatferry_bin());
        // A temporary folder of this environment's own: what other runs on
        // the machine leave in /tmp (and chatferry then reports removing)
        // is not this test's business.
        let tmp = self.home.path().join("tmp");
        let _ = std::fs::create_dir_all(&tmp);
        cmd.env("TMPDIR", &tmp)
            .env("HOME", self.home.path())
            .env("XDG_DATA_HOME", self.home.path().join("data"))
            .env_remove("CHATFERRY_LOG")
            .env_remove("CHATFERRY_PANIC_TRACE")
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        if self.plugin_path.is_empty() {
            cmd.env_remove("CHATFERRY_PLUGIN_PATH");
        } else {
            cmd.env("CHATFERRY_PLUGIN_PATH", std::env::join_paths(&self.plugin_path).unwrap());
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command().args(args).output().expect("run chatferry");
        Run::from(output)
    }

    /// Runs chatferry as a user without the right to read what the test
    /// locked away: as root (which reads any file) through `setpriv` as
    /// `nobody`, otherwise as is. `None` (with one line saying what `test`
    /// skipped) when root has no setpriv; under `require_all()` that fails.
    pub fn run_unprivileged(&self, args: &[&str], test: &str) -> Option<Run> {
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if !root {
            return Some(self.run(args));
        }
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().map(PathBuf::from).find(|p| p.is_file());
        let Some(setpriv) = setpriv else {
            skip(test, "running as root and no setpriv (util-linux) to drop privileges");
            return None;
        };
        let plain = self.command();
        let mut cmd = Command::new(setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(plain.get_program()).args(args);
        for (k, v) in plain.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        // nobody gets a home of its own, outside the root-only temp folder.
        let home = tempfile::tempdir().unwrap();
        let tmp = home.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        open_to_all(&tmp);
        open_to_all(home.path());
        cmd.env("HOME", home.path()).env("XDG_DATA_HOME", home.path().join("data")).env("TMPDIR", &tmp);
        Some(Run::from(cmd.output().expect("run chatferry through setpriv")))
    }
}

/// What one chatferry run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "chatferry failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
    #[track_caller]
    pub fn fails_with(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
    /// The `chatferry:` error lines (warnings excluded).
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("chatferry: ") && !l.starts_with("chatferry: warning:")).collect()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Every file below `dir`, relative path → bytes, for byte-identity checks.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// SHA-256 of every file below `dir`, in one line each (for readable diffs).
pub fn tree_digest(dir: &Path) -> Vec<String> {
    use sha2::Digest;
    tree(dir).into_iter().map(|(k, v)| format!("{k} {}", hex::encode(sha2::Sha256::digest(&v)))).collect()
}

/// A Python virtualenv with the third-party readers our output is checked
/// with (whatsapp-chat-exporter, wa-crypt-tools), made once from PyPI under
/// the target folder. `.ci/run` makes it up front; tests make it if missing.
/// `None` (and one line saying what `test` skipped) when python3 or PyPI is
/// not there; under `require_all()` that fails the test.
pub fn interop_venv(test: &str) -> Option<PathBuf> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let made = VENV.get_or_init(|| {
        let venv = target_dir().parent().expect("target").join("interop-venv");
        let python = venv.join("bin/python");
        let ready = venv.join(".chatferry-ready");
        // The marker holds the requirements' hash: a changed list installs again.
        let requirements = std::fs::read(workspace_root().join("tests/interop-requirements.txt")).unwrap();
        let want = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&requirements))
        };
        if std::fs::read_to_string(&ready).is_ok_and(|have| have.trim() == want) {
            return Ok(venv);
        }
        let made = Command::new("python3").args(["-m", "venv", venv.to_str().unwrap()]).output();
        if !made.as_ref().is_ok_and(|o| o.status.success()) {
            return Err("python3 with venv is not installed (Debian: python3-venv)".to_string());
        }
        let pip = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(workspace_root().join("tests/interop-requirements.txt"))
            .output();
        if !pip.as_ref().is_ok_and(|o| o.status.success()) {
            return Err(format!("the interop readers could not be installed from PyPI into {}", venv.display()));
        }
        std::fs::write(&ready, &want).unwrap();
        Ok(venv)
    });
    made_or_skip(made, test)
}

/// A tool made once per test binary, or a skip line saying why it is not.
fn made_or_skip(made: &Result<PathBuf, String>, test: &str) -> Option<PathBuf> {
    match made {
        Ok(v) => Some(v.clone()),
        Err(why) => {
            skip(test, why);
            None
        }
    }
}

/// The npm reader our exports are checked with (Pustur's
/// whatsapp-chat-parser), installed once under the target folder: its
/// `node_modules` folder, or `None` (and one line saying what `test`
/// skipped) when node/npm or the registry is not there.
pub fn interop_node(test: &str) -> Option<PathBuf> {
    const PACKAGE: &str = "whatsapp-chat-parser@4.0.2";
    static NODE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let made = NODE.get_or_init(|| {
        let prefix = target_dir().parent().expect("target").join("interop-node");
        let modules = prefix.join("node_modules");
        if modules.join("whatsapp-chat-parser/package.json").is_file() {
            return Ok(modules);
        }
        let npm = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(PACKAGE)
            .output();
        match npm {
            Ok(o) if o.status.success() => Ok(modules),
            Ok(_) => Err(format!("npm could not install {PACKAGE} into {}", prefix.display())),
            Err(_) => Err("node and npm are not installed (Debian: apt-get install npm)".to_string()),
        }
    });
    made_or_skip(made, test)
}

/// The venv made by [`interop_venv`] for a test that already asked for it.
fn venv_made() -> PathBuf {
    interop_venv("(venv)").expect("the test checked interop_venv first")
}

pub use chatferry_core::testing::{public_fixture, require_all, skip};

/// A program on PATH (`sqlcipher`), or `None` and one line saying what
/// `test` skipped; under `require_all()` its absence fails the test.
pub fn tool(name: &str, install: &str, test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file()))
        .unwrap_or_default();
    if found.is_none() {
        skip(test, &format!("{name} is not installed ({install})"));
    }
    found
}

/// Debian's Chromium, which `.ci/run` installs (`apt-get install chromium`):
/// `false`, with one line saying what `test` skipped, when it is not there.
pub fn have_chromium(test: &str) -> bool {
    let there = Path::new(CHROMIUM).is_file();
    if !there {
        skip(test, &format!("headless Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"));
    }
    there
}

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless Chromium without the background connections this machine's
/// closed network refuses.
pub const CHROMIUM_QUIET: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Runs headless Chromium on a local page with the network-quiet flags
/// this machine needs, plus `extra` (e.g. `--dump-dom`, `--screenshot=…`).
pub fn chromium_run(page: &Path, extra: &[&str]) -> String {
    chromium_run_env(page, extra, &[])
}

/// `chromium_run` with environment variables set (`TZ`: the viewer's zone).
pub fn chromium_run_env(page: &Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(CHROMIUM)
        .envs(env.iter().copied())
        .args(CHROMIUM_QUIET)
        .args(["--hide-scrollbars", "--virtual-time-budget=5000"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A path as a command-line argument.
pub fn path_arg(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// The messages of a canonical archive, as the model reads them.
pub fn archive_messages(archive: &Path) -> Vec<chatferry_core::Message> {
    std::fs::read_to_string(archive.join("messages.jsonl"))
        .expect("messages.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a message line"))
        .collect()
}

/// Runs whatsapp-chat-exporter (from the interop venv) in `work` with
/// `args` plus JSON output, and returns what it wrote.
pub fn whatsapp_chat_exporter(work: &Path, args: &[&str]) -> serde_json::Value {
    std::fs::create_dir_all(work).unwrap();
    let out = Command::new(venv_made().join("bin/wtsexporter"))
        .current_dir(work)
        .args(args)
        .args(["-j", "result.json", "--no-html", "--no-banner", "--avoid-encoding-json"])
        .output()
        .expect("run wtsexporter");
    assert!(out.status.success(), "wtsexporter failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&std::fs::read(work.join("result.json")).unwrap()).unwrap()
}

/// Every message whatsapp-chat-exporter read, across its chats.
pub fn exported_messages(json: &serde_json::Value) -> Vec<&serde_json::Value> {
    let chats = json.as_object().expect("chats by id");
    chats.values().flat_map(|c| c["messages"].as_object().expect("messages by id").values()).collect()
}

/// Lets every user into `dir` (a test folder another user must reach).
pub fn open_to_all(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// Reads every file of `domain` of the encrypted backup `backup` with the
/// two PyPI readers (tests/scripts/read_encrypted_backup.py) into
/// `out/iphone_backup_decrypt/…` and `out/pyiosbackup/…`; returns how many
/// files the manifest lists.
pub fn read_encrypted_backup(backup: &Path, domain: &str, password: &str, out: &Path) -> usize {
    use std::io::Write;
    let mut child = Command::new(venv_made().join("bin/python"))
        .arg(workspace_root().join("tests/scripts/read_encrypted_backup.py"))
        .args([backup.as_os_str(), domain.as_ref(), out.as_os_str()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "the PyPI readers failed on {}: {}",
        backup.display(),
        String::from_utf8_lossy(&done.stderr)
    );
    String::from_utf8_lossy(&done.stdout).trim().parse().unwrap()
}

/// The canonical sample converted by chatferry into a WhatsApp iPhone
/// folder (ChatStorage.sqlite + Message/) at `dir/ios`, owner +4915112345678.
pub fn ios_sample(dir: &Path) -> PathBuf {
    let a = dir.join("sample");
    crate::fixtures::canonical::write_sample_archive(&a).unwrap();
    let w = dir.join("ios");
    Env::new()
        .run(&["convert", path_arg(&a), "--to", "whatsapp-ios", "-o", path_arg(&w), "--opt", "owner=+4915112345678"])
        .ok();
    w
}
