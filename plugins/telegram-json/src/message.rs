//! One `result.json` message lifted into the canonical model (formats doc
//! §4): its kind from its media fields or its service action, its time
//! from `date_unixtime` (or `date` in the zone given, for exports before
//! mid-2022), its people by id, its files checked inside the export's
//! folder. What the model has no field for goes into `tg.*` extras; what
//! the export left out is counted for the report.

use crate::people::{full_name, person_id, ChatPlan, Roster};
use crate::raw::{Raw, Run, Text};
use crate::source::Source;
use chatferry_core::media::{resolve_inside, Resolve};
use chatferry_core::text_form::counted;
use chatferry_core::zone::{Fit, Zone};
use chatferry_core::{
    Call, ContactCard, Location, Media, Message, MessageKind, Payment, Poll, PollOption, PollVote, Reaction, Report,
    SystemEvent,
};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// What was counted while lifting, for the report.
#[derive(Default)]
pub struct Tally {
    pub local_times: u64,
    pub zone: String,
    /// The exporter's UTC offset in 1970 (minutes), from an `edited` of
    /// epoch 0 written in local time (exports before 2020).
    pub epoch_offset: Option<i32>,
    pub dst: u64,
    pub no_time: u64,
    pub repeated: u64,
    pub files_left_out: u64,
    pub files_missing: u64,
    pub refused_paths: Vec<String>,
    pub unsupported: u64,
    pub empty: u64,
    pub custom_reactions: u64,
    /// Pictures of events (a new group photo, a suggested one), not carried.
    pub event_photos: u64,
    pub uncounted_reactions: u64,
    /// Service actions chatferry has no word for, by name.
    pub actions: BTreeMap<String, u64>,
}

impl Tally {
    pub fn notes(&self, r: &mut Report) {
        if self.local_times > 0 {
            let hint = match self.epoch_offset {
                Some(m) => format!(
                    " (its never-edited marks say the exporting computer was at UTC{}{:02}:{:02}, by 1970's rules)",
                    if m < 0 { '-' } else { '+' },
                    m.abs() / 60,
                    m.abs() % 60
                ),
                None => String::new(),
            };
            r.note(format!(
                "{} no UTC time (Telegram Desktop before 3.7.6, mid-2022, wrote local times only) and {} read \
                 in {}; if that is not where the export was made{hint}, convert again with --opt timezone=ZONE",
                counted(self.local_times, "message had", "messages had"),
                if self.local_times == 1 { "was" } else { "were" },
                self.zone
            ));
        }
        if self.dst > 0 {
            r.note(format!(
                "{} fell in an hour the clocks skipped or repeated (daylight saving) and may be an hour off",
                counted(self.dst, "local time", "local times")
            ));
        }
        if self.no_time > 0 {
            r.note(format!(
                "{} no time at all and {} given the time of the message before",
                counted(self.no_time, "message had", "messages had"),
                if self.no_time == 1 { "was" } else { "were" }
            ));
        }
        if self.repeated > 0 {
            r.note(format!(
                "{} twice in the export (a repeated run of ids) and {} read once",
                counted(self.repeated, "message is", "messages are"),
                if self.repeated == 1 { "was" } else { "were" }
            ));
        }
        if self.files_left_out > 0 {
            r.note(format!(
                "{} not in the export (\"File not included\", \"File exceeds maximum size\" or \"File \
                 unavailable\": Telegram Desktop exports only the media types and sizes ticked in its export \
                 settings); kept as missing media with their kind",
                counted(self.files_left_out, "file was", "files were")
            ));
        }
        if self.files_missing > 0 {
            r.note(format!(
                "{} named by result.json not found beside it; kept as missing media",
                counted(self.files_missing, "file", "files")
            ));
        }
        if !self.refused_paths.is_empty() {
            r.media.refused += self.refused_paths.len() as u64;
            r.note(format!(
                "{} outside the export's folder and {} not read (kept as missing media): {}",
                counted(self.refused_paths.len() as u64, "media path leads", "media paths lead"),
                if self.refused_paths.len() == 1 { "was" } else { "were" },
                self.refused_paths.iter().take(5).map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", ")
            ));
        }
        if self.unsupported > 0 {
            r.note(format!(
                "{} as \"unsupported\" (Telegram Desktop could not export them); kept as `other`",
                counted(self.unsupported, "message is marked", "messages are marked")
            ));
        }
        if self.empty > 0 {
            r.note(format!(
                "{} no content in the export (dice, stories and paid media are not exported); kept as `other`",
                counted(self.empty, "message has", "messages have")
            ));
        }
        if self.event_photos > 0 {
            r.note(format!(
                "{} of events (a new group photo, a suggested one) not carried (the event is; its file stays \
                 in the export, named in the message's tg.photo)",
                counted(self.event_photos, "picture", "pictures")
            ));
        }
        if self.custom_reactions > 0 {
            r.note(format!(
                "{} shown as ❔ (the export names its sticker file, not an emoji)",
                counted(
                    self.custom_reactions,
                    "custom-emoji or paid reaction is",
                    "custom-emoji or paid reactions are"
                )
            ));
        }
        if self.uncounted_reactions > 0 {
            r.note(format!(
                "{} the export does not say who reacted are kept as counts in the message's tg.reactions",
                counted(self.uncounted_reactions, "reaction whose sender", "reactions whose senders")
            ));
        }
        for (action, n) in &self.actions {
            r.note(format!(
                "Telegram service action {action:?}: {} kept as a system event of action `other` (tg.action)",
                counted(*n, "message", "messages")
            ));
        }
    }
}

