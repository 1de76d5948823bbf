//! The progress line on stderr, drawn only when stderr is a terminal and
//! `--quiet` is not given. One line of at most 80 columns: the stage, a
//! bar when the total is known, messages done, the rate as a whole number
//! per second, the time taken, and the time left when the total is known.

use chatferry_core::pipeline::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The widest a progress line may be (a classic terminal).
pub const WIDTH: usize = 80;

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new(quiet: bool) -> Bar {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(style(String::new()));
        Bar { bar }
    }
}

/// The line as indicatif draws it, with `stage` as its first word.
fn style(stage: String) -> ProgressStyle {
    ProgressStyle::with_template("{line}").expect("a valid template").with_key(
        "line",
        move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = out.write_str(&line(&Shown {
                stage: &stage,
                done: state.pos(),
                total: state.len().filter(|n| *n > 0),
                elapsed: state.elapsed(),
            }));
        },
    )
}

/// What one drawing of the line shows.
pub struct Shown<'a> {
    pub stage: &'a str,
    pub done: u64,
    pub total: Option<u64>,
    pub elapsed: Duration,
}

/// `messages [=====>      ] 120000/1000000  52311/s  0:02 left 0:17`, at
/// most [`WIDTH`] columns whatever the numbers; the bar gives way first.
pub fn line(s: &Shown) -> String {
    let secs = s.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { (s.done as f64 / secs) as u64 } else { 0 };
    let mut tail = match s.total {
        Some(total) => format!(" {}/{} msgs {rate}/s {}", s.done, total, clock(s.elapsed.as_secs())),
        None => format!(" {} msgs {rate}/s {}", s.done, clock(s.elapsed.as_secs())),
    };
    if let Some(total) = s.total {
        if rate > 0 && total > s.done {
            tail.push_str(&format!(" left {}", clock((total - s.done) / rate)));
        }
    }
    let stage: String = s.stage.chars().take(10).collect();
    let mut out = format!("{stage:<10}");
    if let Some(total) = s.total {
        let room = WIDTH.saturating_sub(out.len() + tail.len() + 3).min(30);
        if room >= 5 {
            let filled = ((s.done.min(total) as f64 / total as f64) * room as f64) as usize;
            let arrow = if filled < room { ">" } else { "" };
            out.push_str(&format!(" [{}{arrow}{}]", "=".repeat(filled), " ".repeat(room - filled - arrow.len())));
        }
    }
    out.push_str(&tail);
    // Only absurd numbers get here; cut rather than wrap the terminal.
    out.chars().take(WIDTH).collect()
}

/// `0:07`, `12:34`, `3:02:01`.
fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

impl Progress for Bar {
    fn start(&mut self, estimated: Option<u64>) {
        if let Some(n) = estimated.filter(|n| *n > 0) {
            self.bar.set_length(n);
        }
        // The time keeps moving while a stage (indexes, media) works
        // without counting messages.
        self.bar.enable_steady_tick(Duration::from_millis(250));
    }
    fn stage(&mut self, what: &str) {
        self.bar.set_style(style(what.to_string()));
    }
    fn messages(&mut self, done: u64) {
        self.bar.set_position(done);
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_fits_80_columns_whatever_the_numbers() {
        let cases = [
            ("messages", 0, Some(1_000_000), 0),
            ("messages", 120_000, Some(1_000_000), 2),
            ("finishing", 1_000_000, Some(1_000_000), 25),
            ("messages", 52_311, None, 1),
            ("contacts", u64::MAX / 3, Some(u64::MAX / 2), 400_000),
            ("a very long stage name", 999_999_999_999, None, 10_000_000),
        ];
        for (stage, done, total, secs) in cases {
            let l = line(&Shown { stage, done, total, elapsed: Duration::from_secs(secs) });
            assert!(l.chars().count() <= WIDTH, "{} columns: {l}", l.chars().count());
            assert!(l.contains(&done.to_string()[..done.to_string().len().min(6)]), "{l}");
        }
        let l =
            line(&Shown { stage: "messages", done: 120_000, total: Some(1_000_000), elapsed: Duration::from_secs(2) });
        assert!(l.contains("120000/1000000 msgs 60000/s 0:02 left 0:14"), "{l}");
        assert!(l.contains(" [==>  "), "a bar when the total is known: {l}");
        let l = line(&Shown { stage: "messages", done: 7, total: None, elapsed: Duration::from_millis(3500) });
        assert!(l.ends_with(" 7 msgs 2/s 0:03"), "an integer rate, no ETA without a total: {l}");
    }
}
