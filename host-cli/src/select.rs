//! `--chat`, `--since`, `--until`: which part of a history to convert or
//! inspect. Applied here in the host, between any importer and any
//! exporter, so every adapter pair gets the same rules; what the filter
//! leaves out is counted in the report.
//!
//! Chats arrive before messages, so the chats a `--chat` names are known
//! (a set of ids, as few as the chats) before the first message is read.
//! Contacts are carried whole: a sender is never left without a name.

use crate::UsageError;
use anyhow::{bail, Result};
use chatferry_core::{Chat, ChatKind, Contact, Header, Importer, Message, Report};
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use std::collections::{HashMap, HashSet};

/// What the person asked for.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Chat ids or titles, as given.
    pub chats: Vec<String>,
    /// Milliseconds since 1970, inclusive.
    pub since_ms: Option<i64>,
    /// Milliseconds since 1970, inclusive.
    pub until_ms: Option<i64>,
    /// The options as given, for the report.
    described: Vec<String>,
}

impl Selection {
    /// `None` when nothing is selected (the whole history).
    pub fn parse(chats: &[String], since: Option<&str>, until: Option<&str>) -> Result<Option<Selection>> {
        if chats.is_empty() && since.is_none() && until.is_none() {
            return Ok(None);
        }
        let mut sel = Selection::default();
        for c in chats {
            let c = c.trim();
            if c.is_empty() {
                bail!(UsageError("--chat needs a chat id or title; `chatferry inspect INPUT` lists them".into()));
            }
            sel.chats.push(c.to_string());
            sel.described.push(format!("--chat {:?}", chatferry_core::error::shortened(c, 80)));
        }
        if let Some(s) = since {
            sel.since_ms = Some(parse_time(s, "--since", Bound::Start)?);
            sel.described.push(format!("--since {s}"));
        }
        if let Some(u) = until {
            sel.until_ms = Some(parse_time(u, "--until", Bound::End)?);
            sel.described.push(format!("--until {u}"));
        }
        if let (Some(a), Some(b)) = (sel.since_ms, sel.until_ms) {
            if a > b {
                bail!(UsageError(format!(
                    "--since {} is after --until {}: no message could be selected",
                    since.unwrap_or_default(),
                    until.unwrap_or_default()
                )));
            }
        }
        Ok(Some(sel))
    }

    fn in_time(&self, t: i64) -> bool {
        self.since_ms.map_or(true, |s| s <= t) && self.until_ms.map_or(true, |u| t <= u)
    }

    /// `--chat X` names a chat by its id, or by its title (case and
    /// surrounding spaces aside); a one-to-one chat without a title, by the
    /// name or nickname of the person (`people`: their names by id); a
    /// person read under their phone number, by their hidden-number id too.
    fn names(&self, wanted: &str, chat: &Chat, people: &HashMap<String, Vec<String>>) -> bool {
        let same = |t: &str| t.trim().to_lowercase() == wanted.to_lowercase();
        chat.id == wanted
            || chat.extras.get("wa.lid").is_some_and(|lid| lid == wanted)
            || chat.title.as_deref().is_some_and(same)
            || (chat.kind == ChatKind::Direct
                && chat.title.is_none()
                && people.get(&chat.id).is_some_and(|names| names.iter().any(|n| same(n))))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Bound {
    /// A date alone means its first moment.
    Start,
    /// A date alone means its last moment (`--until 2024-03-31` keeps that day).
    End,
}

/// `2024-03-31`, `2024-03-31T18:30`, `2024-03-31 18:30:05` (in this
/// machine's time zone, `TZ`), or with an offset (`…T18:30:00+02:00`, `…Z`).
fn parse_time(raw: &str, option: &str, bound: Bound) -> Result<i64> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    // With an offset but without seconds, or with a space for the T.
    let zoned = match s.strip_suffix(['Z', 'z']) {
        Some(rest) => format!("{rest}+00:00"),
        None => s.to_string(),
    };
    let with_offset = ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%d %H:%M%:z", "%Y-%m-%dT%H:%M:%S%:z", "%Y-%m-%d %H:%M:%S%:z"];
    if let Some(t) = with_offset.iter().find_map(|f| DateTime::parse_from_str(&zoned, f).ok()) {
        return Ok(t.timestamp_millis());
    }
    let local = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        match bound {
            Bound::Start => d.and_time(NaiveTime::MIN),
            Bound::End => d.and_hms_milli_opt(23, 59, 59, 999).expect("a valid time"),
        }
    } else if let Some(t) = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    {
        t
    } else {
        bail!(UsageError(format!(
            "{option} {raw:?} is not a date: give YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (this machine's time zone) \
             or with an offset, e.g. 2024-03-31T18:30:00+02:00"
        )));
    };
    match Local.from_local_datetime(&local).earliest() {
        Some(t) => Ok(t.timestamp_millis()),
        None => bail!(UsageError(format!(
            "{option} {raw:?} does not exist in this machine's time zone (the clocks skipped it); give an offset, \
             e.g. {s}+01:00"
        ))),
    }
}

