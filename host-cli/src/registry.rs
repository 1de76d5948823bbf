//! The user's plugin registry: `registry.toml` in the user plugin folder,
//! recording each plugin installed with `chatferry plugin install` (name,
//! version, file, sha256). A file whose hash no longer matches is refused.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

pub const REGISTRY_FILE: &str = "registry.toml";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    pub name: String,
    pub version: String,
    /// File name inside the plugin folder.
    pub file: String,
    pub sha256: String,
    pub abi_version: String,
    pub adapters: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<Installed>,
}

impl Registry {
    pub fn load(dir: &Path) -> Result<Registry> {
        let path = dir.join(REGISTRY_FILE);
        if path.symlink_metadata().is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
            return Ok(Registry::default());
        }
        // A regular file of at most 1 MiB: a FIFO here hung every command.
        let text = chatferry_core::small_file::read_text(&path, "the plugin registry", 1 << 20)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let registry: Registry = toml::from_str(&text)
            .with_context(|| format!("the plugin registry {} is damaged; fix or remove it", path.display()))?;
        // Each entry names a file in the plugin folder: `plugin remove`
        // deletes it, so a path out of the folder must never be taken.
        if let Some(bad) = registry.plugins.iter().find(|p| !chatferry_core::media::is_plain_file_name(&p.file)) {
            bail!(
                "the plugin registry {} names {:?} for plugin {}, which is not a file name in its folder; fix or \
                 remove the registry",
                path.display(),
                chatferry_core::error::shortened(&bad.file, 200),
                bad.name
            );
        }
        Ok(registry)
    }

    /// Writes the registry atomically (temporary file + rename).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = toml::to_string_pretty(self).context("cannot encode the plugin registry")?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.persist(dir.join(REGISTRY_FILE))
            .with_context(|| format!("cannot write {}", dir.join(REGISTRY_FILE).display()))?;
        Ok(())
    }

    pub fn find(&self, name: &str) -> Option<&Installed> {
        self.plugins.iter().find(|p| p.name == name)
    }

    pub fn find_file(&self, file: &str) -> Option<&Installed> {
        self.plugins.iter().find(|p| p.file == file)
    }
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The file name an installed plugin gets: `libchatferry_plugin_<name>.so`.
pub fn installed_file_name(plugin_name: &str) -> String {
    let stem: String =
        plugin_name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let stem = stem.strip_prefix("chatferry_plugin_").unwrap_or(&stem).to_string();
    format!("{}chatferry_plugin_{stem}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// Whether a file name follows the plugin naming convention.
pub fn is_plugin_file_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(std::env::consts::DLL_PREFIX) else {
        return false;
    };
    rest.starts_with("chatferry_plugin_") && rest.ends_with(std::env::consts::DLL_SUFFIX)
}

/// Plugin files in a folder, sorted by name.
pub fn plugin_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(is_plugin_file_name))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_round_trips_through_toml() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Registry::load(dir.path()).unwrap(), Registry::default());
        let reg = Registry {
            plugins: vec![Installed {
                name: "whatsapp-android".into(),
                version: "0.1.0".into(),
                file: installed_file_name("whatsapp-android"),
                sha256: "00".repeat(32),
                abi_version: "1.0.0".into(),
                adapters: vec!["whatsapp-android".into()],
            }],
        };
        reg.save(dir.path()).unwrap();
        assert_eq!(Registry::load(dir.path()).unwrap(), reg);
        assert!(std::fs::read_to_string(dir.path().join(REGISTRY_FILE)).unwrap().contains("[[plugin]]"));
    }

    #[test]
    fn naming_convention() {
        let f = installed_file_name("whatsapp-android");
        assert!(is_plugin_file_name(&f), "{f}");
        assert!(f.contains("chatferry_plugin_whatsapp_android"));
        assert_eq!(installed_file_name("chatferry-plugin-x"), installed_file_name("x"));
        assert!(!is_plugin_file_name("libchatferry_testplugin_x.so"));
    }

    #[test]
    fn a_damaged_registry_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(REGISTRY_FILE), "[[plugin]\nname=").unwrap();
        let err = format!("{:#}", Registry::load(dir.path()).unwrap_err());
        assert!(err.contains("registry.toml") && err.contains("damaged"), "{err}");
    }
}
