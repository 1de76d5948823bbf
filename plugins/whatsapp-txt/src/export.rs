//! Writing exports, as WhatsApp writes them: per chat an iPhone
//! `WhatsApp Chat - TITLE.zip` (`_chat.txt` and its files; the default) or
//! an Android folder `WhatsApp Chat with TITLE/` (the .txt and its files).
//! Telegram's importer reads either (formats doc §7): the first lines are
//! headers, and every attachment is named exactly as its line says.
//!
//! Messages arrive in any chat order: each batch is appended to its chat's
//! part file (opened and closed per batch, so thousands of chats need no
//! thousands of open files), and the parts become zips or folders at the end.

use chatferry_core::media::extension_for;
use chatferry_core::zone::Zone;
use chatferry_core::{
    text_form, Chat, ChatKind, Contact, Error, Exporter, Header, Message, MessageKind, Options, Report, Result,
};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Ios,
    Android,
}

struct ChatOut {
    title: String,
    /// The chat's number among the parts (`.parts/N.txt`, `.parts/N/`).
    index: usize,
    kind: ChatKind,
    messages: u64,
    media: u64,
    /// Documents' own names given so far (a name is never given twice in one chat).
    names: std::collections::HashSet<String>,
}

pub struct TxtExporter {
    output: PathBuf,
    parts: PathBuf,
    style: Style,
    zone: Zone,
    me: String,
    names: HashMap<String, String>,
    chats: HashMap<String, ChatOut>,
    report: Report,
    reactions: u64,
    /// Messages whose text before an edit an export cannot show.
    earlier_texts: u64,
    /// Pins and keep-in-chat marks, which an export does not show.
    pins: u64,
    escaped_lines: u64,
    colons: std::cell::Cell<u64>,
    /// Times in an hour the clocks repeat: a reader cannot tell which pass.
    repeated: std::cell::Cell<u64>,
    copies: chatferry_core::media::Copies,
}

impl TxtExporter {
    pub fn create(output: &Path, options: &Options) -> Result<TxtExporter> {
        let style = match options.get("style").map(str::trim) {
            None | Some("ios") | Some("iphone") => Style::Ios,
            Some("android") => Style::Android,
            Some(o) => {
                return Err(Error::usage(format!("style {o:?}: give ios (zips, the default) or android (folders)")))
            }
        };
        let zone = Zone::from_option(options.get("timezone"))?;
        let parts = output.join(".parts");
        std::fs::create_dir_all(&parts).map_err(|e| Error::io(&parts, "create", e))?;
        let mut report = Report::new();
        report.note(format!("times written in {} (--opt timezone=Area/City to choose)", zone.describe()));
        Ok(TxtExporter {
            output: output.to_path_buf(),
            parts,
            style,
            zone,
            me: options.get("me").unwrap_or("").to_string(),
            names: HashMap::new(),
            chats: HashMap::new(),
            report,
            reactions: 0,
            earlier_texts: 0,
            pins: 0,
            escaped_lines: 0,
            colons: Default::default(),
            repeated: Default::default(),
            copies: Default::default(),
        })
    }

    fn name_of(&self, id: &str) -> String {
        let name = self.names.get(id).cloned().unwrap_or_else(|| {
            id.strip_suffix("@s.whatsapp.net")
                .filter(|d| !d.starts_with('0'))
                .map(|d| format!("+{d}"))
                .unwrap_or(id.to_string())
        });
        // `:` ends the author in every reader: a name's own colon becomes
        // the look-alike U+A789 (counted).
        if name.contains(':') {
            self.colons.set(self.colons.get() + 1);
        }
        name.replace(':', "\u{a789}").replace('\n', " ")
    }

