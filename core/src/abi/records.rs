//! The canonical model as it crosses the plugin boundary: `#[repr(C)]`
//! `StableAbi` mirrors of `crate::model`, checked by abi_stable at load time.
//!
//! FROZEN within ABI major 1: do not add, remove, reorder or retype a field.
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

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiMedia {
    pub sha256: ROption<RString>,
    pub mime: ROption<RString>,
    pub size: ROption<u64>,
    pub file: ROption<RString>,
    pub file_name: ROption<RString>,
    pub width: ROption<u32>,
    pub height: ROption<u32>,
    pub duration_ms: ROption<u64>,
    pub caption: ROption<RString>,
    pub missing: bool,
    pub path: ROption<RString>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiLocation {
    pub latitude: f64,
    pub longitude: f64,
    pub name: ROption<RString>,
    pub address: ROption<RString>,
    pub url: ROption<RString>,
    pub live: bool,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiContactCard {
    pub name: ROption<RString>,
    pub vcard: ROption<RString>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiLink {
    pub url: RString,
    pub title: ROption<RString>,
    pub description: ROption<RString>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiCall {
    pub video: bool,
    pub group: bool,
    pub duration_ms: ROption<u64>,
    pub outcome: ROption<RString>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiSystemEvent {
    pub action: RString,
    pub actor: ROption<RString>,
    pub targets: RVec<RString>,
    pub value: ROption<RString>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiPayment {
    pub kind: RString,
    pub amount: ROption<RString>,
    pub currency: ROption<RString>,
    pub note: ROption<RString>,
    pub status: ROption<RString>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiPollOption {
    pub text: RString,
    pub voters: RVec<RString>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiPoll {
    pub question: RString,
    pub options: RVec<FfiPollOption>,
    pub multiple: bool,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiReaction {
    pub sender: ROption<RString>,
    pub from_me: bool,
    pub emoji: RString,
    pub timestamp_ms: ROption<i64>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiMessage {
    pub id: RString,
    pub chat: RString,
    pub sender: ROption<RString>,
    pub from_me: bool,
    pub timestamp_ms: i64,
    pub kind: u8,
    pub status: u8,
    pub text: ROption<RString>,
    pub media: ROption<FfiMedia>,
    pub location: ROption<FfiLocation>,
    pub contact_card: ROption<FfiContactCard>,
    pub link: ROption<FfiLink>,
    pub call: ROption<FfiCall>,
    pub system: ROption<FfiSystemEvent>,
    pub payment: ROption<FfiPayment>,
    pub poll: ROption<FfiPoll>,
    pub reply_to: ROption<RString>,
    pub quoted_text: ROption<RString>,
    pub reactions: RVec<FfiReaction>,
    pub forwarded: bool,
    pub starred: bool,
    pub edited: bool,
    pub edited_ms: ROption<i64>,
    pub view_once: bool,
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
fn rvec_strings(v: Vec<String>) -> RVec<RString> {
    v.into_iter().map(RString::from).collect()
}
fn strings(v: RVec<RString>) -> Vec<String> {
    v.into_iter().map(RString::into_string).collect()
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
const STATUSES: [Status; 8] = [
    Status::Unknown,
    Status::Received,
    Status::Pending,
    Status::Sent,
    Status::Delivered,
    Status::Read,
    Status::Played,
    Status::Failed,
];

fn code_of<T: PartialEq>(table: &[T], v: &T) -> u8 {
    table.iter().position(|x| x == v).expect("every variant is in its code table") as u8
}
fn from_code<T: Copy>(table: &[T], code: u8, fallback: T) -> T {
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

impl From<Media> for FfiMedia {
    fn from(m: Media) -> Self {
        FfiMedia {
            sha256: ros(m.sha256),
            mime: ros(m.mime),
            size: m.size.into(),
            file: ros(m.file),
            file_name: ros(m.file_name),
            width: m.width.into(),
            height: m.height.into(),
            duration_ms: m.duration_ms.into(),
            caption: ros(m.caption),
            missing: m.missing,
            path: ros(m.path),
        }
    }
}
impl From<FfiMedia> for Media {
    fn from(m: FfiMedia) -> Self {
        Media {
            sha256: ost(m.sha256),
            mime: ost(m.mime),
            size: m.size.into_option(),
            file: ost(m.file),
            file_name: ost(m.file_name),
            width: m.width.into_option(),
            height: m.height.into_option(),
            duration_ms: m.duration_ms.into_option(),
            caption: ost(m.caption),
            missing: m.missing,
            path: ost(m.path),
        }
    }
}

impl From<Message> for FfiMessage {
    fn from(m: Message) -> Self {
        FfiMessage {
            id: rs(m.id),
            chat: rs(m.chat),
            sender: ros(m.sender),
            from_me: m.from_me,
            timestamp_ms: m.timestamp_ms,
            kind: kind_code(m.kind),
            status: code_of(&STATUSES, &m.status),
            text: ros(m.text),
            media: m.media.map(FfiMedia::from).into(),
            location: m
                .location
                .map(|l| FfiLocation {
                    latitude: l.latitude,
                    longitude: l.longitude,
                    name: ros(l.name),
                    address: ros(l.address),
                    url: ros(l.url),
                    live: l.live,
                })
                .into(),
            contact_card: m.contact_card.map(|c| FfiContactCard { name: ros(c.name), vcard: ros(c.vcard) }).into(),
            link: m
                .link
                .map(|l| FfiLink { url: rs(l.url), title: ros(l.title), description: ros(l.description) })
                .into(),
            call: m
                .call
                .map(|c| FfiCall {
                    video: c.video,
                    group: c.group,
                    duration_ms: c.duration_ms.into(),
                    outcome: ros(c.outcome),
                })
                .into(),
            system: m
                .system
                .map(|s| FfiSystemEvent {
                    action: rs(s.action),
                    actor: ros(s.actor),
                    targets: rvec_strings(s.targets),
                    value: ros(s.value),
                })
                .into(),
            payment: m
                .payment
                .map(|p| FfiPayment {
                    kind: rs(p.kind),
                    amount: ros(p.amount),
                    currency: ros(p.currency),
                    note: ros(p.note),
                    status: ros(p.status),
                })
                .into(),
            poll: m
                .poll
                .map(|p| FfiPoll {
                    question: rs(p.question),
                    options: p
                        .options
                        .into_iter()
                        .map(|o| FfiPollOption { text: rs(o.text), voters: rvec_strings(o.voters) })
                        .collect(),
                    multiple: p.multiple,
                })
                .into(),
            reply_to: ros(m.reply_to),
            quoted_text: ros(m.quoted_text),
            reactions: m
                .reactions
                .into_iter()
                .map(|r| FfiReaction {
                    sender: ros(r.sender),
                    from_me: r.from_me,
                    emoji: rs(r.emoji),
                    timestamp_ms: r.timestamp_ms.into(),
                })
                .collect(),
            forwarded: m.forwarded,
            starred: m.starred,
            edited: m.edited,
            edited_ms: m.edited_ms.into(),
            view_once: m.view_once,
            extras: extras_to_ffi(m.extras),
        }
    }
}
impl From<FfiMessage> for Message {
    fn from(m: FfiMessage) -> Self {
        Message {
            id: st(m.id),
            chat: st(m.chat),
            sender: ost(m.sender),
            from_me: m.from_me,
            timestamp_ms: m.timestamp_ms,
            kind: kind_from_code(m.kind),
            status: from_code(&STATUSES, m.status, Status::Unknown),
            text: ost(m.text),
            media: m.media.into_option().map(Media::from),
            location: m.location.into_option().map(|l| Location {
                latitude: l.latitude,
                longitude: l.longitude,
                name: ost(l.name),
                address: ost(l.address),
                url: ost(l.url),
                live: l.live,
            }),
            contact_card: m.contact_card.into_option().map(|c| ContactCard { name: ost(c.name), vcard: ost(c.vcard) }),
            link: m.link.into_option().map(|l| Link {
                url: st(l.url),
                title: ost(l.title),
                description: ost(l.description),
            }),
            call: m.call.into_option().map(|c| Call {
                video: c.video,
                group: c.group,
                duration_ms: c.duration_ms.into_option(),
                outcome: ost(c.outcome),
            }),
            system: m.system.into_option().map(|s| SystemEvent {
                action: st(s.action),
                actor: ost(s.actor),
                targets: strings(s.targets),
                value: ost(s.value),
            }),
            payment: m.payment.into_option().map(|p| Payment {
                kind: st(p.kind),
                amount: ost(p.amount),
                currency: ost(p.currency),
                note: ost(p.note),
                status: ost(p.status),
            }),
            poll: m.poll.into_option().map(|p| Poll {
                question: st(p.question),
                options: p
                    .options
                    .into_iter()
                    .map(|o| PollOption { text: st(o.text), voters: strings(o.voters) })
                    .collect(),
                multiple: p.multiple,
            }),
            reply_to: ost(m.reply_to),
            quoted_text: ost(m.quoted_text),
            reactions: m
                .reactions
                .into_iter()
                .map(|r| Reaction {
                    sender: ost(r.sender),
                    from_me: r.from_me,
                    emoji: st(r.emoji),
                    timestamp_ms: r.timestamp_ms.into_option(),
                })
                .collect(),
            forwarded: m.forwarded,
            starred: m.starred,
            edited: m.edited,
            edited_ms: m.edited_ms.into_option(),
            view_once: m.view_once,
            extras: extras_from_ffi(m.extras),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message with every field set survives the trip through its mirror.
    #[test]
    fn every_field_survives_the_boundary() {
        let mut extras = Extras::new();
        extras.insert("wa.status".into(), "13".into());
        let m = Message {
            id: "42".into(),
            chat: "123@g.us".into(),
            sender: Some("4915@s.whatsapp.net".into()),
            from_me: false,
            timestamp_ms: -347_155_200_000,
            kind: MessageKind::Poll,
            status: Status::Played,
            text: Some("多行\nمرحبا 👋🏽".into()),
            media: Some(Media {
                sha256: Some("ab".repeat(32)),
                mime: Some("image/jpeg".into()),
                size: Some(5),
                file: Some("media/ab/x.jpg".into()),
                file_name: Some("x.jpg".into()),
                width: Some(10),
                height: Some(20),
                duration_ms: Some(30),
                caption: Some("cap".into()),
                missing: true,
                path: Some("/tmp/x".into()),
            }),
            location: Some(Location {
                latitude: 52.5,
                longitude: -13.4,
                name: Some("n".into()),
                address: Some("a".into()),
                url: Some("u".into()),
                live: true,
            }),
            contact_card: Some(ContactCard { name: Some("c".into()), vcard: Some("BEGIN:VCARD".into()) }),
            link: Some(Link { url: "https://x".into(), title: Some("t".into()), description: Some("d".into()) }),
            call: Some(Call { video: true, group: true, duration_ms: Some(9), outcome: Some("missed".into()) }),
            system: Some(SystemEvent {
                action: "member_added".into(),
                actor: Some("a".into()),
                targets: vec!["b".into(), "c".into()],
                value: Some("v".into()),
            }),
            payment: Some(Payment {
                kind: "red_packet".into(),
                amount: Some("88.88".into()),
                currency: Some("CNY".into()),
                note: Some("恭喜发财".into()),
                status: Some("received".into()),
            }),
            poll: Some(Poll {
                question: "q".into(),
                options: vec![PollOption { text: "o".into(), voters: vec!["v".into()] }],
                multiple: true,
            }),
            reply_to: Some("41".into()),
            quoted_text: Some("quoted".into()),
            reactions: vec![Reaction { sender: None, from_me: true, emoji: "❤️".into(), timestamp_ms: Some(1) }],
            forwarded: true,
            starred: true,
            edited: true,
            edited_ms: Some(2),
            view_once: true,
            extras,
        };
        let back = Message::from(FfiMessage::from(m.clone()));
        assert_eq!(back, m);

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
