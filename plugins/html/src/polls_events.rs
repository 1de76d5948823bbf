//! Polls (with who chose what; a quiz's right answer) and event cards
//! (time, place, link, each person's answer) in a page.

use crate::render::{linkable, time_tag, HtmlExporter};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::fmt::Write as _;

impl HtmlExporter {
    /// A poll with each option's count and who chose it; a quiz marks its right answer.
    pub(crate) fn poll_html(&self, h: &mut String, p: &chatferry_core::Poll) {
        let what = if p.correct.is_some() { "Quiz" } else { "Poll" };
        let _ = write!(h, r#"<div class="poll" dir="auto"><b>📊 {what}: {}</b><ul>"#, text(&p.question));
        for (i, o) in p.options.iter().enumerate() {
            let right = if p.correct == Some(i as u32) { r#" <span title="the right answer">✓</span>"# } else { "" };
            let votes = chatferry_core::text_form::counted(o.voters.len() as u64, "vote", "votes");
            let _ = write!(h, "<li>{}{right} ({votes})", text(&o.text));
            if !o.voters.is_empty() {
                let who: Vec<&str> = o.voters.iter().map(|v| self.name_of(v)).collect();
                let _ = write!(h, r#"<br><small class="voters">{}</small>"#, text(&who.join(", ")));
            }
            h.push_str("</li>");
        }
        h.push_str("</ul>");
        if p.multiple {
            h.push_str("<small>several answers allowed</small>");
        }
        h.push_str("</div>");
    }

    /// An event card: name, time, place, link, and each person's answer.
    pub(crate) fn event_html(&self, h: &mut String, e: &chatferry_core::Event) {
        let canceled = if e.canceled { " <em>(cancelled)</em>" } else { "" };
        let _ = write!(h, r#"<div class="poll event" dir="auto"><b>📅 {}</b>{canceled}"#, text(&e.name));
        if let Some(d) = &e.description {
            let _ = write!(h, "<div>{}</div>", text(d));
        }
        match (e.start_ms, e.end_ms) {
            (Some(a), Some(b)) => {
                let _ = write!(h, "<div>🕒 {} – {}</div>", time_tag(a), time_tag(b));
            }
            (Some(a), None) => {
                let _ = write!(h, "<div>🕒 {}</div>", time_tag(a));
            }
            _ => {}
        }
        let place: Vec<&str> = [&e.place, &e.address].into_iter().flatten().map(String::as_str).collect();
        if !place.is_empty() {
            let _ = write!(h, "<div>📍 {}</div>", text(&place.join(", ")));
        }
        if let Some(l) = &e.link {
            if linkable(l) {
                let _ = write!(h, r#"<div>🔗 <a href="{}" rel="noreferrer noopener">{}</a></div>"#, attr(l), text(l));
            } else {
                let _ = write!(h, "<div>🔗 <code>{}</code></div>", text(l));
            }
        }
        if !e.responses.is_empty() {
            h.push_str(r#"<ul class="answers">"#);
            for r in &e.responses {
                let who = match (&r.person, r.from_me) {
                    (Some(p), _) => self.name_of(p).to_string(),
                    (None, true) => "You".to_string(),
                    (None, false) => "Someone".to_string(),
                };
                let guests = r.extra_guests.map(|g| format!(" +{g}")).unwrap_or_default();
                let _ = write!(h, "<li>{}: {}{guests}</li>", text(&who), text(&r.answer.replace('_', " ")));
            }
            h.push_str("</ul>");
        }
        h.push_str("</div>");
    }
}
