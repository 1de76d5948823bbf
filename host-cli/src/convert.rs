//! `chatferry convert`: source → canonical stream → target, written to a
//! temporary path and renamed into place only when complete.

use crate::commands::{catalog, source_adapter};
use crate::progress::Bar;
use crate::staging::Staging;
use crate::UsageError;
use anyhow::{bail, Context, Result};
use chatferry_core::{pipeline, Outcome};
use std::path::Path;
use std::process::ExitCode;

pub struct Request<'a> {
    pub input: &'a Path,
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub output: &'a Path,
    pub opts: &'a [String],
    pub force: bool,
    pub report: Option<&'a Path>,
    pub quiet: bool,
    /// Any downgraded or unwritten message makes the exit status 1.
    pub strict: bool,
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
    let (import_opts, export_opts) = crate::options::assign(&given, Some(&source.info), Some(&target.info))?;

    let staging = Staging::prepare(req.output, Some(req.input), req.force)?;
    let mut importer = source.adapter.open_importer(req.input, &import_opts)?;
    let mut exporter = target.adapter.open_exporter(staging.path(), &export_opts)?;
    let mut bar = Bar::new(req.quiet);
    let mut report = pipeline::convert(importer.as_mut(), exporter.as_mut(), &mut bar).with_context(|| {
        format!("converting {} from {} to {}; nothing was written", req.input.display(), source.info.id, target.info.id)
    })?;
    // Close the exporter (and any files it holds) before moving its output.
    drop(exporter);
    drop(importer);
    staging.commit()?;
    report.source_adapter = source.info.id.clone();
    report.target_adapter = target.info.id.clone();

    if let Some(path) = req.report {
        write_report(path, &report)?;
    }
    if !req.quiet {
        print!("{}", report.to_text());
        println!("written: {}", req.output.display());
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

fn write_report(path: &Path, report: &chatferry_core::Report) -> Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("cannot write the report in {}", parent.display()))?;
    serde_json::to_writer_pretty(&mut tmp, report)?;
    std::io::Write::write_all(&mut tmp, b"\n")?;
    tmp.persist(path).with_context(|| format!("cannot write the report to {}", path.display()))?;
    Ok(())
}