/// Everything lifting needs, carried to the reading thread.
pub struct Lift {
    root: PathBuf,
    owner: Option<String>,
    plans: Vec<String>,
    by_name: HashMap<String, String>,
    zone: Zone,
    chat: String,
    highest: Option<i64>,
    /// Messages of the chat so far.
    ordinal: u64,
    /// The last message's time: order for a repeated hour, a time for one without.
    last_ms: Option<i64>,
    pub tally: Tally,
}

impl Lift {
    pub fn new(source: &Source, roster: &Roster, plans: Vec<ChatPlan>, owner: Option<String>, zone: Zone) -> Lift {
        let tally = Tally { zone: zone.describe(), ..Default::default() };
        Lift {
            root: source.root.clone(),
            owner,
            plans: plans.into_iter().map(|p| p.chat.id).collect(),
            by_name: roster.by_name.clone(),
            zone,
            chat: String::new(),
            highest: None,
            ordinal: 0,
            last_ms: None,
            tally,
        }
    }

    pub fn start_chat(&mut self, index: usize) {
        self.chat = self.plans.get(index).cloned().unwrap_or_else(|| format!("chat:{}", index + 1));
        self.highest = None;
        self.ordinal = 0;
        self.last_ms = None;
    }

    fn local_ms(&mut self, text: &str) -> Option<i64> {
        let t = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S").ok()?;
        let (ms, fit) = self.zone.to_utc(t, self.last_ms);
        if fit != Fit::Exact {
            self.tally.dst += 1;
        }
        Some(ms)
    }

    fn named(&self, name: &str) -> String {
        let n = name.trim();
        self.by_name.get(n).cloned().unwrap_or_else(|| format!("name:{n}"))
    }

