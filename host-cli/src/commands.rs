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

pub fn run(cli: Cli) -> Result<ExitCode> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Adapters { json } => adapters(json),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "chatferry", &mut buf);
            out!("{}", String::from_utf8_lossy(&buf));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut buf)
                .context("rendering the man page")?;
            out!("{}", String::from_utf8_lossy(&buf));
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin { action } => crate::plugin_cmd::run(action),
        Command::Detect { path, json } => detect(&path, json),
        Command::Inspect { path, from, opts, json } => inspect(&path, from.as_deref(), &opts, json, quiet),
        Command::Convert {
            input,
            from,
            to,
            output,
            opts,
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
    outln!("{:<20} {:<15} {:<28} {:<8} {}", "ADAPTER", "CAPABILITIES", "PLUGIN", "VERSION", "NAME");
    for a in &cat.adapters {
        outln!(
            "{:<20} {:<15} {:<28} {:<8} {}",
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
    if json {
        outln!("{}", serde_json::to_string_pretty(&found)?);
    } else if found.is_empty() {
        outln!("no adapter recognises {}", path.display());
    } else {
        for c in &found {
            outln!("{:<20} confidence {}", c.adapter, c.confidence);
        }
    }
    Ok(if found.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn inspect(path: &Path, from: Option<&str>, opts: &[String], json: bool, quiet: bool) -> Result<ExitCode> {
    let cat = catalog();
    let source = source_adapter(&cat, path, from)?;
    let given = crate::options::parse(opts)?;
    let (import_opts, _) = crate::options::assign(&given, Some(&source.info), None)?;
    let mut importer = source.adapter.open_importer(path, &import_opts)?;
    let mut bar = Bar::new(quiet || json);
    let summary = pipeline::inspect(importer.as_mut(), &mut bar)
        .with_context(|| format!("reading {} with {}", path.display(), source.info.id))?;
    if json {
        let mut v = serde_json::to_value(&summary)?;
        v["adapter"] = source.info.id.clone().into();
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("adapter:  {} (history originally from {})", source.info.id, summary.source_adapter);
    if let Some(owner) = &summary.owner {
        outln!("owner:    {owner}");
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
    outln!("media:    {} ({} missing)", summary.media, summary.media_missing);
    outln!("replies:  {}, reactions: {}", summary.replies, summary.reactions);
    Ok(ExitCode::SUCCESS)
}
