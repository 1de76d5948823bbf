//! One pass over `result.json`, a message at a time (formats doc §2, §8):
//! serde's "process an array without buffering it" pattern, applied at
//! every level. The root is either one chat (`{name, type, id, messages}`)
//! or a whole account (`personal_information`, `contacts`, `chats`,
//! `left_chats`); a chat's `name`/`type`/`id` come before its `messages`,
//! so each chat is known before its first message. Neither the file nor
//! one chat's message array is ever held whole.

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// An id the exporter writes as a number (before 2021) or as text
/// (`user123`, `channel456`): kept as its text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id (a number or text)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Id, E> {
                Ok(Id(format!("{v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `personal_information`: the account's owner.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PersonalInfo {
    pub user_id: Option<Id>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
}

/// One entry of `contacts.list`: the phone book synced to Telegram. It has
/// a number and the names it was saved under, no Telegram id (§3).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PhoneEntry {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

/// What a chat object says before its messages.
#[derive(Debug, Clone, Default)]
pub struct ChatHead {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub id: Option<Id>,
    /// From `left_chats`: a group or channel the owner left (own messages only).
    pub left: bool,
    /// The chat's place in the file, from 0.
    pub index: usize,
}

/// What the walk hands on. Returning `Err` stops it (the reason becomes
/// the walk's error).
pub trait Sink {
    /// What each message is read into: all of it, or only what a pass needs.
    type Message: DeserializeOwned;
    fn personal(&mut self, _info: PersonalInfo) {}
    fn phone_book(&mut self, _entry: PhoneEntry) {}
    fn chat(&mut self, head: &ChatHead) -> Result<(), String>;
    fn message(&mut self, m: Self::Message) -> Result<(), String>;
}

/// Which shape the root had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// "Export chat history": the root is the chat.
    OneChat,
    /// "Export Telegram data": `chats` / `left_chats` lists.
    Account,
    /// Neither `messages` nor `chats` at the root: not an export.
    Neither,
}

pub fn walk<R: std::io::Read, S: Sink>(reader: R, sink: &mut S) -> serde_json::Result<Shape> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let shape = Root { sink, chats: 0 }.deserialize(&mut de)?;
    de.end()?;
    Ok(shape)
}

struct Root<'a, S> {
    sink: &'a mut S,
    chats: usize,
}

impl<'de, S: Sink> DeserializeSeed<'de> for Root<'_, S> {
    type Value = Shape;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for Root<'_, S> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Telegram export (an object with `chats` or `messages`)")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Shape, A::Error> {
        let mut shape = Shape::Neither;
        // A one-chat export's head fields are the root's own.
        let mut head = ChatHead::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "personal_information" => {
                    let info: Option<PersonalInfo> = map.next_value()?;
                    self.sink.personal(info.unwrap_or_default());
                }
                "contacts" => map.next_value_seed(Section { list: PhoneBook { sink: &mut *self.sink } })?,
                "chats" | "left_chats" => {
                    let left = key == "left_chats";
                    let chats = ChatList { sink: &mut *self.sink, left, next: &mut self.chats };
                    map.next_value_seed(Section { list: chats })?;
                    shape = Shape::Account;
                }
                "name" => head.name = map.next_value()?,
                "type" => head.kind = map.next_value()?,
                "id" => head.id = map.next_value()?,
                "messages" => {
                    head.index = self.chats;
                    self.chats += 1;
                    self.sink.chat(&head).map_err(de::Error::custom)?;
                    map.next_value_seed(Messages { sink: &mut *self.sink })?;
                    shape = Shape::OneChat;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(shape)
    }
}

/// `{about, list: [...]}`: the list goes to `list`, the rest is skipped.
struct Section<L> {
    list: L,
}

impl<'de, L: for<'x> DeserializeSeed<'x, Value = ()>> DeserializeSeed<'de> for Section<L> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, L: for<'x> DeserializeSeed<'x, Value = ()>> Visitor<'de> for Section<L> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a `list`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut list = Some(self.list);
        while let Some(key) = map.next_key::<String>()? {
            match (key.as_str(), list.take()) {
                ("list", Some(l)) => map.next_value_seed(l)?,
                (_, l) => {
                    list = l;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(()) // `null`: the section is empty
    }
}

struct PhoneBook<'a, S> {
    sink: &'a mut S,
}

impl<'de, S: Sink> DeserializeSeed<'de> for PhoneBook<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for PhoneBook<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of contacts")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<Option<PhoneEntry>>()? {
            self.sink.phone_book(entry.unwrap_or_default());
        }
        Ok(())
    }
}

struct ChatList<'a, S> {
    sink: &'a mut S,
    left: bool,
    next: &'a mut usize,
}

impl<'de, S: Sink> DeserializeSeed<'de> for ChatList<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for ChatList<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of chats")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let chat = OneChat { sink: &mut *self.sink, left: self.left, index: *self.next };
            if seq.next_element_seed(chat)?.is_none() {
                return Ok(());
            }
            *self.next += 1;
        }
    }
}

struct OneChat<'a, S> {
    sink: &'a mut S,
    left: bool,
    index: usize,
}

impl<'de, S: Sink> DeserializeSeed<'de> for OneChat<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for OneChat<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a chat (an object with `messages`)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut head = ChatHead { left: self.left, index: self.index, ..Default::default() };
        let mut announced = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => head.name = map.next_value()?,
                "type" => head.kind = map.next_value()?,
                "id" => head.id = map.next_value()?,
                "messages" if !announced => {
                    announced = true;
                    self.sink.chat(&head).map_err(de::Error::custom)?;
                    map.next_value_seed(Messages { sink: &mut *self.sink })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !announced {
            // A chat without messages is still a chat.
            self.sink.chat(&head).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

struct Messages<'a, S> {
    sink: &'a mut S,
}

impl<'de, S: Sink> DeserializeSeed<'de> for Messages<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for Messages<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of messages")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(m) = seq.next_element::<S::Message>()? {
            self.sink.message(m).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}
