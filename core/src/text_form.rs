//! The closest text form of a message a target cannot hold natively: a
//! text that states what it was, so nothing is lost silently (the exporter
//! also counts it as downgraded in the report).

use crate::model::{Message, MessageKind};

/// `🧧 Red packet: 88.88 CNY — 恭喜发财 (received)`, `📊 Poll: …`, `📞 Video call, missed`.
pub fn as_text(m: &Message) -> String {
    if let Some(p) = &m.payment {
        let mut s = match p.kind.as_str() {
            "red_packet" => "🧧 Red packet".to_string(),
            "transfer" => "💸 Transfer".to_string(),
            other => format!("💸 Payment ({other})"),
        };
        if let Some(a) = &p.amount {
            s.push_str(&format!(": {a}"));
            if let Some(c) = &p.currency {
                s.push_str(&format!(" {c}"));
            }
        }
        if let Some(n) = &p.note {
            s.push_str(&format!(" — {n}"));
        }
        if let Some(st) = &p.status {
            s.push_str(&format!(" ({st})"));
        }
        return s;
    }
    if let Some(p) = &m.poll {
        let what = if p.correct.is_some() { "Quiz" } else { "Poll" };
        let mut s = format!("📊 {what}: {}", p.question);
        for (i, o) in p.options.iter().enumerate() {
            let right = if p.correct == Some(i as u32) { " ✓" } else { "" };
            s.push_str(&format!("\n• {}{right} ({})", o.text, counted(o.voters.len() as u64, "vote", "votes")));
        }
        return s;
    }
    if let Some(e) = &m.event {
        return event_text(e);
    }
    if let Some(c) = &m.call {
        let what = if c.video { "Video call" } else { "Voice call" };
        let mut s = format!("📞 {what}");
        if let Some(o) = &c.outcome {
            s.push_str(&format!(", {o}"));
        }
        if let Some(d) = c.duration_ms {
            s.push_str(&format!(", {} s", d / 1000));
        }
        return s;
    }
    m.text.clone().unwrap_or_else(|| format!("[{} message]", m.kind))
}

/// `📅 Event: Picnic` with its time (UTC), place, link and answers.
pub fn event_text(e: &crate::model::Event) -> String {
    let mut s = format!("📅 Event: {}", e.name);
    if e.canceled {
        s.push_str(" (cancelled)");
    }
    if let Some(d) = e.description.as_deref().filter(|d| !d.is_empty()) {
        s.push_str(&format!("\n{d}"));
    }
    let utc = |t: i64| {
        let full = crate::time::format_utc(t);
        full.get(..16).map(|minute| minute.replace('T', " ")).unwrap_or(full)
    };
    match (e.start_ms, e.end_ms) {
        (Some(a), Some(b)) => s.push_str(&format!("\n🕒 {} – {} UTC", utc(a), utc(b))),
        (Some(a), None) => s.push_str(&format!("\n🕒 {} UTC", utc(a))),
        _ => {}
    }
    let place: Vec<&str> = [&e.place, &e.address].into_iter().flatten().map(String::as_str).collect();
    if !place.is_empty() || e.latitude.is_some() {
        s.push_str(&format!("\n📍 {}", place.join(", ")));
        if let (Some(lat), Some(lon)) = (e.latitude, e.longitude) {
            s.push_str(&format!(" ({lat:.5}, {lon:.5})"));
        }
    }
    if let Some(l) = &e.link {
        s.push_str(&format!("\n🔗 {l}"));
    }
    // Counted in the order the answers first come (found by hash: a store may hold many kinds of code).
    let mut answers: Vec<(String, u64)> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in &e.responses {
        let i = *at.entry(r.answer.as_str()).or_insert_with(|| {
            answers.push((r.answer.replace('_', " "), 0));
            answers.len() - 1
        });
        answers[i].1 += 1;
    }
    if !answers.is_empty() {
        let parts: Vec<String> = answers.iter().map(|(a, n)| format!("{n} {a}")).collect();
        s.push_str(&format!("\nAnswers: {}", parts.join(", ")));
    }
    s
}

