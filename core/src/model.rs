//! The canonical model, version 1: everything an app stores that a person
//! would miss after a move. Every adapter imports into it and exports from it.
//!
//! These are plain Rust types for adapter authors. They cross the plugin
//! boundary as the frozen `abi_stable` mirrors in `abi::records`; information
//! the model has no field for travels in `extras` (string key → string value),
//! so converting a store into the same format again loses nothing.
//!
//! Field names are the canonical archive's JSON names (see DESIGN.md).

use serde::{Deserialize, Serialize};

/// The canonical model's own version (semver), recorded in every archive.
pub const MODEL_VERSION: &str = "1.2.0";

pub use crate::extras::Extras;

fn is_false(b: &bool) -> bool {
    !*b
}

/// What an import stream starts with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Header {
    /// The adapter that read the original store (kept through archives).
    pub source_adapter: String,
    /// The model version the importer produced.
    pub model_version: String,
    /// The account the history belongs to, where the store says.
    pub owner: Option<Contact>,
    /// How many messages the importer expects to yield (for progress only).
    pub estimated_messages: Option<u64>,
    pub extras: Extras,
}

/// A person or account known to the store.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    /// Native id: a WhatsApp JID, a WeChat username.
    pub id: String,
    /// The name the owner sees: address-book name or remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The name the person chose: WhatsApp push name, WeChat nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Phone number in international form where known (`+4915…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// A user-facing handle (WhatsApp username, WeChat id shown to people).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// WeChat's custom alias, or another secondary id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extras: Extras,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    #[default]
    Direct,
    Group,
    /// A broadcast list or status feed.
    Broadcast,
    /// An official/business account, channel or newsletter.
    Official,
    Other,
}

impl ChatKind {
    pub const ALL: [ChatKind; 5] =
        [ChatKind::Direct, ChatKind::Group, ChatKind::Broadcast, ChatKind::Official, ChatKind::Other];

    /// The archive's name for the kind (`"group"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Direct => "direct",
            ChatKind::Group => "group",
            ChatKind::Broadcast => "broadcast",
            ChatKind::Official => "official",
            ChatKind::Other => "other",
        }
    }
}

impl std::str::FromStr for ChatKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ChatKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown chat kind {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Member,
    Admin,
    /// The creator / super-admin.
    Owner,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Participant {
    /// Contact id.
    pub contact: String,
    #[serde(default)]
    pub role: Role,
    /// The name this member uses in this group (WeChat group nicknames).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Chat {
    /// Native id: the chat's JID or username.
    pub id: String,
    pub kind: ChatKind,
    pub title: Option<String>,
    pub participants: Vec<Participant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extras: Extras,
}

/// What a message is. Frozen within an ABI major; an unknown kind from a
/// newer peer arrives as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[default]
    Text,
    Image,
    Video,
    /// An audio file (music, recording sent as a file).
    Audio,
    /// A voice note recorded in the app.
    Voice,
    Document,
    Sticker,
    Gif,
    Location,
    /// A shared contact card (vCard).
    Contact,
    /// A link with a preview, a shared article, a mini program card.
    Link,
    Call,
    /// Group created, member added/removed, title changed, …
    System,
    /// Deleted for everyone / revoked.
    Deleted,
    /// Payment, transfer, red packet.
    Payment,
    Poll,
    Other,
    /// An event with a time and place that people answer (WhatsApp 2024+). Model 1.1.
    Event,
}

impl MessageKind {
    /// In the order of their codes across the plugin ABI: a new kind goes last.
    pub const ALL: [MessageKind; 18] = [
        MessageKind::Text,
        MessageKind::Image,
        MessageKind::Video,
        MessageKind::Audio,
        MessageKind::Voice,
        MessageKind::Document,
        MessageKind::Sticker,
        MessageKind::Gif,
        MessageKind::Location,
        MessageKind::Contact,
        MessageKind::Link,
        MessageKind::Call,
        MessageKind::System,
        MessageKind::Deleted,
        MessageKind::Payment,
        MessageKind::Poll,
        MessageKind::Other,
        MessageKind::Event,
    ];