    fn stamp(&self, ms: i64) -> String {
        let t = self.zone.local(ms).unwrap_or_default();
        if self.zone.to_utc(t, None).1 != chatferry_core::zone::Fit::Exact {
            self.repeated.set(self.repeated.get() + 1);
        }
        match self.style {
            Style::Ios => t.format("[%d/%m/%Y, %H:%M:%S]").to_string(),
            Style::Android => t.format("%d/%m/%Y, %H:%M").to_string(),
        }
    }

    /// A continuation line that our readers (and others) would take for a
    /// header gets a word joiner in front, and is counted.
    fn guard(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                if crate::header::parse(line).is_some() {
                    out.push('\u{2060}');
                    self.escaped_lines += 1;
                }
            }
            out.push_str(line);
        }
        out
    }

    /// The file name WhatsApp would give `m`'s media in this chat.
    fn media_name(style: Style, chat: &mut ChatOut, m: &Message, t: chrono::NaiveDateTime) -> String {
        let media = m.media.as_ref().expect("media");
        let mut ext = extension_for(media.mime.as_deref(), media.file_name.as_deref());
        if m.kind == MessageKind::Voice && matches!(ext.as_str(), "ogg" | "oga") {
            ext = "opus".into(); // WhatsApp's name for its Ogg Opus voice notes
        }
        let n = chat.media + 1;
        // A name from an iPhone export already has its number: not twice.
        let original = media
            .file_name
            .as_deref()
            .map(|n| match n.split_once('-') {
                Some((num, rest)) if num.len() == 8 && num.bytes().all(|b| b.is_ascii_digit()) => rest,
                _ => n,
            })
            .map(clean_file_name)
            .filter(|n| !n.is_empty());
        let keeps_original = matches!(m.kind, MessageKind::Document | MessageKind::Contact) && original.is_some();
        let base = match (style, m.kind) {
            (_, MessageKind::Document) | (_, MessageKind::Contact) if original.is_some() => match style {
                Style::Android => original.expect("checked"),
                Style::Ios => format!("{n:08}-{}", original.expect("checked")),
            },
            (Style::Android, k) => {
                let tag = match k {
                    MessageKind::Image => "IMG",
                    MessageKind::Video | MessageKind::Gif => "VID",
                    MessageKind::Voice => "PTT",
                    MessageKind::Audio => "AUD",
                    MessageKind::Sticker => "STK",
                    _ => "DOC",
                };
                format!("{tag}-{}-WA{:04}.{ext}", t.format("%Y%m%d"), n - 1)
            }
            (Style::Ios, k) => {
                let tag = match k {
                    MessageKind::Image => "PHOTO",
                    MessageKind::Video => "VIDEO",
                    MessageKind::Gif => "GIF",
                    MessageKind::Voice | MessageKind::Audio => "AUDIO",
                    MessageKind::Sticker => "STICKER",
                    _ => "FILE",
                };
                format!("{n:08}-{tag}-{}.{ext}", t.format("%Y-%m-%d-%H-%M-%S"))
            }
        };
        // Generated names hold the chat's running number and never repeat;
        // only a document's own name can, and then gets that number too (one
        // try, and only document names are remembered).

        let mut name = base.clone();
        if keeps_original && !chat.names.insert(name.clone()) {
            name = match base.rsplit_once('.') {
                Some((stem, e)) => format!("{stem} ({n}).{e}"),
                None => format!("{base} ({n})"),
            };
        }
        chat.media += 1;
        name
    }

    /// `m` as the export's lines (without the final line end).
    fn render(&mut self, m: &Message, chat_id: &str) -> Result<String> {
        let stamp = self.stamp(m.timestamp_ms);
        // The chat's title (a file name already, so without colons); only
        // system lines and messages without a sender need it.
        let title = |me: &Self| me.chats.get(chat_id).map(|c| c.title.clone()).unwrap_or_default();
        if m.kind == MessageKind::System {
            self.report.native(m.kind);
            let said = self.system_text(m);
            let text = self.guard(&said);
            return Ok(match self.style {
                Style::Android => format!("{stamp} - {text}"),
                Style::Ios => format!("{stamp} {}: \u{200e}{text}", title(self)),
            });
        }
        let author = if m.from_me {
            if self.me.is_empty() {
                "You".to_string()
            } else {
                self.me.clone()
            }
        } else {
            m.sender.as_deref().map(|s| self.name_of(s)).unwrap_or_else(|| title(self))
        };
        let head = match self.style {
            Style::Android => format!("{stamp} - {author}: "),
            Style::Ios => format!("{stamp} {author}: "),
        };
        self.reactions += m.reactions.len() as u64;
        if m.reply_to.is_some() || m.quoted_text.is_some() {
            self.report.note(format!("message {}: the text format has no replies; written without its quote", m.id));
        }
        let body = match m.kind {
            MessageKind::Deleted => {
                self.report.native(m.kind);
                if m.from_me { "You deleted this message" } else { "This message was deleted" }.to_string()
            }
            MessageKind::Location if m.location.is_some() => {
                let l = m.location.as_ref().expect("checked");
                self.report.native(m.kind);
                let mut s = format!("location: https://maps.google.com/?q={},{}", l.latitude, l.longitude);
                // The place's name on the next line (a reader keeps it with the location).
                if let Some(n) = l.name.as_deref().or(l.address.as_deref()) {
                    s = format!("{s}\n{}", self.guard(n));
                }
                s
            }
            _ if m.media.is_some() => self.render_media(m, chat_id)?,
            MessageKind::Contact if m.contact_card.as_ref().is_some_and(|c| c.vcard.is_some()) => {
                self.render_card(m, chat_id)?.expect("a card")
            }
            MessageKind::Text => {
                self.report.native(m.kind);
                self.guard(m.text.as_deref().unwrap_or(""))
            }
            MessageKind::Poll if m.poll.is_some() => self.poll_text(m.poll.as_deref().expect("checked")),
            MessageKind::Other if m.extras.get("whatsapp_txt.body").is_some_and(|b| b == "null") => {
                self.report.native(m.kind);
                "null".to_string()
            }
            kind => {
                self.report
                    .downgraded(kind, "the text format holds only texts and files; written as a text that states it");
                self.guard(&text_form::as_text(m))
            }
        };
        let edited = if m.edited { " <This message was edited>" } else { "" };
        if !m.earlier_texts.is_empty() {
            self.earlier_texts += 1;
        }
        self.pins += m.pinned.is_some() as u64 + m.kept.is_some() as u64;
        Ok(format!("{head}{body}{edited}"))
    }

    /// A poll as WhatsApp's own export writes one (`POLL:`, the question,
    /// `OPTION: … (N votes)` lines) [S: exports seen in parsers]. It shows
    /// counts only: who voted, and a quiz's right answer, are said in the report.
    fn poll_text(&mut self, p: &chatferry_core::Poll) -> String {
        let mut s = format!("POLL:\n{}", self.guard(&p.question));
        for o in &p.options {
            let votes = text_form::counted(o.voters.len() as u64, "vote", "votes");
            s.push_str(&format!("\nOPTION: {} ({votes})", self.guard(&o.text)));
        }
        if p.correct.is_some() || p.options.iter().any(|o| !o.voters.is_empty()) {
            self.report.downgraded(
                chatferry_core::MessageKind::Poll,
                "an export shows a poll's vote counts, not who voted or a quiz's right answer",
            );
        } else {
            self.report.native(chatferry_core::MessageKind::Poll);
        }
        s
    }

    /// A system event in the words an English export uses.
    fn system_text(&self, m: &Message) -> String {
        if let Some(t) = m.text.as_deref().filter(|t| !t.trim().is_empty()) {
            return t.to_string();
        }
        let Some(e) = &m.system else { return "[system message]".into() };
        let actor = e.actor.as_deref().map(|a| self.name_of(a)).unwrap_or_else(|| "Someone".into());
        let targets: Vec<String> = e.targets.iter().map(|t| self.name_of(t)).collect();
        let targets = targets.join(", ");
        let value = e.value.clone().unwrap_or_default();
        match e.action.as_str() {
            "group_created" => format!("{actor} created group \"{value}\""),
            "member_added" => format!("{actor} added {targets}"),
            "member_removed" => format!("{actor} removed {targets}"),
            "member_left" => format!("{actor} left"),
            "member_joined_by_link" => format!("{actor} joined using this group's invite link"),
            "title_changed" => format!("{actor} changed the subject to \"{value}\""),
            "photo_changed" => format!("{actor} changed this group's icon"),
            "description_changed" => format!("{actor} changed the group description"),
            "encryption_notice" => {
                "Messages and calls are end-to-end encrypted. No one outside of this chat, not even \
                                    WhatsApp, can read or listen to them."
                    .into()
            }
            "disappearing_timer" => format!("{actor} updated the message timer"),
            "number_changed" => format!("{actor} changed their phone number"),
            "security_code_changed" => format!("Your security code with {actor} changed."),
            "admin_promoted" => format!("{targets} became an admin"),
            "other" => "[system message]".into(),
            // What the actor did, in words (`joined_from_the_community`).
            other => format!("{actor} {}", other.replace('_', " ")),
        }
    }

    /// A contact card without a file: its vCard becomes the `.vcf` an export attaches.
    fn render_card(&mut self, m: &Message, chat_id: &str) -> Result<Option<String>> {
        let Some(card) = m.contact_card.as_ref().filter(|c| c.vcard.is_some()) else { return Ok(None) };
        let style = self.style;
        let chat = self.chats.get_mut(chat_id).expect("registered");
        let person = clean_file_name(card.name.as_deref().unwrap_or("contact"));
        let n = chat.media + 1;
        let mut name = match style {
            Style::Android => format!("{person}.vcf"),
            Style::Ios => format!("{n:08}-{person}.vcf"),
        };
        if !chat.names.insert(name.clone()) {
            name = format!("{person} ({n}).vcf");
        }
        chat.media += 1;
        let dest = self.parts.join(chat.index.to_string()).join(&name);
        std::fs::create_dir_all(dest.parent().expect("a folder")).map_err(|e| Error::io(&dest, "create", e))?;
        std::fs::write(&dest, card.vcard.as_deref().expect("checked")).map_err(|e| Error::io(&dest, "write", e))?;
        self.report.native(m.kind);
        Ok(Some(match style {
            Style::Android => format!("{name} (file attached)"),
            Style::Ios => format!("\u{200e}<attached: {name}>"),
        }))
    }

    fn render_media(&mut self, m: &Message, chat_id: &str) -> Result<String> {
        let media = m.media.as_ref().expect("media");
        let caption = media.caption.as_deref().or(if m.kind == MessageKind::Text { None } else { m.text.as_deref() });
        let caption = caption.map(|c| self.guard(c));
        let source = media.path.as_deref().filter(|_| !media.missing).map(PathBuf::from);
        let Some(source) = source.filter(|p| p.is_file()) else {
            // As an export "without media" writes it.
            self.report.downgraded(m.kind, "the file is not in the source; written as the export's \"omitted\" line");
            let omitted = match (self.style, m.kind) {
                (Style::Android, _) => "<Media omitted>".to_string(),
                (Style::Ios, k) => format!(
                    "\u{200e}{} omitted",
                    match k {
                        MessageKind::Image => "image",
                        MessageKind::Video => "video",
                        MessageKind::Voice | MessageKind::Audio => "audio",
                        MessageKind::Sticker => "sticker",
                        MessageKind::Gif => "GIF",
                        MessageKind::Contact => "Contact card",
                        _ => "document",
                    }
                ),
            };
            return Ok(match caption {
                Some(c) => format!("{omitted}\n{c}"),
                None => omitted,
            });
        };
        let t = self.zone.local(m.timestamp_ms).unwrap_or_default();
        let style = self.style;
        let chat = self.chats.get_mut(chat_id).expect("registered");
        let name = Self::media_name(style, chat, m, t);
        let dest = self.parts.join(chat.index.to_string()).join(&name);
        // The same file again (a forwarded picture) is a hard link, not a copy.
        self.copies.place(&source, &dest)?;
        self.report.media.carried += 1;
        self.report.native(m.kind);
        Ok(match (self.style, caption) {
            (Style::Android, Some(c)) => format!("{name} (file attached)\n{c}"),
            (Style::Android, None) => format!("{name} (file attached)"),
            (Style::Ios, Some(c)) => format!("{c} \u{200e}<attached: {name}>"),
            (Style::Ios, None) => format!("\u{200e}<attached: {name}>"),
        })
    }

    fn chat_entry(&mut self, id: &str) -> &mut ChatOut {
        let n = self.chats.len();
        self.chats.entry(id.to_string()).or_insert_with(|| ChatOut {
            title: clean_title(id),
            index: n,
            kind: ChatKind::Direct,
            messages: 0,
            media: 0,
            names: Default::default(),
        })
    }
}

