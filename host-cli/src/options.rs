//! `--opt NAME=VALUE`: parsed, and checked against the options the adapters
//! declare. An option neither adapter declares is a usage error.

use crate::UsageError;
use anyhow::{bail, Result};
use chatferry_core::{AdapterInfo, OptionKind, Options};

/// Splits `NAME=VALUE` (a bare `NAME` is a flag set to true).
pub fn parse(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|r| {
            let (name, value) = match r.split_once('=') {
                Some((n, v)) => (n.trim(), v),
                None => (r.trim(), "true"),
            };
            if name.is_empty() {
                bail!(UsageError(format!("--opt {}: give it as NAME=VALUE", shown_name(r))));
            }
            Ok((name.to_string(), value.to_string()))
        })
        .collect()
}

/// Hands each option to the side(s) that declare it: `import` to the
/// reading adapter, `export` to the writing one.
pub fn assign(
    given: &[(String, String)],
    import: Option<&AdapterInfo>,
    export: Option<&AdapterInfo>,
) -> Result<(Options, Options)> {
    let mut for_import = Options::new();
    let mut for_export = Options::new();
    for (name, value) in given {
        let mut taken = false;
        let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
        if let Some(spec) = import.and_then(|a| a.options.iter().find(|o| o.import && &o.name == name)) {
            check_value(name, value, spec.kind)?;
            put(&mut for_import, name, &expand_home(value, spec.kind, home.as_deref()), spec.kind)?;
            taken = true;
        }
        if let Some(spec) = export.and_then(|a| a.options.iter().find(|o| o.export && &o.name == name)) {
            check_value(name, value, spec.kind)?;
            put(&mut for_export, name, &expand_home(value, spec.kind, home.as_deref()), spec.kind)?;
            taken = true;
        }
        if !taken {
            bail!(UsageError(unknown_option_message(name, import, export)));
        }
    }
    Ok((for_import, for_export))
}

/// A path option's `~` or `~/x` is the home folder, as a shell would make it:
/// the shell does not after `--opt name=`. `~user` and other values stay.
fn expand_home(value: &str, kind: OptionKind, home: Option<&std::path::Path>) -> String {
    let Some(home) = home.filter(|_| matches!(kind, OptionKind::Path | OptionKind::Paths)) else {
        return value.to_string();
    };
    match value.strip_prefix('~') {
        Some("") => home.display().to_string(),
        Some(rest) if rest.starts_with('/') || rest.starts_with(std::path::MAIN_SEPARATOR) => {
            home.join(&rest[1..]).display().to_string()
        }
        _ => value.to_string(),
    }
}

/// Records one `--opt`: a repeatable one adds to what was given before; any
/// other given twice is an error (the second would silently win).
fn put(options: &mut Options, name: &str, value: &str, kind: OptionKind) -> Result<()> {
    match options.0.get_mut(name) {
        None => {
            options.0.insert(name.to_string(), value.to_string());
        }
        Some(before) if kind == OptionKind::Paths => {
            before.push('\n');
            before.push_str(value);
        }
        Some(before) if before == value => {}
        Some(_) => bail!(UsageError(format!("option {name} was given twice with different values; give it once"))),
    }
    Ok(())
}

/// An option name as an error shows it: as given when it looks like one
/// (`key-file`), else only its length — a key or password typed as
/// `--opt SECRET` must not reach the terminal's scroll-back or a log.
fn shown_name(name: &str) -> String {
    let looks_like_a_name = name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.bytes().any(|b| b.is_ascii_lowercase());
    if looks_like_a_name {
        format!("{name:?}")
    } else {
        format!("(an option name of {} characters, not shown in case it is a key)", name.chars().count())
    }
}

/// A value as an error shows it: at most 40 characters.
fn shown_value(value: &str) -> String {
    if value.chars().count() <= 40 {
        format!("{value:?}")
    } else {
        format!("{:?}… ({} characters)", value.chars().take(40).collect::<String>(), value.chars().count())
    }
}

fn check_value(name: &str, value: &str, kind: OptionKind) -> Result<()> {
    match kind {
        OptionKind::Number if value.parse::<i64>().is_err() => {
            bail!(UsageError(format!("option {name} takes a whole number, not {}", shown_value(value))))
        }
        OptionKind::Flag if !matches!(value, "" | "true" | "false" | "yes" | "no" | "1" | "0") => {
            bail!(UsageError(format!("option {name} is a flag: give true or false, not {}", shown_value(value))))
        }
        OptionKind::Path | OptionKind::Paths if value.is_empty() => {
            bail!(UsageError(format!("option {name} needs a path")))
        }
        // Repeated values travel joined by line breaks.
        OptionKind::Paths if value.contains('\n') => {
            bail!(UsageError(format!("option {name}: a path with a line break in it cannot be given")))
        }
        _ => Ok(()),
    }
}

