//! Reading exports. Each transcript is read twice, line by line: the first
//! pass learns the date order of each shape of date, the authors and
//! whether it is a group (in pieces of a few MiB on two threads, put
//! together in order: `Learnt`); the second streams the messages, read in
//! pieces on two threads (see `stream`) and handed on in order from a
//! reader thread while the host takes the batches before (see
//! `chatferry_core::producer`). Memory holds a block of lines per thread
//! and a few batches, whatever the file's length (and what the first pass
//! keeps: a count per author).

use crate::body::{self, Body};
use crate::folder::MediaFolder;
use crate::header::{self, Decision, Orders};
use crate::lines::Lines;
use crate::source::ChatFile;
use crate::stream::{self, Piece};
use ahash::AHashMap;
use chatferry_core::digits::decimal;
use chatferry_core::media::{mime_for_extension, Resolve};
use chatferry_core::producer::{Finishing, Reader, Send as SendBatch, StreamedImporter};
use chatferry_core::text_form::counted;
use chatferry_core::zone::{Fit, Zone};
use chatferry_core::{
    Chat, ChatKind, Contact, ContactCard, Error, Header, Importer, Location, Media, Message, MessageKind, Options,
    Participant, Report, Result, Role, Status, SystemEvent,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

pub const SOURCE: &str = "whatsapp-txt";
/// A message (all its lines) longer than this is cut, and noted.
const MAX_MESSAGE: usize = 64 << 20;

/// `Author: body`, or `None` for a line without an author.
fn split_author<'a>(rest: &'a str, known: &dyn Fn(&str) -> bool) -> Option<(&'a str, &'a str)> {
    match split_maybe(rest)? {
        (a, b, Sure::Yes) => Some((a, b)),
        (a, b, Sure::IfKnown) => known(a).then_some((a, b)),
    }
}

/// Whether a split is an author and their text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sure {
    Yes,
    /// `John Doe:.`, a colon without a space: only from an author seen elsewhere.
    IfKnown,
}

/// `Author: body`, and how sure that is; `None` for a line without a colon.
fn split_maybe(rest: &str) -> Option<(&str, &str, Sure)> {
    // Colons found with memchr: a `str` pattern search is set up anew per
    // call, which cost more than the rest of the split.
    let bytes = rest.as_bytes();
    let first = memchr::memchr(b':', bytes)?;
    if let Some(i) = memchr::memchr_iter(b':', bytes).find(|&i| bytes.get(i + 1) == Some(&b' ')) {
        let a = &rest[..i];
        if !a.is_empty() && (a.len() <= 100 || a.chars().count() <= 100) {
            return Some((a, &rest[i + 2..], Sure::Yes));
        }
    }
    Some((&rest[..first], &rest[first + 1..], Sure::IfKnown))
}

/// What the first pass learnt about one transcript.
pub struct Plan {
    pub file: ChatFile,
    orders: Orders,
    /// Each author and how many messages they wrote.
    authors: BTreeMap<String, u64>,
    chat: Chat,
    /// Each author's contact id, made once (a hash) rather than per message.
    ids: AHashMap<String, String>,
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

/// What the first pass saw in one piece of a transcript. Put together in
/// order (`Learnt::then`), the pieces' are what one pass over it sees.
#[derive(Debug, Default, Clone, PartialEq)]
struct Learnt {
    /// A line that is not blank.
    any: bool,
    headers: u64,
    /// Lines that are not blank before the piece's first header.
    before: u64,
    orders: Orders,
    authors: AHashMap<String, u64>,
    /// `John Doe:.` lines whose name the piece had not seen as an author
    /// before them: authors if an earlier piece saw the name.
    if_known: AHashMap<String, IfKnown>,
    group_hint: bool,
    /// An iPhone system line under the chat's title. A group's are under
    /// its name; a one-to-one chat's (the encryption notice first) under
    /// the other person's, who is then also an author: decided in `plan`.
    title_system: bool,
}

/// The `John Doe:.` lines of one name (see `Learnt`).
#[derive(Debug, Default, Clone, PartialEq)]
struct IfKnown {
    /// Lines that count as the author's, if the name is known.
    authored: u64,
    /// An iPhone system line under the chat's title (a group's), if known.
    title_system: bool,
    /// A line that says a group was made or changed, if not known.
    group_words: bool,
}

/// Whether a line without an author says the chat is a group.
fn group_words(rest: &str) -> bool {
    rest.contains(" created group ") || rest.contains(" added ") || rest.contains(" left")
}

/// The first pass over bytes `from..to` of a transcript (both line
/// starts, `to` may be past the end): date shapes, authors, counts.
fn learn_piece(file: &ChatFile, forced: Option<header::Order>, from: u64, to: u64) -> Result<Learnt> {
    let mut lines = Lines::range(&file.txt, &file.shown, from, to, Vec::new())?;
    let mut l = Learnt::nothing(forced);
    let mut last_date = None;
    while let Some(line) = lines.next()? {
        if !l.any {
            l.any = !line.trim().is_empty();
        }
        // A date no order makes possible (31/02/2024) starts no message in
        // the second pass either: counted as the line it is read as.
        let Some(h) = header::parse(line).filter(|h| possible_date(h, &mut last_date)) else {
            if l.headers == 0 && !line.trim().is_empty() {
                l.before += 1;
            }
            continue;
        };
        l.headers += 1;
        l.orders.learn(&h);
        let (a, b) = match split_maybe(h.rest) {
            Some((a, b, Sure::Yes)) => (a, b),
            Some((a, b, Sure::IfKnown)) if l.authors.contains_key(a) => (a, b),
            Some((a, b, Sure::IfKnown)) => {
                // Settled when the pieces are put together.
                let system = h.bracketed && is_ios_system(b);
                let names = l.authors.len() + l.if_known.len();
                let entry = match l.if_known.get_mut(a) {
                    Some(e) => e,
                    None if names >= MAX_AUTHORS => return Err(too_many_authors(file)),
                    None => l.if_known.entry(a.to_string()).or_default(),
                };
                entry.authored += u64::from(!system);
                entry.title_system |= system && a == file.title;
                entry.group_words |= group_words(h.rest);
                continue;
            }
            None => {
                l.group_hint |= group_words(h.rest);
                continue;
            }
        };
        // iPhone system lines carry the group's (or actor's) name, their text after U+200E.
        if h.bracketed && is_ios_system(b) {
            l.title_system |= a == file.title;
            continue;
        }
        // Looked up before inserting: one allocation per author, not per line.
        match l.authors.get_mut(a) {
            Some(n) => *n += 1,
            None => {
                l.authors.insert(a.to_string(), 1);
                if l.authors.len() + l.if_known.len() > MAX_AUTHORS {
                    return Err(too_many_authors(file));
                }
            }
        }
    }
    Ok(l)
}

/// Whether a header's date is a real day in some order;
/// `last` keeps the answer for the date before (most lines share it).
fn possible_date(h: &header::Header, last: &mut Option<([u32; 3], bool)>) -> bool {
    if let Some((fields, answer)) = *last {
        if fields == h.fields {
            return answer;
        }
    }
    let [a, b, c] = h.fields;
    let year = |y: u32| if y < 100 { 2000 + y as i32 } else { y as i32 };
    let day = |y: u32, m: u32, d: u32| chrono::NaiveDate::from_ymd_opt(year(y), m, d).is_some();
    // Every order, whatever the shape: a two-digit year may come first
    // (`24-31-03`, read with --opt date-order=ydm).
    let answer = day(a, b, c) || day(a, c, b) || day(c, b, a) || day(c, a, b);
    *last = Some((h.fields, answer));
    answer
}

impl Learnt {
    /// Before the first piece: no name known yet.
    fn nothing(forced: Option<header::Order>) -> Learnt {
        Learnt { orders: Orders::forced(forced), ..Default::default() }
    }

