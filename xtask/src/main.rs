//! `cargo xtask install [--prefix DIR]` and `cargo xtask dist`: chatferry
//! with its plugins, man page and completions, in the one layout the host
//! looks in (`<prefix>/bin/chatferry`, `<prefix>/lib/chatferry/plugins/`):
//!
//! ```text
//! bin/chatferry
//! lib/chatferry/plugins/libchatferry_plugin_*.so      (.dylib, .dll)
//! share/man/man1/chatferry.1
//! share/bash-completion/completions/chatferry
//! share/zsh/site-functions/_chatferry
//! share/fish/vendor_completions.d/chatferry.fish
//! share/doc/chatferry/README.md, LICENSE-MIT, LICENSE-APACHE
//! ```

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Install chatferry or build its release archive")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the release workspace and install chatferry, its plugins, man
    /// page and completions under PREFIX.
    Install {
        /// Where to install (bin/ and lib/ go below it).
        #[arg(long, value_name = "DIR", default_value_os_t = default_prefix())]
        prefix: PathBuf,
        /// Use the debug build (faster to build; for trying it out and tests).
        #[arg(long)]
        debug: bool,
    },
    /// Write chatferry-<version>-<target>.tar.gz: the installed layout,
    /// with the README and licences at its top.
    Dist {
        /// Where the archive goes.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[arg(long)]
        debug: bool,
    },
}

fn default_prefix() -> PathBuf {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local")).unwrap_or_else(|| PathBuf::from(".local"))
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf();
    match cli.task {
        Task::Install { prefix, debug } => {
            let built = build(&root, debug)?;
            install(&root, &built, &prefix)?;
            println!("installed chatferry {} under {}", built.version, prefix.display());
            let bin = prefix.join("bin");
            let on_path = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d == bin));
            if !on_path {
                println!("{} is not on your PATH; add it, or run {}", bin.display(), bin.join("chatferry").display());
            }
        }
        Task::Dist { out, debug } => {
            let built = build(&root, debug)?;
            let out = out.unwrap_or_else(|| built.target_dir.join("dist"));
            let archive = dist(&root, &built, &out)?;
            println!("wrote {}", archive.display());
        }
    }
    Ok(())
}

/// What `cargo build` made.
struct Built {
    /// A debug build: its archive is compressed fast (it is for tests).
    debug: bool,
    version: String,
    target: String,
    target_dir: PathBuf,
    binary: PathBuf,
    plugins: Vec<PathBuf>,
}

/// The format plugins: every crate under plugins/ (the plugin template and
/// the test fixtures are not shipped).
fn plugin_crates(root: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let dir = root.join("plugins");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("Cargo.toml")))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for manifest in entries {
        let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
        let value: toml::Value = toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
        let package = value.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str());
        let lib = value.get("lib").and_then(|l| l.get("name")).and_then(|n| n.as_str());
        let (Some(package), Some(lib)) = (package, lib) else {
            bail!("{} names no package or no [lib] name", manifest.display());
        };
        out.push((package.to_string(), lib.to_string()));
    }
    Ok(out)
}

fn build(root: &Path, debug: bool) -> Result<Built> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let crates = plugin_crates(root)?;
    let mut cmd = Command::new(&cargo);
    // cargo's own progress, not ten silent minutes on a first build.
    eprintln!(
        "building chatferry and its {} plugins ({}; a first build takes several minutes)",
        crates.len(),
        if debug { "debug" } else { "release" }
    );
    cmd.current_dir(root).args(["build", "-p", "chatferry-cli"]);
    for (package, _) in &crates {
        cmd.args(["-p", package]);
    }
    if !debug {
        cmd.arg("--release");
    }
    let status = cmd.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let profile_dir = target_dir.join(if debug { "debug" } else { "release" });
    let binary = profile_dir.join(format!("chatferry{}", std::env::consts::EXE_SUFFIX));
    let plugins = crates
        .iter()
        .map(|(_, lib)| {
            profile_dir.join(format!("{}{lib}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX))
        })
        .collect::<Vec<_>>();
    for p in plugins.iter().chain([&binary]) {
        if !p.is_file() {
            bail!("cargo build did not make {}", p.display());
        }
    }
    Ok(Built { debug, version: workspace_version(root)?, target: host_target()?, target_dir, binary, plugins })
}

fn workspace_version(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    let value: toml::Value = toml::from_str(&text).context("parsing Cargo.toml")?;
    value
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .map(String::from)
        .context("Cargo.toml has no [workspace.package] version")
}

fn host_target() -> Result<String> {
    let out = Command::new("rustc").arg("-vV").output().context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(String::from))
        .context("rustc -vV names no host target")
}

