//! Dispatch, and the read-only commands: adapters, detect, inspect.

use crate::catalog::{AdapterEntry, Catalog, SearchPath};
use crate::cli::{Cli, Command};
use crate::progress::Bar;
use crate::UsageError;
use anyhow::{bail, Context, Result};
use chatferry_core::pipeline;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

/// The adapters installed with chatferry that read, and that write, for
/// completions and the man page (a plugin's own ids are still taken on the
/// command line).
const READERS: [&str; 7] =
    ["archive", "telegram-json", "wechat-android", "wechat-ios", "whatsapp-android", "whatsapp-ios", "whatsapp-txt"];
const WRITERS: [&str; 7] =
    ["archive", "html", "wechat-android", "wechat-ios", "whatsapp-android", "whatsapp-ios", "whatsapp-txt"];

/// The command line as completions and the man page show it: `--from` and
/// `--to` offer the adapter ids that read and that write.
fn documented() -> clap::Command {
    let ids = |list: [&'static str; 7]| clap::builder::PossibleValuesParser::new(list);
    let mut cmd = <Cli as clap::CommandFactory>::command();
    for name in ["convert", "inspect"] {
        cmd = cmd.mut_subcommand(name, |sub| {
            let sub = sub.mut_arg("from", |a| a.value_parser(ids(READERS)));
            match name {
                "convert" => sub.mut_arg("to", |a| a.value_parser(ids(WRITERS))),
                _ => sub,
            }
        });
    }
    cmd
}

/// One page, chatferry(1): the commands listed here (clap_mangen's own list
/// points at a page per command, which are not installed), then convert's
/// options and examples.
fn man_page() -> Result<String> {
    let cmd = documented();
    let page = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    let err = "rendering the man page";
    page.render_title(&mut buf).context(err)?;
    page.render_name_section(&mut buf).context(err)?;
    page.render_synopsis_section(&mut buf).context(err)?;
    page.render_description_section(&mut buf).context(err)?;
    page.render_options_section(&mut buf).context(err)?;
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    text.push_str(".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        text.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", sub.get_name(), roff_text(&about)));
    }
    if let Some(convert) = cmd.find_subcommand("convert") {
        text.push_str(".SH \"CONVERT\"\n");
        let mut buf = Vec::new();
        let page = clap_mangen::Man::new(convert.clone().name("chatferry convert"));
        page.render_synopsis_section(&mut buf).context(err)?;
        page.render_options_section(&mut buf).context(err)?;
        text.push_str(&String::from_utf8_lossy(&buf));
        // As written: no filling, so the commands stay one per line.
        text.push_str(".SH EXAMPLES\n.nf\n");
        for line in crate::cli::CONVERT_EXAMPLES.lines() {
            text.push_str(&roff_text(line));
            text.push('\n');
        }
        text.push_str(".fi\n");
    }
    let mut buf = Vec::new();
    page.render_version_section(&mut buf).context(err)?;
    text.push_str(&String::from_utf8_lossy(&buf));
    Ok(text)
}

/// Text as roff shows it as written: backslashes escaped, a leading `.` or
/// `'` (a request to roff) made plain.
fn roff_text(line: &str) -> String {
    let escaped = line.replace('\\', "\\e");
    match escaped.starts_with('.') || escaped.starts_with('\'') {
        true => format!("\\&{escaped}"),
        false => escaped,
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Adapters { json } => adapters(json),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut documented(), "chatferry", &mut buf);
            out!("{}", String::from_utf8_lossy(&buf));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            out!("{}", man_page()?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin { action } => crate::plugin_cmd::run(action),
        Command::Backups { folders, json } => crate::backups::run(&folders, json),
        Command::Detect { path, json } => detect(&path, json),
        Command::Inspect { path, from, opts, select, json } => {
            inspect(&path, from.as_deref(), &opts, &select, json, quiet)
        }
        Command::Convert {
            input,
            from,
            to,
            output,
            opts,
            select,
            force,
            report,
            json,
            strict,
            contacts,
            write_contact_map,
            unmapped,
        } => crate::convert::run(crate::convert::Request {
            input: &input,
            from: from.as_deref(),
            to: &to,
            output: &output,
            opts: &opts,
            select: &select,
            force,
            report: report.as_deref(),
            json,
            quiet,
            strict,
            contacts: contacts.as_deref(),
            write_contact_map: write_contact_map.as_deref(),
            keep_as_name: unmapped == crate::cli::Unmapped::KeepAsName,
        }),
    }
}

/// Loads every plugin and prints the refusals once.
pub fn catalog() -> Catalog {
    let cat = Catalog::load(&SearchPath::from_environment());
    cat.warn_refused();
    cat
}

