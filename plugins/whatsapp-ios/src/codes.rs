//! WhatsApp iOS codes (shared/formats/whatsapp.md §3). `ZMESSAGETYPE` is
//! documented from public readers; `ZGROUPEVENTTYPE` and `ZMESSAGESTATUS`
//! codes are not public [U]: their raw values travel in extras so an
//! iOS → iOS conversion writes them back unchanged.

use chatferry_core::{ChatKind, MessageKind};

pub fn kind_of(message_type: i64) -> MessageKind {
    match message_type {
        0 => MessageKind::Text,
        1 => MessageKind::Image,
        2 => MessageKind::Video,
        3 => MessageKind::Voice,
        4 => MessageKind::Contact,
        5 => MessageKind::Location,
        6 => MessageKind::System,
        7 => MessageKind::Link,
        8 => MessageKind::Document,
        10 => MessageKind::Call,
        11 => MessageKind::Gif,
        14 => MessageKind::Deleted,
        15 => MessageKind::Sticker,
        // 2023+ (whatsapp-2024-2026.md §3.0, from public readers [S]):
        // view-once photo, video and voice; a round video note; a poll
        // (in ZRECEIPTINFO); a call entry.
        38 => MessageKind::Image,
        39 | 54 => MessageKind::Video,
        53 => MessageKind::Voice,
        46 => MessageKind::Poll,
        59 => MessageKind::Call,
        _ => MessageKind::Other,
    }
}

/// Whether a `ZMESSAGETYPE` is a view-once photo, video or voice note.
pub fn is_view_once(message_type: i64) -> bool {
    matches!(message_type, 38 | 39 | 53)
}

/// What the report says of a type kept as an `other` message: what the
/// type is, and why it is not read as its own kind.
pub fn type_note(message_type: i64) -> Option<&'static str> {
    Some(match message_type {
        63 => "an event: where the iPhone keeps its name, time and answers is not known",
        66 => "an album header or a poll-vote update: public readers disagree",
        t if kind_of(t) == MessageKind::Other => "a type chatferry does not know",
        _ => return None,
    })
}

/// Kind → `ZMESSAGETYPE`; `None` where WhatsApp has no such message.
pub fn type_of(kind: MessageKind) -> Option<i64> {
    Some(match kind {
        MessageKind::Text => 0,
        MessageKind::Image => 1,
        MessageKind::Video => 2,
        MessageKind::Voice | MessageKind::Audio => 3,
        MessageKind::Contact => 4,
        MessageKind::Location => 5,
        MessageKind::System => 6,
        MessageKind::Link => 7,
        MessageKind::Document => 8,
        MessageKind::Call => 10,
        MessageKind::Gif => 11,
        MessageKind::Deleted => 14,
        MessageKind::Sticker => 15,
        MessageKind::Payment | MessageKind::Poll | MessageKind::Event | MessageKind::Other => return None,
    })
}

/// `ZSESSIONTYPE` → chat kind (0 1:1, 1 group, 2 broadcast list, 3 status).
pub fn chat_kind(session_type: i64, jid: &str) -> ChatKind {
    match session_type {
        0 => ChatKind::Direct,
        1 => ChatKind::Group,
        2 | 3 => ChatKind::Broadcast,
        4 | 5 => ChatKind::Official,
        _ if jid.ends_with("@g.us") => ChatKind::Group,
        _ => ChatKind::Other,
    }
}

pub fn session_type(kind: ChatKind, jid: &str) -> i64 {
    match kind {
        ChatKind::Direct => 0,
        ChatKind::Group => 1,
        ChatKind::Broadcast if jid == "status@broadcast" => 3,
        ChatKind::Broadcast => 2,
        ChatKind::Official => 5,
        ChatKind::Other => 0,
    }
}