/// Copies `from` to `to` through a temporary file beside it, so a
/// chatferry running from `to` never sees half a file.
fn place(from: &Path, to: &Path) -> Result<()> {
    let dir = to.parent().expect("a file in a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = tempfile::Builder::new().prefix(".xtask-").tempfile_in(dir)?;
    std::fs::copy(from, tmp.path()).with_context(|| format!("copying {}", from.display()))?;
    tmp.persist(to).with_context(|| format!("writing {}", to.display()))?;
    Ok(())
}

fn write(to: &Path, bytes: &[u8]) -> Result<()> {
    let dir = to.parent().expect("a file in a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new().prefix(".xtask-").tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    readable_by_all(tmp.path())?;
    tmp.persist(to).with_context(|| format!("writing {}", to.display()))?;
    Ok(())
}

/// Man pages and completions are read by everyone (tempfile makes 0600).
fn readable_by_all(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    let _ = path;
    Ok(())
}

/// What `chatferry ARGS` prints.
fn generated(binary: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new(binary).args(args).output().with_context(|| format!("running {}", binary.display()))?;
    if !out.status.success() {
        bail!("chatferry {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

/// Lays chatferry out under `prefix`.
fn install(root: &Path, built: &Built, prefix: &Path) -> Result<()> {
    let exe = format!("chatferry{}", std::env::consts::EXE_SUFFIX);
    place(&built.binary, &prefix.join("bin").join(&exe))?;
    let plugin_dir = prefix.join("lib/chatferry/plugins");
    for p in &built.plugins {
        place(p, &plugin_dir.join(p.file_name().expect("a file")))?;
    }
    // A plugin an earlier install put here and this version no longer has.
    let names: Vec<_> = built.plugins.iter().filter_map(|p| p.file_name()).collect();
    for e in std::fs::read_dir(&plugin_dir)?.flatten() {
        let name = e.file_name();
        let ours = name.to_string_lossy().starts_with(&format!("{}chatferry_plugin_", std::env::consts::DLL_PREFIX));
        if ours && !names.contains(&name.as_os_str()) {
            std::fs::remove_file(e.path()).with_context(|| format!("removing the old {}", e.path().display()))?;
        }
    }
    let share = prefix.join("share");
    write(&share.join("man/man1/chatferry.1"), &generated(&built.binary, &["man"])?)?;
    for (shell, path) in [
        ("bash", "bash-completion/completions/chatferry"),
        ("zsh", "zsh/site-functions/_chatferry"),
        ("fish", "fish/vendor_completions.d/chatferry.fish"),
    ] {
        write(&share.join(path), &generated(&built.binary, &["completions", shell])?)?;
    }
    for doc in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        place(&root.join(doc), &share.join("doc/chatferry").join(doc))?;
    }
    Ok(())
}

/// The release archive: the installed layout in `chatferry-<v>-<target>/`.
fn dist(root: &Path, built: &Built, out: &Path) -> Result<PathBuf> {
    let name = format!("chatferry-{}-{}", built.version, built.target);
    let staging = tempfile::tempdir()?;
    let top = staging.path().join(&name);
    install(root, built, &top)?;
    for doc in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        place(&root.join(doc), &top.join(doc))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let archive = out.join(format!("{name}.tar.gz"));
    let tmp = tempfile::Builder::new().prefix(".xtask-").tempfile_in(out)?;
    let gz = flate2::write::GzEncoder::new(
        tmp.reopen()?,
        if built.debug { flate2::Compression::fast() } else { flate2::Compression::best() },
    );
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    tar.append_dir_all(&name, &top).context("writing the archive")?;
    tar.into_inner()?.finish()?;
    readable_by_all(tmp.path())?;
    tmp.persist(&archive).with_context(|| format!("writing {}", archive.display()))?;
    Ok(archive)
}
