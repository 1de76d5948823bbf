//! Finds and loads plugins, and holds every available adapter.
//!
//! Search order (DESIGN.md): the folders in `CHATFERRY_PLUGIN_PATH`, the
//! user's plugin folder (only files recorded in its registry, with matching
//! sha256), then the executable's folder (a workspace build's bundled
//! plugins). The first plugin of a name wins; a refused plugin is reported in
//! one line and never stops the others from loading.

use crate::registry::{plugin_files, sha256_file, Registry};
use anyhow::{bail, Result};
use chatferry_core::abi::host::load_plugin;
use chatferry_core::archive::ArchiveAdapter;
use chatferry_core::{Adapter, AdapterInfo};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const PLUGIN_PATH_ENV: &str = "CHATFERRY_PLUGIN_PATH";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Builtin,
    /// From a folder in CHATFERRY_PLUGIN_PATH.
    Env,
    /// Installed in the user's plugin folder.
    User,
    /// Bundled beside the executable.
    Bundled,
}

pub struct AdapterEntry {
    pub adapter: Arc<dyn Adapter>,
    pub info: AdapterInfo,
    pub plugin: String,
    pub version: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginEntry {
    pub name: String,
    pub version: String,
    pub abi_version: String,
    pub source: Source,
    pub file: Option<PathBuf>,
    pub adapters: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub file: PathBuf,
    pub reason: String,
}

pub struct Catalog {
    pub adapters: Vec<AdapterEntry>,
    pub plugins: Vec<PluginEntry>,
    pub refused: Vec<Refusal>,
    /// The folders plugins were looked for in.
    pub searched: Vec<PathBuf>,
}

/// Where plugins are looked for.
pub struct SearchPath {
    pub env_dirs: Vec<PathBuf>,
    pub user_dir: Option<PathBuf>,
    /// Beside the binary (a build's target folder), and
    /// `<exe>/../lib/chatferry/plugins` (an installed layout: `cargo xtask
    /// install`, a release tarball, a distribution package).
    pub bundled_dirs: Vec<PathBuf>,
}

impl SearchPath {
    pub fn from_environment() -> SearchPath {
        let env_dirs = std::env::var_os(PLUGIN_PATH_ENV)
            .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
            .unwrap_or_default();
        let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf));
        let bundled_dirs = exe_dir.map(|d| vec![d.join("../lib/chatferry/plugins"), d]).unwrap_or_default();
        SearchPath { env_dirs, user_dir: user_plugin_dir(), bundled_dirs }
    }

    /// Every folder plugins are looked for in, in order.
    pub fn folders(&self) -> Vec<PathBuf> {
        let mut all = self.env_dirs.clone();
        all.extend(self.user_dir.clone());
        all.extend(self.bundled_dirs.iter().map(|d| clean(d)));
        all
    }
}

/// `bin/../lib` → `lib`, for messages (the folder may not exist).
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The user's plugin folder: `<data dir>/chatferry/plugins`
/// (`~/.local/share/chatferry/plugins` on Linux; honours XDG_DATA_HOME).
pub fn user_plugin_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "chatferry").map(|d| d.data_dir().join("plugins"))
}

/// Why a plugin's code may not be run: it, or the folder it is in, can be
/// changed by any user of this computer, who would then run code in every
/// later chatferry run of yours.
fn open_to_others(file: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    for (what, p) in [("its folder", dir), ("the file", file)] {
        let mode = p.metadata().ok()?.mode();
        if mode & 0o002 != 0 {
            return Some(format!(
                "{what} {} may be changed by any user of this computer (mode {:o}), so its code is not run; make it \
                 yours alone (chmod o-w {})",
                p.display(),
                mode & 0o7777,
                p.display()
            ));
        }
    }
    None
}

impl Catalog {
    pub fn load(search: &SearchPath) -> Catalog {
        let mut cat = Catalog { adapters: Vec::new(), plugins: Vec::new(), refused: Vec::new(), searched: Vec::new() };
        let builtin = ArchiveAdapter;
        cat.plugins.push(PluginEntry {
            name: "chatferry-core".into(),
            version: chatferry_core::VERSION.into(),
            abi_version: chatferry_core::abi::ABI_VERSION.into(),
            source: Source::Builtin,
            file: None,
            adapters: vec![builtin.info().id],
        });
        cat.adapters.push(AdapterEntry {
            info: builtin.info(),
            adapter: Arc::new(builtin),
            plugin: "chatferry-core".into(),
            version: chatferry_core::VERSION.into(),
        });

        let mut seen_files = HashSet::new();
        for dir in &search.env_dirs {
            for file in plugin_files(dir) {
                cat.consider(&file, Source::Env, &mut seen_files);
            }
        }
        if let Some(dir) = &search.user_dir {
            cat.load_user_dir(dir, &mut seen_files);
        }
        for dir in &search.bundled_dirs {
            for file in plugin_files(dir) {
                cat.consider(&file, Source::Bundled, &mut seen_files);
            }
        }
        cat.searched = search.folders();
        cat
    }

    fn load_user_dir(&mut self, dir: &Path, seen: &mut HashSet<PathBuf>) {
        let registry = match Registry::load(dir) {
            Ok(r) => r,
            Err(e) => {
                self.refused.push(Refusal { file: dir.to_path_buf(), reason: format!("{e:#}") });
                return;
            }
        };
        for file in plugin_files(dir) {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let Some(entry) = registry.find_file(name) else {
                self.refuse(
                    &file,
                    "it is in the plugin folder but not in its registry; install it with `chatferry plugin install`"
                        .into(),
                );
                continue;
            };
            match sha256_file(&file) {
                Ok(sum) if sum == entry.sha256 => self.consider(&file, Source::User, seen),
                Ok(_) => self.refuse(
                    &file,
                    "its sha256 no longer matches the one recorded at install; reinstall it with `chatferry plugin install --force`".into(),
                ),
                Err(e) => self.refuse(&file, format!("{e:#}")),
            }
        }
        for entry in &registry.plugins {
            if !dir.join(&entry.file).exists() {
                self.refuse(
                    &dir.join(&entry.file),
                    format!(
                        "plugin {} is in the registry but its file is gone; run `chatferry plugin remove {}`",
                        entry.name, entry.name
                    ),
                );
            }
        }
    }

