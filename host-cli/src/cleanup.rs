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

/// Taken by whichever comes first, a signal's clean-up or the main
/// thread's normal end, and never given back: the other then waits for the
/// process to end. Without it a signal arriving as the run ended could
/// have its clean-up cut short by the exit (its placeholder file left in
/// the temporary folder), or the normal end could remove what the clean-up
/// was moving.
static ENDING: Mutex<()> = Mutex::new(());

/// Removes what the run registered and exits as a stopped process does.
fn stopped(signal: i32) -> ! {
    std::mem::forget(ENDING.lock().unwrap_or_else(|p| p.into_inner()));
    remove_registered();
    let name = if signal == 2 { "SIGINT" } else { "SIGTERM" };
    eprintln!("chatferry: stopped by {name}: the partial output and the run's temporary files were removed");
    std::process::exit(128 + signal);
}

/// Called by the main thread before it reports and ends: from here a
/// signal no longer starts a clean-up (the run is complete), and if one is
/// under way it waits for the signal thread to end the process. Its own
/// error then (a file it could not make where the partial output was) is
/// not the news, and ending first would cut the removal short.
pub fn wait_if_stopping() {
    std::mem::forget(ENDING.lock().unwrap_or_else(|p| p.into_inner()));
}

/// Removes what the run registered and exits 0 without a word: what reads
/// chatferry's output has stopped reading (`chatferry adapters | head -1`).
pub fn reader_gone() -> ! {
    remove_registered();
    std::process::exit(0);
}

fn remove_registered() {
    let paths = ON_SIGNAL.lock().map(|p| p.clone()).unwrap_or_default();
    let blockers = remove_all(&paths);
    // Last, just before the process exits and its threads with it.
    for b in blockers {
        let _ = std::fs::remove_file(b);
    }
}

/// Removes `paths` (the latest registered first). Plugin threads may still
/// be writing below a folder, and one that makes its folders as it goes
/// (`create_dir_all`, as whatsapp-txt's copying threads do) would make it
/// anew after it was removed: each folder is first moved aside and an empty
/// file put in its place, so nothing can be made below its name while the
/// tree is removed. Returns those files, to remove at the very end.
fn remove_all(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut blockers = Vec::new();
    for p in paths.iter().rev() {
        let is_dir = |p: &Path| p.symlink_metadata().is_ok_and(|m| m.is_dir());
        let mut n = 0;
        while is_dir(p) && n < 5 {
            n += 1;
            let Some(name) = p.file_name() else { break };
            // Still chatferry's by its name (and marker or lock inside), so
            // a run killed now leaves it for the next run to remove.
            let aside = p.with_file_name(format!("{}.stopped-{n}", name.to_string_lossy()));
            if std::fs::rename(p, &aside).is_err() {
                break;
            }
            if std::fs::OpenOptions::new().write(true).create_new(true).open(p).is_ok() {
                blockers.push(p.clone());
            }
            remove_tree(&aside);
        }
        if blockers.last() != Some(p) {
            remove_tree(p);
        }
    }
    blockers
}

/// Removes a folder (its whole tree) or a file.
fn remove_tree(p: &Path) {
    // A thread may still be writing into it: a file made while it is being
    // removed makes one pass fail, so try again.
    for _ in 0..5 {
        let removed = if p.is_dir() { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
        if removed.is_ok() || p.symlink_metadata().is_err() {
            return;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_a_thread_keeps_making_anew_stays_removed() {
        // whatsapp-txt's copying threads made `.parts/<n>/` again after the
        // signal handler removed the partial output (1 run in 3).
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join(".chatferry-partial-x");
        let lock = dir.path().join(".chatferry-lock-out");
        std::fs::write(&lock, b"1").unwrap();
        std::fs::create_dir_all(partial.join("out/.parts/0")).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (partial, stop) = (partial.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let folder = partial.join(format!("out/.parts/{}", n % 7));
                    if std::fs::create_dir_all(&folder).is_ok() {
                        let _ = std::fs::write(folder.join(format!("{n}.jpg")), b"photo");
                    }
                    n += 1;
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        let blockers = remove_all(&[lock.clone(), partial.clone()]);
        // The writer goes on, as a plugin's threads do until the exit.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(partial.is_file() && !partial.join("out").exists(), "the partial output came back");
        assert!(!lock.exists());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert_eq!(blockers, std::slice::from_ref(&partial));
        for b in blockers {
            std::fs::remove_file(b).unwrap();
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
