//! The progress bar on stderr, drawn only when stderr is a terminal and
//! `--quiet` is not given.

use chatferry_core::pipeline::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

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
        Bar { bar: ProgressBar::with_draw_target(None, target) }
    }
}

impl Progress for Bar {
    fn start(&mut self, estimated: Option<u64>) {
        match estimated {
            Some(n) if n > 0 => {
                self.bar.set_length(n);
                self.bar.set_style(
                    ProgressStyle::with_template("{msg:>9} [{bar:30}] {pos}/{len} messages ({per_sec}, {eta})")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
            }
            _ => self.bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {pos} messages ({per_sec})").expect("valid template"),
            ),
        }
    }
    fn stage(&mut self, what: &str) {
        self.bar.set_message(what.to_string());
    }
    fn messages(&mut self, done: u64) {
        self.bar.set_position(done);
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}
