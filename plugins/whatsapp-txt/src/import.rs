//! Reading exports. Each transcript is read twice, line by line: the first
//! pass learns the date order of each shape of date, the authors and
//! whether it is a group; the second streams the messages. Memory holds one
//! line and one message, whatever the file's length.

use crate::body::{self, Body};
use crate::folder::MediaFolder;
use crate::header::{self, Decision, Orders};
use crate::source::ChatFile;
use crate::zone::{Fit, Zone};
use chatferry_core::digits::decimal;
use chatferry_core::media::{mime_for_extension, Resolve};
use chatferry_core::{
    Chat, ChatKind, Contact, ContactCard, Error, Header, Importer, Location, Media, Message, MessageKind, Options,
    Participant, Report, Result, Role, Status, SystemEvent,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Read};
use std::path::Path;

pub const SOURCE: &str = "whatsapp-txt";
/// A physical line longer than this is not an export's.
const MAX_LINE: usize = 16 << 20;
/// A message (all its lines) longer than this is cut, and noted.
const MAX_MESSAGE: usize = 64 << 20;

/// Lines of one file, with its name for errors.
struct Lines {
    reader: std::io::BufReader<std::fs::File>,
    shown: String,
    number: u64,
    buf: Vec<u8>,
}

impl Lines {
    fn open(path: &Path, shown: &str) -> Result<Lines> {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
        Ok(Lines { reader: std::io::BufReader::with_capacity(1 << 16, f), shown: shown.into(), number: 0, buf: vec![] })
    }

    /// The next line without its line end, or `None` at the end.
    fn next(&mut self) -> Result<Option<&str>> {
        self.buf.clear();
        let n = (&mut self.reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::bad_input(format!("{}: cannot be read ({e})", self.shown)))?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        if self.buf.len() > MAX_LINE {
            return Err(Error::bad_input(format!(
                "{}: line {} is longer than 16 MiB; this is not a WhatsApp export",
                self.shown, self.number
            )));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        if self.buf.contains(&0) {
            return Err(Error::bad_input(format!(
                "{}: line {} holds binary data; this is not a WhatsApp export text",
                self.shown, self.number
            )));
        }
        let text = std::str::from_utf8(&self.buf).map_err(|_| {
            Error::bad_input(format!(
                "{}: line {} is not UTF-8 text; WhatsApp writes exports in UTF-8 (was the file converted?)",
                self.shown, self.number
            ))
        })?;
        Ok(Some(if self.number == 1 { text.trim_start_matches('\u{feff}') } else { text }))
    }
}

/// `Author: body`, or `None` for a line without an author.
fn split_author<'a>(rest: &'a str, known: &dyn Fn(&str) -> bool) -> Option<(&'a str, &'a str)> {
    if let Some((a, b)) = rest.split_once(": ") {
        if !a.is_empty() && a.chars().count() <= 100 {
            return Some((a, b));
        }
    }
    // `John Doe:.`: a colon without a space, from an author seen elsewhere.
    let (a, b) = rest.split_once(':')?;
    known(a).then_some((a, b))
}

/// What the first pass learnt about one transcript.
struct Plan {
    file: ChatFile,
    orders: Orders,
    /// Each author and how many messages they wrote.
    authors: BTreeMap<String, u64>,
    chat: Chat,
    /// Each author's contact id, made once (a hash) rather than per message.
    ids: HashMap<String, String>,
    me: Option<String>,
    me_how: &'static str,
    headers: u64,
    lines_before: u64,
}

fn contact_id(author: &str) -> String {
    let name = author.trim_start_matches(['~', ' ', '\u{202f}', '\u{a0}']);
    let looks_like_number =
        name.starts_with('+') && name.chars().all(|c| c.is_ascii_digit() || " +-()\u{2011}\u{a0}\u{202f}".contains(c));
    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
    if looks_like_number && (6..=15).contains(&digits.len()) {
        return format!("{digits}@s.whatsapp.net");
    }
    // Someone known only by name: chatferry's placeholder, stable for the name.
    chatferry_core::phone::placeholder_jid(name)
}

