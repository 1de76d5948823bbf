//! A message as `result.json` holds it (formats doc §4). Two readings: `Who`
//! for the first pass (who wrote, who acted, who reacted: the people and
//! chats a history has, which the importer must give before any message)
//! and `Raw` for the second, every field. `Raw` is read key by key, by
//! hand: the exporter writes some keys twice (a star gift's `text`,
//! tdesktop#28781), which a derived reader refuses, and a key chatferry
//! does not know is kept whole, as JSON, not dropped.

use crate::walk::Id;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// Who a message names, for the first pass.
#[derive(Debug, Default)]
pub struct Who {
    pub from: Option<String>,
    pub from_id: Option<Id>,
    pub actor: Option<String>,
    pub actor_id: Option<Id>,
    pub members: Vec<Option<String>>,
    pub reacted: Vec<Reacted>,
}

impl<'de> Deserialize<'de> for Who {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Who, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Who;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a message")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Who, A::Error> {
                let mut w = Who::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::From => w.from = map.next_value()?,
                        Key::FromId => w.from_id = map.next_value()?,
                        Key::Actor => w.actor = map.next_value()?,
                        Key::ActorId => w.actor_id = map.next_value()?,
                        Key::Members => w.members = map.next_value::<Option<_>>()?.unwrap_or_default(),
                        Key::Reactions => {
                            let r: Option<Vec<ReactionRaw>> = map.next_value()?;
                            w.reacted = r.into_iter().flatten().flat_map(|r| r.recent).collect();
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(w)
            }
        }
        d.deserialize_map(V)
    }
}

/// One run of a message's text: a bare string is `plain`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    pub kind: String,
    pub text: String,
    /// The run's other keys (`href`, `language`, `user_id`, `document_id`, …) as text.
    pub more: Vec<(String, String)>,
}

/// A `text`: the plain concatenation, and the runs when any is formatted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text {
    pub plain: String,
    pub runs: Vec<Run>,
}