    /// The message, or `None` when it repeats one already given.
    pub fn message(&mut self, mut raw: Raw) -> Option<Message> {
        if let Some(id) = raw.id {
            // Ids ascend within a chat (§2); one at or below the highest is
            // a repeated run, which real exports have held.
            if self.highest.is_some_and(|h| id <= h) {
                self.tally.repeated += 1;
                return None;
            }
            self.highest = Some(id);
        }
        let timestamp_ms = match (raw.date_unixtime, raw.date.as_deref()) {
            (Some(s), _) => Some(s.saturating_mul(1000)),
            (None, Some(d)) => {
                let ms = self.local_ms(d);
                if ms.is_some() {
                    self.tally.local_times += 1;
                }
                ms
            }
            _ => None,
        };
        let timestamp_ms = timestamp_ms.unwrap_or_else(|| {
            self.tally.no_time += 1;
            self.last_ms.unwrap_or(0)
        });
        self.last_ms = Some(timestamp_ms);
        self.ordinal += 1;
        let id = match raw.id {
            Some(n) => format!("{}:{n}", self.chat),
            // Reduced exports (chat-miner's) have no ids: the place in the chat.
            None => format!("{}:#{}", self.chat, self.ordinal),
        };
        let mut m = Message { id, chat: self.chat.clone(), timestamp_ms, ..Default::default() };
        let service = raw.kind.as_deref() == Some("service");
        m.sender = if service {
            person_id(raw.actor_id.as_ref(), raw.actor.as_deref())
        } else {
            person_id(raw.from_id.as_ref(), raw.from.as_deref())
        };
        m.from_me = m.sender.is_some() && m.sender == self.owner;
        m.reply_to = raw.reply_to_message_id.map(|r| format!("{}:{r}", self.chat));
        if let Some(f) = &raw.forwarded_from {
            m.forwarded = true;
            m.extras.insert("tg.fwd_from".into(), f.clone());
        }
        if let Some(s) = raw.edited_unixtime.filter(|s| *s > 0) {
            m.edited = true;
            m.edited_ms = Some(s * 1000);
        } else if let Some(epoch) =
            raw.edited.as_deref().filter(|e| e.starts_with("1970-01-01") || e.starts_with("1969-12-31"))
        {
            // Never edited: epoch 0 in the exporter's local time, which tells its offset.
            if self.tally.epoch_offset.is_none() {
                let t = chrono::NaiveDateTime::parse_from_str(epoch.trim(), "%Y-%m-%dT%H:%M:%S").ok();
                self.tally.epoch_offset = t.map(|t| (t.and_utc().timestamp() / 60) as i32);
            }
        } else if let Some(e) = raw.edited.as_deref() {
            // Before 2020 every message had `edited`, epoch 0 when never edited.
            m.edited = true;
            m.edited_ms = self.local_ms(e);
        }
        if raw.self_destruct.is_some() {
            m.view_once = true;
        }
        self.reactions(&raw, &mut m);
        let text = raw.text.take().unwrap_or_default();
        if text.formatted() {
            m.extras.insert("tg.entities".into(), entities_json(&text.runs));
        }
        for (k, v) in &raw.rest {
            m.extras.insert(format!("tg.{k}"), v.clone());
        }
        match raw.kind.as_deref() {
            Some("service") => self.service(raw, text, &mut m),
            Some("unsupported") => {
                self.tally.unsupported += 1;
                m.kind = MessageKind::Other;
                m.extras.insert("tg.unsupported".into(), "1".into());
            }
            _ => self.content(raw, text, &mut m),
        }
        Some(m)
    }

    fn reactions(&mut self, raw: &Raw, m: &mut Message) {
        if raw.reactions.is_empty() {
            return;
        }
        let mut counts = Vec::new();
        for r in &raw.reactions {
            let emoji = match (r.kind.as_deref(), &r.emoji) {
                (Some("emoji") | None, Some(e)) => e.clone(),
                _ => {
                    self.tally.custom_reactions += r.recent.len() as u64;
                    "❔".to_string()
                }
            };
            let count = r.count.unwrap_or(r.recent.len() as u64);
            self.tally.uncounted_reactions += count.saturating_sub(r.recent.len() as u64);
            counts.push(serde_json::json!({
                "type": r.kind, "emoji": r.emoji, "document_id": r.document_id, "count": count
            }));
            for who in &r.recent {
                let sender = person_id(who.from_id.as_ref(), who.from.as_deref());
                let from_me = sender.is_some() && sender == self.owner;
                let timestamp_ms = who.date.as_deref().and_then(|d| self.local_ms(d));
                m.reactions.push(Reaction { sender, from_me, emoji: emoji.clone(), timestamp_ms });
            }
        }
        m.extras.insert("tg.reactions".into(), serde_json::Value::Array(counts).to_string());
    }

    /// A file field: a path inside the export, or a placeholder sentence.
    fn media(&mut self, path: Option<&str>, m: &mut Message) -> Media {
        let mut media = Media::default();
        let Some(p) = path.map(str::trim).filter(|p| !p.is_empty()) else {
            media.missing = true;
            return media;
        };
        if p.starts_with('(') {
            // "(File not included. …)", "(File unavailable, …)" (§4.3).
            self.tally.files_left_out += 1;
            media.missing = true;
            m.extras.insert("tg.file_note".into(), p.to_string());
            return media;
        }
        media.file_name = p.rsplit('/').next().map(str::to_string);
        match resolve_inside(&self.root, p) {
            Ok(Resolve::Found(real)) => media.path = Some(real.to_string_lossy().into_owned()),
            Ok(Resolve::Missing(_)) => {
                self.tally.files_missing += 1;
                media.missing = true;
            }
            Err(_) => {
                // Kept to show a few; counted all the same.
                if self.tally.refused_paths.len() < 1000 {
                    self.tally.refused_paths.push(chatferry_core::error::shortened(p, 80));
                }
                media.missing = true;
                media.file_name = None;
            }
        }
        media
    }