    /// The archive's name for the kind (`"voice"`).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Video => "video",
            MessageKind::Audio => "audio",
            MessageKind::Voice => "voice",
            MessageKind::Document => "document",
            MessageKind::Sticker => "sticker",
            MessageKind::Gif => "gif",
            MessageKind::Location => "location",
            MessageKind::Contact => "contact",
            MessageKind::Link => "link",
            MessageKind::Call => "call",
            MessageKind::System => "system",
            MessageKind::Deleted => "deleted",
            MessageKind::Payment => "payment",
            MessageKind::Poll => "poll",
            MessageKind::Other => "other",
            MessageKind::Event => "event",
        }
    }

    /// Whether messages of this kind normally carry a media file.
    pub fn has_media(self) -> bool {
        matches!(
            self,
            MessageKind::Image
                | MessageKind::Video
                | MessageKind::Audio
                | MessageKind::Voice
                | MessageKind::Document
                | MessageKind::Sticker
                | MessageKind::Gif
        )
    }
}

impl std::str::FromStr for MessageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        MessageKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown message kind {s:?}"))
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Delivery status as the owner's app saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Unknown,
    /// An incoming message.
    Received,
    Pending,
    Sent,
    Delivered,
    Read,
    /// A voice note or video the recipient played.
    Played,
    Failed,
}

/// A media file a message carries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Media {
    /// Lower-case hex SHA-256 of the file's bytes; the archive names files by it.
    pub sha256: Option<String>,
    pub mime: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// The file's path inside a canonical archive (`media/ab/ab…89.jpg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The original file name (documents), where the store kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The store referenced a file that was not there.
    #[serde(default, skip_serializing_if = "is_false")]
    pub missing: bool,
    /// Where the bytes can be read right now, during a conversion: set by the
    /// importer, read by the exporter. Never written to an archive.
    #[serde(skip)]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A live location share (the coordinates are its last known point).
    #[serde(default, skip_serializing_if = "is_false")]
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactCard {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The full vCard text, where the store kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcard: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Link {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Call {
    #[serde(default, skip_serializing_if = "is_false")]
    pub video: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub group: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// `answered`, `missed`, `declined`, `cancelled`, `unavailable`, or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A system event. `action` uses this vocabulary: `group_created`,
/// `member_added`, `member_removed`, `member_left`, `member_joined_by_link`,
/// `title_changed`, `photo_changed`, `description_changed`, `admin_promoted`,
/// `admin_demoted`, `number_changed`, `encryption_notice`,
/// `disappearing_timer`, `security_code_changed`, `pat`, `other`; since
/// model 1.2 also what an actor did, in words (`joined_from_the_community`,
/// `created_the_community`, `pinned_a_message`, `started_a_group_call`, …):
/// a writer that does not know one words it "Anna joined from the community".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SystemEvent {
    pub action: String,
    /// Who did it (contact id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Whom it concerns (contact ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The new title, description, timer value…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Payment {
    /// `transfer`, `red_packet`, `request`, or another word the source uses.
    pub kind: String,
    /// Decimal amount as text, so no float rounding touches money (`"88.88"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// ISO 4217 code (`CNY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `sent`, `received`, `refunded`, `expired`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PollOption {
    pub text: String,
    /// Contact ids of the voters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Poll {
    pub question: String,
    pub options: Vec<PollOption>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub multiple: bool,
    /// A quiz's right answer: an index into `options`. Model 1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct: Option<u32>,
    /// Each vote as cast, with its time, when the store keeps it (the
    /// options' `voters` say the same without times). Model 1.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<PollVote>,
}

/// One person's choice in a poll. Model 1.1.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PollVote {
    /// Contact id of the voter; absent when the owner voted and the store
    /// does not know the owner's id.
    pub voter: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_me: bool,
    /// Indexes into the poll's `options` (none: the vote was taken back).
    pub options: Vec<u32>,
    pub timestamp_ms: Option<i64>,
}

/// An event people are invited to (WhatsApp 2024+). Model 1.1.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Event {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
    /// Where: the place's name and address, and its coordinates when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// A call or web link to join by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub canceled: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<EventResponse>,
}