impl Text {
    pub fn formatted(&self) -> bool {
        self.runs.iter().any(|r| r.kind != "plain")
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a text (a string or a list of runs)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text { plain: v.to_string(), runs: Vec::new() })
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text { plain: v, runs: Vec::new() })
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                let mut t = Text::default();
                while let Some(run) = seq.next_element::<Run>()? {
                    // The exporter ends non-ASCII text with an empty run (§4.2).
                    if run.text.is_empty() {
                        continue;
                    }
                    t.plain.push_str(&run.text);
                    t.runs.push(run);
                }
                if !t.formatted() {
                    t.runs.clear();
                }
                Ok(t)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Run {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Run, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Run;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a run of text (a string or {type, text})")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Run, E> {
                Ok(Run { kind: "plain".into(), text: v.to_string(), more: Vec::new() })
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Run, E> {
                Ok(Run { kind: "plain".into(), text: v, more: Vec::new() })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Run, A::Error> {
                let mut run = Run { kind: "plain".into(), ..Default::default() };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "type" => run.kind = map.next_value::<Option<String>>()?.unwrap_or_default(),
                        "text" => run.text = map.next_value::<Option<Text>>()?.unwrap_or_default().plain,
                        _ => {
                            let v: serde_json::Value = map.next_value()?;
                            run.more.push((key, plain_json(v)));
                        }
                    }
                }
                Ok(run)
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON value as text: a string as itself, anything else as JSON.
pub fn plain_json(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Reacted {
    pub from: Option<String>,
    pub from_id: Option<Id>,
    pub date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReactionRaw {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub count: Option<u64>,
    pub emoji: Option<String>,
    pub document_id: Option<String>,
    pub recent: Vec<Reacted>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Geo {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContactInfo {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PollAnswer {
    pub text: Text,
    pub voters: Option<u64>,
    pub chosen: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PollRaw {
    pub question: Text,
    pub closed: bool,
    pub total_voters: Option<u64>,
    pub answers: Vec<PollAnswer>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TodoItem {
    pub text: Text,
    pub id: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TodoRaw {
    pub title: Text,
    pub answers: Vec<TodoItem>,
}

/// A message, every field; what chatferry has no field for is in `rest`.
#[derive(Debug, Default)]
pub struct Raw {
    pub id: Option<i64>,
    /// `message`, `service` or `unsupported`.
    pub kind: Option<String>,
    pub date: Option<String>,
    pub date_unixtime: Option<i64>,
    pub edited: Option<String>,
    pub edited_unixtime: Option<i64>,
    pub from: Option<String>,
    pub from_id: Option<Id>,
    pub actor: Option<String>,
    pub actor_id: Option<Id>,
    pub forwarded_from: Option<String>,
    pub reply_to_message_id: Option<i64>,
    pub text: Option<Text>,
    pub photo: Option<String>,
    pub file: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub media_type: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub size: Option<u64>,
    pub duration_seconds: Option<u64>,
    pub sticker_emoji: Option<String>,
    pub title: Option<String>,
    pub location: Option<Geo>,
    pub live_period: Option<i64>,
    pub place_name: Option<String>,
    pub address: Option<String>,
    pub contact: Option<ContactInfo>,
    pub contact_vcard: Option<String>,
    pub poll: Option<PollRaw>,
    pub todo: Option<TodoRaw>,
    pub reactions: Vec<ReactionRaw>,
    pub self_destruct: Option<i64>,
    pub action: Option<String>,
    pub members: Vec<Option<String>>,
    pub message_id: Option<i64>,
    pub discard_reason: Option<String>,
    pub information_text: Option<String>,
    /// Every other key, its value as text (`tg.<key>` in extras).
    pub rest: Vec<(String, String)>,
}

/// The keys read into fields; the rest are kept whole.
enum Key {
    Id,
    Type,
    Date,
    DateUnix,
    Edited,
    EditedUnix,
    From,
    FromId,
    Actor,
    ActorId,
    ForwardedFrom,
    ReplyTo,
    Text,
    TextEntities,
    Photo,
    File,
    FileName,
    Mime,
    MediaType,
    Width,
    Height,
    Size,
    Duration,
    StickerEmoji,
    Title,
    Location,
    LivePeriod,
    PlaceName,
    Address,
    Contact,
    ContactVcard,
    Poll,
    Todo,
    Reactions,
    SelfDestruct,
    Action,
    Members,
    MessageId,
    DiscardReason,
    InformationText,
    /// Known to say nothing chatferry keeps (the exporter's local date of
    /// an edit with its UTC twin, thumbnails' sizes).
    Skip,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "id" => Key::Id,
                    "type" => Key::Type,
                    "date" => Key::Date,
                    "date_unixtime" => Key::DateUnix,
                    "edited" => Key::Edited,
                    "edited_unixtime" => Key::EditedUnix,
                    "from" => Key::From,
                    "from_id" => Key::FromId,
                    "actor" => Key::Actor,
                    "actor_id" => Key::ActorId,
                    "forwarded_from" => Key::ForwardedFrom,
                    "reply_to_message_id" => Key::ReplyTo,
                    "text" => Key::Text,
                    "text_entities" => Key::TextEntities,
                    "photo" => Key::Photo,
                    "file" => Key::File,
                    "file_name" => Key::FileName,
                    "mime_type" => Key::Mime,
                    "media_type" => Key::MediaType,
                    "width" => Key::Width,
                    "height" => Key::Height,
                    "file_size" | "photo_file_size" => Key::Size,
                    "duration_seconds" => Key::Duration,
                    "sticker_emoji" => Key::StickerEmoji,
                    "title" => Key::Title,
                    "location_information" => Key::Location,
                    "live_location_period_seconds" => Key::LivePeriod,
                    "place_name" => Key::PlaceName,
                    "address" => Key::Address,
                    "contact_information" => Key::Contact,
                    "contact_vcard" => Key::ContactVcard,
                    "poll" => Key::Poll,
                    "todo_list" => Key::Todo,
                    "reactions" => Key::Reactions,
                    "self_destruct_period_seconds" => Key::SelfDestruct,
                    "action" => Key::Action,
                    "members" => Key::Members,
                    "message_id" => Key::MessageId,
                    "discard_reason" => Key::DiscardReason,
                    "information_text" => Key::InformationText,
                    "thumbnail_file_size" | "contact_vcard_file_size" => Key::Skip,
                    other => Key::Other(other.to_string()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// `date_unixtime` is a number written as text (`"1700000000"`).
fn unix_seconds<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<i64>, A::Error> {
    let v: Option<Id> = map.next_value()?;
    Ok(v.and_then(|Id(s)| s.trim().parse::<i64>().ok()))
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a message (an object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut r = Raw::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Id => r.id = map.next_value::<Option<Id>>()?.and_then(|Id(s)| s.parse().ok()),
                        Key::Type => r.kind = map.next_value()?,
                        Key::Date => r.date = map.next_value()?,
                        Key::DateUnix => r.date_unixtime = unix_seconds(&mut map)?,
                        Key::Edited => r.edited = map.next_value()?,
                        Key::EditedUnix => r.edited_unixtime = unix_seconds(&mut map)?,
                        Key::From => r.from = map.next_value()?,
                        Key::FromId => r.from_id = map.next_value()?,
                        Key::Actor => r.actor = map.next_value()?,
                        Key::ActorId => r.actor_id = map.next_value()?,
                        Key::ForwardedFrom => r.forwarded_from = map.next_value()?,
                        Key::ReplyTo => r.reply_to_message_id = map.next_value()?,
                        // A second `text` (a star gift's own, then the
                        // message's) is kept, not lost.
                        Key::Text => match (r.text.take(), map.next_value::<Option<Text>>()?) {
                            (Some(first), Some(second)) if !second.plain.is_empty() => {
                                r.rest.push(("gift_text".into(), first.plain));
                                r.text = Some(second);
                            }
                            (first, second) => r.text = first.or(second),
                        },
                        // The same runs as `text`, all as objects: read only
                        // when `text` is missing.
                        Key::TextEntities if r.text.is_none() => r.text = map.next_value()?,
                        Key::Photo => r.photo = map.next_value()?,
                        Key::File => r.file = map.next_value()?,
                        Key::FileName => r.file_name = map.next_value()?,
                        Key::Mime => r.mime_type = map.next_value()?,
                        Key::MediaType => r.media_type = map.next_value()?,
                        Key::Width => r.width = map.next_value::<Option<f64>>()?.map(|v| v as u32),
                        Key::Height => r.height = map.next_value::<Option<f64>>()?.map(|v| v as u32),
                        Key::Size => r.size = map.next_value::<Option<f64>>()?.map(|v| v as u64).or(r.size),
                        Key::Duration => r.duration_seconds = map.next_value::<Option<f64>>()?.map(|v| v as u64),
                        Key::StickerEmoji => r.sticker_emoji = map.next_value()?,
                        Key::Title => r.title = map.next_value::<Option<Text>>()?.map(|t| t.plain),
                        Key::Location => r.location = map.next_value()?,
                        Key::LivePeriod => r.live_period = map.next_value()?,
                        Key::PlaceName => r.place_name = map.next_value()?,
                        Key::Address => r.address = map.next_value()?,
                        Key::Contact => r.contact = map.next_value()?,
                        Key::ContactVcard => r.contact_vcard = map.next_value()?,
                        Key::Poll => r.poll = map.next_value()?,
                        Key::Todo => r.todo = map.next_value()?,
                        Key::Reactions => r.reactions = map.next_value::<Option<_>>()?.unwrap_or_default(),
                        Key::SelfDestruct => r.self_destruct = map.next_value()?,
                        Key::Action => r.action = map.next_value()?,
                        Key::Members => r.members = map.next_value::<Option<_>>()?.unwrap_or_default(),
                        Key::MessageId => r.message_id = map.next_value()?,
                        Key::DiscardReason => r.discard_reason = map.next_value()?,
                        Key::InformationText => r.information_text = map.next_value()?,
                        Key::TextEntities | Key::Skip => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        Key::Other(name) => {
                            let v: serde_json::Value = map.next_value()?;
                            r.rest.push((name, plain_json(v)));
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(V)
    }
}