fn group_id(title: &str) -> String {
    chatferry_core::phone::placeholder_group_jid(&format!("group:{title}"))
}

fn learn(file: ChatFile, forced: Option<header::Order>, me_option: Option<&str>) -> Result<Plan> {
    let mut lines = Lines::open(&file.txt, &file.shown)?;
    let mut orders = Orders::forced(forced);
    let mut authors: BTreeMap<String, u64> = BTreeMap::new();
    let (mut headers, mut lines_before, mut any) = (0u64, 0u64, false);
    let mut group_hint = false;
    while let Some(line) = lines.next()? {
        any |= !line.trim().is_empty();
        let Some(h) = header::parse(line) else {
            if headers == 0 && !line.trim().is_empty() {
                lines_before += 1;
            }
            continue;
        };
        headers += 1;
        orders.learn(&h);
        match split_author(h.rest, &|a| authors.contains_key(a)) {
            Some((a, b)) => {
                // iPhone system lines carry the group's (or actor's) name, their text after U+200E.
                if h.bracketed && is_ios_system(b) {
                    group_hint |= a == file.title;
                    continue;
                }
                // Looked up before inserting: one allocation per author, not per line.
                match authors.get_mut(a) {
                    Some(n) => *n += 1,
                    None => {
                        authors.insert(a.to_string(), 1);
                    }
                }
            }
            None => {
                group_hint |=
                    h.rest.contains(" created group ") || h.rest.contains(" added ") || h.rest.contains(" left")
            }
        }
    }
    if !any {
        return Err(Error::bad_input(format!("{} is empty", file.shown)));
    }
    if headers == 0 {
        return Err(Error::bad_input(format!(
            "{}: no line starts like a WhatsApp export message (`6/30/23, 16:14 - Name: text` or \
             `[30/06/2023, 16:14:05] Name: text`); is it an export?",
            file.shown
        )));
    }
    let group = group_hint || authors.len() > 2;
    let (me, me_how) = match me_option {
        Some(m) => (Some(m.to_string()), "given with --opt me"),
        None if !group && authors.len() == 2 && authors.contains_key(&file.title) => {
            (authors.keys().find(|a| **a != file.title).cloned(), "inferred: the author who is not the chat's title")
        }
        None => (None, ""),
    };
    let title = file.title.clone();
    let chat = if group {
        Chat {
            id: group_id(&title),
            kind: ChatKind::Group,
            title: Some(title),
            participants: authors
                .keys()
                .map(|a| Participant { contact: contact_id(a), role: Role::Member, display_name: None })
                .collect(),
            created_ms: None,
            archived: false,
            extras: Default::default(),
        }
    } else {
        let peer = authors.keys().find(|a| Some(*a) != me.as_ref()).cloned().unwrap_or_else(|| title.clone());
        Chat {
            id: contact_id(&peer),
            kind: ChatKind::Direct,
            title: None,
            participants: vec![Participant { contact: contact_id(&peer), role: Role::Member, display_name: None }],
            created_ms: None,
            archived: false,
            extras: Default::default(),
        }
    };
    let ids = authors.keys().map(|a| (a.clone(), contact_id(a))).collect();
    Ok(Plan { file, orders, authors, chat, ids, me, me_how, headers, lines_before })
}

/// `X: X updated the message timer…`: a notice some exports put under
/// the name of who acted (English wording; other locales stay texts).
fn acts(author: &str, body: &str) -> bool {
    const DEEDS: [&str; 9] = [
        " updated the message timer",
        " turned on disappearing messages",
        " turned off disappearing messages",
        " changed the subject ",
        " changed this group's icon",
        " changed the group description",
        " created group ",
        " joined using this group's invite link",
        " changed their phone number",
    ];
    body.strip_prefix(author).is_some_and(|rest| DEEDS.iter().any(|d| rest.starts_with(d)))
}

