//! Messages as they cross the plugin boundary: borrowed mirrors of
//! `crate::model::Message`. The side that holds a batch lends views of its
//! strings, the other side copies them once.
//!
//! ABI 1.0 sent owned records (`RString`s), which cost two copies per
//! crossing: the sender cloned the batch (so the thread that built it could
//! free it), and abi_stable's `RString::into_string` copied again on the
//! receiving side, because it moves a buffer only when the same library
//! allocated it. Lent records point into the sender's batch: the receiver
//! copies each string once, and the sender keeps and frees its batch as it
//! would without a plugin.
//!
//! FROZEN within ABI major 2, like the owned records in `records.rs`.

use super::records::{code_of, from_code, kind_code, kind_from_code, STATUSES};
use crate::model::*;
use abi_stable::std_types::{ROption, RStr, RVec};
use abi_stable::StableAbi;

#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct LentKv<'a> {
    pub key: RStr<'a>,
    pub value: RStr<'a>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentMedia<'a> {
    pub sha256: ROption<RStr<'a>>,
    pub mime: ROption<RStr<'a>>,
    pub size: ROption<u64>,
    pub file: ROption<RStr<'a>>,
    pub file_name: ROption<RStr<'a>>,
    pub width: ROption<u32>,
    pub height: ROption<u32>,
    pub duration_ms: ROption<u64>,
    pub caption: ROption<RStr<'a>>,
    pub missing: bool,
    pub path: ROption<RStr<'a>>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentLocation<'a> {
    pub latitude: f64,
    pub longitude: f64,
    pub name: ROption<RStr<'a>>,
    pub address: ROption<RStr<'a>>,
    pub url: ROption<RStr<'a>>,
    pub live: bool,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentContactCard<'a> {
    pub name: ROption<RStr<'a>>,
    pub vcard: ROption<RStr<'a>>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentLink<'a> {
    pub url: RStr<'a>,
    pub title: ROption<RStr<'a>>,
    pub description: ROption<RStr<'a>>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentCall<'a> {
    pub video: bool,
    pub group: bool,
    pub duration_ms: ROption<u64>,
    pub outcome: ROption<RStr<'a>>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentSystemEvent<'a> {
    pub action: RStr<'a>,
    pub actor: ROption<RStr<'a>>,
    pub targets: RVec<RStr<'a>>,
    pub value: ROption<RStr<'a>>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentPayment<'a> {
    pub kind: RStr<'a>,
    pub amount: ROption<RStr<'a>>,
    pub currency: ROption<RStr<'a>>,
    pub note: ROption<RStr<'a>>,
    pub status: ROption<RStr<'a>>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentPollOption<'a> {
    pub text: RStr<'a>,
    pub voters: RVec<RStr<'a>>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentPoll<'a> {
    pub question: RStr<'a>,
    pub options: RVec<LentPollOption<'a>>,
    pub multiple: bool,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentReaction<'a> {
    pub sender: ROption<RStr<'a>>,
    pub from_me: bool,
    pub emoji: RStr<'a>,
    pub timestamp_ms: ROption<i64>,
}

/// A message lent across the boundary. Its vectors are the lender's own
/// (allocated and freed on the lender's side); only the strings point into
/// the lent batch.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LentMessage<'a> {
    pub id: RStr<'a>,
    pub chat: RStr<'a>,
    pub sender: ROption<RStr<'a>>,
    pub from_me: bool,
    pub timestamp_ms: i64,
    pub kind: u8,
    pub status: u8,
    pub text: ROption<RStr<'a>>,
    pub media: ROption<LentMedia<'a>>,
    pub location: ROption<LentLocation<'a>>,
    pub contact_card: ROption<LentContactCard<'a>>,
    pub link: ROption<LentLink<'a>>,
    pub call: ROption<LentCall<'a>>,
    pub system: ROption<LentSystemEvent<'a>>,
    pub payment: ROption<LentPayment<'a>>,
    pub poll: ROption<LentPoll<'a>>,
    pub reply_to: ROption<RStr<'a>>,
    pub quoted_text: ROption<RStr<'a>>,
    pub reactions: RVec<LentReaction<'a>>,
    pub forwarded: bool,
    pub starred: bool,
    pub edited: bool,
    pub edited_ms: ROption<i64>,
    pub view_once: bool,
    pub extras: RVec<LentKv<'a>>,
}

// ---- lending: views of a message, no string copied ------------------------

fn view(s: &str) -> RStr<'_> {
    RStr::from_str(s)
}
fn oview(s: &Option<String>) -> ROption<RStr<'_>> {
    s.as_deref().map(RStr::from_str).into()
}
fn views(v: &[String]) -> RVec<RStr<'_>> {
    v.iter().map(|s| view(s)).collect()
}

impl<'a> From<&'a Media> for LentMedia<'a> {
    fn from(m: &'a Media) -> Self {
        LentMedia {
            sha256: oview(&m.sha256),
            mime: oview(&m.mime),
            size: m.size.into(),
            file: oview(&m.file),
            file_name: oview(&m.file_name),
            width: m.width.into(),
            height: m.height.into(),
            duration_ms: m.duration_ms.into(),
            caption: oview(&m.caption),
            missing: m.missing,
            path: oview(&m.path),
        }
    }
}

impl<'a> LentMessage<'a> {
    /// A view of `m`.
    pub fn of(m: &'a Message) -> LentMessage<'a> {
        let mut view = LentMessage::empty();
        view.refill(m);
        view
    }

    /// A view of nothing (every field empty), to be refilled.
    fn empty() -> LentMessage<'a> {
        LentMessage {
            id: RStr::from_str(""),
            chat: RStr::from_str(""),
            sender: ROption::RNone,
            from_me: false,
            timestamp_ms: 0,
            kind: 0,
            status: 0,
            text: ROption::RNone,
            media: ROption::RNone,
            location: ROption::RNone,
            contact_card: ROption::RNone,
            link: ROption::RNone,
            call: ROption::RNone,
            system: ROption::RNone,
            payment: ROption::RNone,
            poll: ROption::RNone,
            reply_to: ROption::RNone,
            quoted_text: ROption::RNone,
            reactions: RVec::new(),
            forwarded: false,
            starred: false,
            edited: false,
            edited_ms: ROption::RNone,
            view_once: false,
            extras: RVec::new(),
        }
    }

    /// Points this view at `m`, field by field in place: a field `m` leaves
    /// empty is written as its tag alone, where building a whole view and
    /// moving it into the batch's list wrote a kilobyte per message.
    pub fn refill(&mut self, m: &'a Message) {
        self.id = view(&m.id);
        self.chat = view(&m.chat);
        self.sender = oview(&m.sender);
        self.from_me = m.from_me;
        self.timestamp_ms = m.timestamp_ms;
        self.kind = kind_code(m.kind);
        self.status = code_of(&STATUSES, &m.status);
        self.text = oview(&m.text);
        self.media = m.media.as_ref().map(LentMedia::from).into();
        self.location = m
            .location
            .as_ref()
            .map(|l| LentLocation {
                latitude: l.latitude,
                longitude: l.longitude,
                name: oview(&l.name),
                address: oview(&l.address),
                url: oview(&l.url),
                live: l.live,
            })
            .into();
        self.contact_card =
            m.contact_card.as_ref().map(|c| LentContactCard { name: oview(&c.name), vcard: oview(&c.vcard) }).into();
        self.link = m
            .link
            .as_ref()
            .map(|l| LentLink { url: view(&l.url), title: oview(&l.title), description: oview(&l.description) })
            .into();
        self.call = m
            .call
            .as_ref()
            .map(|c| LentCall {
                video: c.video,
                group: c.group,
                duration_ms: c.duration_ms.into(),
                outcome: oview(&c.outcome),
            })
            .into();
        self.system = m
            .system
            .as_ref()
            .map(|s| LentSystemEvent {
                action: view(&s.action),
                actor: oview(&s.actor),
                targets: views(&s.targets),
                value: oview(&s.value),
            })
            .into();
        self.payment = m
            .payment
            .as_ref()
            .map(|p| LentPayment {
                kind: view(&p.kind),
                amount: oview(&p.amount),
                currency: oview(&p.currency),
                note: oview(&p.note),
                status: oview(&p.status),
            })
            .into();
        self.poll = m
            .poll
            .as_ref()
            .map(|p| LentPoll {
                question: view(&p.question),
                options: p
                    .options
                    .iter()
                    .map(|o| LentPollOption { text: view(&o.text), voters: views(&o.voters) })
                    .collect(),
                multiple: p.multiple,
            })
            .into();
        self.reply_to = oview(&m.reply_to);
        self.quoted_text = oview(&m.quoted_text);
        refill_list(
            &mut self.reactions,
            m.reactions.is_empty(),
            m.reactions.iter().map(|r| LentReaction {
                sender: oview(&r.sender),
                from_me: r.from_me,
                emoji: view(&r.emoji),
                timestamp_ms: r.timestamp_ms.into(),
            }),
        );
        self.forwarded = m.forwarded;
        self.starred = m.starred;
        self.edited = m.edited;
        self.edited_ms = m.edited_ms.into();
        self.view_once = m.view_once;
        refill_list(
            &mut self.extras,
            m.extras.is_empty(),
            m.extras.iter().map(|(k, v)| LentKv { key: view(k), value: view(v) }),
        );
    }
}

/// Refills a view's list in place: an empty list that stays empty is left
/// as it is (most messages have no reactions and no extras; making a new
/// list and dropping the old one was a fifth of refilling a view).
fn refill_list<T>(list: &mut RVec<T>, none: bool, items: impl Iterator<Item = T>) {
    if list.is_empty() && none {
        return;
    }
    list.clear();
    list.extend(items);
}

impl<'a> From<&'a Message> for LentMessage<'a> {
    fn from(m: &'a Message) -> Self {
        LentMessage::of(m)
    }
}

// ---- borrowing: the one copy, on the receiving side ------------------------

fn own(s: RStr<'_>) -> String {
    s.as_str().to_owned()
}
fn oown(s: &ROption<RStr<'_>>) -> Option<String> {
    s.as_ref().into_option().map(|s| own(*s))
}
fn owns(v: &RVec<RStr<'_>>) -> Vec<String> {
    v.iter().map(|s| own(*s)).collect()
}

impl From<&LentMedia<'_>> for Media {
    fn from(m: &LentMedia<'_>) -> Self {
        Media {
            sha256: oown(&m.sha256),
            mime: oown(&m.mime),
            size: m.size.into_option(),
            file: oown(&m.file),
            file_name: oown(&m.file_name),
            width: m.width.into_option(),
            height: m.height.into_option(),
            duration_ms: m.duration_ms.into_option(),
            caption: oown(&m.caption),
            missing: m.missing,
            path: oown(&m.path),
        }
    }
}

