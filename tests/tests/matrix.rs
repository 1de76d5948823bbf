//! The conversion matrix: every ordered pair of {archive, whatsapp-android,
//! whatsapp-ios, wechat-android, wechat-ios} on the shared fixture set (the
//! canonical WhatsApp-side sample and the WeChat sample, each written in
//! every store by the generator), and the generated Telegram account export
//! into each of them (Telegram is read only). Across apps the contact map pairs
//! everyone. Each pair checks the message count, the per-kind report, that
//! text, time (to the second: WeChat for iPhone keeps seconds), sender and
//! media hashes survive, and that converting the output back to the source
//! app keeps what the first conversion kept.

use chatferry_core::{Message, MessageKind};
use chatferry_tests::fixtures::{
    canonical, telegram, wechat_android as wc, wechat_ios as wi, whatsapp_android, whatsapp_ios,
};
use chatferry_tests::harness::{archive_messages, path_arg as s, Env};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

const ADAPTERS: [&str; 5] = ["archive", "whatsapp-android", "whatsapp-ios", "wechat-android", "wechat-ios"];

/// One map for the three samples: the WhatsApp sample's people get WeChat
/// ids, the WeChat sample's people get numbers, the Telegram export's people
/// both; the owner is one person.
const MAP: &str = r#"
[owner]
whatsapp = "+4915112345678"
wechat = "wxid_k3l9m2n8p4q1"
telegram = "user100000001"

[[person]]
whatsapp = "+4915187654321"
wechat = "wxid_alice"
[[person]]
whatsapp = "+8613800138000"
wechat = "wxid_lilei"
telegram = "user200000002"
[[person]]
whatsapp = "+971501234567"
wechat = "wxid_mohammed"
[[person]]
whatsapp = "+14155550123"
wechat = "wxid_prefixy"
telegram = "user400000004"
[[person]]
whatsapp = "+8613800138001"
wechat = "wxid_zhang3wei"
[[person]]
whatsapp = "+971501234568"
wechat = "wxid_amina7"
telegram = "user300000003"
[[person]]
whatsapp = "+14155550124"
wechat = "bob_custom_id"
telegram = "user500000005"
[[person]]
whatsapp = "+14155550125"
wechat = "wxid_gone"
telegram = "user600000006"
[[person]]
whatsapp = "+14155550126"
wechat = "wxid_noah"
telegram = "user700000007"
"#;

fn family(adapter: &str) -> &str {
    adapter.split('-').next().unwrap()
}

fn import_opts(adapter: &str) -> Vec<&'static str> {
    match adapter {
        // msgstore.db does not record the owner's own number.
        "whatsapp-android" => vec!["owner=+4915112345678"],
        _ => vec![],
    }
}

fn export_opts(adapter: &str) -> Vec<&'static str> {
    match adapter {
        "wechat-android" => vec!["uin=-1570123456"],
        "whatsapp-android" | "whatsapp-ios" => vec!["owner=+4915112345678"],
        _ => vec![],
    }
}

struct Ctx {
    env: Env,
    dir: tempfile::TempDir,
    map: PathBuf,
    /// Any id → one key per person (WhatsApp JID, "me" for the owner, group digits).
    person: HashMap<String, String>,
}

impl Ctx {
    fn new() -> Ctx {
        let dir = tempfile::tempdir().unwrap();
        let map = dir.path().join("map.toml");
        std::fs::write(&map, MAP).unwrap();
        let parsed: toml::Value = toml::from_str(MAP).unwrap();
        let jid = |n: &str| format!("{}@s.whatsapp.net", n.chars().filter(char::is_ascii_digit).collect::<String>());
        let mut person = HashMap::new();
        let o = &parsed["owner"];
        person.insert(jid(o["whatsapp"].as_str().unwrap()), "me".to_string());
        person.insert(o["wechat"].as_str().unwrap().to_string(), "me".to_string());
        person.insert(o["telegram"].as_str().unwrap().to_string(), "me".to_string());
        for p in parsed["person"].as_array().unwrap() {
            let j = jid(p["whatsapp"].as_str().unwrap());
            person.insert(p["wechat"].as_str().unwrap().to_string(), j.clone());
            if let Some(t) = p.get("telegram").and_then(|t| t.as_str()) {
                person.insert(t.to_string(), j.clone());
            }
            person.insert(j.clone(), j);
        }
        Ctx { env: Env::new(), dir, map, person }
    }