fn unknown_option_message(name: &str, import: Option<&AdapterInfo>, export: Option<&AdapterInfo>) -> String {
    let mut sides = Vec::new();
    let mut known = Vec::new();
    if let Some(a) = import {
        sides.push(format!("{} (reading)", a.id));
        known.extend(a.options.iter().filter(|o| o.import).map(|o| o.name.clone()));
    }
    if let Some(a) = export {
        sides.push(format!("{} (writing)", a.id));
        known.extend(a.options.iter().filter(|o| o.export).map(|o| o.name.clone()));
    }
    known.sort();
    known.dedup();
    let takes =
        if known.is_empty() { "they take no options".to_string() } else { format!("they take: {}", known.join(", ")) };
    format!(
        "option {} is not understood by {}; {takes} (see `chatferry adapters`)",
        shown_name(name),
        sides.join(" or ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatferry_core::{Capabilities, OptionSpec, PathKind};

    fn adapter(id: &str, options: Vec<OptionSpec>) -> AdapterInfo {
        AdapterInfo {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::File,
            output: PathKind::File,
            options,
        }
    }

    #[test]
    fn options_go_to_the_side_that_declares_them() {
        let a = adapter("a", vec![OptionSpec::new("key-file", OptionKind::Path, "k").import_only()]);
        let b = adapter(
            "b",
            vec![OptionSpec::new("key-file", OptionKind::Path, "k"), OptionSpec::new("n", OptionKind::Number, "n")],
        );
        let given = parse(&["key-file=/k".into(), "n=3".into()]).unwrap();
        let (i, e) = assign(&given, Some(&a), Some(&b)).unwrap();
        assert_eq!(i.get("key-file"), Some("/k"));
        assert_eq!(i.get("n"), None);
        assert_eq!(e.get("key-file"), Some("/k"));
        assert_eq!(e.get("n"), Some("3"));
    }

    #[test]
    fn undeclared_and_malformed_options_are_usage_errors() {
        let a = adapter("a", vec![OptionSpec::new("n", OptionKind::Number, "n")]);
        let err = assign(&parse(&["nope=1".into()]).unwrap(), Some(&a), None).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        assert!(err.to_string().contains("\"nope\"") && err.to_string().contains("they take: n"), "{err}");
        let err = assign(&parse(&["n=x".into()]).unwrap(), Some(&a), None).unwrap_err();
        assert!(err.to_string().contains("whole number"), "{err}");
        assert!(parse(&["=x".into()]).is_err());
    }

    #[test]
    fn a_path_options_tilde_is_the_home_folder() {
        let home = Some(std::path::Path::new("/home/anna"));
        assert_eq!(expand_home("~/keys/key", OptionKind::Path, home), "/home/anna/keys/key");
        assert_eq!(expand_home("~", OptionKind::Paths, home), "/home/anna");
        assert_eq!(expand_home("~bob/x", OptionKind::Path, home), "~bob/x");
        assert_eq!(expand_home("/a/~/b", OptionKind::Path, home), "/a/~/b");
        assert_eq!(expand_home("~/x", OptionKind::Text, home), "~/x", "only paths");
        assert_eq!(expand_home("~/x", OptionKind::Path, None), "~/x");
    }

    #[test]
    fn a_repeatable_path_gathers_every_value_and_others_refuse_a_second() {
        let a = adapter(
            "a",
            vec![OptionSpec::new("media-dir", OptionKind::Paths, "m"), OptionSpec::new("n", OptionKind::Number, "n")],
        );
        let given =
            parse(&["media-dir=/one".into(), "media-dir=/two words".into(), "n=3".into(), "n=3".into()]).unwrap();
        let (i, _) = assign(&given, Some(&a), None).unwrap();
        assert_eq!(i.paths("media-dir"), [std::path::PathBuf::from("/one"), "/two words".into()]);
        assert_eq!(i.get("n"), Some("3"), "the same value twice is harmless");
        let err = assign(&parse(&["n=3".into(), "n=4".into()]).unwrap(), Some(&a), None).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
    }
}
