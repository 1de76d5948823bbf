//! The first pass: the chats, the people and the owner, before any message
//! is given (an importer gives contacts and chats first). Only who wrote,
//! acted and reacted is read of each message; everything else is skipped.

use crate::raw::Who;
use crate::walk::{ChatHead, Id, PersonalInfo, PhoneEntry, Sink};
use chatferry_core::{Chat, ChatKind, Contact, Extras, Participant};
use std::collections::{HashMap, HashSet};

/// A person's id as chatferry keeps it: `user123` (also for the bare
/// numbers of exports before 2021), `channel456` for a channel or an
/// anonymous admin, and `name:Anna` for someone a reduced export names only.
pub fn person_id(id: Option<&Id>, name: Option<&str>) -> Option<String> {
    match id {
        Some(Id(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Some(format!("user{s}")),
        Some(Id(s)) if !s.is_empty() => Some(s.clone()),
        _ => name.filter(|n| !n.trim().is_empty()).map(|n| format!("name:{}", n.trim())),
    }
}

/// What the first pass saw of one chat.
#[derive(Default)]
pub struct ChatSeen {
    pub head: ChatHead,
    /// Everyone who wrote or acted in it, in order of first appearance.
    pub people: Vec<String>,
    seen: HashSet<String>,
    pub messages: u64,
}

#[derive(Default)]
pub struct Roster {
    pub personal: Option<PersonalInfo>,
    pub phone_book: Vec<PhoneEntry>,
    pub chats: Vec<ChatSeen>,
    /// The latest name each id was shown with.
    pub names: HashMap<String, String>,
    /// The first id seen with each name: `members` and `inviter` name people only.
    pub by_name: HashMap<String, String>,
    pub messages: u64,
}

impl Roster {
    fn saw(&mut self, id: Option<String>, name: Option<&str>) {
        let Some(id) = id else { return };
        if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) {
            match self.by_name.get_mut(n) {
                // A member list named them before they wrote: now their id is known.
                Some(known) if known.starts_with("name:") && !id.starts_with("name:") => *known = id.clone(),
                Some(_) => {}
                None => {
                    self.by_name.insert(n.to_string(), id.clone());
                }
            }
            match self.names.get_mut(&id) {
                Some(old) if old == n => {}
                Some(old) => *old = n.to_string(),
                None => {
                    self.names.insert(id.clone(), n.to_string());
                }
            }
        }
        if let Some(chat) = self.chats.last_mut() {
            if !chat.seen.contains(&id) {
                chat.seen.insert(id.clone());
                chat.people.push(id);
            }
        }
    }
}

impl Sink for Roster {
    type Message = Who;
    fn personal(&mut self, info: PersonalInfo) {
        self.personal = Some(info);
    }
    fn phone_book(&mut self, entry: PhoneEntry) {
        self.phone_book.push(entry);
    }
    fn chat(&mut self, head: &ChatHead) -> Result<(), String> {
        if let Some(done) = self.chats.last_mut() {
            done.seen = HashSet::new();
        }
        self.chats.push(ChatSeen { head: head.clone(), ..Default::default() });
        Ok(())
    }
    fn message(&mut self, w: Who) -> Result<(), String> {
        self.messages += 1;
        if let Some(chat) = self.chats.last_mut() {
            chat.messages += 1;
        }
        self.saw(person_id(w.from_id.as_ref(), w.from.as_deref()), w.from.as_deref());
        self.saw(person_id(w.actor_id.as_ref(), w.actor.as_deref()), w.actor.as_deref());
        for r in &w.reacted {
            self.saw(person_id(r.from_id.as_ref(), r.from.as_deref()), r.from.as_deref());
        }
        // People named only in a member list stay in no chat's people
        // unless they wrote; they become contacts below, by name.
        for name in w.members.iter().flatten().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if !self.by_name.contains_key(name) {
                self.by_name.insert(name.to_string(), format!("name:{name}"));
            }
        }
        Ok(())
    }
}

/// "first last", trimmed; `None` when both are empty.
pub fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let n = format!("{} {}", first.unwrap_or("").trim(), last.unwrap_or("").trim());
    let n = n.trim();
    (!n.is_empty()).then(|| n.to_string())
}

