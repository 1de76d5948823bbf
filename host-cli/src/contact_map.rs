//! Across apps, people have different ids: WhatsApp knows a phone number
//! (`4915…@s.whatsapp.net`), WeChat a username (`wxid_…`). A contact map
//! (`--contacts MAP.toml`) pairs them; the conversion then rewrites every id
//! on the way from the importer to the exporter. Who has no pair stops the
//! conversion before anything is written, unless `--unmapped keep-as-name`
//! says to give them a placeholder id and keep their name.
//!
//! A Telegram history (read only) has user ids (`user123`), no numbers:
//! `telegram = "user123"` pairs them the same way.
//!
//! ```toml
//! [owner]
//! name = "Me"
//! whatsapp = "+4915112345678"
//! wechat = "wxid_k3l9m2n8p4q1"
//!
//! [[person]]
//! name = "Zhang Wei"
//! whatsapp = "+8613800138000"
//! wechat = "wxid_zhang3wei"
//! ```

use anyhow::{bail, Result};
use chatferry_core::text_form::counted;
use chatferry_core::{Chat, ChatKind, Contact, Header, Importer, Message, Report};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    WhatsApp,
    WeChat,
    /// Telegram's user ids (`user123`); chatferry reads Telegram, writes none.
    Telegram,
}

impl Family {
    pub fn of(adapter: &str) -> Option<Family> {
        // An "Export chat" text's people are WhatsApp ids too: numbers where
        // it shows them, placeholders for those it names only.
        if adapter.starts_with("whatsapp-") {
            Some(Family::WhatsApp)
        } else if adapter.starts_with("wechat-") {
            Some(Family::WeChat)
        } else if adapter.starts_with("telegram-") {
            Some(Family::Telegram)
        } else {
            None
        }
    }
    /// The app whose ids a writer keeps: an "Export chat" text writes
    /// names, not ids, so any history goes into one as it is.
    pub fn of_target(adapter: &str) -> Option<Family> {
        if adapter == "whatsapp-txt" {
            None
        } else {
            Family::of(adapter)
        }
    }
    /// The app a history's ids belong to, when no adapter says: from the
    /// owner's id (`…@s.whatsapp.net`, `wxid_…`).
    pub fn of_header(header: &Header) -> Option<Family> {
        Family::of(&header.source_adapter).or_else(|| {
            let owner = &header.owner.as_ref()?.id;
            if owner.ends_with("@s.whatsapp.net") || owner.ends_with("@lid") {
                Some(Family::WhatsApp)
            } else if owner.starts_with("wxid_") {
                Some(Family::WeChat)
            } else if is_telegram_user(owner) {
                Some(Family::Telegram)
            } else {
                None
            }
        })
    }