    fn refuse(&mut self, file: &Path, reason: String) {
        self.refused.push(Refusal { file: file.to_path_buf(), reason });
    }

    fn consider(&mut self, file: &Path, source: Source, seen: &mut HashSet<PathBuf>) {
        let key = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        if !seen.insert(key) {
            return;
        }
        if let Some(reason) = open_to_others(file) {
            return self.refuse(file, reason);
        }
        let loaded = match load_plugin(file) {
            Ok(p) => p,
            Err(reason) => return self.refuse(file, reason),
        };
        if self.plugins.iter().any(|p| p.name == loaded.info.name) {
            // An earlier folder has this plugin: it takes precedence.
            tracing::debug!("plugin {} at {} is shadowed by an earlier one", loaded.info.name, file.display());
            return;
        }
        let mut ids = Vec::new();
        for adapter in loaded.adapters {
            let info = adapter.info();
            if let Some(other) = self.adapters.iter().find(|a| a.info.id == info.id) {
                let reason = format!(
                    "its adapter {:?} has the same id as one from plugin {}; that one is used",
                    info.id, other.plugin
                );
                self.refuse(file, reason);
                continue;
            }
            ids.push(info.id.clone());
            self.adapters.push(AdapterEntry {
                adapter,
                info,
                plugin: loaded.info.name.clone(),
                version: loaded.info.version.clone(),
            });
        }
        self.plugins.push(PluginEntry {
            name: loaded.info.name,
            version: loaded.info.version,
            abi_version: loaded.info.abi_version,
            source,
            file: Some(file.to_path_buf()),
            adapters: ids,
        });
    }

    /// Prints each refusal as one warning line on stderr.
    pub fn warn_refused(&self) {
        for r in &self.refused {
            eprintln!("chatferry: warning: skipped plugin {}: {}", r.file.display(), r.reason);
        }
    }

    pub fn get(&self, id: &str) -> Result<&AdapterEntry> {
        match self.adapters.iter().find(|a| a.info.id == id) {
            Some(a) => Ok(a),
            None => {
                let ids: Vec<_> = self.adapters.iter().map(|a| a.info.id.as_str()).collect();
                if self.plugins.len() == 1 {
                    // Only the built-in archive: the plugins were not installed.
                    let looked: Vec<String> = self.searched.iter().map(|d| d.display().to_string()).collect();
                    bail!(crate::UsageError(format!(
                        "no adapter {id:?}: no format plugins are installed (looked in {}); install chatferry with \
                         its plugins (`cargo xtask install` from the source, or a release archive), or add one with \
                         `chatferry plugin install FILE`",
                        looked.join(", ")
                    )))
                }
                bail!(crate::UsageError(format!(
                    "no adapter {id:?}{}; the adapters are {}",
                    did_you_mean(id, &ids),
                    ids.join(", ")
                )))
            }
        }
    }
}

/// What a person most likely meant by an id that is none: the app's
/// adapters for an app's bare name (`whatsapp` → whatsapp-android or
/// whatsapp-ios), else the ids a typo or two away.
fn did_you_mean(id: &str, ids: &[&str]) -> String {
    let id = id.trim().to_ascii_lowercase();
    let by_app: Vec<&str> = ids.iter().copied().filter(|a| a.split('-').next() == Some(id.as_str())).collect();
    let close: Vec<&str> = match by_app.is_empty() {
        false => by_app,
        true => ids.iter().copied().filter(|a| strsim::damerau_levenshtein(&id, a) <= 2).collect(),
    };
    let word = |a: &str| match a.rsplit('-').next() {
        Some("android") => format!("{a} (Android)"),
        Some("ios") => format!("{a} (iPhone)"),
        Some("txt") => format!("{a} (its \"Export chat\" text)"),
        _ => a.to_string(),
    };
    match close.as_slice() {
        [] => String::new(),
        [one] => format!(" (did you mean {}?)", word(one)),
        [first @ .., last] => format!(
            " (did you mean {} or {}?)",
            first.iter().map(|a| word(a)).collect::<Vec<_>>().join(", "),
            word(last)
        ),
    }
}

#[cfg(test)]
mod suggestion_tests {
    use super::did_you_mean;

    #[test]
    fn an_apps_name_and_a_typo_get_suggestions() {
        let ids = [
            "archive",
            "html",
            "telegram-json",
            "wechat-android",
            "wechat-ios",
            "whatsapp-android",
            "whatsapp-ios",
            "whatsapp-txt",
        ];
        assert_eq!(
            did_you_mean("WhatsApp", &ids),
            " (did you mean whatsapp-android (Android), whatsapp-ios (iPhone) or whatsapp-txt (its \"Export chat\" text)?)"
        );
        assert_eq!(did_you_mean("telegram", &ids), " (did you mean telegram-json?)");
        assert_eq!(did_you_mean("whatsap-android", &ids), " (did you mean whatsapp-android (Android)?)");
        assert_eq!(did_you_mean("archiv", &ids), " (did you mean archive?)");
        assert_eq!(did_you_mean("signal", &ids), "");
    }
}