    fn content(&mut self, raw: Raw, text: Text, m: &mut Message) {
        let body = (!text.plain.is_empty()).then_some(text.plain);
        if let Some(photo) = raw.photo.as_deref() {
            let mut media = self.media(Some(photo), m);
            media.mime = Some("image/jpeg".into());
            self.finish_media(&raw, media, body, MessageKind::Image, m);
            return;
        }
        if raw.file.is_some() || raw.media_type.is_some() {
            let kind = match raw.media_type.as_deref() {
                Some("sticker") => MessageKind::Sticker,
                Some("animation") => MessageKind::Gif,
                Some("video_file") => MessageKind::Video,
                Some("video_message") => {
                    m.extras.insert("tg.round".into(), "1".into());
                    MessageKind::Video
                }
                Some("voice_message") => MessageKind::Voice,
                Some("audio_file") => MessageKind::Audio,
                // A kind newer than chatferry: its file is a document, its name kept.
                Some(other) => {
                    m.extras.insert("tg.media_type".into(), other.to_string());
                    MessageKind::Document
                }
                None => MessageKind::Document,
            };
            let media = self.media(raw.file.as_deref(), m);
            if let Some(e) = &raw.sticker_emoji {
                m.extras.insert("tg.sticker_emoji".into(), e.clone());
            }
            if let Some(t) = &raw.title {
                m.extras.insert("tg.title".into(), t.clone());
            }
            self.finish_media(&raw, media, body, kind, m);
            return;
        }
        if let Some(geo) = &raw.location {
            if let (Some(latitude), Some(longitude)) = (geo.latitude, geo.longitude) {
                m.kind = MessageKind::Location;
                m.location = Some(Box::new(Location {
                    latitude,
                    longitude,
                    name: raw.place_name.clone(),
                    address: raw.address.clone(),
                    url: None,
                    live: raw.live_period.is_some(),
                }));
                m.text = body;
                return;
            }
        }
        if let Some(c) = &raw.contact {
            m.kind = MessageKind::Contact;
            let name = full_name(c.first_name.as_deref(), c.last_name.as_deref());
            let vcard = raw
                .contact_vcard
                .as_deref()
                .filter(|p| !p.starts_with('('))
                .and_then(|p| match resolve_inside(&self.root, p) {
                    Ok(Resolve::Found(real)) => {
                        chatferry_core::small_file::read_text(&real, "a shared contact's vCard", 1 << 20).ok()
                    }
                    _ => None,
                })
                .or_else(|| {
                    let phone = c.phone_number.as_deref()?;
                    Some(format!(
                        "BEGIN:VCARD\nVERSION:3.0\nFN:{}\nTEL:{}\nEND:VCARD\n",
                        name.clone().unwrap_or_default(),
                        phone.trim()
                    ))
                });
            m.contact_card = Some(Box::new(ContactCard { name, vcard }));
            m.text = body;
            return;
        }
        if let Some(p) = raw.poll {
            m.kind = MessageKind::Poll;
            let chosen: Vec<u32> =
                p.answers.iter().enumerate().filter(|(_, a)| a.chosen).map(|(i, _)| i as u32).collect();
            let counts: Vec<u64> = p.answers.iter().map(|a| a.voters.unwrap_or(0)).collect();
            m.extras.insert(
                "tg.poll".into(),
                serde_json::json!({"closed": p.closed, "total_voters": p.total_voters, "counts": counts}).to_string(),
            );
            // The export says how many chose each answer, and what the owner chose.
            let options = p
                .answers
                .into_iter()
                .map(|a| {
                    let voters = self.owner.iter().filter(|_| a.chosen).cloned().collect();
                    PollOption { text: a.text.plain, voters }
                })
                .collect();
            let votes = match chosen.is_empty() {
                true => Vec::new(),
                false => vec![PollVote {
                    voter: self.owner.clone(),
                    from_me: true,
                    options: chosen.clone(),
                    timestamp_ms: None,
                }],
            };
            m.poll = Some(Box::new(Poll { question: p.question.plain, options, votes, ..Default::default() }));
            return;
        }
        if let Some(t) = raw.todo {
            // A checklist: the model has no kind for it; its text says it.
            m.kind = MessageKind::Other;
            let mut lines = vec![format!("☑ {}", t.title.plain)];
            lines.extend(t.answers.iter().map(|a| format!("• {}", a.text.plain)));
            m.text = Some(lines.join("\n"));
            m.extras.insert("tg.todo".into(), "1".into());
            return;
        }
        if raw.rest.iter().any(|(k, _)| k == "invoice_information") {
            m.kind = MessageKind::Payment;
            m.payment = Some(Box::new(Payment { kind: "invoice".into(), note: body.clone(), ..Default::default() }));
            m.text = body;
            return;
        }
        // A bot's message can be its buttons alone: they are its content then.
        let body = body.or_else(|| buttons_text(&raw));
        match body {
            Some(t) => {
                m.text = Some(t);
                let link = raw.rest.iter().find(|(k, _)| k == "game_link");
                if let Some((_, url)) = link {
                    m.kind = MessageKind::Link;
                    m.link = Some(Box::new(chatferry_core::Link { url: url.clone(), ..Default::default() }));
                }
            }
            None => {
                self.tally.empty += 1;
                m.kind = MessageKind::Other;
            }
        }
    }

