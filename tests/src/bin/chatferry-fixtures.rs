//! The fixture generator on the command line.
//!
//! - `chatferry-fixtures sample-archive OUT`: the shared sample history as a
//!   canonical archive (`samples/demo-archive` is made by it).
//! - `chatferry-fixtures whatsapp-android OUT [--messages N]`: a WhatsApp
//!   folder (Databases/msgstore.db, wa.db, Media/) with the sample, or with
//!   N messages repeating it (the benchmark input).

use chatferry_tests::fixtures::{canonical, whatsapp_android};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: chatferry-fixtures sample-archive OUT\n       chatferry-fixtures whatsapp-android OUT [--messages N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["sample-archive", out] => match canonical::write_sample_archive(&PathBuf::from(out)) {
            Ok(r) => {
                println!("wrote {out}: {} messages", r.messages_read());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("chatferry-fixtures: {e}");
                ExitCode::FAILURE
            }
        },
        ["whatsapp-android", out] => {
            let fx = whatsapp_android::write_sample(&PathBuf::from(out));
            println!("wrote {out}: {} messages", fx.row_of.len());
            ExitCode::SUCCESS
        }
        ["whatsapp-android", out, "--messages", n] => match n.parse::<usize>() {
            Ok(n) => {
                whatsapp_android::write_scaled(&PathBuf::from(out), n);
                println!("wrote {out}: {n} messages");
                ExitCode::SUCCESS
            }
            Err(_) => {
                eprintln!("{USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
