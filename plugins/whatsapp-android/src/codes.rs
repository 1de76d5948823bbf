//! WhatsApp Android's numeric codes and their canonical meaning, in both
//! directions (shared/formats/whatsapp.md §1.2). Unknown codes are kept in
//! `extras` so a WhatsApp → WhatsApp conversion writes them back unchanged.

use chatferry_core::{MessageKind, Status};

/// `message.message_type` → kind.
pub fn kind_of(message_type: i64) -> MessageKind {
    match message_type {
        // 27: a one-time password, its text in text_data.
        0 | 27 => MessageKind::Text,
        // 42, 43, 82: view-once photo, video and voice (2021+); 81: a round
        // video note (whatsapp-2024-2026.md §3.7), kept as `wa.message_type`.
        1 | 42 => MessageKind::Image,
        2 | 82 => MessageKind::Audio,
        3 | 43 | 81 => MessageKind::Video,
        4 => MessageKind::Contact,
        5 | 16 => MessageKind::Location,
        // 11: "waiting for this message" (the phone never got its content);
        // 36: a disappearing-messages timer was set.
        7 | 11 | 36 => MessageKind::System,
        9 => MessageKind::Document,
        10 | 90 => MessageKind::Call,
        13 => MessageKind::Gif,
        // 64: deleted by a group admin (`message_revoked.admin_jid_row_id`).
        15 | 64 => MessageKind::Deleted,
        20 => MessageKind::Sticker,
        // A group invite card (`message_group_invite`): a link to join.
        24 => MessageKind::Link,
        // A poll and a quiz (`message_poll`), an event (`message_event`); 2023+.
        66 | 106 => MessageKind::Poll,
        92 => MessageKind::Event,
        _ => MessageKind::Other,
    }
}

/// Types of 2023+ that the 2.22.5.13 template written into has no tables
/// or feature for (whatsapp-2024-2026.md §7): an admin delete (64, written
/// as a delete), polls (66, 106) and events (92, as texts), video notes
/// (81, as a video), view-once voice (82, as a voice note) and call entries
/// (90, which need `message_call_log`: a missed call or a text).
pub const NEWER_THAN_TEMPLATE: [i64; 7] = [64, 66, 81, 82, 90, 92, 106];

/// Kind → `message_type` for export; `None` where WhatsApp has no such
/// message and the exporter writes a text instead.
pub fn type_of(kind: MessageKind) -> Option<i64> {
    Some(match kind {
        MessageKind::Text | MessageKind::Link => 0,
        MessageKind::Image => 1,
        MessageKind::Audio | MessageKind::Voice => 2,
        MessageKind::Video => 3,
        MessageKind::Contact => 4,
        MessageKind::Location => 5,
        MessageKind::System => 7,
        MessageKind::Document => 9,
        MessageKind::Call => 10,
        MessageKind::Gif => 13,
        MessageKind::Deleted => 15,
        MessageKind::Sticker => 20,
        // The 2.22.5.13 template has no poll or event tables (§7).
        MessageKind::Payment | MessageKind::Poll | MessageKind::Event | MessageKind::Other => return None,
    })
}

/// `message.status` → status.
pub fn status_of(status: Option<i64>, from_me: bool) -> Status {
    match (status, from_me) {
        (Some(0), false) => Status::Received,
        (Some(4), true) => Status::Pending,
        (Some(5), true) => Status::Sent,
        (Some(13), _) => Status::Read,
        (Some(8), _) => Status::Played,
        (_, false) => Status::Received,
        _ => Status::Unknown,
    }
}

/// Status → `message.status` for export.
pub fn status_code(status: Status, from_me: bool) -> i64 {
    match status {
        Status::Pending => 4,
        Status::Sent | Status::Delivered => 5,
        Status::Read => 13,
        Status::Played => 8,
        Status::Failed => 4,
        Status::Received | Status::Unknown => {
            if from_me {
                5
            } else {
                0
            }
        }
    }
}