    fn key(self) -> &'static str {
        match self {
            Family::WhatsApp => "whatsapp",
            Family::WeChat => "wechat",
            Family::Telegram => "telegram",
        }
    }
    /// Whether `id` names a person (not a group, feed or official account).
    fn is_person(self, id: &str) -> bool {
        match self {
            Family::WhatsApp => {
                id.strip_suffix("@s.whatsapp.net").is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                    || id.ends_with("@lid")
            }
            Family::WeChat => !id.ends_with("@chatroom") && !id.starts_with("gh_") && !id.contains('@'),
            Family::Telegram => is_telegram_user(id) || id.starts_with("name:"),
        }
    }
    /// The id as stored: WhatsApp numbers become addresses (in
    /// international form, or national with `region`); a number that is
    /// neither is an error saying so, not a placeholder-shaped id.
    fn normalize(self, raw: &str, region: Option<&str>) -> std::result::Result<Option<String>, String> {
        let t = raw.trim();
        if t.is_empty() {
            return Ok(None);
        }
        match self {
            // Groups, hidden-number (LID) and other WhatsApp addresses are taken as written.
            Family::WhatsApp if t.contains('@') && !t.ends_with("@s.whatsapp.net") => Ok(Some(t.to_string())),
            Family::WhatsApp => chatferry_core::phone::whatsapp_id(t, region).map(Some),
            Family::WeChat => Ok(Some(t.to_string())),
            // As the export's `from_id` writes it, or its number alone.
            Family::Telegram if t.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(format!("user{t}"))),
            Family::Telegram if is_telegram_user(t) => Ok(Some(t.to_string())),
            Family::Telegram => Err(format!(
                "{t:?} is not a Telegram user id; write it as the export does (user123456789) or leave it empty"
            )),
        }
    }
    /// Whether `id` is one chatferry made for someone known by name only
    /// (see [`Family::placeholder`]).
    fn is_placeholder(self, id: &str) -> bool {
        match self {
            Family::WhatsApp => chatferry_core::phone::is_placeholder_jid(id),
            Family::WeChat => id.starts_with("chatferry_"),
            // Someone a reduced export names without an id.
            Family::Telegram => id.starts_with("name:"),
        }
    }
    /// Whether `id` is no number a writer can use: a placeholder, or (in
    /// WhatsApp) a hidden-number id (`…@lid`) the history pairs with no number.
    fn needs_number(self, id: &str) -> bool {
        self.is_placeholder(id) || (self == Family::WhatsApp && id.ends_with("@lid"))
    }
    /// An id for someone without a pair: cannot be a real account.
    fn placeholder(self, source_id: &str) -> String {
        match self {
            // No country code starts with 0.
            Family::WhatsApp => chatferry_core::phone::placeholder_jid(source_id),
            Family::WeChat => format!("chatferry_{}", hex::encode(&Sha256::digest(source_id.as_bytes())[..6])),
            Family::Telegram => format!("name:{source_id}"),
        }
    }
    /// A group's id in the other app's form (`…@chatroom` ⇄ `…@g.us`).
    fn group_id(self, id: &str) -> String {
        let digits: String = id.split('@').next().unwrap_or("").chars().filter(char::is_ascii_digit).collect();
        let digits = if digits.len() >= 6 {
            digits
        } else {
            let h = Sha256::digest(id.as_bytes());
            format!("{}", u64::from_be_bytes(h[..8].try_into().expect("8 bytes")))
        };
        match self {
            Family::WhatsApp => format!("{digits}@g.us"),
            Family::WeChat => format!("{digits}@chatroom"),
            Family::Telegram => format!("chat{digits}"),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
struct Entry {
    /// For the person reading the file, and for naming them in errors.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    whatsapp: Option<String>,
    #[serde(default)]
    wechat: Option<String>,
    #[serde(default)]
    telegram: Option<String>,
}

/// `user` and digits: a Telegram user id as chatferry keeps it.
fn is_telegram_user(id: &str) -> bool {
    id.strip_prefix("user").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[derive(Debug, Deserialize, Default)]
struct MapFile {
    owner: Option<Entry>,
    #[serde(default)]
    person: Vec<Entry>,
}

/// A contact map is a few thousand lines at most.
const MAX_MAP_BYTES: u64 = 16 * 1024 * 1024;

impl Entry {
    /// How the person is named in an error: their name, else their ids.
    fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n:?}"),
            None => format!(
                "the entry {}",
                [&self.whatsapp, &self.wechat, &self.telegram]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
        }
    }

    fn id(&self, f: Family, region: Option<&str>) -> std::result::Result<Option<String>, String> {
        let raw = match f {
            Family::WhatsApp => self.whatsapp.as_deref(),
            Family::WeChat => self.wechat.as_deref(),
            Family::Telegram => self.telegram.as_deref(),
        };
        raw.map_or(Ok(None), |raw| f.normalize(raw, region))
    }
}

/// How ids are rewritten for one conversion.
pub struct Mapping {
    from: Family,
    to: Family,
    /// The map's people, read and checked; paired once the source's names are known.
    entries: Vec<MapEntry>,
    /// Where the map came from, for errors.
    map_name: String,
    pairs: HashMap<String, String>,
    /// Whether a map file was given (for the error's wording).
    with_file: bool,
    keep_as_name: bool,
    /// Best known name per source id (for placeholders and the report).
    names: HashMap<String, String>,
    placeholders: BTreeMap<String, String>,
    /// The owner's id in the target app, from the map's `[owner]`.
    owner_target: Option<String>,
}

/// One person of a contact map, their ids in the app's own form.
struct MapEntry {
    label: String,
    name: Option<String>,
    from: Option<String>,
    to: Option<String>,
    owner: bool,
}

/// A contact map's text (`name` says where it came from, for errors), its
/// ids checked and put in each app's form.
fn read_map(text: &str, name: &str, from: Family, to: Family, region: Option<&str>) -> Result<Vec<MapEntry>> {
    let file: MapFile =
        toml::from_str(text).map_err(|e| crate::UsageError(format!("{name} is not a contact map: {}", e.message())))?;
    let id = |e: &Entry, f: Family| {
        e.id(f, region).map_err(|why| crate::UsageError(format!("{name}: {}: {why}", e.label())))
    };
    let owner = file.owner.iter().map(|e| (e, true));
    owner
        .chain(file.person.iter().map(|e| (e, false)))
        .map(|(e, owner)| {
            let name = e.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
            Ok(MapEntry { label: e.label(), name, from: id(e, from)?, to: id(e, to)?, owner })
        })
        .collect()
}

/// The source id → target id pairs of a map, and the owner's target id.
/// Someone the source knows by name only (`by_name`: name → their
/// placeholder id) is found by the map's `name`. Two people given one id is
/// a usage error naming both.
fn pair_up(
    entries: &[MapEntry],
    map_name: &str,
    from: Family,
    to: Family,
    by_name: &HashMap<String, String>,
) -> Result<(HashMap<String, String>, Option<String>)> {
    let owner_target = entries.iter().find(|e| e.owner).and_then(|e| e.to.clone());
    let mut pairs = HashMap::new();
    // Who a target id (and a source id) was given to first: one person
    // each, or the conversion would merge two people.
    let mut by_target: HashMap<&str, &MapEntry> = HashMap::new();
    let mut by_source: HashMap<String, &MapEntry> = HashMap::new();
    for e in entries {
        let Some(b) = &e.to else { continue };
        let named = e.name.as_ref().and_then(|n| by_name.get(n));
        // In one app the id is its own pair; only a placeholder needs one.
        let sources: Vec<&String> = e.from.iter().filter(|a| *a != b).chain(named).collect();
        if sources.is_empty() && from != to {
            continue;
        }
        let clash = |first: &MapEntry, id: &str, app: Family| {
            crate::UsageError(format!(
                "{map_name}: {} and {} both have the {} id {id}; give each person their own",
                first.label,
                e.label,
                app.key()
            ))
        };
        if let Some(first) = by_target.insert(b, e) {
            bail!(clash(first, b, to));
        }
        for a in sources {
            if let Some(first) = by_source.insert(a.clone(), e) {
                // The same placeholder found by name and by id is one person.
                if !std::ptr::eq(first, e) {
                    bail!(clash(first, a, from));
                }
            }
            pairs.insert(a.clone(), b.clone());
        }
    }
    Ok((pairs, owner_target))
}

/// For the fuzz target `contact_map` (fuzz/): `bytes` as a contact map in
/// each direction, and its ids then mapped as a conversion maps them.
#[doc(hidden)]
pub fn fuzz_map(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let directions = [(Family::WhatsApp, Family::WeChat), (Family::WeChat, Family::WhatsApp)];
    for (from, to) in directions.into_iter().chain([(Family::WhatsApp, Family::WhatsApp)]) {
        let Ok(entries) = read_map(text, "fuzz.toml", from, to, None) else { continue };
        // Every name in the map as someone the source knows by name only.
        let by_name =
            entries.iter().filter_map(|e| e.name.clone()).map(|n| (n.clone(), from.placeholder(&n))).collect();
        let Ok((pairs, owner_target)) = pair_up(&entries, "fuzz.toml", from, to, &by_name) else { continue };
        let ids: Vec<String> = pairs.keys().chain(pairs.values()).cloned().collect();
        let mut mapping = Mapping {
            from,
            to,
            entries,
            map_name: "fuzz.toml".into(),
            pairs,
            with_file: true,
            keep_as_name: true,
            names: HashMap::new(),
            placeholders: BTreeMap::new(),
            owner_target,
        };
        for id in &ids {
            let _ = mapping.person(id);
            let _ = mapping.chat_id(id, ChatKind::Direct);
        }
    }
}

impl Mapping {
    /// `from` and `to` may be one app: then the map gives numbers to people
    /// an export knows by name only, and everyone else keeps their id.
    pub fn new(
        from: Family,
        to: Family,
        map: Option<&Path>,
        keep_as_name: bool,
        region: Option<&str>,
    ) -> Result<Mapping> {
        let (entries, map_name) = match map {
            Some(path) => {
                let text = chatferry_core::small_file::read_text(path, "the contact map", MAX_MAP_BYTES)
                    .map_err(|e| crate::UsageError(e.message))?;
                let name = path.display().to_string();
                (read_map(&text, &name, from, to, region)?, name)
            }
            None => (Vec::new(), String::new()),
        };
        // Checked now, before the source is read; paired again with its names.
        let (pairs, owner_target) = pair_up(&entries, &map_name, from, to, &HashMap::new())?;
        Ok(Mapping {
            from,
            to,
            entries,
            map_name,
            pairs,
            with_file: map.is_some(),
            keep_as_name,
            names: HashMap::new(),
            placeholders: BTreeMap::new(),
            owner_target,
        })
    }

    /// Pairs the map's people again, now that the source's names are known.
    fn pair_with_names(&mut self) -> Result<()> {
        let by_name: HashMap<String, String> = self
            .names
            .iter()
            .filter(|(id, _)| self.from.needs_number(id))
            .map(|(id, name)| (name.trim().to_string(), id.clone()))
            .collect();
        (self.pairs, self.owner_target) = pair_up(&self.entries, &self.map_name, self.from, self.to, &by_name)?;
        Ok(())
    }

    /// Whether ids pass unchanged (one app, nobody paired).
    fn is_identity(&self) -> bool {
        self.from == self.to && self.pairs.is_empty()
    }

    fn person(&mut self, id: &str) -> std::result::Result<String, String> {
        if let Some(t) = self.pairs.get(id) {
            return Ok(t.clone());
        }
        if self.from == self.to {
            if self.from.is_placeholder(id) {
                self.placeholders.insert(id.to_string(), id.to_string());
            }
            return Ok(id.to_string());
        }
        // A WeChat id carried through WhatsApp (an official account has no
        // number; WhatsApp stores it as `gh_…@s.whatsapp.net`) goes home as it was.
        if let (Family::WhatsApp, Family::WeChat) = (self.from, self.to) {
            if let Some(local) = id.strip_suffix("@s.whatsapp.net").filter(|l| !l.bytes().all(|b| b.is_ascii_digit())) {
                return Ok(local.to_string());
            }
        }
        if !self.from.is_person(id) {
            return Ok(id.to_string());
        }
        if self.keep_as_name {
            let p = self.to.placeholder(id);
            self.placeholders.insert(id.to_string(), p.clone());
            return Ok(p);
        }
        Err(id.to_string())
    }

    fn chat_id(&mut self, chat: &str, kind: ChatKind) -> std::result::Result<String, String> {
        match kind {
            ChatKind::Group if self.from == self.to => Ok(chat.to_string()),
            ChatKind::Group => Ok(self.to.group_id(chat)),
            ChatKind::Direct => self.person(chat),
            // A Telegram bot's chat is an official one under a person's id.
            _ if self.from.is_person(chat) && !self.from.is_placeholder(chat) => self.person(chat),
            _ => Ok(chat.to_string()),
        }
    }

    fn describe(&self, id: &str) -> String {
        match self.names.get(id) {
            Some(n) => format!("{n} ({id})"),
            None => id.to_string(),
        }
    }
}

/// An importer whose ids are rewritten by a [`Mapping`]. Contacts and
/// chats are read ahead (they are few) so missing pairs are found before
/// the exporter is opened.
pub struct MappedImporter<'a> {
    inner: &'a mut dyn Importer,
    mapping: Mapping,
    header: Header,
    contacts: std::vec::IntoIter<Contact>,
    chats: std::vec::IntoIter<Chat>,
    chat_kinds: HashMap<String, ChatKind>,
    dropped_contacts: u64,
}

