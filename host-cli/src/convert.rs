//! `chatferry convert`: source → canonical stream → target, written to a
//! temporary path and renamed into place only when complete.

use crate::commands::{catalog, source_adapter};
use crate::contact_map::{Family, MappedImporter, Mapping};
use crate::progress::Bar;
use crate::side_file;
use crate::staging::Staging;
use crate::UsageError;
use anyhow::{bail, Context, Result};
use chatferry_core::{pipeline, Chat, Contact, Header, Importer, Message, Outcome, Report};
use std::path::Path;
use std::process::ExitCode;

pub struct Request<'a> {
    pub input: &'a Path,
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub output: &'a Path,
    pub opts: &'a [String],
    pub select: &'a crate::cli::Select,
    pub force: bool,
    /// Where to write the JSON report; `-` is stdout.
    pub report: Option<&'a Path>,
    /// The JSON report on stdout.
    pub json: bool,
    pub quiet: bool,
    /// Any downgraded or unwritten message makes the exit status 1.
    pub strict: bool,
    pub contacts: Option<&'a Path>,
    pub write_contact_map: Option<&'a Path>,
    pub keep_as_name: bool,
}

/// An importer whose header was read ahead (to learn the source app).
struct HeaderRead<'a> {
    inner: &'a mut dyn Importer,
    header: Header,
}

impl Importer for HeaderRead<'_> {
    fn header(&mut self) -> chatferry_core::Result<Header> {
        Ok(self.header.clone())
    }
    fn next_contacts(&mut self, max: usize) -> chatferry_core::Result<Vec<Contact>> {
        self.inner.next_contacts(max)
    }
    fn next_chats(&mut self, max: usize) -> chatferry_core::Result<Vec<Chat>> {
        self.inner.next_chats(max)
    }
    fn next_messages(&mut self, max: usize) -> chatferry_core::Result<Vec<Message>> {
        self.inner.next_messages(max)
    }
    fn finish(&mut self) -> chatferry_core::Result<Report> {
        self.inner.finish()
    }
}