#[derive(Serialize)]
struct OptionJson<'a> {
    name: &'a str,
    kind: &'a str,
    help: &'a str,
    import: bool,
    export: bool,
}

#[derive(Serialize)]
struct AdapterJson<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    plugin: &'a str,
    version: &'a str,
    capabilities: Vec<&'static str>,
    input: &'static str,
    output: &'static str,
    options: Vec<OptionJson<'a>>,
}

fn adapters(json: bool) -> Result<ExitCode> {
    let cat = catalog();
    if json {
        let list: Vec<AdapterJson> = cat
            .adapters
            .iter()
            .map(|a| AdapterJson {
                id: &a.info.id,
                name: &a.info.name,
                description: &a.info.description,
                plugin: &a.plugin,
                version: &a.version,
                capabilities: a.info.capabilities.names(),
                input: a.info.input.as_str(),
                output: a.info.output.as_str(),
                options: a
                    .info
                    .options
                    .iter()
                    .map(|o| OptionJson {
                        name: &o.name,
                        kind: o.kind.as_str(),
                        help: &o.help,
                        import: o.import,
                        export: o.export,
                    })
                    .collect(),
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    // Columns as wide as their longest entry: plugin names vary.
    let width = |f: &dyn Fn(&AdapterEntry) -> usize, title: &str| {
        cat.adapters.iter().map(f).chain([title.len()]).max().unwrap_or(0)
    };
    let id_w = width(&|a| a.info.id.len(), "ADAPTER");
    let plugin_w = width(&|a| a.plugin.len(), "PLUGIN");
    let version_w = width(&|a| a.version.len(), "VERSION");
    outln!("{:<id_w$} {:<13} {:<plugin_w$} {:<version_w$} NAME", "ADAPTER", "CAPABILITIES", "PLUGIN", "VERSION");
    for a in &cat.adapters {
        outln!(
            "{:<id_w$} {:<13} {:<plugin_w$} {:<version_w$} {}",
            a.info.id,
            a.info.capabilities.names().join(","),
            a.plugin,
            a.version,
            a.info.name
        );
        for o in &a.info.options {
            let side = match (o.import, o.export) {
                (true, false) => " (import)",
                (false, true) => " (export)",
                _ => "",
            };
            outln!("    --opt {}=<{}>{}: {}", o.name, o.kind.as_str(), side, o.help);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize, Clone)]
pub struct Candidate {
    pub adapter: String,
    pub confidence: u8,
}

/// Asks every importing adapter how sure it is that it reads `path`.
pub fn probe_all(cat: &Catalog, path: &Path) -> Result<Vec<Candidate>> {
    check_readable(path)?;
    let mut out = Vec::new();
    for a in cat.adapters.iter().filter(|a| a.info.capabilities.import) {
        match a.adapter.probe(path) {
            Ok(0) => {}
            Ok(c) => out.push(Candidate { adapter: a.info.id.clone(), confidence: c.min(100) }),
            Err(e) => eprintln!("chatferry: warning: adapter {} could not probe {}: {e}", a.info.id, path.display()),
        }
    }
    out.sort_by(|a, b| b.confidence.cmp(&a.confidence).then(a.adapter.cmp(&b.adapter)));
    Ok(out)
}

/// The input exists and may be read (a folder: listed); otherwise one line
/// saying which, before any adapter looks at it.
fn check_readable(path: &Path) -> Result<()> {
    if let Some(denied) = chatferry_core::Error::if_unreadable(path) {
        bail!("{denied}");
    }
    if path.symlink_metadata().is_err() {
        bail!("{} does not exist", path.display());
    }
    // Plugins take paths as text: said once here, not once per adapter.
    if path.to_str().is_none() {
        bail!(
            "{} is not valid UTF-8 (its name holds bytes of another encoding); rename it, or use a path without \
             such characters",
            path.display()
        );
    }
    Ok(())
}

/// The importing adapter to use: the one named, or the one that recognises
/// the input best.
pub fn source_adapter<'c>(cat: &'c Catalog, input: &Path, from: Option<&str>) -> Result<&'c AdapterEntry> {
    check_readable(input)?;
    if let Some(id) = from {
        let a = cat.get(id)?;
        if !a.info.capabilities.import {
            bail!(UsageError(format!(
                "adapter {id} cannot import (it can: {}); choose another with --from",
                a.info.capabilities.names().join(", ")
            )));
        }
        return Ok(a);
    }
    let found = probe_all(cat, input)?;
    match found.as_slice() {
        [] => {
            let ids: Vec<_> =
                cat.adapters.iter().filter(|a| a.info.capabilities.import).map(|a| a.info.id.as_str()).collect();
            bail!(
                "no adapter recognises {}; if you know its format, name it with --from ({})",
                input.display(),
                ids.join(", ")
            )
        }
        [best, second, ..] if best.confidence == second.confidence => {
            bail!("both {} and {} recognise {}; name one with --from", best.adapter, second.adapter, input.display())
        }
        [best, ..] => cat.get(&best.adapter),
    }
}

fn detect(path: &Path, json: bool) -> Result<ExitCode> {
    let cat = catalog();
    let found = probe_all(&cat, path)?;
    let encrypted = path.join("Manifest.db").is_file() && chatferry_core::backup_plist::is_encrypted(path);
    if json {
        outln!("{}", serde_json::to_string_pretty(&found)?);
    } else if encrypted {
        // Which app's chats it holds shows only once its Manifest.db is decrypted.
        outln!(
            "{}: an encrypted iPhone backup (needs its password: --opt backup-password-file=FILE, or \
             CHATFERRY_BACKUP_PASSWORD, or be asked in a terminal)",
            path.display()
        );
        for c in &found {
            let name = cat.get(&c.adapter).map(|a| a.info.name.clone()).unwrap_or_default();
            outln!("  it may hold {name} (adapter {}); inspect tells once it is opened", c.adapter);
        }
    } else if found.is_empty() {
        outln!("no adapter recognises {}", path.display());
    } else {
        for (i, c) in found.iter().enumerate() {
            let name = cat.get(&c.adapter).map(|a| a.info.name.clone()).unwrap_or_default();
            let how = match c.confidence {
                90.. => "certainly",
                60..=89 => "probably",
                _ => "perhaps",
            };
            let then = if i == 0 && found.len() > 1 && found[1].confidence < c.confidence {
                "; convert uses it unless --from names another"
            } else if i == 0 && found.len() == 1 {
                "; convert and inspect use it"
            } else {
                ""
            };
            outln!("{}: {how} {name} (adapter {}, confidence {}){then}", path.display(), c.adapter, c.confidence);
        }
        if let [a, b, ..] = found.as_slice() {
            if a.confidence == b.confidence {
                outln!("{} and {} are equally sure: name one with --from", a.adapter, b.adapter);
            }
        }
    }
    Ok(if found.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn inspect(
    path: &Path,
    from: Option<&str>,
    opts: &[String],
    select: &crate::cli::Select,
    json: bool,
    quiet: bool,
) -> Result<ExitCode> {
    let both = |e: &anyhow::Error| format!("{e:#}").contains(chatferry_core::adapter::BOTH_APPS);
    let asked = opts.iter().any(|o| o.trim_start().starts_with("app="));
    let (adapter, summary) = match read_summary(path, from, opts, select, json || quiet) {
        // Both WhatsApp apps: convert asks which, inspect shows each.
        Err(e) if both(&e) && !asked => {
            let mut apps = Vec::new();
            for app in ["personal", "business"] {
                let mut with_app = opts.to_vec();
                with_app.push(format!("app={app}"));
                apps.push((app, read_summary(path, from, &with_app, select, json || quiet)?));
            }
            if json {
                let mut v = serde_json::Map::new();
                for (app, (adapter, summary)) in &apps {
                    v.insert(app.to_string(), summary_json(path, adapter, summary)?);
                }
                outln!("{}", serde_json::to_string_pretty(&serde_json::json!({ "apps": v }))?);
            } else {
                outln!(
                    "{} holds both WhatsApp and WhatsApp Business; convert takes --opt app=personal or app=business.",
                    path.display()
                );
                for (app, (adapter, summary)) in &apps {
                    outln!();
                    outln!(
                        "== {} (--opt app={app}) ==",
                        if *app == "business" { "WhatsApp Business" } else { "WhatsApp" }
                    );
                    print_summary(path, adapter, summary);
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        r => r?,
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&summary_json(path, &adapter, &summary)?)?);
    } else {
        print_summary(path, &adapter, &summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// The adapter read with (id, name) and what `inspect` found.
fn read_summary(
    path: &Path,
    from: Option<&str>,
    opts: &[String],
    select: &crate::cli::Select,
    quiet: bool,
) -> Result<((String, String), pipeline::Inspection)> {
    let cat = catalog();
    let source = source_adapter(&cat, path, from)?;
    let given = crate::options::parse(opts)?;
    let selection = select.parse()?;
    let (import_opts, _) = crate::options::assign(&given, Some(&source.info), None)?;
    let mut importer = source.adapter.open_importer(path, &import_opts)?;
    let mut selected = None;
    let importer = crate::select::apply(importer.as_mut(), selection, &mut selected);
    let mut bar = Bar::new(quiet);
    let summary = pipeline::inspect(importer, &mut bar)
        .with_context(|| format!("reading {} with {}", path.display(), source.info.id))?;
    Ok(((source.info.id.clone(), source.info.name.clone()), summary))
}

fn summary_json(path: &Path, adapter: &(String, String), summary: &pipeline::Inspection) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(summary)?;
    v["adapter"] = adapter.0.clone().into();
    v["input"] = path.display().to_string().into();
    Ok(v)
}

fn print_summary(path: &Path, (adapter_id, adapter_name): &(String, String), summary: &pipeline::Inspection) {
    let encrypted = path.join("Manifest.db").is_file() && chatferry_core::backup_plist::is_encrypted(path);
    outln!(
        "read:     {} with {} ({}){}",
        path.display(),
        adapter_id,
        adapter_name,
        if encrypted { ", an encrypted iPhone backup" } else { "" }
    );
    if summary.source_adapter != *adapter_id && !summary.source_adapter.is_empty() {
        outln!("          a history that came from {}", summary.source_adapter);
    }
    match &summary.owner {
        Some(owner) => outln!("owner:    {owner}"),
        None => outln!("owner:    not recorded in the store"),
    }
    outln!("contacts: {}", summary.contacts);
    let kinds: Vec<String> = summary.chats_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    outln!("chats:    {} ({})", summary.chats, kinds.join(", "));
    match (&summary.first_message_utc, &summary.last_message_utc) {
        (Some(a), Some(b)) => outln!("messages: {} from {a} to {b}", summary.messages),
        _ => outln!("messages: {}", summary.messages),
    }
    let kinds: Vec<String> = summary.messages_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    if !kinds.is_empty() {
        outln!("          {}", kinds.join(", "));
    }
    if summary.skipped_by_selection > 0 {
        outln!("          ({} more left out by --chat/--since/--until)", summary.skipped_by_selection);
    }
    outln!(
        "media:    {} ({} present, {} missing)",
        summary.media,
        summary.media - summary.media_missing,
        summary.media_missing
    );
    outln!("replies:  {}, reactions: {}", summary.replies, summary.reactions);
    if !summary.chat_list.is_empty() {
        outln!();
        outln!("{:<32} {:<8} {:>9} {:<10} {:<10} {:>13}", "CHAT", "KIND", "MESSAGES", "FIRST", "LAST", "MEDIA/MISSING");
        for c in &summary.chat_list {
            let day = |t: &Option<String>| t.as_deref().map_or("-".to_string(), |t| t.chars().take(10).collect());
            outln!(
                "{} {:<8} {:>9} {:<10} {:<10} {:>13}",
                fit(c.title.as_deref().filter(|t| !t.trim().is_empty()).unwrap_or(&c.id), 32),
                c.kind,
                c.messages,
                day(&c.first_message_utc),
                day(&c.last_message_utc),
                format!("{}/{}", c.media, c.media_missing)
            );
        }
        let both: Vec<String> = summary
            .chat_list
            .iter()
            .filter_map(|c| c.also.as_ref().map(|a| format!("{} = {a}", c.title.as_deref().unwrap_or(&c.id))))
            .collect();
        if !both.is_empty() {
            outln!("also known by a hidden-number id (LID): {}", both.join(", "));
        }
        outln!("(--chat takes a chat's title or id, either form; `inspect --json` gives every id)");
    }
    if !summary.notes.is_empty() {
        outln!();
        outln!("notes (convert prints them too):");
        for n in &summary.notes {
            outln!("  {n}");
        }
    }
}

/// `text` cut and padded to `width` columns on a terminal: a CJK character
/// or an emoji takes two, so counting characters put the columns after
/// it out of line.
fn fit(text: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut out = String::new();
    let mut used = 0;
    if one_line.width() <= width {
        out = one_line;
        used = out.width();
    } else {
        for c in one_line.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width - 1 {
                break;
            }
            out.push(c);
            used += w;
        }
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_cells_take_their_width_in_columns() {
        use unicode_width::UnicodeWidthStr;
        for title in ["Alice", "家族 👨‍👩‍👧", "العائلة الكبيرة", &"大".repeat(40), "a\nb"]
        {
            let cell = super::fit(title, 32);
            assert_eq!(cell.width(), 32, "{title:?} → {cell:?}");
        }
        assert!(super::fit(&"大".repeat(40), 32).trim_end().ends_with('…'));
    }
}