/// A chat as chatferry names it (formats doc §2): the prefix `from_id` uses,
/// from the chat's type.
pub struct ChatPlan {
    pub chat: Chat,
    /// Only the owner's own messages were exported (left chats; groups and
    /// channels in an account export by default).
    pub own_only: bool,
}

pub fn chat_kind(kind: Option<&str>) -> (ChatKind, &'static str) {
    match kind.unwrap_or("") {
        "personal_chat" => (ChatKind::Direct, "user"),
        "bot_chat" => (ChatKind::Official, "user"),
        "private_group" => (ChatKind::Group, "chat"),
        "private_supergroup" | "public_supergroup" => (ChatKind::Group, "channel"),
        "private_channel" | "public_channel" => (ChatKind::Official, "channel"),
        "saved_messages" | "replies" | "verification_codes" => (ChatKind::Other, ""),
        // A reduced export without a type: a group of whoever wrote.
        _ => (ChatKind::Group, "chat"),
    }
}

impl Roster {
    /// The owner's id: from the account's personal information, else from
    /// `me` (an id or a name), else, in a one-to-one chat, whoever is not
    /// the other person.
    pub fn owner_id(&self, me: Option<&str>) -> Option<String> {
        if let Some(id) = self.personal.as_ref().and_then(|p| person_id(p.user_id.as_ref(), None)) {
            return Some(id);
        }
        if let Some(me) = me.map(str::trim).filter(|m| !m.is_empty()) {
            if me.starts_with("user") || me.bytes().all(|b| b.is_ascii_digit()) {
                return person_id(Some(&Id(me.trim_start_matches("user").to_string())), None);
            }
            return Some(self.by_name.get(me).cloned().unwrap_or_else(|| format!("name:{me}")));
        }
        let [chat] = &self.chats[..] else { return None };
        let partner = format!("user{}", chat.head.id.as_ref()?.0);
        let (ChatKind::Direct, _) = chat_kind(chat.head.kind.as_deref()) else { return None };
        let others: Vec<&String> = chat.people.iter().filter(|p| **p != partner).collect();
        match others[..] {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// The chats, as chatferry names them, in the file's order.
    pub fn plans(&self, owner: Option<&str>) -> Vec<ChatPlan> {
        self.chats
            .iter()
            .map(|seen| {
                let head = &seen.head;
                let (kind, prefix) = chat_kind(head.kind.as_deref());
                let raw_id = head.id.as_ref().map(|i| i.0.clone());
                let others: Vec<&String> =
                    seen.people.iter().filter(|p| Some(p.as_str()) != owner && p.starts_with("user")).collect();
                // Saved Messages is the owner's chat with themselves, as
                // WhatsApp's "Message yourself" is.
                let kind = match (kind, owner) {
                    (ChatKind::Other, Some(_)) if head.kind.as_deref() == Some("saved_messages") => ChatKind::Direct,
                    _ => kind,
                };
                let id = match (kind, raw_id) {
                    (ChatKind::Direct, _) if head.kind.as_deref() == Some("saved_messages") => {
                        owner.unwrap_or("saved_messages").to_string()
                    }
                    // A one-to-one chat is its person's: the one other who
                    // wrote (exports before 2021 offset the chat's id), else its id.
                    (ChatKind::Direct, _) if others.len() == 1 => others[0].clone(),
                    (ChatKind::Other, _) => head.kind.clone().unwrap_or_else(|| "other".into()),
                    (_, Some(raw)) => format!("{prefix}{raw}"),
                    (_, None) => format!("chat:{}", head.index + 1),
                };
                let mut extras = Extras::new();
                if let Some(t) = &head.kind {
                    extras.insert("tg.chat_type".into(), t.clone());
                }
                if head.left {
                    extras.insert("tg.left".into(), "1".into());
                }
                // A one-to-one chat's member is its person (the owner, in
                // Saved Messages; the bot, in a bot's chat); a group's are
                // everyone who wrote or acted but the chat itself (a channel
                // posts as itself).
                let members: Vec<&String> = match kind {
                    // A bot's chat is one-to-one too.
                    _ if kind == ChatKind::Direct || prefix == "user" => vec![&id],
                    _ => seen.people.iter().filter(|p| **p != id).collect(),
                };
                let participants =
                    members.into_iter().map(|p| Participant { contact: p.clone(), ..Default::default() }).collect();
                // A group or channel whose every message is the owner's (a
                // channel's own posts are the channel's, a bot chat is one-to-one).
                let shared = prefix != "user" && matches!(kind, ChatKind::Group | ChatKind::Official);
                let own_only = shared
                    && owner.is_some()
                    && !seen.people.is_empty()
                    && seen.people.iter().all(|p| Some(p.as_str()) == owner);
                let title = head.name.clone().or_else(|| match kind {
                    ChatKind::Other => Some(other_title(head.kind.as_deref())),
                    // `null`: the account was deleted; Telegram shows it so.
                    ChatKind::Direct if head.id.is_some() => {
                        Some(self.names.get(&id).cloned().unwrap_or_else(|| "Deleted Account".into()))
                    }
                    _ => self.names.get(&id).cloned(),
                });
                ChatPlan { chat: Chat { id, kind, title, participants, extras, ..Default::default() }, own_only }
            })
            .collect()
    }

    /// Everyone the history names, the owner first.
    pub fn contacts(&self, owner: Option<&str>) -> Vec<Contact> {
        // The phone book's numbers by the names they were saved under: a
        // suggestion for the contact map, never an id (§3, §5).
        let mut book: HashMap<String, Vec<String>> = HashMap::new();
        for e in &self.phone_book {
            if let (Some(name), Some(phone)) =
                (full_name(e.first_name.as_deref(), e.last_name.as_deref()), e.phone_number.as_ref())
            {
                book.entry(name).or_default().push(phone.trim().to_string());
            }
        }
        // One-to-one chats without a name: the account was deleted.
        let deleted: HashSet<String> = self
            .chats
            .iter()
            .filter(|c| c.head.name.is_none() && c.head.kind.as_deref() == Some("personal_chat"))
            .flat_map(|c| c.people.iter().cloned())
            .filter(|p| Some(p.as_str()) != owner && !self.names.contains_key(p))
            .collect();
        let mut out = Vec::new();
        let mut listed = HashSet::new();
        if let Some(o) = owner {
            out.push(self.owner_contact(o));
            listed.insert(o.to_string());
        }
        let mut ids: Vec<&String> = self.chats.iter().flat_map(|c| c.people.iter()).collect();
        ids.extend(self.by_name.values());
        for id in ids {
            if !listed.insert(id.clone()) {
                continue;
            }
            let name = self
                .names
                .get(id)
                .cloned()
                .or_else(|| id.strip_prefix("name:").map(str::to_string))
                .or_else(|| deleted.contains(id.as_str()).then(|| "Deleted Account".to_string()));
            let mut extras = Extras::new();
            if let Some(phones) = name.as_ref().and_then(|n| book.get(n)) {
                extras.insert("tg.phone_book".into(), phones.join(", "));
            }
            out.push(Contact { id: id.clone(), name, extras, ..Default::default() });
        }
        out
    }

    fn owner_contact(&self, id: &str) -> Contact {
        let p = self.personal.clone().unwrap_or_default();
        let phone = p.phone_number.as_deref().map(|raw| {
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            format!("+{digits}")
        });
        Contact {
            id: id.to_string(),
            name: full_name(p.first_name.as_deref(), p.last_name.as_deref()).or_else(|| self.names.get(id).cloned()),
            phone: phone.filter(|p| p.len() > 4),
            username: p.username.map(|u| u.trim_start_matches('@').to_string()).filter(|u| !u.is_empty()),
            ..Default::default()
        }
    }
}

fn other_title(kind: Option<&str>) -> String {
    match kind {
        Some("saved_messages") => "Saved Messages".into(),
        Some("replies") => "Replies".into(),
        Some("verification_codes") => "Verification Codes".into(),
        Some(other) => other.to_string(),
        None => "chat".into(),
    }
}