fn read_ahead(inner: &mut dyn Importer) -> Result<(Header, Vec<Contact>, Vec<Chat>)> {
    let header = inner.header()?;
    let mut contacts = Vec::new();
    loop {
        let b = inner.next_contacts(chatferry_core::BATCH_SIZE)?;
        if b.is_empty() {
            break;
        }
        contacts.extend(b);
    }
    let mut chats = Vec::new();
    loop {
        let b = inner.next_chats(chatferry_core::BATCH_SIZE)?;
        if b.is_empty() {
            break;
        }
        chats.extend(b);
    }
    Ok((header, contacts, chats))
}

fn best_name(c: &Contact) -> Option<String> {
    c.name.clone().or(c.nickname.clone()).or(c.alias.clone())
}

/// A one-to-one chat's title names its person, when no contact does.
fn direct_chat_titles(chats: &[Chat]) -> HashMap<String, String> {
    chats.iter().filter(|c| c.kind == ChatKind::Direct).filter_map(|c| Some((c.id.clone(), c.title.clone()?))).collect()
}

impl<'a> MappedImporter<'a> {
    /// Reads contacts and chats, rewrites them, and fails naming everyone
    /// in a chat who has no pair (nothing has been written yet).
    pub fn new(inner: &'a mut dyn Importer, mut mapping: Mapping) -> Result<MappedImporter<'a>> {
        let (mut header, contacts, chats) = read_ahead(inner)?;
        mapping.names = direct_chat_titles(&chats);
        // A hidden-number id with no name is named by itself in a template (see `write_template`).
        for chat in &chats {
            for id in std::iter::once(&chat.id).chain(chat.participants.iter().map(|p| &p.contact)) {
                if id.ends_with("@lid") {
                    mapping.names.entry(id.clone()).or_insert_with(|| id.clone());
                }
            }
        }
        for c in contacts.iter().chain(&header.owner) {
            if let Some(n) = best_name(c) {
                mapping.names.insert(c.id.clone(), n);
            }
        }
        mapping.pair_with_names()?;
        let mut missing: Vec<String> = Vec::new();
        let mut need = |m: &mut Mapping, id: &str| -> String {
            match m.person(id) {
                Ok(t) => t,
                Err(id) => {
                    if !missing.contains(&id) {
                        missing.push(id.clone());
                    }
                    id
                }
            }
        };
        if let Some(o) = header.owner.as_mut() {
            o.id = need(&mut mapping, &o.id.clone());
        } else if let Some(id) = mapping.owner_target.clone() {
            // The source does not record its owner (WhatsApp on iPhone); the map names them.
            header.owner = Some(Contact { id, ..Default::default() });
        }
        let mut chat_kinds = HashMap::new();
        let mut in_chats = std::collections::HashSet::new();
        let mut mapped_chats = Vec::with_capacity(chats.len());
        for mut chat in chats {
            chat_kinds.insert(chat.id.clone(), chat.kind);
            // A chat under a person's id (one-to-one, a Telegram bot's) needs their pair.
            let persons = mapping.from.is_person(&chat.id) && !mapping.from.is_placeholder(&chat.id);
            if chat.kind == ChatKind::Direct || (persons && mapping.from != mapping.to) {
                in_chats.insert(chat.id.clone());
                chat.id = need(&mut mapping, &chat.id.clone());
            } else {
                chat.id = mapping.chat_id(&chat.id, chat.kind).unwrap_or(chat.id);
            }
            for p in &mut chat.participants {
                in_chats.insert(p.contact.clone());
                p.contact = need(&mut mapping, &p.contact.clone());
            }
            mapped_chats.push(chat);
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().take(12).map(|id| mapping.describe(id)).collect();
            let more = if missing.len() > 12 { format!(" and {} more", missing.len() - 12) } else { String::new() };
            let (from, to) = (mapping.from.key(), mapping.to.key());
            let people_have = counted(missing.len() as u64, "person has", "people have");
            let why = if mapping.with_file {
                format!("{people_have} no {to} id in the contact map")
            } else {
                format!("moving a {from} history to {to} needs each person's {to} id; {people_have} none")
            };
            bail!(crate::UsageError(format!(
                "{why}: {}{more}. Write a template with --write-contact-map FILE, fill it in and pass it with \
                 --contacts FILE, or give --unmapped keep-as-name to keep them under placeholder ids with their \
                 names. Nothing was written.",
                list.join(", ")
            )));
        }
        let across = mapping.from != mapping.to;
        let mut dropped_contacts = 0;
        let mut mapped_contacts = Vec::new();
        for mut c in contacts {
            if across
                && mapping.from.is_person(&c.id)
                && !in_chats.contains(&c.id)
                && !mapping.pairs.contains_key(&c.id)
            {
                dropped_contacts += 1; // a stranger in no chat, with no pair
                continue;
            }
            let keep_name = mapping.placeholders.contains_key(&c.id);
            c.id = mapping.person(&c.id).unwrap_or(c.id);
            if keep_name && c.name.is_none() {
                c.name = c.nickname.clone();
            }
            if across {
                c.extras.retain(|k, _| {
                    !k.starts_with("wa.")
                        && !k.starts_with("wai.")
                        && !k.starts_with("wechat.")
                        && !k.starts_with("tg.")
                });
            }
            mapped_contacts.push(c);
        }
        // Placeholder people who are not in the contact list still keep their name.
        for (source, placeholder) in mapping.placeholders.clone().into_iter().filter(|_| across) {
            if !mapped_contacts.iter().any(|c| c.id == placeholder) {
                mapped_contacts.push(Contact {
                    id: placeholder,
                    name: mapping.names.get(&source).cloned().or(Some(source.clone())),
                    ..Default::default()
                });
            }
        }
        Ok(MappedImporter {
            inner,
            mapping,
            header,
            contacts: mapped_contacts.into_iter(),
            chats: mapped_chats.into_iter(),
            chat_kinds,
            dropped_contacts,
        })
    }

    fn map_message(&mut self, mut m: Message) -> chatferry_core::Result<Message> {
        if self.mapping.is_identity() {
            // Only counting who stays a placeholder: the chats' people were counted reading ahead.
            if let Some(s) = &m.sender {
                if self.mapping.from.is_placeholder(s) && !self.mapping.placeholders.contains_key(s) {
                    self.mapping.placeholders.insert(s.clone(), s.clone());
                }
            }
            return Ok(m);
        }
        let kind = self.chat_kinds.get(&m.chat).copied().unwrap_or(ChatKind::Direct);
        let fail = |id: String| {
            chatferry_core::Error::usage(format!(
                "message {}: {id} has no pair in the contact map; add them, or give --unmapped keep-as-name",
                m.id
            ))
        };
        m.chat = self.mapping.chat_id(&m.chat, kind).map_err(&fail)?;
        if let Some(s) = &m.sender {
            m.sender = Some(self.mapping.person(s).map_err(&fail)?);
        }
        for r in &mut m.reactions {
            if let Some(s) = &r.sender {
                r.sender = Some(self.mapping.person(s).map_err(&fail)?);
            }
        }
        if let Some(e) = &mut m.system {
            if let Some(a) = &e.actor {
                e.actor = Some(self.mapping.person(a).map_err(&fail)?);
            }
            for t in &mut e.targets {
                *t = self.mapping.person(t).map_err(&fail)?;
            }
        }
        if let Some(p) = &mut m.poll {
            for o in &mut p.options {
                for v in &mut o.voters {
                    *v = self.mapping.person(v).map_err(&fail)?;
                }
            }
        }
        Ok(m)
    }
}

impl Importer for MappedImporter<'_> {
    fn header(&mut self) -> chatferry_core::Result<Header> {
        Ok(self.header.clone())
    }
    fn next_contacts(&mut self, max: usize) -> chatferry_core::Result<Vec<Contact>> {
        Ok(self.contacts.by_ref().take(max).collect())
    }
    fn next_chats(&mut self, max: usize) -> chatferry_core::Result<Vec<Chat>> {
        Ok(self.chats.by_ref().take(max).collect())
    }
    fn next_messages(&mut self, max: usize) -> chatferry_core::Result<Vec<Message>> {
        let batch = self.inner.next_messages(max)?;
        batch.into_iter().map(|m| self.map_message(m)).collect()
    }
    fn finish(&mut self) -> chatferry_core::Result<Report> {
        let mut r = self.inner.finish()?;
        let m = &self.mapping;
        let kept = m.placeholders.len() as u64;
        if m.from == m.to {
            // You are not counted: your own number is --opt owner's.
            let owner = self.header.owner.as_ref().map(|o| o.id.as_str());
            let kept = m.placeholders.keys().filter(|id| Some(id.as_str()) != owner).count() as u64;
            if m.with_file {
                r.note(format!(
                    "{} by name only given their number with the contact map",
                    counted(m.pairs.len() as u64, "person known", "people known")
                ));
            }
            if kept > 0 {
                r.note(format!(
                    "{} by name only {} kept under placeholder numbers (starting with 0, they reach nobody) with \
                     their names: to give them their numbers, write a contact map with --write-contact-map FILE, \
                     fill it in and convert with --contacts FILE",
                    counted(kept, "person known", "people known"),
                    if kept == 1 { "was" } else { "were" }
                ));
            }
            return Ok(r);
        }
        r.note(format!(
            "ids rewritten with the contact map ({} → {}): {} pairs",
            m.from.key(),
            m.to.key(),
            m.pairs.len()
        ));
        if kept > 0 {
            r.note(format!(
                "{} no pair and {} kept under placeholder ids with their names (--unmapped keep-as-name)",
                counted(kept, "person had", "people had"),
                if kept == 1 { "was" } else { "were" }
            ));
        }
        if self.dropped_contacts > 0 {
            r.note(format!(
                "{} in no chat and without a pair {} not carried across apps",
                counted(self.dropped_contacts, "contact", "contacts"),
                if self.dropped_contacts == 1 { "was" } else { "were" }
            ));
        }
        Ok(r)
    }
}