    /// What one pass over this piece and then `later` would have seen.
    fn then(&mut self, later: Learnt) {
        self.any |= later.any;
        if self.headers == 0 {
            self.before += later.before;
        }
        self.headers += later.headers;
        self.orders.append(&later.orders);
        // Names are known from the pieces before `later`, not from itself
        // (its own were settled as it was read).
        for (name, lines) in later.if_known {
            match self.authors.get_mut(&name) {
                Some(n) => {
                    *n += lines.authored;
                    self.title_system |= lines.title_system;
                }
                None => self.group_hint |= lines.group_words,
            }
        }
        for (name, n) in later.authors {
            *self.authors.entry(name).or_default() += n;
        }
        self.group_hint |= later.group_hint;
        self.title_system |= later.title_system;
    }
}

/// The plan of a transcript from what its first pass saw.
fn plan(file: ChatFile, learnt: Learnt, me_option: Option<&str>) -> Result<Plan> {
    let Learnt { any, headers, before: lines_before, orders, authors, group_hint, title_system, .. } = learnt;
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
    let authors: BTreeMap<String, u64> = authors.into_iter().collect();
    // System lines under the title say "group" only when the title writes
    // no messages of its own: in a one-to-one chat it is the other person.
    let group = group_hint || authors.len() > 2 || (title_system && !authors.contains_key(&file.title));
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

/// `--opt me=NAME` must name an author of some chat: a name nobody wrote
/// under would make every message "received" without a word.
fn refuse_me_naming_nobody<'a>(me: &str, plans: impl Iterator<Item = &'a Plan> + Clone) -> Result<()> {
    if plans.clone().any(|p| p.authors.contains_key(me)) {
        return Ok(());
    }
    let mut names: Vec<&str> = plans.flat_map(|p| p.authors.keys().map(String::as_str)).collect();
    names.sort_unstable();
    names.dedup();
    let shown: Vec<String> =
        names.iter().take(12).map(|n| format!("{:?}", chatferry_core::error::shortened(n, 60))).collect();
    let more = if names.len() > 12 { format!(" and {} more", names.len() - 12) } else { String::new() };
    Err(Error::usage(format!(
        "--opt me={:?} names nobody in the export; its authors are {}{more}: give one of them, exactly as written",
        chatferry_core::error::shortened(me, 60),
        shown.join(", ")
    )))
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

/// Opens `input`: finds its transcripts, reads each once to plan it (see
/// `learn_all`), and returns an importer whose messages a reader thread streams.
pub fn open(input: &Path, options: &Options) -> Result<TxtImporter> {
    open_sized(input, options, Sizes::default())
}

/// How the work is cut (tests cut it small).
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// The first pass reads a transcript in pieces of about this many bytes,
    learn_piece: u64,
    /// the second in pieces of about this many;
    piece: u64,
    /// ids are told apart in rounds of this many messages (`Numbering`).
    round_of: usize,
}

impl Default for Sizes {
    fn default() -> Sizes {
        Sizes { learn_piece: 4 << 20, piece: stream::PIECE, round_of: ROUND_OF }
    }
}

/// `open`, the work cut in `sizes`.
fn open_sized(input: &Path, options: &Options, sizes: Sizes) -> Result<TxtImporter> {
    let Sizes { learn_piece, piece, round_of } = sizes;
    let forced = match options.get("date-order") {
        None => None,
        Some(o) => Some(
            header::Order::parse(o)
                .ok_or_else(|| Error::usage(format!("date-order {o:?}: give dmy, mdy, ymd or ydm")))?,
        ),
    };
    let zone = Zone::from_option(options.get("timezone"))?;
    let me = options.get("me").map(str::trim).filter(|m| !m.is_empty());
    let Planned { plans: planned, unpacked } = learn_all(input, forced, me, learn_piece)?;
    if let Some(me) = me {
        refuse_me_naming_nobody(me, planned.iter().map(|(plan, _)| plan))?;
    }
    let mut report = Report::new();
    let mut plans = Vec::new();
    let mut folders = Vec::new();
    for (plan, folder) in planned {
        report.note(describe(&plan));
        plans.push(plan);
        folders.push(folder);
    }
    report.note(match zone {
        Zone::Named(_) => format!("times read as {} (given with --opt timezone)", zone.describe()),
        Zone::Local => format!(
            "times read as {} (the export holds none; if the phone was set to another, give --opt \
             timezone=Area/City)",
            zone.describe()
        ),
    });
    // Contacts: every author once, across chats.
    let mut contacts: BTreeMap<String, Contact> = BTreeMap::new();
    let mut owner = None;
    for p in &plans {
        for a in p.authors.keys() {
            let id = &p.ids[a];
            let c = Contact {
                id: id.clone(),
                name: Some(a.trim_start_matches(['~', ' ', '\u{202f}']).to_string()),
                phone: id.strip_suffix("@s.whatsapp.net").filter(|d| !d.starts_with('0')).map(|d| format!("+{d}")),
                ..Default::default()
            };
            if p.me.as_deref() == Some(a.as_str()) {
                owner = Some(c);
            } else {
                contacts.insert(id.clone(), c);
            }
        }
    }
    // A one-to-one chat whose person wrote nothing still names them.
    for p in &plans {
        if p.chat.kind == ChatKind::Direct && !contacts.contains_key(&p.chat.id) {
            let is_owner = owner.as_ref().is_some_and(|o: &Contact| o.id == p.chat.id);
            if !is_owner {
                let c = Contact { id: p.chat.id.clone(), name: Some(p.file.title.clone()), ..Default::default() };
                contacts.insert(p.chat.id.clone(), c);
            }
        }
    }
    // An export names people; an app's store keys them by number. The
    // host counts who stays a placeholder there (a contact map gives numbers).
    let by_name = contacts.values().filter(|c| c.phone.is_none()).count();
    if by_name > 0 {
        report.note(format!(
            "{} by name only (the export holds no numbers)",
            counted(by_name as u64, "person is known", "people are known")
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let chats: Vec<Chat> = plans.iter().map(|p| p.chat.clone()).filter(|c| seen.insert(c.id.clone())).collect();
    let header = Header {
        source_adapter: SOURCE.into(),
        model_version: chatferry_core::model::MODEL_VERSION.into(),
        owner: owner.clone(),
        estimated_messages: Some(plans.iter().map(|p| p.headers).sum()),
        extras: Default::default(),
    };
    let (returned, returns) = std::sync::mpsc::channel();
    let reader: Reader = Box::new(move |size, shared, send| {
        let pieces = stream::pieces(&plans, |plan, line| header_time(plan, line).map(|(_, t)| t), zone, piece);
        let returns = Mutex::new(returns);
        let mut numbering = Numbering::new(round_of);
        let readings = stream::read(
            &pieces,
            || Reading::new(zone, size, &returns),
            |reading, piece, send| reading.read_piece(&plans[piece.file], &folders[piece.file], piece, send),
            |piece, batch| numbering.number(piece.file, batch),
            send,
        )?;
        // `None`: the importer was dropped, nobody reads the report.
        if let Some(readings) = readings {
            let mut counts = Counts::default();
            for r in readings {
                counts.add(&r.counts);
            }
            counts.note(&mut *shared.lock().map_err(|_| Error::internal("report lock poisoned"))?);
        }
        Ok(())
    });
    // Contact cards are read in the finishing step, on whichever thread has
    // time (a file open per card was a tenth of the reader's time).
    let cards: Finishing = Arc::new(|m: &mut Message, _: &mut Report| {
        if m.kind == MessageKind::Contact && m.contact_card.is_none() {
            if let Some(path) = m.media.as_ref().filter(|m| !m.missing).and_then(|m| m.path.as_deref()) {
                m.contact_card = read_vcard(Path::new(path)).map(Box::new);
            }
        }
    });
    let contacts = contacts.into_values().collect();
    let inner = StreamedImporter::new("whatsapp-txt reader", header, contacts, chats, report, reader)
        .keeping(unpacked)
        .finishing_each(cards);
    Ok(TxtImporter { inner, returned })
}

/// The streamed importer; batches the host has finished with go back to
/// the reader, whose next messages are built in their buffers.
pub struct TxtImporter {
    inner: StreamedImporter,
    returned: std::sync::mpsc::Sender<Vec<Message>>,
}

impl Importer for TxtImporter {
    fn header(&mut self) -> Result<Header> {
        self.inner.header()
    }
    fn next_contacts(&mut self, max: usize) -> Result<Vec<Contact>> {
        self.inner.next_contacts(max)
    }
    fn next_chats(&mut self, max: usize) -> Result<Vec<Chat>> {
        self.inner.next_chats(max)
    }
    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>> {
        self.inner.next_messages(max)
    }
    fn recycle(&mut self, batch: Vec<Message>) {
        // After the reader has ended the batch is simply freed here.
        let _ = self.returned.send(batch);
    }
    fn wants_batches_back(&self) -> bool {
        true
    }
    fn finish(&mut self) -> Result<Report> {
        self.inner.finish()
    }
}

/// Finds the chats of `input`, plans every transcript and lists every
/// media folder not listed yet, on two threads that take whatever is there
/// to do: a folder listed in a folder of exports (some hold a hundred
/// thousand files) adds its transcript's pieces of about `piece` bytes for
/// the first pass, so the other thread reads them while it lists the next.
/// Each transcript's pieces are put together in order as they come. The
/// plans come back in file order; the first file's error wins.
fn learn_all(input: &Path, forced: Option<header::Order>, me: Option<&str>, piece: u64) -> Result<Planned> {
    use crate::source::Source;
    enum Job {
        List(usize, std::path::PathBuf),
        Folder(usize),
        Learn { file: usize, index: usize, from: u64, to: u64 },
    }
    let sources = crate::source::sources(input)?;
    let files: Vec<Mutex<Planning>> = sources.items.iter().map(|_| Mutex::new(Planning::new(forced))).collect();
    let file = |i: usize| files[i].lock().unwrap_or_else(|p| p.into_inner());
    // A transcript found: its folder and its pieces to do.
    let found = |i: usize, chat: ChatFile, jobs: &mut Vec<Job>| {
        let cuts = stream::cuts(&chat.txt, &chat.shown, piece, |_| true);
        jobs.push(Job::Folder(i));
        jobs.extend(cuts.iter().enumerate().map(|(index, &(from, to))| Job::Learn { file: i, index, from, to }));
        let mut planning = file(i);
        planning.pieces = cuts.len();
        planning.chat = Some(chat);
    };
    let mut first = Vec::new();
    for (i, item) in sources.items.into_iter().enumerate() {
        match item {
            Source::Ready(chat) => found(i, chat, &mut first),
            Source::Folder(path) => first.push(Job::List(i, path)),
        }
    }
    crate::parallel::run(first, |job, more| match job {
        Job::List(i, path) => {
            // A folder without a transcript is passed over.
            if let Some(chat) = crate::source::listed_chat(&path) {
                found(i, chat, more);
            }
        }
        Job::Folder(i) => {
            let Some(chat) = file(i).chat.clone() else { return };
            let folder = match &chat.listing {
                Some(listing) => MediaFolder::listed(&chat.media_root, Arc::clone(listing)),
                None => MediaFolder::open(&chat.media_root),
            };
            file(i).folder = Some(folder);
        }
        Job::Learn { file: i, index, from, to } => {
            // After an error in its file a piece is not read (the error is said).
            let chat = {
                let planning = file(i);
                planning.chat.clone().filter(|_| planning.error.is_none())
            };
            let Some(chat) = chat else { return };
            let learnt = learn_piece(&chat, forced, from, to);
            file(i).add(index, learnt, &chat);
        }
    });
    let mut out = Vec::new();
    for planning in files {
        let Planning { chat, folder, learnt, next, pieces, error, .. } =
            planning.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = error {
            return Err(e);
        }
        let Some(chat) = chat else { continue };
        let (Some(folder), true) = (folder, next == pieces) else {
            return Err(Error::internal("whatsapp-txt: a transcript's first pass did not finish"));
        };
        out.push((plan(chat, learnt, me)?, folder));
    }
    if out.is_empty() {
        return Err(crate::source::no_export(input));
    }
    Ok(Planned { plans: out, unpacked: sources.unpacked })
}

/// Every transcript's plan and media folder, in file order, and the private
/// folders zips were unpacked into (they must outlive the import).
struct Planned {
    plans: Vec<(Plan, MediaFolder)>,
    unpacked: Vec<tempfile::TempDir>,
}

/// One transcript's first pass while its pieces come in (in any order).
struct Planning {
    chat: Option<ChatFile>,
    folder: Option<MediaFolder>,
    /// The pieces put together so far (all before `next`).
    learnt: Learnt,
    next: usize,
    /// Pieces done before one ahead of them.
    waiting: BTreeMap<usize, Result<Learnt>>,
    /// How many pieces its transcript was cut into.
    pieces: usize,
    /// The first error, in the file's order.
    error: Option<Error>,
}

impl Planning {
    fn new(forced: Option<header::Order>) -> Planning {
        Planning {
            chat: None,
            folder: None,
            learnt: Learnt::nothing(forced),
            next: 0,
            waiting: BTreeMap::new(),
            pieces: 0,
            error: None,
        }
    }

    /// Takes piece `index`, and puts together every piece now in order.
    fn add(&mut self, index: usize, piece: Result<Learnt>, chat: &ChatFile) {
        self.waiting.insert(index, piece);
        while let Some(piece) = self.waiting.remove(&self.next) {
            self.next += 1;
            if self.error.is_some() {
                continue;
            }
            match piece {
                Ok(piece) => {
                    self.learnt.then(piece);
                    if self.learnt.authors.len() > MAX_AUTHORS {
                        self.error = Some(too_many_authors(chat));
                    }
                }
                Err(e) => self.error = Some(e),
            }
        }
    }
}

/// More names than any chat has: a file with more is no export (and the
/// first pass's memory stays bounded).
const MAX_AUTHORS: usize = 50_000;

fn too_many_authors(file: &ChatFile) -> Error {
    Error::bad_input(format!(
        "{}: more than {MAX_AUTHORS} different senders; no WhatsApp chat has that many, so this is not an export",
        file.shown
    ))
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

impl Counts {
    fn add(&mut self, other: &Counts) {
        let Counts { nulls, omitted, repeated, skipped, cut, refused } = other;
        self.nulls += nulls;
        self.omitted += omitted;
        self.repeated += repeated;
        self.skipped += skipped;
        self.cut += cut;
        self.refused += refused;
    }

    fn note(&self, report: &mut Report) {
        if self.nulls > 0 {
            report.note(format!(
                "{} `null` in the export (WhatsApp wrote no text for them: a poll, view-once media or similar); \
                 kept as 'other'",
                chatferry_core::text_form::counted(self.nulls, "message is", "messages are")
            ));
        }
        if self.omitted > 0 {
            report.note(format!(
                "{} left out of the export (\"without media\"); their files are missing",
                chatferry_core::text_form::counted(self.omitted, "media file was", "media files were")
            ));
        }
        if self.repeated > 0 {
            report.note(format!(
                "{} times fell in an hour the clocks skipped or repeated (DST); read in file order",
                self.repeated
            ));
        }
        if self.refused > 0 {
            report.media.refused += self.refused;
            report.note(format!(
                "{} not plain file names and {} not read",
                chatferry_core::text_form::counted(self.refused, "attachment name was", "attachment names were"),
                if self.refused == 1 { "was" } else { "were" }
            ));
        }
        if self.cut > 0 {
            report.note(format!(
                "{} left off messages longer than 64 MiB",
                chatferry_core::text_form::counted(self.cut, "line was", "lines were")
            ));
        }
    }
}

/// What is known of the message being read (the batch's last), until the
/// next header ends it.
struct Open {
    /// Its author as the export writes it is in `Reading::author`.
    has_author: bool,
    /// Android: the lines after `(file attached)` are its caption.
    caption_follows: bool,
}

/// Strings of messages the host has handed back, kept to be filled again:
/// the reader then allocates next to nothing for a message in the steady
/// state (allocating and freeing a message's strings was a sixth of its time).
#[derive(Default)]
struct Pool {
    strings: Vec<String>,
}

impl Pool {
    /// Keeps a string from a returned message: not a large one, and not
    /// more than a few batches' worth (at most 8 MiB), so memory stays flat.
    fn keep(&mut self, s: String) {
        if s.capacity() > 0 && s.capacity() <= 1024 && self.strings.len() < 8192 {
            self.strings.push(s);
        }
    }

    fn string(&mut self, from: &str) -> String {
        match self.strings.pop() {
            Some(mut s) => {
                s.clear();
                s.push_str(from);
                s
            }
            None => from.to_string(),
        }
    }

    /// Empties a returned message in place, as `Message::default()` but with
    /// its id and chat buffers kept and its other strings pooled. Every field
    /// is named (no `..`): a field added to the model must be reset here.
    fn reset(&mut self, m: &mut Message) {
        let Message {
            id,
            chat,
            sender,
            from_me,
            timestamp_ms,
            kind,
            status,
            text,
            media,
            location,
            contact_card,
            link,
            call,
            system,
            payment,
            poll,
            event,
            earlier_texts,
            pinned,
            kept,
            reply_to,
            quoted_text,
            reactions,
            forwarded,
            starred,
            edited,
            edited_ms,
            view_once,
            extras,
        } = m;
        id.clear();
        chat.clear();
        for s in [sender.take(), text.take(), reply_to.take(), quoted_text.take()].into_iter().flatten() {
            self.keep(s);
        }
        if let Some(media) = media.take() {
            for s in [media.file_name, media.mime, media.caption, media.path].into_iter().flatten() {
                self.keep(s);
            }
        }
        *from_me = false;
        *timestamp_ms = 0;
        *kind = Default::default();
        *status = Default::default();
        *location = None;
        *contact_card = None;
        *link = None;
        *call = None;
        *system = None;
        *payment = None;
        *poll = None;
        *event = None;
        earlier_texts.clear();
        *pinned = None;
        *kept = None;
        reactions.clear();
        *forwarded = false;
        *starred = false;
        *edited = false;
        *edited_ms = None;
        *view_once = false;
        *extras = Default::default();
    }
}

/// How many local hours `Reading::moment_of` keeps, by hour number modulo this.
const HOURS_KEPT: usize = 512;
/// (hour number, its offset in ms or `MIXED`) for each kept hour.
type HourOffsets = [(i64, i64); HOURS_KEPT];
/// No hour kept in this slot yet (no date's hour has this number).
const NO_HOUR: i64 = i64::MIN;
/// The hour has no one offset throughout (the clocks change in it).
const MIXED: i64 = i64::MIN;

/// The second pass on one thread, over the pieces it is given (see
/// `stream`): the state carried from line to line. Messages are built
/// in place in the batch (a `Message` is near a kilobyte: moving each one
/// through a pending slot and into the batch was a tenth of the reader).
struct Reading<'r> {
    zone: Zone,
    size: usize,
    /// `batch[..filled]` are this batch's messages; the rest are returned
    /// ones waiting to be filled again.
    batch: Vec<Message>,
    filled: usize,
    /// Set while the batch's last message is still being read.
    open: Option<Open>,
    /// The open message's author (one buffer, not a string per message).
    author: String,
    /// What a message's id is hashed from (one buffer).
    key_bytes: Vec<u8>,
    last_ms: Option<i64>,
    /// Local hours asked about (see `moment_of`).
    hours: Box<HourOffsets>,
    /// The last date read (see `header_time_with`).
    last_date: Option<((i32, u32, u32), chrono::NaiveDate)>,
    counts: Counts,
    pool: Pool,
    /// Returned messages not needed by the batch they came in.
    spare: Vec<Message>,
    /// The batch's messages whose attachment is still to be found, their
    /// names' keys, and whether the listing has it (see `find_attachments`).
    unfound: Vec<(usize, u128, bool)>,
    /// The lines' buffer, kept from piece to piece.
    lines_buf: Vec<u8>,
    /// Batches the host has finished with (shared by the threads reading).
    returned: &'r Mutex<Receiver<Vec<Message>>>,
}

impl<'r> Reading<'r> {
    fn new(zone: Zone, size: usize, returned: &'r Mutex<Receiver<Vec<Message>>>) -> Reading<'r> {
        Reading {
            zone,
            size: size.max(1),
            batch: Vec::with_capacity(size.max(1)),
            filled: 0,
            open: None,
            author: String::new(),
            key_bytes: Vec::new(),
            last_ms: None,
            hours: Box::new([(NO_HOUR, MIXED); HOURS_KEPT]),
            last_date: None,
            counts: Counts::default(),
            pool: Pool::default(),
            lines_buf: Vec::new(),
            spare: Vec::new(),
            unfound: Vec::new(),
            returned,
        }
    }

    /// The moment of a wall-clock time. The zone's rules are asked about
    /// each local hour, not each message (they were a tenth of the reader):
    /// when an hour's first and last second are both unambiguous with one
    /// offset, every time in it has that offset (clocks change at most once
    /// in an hour, and a change that kept the offset changes nothing). Up
    /// to `HOURS_KEPT` hours are kept, each in the slot its number picks, so
    /// a file whose times go back and forth (late messages) asks about an
    /// hour about once.
    fn moment_of(&mut self, t: chrono::NaiveDateTime) -> (i64, Fit) {
        use chrono::{Datelike, Timelike};
        let hour = i64::from(t.date().num_days_from_ce()) * 24 + i64::from(t.hour());
        let slot = &mut self.hours[hour.rem_euclid(HOURS_KEPT as i64) as usize];
        if slot.0 != hour {
            let first = t.date().and_hms_opt(t.hour(), 0, 0);
            let last = t.date().and_hms_opt(t.hour(), 59, 59);
            let mut offset = MIXED;
            if let (Some(first), Some(last)) = (first, last) {
                if let ((a, Fit::Exact), (b, Fit::Exact)) =
                    (self.zone.to_utc(first, None), self.zone.to_utc(last, None))
                {
                    let at_first = first.and_utc().timestamp_millis() - a;
                    if last.and_utc().timestamp_millis() - b == at_first {
                        offset = at_first;
                    }
                }
            }
            *slot = (hour, offset);
        }
        match slot.1 {
            // An hour the clocks change in: each time asked on its own.
            MIXED => self.zone.to_utc(t, self.last_ms),
            offset => (t.and_utc().timestamp_millis() - offset, Fit::Exact),
        }
    }

    /// Sends the batch's messages; the next are built in a returned batch
    /// when there is one. `false` when the importer is gone.
    fn send_batch(&mut self, folder: &MediaFolder, send: &mut SendBatch) -> bool {
        if self.filled == 0 {
            return true;
        }
        self.find_attachments(folder);
        // A returned batch's messages that were not filled again (a piece
        // ended) wait for the next batch: freeing them and making new ones
        // for the next batch cost more.
        let room = self.size.saturating_sub(self.spare.len());
        self.spare.extend(self.batch.drain(self.filled..).take(room));
        let next = self.returned.lock().ok().and_then(|r| r.try_recv().ok());
        let full = std::mem::replace(&mut self.batch, next.unwrap_or_else(|| Vec::with_capacity(self.size)));
        self.filled = 0;
        send(full)
    }

    /// Streams the messages of a piece of a transcript, the last batch too;
    /// `false` when the importer is gone. A piece starts at a message whose
    /// moment is not in doubt (see `stream`), so the moment before is not
    /// carried into it. The ids are numbered later, in file order (`Numbering`).
    fn read_piece(&mut self, plan: &Plan, folder: &MediaFolder, piece: &Piece, send: &mut SendBatch) -> Result<bool> {
        let buf = std::mem::take(&mut self.lines_buf);
        let mut lines = Lines::range(&plan.file.txt, &plan.file.shown, piece.from, piece.to, buf)?;
        self.last_ms = None;
        while let Some(line) = lines.next()? {
            if !self.step(plan, folder, line, send) {
                return Ok(false);
            }
        }
        self.lines_buf = lines.into_buffer();
        self.flush();
        Ok(self.send_batch(folder, send))
    }

    /// Finishes the open message.
    fn flush(&mut self) {
        let Some(Open { has_author, .. }) = self.open.take() else { return };
        let Some(i) = self.filled.checked_sub(1) else { return };
        let msg = &mut self.batch[i];
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
        // A stable id: the same export read twice gives the same ids. The
        // parts are hashed in one piece (from a reused buffer): part, NUL,
        // part, NUL…, the file name last. Its number is added by `Numbering`.
        let mut time = [0u8; 20];
        let key_bytes = &mut self.key_bytes;
        key_bytes.clear();
        for part in [
            msg.chat.as_str(),
            decimal(msg.timestamp_ms, &mut time),
            if has_author { self.author.as_str() } else { "" },
            msg.text.as_deref().unwrap_or(""),
        ] {
            key_bytes.extend_from_slice(part.as_bytes());
            key_bytes.push(0);
        }
        if let Some(m) = &msg.media {
            key_bytes.extend_from_slice(m.file_name.as_deref().unwrap_or("").as_bytes());
        }
        let key: [u8; 32] = Sha256::digest(&key_bytes[..]).into();
        if key_bytes.capacity() > 1 << 20 {
            *key_bytes = Vec::new(); // after a huge message, not kept for the rest
        }
        // Written into the message's own buffer (a returned message's, cleared).
        let id = &mut msg.id;
        id.clear();
        for b in &key[..HASHED / 2] {
            id.push(HEX[usize::from(b >> 4)] as char);
            id.push(HEX[usize::from(b & 15)] as char);
        }
    }

    /// Finds the batch's attachments in their folder's listing, all at
    /// once: each is a lookup in a table of a hundred thousand names that
    /// is not in the cache, and looked up one after another (not between
    /// the lines of the messages) the processor waits for several at once.
    fn find_attachments(&mut self, folder: &MediaFolder) {
        let mut unfound = std::mem::take(&mut self.unfound);
        for (_, key, listed) in &mut unfound {
            *listed = folder.has_key(*key);
        }
        for &(i, _, listed) in &unfound {
            let Some(media) = self.batch[i].media.as_mut() else { continue };
            let name = media.file_name.as_deref().unwrap_or("");
            let mut path = self.pool.string("");
            if listed && folder.listed_path_of(name, &mut path) {
                media.path = Some(path);
            } else {
                self.pool.keep(path);
                media.path = find_attachment(folder, true, name, &mut self.counts);
                media.missing = media.path.is_none();
            }
        }
        unfound.clear();
        self.unfound = unfound;
    }

    /// Reads one line; `false` when the importer is gone.
    fn step(&mut self, plan: &Plan, folder: &MediaFolder, line: &str, send: &mut SendBatch) -> bool {
        let Some((h, naive)) = header_time_with(plan, line, &mut self.last_date) else {
            self.continue_message(line);
            return true;
        };
        self.flush();
        if self.filled >= self.size && !self.send_batch(folder, send) {
            return false;
        }
        self.start_message(plan, folder, &h, naive);
        true
    }

    /// A line of the message before (blank lines too).
    fn continue_message(&mut self, line: &str) {
        let (Some(open), Some(i)) = (self.open.as_ref(), self.filled.checked_sub(1)) else {
            self.counts.skipped += u64::from(!line.trim().is_empty());
            return;
        };
        let msg = &mut self.batch[i];
        let slot = if open.caption_follows { msg.media.as_mut().map(|m| &mut m.caption) } else { Some(&mut msg.text) };
        match slot {
            Some(Some(t)) if t.len() + line.len() >= MAX_MESSAGE => self.counts.cut += 1,
            Some(Some(t)) => {
                t.push('\n');
                t.push_str(line);
            }
            Some(empty) => *empty = Some(self.pool.string(line)),
            None => {}
        }
    }

    /// Starts the message whose header `h` is.
    fn start_message(&mut self, plan: &Plan, folder: &MediaFolder, h: &header::Header, naive: chrono::NaiveDateTime) {
        let rest = h.rest;
        let (ts, fit) = self.moment_of(naive);
        if fit != Fit::Exact {
            self.counts.repeated += 1;
        }
        self.last_ms = Some(ts);
        if self.filled < self.batch.len() {
            self.pool.reset(&mut self.batch[self.filled]);
        } else if let Some(old) = self.spare.pop() {
            self.batch.push(old);
            self.pool.reset(&mut self.batch[self.filled]);
        } else {
            self.batch.push(Message::default());
        }
        self.filled += 1;
        let pool = &mut self.pool;
        let msg = &mut self.batch[self.filled - 1];
        msg.chat.push_str(&plan.chat.id);
        msg.timestamp_ms = ts;
        msg.status = Status::Received;
        self.author.clear();
        let (author, body) = match split_author(rest, &|a| plan.authors.contains_key(a)) {
            Some((a, b)) if !(h.bracketed && is_ios_system(b)) && !acts(a, b) => (a, b),
            Some((a, b)) => {
                // An iPhone system line: its author is the group or the actor.
                let actor = (acts(a, b) || a != plan.file.title).then(|| contact_id(a));
                msg.kind = MessageKind::System;
                msg.text = Some(pool.string(b.trim_start_matches('\u{200e}')));
                msg.system = Some(Box::new(SystemEvent { action: "other".into(), actor, ..Default::default() }));
                self.author.push_str(a);
                self.open = Some(Open { has_author: true, caption_follows: false });
                return;
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
                msg.system = Some(Box::new(SystemEvent { action: action.into(), ..Default::default() }));
                msg.text = Some(pool.string(rest));
                self.open = Some(Open { has_author: false, caption_follows: false });
                return;
            }
        };
        let from_me = plan.me.as_deref() == Some(author);
        msg.from_me = from_me;
        msg.status = if from_me { Status::Sent } else { Status::Received };
        msg.sender = Some(match plan.ids.get(author) {
            Some(id) => pool.string(id),
            None => contact_id(author),
        });
        let mut caption_follows = false;
        match body::classify(body, &|name| folder.exists(name)) {
            Body::Text(t) => {
                msg.kind = MessageKind::Text;
                msg.text = Some(pool.string(t));
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
                msg.location =
                    Some(Box::new(Location { latitude, longitude, url: Some(url.to_string()), ..Default::default() }));
            }
            Body::Attached { file, caption } => {
                msg.kind = body::kind_of_file(file);
                let ext = file.rsplit_once('.').map(|(_, e)| e);
                let mut media = Media {
                    file_name: Some(pool.string(file)),
                    mime: ext.and_then(mime_for_extension).map(|m| pool.string(m)),
                    caption: caption.map(|c| pool.string(c)),
                    ..Default::default()
                };
                let safe = !file.contains(['/', '\\']) && file != ".." && !file.is_empty();
                match safe.then(|| folder.key_of(file)).flatten() {
                    // Found with the batch's others, before it is sent.
                    Some(key) => self.unfound.push((self.filled - 1, key, false)),
                    None => {
                        media.path = find_attachment(folder, safe, file, &mut self.counts);
                        media.missing = media.path.is_none();
                    }
                }
                msg.media = Some(media);
                caption_follows = !h.bracketed;
            }
        }
        self.author.push_str(author);
        self.open = Some(Open { has_author: true, caption_follows });
    }
}

/// The path of the attachment `name` found on the file system (one not in
/// the folder's listing), `None` when it is missing; a name that is not
/// safe is refused and counted.
fn find_attachment(folder: &MediaFolder, safe: bool, name: &str, counts: &mut Counts) -> Option<String> {
    match safe.then(|| folder.find(name)) {
        Some(Ok(Resolve::Found(p))) => {
            Some(p.into_os_string().into_string().unwrap_or_else(|p| p.to_string_lossy().into()))
        }
        Some(Ok(Resolve::Missing(_))) => None,
        Some(Err(_)) | None => {
            counts.refused += 1;
            None
        }
    }
}

/// The header of a line that starts a message, with its wall-clock time;
/// `None` for a line that continues one (a header-like line with a date
/// like 31 February too).
fn header_time<'l>(plan: &Plan, line: &'l str) -> Option<(header::Header<'l>, chrono::NaiveDateTime)> {
    header_time_with(plan, line, &mut None)
}

/// `header_time`, remembering the last date made (most lines share their
/// date with the line before).
fn header_time_with<'l>(
    plan: &Plan,
    line: &'l str,
    last_date: &mut Option<((i32, u32, u32), chrono::NaiveDate)>,
) -> Option<(header::Header<'l>, chrono::NaiveDateTime)> {
    let h = header::parse(line)?;
    let ymd = plan.orders.date(&h)?;
    let date = match *last_date {
        Some((made, date)) if made == ymd => date,
        _ => {
            let date = chrono::NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2)?;
            *last_date = Some((ymd, date));
            date
        }
    };
    let naive = date.and_hms_opt(header::hour24(&h), h.minute, h.second.unwrap_or(0))?;
    Some((h, naive))
}

const HEX: &[u8; 16] = b"0123456789abcdef";
/// An id starts with this many hex digits of its parts' SHA-256.
const HASHED: usize = 20;

/// The numbers that make ids unique, given in file order on the thread
/// that hands the batches on (the pieces are read apart; a number depends
/// on what came before). A message no earlier than every message before it
/// in its file is `HASH-n`: the n-th with those parts at that moment (so
/// the same message twice in a minute gets two ids, in order). One that is
/// earlier (sent late, or the phone's clock went back) is `HASH-n-LATEST`:
/// the n-th with those parts since the latest moment so far, LATEST in ms.
/// Either way no two messages of a file share an id, and reading the same
/// export again gives the same ids.
///
/// Memory stays bounded: when the messages to tell apart pass `cap` (a file
/// whose first message is dated years ahead makes every later one late),
/// the counting starts again in a new round, and the ids of a round r > 0
/// end in `.r`, until a later moment comes.
struct Numbering {
    file: Option<usize>,
    latest: Option<i64>,
    /// Messages at the latest moment, and earlier ones since it came.
    on_time: KeyCounts,
    late: KeyCounts,
    round: u32,
    cap: usize,
}

/// Messages told apart in one round of `Numbering` (a few MiB).
const ROUND_OF: usize = 1 << 16;

impl Numbering {
    fn new(cap: usize) -> Numbering {
        Numbering {
            file: None,
            latest: None,
            on_time: KeyCounts::default(),
            late: KeyCounts::default(),
            round: 0,
            cap: cap.max(1),
        }
    }

    fn number(&mut self, file: usize, batch: &mut [Message]) {
        if self.file != Some(file) {
            *self = Numbering { file: Some(file), ..Numbering::new(self.cap) };
        }
        let mut digits = [0u8; 20];
        for m in batch {
            let ts = m.timestamp_ms;
            let latest = match self.latest {
                Some(l) if ts <= l => l,
                _ => {
                    self.on_time.clear();
                    self.late.clear();
                    self.round = 0;
                    *self.latest.insert(ts)
                }
            };
            let mut key = [0u8; HASHED];
            let hashed = &m.id.as_bytes()[..m.id.len().min(HASHED)];
            key[..hashed.len()].copy_from_slice(hashed);
            let late = ts != latest;
            if self.on_time.len() + self.late.len() >= self.cap
                && !(if late { &self.late } else { &self.on_time }).contains(&key)
            {
                self.on_time.clear();
                self.late.clear();
                self.round += 1;
            }
            let n = if late { &mut self.late } else { &mut self.on_time }.count(key);
            m.id.push('-');
            m.id.push_str(decimal(i64::from(n), &mut digits));
            if late {
                m.id.push('-');
                m.id.push_str(decimal(latest, &mut digits));
            }
            if self.round > 0 {
                m.id.push('.');
                m.id.push_str(decimal(i64::from(self.round), &mut digits));
            }
        }
    }
}

/// How often each key was counted: a short list while there are few (the
/// messages at one moment are a handful; a map cost more), a map beyond.
#[derive(Default)]
struct KeyCounts {
    few: Vec<([u8; HASHED], u32)>,
    many: HashMap<[u8; HASHED], u32, ahash::RandomState>,
}

impl KeyCounts {
    const FEW: usize = 16;

    /// Counts `key` once more; how often it was counted.
    fn count(&mut self, key: [u8; HASHED]) -> u32 {
        if self.many.is_empty() {
            if let Some((_, n)) = self.few.iter_mut().find(|(k, _)| *k == key) {
                *n += 1;
                return *n;
            }
            if self.few.len() < Self::FEW {
                self.few.push((key, 1));
                return 1;
            }
            self.many.extend(self.few.drain(..));
        }
        let n = self.many.entry(key).or_default();
        *n += 1;
        *n
    }

    fn contains(&self, key: &[u8; HASHED]) -> bool {
        self.few.iter().any(|(k, _)| k == key) || self.many.contains_key(key)
    }

    fn len(&self) -> usize {
        self.few.len() + self.many.len()
    }

    fn clear(&mut self) {
        self.few.clear();
        self.many.clear();
    }
}

/// A contact card's name and text (a vCard is small; a large one is left as
/// a file). `path` was found as a regular file, so it is opened directly.
fn read_vcard(path: &Path) -> Option<ContactCard> {
    let file = chatferry_core::small_file::open_regular(path).ok()?;
    let bytes = chatferry_core::small_file::read_at_most(file, 1 << 20, 0).ok()??;
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
        let were = if p.lines_before == 1 { "was" } else { "were" };
        format!("; {} before the first message {were} not read", counted(p.lines_before, "line", "lines"))
    } else {
        String::new()
    };
    format!(
        "{}: {} by {}, {}; {me}{before}",
        p.file.shown,
        counted(p.headers, "message", "messages"),
        counted(p.authors.len() as u64, "author", "authors"),
        if orders.is_empty() { "dates year first".to_string() } else { orders.join(", ") }
    )
}

/// For the fuzz target `whatsapp_txt_lines`: each line's header and body
/// read, then the bytes imported as a transcript.
#[doc(hidden)]
pub fn fuzz_transcript(bytes: &[u8]) {
    for line in String::from_utf8_lossy(bytes).lines() {
        if let Some(h) = header::parse(line) {
            let _ = split_maybe(h.rest);
            let _ = body::classify(h.rest, &|_| false);
        }
    }
    fuzz_import(bytes, "WhatsApp Chat with Fuzz.txt");
}

/// For the fuzz targets: `bytes` saved as `name` and imported whole.
#[doc(hidden)]
pub fn fuzz_import(bytes: &[u8], name: &str) {
    let dir = tempfile::tempdir().expect("a temporary folder for the fuzz target");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("the fuzz input written");
    if let Ok(mut reader) = open(&path, &Options::new().with("timezone", "UTC")) {
        let _ = chatferry_core::testing::drain(&mut reader, 1000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of body, one after another, so that each message is built
    /// in the buffers of a different kind's when batches come back.
    const TRANSCRIPT: &str = "\
12/31/23, 23:59 - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.
12/31/23, 23:59 - Anna: Happy new year 🎆
1/1/24, 00:01 - Ben: IMG-20240101-WA0001.jpg (file attached)
the fireworks
over the river
1/1/24, 00:02 - Anna: <Media omitted>
1/1/24, 00:03 - Ben: location: https://maps.google.com/?q=52.52,13.405
1/1/24, 00:03 - Ben: Brandenburger Tor
1/1/24, 00:04 - Anna: This message was deleted
1/1/24, 00:05 - Ben: null
1/1/24, 00:06 - Anna: Ben.vcf (file attached)
2/31/24, 00:07 - not a date, so a line of the card's message
1/1/24, 00:08 - Ben: 多行
第二行 <This message was edited>
1/1/24, 00:09 - Anna: Happy new year 🎆
1/1/24, 00:09 - Anna: Happy new year 🎆
";

    fn read_all(dir: &Path, max: usize, give_back: bool) -> Vec<Message> {
        read_in_pieces(&dir.join("WhatsApp Chat with Ben.txt"), "UTC", max, give_back, stream::PIECE).0
    }

    /// Every message of `input` and the report's notes, read in pieces of
    /// about `piece` bytes.
    fn read_in_pieces(
        input: &Path,
        zone: &str,
        max: usize,
        give_back: bool,
        piece: u64,
    ) -> (Vec<Message>, Vec<String>) {
        // The first pass in pieces of that size too.
        read_sized(input, zone, max, give_back, Sizes { learn_piece: piece, piece, ..Sizes::default() })
    }

    fn read_sized(input: &Path, zone: &str, max: usize, give_back: bool, sizes: Sizes) -> (Vec<Message>, Vec<String>) {
        let options = Options::new().with("timezone", zone);
        let mut importer = open_sized(input, &options, sizes).unwrap();
        importer.header().unwrap();
        importer.next_contacts(1000).unwrap();
        importer.next_chats(1000).unwrap();
        let mut all = Vec::new();
        loop {
            let batch = importer.next_messages(max).unwrap();
            if batch.is_empty() {
                break;
            }
            all.extend(batch.iter().cloned());
            if give_back {
                importer.recycle(batch);
            }
        }
        let notes = importer.finish().unwrap().notes;
        (all, notes)
    }

    /// A transcript where every kind of state crosses lines: identical
    /// messages in one minute (their ids count them), the hour Berlin's
    /// clocks repeat and the hour they skip, multi-line messages, a line
    /// before the first message, a 31 February line, a byte order mark.
    fn tricky_transcript() -> String {
        let mut t = String::from("\u{feff}Chat exported by hand\n");
        for day in 25..=28 {
            // On the 27th Berlin's clocks go from 02:59 back to 02:00: the times
            // after 02:59 are the repeated hour's second pass.
            let second_pass = if day == 27 { [(2, 10), (2, 30)] } else { [(2, 40), (2, 45)] };
            for (h, m) in
                [(0, 5), (1, 59), (2, 0), (2, 30), (2, 59)].into_iter().chain(second_pass).chain([(3, 0), (23, 59)])
            {
                t.push_str(&format!("{day}/10/2024, {h:02}:{m:02} - Anna: same text\n"));
                t.push_str(&format!("{day}/10/2024, {h:02}:{m:02} - Anna: same text\n"));
                t.push_str(&format!("{day}/10/2024, {h:02}:{m:02} - Ben: two\nlines\n\n"));
                t.push_str("31/02/2024, 10:00 - not a date: a line of Ben's message\n");
            }
        }
        for (h, m) in [(1, 59), (2, 15), (2, 15), (3, 0)] {
            t.push_str(&format!("31/03/2024, {h:02}:{m:02} - Ben: spring\n"));
        }
        t
    }

    #[test]
    fn a_transcript_read_in_pieces_gives_what_one_reader_gives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("WhatsApp Chat with Ben.txt");
        std::fs::write(&path, tricky_transcript()).unwrap();
        for zone in ["Europe/Berlin", "UTC", "Australia/Lord_Howe"] {
            let (whole, whole_notes) = read_in_pieces(&path, zone, 1000, true, u64::MAX);
            assert_eq!(whole.len(), 4 * 9 * 3 + 4);
            // Outside Berlin the 27th's second pass repeats moments of the first.
            let ids: std::collections::HashSet<&str> = whole.iter().map(|m| m.id.as_str()).collect();
            assert_eq!(ids.len(), whole.len(), "every id differs ({zone})");
            if zone == "Europe/Berlin" {
                assert!(whole_notes.iter().any(|n| n.contains("clocks skipped or repeated")), "{whole_notes:?}");
            }
            for piece in [1, 2, 7, 40, 333, 4096] {
                for (max, give_back) in [(1000, true), (3, true), (7, false)] {
                    let (parts, notes) = read_in_pieces(&path, zone, max, give_back, piece);
                    assert_eq!(parts, whole, "{zone}, pieces of {piece} bytes, batches of {max}");
                    assert_eq!(notes, whole_notes, "{zone}, pieces of {piece} bytes");
                }
            }
        }
    }

    /// Attachments are found when their batch is sent, wherever it ends (a
    /// batch of one, a piece's last): a listed file has its path, a missing
    /// one is missing, a name with a folder in it and a link out of the
    /// folder are refused and counted.
    #[cfg(unix)]
    #[test]
    fn attachments_are_found_wherever_their_batch_ends() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let path = dir.path().join("WhatsApp Chat with Ben.txt");
        let mut t = String::new();
        for i in 0..12 {
            std::fs::write(dir.path().join(format!("IMG-{i}.jpg")), b"x").unwrap();
            t.push_str(&format!("01/02/2024, 10:{i:02} - Ben: IMG-{i}.jpg (file attached)\n"));
            t.push_str(&format!("01/02/2024, 10:{i:02} - Ben: text {i}\n"));
            t.push_str(&format!("01/02/2024, 10:{i:02} - Ben: GONE-{i}.jpg (file attached)\n"));
            if i % 4 == 0 {
                t.push_str(&format!("01/02/2024, 10:{i:02} - Ben: ../up-{i}.jpg (file attached)\n"));
                std::fs::write(outside.path().join(format!("out-{i}.jpg")), b"s").unwrap();
                std::os::unix::fs::symlink(
                    outside.path().join(format!("out-{i}.jpg")),
                    dir.path().join(format!("LINK-{i}.jpg")),
                )
                .unwrap();
                t.push_str(&format!("01/02/2024, 10:{i:02} - Ben: LINK-{i}.jpg (file attached)\n"));
            }
        }
        std::fs::write(&path, t).unwrap();
        let real = dir.path().canonicalize().unwrap();
        for piece in [u64::MAX, 64, 200] {
            for (max, give_back) in [(1000, true), (1, true), (2, false), (5, true)] {
                let (all, notes) = read_in_pieces(&path, "UTC", max, give_back, piece);
                assert_eq!(all.len(), 12 * 3 + 3 * 2, "pieces of {piece}, batches of {max}");
                let mut refused = 0;
                for m in &all {
                    let Some(media) = m.media.as_ref() else { continue };
                    let name = media.file_name.as_deref().unwrap();
                    if name.starts_with("IMG-") {
                        let want = real.join(name).to_string_lossy().into_owned();
                        assert_eq!(media.path.as_deref(), Some(want.as_str()), "{name}, batches of {max}");
                        assert!(!media.missing);
                    } else {
                        assert!(media.path.is_none() && media.missing, "{name}, batches of {max}");
                        refused += u64::from(!name.starts_with("GONE-"));
                    }
                }
                assert_eq!(refused, 6, "three names with a folder, three links");
                let said = "6 attachment names were not plain file names";
                assert!(notes.iter().any(|n| n.starts_with(&said)), "{notes:?}");
            }
        }
    }

    #[test]
    fn identical_messages_out_of_order_get_ids_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("WhatsApp Chat with Ben.txt");
        let lines = [
            "1/2/24, 10:05 - Anna: ok",
            "1/2/24, 10:05 - Anna: ok",
            "1/2/24, 10:07 - Ben: hi",
            "1/2/24, 10:05 - Anna: ok", // late: between later messages
            "1/2/24, 10:06 - Ben: hi",
            "1/2/24, 10:05 - Anna: ok",
            "1/2/24, 10:07 - Ben: hi", // the latest moment again: on time
            "1/2/24, 10:08 - Anna: ok",
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let (messages, _) = read_in_pieces(&path, "UTC", 1000, true, u64::MAX);
        let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        let ms_1007 = "1706782020000"; // 1 February 2024 (day first: no day above 12), 10:07 UTC
        let ok = &ids[0][..20];
        assert_eq!(ids[0], format!("{ok}-1"));
        assert_eq!(ids[1], format!("{ok}-2"));
        assert_eq!(ids[3], format!("{ok}-1-{ms_1007}"), "{ids:?}");
        assert_eq!(ids[5], format!("{ok}-2-{ms_1007}"), "{ids:?}");
        assert_eq!(ids[6], format!("{}-2", &ids[2][..20]), "{ids:?}");
        assert!(ids[7].ends_with("-1") && ids[7][..20] != *ok);
        let unique: std::collections::HashSet<&&str> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        // The same in pieces of every size.
        for piece in [1, 5, 30] {
            assert_eq!(read_in_pieces(&path, "UTC", 2, true, piece).0, messages, "pieces of {piece}");
        }
    }

    /// A first message dated years ahead makes every later one late; the
    /// counts that tell them apart are kept a round at a time (memory stays
    /// bounded) and the ids stay unique, the same in pieces.
    #[test]
    fn ids_stay_unique_when_their_counting_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("WhatsApp Chat with Ben.txt");
        let mut lines = vec!["1/2/30, 10:00 - Anna: from the future".to_string()];
        for i in 0..60 {
            lines.push(format!("1/2/24, 10:0{} - Anna: ok", i % 3));
            lines.push(format!("1/2/24, 10:0{} - Ben: no {}", i % 2, i % 5));
        }
        lines.push("2/2/30, 10:00 - Anna: later still".into()); // a new latest: round 0 again
        lines.push("2/2/30, 10:00 - Anna: later still".into());
        std::fs::write(&path, lines.join("\n")).unwrap();
        let whole = |round_of| read_sized(&path, "UTC", 1000, true, Sizes { round_of, ..Sizes::default() }).0;
        let once = whole(ROUND_OF);
        assert!(once.iter().all(|m| !m.id.contains('.')), "one round");
        for round_of in [1, 2, 3, 4, 7] {
            let messages = whole(round_of);
            let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
            let unique: std::collections::HashSet<&&str> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "rounds of {round_of}: {ids:?}");
            assert!(ids[100].contains('.'), "rounds of {round_of}: {}", ids[100]);
            assert!(!ids[121].contains('.') && ids[122].ends_with("-2"), "{} {}", ids[121], ids[122]);
            // Only the ids differ from one round.
            for (a, b) in messages.iter().zip(&once) {
                assert_eq!(Message { id: String::new(), ..a.clone() }, Message { id: String::new(), ..b.clone() });
            }
            for piece in [7, 100] {
                let sizes = Sizes { learn_piece: piece, piece, round_of };
                assert_eq!(read_sized(&path, "UTC", 3, true, sizes).0, messages, "pieces of {piece}");
            }
        }
        // The counts never hold more than a round's messages.
        let mut numbering = Numbering::new(5);
        for i in 0..1000i64 {
            let mut m = Message { id: format!("{:020}", i % 37), timestamp_ms: 1_000_000 - i, ..Default::default() };
            numbering.number(0, std::slice::from_mut(&mut m));
            assert!(numbering.on_time.len() + numbering.late.len() <= 5);
        }
    }

    #[test]
    fn key_counts_count_in_the_list_and_in_the_map() {
        let mut counts = KeyCounts::default();
        let key = |i: u8| [i; HASHED];
        for round in 1..=3u32 {
            // Keys 0..40 in a changing order: the list fills, then the map.
            for i in 0..40u8 {
                let k = key(((u32::from(i) * 7 + round) % 40) as u8);
                assert_eq!(counts.count(k), round);
                assert!(counts.contains(&k));
            }
            assert_eq!(counts.len(), 40);
        }
        assert!(!counts.contains(&key(200)));
        counts.clear();
        assert_eq!((counts.len(), counts.count(key(3)), counts.count(key(3))), (0, 1, 2));
    }

    #[test]
    fn times_found_by_the_hour_are_the_zones() {
        let (_keep, returns) = std::sync::mpsc::channel();
        let returns = Mutex::new(returns);
        for name in
            ["Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns", "Asia/Kathmandu", "Europe/Athens", "UTC"]
        {
            let zone = Zone::from_option(Some(name)).unwrap();
            let mut reading = Reading::new(zone, 10, &returns);
            let mut last = None;
            // Every minute of the days around both of 2024's changes (and
            // Lord Howe's half-hour ones), in file order; and the night
            // Athens left its mean time, 25 min 8 s ahead one minute after
            // midnight: that hour's first and last second are both
            // unambiguous, with different offsets.
            let mut times = Vec::new();
            for (y, m, d) in [(2024, 3, 30), (2024, 3, 31), (2024, 4, 6), (2024, 4, 7), (2024, 10, 5), (2024, 10, 6)]
                .into_iter()
                .chain([(2024, 10, 26), (2024, 10, 27), (2024, 11, 2), (2024, 11, 3)])
                .chain([(1916, 7, 27), (1916, 7, 28)])
            {
                for minute in 0..24 * 60 {
                    let t = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(minute / 60, minute % 60, 30);
                    times.push(t.unwrap());
                }
            }
            // In order, then jumping back and forth (late messages): hours
            // kept earlier, and hours whose numbers share a slot, winter
            // and summer ones among them.
            let n = times.len();
            let jumping = (0..n).map(|i| times[i * 7919 % n]);
            for t in times.clone().into_iter().chain(jumping) {
                let want = zone.to_utc(t, last);
                reading.last_ms = last;
                assert_eq!(reading.moment_of(t), want, "{name} {t}");
                last = Some(want.0);
            }
        }
    }

    /// The first pass in pieces, put together, learns what one pass does:
    /// `John Doe:.` lines count for a name only once it was seen before
    /// (in an earlier piece or earlier in theirs), date changes across cuts
    /// count, the lines before the first message are counted once.
    #[test]
    fn the_first_pass_in_pieces_learns_what_one_pass_learns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("WhatsApp Chat with Fam.txt");
        let mut t = String::from("\u{feff}Exported by hand\n\n");
        t.push_str("1/2/24, 10:00 - Ann:.\n"); // Ann not seen yet: no author
        t.push_str("1/2/24, 10:00 - Zed:. Zed created group Fam\n"); // never an author: says group
        t.push_str("1/2/24, 10:01 - Ann: hi\nsecond line\n");
        t.push_str("2/2/24, 10:02 - Ann:.\n"); // now Ann's
        t.push_str("[13/02/2024, 10:00:00] Fam:\u{200e}Ben left\n"); // Fam unseen: no author, nothing
        t.push_str("[14/02/2024, 10:00:00] Ben: ok\n");
        t.push_str("3/2/24, 10:03 - Ben:!\n");
        t.push_str("3/2/24, 10:04 - Cy:?\n");
        t.push_str("4/2/24, 10:04 - Cy: later\n");
        std::fs::write(&path, &t).unwrap();
        let file = crate::source::find(&path).unwrap().chats.remove(0);
        assert_eq!(file.title, "Fam");
        let mut whole = Learnt::nothing(None);
        whole.then(learn_piece(&file, None, 0, u64::MAX).unwrap());
        let authors: BTreeMap<&str, u64> = whole.authors.iter().map(|(a, n)| (a.as_str(), *n)).collect();
        assert_eq!(authors, BTreeMap::from([("Ann", 2), ("Ben", 2), ("Cy", 1)]));
        assert!(whole.group_hint);
        assert!(!whole.title_system, "Fam's system line came before Fam was known");
        assert_eq!((whole.headers, whole.before), (9, 1));
        for size in [1, 2, 3, 5, 8, 13, 21, 40, 64, 100, 200, 1000] {
            let pieces = stream::cuts(&file.txt, &file.shown, size, |_| true);
            assert!(size > 100 || pieces.len() > 2, "pieces of {size}");
            let mut learnt = Learnt::nothing(None);
            for (from, to) in pieces {
                learnt.then(learn_piece(&file, None, from, to).unwrap());
            }
            assert_eq!(learnt.orders.decisions(), whole.orders.decisions(), "pieces of {size}");
            assert_eq!(learnt, whole, "pieces of {size}");
        }
    }

    /// A file with more names than any chat (a crafted one) is refused in
    /// the first pass, read whole or in pieces: what it keeps stays bounded.
    #[test]
    fn more_names_than_any_chat_has_is_no_export() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("WhatsApp Chat with Many.txt");
        let write = |names: usize, if_known: usize| {
            let mut t = String::new();
            for i in 0..names {
                t.push_str(&format!("1/2/24, 10:00 - Name {i}: hi\n"));
            }
            for i in 0..if_known {
                t.push_str(&format!("1/2/24, 10:00 - Other {i}:.\n"));
            }
            std::fs::write(&path, t).unwrap();
        };
        let options = Options::new().with("timezone", "UTC");
        for learn_piece in [1 << 16, u64::MAX] {
            let sizes = Sizes { learn_piece, ..Sizes::default() };
            write(MAX_AUTHORS, 0);
            assert!(open_sized(&path, &options, sizes).is_ok(), "pieces of {learn_piece}");
            write(MAX_AUTHORS + 1, 0);
            let e = open_sized(&path, &options, sizes).err().expect("refused").to_string();
            assert!(e.contains("more than 50000 different senders"), "{e}");
        }
        // Names that might be authors count too, in one piece.
        write(MAX_AUTHORS - 1, 2);
        let e = open_sized(&path, &options, Sizes::default()).err().expect("refused").to_string();
        assert!(e.contains("more than 50000 different senders"), "{e}");
    }

    /// A folder of exports: folders listed and transcripts read at once on
    /// two threads, yet the chats come in name order, a folder without a
    /// transcript is passed over, and the first file's error is the one said.
    #[test]
    fn a_folder_of_exports_is_planned_in_name_order_and_its_first_error_wins() {
        let dir = tempfile::tempdir().unwrap();
        let chat = |folder: &str, name: &str, text: &[u8]| {
            let d = dir.path().join(folder);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("WhatsApp Chat with {name}.txt")), text).unwrap();
        };
        chat("a", "Anna", "1/2/24, 10:00 - Anna: hi\n1/2/24, 10:01 - Me: yo\n".repeat(200).as_bytes());
        std::fs::create_dir(dir.path().join("b")).unwrap(); // no transcript
        std::fs::write(dir.path().join("b/IMG-1.jpg"), b"x").unwrap();
        chat("c", "Cy", b"");
        chat("d", "Dee", b"1/2/24, 10:00 - Dee: \0binary\n");
        chat("e", "Eve", "1/2/24, 10:00 - Eve: hi\n1/2/24, 10:01 - Me: ok\n".repeat(300).as_bytes());
        let options = Options::new().with("timezone", "UTC");
        for learn_piece in [64, 1000, u64::MAX] {
            let sizes = Sizes { learn_piece, ..Sizes::default() };
            let e = open_sized(dir.path(), &options, sizes).err().expect("refused").to_string();
            assert!(e.contains("is empty") && e.contains("Cy"), "pieces of {learn_piece}: {e}");
        }
        std::fs::remove_dir_all(dir.path().join("c")).unwrap();
        let e = open_sized(dir.path(), &options, Sizes::default()).err().expect("refused").to_string();
        assert!(e.contains("binary data") && e.contains("Dee"), "{e}");
        std::fs::remove_dir_all(dir.path().join("d")).unwrap();
        for learn_piece in [64, u64::MAX] {
            let sizes = Sizes { learn_piece, ..Sizes::default() };
            let mut importer = open_sized(dir.path(), &options, sizes).unwrap();
            importer.next_contacts(100).unwrap();
            let chats: Vec<String> = importer.next_chats(100).unwrap().into_iter().map(|c| c.id).collect();
            assert_eq!(chats, [contact_id("Anna"), contact_id("Eve")], "pieces of {learn_piece}");
            let mut n = 0;
            loop {
                let batch = importer.next_messages(1000).unwrap();
                if batch.is_empty() {
                    break;
                }
                n += batch.len();
            }
            assert_eq!(n, 400 + 600);
        }
        std::fs::remove_dir_all(dir.path().join("a")).unwrap();
        std::fs::remove_dir_all(dir.path().join("e")).unwrap();
        let e = open_sized(dir.path(), &options, Sizes::default()).err().expect("refused").to_string();
        assert!(e.contains("holds no WhatsApp export"), "{e}");
    }

    #[test]
    fn contact_cards_are_read_whole_up_to_a_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let card = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            read_vcard(&p)
        };
        let small = card("Ben.vcf", "BEGIN:VCARD\nVERSION:3.0\nFN: Ben 本 \nEND:VCARD\n".as_bytes()).unwrap();
        assert_eq!(small.name.as_deref(), Some("Ben 本"));
        assert_eq!(small.vcard.as_deref(), Some("BEGIN:VCARD\nVERSION:3.0\nFN: Ben 本 \nEND:VCARD\n"));
        // Larger than a read at a time: all of it, up to 1 MiB exactly.
        let mut big = b"BEGIN:VCARD\nFN:Big\nNOTE:".to_vec();
        big.resize((1 << 20) - 10, b'x');
        big.extend_from_slice(b"\nEND:VCARD");
        assert_eq!(big.len(), 1 << 20);
        let read = card("big.vcf", &big).unwrap();
        assert_eq!(read.vcard.unwrap().len(), 1 << 20);
        big.push(b'\n');
        assert!(card("bigger.vcf", &big).is_none(), "over 1 MiB: left as a file");
        assert!(card("latin1.vcf", b"FN:Jos\xe9\n").is_none());
        assert!(read_vcard(&dir.path().join("gone.vcf")).is_none());
    }

    #[test]
    fn messages_built_in_returned_batches_are_the_same() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("WhatsApp Chat with Ben.txt"), TRANSCRIPT).unwrap();
        std::fs::write(dir.path().join("IMG-20240101-WA0001.jpg"), b"jpeg").unwrap();
        std::fs::write(dir.path().join("Ben.vcf"), "BEGIN:VCARD\nFN:Ben B\nEND:VCARD\n").unwrap();
        let reference = read_all(dir.path(), 1000, false);
        assert_eq!(reference.len(), 12);
        for max in [1, 2, 3, 5, 1000] {
            assert_eq!(read_all(dir.path(), max, true), reference, "batches of {max}, given back");
        }
        let text = |i: usize| reference[i].text.as_deref();
        assert_eq!(
            reference[2].media.as_ref().and_then(|m| m.caption.as_deref()),
            Some("the fireworks\nover the river")
        );
        assert_eq!(reference[2].text, None);
        assert!(reference[3].media.as_ref().is_some_and(|m| m.missing));
        assert_eq!(reference[4].location.as_ref().map(|l| l.latitude), Some(52.52));
        assert_eq!(reference[6].kind, MessageKind::Deleted);
        assert_eq!(reference[7].kind, MessageKind::Other);
        // The card is read by the finishing step; 31 February is no header,
        // so its line is kept (as the card's caption, Android style), not dropped.
        let card = &reference[8];
        assert_eq!(card.contact_card.as_ref().and_then(|c| c.name.as_deref()), Some("Ben B"));
        assert_eq!(
            card.media.as_ref().and_then(|m| m.caption.as_deref()),
            Some("2/31/24, 00:07 - not a date, so a line of the card's message")
        );
        assert_eq!((text(9), reference[9].edited), (Some("多行\n第二行"), true));
        // The same message twice in a minute: two ids, counted in order.
        assert!(reference[10].id.ends_with("-1") && reference[11].id.ends_with("-2"), "{:?}", reference[10..].to_vec());
        assert_eq!(reference[10].id[..20], reference[11].id[..20]);
        assert_eq!(reference[0].kind, MessageKind::System);
        assert_eq!(reference[0].sender, None);
    }
}