/// One person's answer to an event. Model 1.1.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventResponse {
    pub person: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_me: bool,
    /// `going`, `not_going`, `maybe`, or `code N` for an answer the store
    /// writes with a number chatferry does not know.
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_guests: Option<u32>,
    pub timestamp_ms: Option<i64>,
}

/// Who pinned a message to the top of its chat, or kept a disappearing
/// message from disappearing, and when (WhatsApp 2023+). Model 1.2.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pin {
    /// Contact id of who did it; absent when the owner did and the store
    /// does not know the owner's id.
    pub sender: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_me: bool,
    pub timestamp_ms: Option<i64>,
    /// When a pin ran out (pins last 24 hours to 30 days), where the store says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reaction {
    /// Contact id of who reacted; absent when the owner reacted and the
    /// store does not know the owner's id.
    pub sender: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_me: bool,
    pub emoji: String,
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    /// Unique within one import (and one archive); `reply_to` refers to it.
    pub id: String,
    /// Chat id.
    pub chat: String,
    /// Contact id of the author; absent when the owner sent it and the store
    /// does not know the owner's id, or for system events without an actor.
    pub sender: Option<String>,
    pub from_me: bool,
    /// UTC, milliseconds since 1970-01-01 (negative before it).
    pub timestamp_ms: i64,
    pub kind: MessageKind,
    #[serde(default)]
    pub status: Status,
    /// The body. For media messages the caption is in `media.caption`.
    pub text: Option<String>,
    pub media: Option<Media>,
    // The parts few messages have are boxed: a message is 480 bytes, not
    // 960, and batches move half the memory between the threads of an
    // import (the same in JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Box<Location>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_card: Option<Box<ContactCard>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Box<Link>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Box<Call>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Box<SystemEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Box<Payment>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<Box<Poll>>,
    /// Model 1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Box<Event>>,
    /// The text before the message was edited, oldest first, where the
    /// store still holds it (`text` is the final one). Model 1.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_texts: Vec<String>,
    /// The message was pinned in its chat (the latest pin, if not taken
    /// back). Model 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<Box<Pin>>,
    /// A disappearing message someone kept in the chat. Model 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<Box<Pin>>,
    /// Id of the message this one replies to (it may not exist any more).
    pub reply_to: Option<String>,
    /// The quoted text as the store kept it at reply time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_text: Option<String>,
    pub reactions: Vec<Reaction>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub forwarded: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub starred: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub edited: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub view_once: bool,
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extras: Extras,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_lines_carry_the_documented_fields() {
        let m = Message { id: "m1".into(), chat: "c1".into(), timestamp_ms: -5, ..Default::default() };
        let v: serde_json::Value = serde_json::to_value(&m).unwrap();
        for key in ["id", "chat", "sender", "from_me", "timestamp_ms", "kind", "text", "media", "reply_to", "reactions"]
        {
            assert!(v.get(key).is_some(), "message line lacks {key}: {v}");
        }
        assert_eq!(v["kind"], "text");
        assert_eq!(v["timestamp_ms"], -5);
        let back: Message = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn kind_names_match_serde_and_parse_back() {
        for kind in MessageKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.as_str().parse::<MessageKind>(), Ok(kind));
        }
        for kind in ChatKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.as_str().parse::<ChatKind>(), Ok(kind));
        }
        assert!("nonsense".parse::<MessageKind>().is_err());
    }

    #[test]
    fn media_path_is_never_serialized() {
        let media = Media { path: Some("/tmp/secret".into()), ..Default::default() };
        let json = serde_json::to_string(&media).unwrap();
        assert!(!json.contains("secret"), "{json}");
    }
}