/// Writes a contact map template listing the source's people (owner,
/// everyone in a chat), with what is known of them, for the person to fill
/// in. Within one app (`from == to`) it lists only who the source knows by
/// name only: they need a number, everyone else has one.
pub fn write_template(inner: &mut dyn Importer, from: Family, to: Family, path: &Path) -> Result<usize> {
    let (header, contacts, chats) = read_ahead(inner)?;
    let listed = |id: &str| from.is_person(id) && (from != to || from.needs_number(id));
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let by_id: HashMap<&str, &Contact> = contacts.iter().map(|c| (c.id.as_str(), c)).collect();
    let titles = direct_chat_titles(&chats);
    let mut people: Vec<String> = Vec::new();
    for chat in &chats {
        let ids = std::iter::once(&chat.id)
            .filter(|_| chat.kind == ChatKind::Direct || from.is_person(&chat.id))
            .chain(chat.participants.iter().map(|p| &p.contact));
        for id in ids {
            if listed(id) && !people.contains(id) && header.owner.as_ref().map_or(true, |o| &o.id != id) {
                people.push(id.clone());
            }
        }
    }
    let mut out = if from == to {
        format!(
            "# chatferry contact map: the {app} id of each person this history knows by name only.\n\
             # Fill in each number with its country code (+4915…), then: chatferry convert … --contacts THIS_FILE\n\
             # Whom you leave empty keeps a placeholder number (starting with 0) and their name.\n",
            app = from.key()
        )
    } else {
        format!(
            "# chatferry contact map: each person's id in {} and in {}.\n\
             # WhatsApp: the phone number with country code (+4915…); WeChat: the username (wxid_… or a custom id).\n\
             {}# Fill in the empty ids, then: chatferry convert … --contacts THIS_FILE\n",
            from.key(),
            to.key(),
            if from == Family::Telegram {
                "# Telegram: the user id as the export writes it (user123…).\n"
            } else {
                ""
            }
        )
    };
    let entry = |out: &mut String, table: &str, id: &str, c: Option<&Contact>| {
        out.push_str(&format!("\n[{table}]\n"));
        // Someone known by name only is found by it: it is written as the source has it.
        // Someone with no name at all is found by their hidden-number id, written as the name.
        let name = c
            .and_then(best_name)
            .or_else(|| titles.get(id).cloned())
            .or_else(|| (from == Family::WhatsApp && id.ends_with("@lid")).then(|| id.to_string()));
        if let Some(n) = name {
            out.push_str(&format!("name = {}\n", q(&n)));
        }
        let shown = match from {
            _ if from.needs_number(id) => String::new(),
            Family::WhatsApp => chatferry_core::phone::phone_of_jid(id).unwrap_or_else(|| id.to_string()),
            Family::WeChat | Family::Telegram => id.to_string(),
        };
        out.push_str(&format!("{} = {}\n", from.key(), q(&shown)));
        if to != from {
            // A phone number in a WeChat profile is the likely WhatsApp id.
            let guess = match to {
                Family::WhatsApp => c.and_then(|c| c.phone.clone()).unwrap_or_default(),
                Family::WeChat | Family::Telegram => String::new(),
            };
            out.push_str(&format!("{} = {}\n", to.key(), q(&guess)));
        }
        if let Some(c) = c {
            let known: Vec<String> = [("nickname", &c.nickname), ("alias", &c.alias), ("phone", &c.phone)]
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
                .collect();
            if !known.is_empty() {
                out.push_str(&format!("# known as: {}\n", known.join(", ")));
            }
            // Telegram's export pairs phone-book numbers to names only: a
            // suggestion for the person to check, never filled in for them.
            if let Some(phones) = c.extras.get("tg.phone_book").filter(|_| to == Family::WhatsApp) {
                out.push_str(&format!(
                    "# your Telegram contacts list has this name with {phones}: if that is this person, copy it above\n"
                ));
            }
        }
    };
    if let Some(o) = header.owner.as_ref().filter(|o| from != to || from.is_placeholder(&o.id)) {
        entry(&mut out, "owner", &o.id, Some(o));
    }
    for id in &people {
        entry(&mut out, "[person]", id, by_id.get(id.as_str()).copied());
    }
    crate::side_file::write(path, out.into_bytes(), "the contact map")?;
    Ok(people.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_take_the_other_apps_form() {
        let wa = |raw: &str, region: Option<&str>| Family::WhatsApp.normalize(raw, region);
        assert_eq!(wa("+49 151 1234-5678", None).unwrap().as_deref(), Some("4915112345678@s.whatsapp.net"));
        assert_eq!(wa(" ", None).unwrap(), None);
        assert_eq!(wa("07911 123456", Some("GB")).unwrap().as_deref(), Some("447911123456@s.whatsapp.net"));
        assert!(wa("07911 123456", None).unwrap_err().contains("--opt region="), "a national number needs its country");
        assert_eq!(wa("120363025246125486@g.us", None).unwrap().as_deref(), Some("120363025246125486@g.us"));
        assert_eq!(Family::WhatsApp.group_id("24016735412@chatroom"), "24016735412@g.us");
        assert_eq!(Family::WeChat.group_id("120363025246125486@g.us"), "120363025246125486@chatroom");
        let p = Family::WhatsApp.placeholder("wxid_a");
        assert!(p.starts_with('0') && p.ends_with("@s.whatsapp.net") && p.len() == "@s.whatsapp.net".len() + 15, "{p}");
        assert!(Family::WeChat.is_person("wxid_a") && !Family::WeChat.is_person("1@chatroom"));
        assert!(!Family::WeChat.is_person("gh_abc"));
        assert!(!Family::WhatsApp.is_person("gh_abc@s.whatsapp.net"), "a WeChat id carried through WhatsApp");
        let mut m = Mapping::new(Family::WhatsApp, Family::WeChat, None, false, None).unwrap();
        assert_eq!(m.person("gh_abc@s.whatsapp.net"), Ok("gh_abc".to_string()));
        assert_eq!(m.person("4915112345678@s.whatsapp.net"), Err("4915112345678@s.whatsapp.net".to_string()));
    }

    #[test]
    fn people_known_by_name_only_are_paired_by_their_name() {
        let (wa, wc) = (Family::WhatsApp, Family::WeChat);
        let text = "[owner]\nname = \"Ben\"\nwhatsapp = \"\"\nwechat = \"wxid_ben\"\n\
                    [[person]]\nname = \" Anna \"\nwhatsapp = \"+4915112345678\"\nwechat = \"wxid_anna\"\n";
        let anna = chatferry_core::phone::placeholder_jid("Anna");
        let by_name: HashMap<String, String> = [("Anna".to_string(), anna.clone())].into();
        // Across apps: found by the number and by the name.
        let entries = read_map(text, "m", wa, wc, None).unwrap();
        let (pairs, owner) = pair_up(&entries, "m", wa, wc, &by_name).unwrap();
        assert_eq!(pairs.get(&anna).map(String::as_str), Some("wxid_anna"));
        assert_eq!(pairs.get("4915112345678@s.whatsapp.net").map(String::as_str), Some("wxid_anna"));
        assert_eq!(owner.as_deref(), Some("wxid_ben"));
        // Within WhatsApp: only the placeholder needs a pair.
        let entries = read_map(text, "m", wa, wa, None).unwrap();
        let (pairs, _) = pair_up(&entries, "m", wa, wa, &by_name).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs.get(&anna).map(String::as_str), Some("4915112345678@s.whatsapp.net"));
        // Two names given one number would make them one person.
        let twice = format!("{text}[[person]]\nname = \"Bo\"\nwhatsapp = \"+49 151 12345678\"\n");
        let entries = read_map(&twice, "m", wa, wa, None).unwrap();
        let err = pair_up(&entries, "m", wa, wa, &by_name).unwrap_err().to_string();
        assert!(err.contains("\" Anna \" and \"Bo\" both have the whatsapp id"), "{err}");
    }
}