pub fn run(req: Request) -> Result<ExitCode> {
    let cat = catalog();
    let target = cat.get(req.to)?;
    if !target.info.capabilities.export {
        bail!(UsageError(format!(
            "adapter {} cannot export (it can: {}); choose another with --to",
            req.to,
            target.info.capabilities.names().join(", ")
        )));
    }
    if req.input.symlink_metadata().is_err() {
        bail!("{} does not exist", req.input.display());
    }
    let source = source_adapter(&cat, req.input, req.from)?;
    let given = crate::options::parse(req.opts)?;
    let selection = req.select.parse()?;
    let (import_opts, export_opts) = crate::options::assign(&given, Some(&source.info), Some(&target.info))?;

    if req.write_contact_map.is_none() {
        // Before any reading (decrypting, copying a database): the output must be writable.
        Staging::check(req.output, Some(req.input), req.force)?;
    }
    // `--report -` is stdout, like --json; then the text report goes to stderr.
    let report_file = req.report.filter(|p| *p != Path::new("-"));
    let report_to_stdout = req.json || report_file != req.report;
    for (path, what) in [(report_file, "the report"), (req.write_contact_map, "the contact map")] {
        if let Some(p) = path {
            crate::staging::refuse_overlap(req.input, p, what)?;
            side_file::check(p, req.force, what)?;
        }
    }
    if let Some(p) = report_file {
        if req.write_contact_map.is_none() {
            side_file::refuse_same(req.output, "the output (-o)", p, "the report (--report)")?;
        }
        if let Some(map) = req.write_contact_map {
            side_file::refuse_same(map, "the contact map", p, "the report (--report)")?;
        }
    }
    let mut importer = source.adapter.open_importer(req.input, &import_opts)?;
    // The app the history came from (an archive remembers it).
    let header = importer.header()?;
    let from_family = Family::of(&source.info.id).or(Family::of_header(&header));
    let to_family = Family::of_target(&target.info.id);
    let mut reader = HeaderRead { inner: importer.as_mut(), header };
    // The selection first: a contact map (written or read) then holds only
    // the people of the chats chosen.
    let mut selected = None;
    let reader = crate::select::apply(&mut reader, selection, &mut selected);
    let map_needs_ids = |what: &str| {
        UsageError(format!(
            "{} is not a WhatsApp, WeChat or Telegram history; {what} pairs their ids (phone numbers, WeChat usernames, Telegram user ids)",
            req.input.display()
        ))
    };
    if let Some(path) = req.write_contact_map {
        let from = from_family.ok_or_else(|| map_needs_ids("a contact map"))?;
        // Into the same app (or an archive or pages), the map gives numbers to people known by name only.
        let n = crate::contact_map::write_template(reader, from, to_family.unwrap_or(from), path)?;
        outln!(
            "wrote {}: {} from the input; fill in the empty ids, then convert with --contacts {}",
            path.display(),
            chatferry_core::text_form::counted(n as u64, "person", "people"),
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if req.contacts.is_some() && from_family.is_none() {
        bail!(map_needs_ids("--contacts"));
    }
    let mut mapped;
    // Across apps every id is rewritten; within one a map names people an
    // export knows by name only, and an app's store counts who stays a placeholder.
    let importer: &mut dyn Importer = match (from_family, to_family) {
        (Some(from), to) if to.is_some() || req.contacts.is_some() => {
            let region = given.iter().rev().find(|(n, _)| n == "region").map(|(_, v)| v.as_str());
            let mapping = Mapping::new(from, to.unwrap_or(from), req.contacts, req.keep_as_name, region)?;
            mapped = MappedImporter::new(reader, mapping)?;
            &mut mapped
        }
        _ => reader,
    };

    let staging = Staging::prepare(req.output, Some(req.input), req.force)?;
    let mut exporter = target.adapter.open_exporter(staging.path(), &export_opts)?;
    let mut bar = Bar::new(req.quiet);
    let mut report = pipeline::convert(importer, exporter.as_mut(), &mut bar).with_context(|| {
        format!("converting {} from {} to {}; nothing was written", req.input.display(), source.info.id, target.info.id)
    })?;
    // Close the exporter (and any files it holds) before moving its output.
    drop(exporter);
    report.source_adapter = source.info.id.clone();
    report.target_adapter = target.info.id.clone();
    // The report is written (beside its path) before the output moves into
    // place: a report that cannot be written fails the conversion while
    // nothing is at OUTPUT yet.
    let pending = report_file.map(|path| stage_report(path, &report).map(|tmp| (path, tmp))).transpose()?;
    staging.commit()?;
    if let Some((path, pending)) = pending {
        pending.put(path).map_err(|e| {
            anyhow::anyhow!(
                "{} is complete, but the report could not be written to {}: {e}",
                req.output.display(),
                path.display(),
            )
        })?;
    }
    if report_to_stdout {
        let json = serde_json::to_string_pretty(&report).context("writing the report as JSON")?;
        outln!("{json}");
        if !req.quiet {
            eprint!("{}", report.to_text());
            eprintln!("written: {}", req.output.display());
        }
    } else if !req.quiet {
        out!("{}", report.to_text());
        outln!("written: {}", req.output.display());
    }
    let lossy = report.total(Outcome::Downgraded) + report.total(Outcome::Failed);
    if req.strict && lossy > 0 {
        eprintln!(
            "chatferry: --strict: {lossy} messages were downgraded or not written (see the report); the output was written"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The report as JSON, staged for `path` (see `side_file::stage`).
fn stage_report(path: &Path, report: &chatferry_core::Report) -> Result<side_file::Pending> {
    let mut json = serde_json::to_vec_pretty(report).context("writing the report as JSON")?;
    json.push(b'\n');
    side_file::stage(path, json, "the report")
        .map_err(|e| anyhow::anyhow!("{e:#}; nothing was written to the output either"))
}
