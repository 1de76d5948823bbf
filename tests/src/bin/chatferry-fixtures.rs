//! The fixture generator on the command line.
//!
//! - `chatferry-fixtures sample-archive OUT`: the shared sample history as a
//!   canonical archive (`samples/demo-archive` is made by it).
//! - `chatferry-fixtures whatsapp-android OUT [--messages N]`: a WhatsApp
//!   folder (Databases/msgstore.db, wa.db, Media/) with the sample, or with
//!   N messages repeating it (the benchmark input).
//! - `chatferry-fixtures wechat-android OUT [--messages N]`: WeChat's app
//!   folder (shared_prefs/, MicroMsg/<account>/EnMicroMsg.db encrypted with
//!   WeChat's default device id, media), the WeChat sample or N messages.
//! - `chatferry-fixtures telegram OUT [--messages N]`: a Telegram Desktop
//!   account export (`result.json` and media): ten chats of every kind, or N
//!   messages over a thousand chats (the benchmark input).

use chatferry_tests::fixtures::{canonical, telegram, wechat_android, wechat_ios, whatsapp_android};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: chatferry-fixtures sample-archive OUT
       chatferry-fixtures whatsapp-android OUT [--messages N]
       chatferry-fixtures wechat-android OUT [--messages N]
       chatferry-fixtures wechat-ios OUT [--messages N] [--backup]
       chatferry-fixtures telegram OUT [--messages N]";

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
        ["wechat-android", out] => {
            let fx = wechat_android::write_sample(&PathBuf::from(out), &wechat_android::Spec::default());
            println!("wrote {out} (database key {})", fx.key);
            ExitCode::SUCCESS
        }
        ["wechat-android", out, "--messages", n] => match n.parse::<usize>() {
            Ok(n) => {
                let fx = wechat_android::write_scaled(&PathBuf::from(out), n);
                println!("wrote {out}: {n} messages (database key {})", fx.key);
                ExitCode::SUCCESS
            }
            Err(_) => {
                eprintln!("{USAGE}");
                ExitCode::from(2)
            }
        },
        ["wechat-ios", out, rest @ ..] => {
            let backup = rest.contains(&"--backup");
            let n =
                match rest.iter().position(|a| *a == "--messages").map(|i| rest.get(i + 1).map(|n| n.parse::<usize>()))
                {
                    None => None,
                    Some(Some(Ok(n))) => Some(n),
                    Some(_) => {
                        eprintln!("{USAGE}");
                        return ExitCode::from(2);
                    }
                };
            let out = PathBuf::from(out);
            let folder = if backup { out.join("app") } else { out.clone() };
            let fx = match n {
                Some(n) => wechat_ios::write_scaled(&folder, n),
                None => wechat_ios::write_sample(&folder, &wechat_ios::Spec::default()),
            };
            if backup {
                wechat_ios::write_backup(&fx, &out.join("backup"), None);
                println!("wrote {}: an iPhone backup holding WeChat's Documents/", out.join("backup").display());
            } else {
                println!("wrote {}: WeChat's Documents/ folder", out.display());
            }
            ExitCode::SUCCESS
        }
        ["telegram", out] => {
            let p = telegram::write_account(&PathBuf::from(out));
            println!("wrote {}: a Telegram account export of {} messages", p.display(), telegram::FILE_MESSAGES);
            ExitCode::SUCCESS
        }
        ["telegram", out, "--messages", n] => {
            let Ok(n) = n.parse::<usize>() else {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            };
            let p = telegram::write_large(&PathBuf::from(out), n, 1000);
            println!("wrote {}: a Telegram account export of {n} messages", p.display());
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
