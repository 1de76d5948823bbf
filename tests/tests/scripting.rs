//! chatferry in scripts (issue 24): a closed pipe is a quiet exit, the
//! report can go to stdout as JSON, completions and the man page print.

use chatferry_tests::fixtures::canonical;
use chatferry_tests::harness::{path_arg as s, Env, Run};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

/// Runs chatferry with stdout a pipe whose reading end is already closed.
fn into_closed_pipe(env: &Env, args: &[&str]) -> Run {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two new descriptors, each owned once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    let out = env.command().args(args).stdout(Stdio::from(write)).stderr(Stdio::piped()).output().unwrap();
    Run::from(out)
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let sample = canonical::sample_archive_in(dir.path());
    let out = dir.path().join("out");
    for args in [
        vec!["adapters"],
        vec!["adapters", "--json"],
        vec!["man"],
        vec!["completions", "bash"],
        vec!["inspect", s(&sample)],
        vec!["convert", s(&sample), "--to", "archive", "-o", s(&out)],
    ] {
        let run = into_closed_pipe(&env, &args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert!(run.stderr.is_empty(), "{args:?}: nothing on stderr: {}", run.stderr);
    }
}

#[test]
fn the_report_goes_to_stdout_as_json_with_report_dash_or_json() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let sample = canonical::sample_archive_in(dir.path());
    for (i, flag) in [["--report", "-"], ["--json", "--force"]].iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let mut args = vec!["convert", s(&sample), "--to", "html", "-o", s(&out)];
        args.extend(flag);
        let run = env.run(&args).ok();
        let report = run.json();
        assert_eq!(report["target_adapter"], "html", "{flag:?}");
        assert!(run.stderr.contains("written:"), "the text report goes to stderr: {}", run.stderr);
        assert!(!dir.path().join("-").exists(), "`-` is stdout, not a file");
    }
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = env.run(&["completions", shell]).ok();
        assert!(run.stdout.contains("convert") && run.stdout.contains("chatferry"), "{shell}");
    }
    let man = env.run(&["man"]).ok();
    assert!(man.stdout.contains(".TH chatferry 1"), "{}", &man.stdout[..200.min(man.stdout.len())]);
}
