//! The plugin template, embedded at build time so `chatferry plugin new`
//! works from an installed binary. Rendering renames the crate, the library
//! and the adapter id; every rename must hit, or the template and this code
//! have drifted apart (a test checks it).

use anyhow::{bail, Result};

const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../plugin-template/Cargo.toml")),
    ("README.md", include_str!("../../plugin-template/README.md")),
    ("src/lib.rs", include_str!("../../plugin-template/src/lib.rs")),
    ("src/tsv.rs", include_str!("../../plugin-template/src/tsv.rs")),
    ("tests/roundtrip.rs", include_str!("../../plugin-template/tests/roundtrip.rs")),
];

/// Where the template's own chatferry-core sources were at build time.
pub const BUILD_CORE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../core");

pub struct Rendered {
    pub files: Vec<(&'static str, String)>,
}

/// `name` is the adapter id (`signal`); `core_path` is how the new
/// Cargo.toml reaches chatferry-core; `standalone` adds an empty
/// `[workspace]` so the crate builds on its own.
pub fn render(name: &str, core_path: &str, standalone: bool) -> Result<Rendered> {
    let snake = name.replace('-', "_");
    let mut files = Vec::new();
    for (path, text) in FILES {
        let mut out = text.to_string();
        let mut swap = |from: &str, to: &str| -> Result<()> {
            if !out.contains(from) {
                bail!("the embedded plugin template has drifted: {path} lacks {from:?} (a chatferry bug)");
            }
            out = out.replace(from, to);
            Ok(())
        };
        match *path {
            "Cargo.toml" => {
                swap("name = \"chatferry-plugin-template\"", &format!("name = \"chatferry-plugin-{name}\""))?;
                swap("name = \"chatferry_plugin_template\"", &format!("name = \"chatferry_plugin_{snake}\""))?;
                swap(
                    "chatferry-core = { path = \"../core\" }",
                    &format!("chatferry-core = {{ path = {core_path:?} }}"),
                )?;
                swap(
                    "description = \"chatferry plugin template: a tab-separated text adapter to copy when adding a format\"",
                    &format!("description = \"chatferry plugin: {name}\""),
                )?;
                if standalone {
                    out.push_str("\n# Not part of a larger workspace.\n[workspace]\n");
                } else {
                    // A member of chatferry's workspace takes its versions
                    // from it, like the plugins beside it.
                    swap("version = \"0.1.0\"", "version.workspace = true")?;
                    swap("edition = \"2021\"", "edition.workspace = true")?;
                    swap("license = \"MIT OR Apache-2.0\"", "license.workspace = true")?;
                    swap(&format!("chatferry-core = {{ path = {core_path:?} }}"), "chatferry-core.workspace = true")?;
                    swap("tempfile = \"3\"", "tempfile.workspace = true")?;
                }
            }
            "README.md" => {
                swap(
                    "# chatferry plugin template",
                    &format!("# chatferry plugin: {name}\n\nMade from the chatferry plugin template."),
                )?;
                swap("libchatferry_plugin_template", &format!("libchatferry_plugin_{snake}"))?;
            }
            "src/lib.rs" => {
                swap("pub const ADAPTER_ID: &str = \"template\";", &format!("pub const ADAPTER_ID: &str = {name:?};"))?;
                // The plugin's type is named for it (`SignalDesktopPlugin`).
                swap("TemplatePlugin", &format!("{}Plugin", camel(name)))?;
                swap(
                    "pub const ADAPTER_NAME: &str = \"Tab-separated text (plugin template)\";",
                    &format!(
                        "pub const ADAPTER_NAME: &str = \"{name} (tab-separated text, from the plugin template)\";"
                    ),
                )?;
            }
            "tests/roundtrip.rs" => {
                swap("use chatferry_plugin_template::", &format!("use chatferry_plugin_{snake}::"))?;
            }
            _ => {}
        }
        files.push((*path, out));
    }
    Ok(Rendered { files })
}

/// `signal-desktop` → `SignalDesktop`.
fn camel(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Adapter ids: lower-case ASCII letters, digits and hyphens, starting with a letter.
pub fn valid_name(name: &str) -> bool {
    name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_rename() {
        let r = render("signal-desktop", "../../core", true).unwrap();
        for (path, text) in &r.files {
            assert!(!text.contains("chatferry_plugin_template"), "{path} still names the template library");
            assert!(!text.contains("chatferry-plugin-template"), "{path} still names the template crate");
        }
        let cargo = &r.files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
        assert!(cargo.contains("name = \"chatferry_plugin_signal_desktop\""));
        assert!(cargo.contains("path = \"../../core\""));
        assert!(cargo.trim_end().ends_with("[workspace]"));
        let lib = &r.files.iter().find(|(p, _)| *p == "src/lib.rs").unwrap().1;
        assert!(lib.contains("pub const ADAPTER_ID: &str = \"signal-desktop\";"));
        assert!(lib.contains("impl Plugin for SignalDesktopPlugin") && !lib.contains("TemplatePlugin"));
        let member = render("signal", "../../core", false).unwrap();
        let cargo = &member.files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
        for inherited in ["version.workspace = true", "edition.workspace = true", "chatferry-core.workspace = true"] {
            assert!(cargo.contains(inherited), "a workspace member inherits: {cargo}");
        }
        assert!(!cargo.contains("[workspace]"));
    }

    #[test]
    fn names() {
        assert!(valid_name("signal"));
        assert!(valid_name("line-v2"));
        for bad in ["", "Signal", "2line", "a_b", "x-", "a b", "../x"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
