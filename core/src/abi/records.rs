//! The canonical model as it crosses the plugin boundary: `#[repr(C)]`
//! `StableAbi` mirrors of `crate::model`, checked by abi_stable at load time.
//! Header, contacts and chats cross as owned records (here); messages are
//! lent (`lent.rs`).
//!
//! FROZEN within ABI major 2: do not add, remove, reorder or retype a field.
//! New information travels in `extras` until the next major. Enumerations
//! cross as small numbers so a newer peer's unknown value degrades to
//! `Other`/`Unknown` instead of failing the layout check.

use crate::model::*;
use abi_stable::std_types::{ROption, RString, RVec};
use abi_stable::StableAbi;

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiKv {
    pub key: RString,
    pub value: RString,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiHeader {
    pub source_adapter: RString,
    pub model_version: RString,
    pub owner: ROption<FfiContact>,
    pub estimated_messages: ROption<u64>,
    pub extras: RVec<FfiKv>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiContact {
    pub id: RString,
    pub name: ROption<RString>,
    pub nickname: ROption<RString>,
    pub phone: ROption<RString>,
    pub username: ROption<RString>,
    pub alias: ROption<RString>,
    pub extras: RVec<FfiKv>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiParticipant {
    pub contact: RString,
    pub role: u8,
    pub display_name: ROption<RString>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiChat {
    pub id: RString,
    pub kind: u8,
    pub title: ROption<RString>,
    pub participants: RVec<FfiParticipant>,
    pub created_ms: ROption<i64>,
    pub archived: bool,
    pub extras: RVec<FfiKv>,
}

// ---- small conversions -------------------------------------------------

fn rs(s: String) -> RString {
    RString::from(s)
}
fn ros(s: Option<String>) -> ROption<RString> {
    s.map(RString::from).into()
}
fn st(s: RString) -> String {
    s.into_string()
}
fn ost(s: ROption<RString>) -> Option<String> {
    s.into_option().map(RString::into_string)
}

pub(crate) fn extras_to_ffi(e: Extras) -> RVec<FfiKv> {
    e.into_iter().map(|(k, v)| FfiKv { key: rs(k), value: rs(v) }).collect()
}
pub(crate) fn extras_from_ffi(e: RVec<FfiKv>) -> Extras {
    Extras::from_entries(e.into_iter().map(|kv| (st(kv.key), st(kv.value))).collect())
}

// Codes are the position in these tables; append only within a major.
const CHAT_KINDS: [ChatKind; 5] = ChatKind::ALL;
const ROLES: [Role; 3] = [Role::Member, Role::Admin, Role::Owner];
pub(super) const STATUSES: [Status; 8] = [
    Status::Unknown,
    Status::Received,
    Status::Pending,
    Status::Sent,
    Status::Delivered,
    Status::Read,
    Status::Played,
    Status::Failed,
];

pub(super) fn code_of<T: PartialEq>(table: &[T], v: &T) -> u8 {
    table.iter().position(|x| x == v).expect("every variant is in its code table") as u8
}
pub(super) fn from_code<T: Copy>(table: &[T], code: u8, fallback: T) -> T {
    table.get(code as usize).copied().unwrap_or(fallback)
}

pub(crate) fn kind_code(k: MessageKind) -> u8 {
    code_of(&MessageKind::ALL, &k)
}
pub(crate) fn kind_from_code(c: u8) -> MessageKind {
    from_code(&MessageKind::ALL, c, MessageKind::Other)
}

// ---- records -------------------------------------------------------------

impl From<Header> for FfiHeader {
    fn from(h: Header) -> Self {
        FfiHeader {
            source_adapter: rs(h.source_adapter),
            model_version: rs(h.model_version),
            owner: h.owner.map(FfiContact::from).into(),
            estimated_messages: h.estimated_messages.into(),
            extras: extras_to_ffi(h.extras),
        }
    }
}
impl From<FfiHeader> for Header {
    fn from(h: FfiHeader) -> Self {
        Header {
            source_adapter: st(h.source_adapter),
            model_version: st(h.model_version),
            owner: h.owner.into_option().map(Contact::from),
            estimated_messages: h.estimated_messages.into_option(),
            extras: extras_from_ffi(h.extras),
        }
    }
}

impl From<Contact> for FfiContact {
    fn from(c: Contact) -> Self {
        FfiContact {
            id: rs(c.id),
            name: ros(c.name),
            nickname: ros(c.nickname),
            phone: ros(c.phone),
            username: ros(c.username),
            alias: ros(c.alias),
            extras: extras_to_ffi(c.extras),
        }
    }
}
impl From<FfiContact> for Contact {
    fn from(c: FfiContact) -> Self {
        Contact {
            id: st(c.id),
            name: ost(c.name),
            nickname: ost(c.nickname),
            phone: ost(c.phone),
            username: ost(c.username),
            alias: ost(c.alias),
            extras: extras_from_ffi(c.extras),
        }
    }
}

impl From<Chat> for FfiChat {
    fn from(c: Chat) -> Self {
        FfiChat {
            id: rs(c.id),
            kind: code_of(&CHAT_KINDS, &c.kind),
            title: ros(c.title),
            participants: c
                .participants
                .into_iter()
                .map(|p| FfiParticipant {
                    contact: rs(p.contact),
                    role: code_of(&ROLES, &p.role),
                    display_name: ros(p.display_name),
                })
                .collect(),
            created_ms: c.created_ms.into(),
            archived: c.archived,
            extras: extras_to_ffi(c.extras),
        }
    }
}
impl From<FfiChat> for Chat {
    fn from(c: FfiChat) -> Self {
        Chat {
            id: st(c.id),
            kind: from_code(&CHAT_KINDS, c.kind, ChatKind::Other),
            title: ost(c.title),
            participants: c
                .participants
                .into_iter()
                .map(|p| Participant {
                    contact: st(p.contact),
                    role: from_code(&ROLES, p.role, Role::Member),
                    display_name: ost(p.display_name),
                })
                .collect(),
            created_ms: c.created_ms.into_option(),
            archived: c.archived,
            extras: extras_from_ffi(c.extras),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chat and a header with every field set survive the trip through
    /// their mirrors (messages: `lent.rs`).
    #[test]
    fn every_field_survives_the_boundary() {
        let chat = Chat {
            id: "g".into(),
            kind: ChatKind::Official,
            title: Some("t".into()),
            participants: vec![Participant { contact: "p".into(), role: Role::Owner, display_name: Some("d".into()) }],
            created_ms: Some(-1),
            archived: true,
            extras: Extras::new(),
        };
        assert_eq!(Chat::from(FfiChat::from(chat.clone())), chat);

        let header = Header {
            source_adapter: "x".into(),
            model_version: MODEL_VERSION.into(),
            owner: Some(Contact { id: "me".into(), phone: Some("+1".into()), ..Default::default() }),
            estimated_messages: Some(7),
            extras: Extras::new(),
        };
        assert_eq!(Header::from(FfiHeader::from(header.clone())), header);
    }

    #[test]
    fn unknown_codes_degrade_instead_of_failing() {
        assert_eq!(kind_from_code(250), MessageKind::Other);
        for k in MessageKind::ALL {
            assert_eq!(kind_from_code(kind_code(k)), k);
        }
    }
}
