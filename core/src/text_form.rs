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
        let mut s = format!("📊 Poll: {}", p.question);
        for o in &p.options {
            s.push_str(&format!("\n• {} ({} votes)", o.text, o.voters.len()));
        }
        return s;
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

/// The marks a message carries beside its content (forwarded, edited,
/// view-once), named for a report line when a target has no place for them.
pub fn marks(m: &Message) -> Vec<&'static str> {
    let mut marks = Vec::new();
    if m.forwarded {
        marks.push("the forwarded mark");
    }
    if m.edited {
        marks.push("the edit mark");
    }
    if m.view_once {
        marks.push("view-once");
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
        MessageKind::Poll => "polls are not written to WhatsApp stores; written as a text with question and options",
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
                options: vec![PollOption { text: "A".into(), voters: vec!["x".into()] }],
                multiple: false,
            })),
            ..Default::default()
        };
        assert_eq!(as_text(&p), "📊 Poll: Where?\n• A (1 votes)");
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