impl From<&LentMessage<'_>> for Message {
    /// The copy on the receiving side, with the fields that travelled in
    /// extras taken back out ([`super::carried`]).
    fn from(m: &LentMessage<'_>) -> Self {
        let mut out =
            Message {
                id: own(m.id),
                chat: own(m.chat),
                sender: oown(&m.sender),
                from_me: m.from_me,
                timestamp_ms: m.timestamp_ms,
                kind: kind_from_code(m.kind),
                status: from_code(&STATUSES, m.status, Status::Unknown),
                text: oown(&m.text),
                media: m.media.as_ref().into_option().map(Media::from),
                location: m.location.as_ref().into_option().map(|l| {
                    Box::new(Location {
                        latitude: l.latitude,
                        longitude: l.longitude,
                        name: oown(&l.name),
                        address: oown(&l.address),
                        url: oown(&l.url),
                        live: l.live,
                    })
                }),
                contact_card: m
                    .contact_card
                    .as_ref()
                    .into_option()
                    .map(|c| Box::new(ContactCard { name: oown(&c.name), vcard: oown(&c.vcard) })),
                link: m.link.as_ref().into_option().map(|l| {
                    Box::new(Link { url: own(l.url), title: oown(&l.title), description: oown(&l.description) })
                }),
                call: m.call.as_ref().into_option().map(|c| {
                    Box::new(Call {
                        video: c.video,
                        group: c.group,
                        duration_ms: c.duration_ms.into_option(),
                        outcome: oown(&c.outcome),
                    })
                }),
                system: m.system.as_ref().into_option().map(|s| {
                    Box::new(SystemEvent {
                        action: own(s.action),
                        actor: oown(&s.actor),
                        targets: owns(&s.targets),
                        value: oown(&s.value),
                    })
                }),
                payment: m.payment.as_ref().into_option().map(|p| {
                    Box::new(Payment {
                        kind: own(p.kind),
                        amount: oown(&p.amount),
                        currency: oown(&p.currency),
                        note: oown(&p.note),
                        status: oown(&p.status),
                    })
                }),
                poll: m.poll.as_ref().into_option().map(|p| {
                    Box::new(Poll {
                        question: own(p.question),
                        options: p
                            .options
                            .iter()
                            .map(|o| PollOption { text: own(o.text), voters: owns(&o.voters) })
                            .collect(),
                        multiple: p.multiple,
                        correct: None,
                        votes: Vec::new(),
                    })
                }),
                event: None,
                earlier_texts: Vec::new(),
                pinned: None,
                kept: None,
                reply_to: oown(&m.reply_to),
                quoted_text: oown(&m.quoted_text),
                reactions: m
                    .reactions
                    .iter()
                    .map(|r| Reaction {
                        sender: oown(&r.sender),
                        from_me: r.from_me,
                        emoji: own(r.emoji),
                        timestamp_ms: r.timestamp_ms.into_option(),
                    })
                    .collect(),
                forwarded: m.forwarded,
                starred: m.starred,
                edited: m.edited,
                edited_ms: m.edited_ms.into_option(),
                view_once: m.view_once,
                // Lent in the lender's order, which is already sorted and unique.
                extras: Extras::from_entries(m.extras.iter().map(|kv| (own(kv.key), own(kv.value))).collect()),
            };
        if !m.extras.is_empty() {
            super::carried::unpack(&mut out);
        }
        out
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A message with every field set.
    pub(in crate::abi) fn every_field_message() -> Message {
        let mut extras = Extras::new();
        extras.insert("wa.status".into(), "13".into());
        Message {
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
            location: Some(Box::new(Location {
                latitude: 52.5,
                longitude: -13.4,
                name: Some("n".into()),
                address: Some("a".into()),
                url: Some("u".into()),
                live: true,
            })),
            contact_card: Some(Box::new(ContactCard { name: Some("c".into()), vcard: Some("BEGIN:VCARD".into()) })),
            link: Some(Box::new(Link {
                url: "https://x".into(),
                title: Some("t".into()),
                description: Some("d".into()),
            })),
            call: Some(Box::new(Call {
                video: true,
                group: true,
                duration_ms: Some(9),
                outcome: Some("missed".into()),
            })),
            system: Some(Box::new(SystemEvent {
                action: "member_added".into(),
                actor: Some("a".into()),
                targets: vec!["b".into(), "c".into()],
                value: Some("v".into()),
            })),
            payment: Some(Box::new(Payment {
                kind: "red_packet".into(),
                amount: Some("88.88".into()),
                currency: Some("CNY".into()),
                note: Some("恭喜发财".into()),
                status: Some("received".into()),
            })),
            poll: Some(Box::new(Poll {
                question: "q".into(),
                options: vec![PollOption { text: "o".into(), voters: vec!["v".into()] }],
                multiple: true,
                // Model 1.1: lent packed (see `a_packed_loan_brings_model_1_1_back`).
                correct: None,
                votes: Vec::new(),
            })),
            event: None,
            earlier_texts: Vec::new(),
            pinned: None,
            kept: None,
            reply_to: Some("41".into()),
            quoted_text: Some("quoted".into()),
            reactions: vec![Reaction { sender: None, from_me: true, emoji: "❤️".into(), timestamp_ms: Some(1) }],
            forwarded: true,
            starred: true,
            edited: true,
            edited_ms: Some(2),
            view_once: true,
            extras,
        }
    }

    #[test]
    fn a_packed_loan_brings_models_1_1_and_1_2_back() {
        let mut m = every_field_message();
        let poll = m.poll.as_mut().unwrap();
        poll.correct = Some(0);
        poll.votes = vec![crate::model::PollVote {
            voter: Some("v".into()),
            options: vec![0],
            timestamp_ms: Some(3),
            ..Default::default()
        }];
        m.event = Some(Box::new(crate::model::Event { name: "e".into(), canceled: true, ..Default::default() }));
        m.earlier_texts = vec!["before".into()];
        m.pinned = Some(Box::new(crate::model::Pin { sender: Some("p".into()), ..Default::default() }));
        m.kept = Some(Box::new(crate::model::Pin { from_me: true, timestamp_ms: Some(4), ..Default::default() }));
        let mut packed = m.clone();
        crate::abi::carried::pack(&mut packed);
        assert_eq!(Message::from(&LentMessage::from(&packed)), m);
    }

    #[test]
    fn every_field_survives_a_loan() {
        let m = every_field_message();
        let lent = LentMessage::from(&m);
        assert_eq!(Message::from(&lent), m);
        // And one with nothing optional set (every option none, every list empty).
        let plain = Message { id: "1".into(), chat: "c".into(), kind: MessageKind::Text, ..Default::default() };
        assert_eq!(Message::from(&LentMessage::from(&plain)), plain);
    }

    /// A view refilled in place shows only its new message: every field of
    /// the one before is overwritten, set or empty.
    #[test]
    fn a_refilled_view_shows_its_new_message_only() {
        let full = every_field_message();
        let plain = Message { id: "1".into(), chat: "c".into(), kind: MessageKind::Text, ..Default::default() };
        let mut view = LentMessage::of(&full);
        view.refill(&plain);
        assert_eq!(Message::from(&view), plain);
        view.refill(&full);
        assert_eq!(Message::from(&view), full);
    }
}