    fn finish_media(
        &mut self,
        raw: &Raw,
        mut media: Media,
        caption: Option<String>,
        kind: MessageKind,
        m: &mut Message,
    ) {
        m.kind = kind;
        if let Some(mime) = &raw.mime_type {
            media.mime = Some(mime.clone());
        } else if media.mime.is_none() {
            let ext = media.file_name.as_deref().and_then(|n| n.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
            media.mime = ext.and_then(|e| chatferry_core::media::mime_for_extension(&e)).map(str::to_string);
        }
        if let Some(name) = &raw.file_name {
            media.file_name = Some(name.clone());
        }
        media.width = raw.width;
        media.height = raw.height;
        media.duration_ms = raw.duration_seconds.map(|s| s * 1000);
        if media.missing {
            media.size = raw.size.filter(|s| *s > 0);
        }
        media.caption = caption;
        m.media = Some(media);
    }

    fn service(&mut self, raw: Raw, text: Text, m: &mut Message) {
        m.kind = MessageKind::System;
        let targets: Vec<String> = raw.members.iter().flatten().map(|n| self.named(n)).collect();
        let action = raw.action.clone().unwrap_or_default();
        let actor = m.sender.clone();
        let event = |action: &str, value: Option<String>, targets: Vec<String>| SystemEvent {
            action: action.into(),
            actor: actor.clone(),
            targets,
            value,
        };
        // An event's picture (a new group photo, a suggested one) has no
        // place beside an event in any store: named and counted, not lost unsaid.
        if let Some(p) = raw.photo.as_deref() {
            m.extras.insert("tg.photo".into(), p.to_string());
            self.tally.event_photos += 1;
        }
        let duration = raw.duration_seconds.or_else(|| rest_number(&raw, "duration")).map(|s| s * 1000);
        let ev = match action.as_str() {
            "create_group" | "create_channel" => event("group_created", raw.title.clone(), targets),
            "invite_members" => event("member_added", None, targets),
            "remove_members" => {
                // Removing oneself is leaving (§4.4).
                let own = targets.len() == 1 && m.sender.as_ref() == targets.first();
                event(if own { "member_left" } else { "member_removed" }, None, targets)
            }
            "join_group_by_link" | "join_group_by_request" => event("member_joined_by_link", None, vec![]),
            "edit_group_title" => event("title_changed", raw.title.clone(), vec![]),
            "edit_group_photo" | "delete_group_photo" => event("photo_changed", None, vec![]),
            "set_messages_ttl" => {
                event("disappearing_timer", rest_number(&raw, "period").map(|p| p.to_string()), vec![])
            }
            "phone_call" | "group_call" | "conference_call" => {
                m.kind = MessageKind::Call;
                let missed = raw.discard_reason.as_deref() == Some("missed")
                    || raw.rest.iter().any(|(k, v)| k == "is_missed" && v == "true");
                let outcome = match raw.discard_reason.as_deref() {
                    _ if missed => "missed",
                    Some("busy") => "unavailable",
                    _ if duration.is_some_and(|d| d > 0) => "answered",
                    Some(_) => "cancelled",
                    None => "answered",
                };
                m.call = Some(Box::new(Call {
                    video: false,
                    group: action != "phone_call",
                    duration_ms: duration,
                    outcome: Some(outcome.into()),
                }));
                m.text = (!text.plain.is_empty()).then_some(text.plain);
                return;
            }
            "send_payment" | "refunded_payment" => {
                m.kind = MessageKind::Payment;
                let currency = raw.rest.iter().find(|(k, _)| k == "currency").map(|(_, v)| v.clone());
                m.payment = Some(Box::new(Payment {
                    kind: if action == "send_payment" { "payment".into() } else { "refund".into() },
                    currency,
                    ..Default::default()
                }));
                return;
            }
            "pin_message" => {
                if let Some(id) = raw.message_id {
                    m.extras.insert("tg.pinned_id".into(), format!("{}:{id}", self.chat));
                }
                event("pinned_a_message", None, vec![])
            }
            "" if raw.information_text.is_some() => event("other", raw.information_text.clone(), vec![]),
            other => match worded(other) {
                Some(words) => event(words, raw.title.clone(), targets),
                None => {
                    *self.tally.actions.entry(other.to_string()).or_insert(0) += 1;
                    event("other", raw.title.clone().or_else(|| Some(other.replace('_', " "))), targets)
                }
            },
        };
        if !action.is_empty() {
            m.extras.insert("tg.action".into(), action);
        }
        // A custom service message is its sentence (Telegram's own words).
        m.text = (!text.plain.is_empty()).then_some(text.plain).or(raw.information_text);
        m.system = Some(Box::new(ev));
    }
}

/// Service actions said in words (model 1.2: what the actor did).
fn worded(action: &str) -> Option<&'static str> {
    Some(match action {
        "migrate_to_supergroup" | "migrate_from_group" => "upgraded_the_group_to_a_supergroup",
        "clear_history" => "cleared_the_history",
        "joined_telegram" => "joined_telegram",
        "boost_apply" => "boosted_the_group",
        "suggest_profile_photo" => "suggested_a_profile_photo",
        "invite_to_group_call" => "invited_to_a_voice_chat",
        "group_call_scheduled" => "scheduled_a_voice_chat",
        "edit_chat_theme" => "changed_the_chat_theme",
        "set_chat_wallpaper" | "set_same_chat_wallpaper" => "changed_the_chat_wallpaper",
        "topic_created" => "created_a_topic",
        "topic_edit" => "edited_a_topic",
        "take_screenshot" => "took_a_screenshot",
        "score_in_game" => "scored_in_a_game",
        _ => return None,
    })
}

/// A bot message's buttons as lines of text (`🔘 Open — https://…`).
fn buttons_text(raw: &Raw) -> Option<String> {
    let (_, json) = raw.rest.iter().find(|(k, _)| k == "inline_bot_buttons")?;
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(json).ok()?;
    let lines: Vec<String> = rows
        .iter()
        .flatten()
        .filter_map(|b| {
            let text = b.get("text")?.as_str()?;
            Some(match b.get("data").and_then(|d| d.as_str()).filter(|d| d.contains("://")) {
                Some(url) => format!("🔘 {text} — {url}"),
                None => format!("🔘 {text}"),
            })
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

fn rest_number(raw: &Raw, key: &str) -> Option<u64> {
    raw.rest.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse::<f64>().ok()).map(|v| v as u64)
}

/// The formatted runs as JSON (`[{"type": "bold", "text": "…"}, …]`),
/// plain runs included so the runs give the whole text in order.
fn entities_json(runs: &[Run]) -> String {
    let list: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            o.insert("type".into(), r.kind.clone().into());
            o.insert("text".into(), r.text.clone().into());
            for (k, v) in &r.more {
                o.insert(k.clone(), v.clone().into());
            }
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}
