//! What the model gained after the ABI's record layouts were frozen (model
//! 1.1: a quiz's answer, each vote with its time, events, the text before
//! an edit; model 1.2: pins and keep-in-chat) crosses the
//! boundary in the message's extras, as JSON under keys of chatferry's own,
//! and is taken back out on the other side: within one ABI major the
//! layouts stay as they are (DESIGN.md), and a plugin of ABI 2.0 keeps the
//! keys as extras it does not know.

use crate::model::{Event, Message, Pin, PollVote};
use serde::{Deserialize, Serialize};

/// The poll's model-1.1 fields.
pub const POLL_KEY: &str = "cf.poll";
/// The whole event.
pub const EVENT_KEY: &str = "cf.event";
/// The texts before an edit.
pub const EARLIER_KEY: &str = "cf.earlier_texts";
/// Who pinned the message.
pub const PINNED_KEY: &str = "cf.pinned";
/// Who kept the disappearing message.
pub const KEPT_KEY: &str = "cf.kept";

#[derive(Serialize, Deserialize, Default)]
struct PollMore {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correct: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    votes: Vec<PollVote>,
}

/// Whether `m` has anything the records cannot hold.
pub fn needs_packing(m: &Message) -> bool {
    m.event.is_some()
        || !m.earlier_texts.is_empty()
        || m.pinned.is_some()
        || m.kept.is_some()
        || m.poll.as_ref().is_some_and(|p| p.correct.is_some() || !p.votes.is_empty())
}

/// Moves what the records cannot hold into `m`'s extras.
pub fn pack(m: &mut Message) {
    if !m.earlier_texts.is_empty() {
        let texts = std::mem::take(&mut m.earlier_texts);
        m.extras.insert(EARLIER_KEY.into(), serde_json::to_string(&texts).expect("texts serialize"));
    }
    if let Some(e) = m.event.take() {
        m.extras.insert(EVENT_KEY.into(), serde_json::to_string(&e).expect("an event serializes"));
    }
    for (key, pin) in [(PINNED_KEY, m.pinned.take()), (KEPT_KEY, m.kept.take())] {
        if let Some(p) = pin {
            m.extras.insert(key.into(), serde_json::to_string(&p).expect("a pin serializes"));
        }
    }
    if let Some(p) = m.poll.as_mut().filter(|p| p.correct.is_some() || !p.votes.is_empty()) {
        let more = PollMore { correct: p.correct.take(), votes: std::mem::take(&mut p.votes) };
        m.extras.insert(POLL_KEY.into(), serde_json::to_string(&more).expect("votes serialize"));
    }
}

/// Takes the packed fields back out of `m`'s extras. A value that does
/// not read (a plugin wrote the key itself) stays an extra.
pub fn unpack(m: &mut Message) {
    if let Some(json) = m.extras.get(EARLIER_KEY) {
        if let Ok(texts) = serde_json::from_str::<Vec<String>>(json) {
            m.earlier_texts = texts;
            m.extras.remove(EARLIER_KEY);
        }
    }
    if let Some(json) = m.extras.get(EVENT_KEY) {
        if let Ok(e) = serde_json::from_str::<Event>(json) {
            m.event = Some(Box::new(e));
            m.extras.remove(EVENT_KEY);
        }
    }
    for key in [PINNED_KEY, KEPT_KEY] {
        if let Some(pin) = m.extras.get(key).and_then(|json| serde_json::from_str::<Pin>(json).ok()) {
            *if key == PINNED_KEY { &mut m.pinned } else { &mut m.kept } = Some(Box::new(pin));
            m.extras.remove(key);
        }
    }
    if let (Some(json), Some(p)) = (m.extras.get(POLL_KEY), m.poll.as_mut()) {
        if let Ok(more) = serde_json::from_str::<PollMore>(json) {
            p.correct = more.correct;
            p.votes = more.votes;
            m.extras.remove(POLL_KEY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventResponse, Poll, PollOption};

    #[test]
    fn packed_fields_come_back_whole_and_others_are_untouched() {
        let mut m = Message {
            id: "1".into(),
            poll: Some(Box::new(Poll {
                question: "Lunch?".into(),
                options: vec![PollOption { text: "yes".into(), voters: vec!["a".into()] }],
                correct: Some(0),
                votes: vec![PollVote {
                    voter: Some("a".into()),
                    options: vec![0],
                    timestamp_ms: Some(5),
                    ..Default::default()
                }],
                ..Default::default()
            })),
            event: Some(Box::new(Event {
                name: "Picnic 🧺".into(),
                start_ms: Some(1),
                latitude: Some(52.5),
                responses: vec![EventResponse {
                    person: Some("b".into()),
                    answer: "going".into(),
                    ..Default::default()
                }],
                ..Default::default()
            })),
            earlier_texts: vec!["befor the fix".into()],
            pinned: Some(Box::new(Pin {
                sender: Some("b".into()),
                timestamp_ms: Some(9),
                until_ms: Some(99),
                ..Default::default()
            })),
            kept: Some(Box::new(Pin { from_me: true, ..Default::default() })),
            ..Default::default()
        };
        let want = m.clone();
        assert!(needs_packing(&m));
        pack(&mut m);
        assert!(m.event.is_none() && m.pinned.is_none() && m.kept.is_none());
        assert!(m.poll.as_ref().unwrap().votes.is_empty() && m.extras.len() == 5);
        unpack(&mut m);
        assert_eq!(m, want);
        // A key a plugin wrote itself, not in this form, is left as it is.
        let mut odd = Message::default();
        odd.extras.insert(EVENT_KEY.into(), "not json".into());
        unpack(&mut odd);
        assert!(odd.event.is_none() && odd.extras.get(EVENT_KEY).is_some());
    }
}