    fn norm(&self, id: &str) -> String {
        if let Some(g) = id.strip_suffix("@g.us").or(id.strip_suffix("@chatroom")) {
            return format!("group {g}");
        }
        if let Some(p) = self.person.get(id) {
            return p.clone();
        }
        // A WeChat official account has no number: WhatsApp keeps its id as the address.
        let local = match id.strip_suffix("@s.whatsapp.net") {
            Some(local) if !local.bytes().all(|b| b.is_ascii_digit()) => local,
            _ => id,
        };
        // Telegram's groups and channels (`chat123`, `channel123`) are groups elsewhere.
        let group = local.strip_prefix("channel").or(local.strip_prefix("chat"));
        match group.filter(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit())) {
            Some(g) => format!("group {g}"),
            None => local.to_string(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `from` (read by `src`) → `dst` at `out`; returns the report.
    fn convert(&self, from: &Path, src: &str, dst: &str, out: &Path) -> serde_json::Value {
        let rep = PathBuf::from(format!("{}.report.json", out.display()));
        let mut args: Vec<String> = ["convert", s(from), "--from", src, "--to", dst, "-o", s(out), "--report", s(&rep)]
            .iter()
            .map(|a| a.to_string())
            .collect();
        let mut opts = import_opts(src);
        opts.extend(export_opts(dst));
        opts.dedup();
        for o in opts {
            args.extend(["--opt".to_string(), o.to_string()]);
        }
        let crosses = src != "archive" && dst != "archive" && family(src) != family(dst)
            || (src == "archive" && dst.starts_with("wechat"));
        if crosses {
            args.extend(["--contacts".to_string(), s(&self.map).to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.env.run(&args).ok();
        serde_json::from_slice(&std::fs::read(&rep).unwrap()).unwrap()
    }

    /// What `store` holds, as an archive's messages.
    fn read(&self, store: &Path, adapter: &str, name: &str) -> Vec<Message> {
        if adapter == "archive" {
            return archive_messages(store);
        }
        let out = self.path(name);
        self.convert(store, adapter, "archive", &out);
        archive_messages(&out)
    }

    /// Facts that must survive, keyed by (chat, second, from me).
    fn facts(&self, msgs: &[Message]) -> BTreeMap<(String, i64, bool), Facts> {
        let mut out: BTreeMap<(String, i64, bool), Facts> = BTreeMap::new();
        for m in msgs {
            let f = out.entry((self.norm(&m.chat), m.timestamp_ms.div_euclid(1000), m.from_me)).or_default();
            f.count += 1;
            if m.kind == MessageKind::Text {
                f.texts.push(m.text.clone().unwrap_or_default());
            } else if let Some(t) = &m.text {
                f.other_texts.push(t.clone());
            }
            // Sent messages are the owner's (from_me is in the key); system
            // rows and revoke notices carry no sender in WeChat (the actor
            // stays in the event, the name in the notice).
            let has_sender = !m.from_me && !matches!(m.kind, MessageKind::System | MessageKind::Deleted);
            if let Some(sender) = m.sender.as_ref().filter(|_| has_sender) {
                f.senders.push(self.norm(sender));
            }
            if let Some(h) = m.media.as_ref().filter(|x| !x.missing).and_then(|x| x.sha256.clone()) {
                f.media.push(h);
            }
            if let Some(c) = m.media.as_ref().and_then(|x| x.caption.clone()).filter(|_| m.kind.has_media()) {
                f.captions.push(c);
            }
        }
        out
    }
}

#[derive(Default, Debug)]
struct Facts {
    count: usize,
    texts: Vec<String>,
    other_texts: Vec<String>,
    senders: Vec<String>,
    media: Vec<String>,
    captions: Vec<String>,
}

fn contains_all(have: &[String], want: &[String]) -> bool {
    let mut left = have.to_vec();
    want.iter().all(|w| match left.iter().position(|h| h == w) {
        Some(i) => {
            left.remove(i);
            true
        }
        None => false,
    })
}

/// `got` keeps every fact of `want` (a caption may have become its own text row).
fn assert_kept(ctx: &Ctx, want: &[Message], got: &[Message], what: &str) {
    let (w, g) = (ctx.facts(want), ctx.facts(got));
    for (key, wf) in &w {
        let gf = g.get(key).unwrap_or_else(|| panic!("{what}: nothing at {key:?}; want {wf:?}"));
        // A caption may have become a text row of its own, and back.
        let texts: Vec<String> = gf.texts.iter().chain(&gf.captions).cloned().collect();
        assert!(contains_all(&texts, &wf.texts), "{what}: text at {key:?}: {:?} ⊉ {:?}", gf.texts, wf.texts);
        assert!(contains_all(&texts, &wf.captions), "{what}: caption at {key:?}: {gf:?} vs {wf:?}");
        assert!(
            contains_all(&gf.senders, &wf.senders),
            "{what}: senders at {key:?}: {:?} vs {:?}",
            gf.senders,
            wf.senders
        );
        assert!(contains_all(&gf.media, &wf.media), "{what}: media at {key:?}: {:?} vs {:?}", gf.media, wf.media);
        assert!(gf.count >= wf.count, "{what}: messages at {key:?}: {gf:?} vs {wf:?}");
    }
}

fn kind_counts(msgs: &[Message]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for m in msgs {
        *out.entry(m.kind.as_str().to_string()).or_default() += 1;
    }
    out
}

/// The source store of an adapter, written from the shared fixture set:
/// WhatsApp stores and the archive from the canonical sample, WeChat stores
/// from the WeChat sample.
fn source(ctx: &Ctx, adapter: &str) -> PathBuf {
    let at = ctx.path(&format!("source-{adapter}"));
    match adapter {
        "archive" => {
            std::fs::create_dir_all(&at).unwrap();
            canonical::sample_archive_in(&at)
        }
        "whatsapp-android" => whatsapp_android::write_sample(&at).root,
        "whatsapp-ios" => whatsapp_ios::write_sample(&at).root,
        "wechat-android" => wc::write_sample(&at, &wc::Spec::default()).root,
        "wechat-ios" => wi::write_sample(&at, &wi::Spec::default()).root,
        "telegram-json" => telegram::write_account(&at).parent().unwrap().to_path_buf(),
        _ => unreachable!(),
    }
}

fn every_target_from(src: &str) {
    let ctx = Ctx::new();
    let store = source(&ctx, src);
    let read = ctx.read(&store, src, "read");
    assert!(read.len() >= 20, "{src}: the sample is read ({})", read.len());
    for dst in ADAPTERS.iter().copied().filter(|d| *d != src) {
        let what = format!("{src} → {dst}");
        let out = ctx.path(&format!("to-{dst}"));
        let report = ctx.convert(&store, src, dst, &out);

        // The per-kind report: every message read was written, none failed.
        let kinds = kind_counts(&read);
        for (kind, n) in &kinds {
            assert_eq!(report["read"][kind].as_u64(), Some(*n), "{what}: read {kind}: {report}");
            let w = &report["written"][kind];
            let written = w["native"].as_u64().unwrap() + w["downgraded"].as_u64().unwrap();
            assert_eq!(written, *n, "{what}: {kind} written natively or downgraded: {report}");
            assert_eq!(w["failed"].as_u64(), Some(0), "{what}: {kind}: {report}");
        }

        // Voice notes keep their codec across apps, and the report says they may not play
        // (Telegram's are Ogg Opus, as WhatsApp's).
        let ogg_into_whatsapp = src == "telegram-json" && dst.starts_with("whatsapp");
        if family(src) != family(dst) && src != "archive" && dst != "archive" && !ogg_into_whatsapp {
            let voice = report["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["kind"] == "voice")
                .unwrap_or_else(|| panic!("{what}: no voice reason: {report}"));
            assert!(voice["reason"].as_str().unwrap().contains("may not play"), "{what}: {voice}");
        }

        // The count, and what survives.
        let written = ctx.read(&out, dst, &format!("read-{dst}"));
        // WeChat has no captions or reactions: they become rows of their own.
        let extra_rows = if dst.starts_with("wechat") && !src.starts_with("wechat") {
            let captions = read
                .iter()
                .filter(|m| m.kind.has_media() && m.media.as_ref().is_some_and(|x| x.caption.is_some()))
                .count();
            captions + read.iter().map(|m| m.reactions.len()).sum::<usize>()
        } else {
            0
        };
        assert_eq!(written.len(), read.len() + extra_rows, "{what}: message count");
        assert_kept(&ctx, &read, &written, &what);

        // Back to the source app: what the first conversion kept stays.
        if src != "archive" && src != "telegram-json" {
            let back = ctx.path(&format!("back-from-{dst}"));
            ctx.convert(&out, dst, src, &back);
            let again = ctx.read(&back, src, &format!("read-back-from-{dst}"));
            assert_eq!(again.len(), written.len(), "{what} → {src}: message count");
            assert_kept(&ctx, &written, &again, &format!("{what} → {src}"));
        }
    }
}

#[test]
fn from_the_archive() {
    every_target_from("archive");
}

#[test]
fn from_whatsapp_android() {
    every_target_from("whatsapp-android");
}

#[test]
fn from_whatsapp_ios() {
    every_target_from("whatsapp-ios");
}

#[test]
fn from_wechat_android() {
    every_target_from("wechat-android");
}

#[test]
fn from_wechat_ios() {
    every_target_from("wechat-ios");
}

#[test]
fn from_telegram() {
    every_target_from("telegram-json");
}
