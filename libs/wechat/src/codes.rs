//! WeChat's message type numbers. Android stores many app messages and some
//! system rows under composite codes: the low 16 bits are the base type
//! (49 app message, 10000 system text, 10002 system XML), the high bits a
//! sub-kind. Readers map the full value first, then the base type.

pub const TEXT: i64 = 1;
pub const IMAGE: i64 = 3;
pub const VOICE: i64 = 34;
pub const CONTACT_CARD: i64 = 42;
pub const VIDEO: i64 = 43;
pub const VIDEO_OLD: i64 = 44;
pub const STICKER: i64 = 47;
pub const LOCATION: i64 = 48;
pub const APP: i64 = 49;
pub const VOIP: i64 = 50;
pub const SHORT_VIDEO: i64 = 62;
pub const SYSTEM: i64 = 10000;
pub const SYSTEM_XML: i64 = 10002;

/// Composite codes chatferry writes (and reads by full value). Links are
/// written as plain 49: readers agree on it, the composite labels do not.
pub const TRANSFER: i64 = 419430449; // 0x19000031, appmsg 2000
pub const RED_PACKET: i64 = 436207665; // 0x1A000031, appmsg 2001
pub const QUOTE: i64 = 822083633; // 0x31000031, appmsg 57
pub const FILE: i64 = 1090519089; // 0x41000031, appmsg 6
pub const REVOKE_NOTICE: i64 = 268445456; // 0x10002710, plain text

/// The base type of a stored code.
pub fn base(code: i64) -> i64 {
    code & 0xFFFF
}

/// The code Android stores for a row kept from iOS (which stores base types
/// only): app messages get the composite code of their `<appmsg><type>`.
pub fn for_android(code: i64, body: &str) -> i64 {
    if code != APP {
        return code;
    }
    let app_type = crate::xml::Doc::parse(body)
        .and_then(|d| d.text("msg/appmsg/type"))
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    match app_type {
        app::QUOTE => QUOTE,
        app::FILE => FILE,
        app::TRANSFER => TRANSFER,
        app::RED_PACKET => RED_PACKET,
        _ => APP,
    }
}

/// The code iOS stores: the base type.
pub fn for_ios(code: i64) -> i64 {
    base(code)
}

/// appmsg `<type>` values.
pub mod app {
    pub const LINK: i64 = 5;
    pub const FILE: i64 = 6;
    pub const FORWARDED_RECORD: i64 = 19;
    pub const MINI_PROGRAM: i64 = 33;
    pub const MINI_PROGRAM_2: i64 = 36;
    pub const QUOTE: i64 = 57;
    pub const PAT: i64 = 62;
    pub const TRANSFER: i64 = 2000;
    pub const RED_PACKET: i64 = 2001;
}

/// `status` on Android: 1 sending, 2 sent, 3 received, 4 read, 5 failed.
pub fn status(is_send: bool, code: Option<i64>) -> chatferry_core::Status {
    use chatferry_core::Status;
    match (is_send, code) {
        (false, _) => Status::Received,
        (true, Some(1)) => Status::Pending,
        (true, Some(2)) => Status::Sent,
        (true, Some(4)) => Status::Read,
        (true, Some(5)) => Status::Failed,
        (true, _) => Status::Unknown,
    }
}

pub fn status_code(status: chatferry_core::Status, from_me: bool) -> i64 {
    use chatferry_core::Status;
    match status {
        _ if !from_me => 3,
        Status::Pending => 1,
        Status::Read | Status::Played => 4,
        Status::Failed => 5,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_codes_keep_their_base_type() {
        for c in [TRANSFER, RED_PACKET, QUOTE, FILE, 16777265, 922746929] {
            assert_eq!(base(c), APP, "{c:#x}");
        }
        assert_eq!(base(REVOKE_NOTICE), SYSTEM);
        assert_eq!(for_android(APP, "<msg><appmsg><type>57</type></appmsg></msg>"), QUOTE);
        assert_eq!(for_android(APP, "<msg><appmsg><type>5</type></appmsg></msg>"), APP);
        assert_eq!(for_android(TEXT, "<msg><appmsg><type>57</type></appmsg></msg>"), TEXT);
    }
}