/// `inner` as it is, or behind the selection (the wrapper lives in `slot`).
pub fn apply<'a>(
    inner: &'a mut dyn Importer,
    selection: Option<Selection>,
    slot: &'a mut Option<Selected<'a>>,
) -> &'a mut dyn Importer {
    match selection {
        Some(sel) => slot.insert(Selected::new(inner, sel)),
        None => inner,
    }
}

/// An importer that yields only the selected chats and messages.
pub struct Selected<'a> {
    inner: &'a mut dyn Importer,
    sel: Selection,
    /// Ids of the chats kept, once a `--chat` is given.
    kept: Option<HashSet<String>>,
    /// Which `--chat` values matched a chat.
    matched: Vec<bool>,
    /// People's names by id, to find a one-to-one chat by its person (only
    /// with `--chat`; as many as the contacts).
    people: HashMap<String, Vec<String>>,
    chats_done: bool,
    skipped_chats: u64,
    skipped_messages: u64,
}

impl<'a> Selected<'a> {
    pub fn new(inner: &'a mut dyn Importer, sel: Selection) -> Selected<'a> {
        let kept = (!sel.chats.is_empty()).then(HashSet::new);
        let matched = vec![false; sel.chats.len()];
        Selected {
            inner,
            sel,
            kept,
            matched,
            people: HashMap::new(),
            chats_done: false,
            skipped_chats: 0,
            skipped_messages: 0,
        }
    }

    /// Every `--chat` must name a chat: a typo would otherwise convert nothing.
    fn check_matched(&self) -> chatferry_core::Result<()> {
        let unmatched: Vec<String> = self
            .sel
            .chats
            .iter()
            .zip(&self.matched)
            .filter(|(_, m)| !**m)
            .map(|(c, _)| format!("{:?}", chatferry_core::error::shortened(c, 80)))
            .collect();
        if unmatched.is_empty() {
            return Ok(());
        }
        Err(chatferry_core::Error::usage(format!(
            "--chat {} names no chat of the input (by id or title); `chatferry inspect INPUT` lists them",
            unmatched.join(", --chat ")
        )))
    }
}

impl Importer for Selected<'_> {
    fn header(&mut self) -> chatferry_core::Result<Header> {
        let mut h = self.inner.header()?;
        // The total counts messages the filter will leave out.
        h.estimated_messages = None;
        Ok(h)
    }
    fn next_contacts(&mut self, max: usize) -> chatferry_core::Result<Vec<Contact>> {
        let batch = self.inner.next_contacts(max)?;
        if self.kept.is_some() {
            for c in &batch {
                let names: Vec<String> =
                    [&c.name, &c.nickname, &c.alias, &c.phone].into_iter().flatten().cloned().collect();
                if !names.is_empty() {
                    self.people.insert(c.id.clone(), names);
                }
            }
        }
        Ok(batch)
    }
    fn next_chats(&mut self, max: usize) -> chatferry_core::Result<Vec<Chat>> {
        loop {
            let batch = self.inner.next_chats(max)?;
            if batch.is_empty() {
                self.chats_done = true;
                self.check_matched()?;
                return Ok(batch);
            }
            let Some(kept) = self.kept.as_mut() else { return Ok(batch) };
            let before = batch.len();
            let chosen: Vec<Chat> = batch
                .into_iter()
                .filter(|chat| {
                    let mut hit = false;
                    for (i, wanted) in self.sel.chats.iter().enumerate() {
                        if self.sel.names(wanted, chat, &self.people) {
                            self.matched[i] = true;
                            hit = true;
                        }
                    }
                    if hit {
                        kept.insert(chat.id.clone());
                    }
                    hit
                })
                .collect();
            self.skipped_chats += (before - chosen.len()) as u64;
            if !chosen.is_empty() {
                return Ok(chosen);
            }
        }
    }
    fn next_messages(&mut self, max: usize) -> chatferry_core::Result<Vec<Message>> {
        if !self.chats_done {
            // The pipeline always reads chats first; an importer used
            // otherwise still gets every `--chat` checked.
            while !self.next_chats(chatferry_core::BATCH_SIZE)?.is_empty() {}
        }
        loop {
            let batch = self.inner.next_messages(max)?;
            if batch.is_empty() {
                return Ok(batch);
            }
            let before = batch.len();
            let chosen: Vec<Message> = batch
                .into_iter()
                .filter(|m| {
                    self.kept.as_ref().map_or(true, |k| k.contains(&m.chat)) && self.sel.in_time(m.timestamp_ms)
                })
                .collect();
            self.skipped_messages += (before - chosen.len()) as u64;
            if !chosen.is_empty() {
                return Ok(chosen);
            }
        }
    }
    fn finish(&mut self) -> chatferry_core::Result<Report> {
        let mut report = self.inner.finish()?;
        report.note(format!(
            "selected with {}: {} messages and {} chats left out",
            self.sel.described.join(" "),
            self.skipped_messages,
            self.skipped_chats
        ));
        report.skipped_by_selection += self.skipped_messages;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_alone_cover_their_whole_day() {
        std::env::set_var("TZ", "UTC");
        let s = Selection::parse(&[], Some("2024-03-31"), Some("2024-03-31")).unwrap().unwrap();
        assert_eq!(s.since_ms, Some(1_711_843_200_000));
        assert_eq!(s.until_ms, Some(1_711_843_200_000 + 86_400_000 - 1));
        let s = Selection::parse(&[], Some("2024-03-31T18:30:00+02:00"), Some("2024-03-31 18:30")).unwrap().unwrap();
        assert_eq!(s.since_ms, Some(1_711_902_600_000));
        assert_eq!(s.until_ms, Some(1_711_909_800_000));
        for same in ["2024-03-31T16:30Z", "2024-03-31 18:30+02:00", "2024-03-31T16:30:00z"] {
            let s = Selection::parse(&[], Some(same), None).unwrap().unwrap();
            assert_eq!(s.since_ms, Some(1_711_902_600_000), "{same}");
        }
        assert!(Selection::parse(&[], None, None).unwrap().is_none());
    }

    #[test]
    fn what_is_not_a_date_or_range_is_a_usage_error() {
        for (since, until) in
            [(Some("31.03.2024"), None), (None, Some("yesterday")), (Some("2024-04-01"), Some("2024-03-01"))]
        {
            let err = Selection::parse(&[], since, until).unwrap_err();
            assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
        }
        assert!(Selection::parse(&[" ".into()], None, None).is_err());
    }

    #[test]
    fn a_chat_is_named_by_id_or_title() {
        let sel = Selection::parse(&["Family".into()], None, None).unwrap().unwrap();
        let chat = |id: &str, title: Option<&str>| Chat {
            id: id.into(),
            kind: chatferry_core::ChatKind::Group,
            title: title.map(Into::into),
            participants: vec![],
            created_ms: None,
            archived: false,
            extras: Default::default(),
        };
        let none = HashMap::new();
        assert!(sel.names("Family", &chat("x@g.us", Some(" family ")), &none));
        assert!(sel.names("x@g.us", &chat("x@g.us", None), &none));
        assert!(!sel.names("Family", &chat("y@g.us", Some("Family and friends")), &none));
        let people = HashMap::from([("49151@s.whatsapp.net".to_string(), vec!["Family".to_string()])]);
        let mut direct = chat("49151@s.whatsapp.net", None);
        direct.kind = chatferry_core::ChatKind::Direct;
        assert!(sel.names("Family", &direct, &people), "a one-to-one chat by its person's name");
    }
}