fn is_ios_system(body: &str) -> bool {
    body.starts_with('\u{200e}') && matches!(body::classify(body, &|_| false), Body::Text(_))
}

pub struct TxtImporter {
    plans: Vec<Plan>,
    zone: Zone,
    owner: Option<Contact>,
    contacts: Option<Vec<Contact>>,
    chats: Option<Vec<Chat>>,
    current: usize,
    /// The current file's lines and the folder of its attachments.
    reading: Option<(Lines, MediaFolder)>,
    pending: Option<Pending>,
    last_ms: Option<i64>,
    /// Ids given in the current minute, for the occurrence count.
    minute: (i64, HashMap<[u8; 32], u32, KeyIsHash>),
    report: Report,
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    nulls: u64,
    omitted: u64,
    repeated: u64,
    skipped: u64,
    cut: u64,
    refused: u64,
}

/// The message being read, until the next header ends it.
struct Pending {
    msg: Message,
    author: Option<String>,
    /// Android: the lines after `(file attached)` are its caption.
    caption_follows: bool,
}

impl TxtImporter {
    pub fn open(input: &Path, options: &Options) -> Result<TxtImporter> {
        let forced = match options.get("date-order") {
            None => None,
            Some(o) => Some(
                header::Order::parse(o)
                    .ok_or_else(|| Error::usage(format!("date-order {o:?}: give dmy, mdy, ymd or ydm")))?,
            ),
        };
        let zone = Zone::from_option(options.get("timezone"))?;
        let me = options.get("me").map(str::trim).filter(|m| !m.is_empty());
        let mut report = Report::new();
        let mut plans = Vec::new();
        for file in crate::source::find(input)? {
            let plan = learn(file, forced, me)?;
            report.note(describe(&plan));
            plans.push(plan);
        }
        report
            .note(format!("times read as {} (the export holds none; give --opt timezone=Area/City)", zone.describe()));
        // Contacts: every author once, across chats.
        let mut contacts: BTreeMap<String, Contact> = BTreeMap::new();
        let mut owner = None;
        for p in &plans {
            for a in p.authors.keys() {
                let id = contact_id(a);
                let c = Contact {
                    id: id.clone(),
                    name: Some(a.trim_start_matches(['~', ' ', '\u{202f}']).to_string()),
                    phone: id.strip_suffix("@s.whatsapp.net").filter(|d| !d.starts_with('0')).map(|d| format!("+{d}")),
                    ..Default::default()
                };
                if p.me.as_deref() == Some(a.as_str()) {
                    owner = Some(c.clone());
                } else {
                    contacts.insert(id, c);
                }
            }
        }
        // A one-to-one chat whose person wrote nothing still names them.
        for p in &plans {
            if p.chat.kind == ChatKind::Direct && !contacts.contains_key(&p.chat.id) {
                let is_owner = owner.as_ref().is_some_and(|o| o.id == p.chat.id);
                if !is_owner {
                    let c = Contact { id: p.chat.id.clone(), name: Some(p.file.title.clone()), ..Default::default() };
                    contacts.insert(p.chat.id.clone(), c);
                }
            }
        }
        Ok(TxtImporter {
            plans,
            zone,
            owner,
            contacts: Some(contacts.into_values().collect()),
            chats: None,
            current: 0,
            reading: None,
            pending: None,
            last_ms: None,
            minute: (i64::MIN, HashMap::default()),
            report,
            counts: Counts::default(),
        })
    }

