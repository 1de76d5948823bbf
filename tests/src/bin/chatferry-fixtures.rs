//! The fixture generator on the command line.
//!
//! `chatferry-fixtures sample-archive OUT` writes the shared sample history
//! as a canonical archive (the repo's `samples/demo-archive` is made by it).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [what, out] if what == "sample-archive" => {
            match chatferry_tests::fixtures::canonical::write_sample_archive(&PathBuf::from(out)) {
                Ok(r) => {
                    println!("wrote {out}: {} messages", r.messages_read());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("chatferry-fixtures: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: chatferry-fixtures sample-archive OUT");
            ExitCode::from(2)
        }
    }
}
