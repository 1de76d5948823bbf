//! A run that is stopped leaves nothing private behind, and two runs never
//! write one output. The `stall` fixture plugin keeps a "decrypted" file
//! in a temporary folder and waits mid-import, so each test can stop the
//! run while the output is half written. Each failed on the code before
//! the fix (issue 20, items 6–8).

use chatferry_tests::fixtures::canonical;
use chatferry_tests::harness::{path_arg as s, tree_digest, Env, Run};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Setup {
    dir: tempfile::TempDir,
    env: Env,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        std::fs::write(dir.path().join("history.stall"), b"anything").unwrap();
        let env = Env::new().with_plugins(&[("chatferry_testplugin_stall", "stall")]);
        Setup { dir, env }
    }
    /// The system temporary folder the runs see.
    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }
    /// Where outputs go (nothing else is in it).
    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }
    fn out(&self) -> PathBuf {
        self.work().join("out")
    }
    fn start(&self, extra: &[&str]) -> Child {
        self.start_to("archive", extra)
    }
    fn start_to(&self, to: &str, extra: &[&str]) -> Child {
        let input = self.dir.path().join("history.stall");
        self.env
            .command()
            .env("TMPDIR", self.tmp())
            .args(["convert", s(&input), "--to", to, "-o", s(&self.out())])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
    fn run(&self, args: &[&str]) -> Run {
        let out = self.env.command().env("TMPDIR", self.tmp()).args(args).output().unwrap();
        Run::from(out)
    }
    /// Waits until the run is mid-way: its private file exists and its
    /// partial output has begun.
    fn wait_until_mid_way(&self, child: &mut Child) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the run ended before it was stopped: {status}");
            }
            let private = find(&self.tmp(), "decrypted.db");
            let partial = names(&self.work()).iter().any(|n| n.starts_with(".chatferry-partial-"));
            if private.is_some() && partial {
                return;
            }
            assert!(Instant::now() < deadline, "the run did not reach its wait within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        if e.file_name() == name {
            return Some(e.path());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if let Some(p) = find(&e.path(), name) {
                return Some(p);
            }
        }
    }
    None
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on the pid of a child this test spawned and has not
    // yet waited for.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

fn finish(child: Child) -> Run {
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn ctrl_c_and_sigterm_remove_the_partial_output_and_every_temporary_file() {
    // html keeps spill files of its own in the temporary folder.
    for (sig, code, to) in [(libc::SIGINT, 130, "archive"), (libc::SIGTERM, 143, "html"), (libc::SIGINT, 130, "html")] {
        let t = Setup::new();
        let mut child = t.start_to(to, &[]);
        t.wait_until_mid_way(&mut child);
        signal(&child, sig);
        let run = finish(child);
        assert_eq!(run.code, code, "signal {sig}: {run:?}");
        let lines = run.error_lines();
        assert_eq!(lines.len(), 1, "one line: {run:?}");
        assert!(lines[0].contains("stopped by") && lines[0].contains("removed"), "{}", lines[0]);
        assert_eq!(names(&t.work()), Vec::<String>::new(), "signal {sig}: nothing left beside the output");
        assert_eq!(names(&t.tmp()), Vec::<String>::new(), "signal {sig}: no temporary file left");
    }
}

#[test]
fn what_a_killed_run_left_is_removed_by_the_next_run_and_nothing_else() {
    let t = Setup::new();
    // Folders that look like chatferry's but are not: never removed.
    let not_ours_partial = t.work().join(".chatferry-partial-someone");
    let not_ours_run = t.tmp().join("chatferry-run-someone");
    for d in [&not_ours_partial, &not_ours_run] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("keep"), b"not chatferry's").unwrap();
    }
    let mut child = t.start(&[]);
    t.wait_until_mid_way(&mut child);
    signal(&child, libc::SIGKILL);
    finish(child);
    // A kill cannot be handled: the private file and the partial output are still there.
    assert!(find(&t.tmp(), "decrypted.db").is_some());
    assert!(names(&t.work()).iter().any(|n| n.starts_with(".chatferry-partial-") && n != ".chatferry-partial-someone"));

    let sample = t.dir.path().join("sample");
    canonical::write_sample_archive(&sample).unwrap();
    let run = t.run(&["convert", s(&sample), "--to", "archive", "-o", s(&t.out())]).ok();
    assert!(run.stderr.contains("an earlier run"), "says what it removed: {}", run.stderr);
    assert_eq!(find(&t.tmp(), "decrypted.db"), None, "the killed run's private file is gone");
    assert_eq!(names(&t.work()), vec![".chatferry-partial-someone", "out"]);
    assert_eq!(names(&t.tmp()), vec!["chatferry-run-someone"]);
    assert!(not_ours_partial.join("keep").exists() && not_ours_run.join("keep").exists());
}

#[test]
fn a_second_run_into_the_same_output_stops_in_one_line_while_the_first_writes() {
    let t = Setup::new();
    let mut first = t.start(&[]);
    t.wait_until_mid_way(&mut first);
    let sample = t.dir.path().join("sample");
    canonical::write_sample_archive(&sample).unwrap();
    let out = t.out();
    for force in [false, true] {
        let mut args = vec!["convert", s(&sample), "--to", "archive", "-o", s(&out)];
        if force {
            args.push("--force");
        }
        let run = t.run(&args).fails_with(1);
        let lines = run.error_lines();
        assert_eq!(lines.len(), 1, "{run:?}");
        assert!(lines[0].contains("another chatferry is writing"), "{}", lines[0]);
        assert!(lines[0].contains(&format!("process {}", first.id())), "names the other run: {}", lines[0]);
    }
    signal(&first, libc::SIGTERM);
    assert_eq!(finish(first).code, 143);
    assert!(!t.out().exists());
    // Once the first is gone, the output is free.
    t.run(&["convert", s(&sample), "--to", "archive", "-o", s(&t.out())]).ok();
}

#[test]
fn a_replacement_that_is_killed_leaves_the_previous_output_complete() {
    let t = Setup::new();
    let sample = t.dir.path().join("sample");
    canonical::write_sample_archive(&sample).unwrap();
    t.run(&["convert", s(&sample), "--to", "archive", "-o", s(&t.out())]).ok();
    let before = tree_digest(&t.out());
    for sig in [libc::SIGKILL, libc::SIGINT] {
        let mut child = t.start(&["--force"]);
        t.wait_until_mid_way(&mut child);
        signal(&child, sig);
        finish(child);
        assert_eq!(tree_digest(&t.out()), before, "signal {sig}: the old output is whole");
    }
    // The next --force run clears what the kill left and replaces the output.
    let run = t.run(&["convert", s(&sample), "--to", "html", "-o", s(&t.out()), "--force"]).ok();
    assert!(run.stderr.contains("an earlier run"), "{}", run.stderr);
    assert!(t.out().join("index.html").is_file());
    assert_eq!(names(&t.work()), vec!["out"]);
    assert_eq!(names(&t.tmp()), Vec::<String>::new());
}