    /// Finishes the pending message into `out`.
    fn flush(&mut self, out: &mut Vec<Message>) {
        let Some(Pending { mut msg, author, .. }) = self.pending.take() else { return };
        // Blank lines before the next header belong to no message.
        for t in [msg.text.as_mut(), msg.media.as_mut().and_then(|m| m.caption.as_mut())].into_iter().flatten() {
            let kept = t.trim_end_matches('\n').len();
            t.truncate(kept);
        }
        if msg.kind == MessageKind::Location {
            if let (Some(l), Some(name)) = (msg.location.as_mut(), msg.text.take()) {
                l.name = Some(name);
            }
        }
        if msg.media.as_ref().is_some_and(|m| m.caption.as_deref() == Some("")) {
            msg.media.as_mut().expect("checked").caption = None;
        }
        if let Some(t) = msg.text.as_mut() {
            if let Some(stripped) = t.strip_suffix(" <This message was edited>") {
                let kept = stripped.len();
                t.truncate(kept);
                msg.edited = true;
            }
        }
        // A stable id: the same export read twice gives the same ids.
        let mut h = Sha256::new();
        let mut time = [0u8; 20];
        for part in [
            msg.chat.as_str(),
            decimal(msg.timestamp_ms, &mut time),
            author.as_deref().unwrap_or(""),
            msg.text.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        if let Some(m) = &msg.media {
            h.update(m.file_name.as_deref().unwrap_or("").as_bytes());
        }
        let key: [u8; 32] = h.finalize().into();
        if self.minute.0 != msg.timestamp_ms {
            self.minute.0 = msg.timestamp_ms;
            self.minute.1.clear(); // keeps its allocation
        }
        let n = self.minute.1.entry(key).or_default();
        *n += 1;
        let mut id = String::with_capacity(32);
        for b in &key[..10] {
            id.push(HEX[usize::from(b >> 4)] as char);
            id.push(HEX[usize::from(b & 15)] as char);
        }
        id.push('-');
        id.push_str(decimal(i64::from(*n), &mut time));
        msg.id = id;
        out.push(msg);
    }

    /// Reads one line of the current file; `false` at its end.
    fn step(&mut self, lines: &mut Lines, folder: &MediaFolder, out: &mut Vec<Message>) -> Result<bool> {
        let plan = &self.plans[self.current];
        let Some(line) = lines.next()? else { return Ok(false) };
        let parsed = header::parse(line).and_then(|h| plan.orders.date(&h).map(|d| (h, d)));
        let Some((h, (y, mo, d))) = parsed else {
            // A line of the message before (blank lines too).
            match self.pending.as_mut() {
                Some(p) => {
                    let slot = if p.caption_follows {
                        p.msg.media.as_mut().map(|m| &mut m.caption)
                    } else {
                        Some(&mut p.msg.text)
                    };
                    match slot {
                        Some(Some(t)) if t.len() + line.len() >= MAX_MESSAGE => self.counts.cut += 1,
                        Some(Some(t)) => {
                            t.push('\n');
                            t.push_str(line);
                        }
                        Some(empty) => *empty = Some(line.to_string()),
                        None => {}
                    }
                }
                None => self.counts.skipped += u64::from(!line.trim().is_empty()),
            }
            return Ok(true);
        };
        let rest = h.rest;
        let naive = chrono::NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(header::hour24(&h), h.minute, h.second.unwrap_or(0)));
        let Some(naive) = naive else {
            return Ok(true); // 31 February: not a header after all
        };
        self.flush(out);
        let (ts, fit) = self.zone.to_utc(naive, self.last_ms);
        if fit != Fit::Exact {
            self.counts.repeated += 1;
        }
        self.last_ms = Some(ts);
        let plan = &self.plans[self.current];
        let mut msg =
            Message { chat: plan.chat.id.clone(), timestamp_ms: ts, status: Status::Received, ..Default::default() };
        let (author, body) = match split_author(rest, &|a| plan.authors.contains_key(a)) {
            Some((a, b)) if !(h.bracketed && is_ios_system(b)) && !acts(a, b) => (a, b),
            Some((a, b)) => {
                // An iPhone system line: its author is the group or the actor.
                let actor = (acts(a, b) || a != plan.file.title).then(|| contact_id(a));
                msg.kind = MessageKind::System;
                msg.text = Some(b.trim_start_matches('\u{200e}').to_string());
                msg.system = Some(SystemEvent { action: "other".into(), actor, ..Default::default() });
                self.pending = Some(Pending { msg, author: Some(a.to_string()), caption_follows: false });
                return Ok(true);
            }
            None => {
                msg.kind = MessageKind::System;
                let action = if rest.starts_with("Messages and calls are end-to-end encrypted")
                    || rest.starts_with("Messages to this group are now secured")
                {
                    "encryption_notice"
                } else if rest.contains("updated the message timer") || rest.contains("turned on disappearing messages")
                {
                    "disappearing_timer"
                } else {
                    "other"
                };
                msg.system = Some(SystemEvent { action: action.into(), ..Default::default() });
                msg.text = Some(rest.to_string());
                self.pending = Some(Pending { msg, author: None, caption_follows: false });
                return Ok(true);
            }
        };
        let from_me = plan.me.as_deref() == Some(author);
        msg.from_me = from_me;
        msg.status = if from_me { Status::Sent } else { Status::Received };
        msg.sender = Some(plan.ids.get(author).cloned().unwrap_or_else(|| contact_id(author)));
        let mut caption_follows = false;
        match body::classify(body, &|name| folder.exists(name)) {
            Body::Text(t) => {
                msg.kind = MessageKind::Text;
                msg.text = Some(t.to_string());
            }
            Body::Null => {
                self.counts.nulls += 1;
                msg.kind = MessageKind::Other;
                msg.extras.insert("whatsapp_txt.body".into(), "null".into());
            }
            Body::Deleted => msg.kind = MessageKind::Deleted,
            Body::Omitted(kind) => {
                self.counts.omitted += 1;
                msg.kind = kind;
                msg.media = Some(Media { missing: true, ..Default::default() });
            }
            Body::Location { latitude, longitude, url } => {
                msg.kind = MessageKind::Location;
                msg.location = Some(Location { latitude, longitude, url: Some(url.to_string()), ..Default::default() });
            }
            Body::Attached { file, caption } => {
                msg.kind = body::kind_of_file(file);
                let ext = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
                let mut media = Media {
                    file_name: Some(file.to_string()),
                    mime: ext.as_deref().and_then(mime_for_extension).map(String::from),
                    caption: caption.map(String::from),
                    ..Default::default()
                };
                let safe = !file.contains(['/', '\\']) && file != ".." && !file.is_empty();
                match safe.then(|| folder.find(file)) {
                    Some(Ok(Resolve::Found(p))) => {
                        if msg.kind == MessageKind::Contact {
                            msg.contact_card = read_vcard(&p);
                        }
                        media.path = Some(p.to_string_lossy().into_owned());
                    }
                    Some(Ok(Resolve::Missing(_))) => media.missing = true,
                    Some(Err(_)) | None => {
                        self.counts.refused += 1;
                        media.missing = true;
                    }
                }
                msg.media = Some(media);
                caption_follows = !h.bracketed;
            }
        }
        self.pending = Some(Pending { msg, author: Some(author.to_string()), caption_follows });
        Ok(true)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The occurrence map's keys are SHA-256 digests already: their first
/// bytes are the hash (SipHash over 32 bytes per message cost more than
/// the rest of the id).
#[derive(Default, Clone, Copy)]
struct KeyIsHash;

impl std::hash::BuildHasher for KeyIsHash {
    type Hasher = FirstBytes;
    fn build_hasher(&self) -> FirstBytes {
        FirstBytes(0)
    }
}

struct FirstBytes(u64);

impl std::hash::Hasher for FirstBytes {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length then its bytes: keep the first 8 bytes of the digest.
        for &b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_usize(&mut self, _length: usize) {}
}

/// A contact card's name and text (a vCard is small; a large one is left as
/// a file). `path` was found as a regular file, so it is opened directly.
fn read_vcard(path: &Path) -> Option<ContactCard> {
    const LIMIT: u64 = 1 << 20;
    let mut bytes = Vec::new();
    std::fs::File::open(path).ok()?.take(LIMIT + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 > LIMIT {
        return None;
    }
    let text = String::from_utf8(bytes).ok()?;
    let name = text.lines().find_map(|l| l.strip_prefix("FN:")).map(|n| n.trim().to_string());
    Some(ContactCard { name, vcard: Some(text) })
}

fn describe(p: &Plan) -> String {
    let orders: Vec<String> = p
        .orders
        .decisions()
        .iter()
        .map(|d| match d {
            Decision::Certain(o) => format!("dates read as {}", o.as_str()),
            Decision::PerLine => "dates in two orders, read line by line (a day above 12 decides each)".into(),
            Decision::Guessed(o) => format!(
                "dates read as {} — no day above 12 settles it; if that is wrong, give --opt date-order=dmy|mdy|ymd|ydm",
                o.as_str()
            ),
        })
        .collect();
    let me = match &p.me {
        Some(m) => format!("you are {m:?} ({})", p.me_how),
        None => {
            "which author is you is not known: give --opt me=\"Your Name\" (all messages are read as received)".into()
        }
    };
    let before = if p.lines_before > 0 {
        format!("; {} lines before the first message were not read", p.lines_before)
    } else {
        String::new()
    };
    format!(
        "{}: {} messages by {} authors, {}; {me}{before}",
        p.file.shown,
        p.headers,
        p.authors.len(),
        if orders.is_empty() { "dates year first".to_string() } else { orders.join(", ") }
    )
}

impl Importer for TxtImporter {
    fn header(&mut self) -> Result<Header> {
        Ok(Header {
            source_adapter: SOURCE.into(),
            model_version: chatferry_core::model::MODEL_VERSION.into(),
            owner: self.owner.clone(),
            estimated_messages: Some(self.plans.iter().map(|p| p.headers).sum()),
            extras: Default::default(),
        })
    }

    fn next_contacts(&mut self, _max: usize) -> Result<Vec<Contact>> {
        Ok(self.contacts.take().unwrap_or_default())
    }

    fn next_chats(&mut self, _max: usize) -> Result<Vec<Chat>> {
        if self.chats.is_none() {
            let mut seen = std::collections::HashSet::new();
            let list: Vec<Chat> =
                self.plans.iter().map(|p| p.chat.clone()).filter(|c| seen.insert(c.id.clone())).collect();
            self.chats = Some(vec![]);
            return Ok(list);
        }
        Ok(vec![])
    }

    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>> {
        let mut out = Vec::with_capacity(max.min(4096));
        while out.len() < max && self.current < self.plans.len() {
            let (mut lines, folder) = match self.reading.take() {
                Some(open) => open,
                None => {
                    let p = &self.plans[self.current];
                    self.last_ms = None;
                    (Lines::open(&p.file.txt, &p.file.shown)?, MediaFolder::open(&p.file.media_root))
                }
            };
            let mut more = true;
            while more && out.len() < max {
                more = self.step(&mut lines, &folder, &mut out)?;
            }
            if more {
                self.reading = Some((lines, folder));
            } else {
                self.flush(&mut out);
                self.current += 1;
            }
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Report> {
        let c = &self.counts;
        if c.nulls > 0 {
            self.report.note(format!(
                "{} messages are `null` in the export (WhatsApp wrote no text for them: a poll, view-once media or \
                 similar); kept as 'other'",
                c.nulls
            ));
        }
        if c.omitted > 0 {
            self.report.note(format!(
                "{} media were left out of the export (\"without media\"); their files are missing",
                c.omitted
            ));
        }
        if c.repeated > 0 {
            self.report.note(format!(
                "{} times fell in an hour the clocks skipped or repeated (DST); read in file order",
                c.repeated
            ));
        }
        if c.refused > 0 {
            self.report.media.refused += c.refused;
            self.report.note(format!("{} attachment names were not plain file names and were not read", c.refused));
        }
        if c.cut > 0 {
            self.report.note(format!("{} lines were left off messages longer than 64 MiB", c.cut));
        }
        Ok(std::mem::take(&mut self.report))
    }
}
