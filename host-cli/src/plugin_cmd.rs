//! `chatferry plugin install | list | remove | new`.

use crate::catalog::{user_plugin_dir, Catalog, SearchPath};
use crate::cli::PluginCommand;
use crate::registry::{installed_file_name, sha256_file, Installed, Registry};
use crate::template;
use crate::UsageError;
use anyhow::{anyhow, bail, Context, Result};
use chatferry_core::abi::host::load_plugin;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

pub fn run(action: PluginCommand) -> Result<ExitCode> {
    match action {
        PluginCommand::Install { file, force } => install(&file, force),
        PluginCommand::List { json } => list(json),
        PluginCommand::Remove { name } => remove(&name),
        PluginCommand::New { name, dir, core_path } => new(&name, dir.as_deref(), core_path.as_deref()),
    }
}

fn user_dir() -> Result<PathBuf> {
    user_plugin_dir().ok_or_else(|| anyhow!("cannot tell where this user's data folder is (is HOME set?)"))
}

fn install(file: &Path, force: bool) -> Result<ExitCode> {
    if !file.is_file() {
        bail!("{} is not a file; give the plugin's library (.so, .dylib or .dll)", file.display());
    }
    let loaded = load_plugin(file).map_err(|reason| anyhow!("cannot install {}: {reason}", file.display()))?;
    let name = loaded.info.name.clone();
    let ids: Vec<String> = loaded.adapters.iter().map(|a| a.info().id).collect();
    if ids.is_empty() {
        bail!("cannot install {}: it provides no adapters", file.display());
    }
    if ids.iter().any(|id| id == chatferry_core::archive::ADAPTER_ID) {
        bail!("cannot install {}: it provides an adapter named archive, which is built in", file.display());
    }
    let dir = user_dir()?;
    let mut registry = Registry::load(&dir)?;
    if let Some(existing) = registry.find(&name) {
        if !force {
            bail!(
                "plugin {name} {} is already installed; pass --force to replace it with {}",
                existing.version,
                loaded.info.version
            );
        }
    }
    for other in registry.plugins.iter().filter(|p| p.name != name) {
        if let Some(id) = ids.iter().find(|id| other.adapters.contains(id)) {
            bail!(
                "cannot install {}: adapter {id} is already provided by installed plugin {}",
                file.display(),
                other.name
            );
        }
    }

    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dest = dir.join(installed_file_name(&name));
    let tmp = tempfile::NamedTempFile::new_in(&dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    chatferry_core::small_file::copy_regular(file, tmp.path())
        .with_context(|| format!("cannot copy {}", file.display()))?;
    tmp.persist(&dest).with_context(|| format!("cannot write {}", dest.display()))?;
    let sha256 = sha256_file(&dest)?;

    registry.plugins.retain(|p| p.name != name);
    registry.plugins.push(Installed {
        name: name.clone(),
        version: loaded.info.version.clone(),
        file: dest.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        sha256,
        abi_version: loaded.info.abi_version.clone(),
        adapters: ids.clone(),
    });
    registry.plugins.sort_by(|a, b| a.name.cmp(&b.name));
    registry.save(&dir)?;
    outln!("installed {name} {} (adapters: {}) into {}", loaded.info.version, ids.join(", "), dir.display());
    Ok(ExitCode::SUCCESS)
}

fn list(json: bool) -> Result<ExitCode> {
    let cat = Catalog::load(&SearchPath::from_environment());
    if json {
        let v = serde_json::json!({ "plugins": cat.plugins, "refused": cat.refused });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{:<28} {:<8} {:<8} {:<9} {}", "PLUGIN", "VERSION", "ABI", "SOURCE", "ADAPTERS");
    for p in &cat.plugins {
        let source = serde_json::to_value(p.source)?.as_str().unwrap_or_default().to_string();
        outln!("{:<28} {:<8} {:<8} {:<9} {}", p.name, p.version, p.abi_version, source, p.adapters.join(", "));
        if let Some(f) = &p.file {
            outln!("    {}", f.display());
        }
    }
    for r in &cat.refused {
        outln!("refused: {}: {}", r.file.display(), r.reason);
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(name: &str) -> Result<ExitCode> {
    let dir = user_dir()?;
    let mut registry = Registry::load(&dir)?;
    let Some(entry) = registry.find(name).cloned() else {
        let names: Vec<_> = registry.plugins.iter().map(|p| p.name.as_str()).collect();
        let installed = if names.is_empty() {
            "none are installed".to_string()
        } else {
            format!("installed: {}", names.join(", "))
        };
        bail!(UsageError(format!(
            "no installed plugin named {name:?} ({installed}); bundled plugins cannot be removed"
        )));
    };
    let file = dir.join(&entry.file);
    match std::fs::remove_file(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", file.display())),
    }
    registry.plugins.retain(|p| p.name != name);
    registry.save(&dir)?;
    outln!("removed {name} {}", entry.version);
    Ok(ExitCode::SUCCESS)
}

fn new(name: &str, dir: Option<&Path>, core_path: Option<&Path>) -> Result<ExitCode> {
    if !template::valid_name(name) {
        bail!(UsageError(format!(
            "{name:?} is not a usable adapter id: use lower-case letters, digits and hyphens, starting with a letter"
        )));
    }
    if name == chatferry_core::archive::ADAPTER_ID {
        bail!(UsageError("archive is the built-in adapter's id; choose another name".into()));
    }
    // `--dir plugins` and `--dir plugins/NAME` both mean plugins/NAME: the
    // second once made plugins/NAME/NAME, a crate inside an empty folder.
    let given = dir.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let names_itself = given.file_name().is_some_and(|f| f == name)
        && std::fs::read_dir(&given).map_or(true, |mut entries| entries.next().is_none());
    let parent = match given.parent().filter(|p| names_itself && !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None if names_itself => PathBuf::from("."),
        None => given,
    };
    let crate_dir = parent.join(name);
    if names_itself && crate_dir.is_dir() {
        // The empty folder named for the crate: made again below.
        std::fs::remove_dir(&crate_dir).with_context(|| format!("cannot use {}", crate_dir.display()))?;
    }
    if crate_dir.exists() {
        bail!("{} already exists; choose another name or --dir", crate_dir.display());
    }
    let core = core_path.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(template::BUILD_CORE_PATH));
    let core = core.canonicalize().map_err(|_| {
        anyhow!(
            "cannot find chatferry-core's sources at {}; pass --core-path pointing at the core folder of a chatferry checkout",
            core.display()
        )
    })?;
    if !core.join("Cargo.toml").is_file() {
        bail!("{} has no Cargo.toml; --core-path must point at chatferry's core folder", core.display());
    }
    std::fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let parent_abs = parent.canonicalize()?;
    // Inside the chatferry workspace's plugins/ folder the crate is a member
    // (the workspace globs plugins/*); anywhere else it stands alone.
    let workspace_plugins = core.parent().map(|w| w.join("plugins"));
    let standalone = workspace_plugins.as_deref() != Some(parent_abs.as_path());
    let core_ref = relative_path(&parent_abs.join(name), &core);
    let rendered = template::render(name, &core_ref.to_string_lossy(), standalone)?;

    // Write into a temporary folder beside, then rename: no half-made crate.
    let staging = tempfile::Builder::new().prefix(".chatferry-new-").tempdir_in(&parent_abs)?;
    for (path, text) in &rendered.files {
        let dest = staging.path().join(path);
        std::fs::create_dir_all(dest.parent().expect("file has a parent"))?;
        std::fs::write(&dest, text).with_context(|| format!("cannot write {}", dest.display()))?;
    }
    std::fs::rename(staging.path(), &crate_dir).with_context(|| format!("cannot create {}", crate_dir.display()))?;
    let _ = staging.keep();
    outln!("created plugin crate {} (adapter id {name})", crate_dir.display());
    if standalone {
        outln!("build it:   cargo build --release --manifest-path {}", crate_dir.join("Cargo.toml").display());
    } else {
        // A member: the workspace builds it with everything else.
        outln!("build it:   cargo build --release -p chatferry-plugin-{name} (a member of the chatferry workspace)");
    }
    outln!("install it: chatferry plugin install <target>/release/{}", crate::registry::installed_file_name(name));
    Ok(ExitCode::SUCCESS)
}

/// `to` relative to `from` (both absolute), for a portable Cargo.toml path.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    if common <= 1 {
        return to.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path(Path::new("/w/plugins/x"), Path::new("/w/core")), PathBuf::from("../../core"));
        assert_eq!(relative_path(Path::new("/tmp/a/x"), Path::new("/w/core")), PathBuf::from("/w/core"));
    }
}