/// The marks a message carries beside its content (forwarded, edited,
/// view-once, pinned, kept), named for a report line when a target has no
/// place for them.
pub fn marks(m: &Message) -> Vec<&'static str> {
    let mut marks = Vec::new();
    if m.forwarded {
        marks.push("the forwarded mark");
    }
    if m.edited {
        marks.push("the edit mark");
    }
    if !m.earlier_texts.is_empty() {
        marks.push("the text before an edit");
    }
    if m.view_once {
        marks.push("view-once");
    }
    if m.pinned.is_some() {
        marks.push("the pin");
    }
    if m.kept.is_some() {
        marks.push("keep-in-chat");
    }
    marks
}

/// Why a voice note may not play in WhatsApp (which records Opus in Ogg):
/// another codec (WeChat's SILK, AMR) is kept as it is, and said so. No
/// well-kept Rust SILK codec exists to convert it with.
pub fn whatsapp_voice_loss(m: &Message) -> Option<String> {
    let mime = m.media.as_ref().filter(|x| !x.missing)?.mime.as_deref()?.to_ascii_lowercase();
    let plays = mime.starts_with("audio/ogg") || mime.starts_with("audio/opus");
    (m.kind == MessageKind::Voice && !plays)
        .then(|| format!("WhatsApp plays Opus voice notes; the {mime} file is kept as it is and may not play there"))
}

/// The report's reason for writing `kind` as text in a WhatsApp store.
pub fn whatsapp_reason(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Payment => "WhatsApp has no transfers or red packets; written as a text that states it",
        MessageKind::Poll => {
            "polls are not written to WhatsApp stores; written as a text with question, options and vote counts"
        }
        MessageKind::Event => {
            "events are not written to WhatsApp stores (the template predates them); written as a text with the \
             time, place and answers"
        }
        MessageKind::Call => "WhatsApp's message table holds only missed calls; written as a text that states the call",
        _ => "WhatsApp has no such message; written as a text that states it",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Payment, Poll, PollOption};

    #[test]
    fn states_what_it_was() {
        let m = Message {
            kind: MessageKind::Payment,
            payment: Some(Box::new(Payment {
                kind: "red_packet".into(),
                amount: Some("88.88".into()),
                currency: Some("CNY".into()),
                note: Some("恭喜发财".into()),
                status: Some("received".into()),
            })),
            ..Default::default()
        };
        assert_eq!(as_text(&m), "🧧 Red packet: 88.88 CNY — 恭喜发财 (received)");
        let p = Message {
            kind: MessageKind::Poll,
            poll: Some(Box::new(Poll {
                question: "Where?".into(),
                options: vec![
                    PollOption { text: "A".into(), voters: vec!["x".into()] },
                    PollOption { text: "B".into(), voters: vec![] },
                ],
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(as_text(&p), "📊 Poll: Where?\n• A (1 vote)\n• B (0 votes)");
        let mut quiz = p.clone();
        quiz.poll.as_mut().unwrap().correct = Some(1);
        assert_eq!(as_text(&quiz), "📊 Quiz: Where?\n• A (1 vote)\n• B ✓ (0 votes)");
        let e = Message {
            kind: MessageKind::Event,
            event: Some(Box::new(crate::model::Event {
                name: "Picnic".into(),
                start_ms: Some(1_700_000_000_000),
                place: Some("Tiergarten".into()),
                responses: vec![
                    crate::model::EventResponse { answer: "going".into(), ..Default::default() },
                    crate::model::EventResponse { answer: "not_going".into(), ..Default::default() },
                    crate::model::EventResponse { answer: "going".into(), ..Default::default() },
                ],
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(
            as_text(&e),
            "📅 Event: Picnic\n🕒 2023-11-14 22:13 UTC\n📍 Tiergarten\nAnswers: 2 going, 1 not going"
        );
    }
}

/// `n` and the word for what is counted, in the number it takes:
/// `counted(1, "person", "people")` is `1 person`, never `1 people`.
pub fn counted(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod counted_tests {
    #[test]
    fn one_is_singular_and_the_rest_plural() {
        assert_eq!(super::counted(1u64, "person", "people"), "1 person");
        assert_eq!(super::counted(0u64, "person", "people"), "0 people");
        assert_eq!(super::counted(2u32, "message", "messages"), "2 messages");
    }
}