/// `message_system.action_type` → the model's action vocabulary.
pub fn action_of(code: i64) -> &'static str {
    match code {
        1 => "title_changed",
        4 | 12 => "member_added",
        5 | 13 => "member_left",
        6 => "photo_changed",
        7 | 14 => "member_removed",
        10 | 28 => "number_changed",
        11 => "group_created",
        15 => "admin_promoted",
        18 | 57 => "security_code_changed",
        19 => "encryption_notice",
        20 => "member_joined_by_link",
        27 => "description_changed",
        56 | 59 => "disappearing_timer",
        // 2023+ (whatsapp-2024-2026.md §3.4, §3.9, §3.12): named as what
        // the actor did, so a page words them "Anna joined from the community".
        70 => "started_a_group_call",
        79 => "joined_from_the_community",
        // 87: its rows are exactly those naming a parent group [V]; one reader says "deactivated" [S].
        87 => "linked_this_group_to_a_community",
        110 => "added_a_group_to_the_community",
        109 | 111 => "removed_a_group_from_the_community",
        116 => "unlinked_a_group_from_the_community",
        118 => "pinned_a_message",
        167 => "created_the_community",
        _ => "other",
    }
}

/// Action → `action_type` for export.
pub fn action_code(action: &str) -> i64 {
    match action {
        "title_changed" => 1,
        "member_added" => 12,
        "member_left" => 13,
        "photo_changed" => 6,
        "member_removed" => 14,
        "number_changed" => 28,
        "group_created" => 11,
        "admin_promoted" => 15,
        "security_code_changed" => 18,
        "encryption_notice" => 19,
        "member_joined_by_link" => 20,
        "description_changed" => 27,
        "disappearing_timer" => 56,
        "started_a_group_call" => 70,
        "joined_from_the_community" => 79,
        "linked_this_group_to_a_community" => 87,
        "added_a_group_to_the_community" => 110,
        "removed_a_group_from_the_community" => 109,
        "unlinked_a_group_from_the_community" => 116,
        "pinned_a_message" => 118,
        "created_the_community" => 167,
        _ => 0,
    }
}

/// Whether an audio message is a voice note: recorded notes are Opus in
/// Ogg and live under "WhatsApp Voice Notes" (PTT-… files).
pub fn is_voice_note(mime: Option<&str>, file_path: Option<&str>) -> bool {
    file_path.is_some_and(|p| p.contains("Voice Notes") || p.rsplit('/').next().is_some_and(|n| n.starts_with("PTT-")))
        || mime.is_some_and(|m| m.starts_with("audio/ogg") && m.contains("opus"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_with_a_type_maps_back() {
        for kind in MessageKind::ALL {
            if let Some(t) = type_of(kind) {
                let back = kind_of(t);
                let same = back == kind
                    || (kind == MessageKind::Voice && back == MessageKind::Audio)
                    || (kind == MessageKind::Link && back == MessageKind::Text);
                assert!(same, "{kind:?} → {t} → {back:?}");
            }
        }
        for action in [
            "title_changed",
            "member_added",
            "member_left",
            "photo_changed",
            "member_removed",
            "number_changed",
            "group_created",
            "admin_promoted",
            "security_code_changed",
            "encryption_notice",
            "member_joined_by_link",
            "description_changed",
            "disappearing_timer",
            "started_a_group_call",
            "joined_from_the_community",
            "linked_this_group_to_a_community",
            "added_a_group_to_the_community",
            "removed_a_group_from_the_community",
            "unlinked_a_group_from_the_community",
            "pinned_a_message",
            "created_the_community",
        ] {
            assert_eq!(action_of(action_code(action)), action);
        }
    }

    #[test]
    fn voice_notes() {
        assert!(is_voice_note(None, Some("Media/WhatsApp Voice Notes/202443/PTT-20241027-WA0002.opus")));
        assert!(is_voice_note(Some("audio/ogg; codecs=opus"), None));
        assert!(!is_voice_note(Some("audio/mpeg"), Some("Media/WhatsApp Audio/AUD-1.mp3")));
    }
}
