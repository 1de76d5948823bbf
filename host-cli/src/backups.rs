//! `chatferry backups`: the iPhone backups on this computer, and what each
//! holds — the phone's name, iOS version, date, whether it is encrypted and
//! which of WhatsApp, WhatsApp Business and WeChat it has — read from the
//! plists a backup never encrypts, so no password is asked.

use anyhow::Result;
use chatferry_core::backup_plist::{summary, Summary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The apps chatferry reads from a backup: bundle id, name, how to read it.
const APPS: [(&str, &str, &str); 3] = [
    ("net.whatsapp.WhatsApp", "WhatsApp", "--from whatsapp-ios"),
    ("net.whatsapp.WhatsAppSMB", "WhatsApp Business", "--from whatsapp-ios --opt app=business"),
    ("com.tencent.xin", "WeChat", "--from wechat-ios"),
];

/// Where Apple's software keeps backups, with who puts them there. On
/// Linux, libimobiledevice's `idevicebackup2 backup DIR` writes where it is
/// told: that folder is given on the command line.
fn default_places() -> Vec<(PathBuf, &'static str)> {
    let mut places = Vec::new();
    if let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) {
        places.push((home.join("Library/Application Support/MobileSync/Backup"), "Finder or iTunes on a Mac"));
        // iTunes or Apple Devices from the Microsoft Store.
        places.push((home.join("Apple/MobileSync/Backup"), "iTunes or Apple Devices (Microsoft Store) on Windows"));
    }
    if let Some(appdata) = std::env::var_os("APPDATA").filter(|v| !v.is_empty()) {
        places.push((PathBuf::from(appdata).join("Apple Computer/MobileSync/Backup"), "iTunes on Windows"));
    }
    places
}

#[derive(serde::Serialize)]
struct Found {
    path: PathBuf,
    #[serde(flatten)]
    summary: Summary,
    /// The apps chatferry reads, by name.
    chat_apps: Vec<&'static str>,
}

/// The backups in `dir`: itself when it is one, else its folders that are.
fn backups_in(dir: &Path) -> Vec<Found> {
    let found = |p: &Path| {
        summary(p).map(|summary| {
            let chat_apps =
                APPS.iter().filter(|(id, _, _)| summary.apps.iter().any(|a| a == id)).map(|(_, n, _)| *n).collect();
            Found { path: p.to_path_buf(), summary, chat_apps }
        })
    };
    if let Some(one) = found(dir) {
        return vec![one];
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<Found> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| found(&e.path()))
        .collect();
    out.sort_by(|a, b| b.summary.date_utc.cmp(&a.summary.date_utc).then_with(|| a.path.cmp(&b.path)));
    out
}

/// A path as a shell takes it: in double quotes when it holds more than
/// letters, digits and `/._-` (a Mac's backups are under "Application Support").
fn quoted(p: &Path) -> String {
    let s = p.display().to_string();
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b)) {
        return s;
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub fn run(folders: &[PathBuf], json: bool) -> Result<ExitCode> {
    let places: Vec<(PathBuf, &str)> =
        if folders.is_empty() { default_places() } else { folders.iter().map(|f| (f.clone(), "given")).collect() };
    let mut all: Vec<Found> = Vec::new();
    for (place, _) in &places {
        for f in backups_in(place) {
            if !all.iter().any(|seen| seen.path == f.path) {
                all.push(f);
            }
        }
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        outln!("no iPhone backups found in:");
        for (place, who) in &places {
            outln!("  {} ({who})", place.display());
        }
        outln!(
            "Make one with Finder (Mac), iTunes or Apple Devices (Windows) or `idevicebackup2 backup --full DIR` \
             (Linux), then run chatferry backups again (with DIR on Linux)."
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}:", chatferry_core::text_form::counted(all.len() as u64, "iPhone backup", "iPhone backups"));
    for f in &all {
        let s = &f.summary;
        let mut line = vec![s.device.clone().unwrap_or_else(|| "an unnamed iPhone".into())];
        if let Some(v) = &s.ios {
            line.push(format!("iOS {v}"));
        }
        if let Some(d) = &s.date_utc {
            line.push(format!("made {} UTC", d.get(..16).unwrap_or(d).replace('T', " ")));
        }
        line.push(if s.encrypted {
            "encrypted (chatferry asks for its password)".into()
        } else {
            "not encrypted".into()
        });
        line.push(match f.chat_apps.is_empty() {
            true => "no WhatsApp or WeChat in it".into(),
            false => f.chat_apps.join(", "),
        });
        outln!();
        outln!("{}", line.join(" · "));
        outln!("  {}", f.path.display());
        for (id, name, from) in APPS {
            if s.apps.iter().any(|a| a == id) {
                outln!("  {name}: chatferry inspect {} {from}", quoted(&f.path));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
