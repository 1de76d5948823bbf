//! `chatferry`: finds, checks, installs and loads plugins; runs conversions.
//! All of it is here, behind `main`; the binary (main.rs) only calls it.
//! A library so that the fuzz targets (fuzz/) reach the contact map's
//! reader; nothing else here is an API.

/// `print!` for what chatferry writes to stdout; a closed pipe ends the
/// run quietly (see `cleanup::write_stdout`).
macro_rules! out {
    ($($t:tt)*) => { $crate::cleanup::write_stdout(format_args!($($t)*)) };
}

/// `outln!`, the same way.
macro_rules! outln {
    () => { $crate::cleanup::write_stdout(format_args!("\n")) };
    ($($t:tt)*) => { $crate::cleanup::write_stdout(format_args!("{}\n", format_args!($($t)*))) };
}

mod backups;
mod catalog;
mod cleanup;
mod cli;
mod commands;
mod contact_map;
mod convert;
mod lock;
mod options;
mod plugin_cmd;
mod progress;
mod registry;
mod select;
mod side_file;
mod staging;
mod template;

/// Entry points for the fuzz targets in fuzz/ (not an API).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::contact_map::fuzz_map as contact_map;

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_contact_map_corpus_passes() {
            chatferry_core::fuzzing::smoke("contact_map", super::contact_map);
        }
    }
}

use clap::Parser;
use std::process::ExitCode;

/// A mistake in how chatferry was called (exit status 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// The whole `chatferry` command.
pub fn main() -> ExitCode {
    // Parsed first: clap exits on --help or a usage error, and nothing has
    // been made yet that would need removing.
    let cli = cli::Cli::parse();
    // Then, while this is the only thread: the run's private temporary
    // folder (TMPDIR for everything after), then the signal watcher.
    let _run_dir = cleanup::RunDir::start();
    if cli.quiet {
        // Plugins say what takes seconds (a backup password's rounds) only
        // when this is not set.
        std::env::set_var("CHATFERRY_QUIET", "1");
    }
    cleanup::handle_signals();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHATFERRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = commands::run(cli);
    cleanup::wait_if_stopping();
    match result {
        Ok(code) => code,
        Err(err) => {
            let message = format!("{err:#}").replace('\n', "; ");
            eprintln!("chatferry: {message}");
            if is_usage(&err) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn is_usage(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<UsageError>().is_some()
            || e.downcast_ref::<chatferry_core::Error>().is_some_and(|c| c.kind == chatferry_core::ErrorKind::Usage)
    })
}
