//! Nothing private is left behind when a run is stopped.
//!
//! - Every temporary file of a run (a decrypted database, the html
//!   exporter's spill files) goes into one private folder,
//!   `chatferry-run-*` under the system's temporary folder: the host points
//!   TMPDIR at it before anything else runs, so the plugins' temporary
//!   files land there too.
//! - On SIGINT or SIGTERM the run's folder and its partial output are
//!   removed and chatferry exits 130 or 143 with one line.
//! - A run killed outright (SIGKILL, power loss) leaves them behind: each
//!   is marked as chatferry's and holds a lock while its run lives, so the
//!   next run removes the ones whose lock is free (see `lock` and
//!   `staging`). chatferry never removes a folder it did not make.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Folders and lock files to remove if the run is stopped by a signal.
static ON_SIGNAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes `path` (a folder or a file) if the run is stopped by a signal.
pub fn remove_on_signal(path: &Path) {
    if let Ok(mut paths) = ON_SIGNAL.lock() {
        paths.push(path.to_path_buf());
    }
}

/// `path` is no longer the run's to remove (it was moved into place or
/// removed already).
pub fn keep(path: &Path) {
    if let Ok(mut paths) = ON_SIGNAL.lock() {
        paths.retain(|p| p != path);
    }
}

/// Removes what the run registered and exits as a stopped process does.
fn stopped(signal: i32) -> ! {
    remove_registered();
    let name = if signal == 2 { "SIGINT" } else { "SIGTERM" };
    eprintln!("chatferry: stopped by {name}: the partial output and the run's temporary files were removed");
    std::process::exit(128 + signal);
}

/// Removes what the run registered and exits 0 without a word: what reads
/// chatferry's output has stopped reading (`chatferry adapters | head -1`).
pub fn reader_gone() -> ! {
    remove_registered();
    std::process::exit(0);
}

fn remove_registered() {
    let paths = ON_SIGNAL.lock().map(|p| p.clone()).unwrap_or_default();
    for p in paths.iter().rev() {
        // The main thread may still be writing into a folder: a file made
        // while it is being removed makes one pass fail, so try again.
        for _ in 0..5 {
            let removed = if p.is_dir() { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
            if removed.is_ok() || p.symlink_metadata().is_err() {
                break;
            }
        }
    }
}

/// Writes to stdout; a closed pipe ends the run quietly (`reader_gone`)
/// instead of the panic `print!` gives.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            reader_gone();
        }
        eprintln!("chatferry: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Starts the thread that waits for SIGINT and SIGTERM.
#[cfg(unix)]
pub fn handle_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    stopped(sig);
                }
            });
            if let Err(e) = spawned {
                tracing::warn!("cannot watch for Ctrl-C ({e}); an interrupted run may leave temporary files");
            }
        }
        Err(e) => tracing::warn!("cannot watch for Ctrl-C ({e}); an interrupted run may leave temporary files"),
    }
}

#[cfg(not(unix))]
pub fn handle_signals() {}

/// Folders holding someone's messages while a run writes them are theirs
/// alone (mode 0700).
pub fn private<'p, 's, 'b>(builder: &'b mut tempfile::Builder<'p, 's>) -> &'b mut tempfile::Builder<'p, 's> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        builder
    }
}

/// The run's private temporary folder; removed when dropped.
pub struct RunDir {
    dir: Option<tempfile::TempDir>,
    _lock: Option<crate::lock::Lock>,
}

const RUN_PREFIX: &str = "chatferry-run-";
const RUN_LOCK: &str = ".chatferry-run.lock";

impl RunDir {
    /// Makes the folder (mode 0700), takes its lock, points TMPDIR at it,
    /// and removes the folders of earlier runs that were killed. Must run
    /// before any other thread starts (it changes the environment).
    pub fn start() -> RunDir {
        let base = std::env::temp_dir();
        remove_stale_run_dirs(&base);
        let Ok(dir) = private(tempfile::Builder::new().prefix(RUN_PREFIX)).tempdir_in(&base) else {
            tracing::warn!("cannot make a private temporary folder in {}; using it as it is", base.display());
            return RunDir { dir: None, _lock: None };
        };
        // Locked under another name, then renamed: a run that looks for
        // stale folders never finds the lock file before it is locked.
        let lock =
            crate::lock::Lock::try_take(&dir.path().join(".chatferry-run.new")).ok().flatten().and_then(|mut l| {
                l.rename_to(&dir.path().join(RUN_LOCK)).ok()?;
                Some(l)
            });
        // Changing the environment is sound here: this runs first thing in
        // main, before any thread exists that could read it concurrently.
        std::env::set_var("TMPDIR", dir.path());
        remove_on_signal(dir.path());
        RunDir { dir: Some(dir), _lock: lock }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            keep(dir.path());
            let _ = dir.close();
        }
    }
}

/// Folders `chatferry-run-*` in `base` that hold chatferry's lock file and
/// whose lock nobody holds: their run was killed.
fn remove_stale_run_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with(RUN_PREFIX) || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let lock_path = e.path().join(RUN_LOCK);
        // Not ours (no lock file), or not ours to read: leave it.
        if File::open(&lock_path).is_err() {
            continue;
        }
        if let Ok(Some(lock)) = crate::lock::Lock::try_take(&lock_path) {
            drop(lock);
            if std::fs::remove_dir_all(e.path()).is_ok() {
                eprintln!(
                    "chatferry: removed {}, the temporary files of an earlier run that was stopped",
                    e.path().display()
                );
            }
        }
    }
}