/// A name that is safe as one file name on every system.
fn clean_file_name(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c }).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    chatferry_core::media::fit_name(&cleaned, chatferry_core::media::NAME_AT_MOST)
}

fn clean_title(title: &str) -> String {
    let t = clean_file_name(title);
    if t.is_empty() {
        "chat".into()
    } else {
        t
    }
}

impl Exporter for TxtExporter {
    fn begin(&mut self, header: &Header) -> Result<()> {
        if self.me.is_empty() {
            if let Some(o) = &header.owner {
                self.me = o.name.clone().or(o.nickname.clone()).or(o.phone.clone()).unwrap_or_default();
            }
        }
        if self.me.is_empty() {
            self.report.note("the source does not name you: your messages are written as \"You\" (give --opt me=NAME)");
        }
        Ok(())
    }

    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        for c in batch {
            if let Some(n) = c.name.or(c.nickname).or(c.phone).or(c.username) {
                self.names.insert(c.id, n);
            }
        }
        Ok(())
    }

    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        for c in batch {
            let title = c.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| self.name_of(&c.id));
            let entry = self.chat_entry(&c.id);
            entry.title = clean_title(&title);
            entry.kind = c.kind;
        }
        Ok(())
    }

    fn write_messages(&mut self, batch: Vec<Message>) -> Result<()> {
        // Grouped by chat (in first-seen order): one append per chat per batch.
        let mut by_chat: Vec<(String, String)> = Vec::new();
        let mut slot: HashMap<String, usize> = HashMap::new();
        for m in &batch {
            self.chat_entry(&m.chat).messages += 1;
            let text = self.render(m, &m.chat)?;
            let i = *slot.entry(m.chat.clone()).or_insert_with(|| {
                by_chat.push((m.chat.clone(), String::new()));
                by_chat.len() - 1
            });
            let buf = &mut by_chat[i].1;
            buf.push_str(&text);
            buf.push('\n');
        }
        for (chat, text) in by_chat {
            let index = self.chats[&chat].index;
            let path = self.parts.join(format!("{index}.txt"));
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(&path, "write", e))?;
            f.write_all(text.as_bytes()).map_err(|e| Error::io(&path, "write", e))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Report> {
        let mut chats: Vec<&ChatOut> = self.chats.values().filter(|c| c.messages > 0).collect();
        chats.sort_by_key(|c| c.index);
        let mut taken = std::collections::HashSet::new();
        let mut empty = 0;
        for c in self.chats.values() {
            empty += u64::from(c.messages == 0);
        }
        for c in chats {
            let mut title = c.title.clone();
            let mut k = 2;
            while !taken.insert(title.to_lowercase()) {
                title = format!("{} ({k})", c.title);
                k += 1;
            }
            let part = self.parts.join(format!("{}.txt", c.index));
            let files = self.parts.join(c.index.to_string());
            match self.style {
                Style::Android => {
                    let dir = self.output.join(format!("WhatsApp Chat with {title}"));
                    if files.is_dir() {
                        std::fs::rename(&files, &dir).map_err(|e| Error::io(&dir, "create", e))?;
                    } else {
                        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "create", e))?;
                    }
                    let txt = dir.join(format!("WhatsApp Chat with {title}.txt"));
                    std::fs::rename(&part, &txt).map_err(|e| Error::io(&txt, "write", e))?;
                }
                Style::Ios => {
                    let zip_path = self.output.join(format!("WhatsApp Chat - {title}.zip"));
                    write_zip(&zip_path, &part, &files)?;
                }
            }
        }
        std::fs::remove_dir_all(&self.parts).map_err(|e| Error::io(&self.parts, "remove", e))?;
        if empty > 0 {
            self.report.note(format!(
                "{} without messages {} not written (an export is one chat's messages)",
                chatferry_core::text_form::counted(empty, "chat", "chats"),
                if empty == 1 { "was" } else { "were" }
            ));
        }
        if self.pins > 0 {
            self.report.note(format!(
                "{} not written: an export does not show them",
                text_form::counted(self.pins, "pin or keep-in-chat mark was", "pins and keep-in-chat marks were")
            ));
        }
        if self.earlier_texts > 0 {
            self.report.note(format!(
                "{}: an export shows only the final text",
                text_form::counted(
                    self.earlier_texts,
                    "edited message's earlier text was not written",
                    "edited messages' earlier texts were not written"
                )
            ));
        }
        if self.reactions > 0 {
            self.report.note(format!(
                "{} not written: WhatsApp's exports do not show reactions",
                chatferry_core::text_form::counted(self.reactions, "reaction was", "reactions were")
            ));
        }
        if self.escaped_lines > 0 {
            self.report.note(format!(
                "{} lines inside messages began like a message header and were written after a word joiner (U+2060) so \
                 that readers keep them in their message",
                self.escaped_lines
            ));
        }
        if self.repeated.get() > 0 {
            self.report.note(format!(
                "{} messages fall in an hour the clocks repeat (DST) in {}; the export cannot say which pass, and a \
                 reader takes the first unless the file's order shows otherwise",
                self.repeated.get(),
                self.zone.describe()
            ));
        }
        if self.colons.get() > 0 {
            self.report.note(format!(
                "{} author names held a colon, which ends the name in an export; written with \u{a789} instead",
                self.colons.get()
            ));
        }
        if self.style == Style::Android {
            self.report.note("times are written to the minute, as Android exports are");
        }
        Ok(std::mem::take(&mut self.report))
    }
}

/// `_chat.txt` (deflated) and the chat's files (stored: media is compressed already).
fn write_zip(path: &Path, txt: &Path, files: &Path) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let io = |e: std::io::Error| Error::io(path, "write", e);
    let zerr = |e: zip::result::ZipError| Error::io(path, "write", std::io::Error::other(e));
    let f = std::fs::File::create(path).map_err(io)?;
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
    let deflated = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true);
    z.start_file("_chat.txt", deflated).map_err(zerr)?;
    std::io::copy(&mut chatferry_core::small_file::open_regular(txt).map_err(io)?, &mut z).map_err(io)?;
    if files.is_dir() {
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(files).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for p in names {
            let name = p.file_name().expect("a file").to_string_lossy().to_string();
            z.start_file(name, stored).map_err(zerr)?;
            std::io::copy(&mut chatferry_core::small_file::open_regular(&p).map_err(io)?, &mut z).map_err(io)?;
        }
    }
    let mut w = z.finish().map_err(zerr)?;
    w.flush().map_err(io)?;
    Ok(())
}
