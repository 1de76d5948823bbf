//! Writing the pages. Every string from the history is HTML-escaped; media
//! are copied into `media/` (named by content) and shown inline where a
//! browser can play them, linked otherwise.

use crate::navigation::{chat_index_content, Days, Gallery, PageSpan};
use crate::search::Postings;
use crate::spill::{ChatStats, Spill};
use chatferry_core::media::{extension_for, ContentStore};
use chatferry_core::*;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

pub struct HtmlExporter {
    root: PathBuf,
    page_size: usize,
    owner: Option<Contact>,
    names: HashMap<String, String>,
    chats: Vec<Chat>,
    spill: Spill,
    media: ContentStore,
    report: Report,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, "write", e)
}

impl HtmlExporter {
    pub fn create(root: &Path, page_size: usize) -> Result<HtmlExporter> {
        std::fs::create_dir(root).map_err(|e| Error::io(root, "create", e))?;
        std::fs::write(root.join("style.css"), STYLE).map_err(io(root))?;
        std::fs::write(root.join("app.js"), SCRIPT).map_err(io(root))?;
        Ok(HtmlExporter {
            root: root.to_path_buf(),
            page_size,
            owner: None,
            names: HashMap::new(),
            chats: Vec::new(),
            spill: Spill::new()?,
            media: ContentStore::new(root.join("media")),
            report: Report::new(),
        })
    }

    pub(crate) fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map(String::as_str).unwrap_or_else(|| id.split('@').next().unwrap_or(id))
    }

    fn sender_name<'a>(&'a self, m: &'a Message) -> &'a str {
        if m.from_me {
            return "You";
        }
        m.sender.as_deref().map_or("", |s| self.name_of(s))
    }

    fn chat_title(&self, chat: &Chat) -> String {
        chat.title.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| match chat.kind {
            ChatKind::Direct => self.name_of(&chat.id).to_string(),
            _ => chat.id.clone(),
        })
    }

    /// Copies a message's media into `media/` now (the source may be a
    /// temporary folder that is gone at the end) and points at the copy.
    fn carry_media(&mut self, m: &mut Message) -> Result<()> {
        let Some(media) = m.media.as_mut() else { return Ok(()) };
        let ext = extension_for(media.mime.as_deref(), media.file_name.as_deref());
        // No stat first: the store copies a file once and answers later
        // messages with it from memory; a file gone since the import is
        // told apart by its error.
        let stored = match media.path.take() {
            Some(src) if !media.missing => match self.media.put_file(Path::new(&src), &ext) {
                Ok(stored) => Some(stored),
                Err(e) if e.kind == ErrorKind::Io && !Path::new(&src).is_file() => None,
                Err(e) => return Err(e),
            },
            _ => None,
        };
        match stored {
            Some((sha, size, rel, _)) => {
                media.sha256 = Some(sha);
                media.size = Some(size);
                media.file = Some(format!("media/{}", rel.to_string_lossy().replace('\\', "/")));
                self.report.media.carried += 1;
            }
            None => {
                if !media.missing {
                    self.report.media.missing += 1;
                }
                media.missing = true;
                media.file = None;
            }
        }
        Ok(())
    }
}

fn utc(ms: i64) -> String {
    time::format_utc(ms)
}

/// A `<time>` element, written straight into the page being built.
pub(crate) struct TimeTag(i64);

pub(crate) fn time_tag(ms: i64) -> TimeTag {
    TimeTag(ms)
}

impl std::fmt::Display for TimeTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ms, iso) = (self.0, utc(self.0));
        // The text is the same time with a space for the T (nothing in it needs escaping).
        let (date, clock) = iso.split_once('T').unwrap_or((&iso, ""));
        let sep = if clock.is_empty() { "" } else { " " };
        write!(f, r#"<time datetime="{iso}" data-ms="{ms}" title="{iso} (UTC)">{date}{sep}{clock}</time>"#)
    }
}

/// What a screen reader says for a file: its caption, its own name, else
/// what it is (never the content hash it is stored under).
pub(crate) fn media_label(m: &Message, media: &Media) -> String {
    media
        .caption
        .clone()
        .filter(|c| !c.is_empty())
        .or(media.file_name.clone())
        .unwrap_or_else(|| m.kind.as_str().to_string())
}

/// Whether a URL from a history may become a link: only `http:`,
/// `https:` and `mailto:`. Browsers drop ASCII whitespace and control
/// characters inside a scheme (`java\tscript:` runs), so those are
/// removed before the scheme is read.
pub(crate) fn linkable(url: &str) -> bool {
    let cleaned: String = url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).take(8).collect();
    let Some((scheme, _)) = cleaned.split_once(':') else { return false };
    ["http", "https", "mailto"].iter().any(|s| scheme.eq_ignore_ascii_case(s))
}

/// The pages' Content-Security-Policy: scripts only from the pages' own
/// files (no inline script, event handler or `javascript:` URL runs, even
/// if one got into a page), nothing fetched from elsewhere. `file:` is
/// named beside 'self' because a page opened from disk has an opaque
/// origin that 'self' does not match in every browser.
const CSP: &str = "default-src 'self' file:; script-src 'self' file:; style-src 'self' file: 'unsafe-inline'; \
               img-src 'self' file: data:; media-src 'self' file:; object-src 'none'; base-uri 'none'; \
               form-action 'self' file:";

/// What a missing file was, in words.
fn missing_what(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Image => "A photo",
        MessageKind::Video => "A video",
        MessageKind::Gif => "A GIF",
        MessageKind::Voice => "A voice message",
        MessageKind::Audio => "An audio file",
        MessageKind::Sticker => "A sticker",
        MessageKind::Document => "A document",
        _ => "A file",
    }
}

/// How a file is shown: inline where every browser plays it, else a link.
/// Appended to `out`, the page being built.
fn media_html(out: &mut String, m: &Message, media: &Media, prefix: &str) {
    let Some(file) = &media.file else {
        // Said plainly, and the caption kept: every message of an "Export
        // without media" chat lands here.
        let named = media.file_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
        out.push_str(r#"<figure class="media">"#);
        let _ = write!(
            out,
            r#"<div class="missing">{}{} — the file was not in the history this was made from</div>"#,
            text(missing_what(m.kind)),
            text(&named)
        );
        if let Some(c) = media.caption.as_deref().filter(|c| !c.is_empty()) {
            let _ = write!(out, r#"<figcaption dir="auto">{}</figcaption>"#, text(c));
        }
        out.push_str("</figure>");
        return;
    };
    let src = attr(&format!("{prefix}{file}")).into_owned();
    let mime = media.mime.clone().unwrap_or_default();
    let base = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let name = media.file_name.clone().unwrap_or_else(|| file.rsplit('/').next().unwrap_or(file).to_string());
    let label = media_label(m, media);
    let viewable_image =
        matches!(base.as_str(), "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/avif" | "image/bmp");
    let playable_audio = matches!(
        base.as_str(),
        "audio/ogg"
            | "audio/opus"
            | "audio/mpeg"
            | "audio/mp4"
            | "audio/aac"
            | "audio/wav"
            | "audio/webm"
            | "audio/x-m4a"
    );
    let playable_video = matches!(base.as_str(), "video/mp4" | "video/webm" | "video/ogg");
    out.push_str(r#"<figure class="media">"#);
    match m.kind {
        MessageKind::Image | MessageKind::Sticker if viewable_image => {
            let _ = write!(out, r#"<a href="{src}"><img src="{src}" alt="{}" loading="lazy"></a>"#, attr(&label));
        }
        MessageKind::Video | MessageKind::Gif if playable_video => {
            let looped = if m.kind == MessageKind::Gif { " loop muted autoplay" } else { "" };
            let _ = write!(
                out,
                r#"<video src="{src}" controls preload="metadata"{looped} aria-label="{}"></video>"#,
                attr(&label)
            );
        }
        MessageKind::Voice | MessageKind::Audio if playable_audio => {
            let _ =
                write!(out, r#"<audio src="{src}" controls preload="metadata" aria-label="{}"></audio>"#, attr(&label));
        }
        _ => {
            let note = match m.kind {
                MessageKind::Voice | MessageKind::Audio => " (browsers cannot play this format; open it with a player)",
                MessageKind::Image => " (browsers cannot show this format)",
                _ => "",
            };
            let size = media.size.map(|s| format!(", {} KB", s.div_ceil(1024))).unwrap_or_default();
            let _ = write!(out, r#"<a href="{src}" download>📎 {}</a>{}{}"#, text(&name), text(&size), text(note));
        }
    }
    if let Some(c) = media.caption.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(out, r#"<figcaption dir="auto">{}</figcaption>"#, text(c));
    }
    out.push_str("</figure>");
}

fn system_text(exp: &HtmlExporter, m: &Message) -> String {
    // The store's own wording (WeChat keeps it, in the person's language)
    // says more than a worded action with unknown actors.
    if let Some(t) = m.text.as_ref().filter(|t| !t.trim().is_empty()) {
        return t.clone();
    }
    let Some(s) = &m.system else { return "system message".into() };
    let actor = s.actor.as_deref().map(|a| exp.name_of(a)).unwrap_or_default();
    let targets: Vec<&str> = s.targets.iter().map(|t| exp.name_of(t)).collect();
    let value = s.value.clone().unwrap_or_default();
    match s.action.as_str() {
        "group_created" => format!("{actor} created the group “{value}”"),
        "member_added" => format!("{actor} added {}", targets.join(", ")),
        "member_removed" => format!("{actor} removed {}", targets.join(", ")),
        "member_left" => format!("{} left", if targets.is_empty() { actor.to_string() } else { targets.join(", ") }),
        "title_changed" => format!("{actor} changed the group name to “{value}”"),
        "description_changed" => format!("{actor} changed the group description"),
        "photo_changed" => format!("{actor} changed the group photo"),
        "admin_promoted" => format!("{} became an admin", targets.join(", ")),
        "number_changed" => format!("{actor} changed their phone number"),
        "encryption_notice" => "Messages are end-to-end encrypted".into(),
        "other" if value.is_empty() => "system message".into(),
        "other" => value,
        // What the actor did, in words (`joined_from_the_community`).
        other => {
            let mut t = format!("{actor} {}", other.replace('_', " "));
            if !value.is_empty() {
                t.push_str(&format!(": {value}"));
            }
            t.trim().to_string()
        }
    }
}

impl HtmlExporter {
    /// Appends one message's HTML to `h` (the page being built: no string
    /// of its own per message).
    /// `position` is the message's place in its chat (from 1): its anchor
    /// `#m<position>`, which the search index and the calendar link to.
    fn message_html(
        &self,
        h: &mut String,
        m: &Message,
        group: bool,
        quoted: &HashMap<String, (String, usize, u64)>,
        page: usize,
        position: u64,
    ) {
        let id = attr(&m.id);
        let ms = m.timestamp_ms;
        if m.kind == MessageKind::System {
            let _ = write!(
                h,
                r#"<div class="msg system" id="m{position}" data-id="{id}" data-ms="{ms}" data-kind="system"><span dir="auto">{}</span> · {}</div>"#,
                text(&system_text(self, m)),
                time_tag(m.timestamp_ms)
            );
            return;
        }
        let side = if m.from_me { "out" } else { "in" };
        let _ = write!(
            h,
            r#"<div class="msg {side}" id="m{position}" data-id="{id}" data-ms="{ms}" data-kind="{}">"#,
            m.kind.as_str()
        );
        if group && !m.from_me {
            // A stable colour per sender, as chat apps give (lightness set by the stylesheet).
            let hue = m.sender.as_deref().map_or(0, |s| crate::search::fnv1a(s) % 360);
            let _ =
                write!(h, r#"<div class="sender" dir="auto" style="--hue:{hue}">{}</div>"#, text(self.sender_name(m)));
        }
        if m.reply_to.is_some() || m.quoted_text.is_some() {
            let found = m.reply_to.as_ref().and_then(|r| quoted.get(r));
            let snippet = m
                .quoted_text
                .clone()
                .or_else(|| found.map(|(t, _, _)| t.clone()))
                .unwrap_or_else(|| "(earlier message)".into());
            let link = match found {
                Some((_, p, n)) if *p == page => format!("#m{n}"),
                Some((_, p, n)) => format!("page-{p}.html#m{n}"),
                None => String::new(),
            };
            let inner = format!("↩ {}", text(&snippet.chars().take(200).collect::<String>()));
            if link.is_empty() {
                let _ = write!(h, r#"<div class="reply" dir="auto">{inner}</div>"#);
            } else {
                let _ = write!(h, r#"<div class="reply" dir="auto"><a href="{}">{inner}</a></div>"#, attr(&link));
            }
        }
        if let Some(media) = &m.media {
            media_html(h, m, media, "../../");
        }
        let body: Option<String> = match m.kind {
            MessageKind::Deleted => Some(match m.system.as_ref().and_then(|e| e.actor.as_deref()) {
                // A group admin deleted it.
                Some(admin) if m.sender.as_deref() != Some(admin) => {
                    format!("🚫 This message was deleted by {}", self.name_of(admin))
                }
                _ => "🚫 This message was deleted".into(),
            }),
            MessageKind::Location => m.location.as_ref().map(|l| {
                let name = l.name.clone().map(|n| format!("{n} ")).unwrap_or_default();
                format!("📍 {name}({:.5}, {:.5}){}", l.latitude, l.longitude, if l.live { " · live" } else { "" })
            }),
            MessageKind::Contact => {
                m.contact_card.as_ref().map(|c| format!("👤 {}", c.name.clone().unwrap_or_else(|| "contact".into())))
            }
            MessageKind::Call => m.call.as_ref().map(|c| {
                let kind = if c.video { "video call" } else { "voice call" };
                let outcome = c.outcome.clone().unwrap_or_default();
                let dur = c.duration_ms.map(|d| format!(", {} s", d / 1000)).unwrap_or_default();
                format!("📞 {} {kind}{dur}", if outcome.is_empty() { "".to_string() } else { outcome })
                    .trim()
                    .to_string()
            }),
            MessageKind::Payment => m.payment.as_ref().map(|p| {
                let icon = if p.kind == "red_packet" { "🧧" } else { "💸" };
                let amount = p
                    .amount
                    .clone()
                    .map(|a| format!(" {a} {}", p.currency.clone().unwrap_or_default()))
                    .unwrap_or_default();
                let note = p.note.clone().map(|n| format!(" — {n}")).unwrap_or_default();
                format!("{icon} {}{amount}{note}", p.kind.replace('_', " "))
            }),
            _ => None,
        };
        if let Some(b) = body {
            let class = match m.kind {
                MessageKind::Location => "location",
                MessageKind::Contact => "card",
                MessageKind::Call => "call",
                MessageKind::Payment => "payment",
                _ => "body",
            };
            let _ = write!(h, r#"<div class="{class}" dir="auto">{}</div>"#, text(&b));
        }
        if let Some(card) = m.contact_card.as_ref().and_then(|c| c.vcard.as_ref()) {
            let _ = write!(h, r#"<details><summary>vCard</summary><pre>{}</pre></details>"#, text(card));
        }
        if let Some(p) = &m.poll {
            self.poll_html(h, p);
        }
        if let Some(e) = &m.event {
            self.event_html(h, e);
        }
        if let Some(t) = m.text.as_deref().filter(|t| !t.is_empty()) {
            let _ = write!(h, r#"<div class="body" dir="auto">{}</div>"#, text(t));
        }
        if let Some(l) = &m.link {
            let title = text(l.title.as_deref().unwrap_or(&l.url));
            let description = l.description.as_deref().map(|d| format!("<br>{}", text(d))).unwrap_or_default();
            if linkable(&l.url) {
                let _ = write!(
                    h,
                    r#"<div class="link-preview"><a href="{}" rel="noreferrer noopener">{title}</a>{description}</div>"#,
                    attr(&l.url),
                );
            } else {
                // The sender wrote the URL: any other scheme (javascript:,
                // data:, vbscript:, file:) is shown, never followed.
                let shown =
                    if l.title.is_some() { format!("<br><code>{}</code>", text(&l.url)) } else { String::new() };
                let _ = write!(h, r#"<div class="link-preview">{title}{shown}{description}</div>"#);
            }
        }
        if !m.earlier_texts.is_empty() {
            h.push_str(r#"<details class="earlier"><summary>before the edit</summary>"#);
            for t in &m.earlier_texts {
                let _ = write!(h, r#"<div class="body" dir="auto"><s>{}</s></div>"#, text(t));
            }
            h.push_str("</details>");
        }
        for (pin, what) in [(&m.pinned, "📌 Pinned"), (&m.kept, "🔖 Kept in the chat")] {
            if let Some(p) = pin {
                let who = if p.from_me { "you" } else { p.sender.as_deref().map_or("someone", |s| self.name_of(s)) };
                let when = p.timestamp_ms.map(|t| format!(" {}", time_tag(t))).unwrap_or_default();
                let until = p.until_ms.map(|t| format!(", until {}", time_tag(t))).unwrap_or_default();
                let _ = write!(h, r#"<div class="pinned">{what} by {}{when}{until}</div>"#, text(who));
            }
        }
        let mut flags = String::new();
        if m.forwarded {
            flags.push_str(" ↪ forwarded");
        }
        if m.edited {
            flags.push_str(" ✎ edited");
        }
        if m.starred {
            flags.push_str(" ★");
        }
        if m.from_me {
            flags.push_str(match m.status {
                Status::Read | Status::Played => " ✓✓",
                Status::Delivered => " ✓✓",
                Status::Sent => " ✓",
                Status::Pending => " 🕓",
                Status::Failed => " ⚠",
                _ => "",
            });
        }
        let _ = write!(
            h,
            r#"<div class="meta">{}<span class="flags">{}</span></div>"#,
            time_tag(m.timestamp_ms),
            text(&flags)
        );
        if !m.reactions.is_empty() {
            h.push_str(r#"<ul class="reactions">"#);
            for r in &m.reactions {
                let who = if r.from_me { "You" } else { r.sender.as_deref().map_or("", |s| self.name_of(s)) };
                let _ = write!(h, r#"<li title="{}">{}</li>"#, attr(&who), text(&r.emoji));
            }
            h.push_str("</ul>");
        }
        h.push_str("</div>");
    }

    /// A page. `body_data` are `data-…` attributes for app.js (which chat,
    /// which page); `sub` a line under the title (a page's dates).
    fn page(
        title: &str,
        head_extra: &str,
        prefix: &str,
        nav: &str,
        content: &str,
        body_data: &str,
        sub: &str,
    ) -> String {
        let (head, foot) = Self::page_parts(title, head_extra, prefix, nav, body_data, sub);
        format!("{head}{content}{foot}")
    }

    /// A page's start and end, for pages written in a stream.
    fn page_parts(
        title: &str,
        head_extra: &str,
        prefix: &str,
        nav: &str,
        body_data: &str,
        sub: &str,
    ) -> (String, String) {
        let search = format!(
            r#"<form class="search" role="search" action="{prefix}index.html"><input type="search" name="q" placeholder="Search" aria-label="Search the messages" accesskey="s">{}<button type="submit">Search</button></form>"#,
            if body_data.contains("data-chat=") {
                r#"<label><input type="checkbox" name="here" value="1" checked> this chat only</label>"#
            } else {
                ""
            }
        );
        let head = format!(
            r##"<!DOCTYPE html>
<html lang="und" dir="ltr">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<link rel="stylesheet" href="{prefix}style.css">
<script src="{prefix}app.js"></script>{head_extra}
</head>
<body data-prefix="{prefix}"{body_data}>
<a class="skip" href="#main">Skip to the messages</a>
<header><h1 dir="auto">{title}</h1>{sub}<nav aria-label="pages">{nav}</nav>{search}</header>
<main id="main" tabindex="-1">
"##
        );
        let foot = format!(
            r#"
<div class="clear"></div>
</main>
<footer><nav aria-label="pages">{nav}</nav></footer>
</body>
</html>
"#
        );
        (head, foot)
    }

    /// Renders one chat into `chats/<n>/page-<k>.html`, remembering the
    /// text, page and place of the messages its replies quote as it meets
    /// them; writes the chat's index page, its days and its gallery, and
    /// hands its words to the search index. Returns each page's dates.
    fn render_chat(&self, chat: &Chat, stats: &ChatStats, postings: &Postings) -> Result<Vec<PageSpan>> {
        let n = stats.index;
        let dir = self.root.join("chats").join(n.to_string());
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let wanted = self.spill.quoted_ids(n)?;
        let pages = (stats.count as usize).div_ceil(self.page_size).max(1);
        let group = chat.kind == ChatKind::Group;
        let title = text(&self.chat_title(chat)).into_owned();
        let mut quoted: HashMap<String, (String, usize, u64)> = HashMap::new();
        let mut content = String::new();
        let mut page = 1;
        let mut on_page = 0;
        let mut spans: Vec<PageSpan> = Vec::with_capacity(pages);
        let mut span: Option<PageSpan> = None;
        let mut days = Days::new();
        let mut gallery = Gallery::new();
        let gallery_page = |k: usize, body: &str, has_next: bool| -> Result<()> {
            let mut nav =
                String::from(r#"<a href="../../index.html">All chats</a> · <a href="index.html">days and pages</a>"#);
            if k > 1 {
                let _ = write!(nav, r#" · <a href="{}" rel="prev">previous</a>"#, Gallery::file_name(k - 1));
            }
            let _ = write!(nav, " · media page {k}");
            if has_next {
                let _ = write!(nav, r#" · <a href="{}" rel="next">next</a>"#, Gallery::file_name(k + 1));
            }
            let html =
                Self::page(&format!("{title} · media"), "", "../../", &nav, body, &format!(r#" data-chat="{n}""#), "");
            let path = dir.join(Gallery::file_name(k));
            std::fs::write(&path, html).map_err(io(&path))
        };
        let mut words = postings.for_chat(n);
        let body_data = |k: usize| format!(r#" data-chat="{n}" data-page="{k}" data-page-size="{}""#, self.page_size);
        let flush = |page: usize,
                     content: &mut String,
                     span: Option<PageSpan>,
                     spans: &mut Vec<PageSpan>|
         -> Result<()> {
            let mut nav = String::from(
                r#"<a href="../../index.html">All chats</a> · <a href="index.html">days and pages</a> · <a href="media.html">media</a>"#,
            );
            if page > 1 {
                let _ = write!(
                    nav,
                    r#" · <a href="page-1.html">first</a> · <a href="page-{}.html" rel="prev">previous</a>"#,
                    page - 1
                );
            }
            let _ = write!(nav, " · page {page} of {pages}");
            if page < pages {
                let _ = write!(
                    nav,
                    r#" · <a href="page-{}.html" rel="next">next</a> · <a href="page-{pages}.html">last</a>"#,
                    page + 1
                );
            }
            let sub = match &span {
                Some(s) => format!(r#"<p class="range">{} – {}</p>"#, time_tag(s.first_ms), time_tag(s.last_ms)),
                None => String::new(),
            };
            let html = Self::page(&title, "", "../../", &nav, content, &body_data(page), &sub);
            let path = dir.join(format!("page-{page}.html"));
            std::fs::write(&path, html).map_err(io(&path))?;
            content.clear();
            spans.push(span.unwrap_or(PageSpan { first_ms: 0, last_ms: 0 }));
            Ok(())
        };
        let mut position = 0u64;
        for m in self.spill.read(n)? {
            let m = m?;
            position += 1;
            if wanted.contains(&m.id) {
                let snippet = m
                    .text
                    .clone()
                    .or_else(|| m.media.as_ref().and_then(|x| x.caption.clone()))
                    .unwrap_or_else(|| format!("[{}]", m.kind));
                quoted.insert(m.id.clone(), (snippet, page, position));
            }
            self.message_html(&mut content, &m, group, &quoted, page, position);
            content.push('\n');
            let ms = m.timestamp_ms;
            let s = span.get_or_insert(PageSpan { first_ms: ms, last_ms: ms });
            s.first_ms = s.first_ms.min(ms);
            s.last_ms = s.last_ms.max(ms);
            days.add(position, ms);
            if let Some(media) = &m.media {
                gallery.add(&m, media, &format!("page-{page}.html#m{position}"), &gallery_page)?;
            }
            words.add(position, &m)?;
            on_page += 1;
            if on_page == self.page_size {
                flush(page, &mut content, span.take(), &mut spans)?;
                page += 1;
                on_page = 0;
            }
        }
        if on_page > 0 || stats.count == 0 {
            flush(page, &mut content, span.take(), &mut spans)?;
        }
        words.finish()?;
        days.write(&dir, n)?;
        gallery.finish(&gallery_page)?;
        let index = Self::page(
            &title,
            r#"<script src="days.js"></script>"#,
            "../../",
            r#"<a href="../../index.html">All chats</a> · <a href="page-1.html">first page</a>"#,
            &chat_index_content(&spans, stats.count),
            &format!(r#" data-chat="{n}" data-page-size="{}""#, self.page_size),
            "",
        );
        let path = dir.join("index.html");
        std::fs::write(&path, index).map_err(io(&path))?;
        Ok(spans)
    }

    /// Renders every chat, on as many threads as there are cores (at most
    /// four): by now the import is over and its core is free, and chats
    /// are independent (each has its own folder and spill file). The
    /// longest chats go first so no thread is left with a long one at the
    /// end. The page count of each chat, in `self.chats` order.
    fn render_chats(&self, postings: &Postings) -> Result<Vec<Vec<PageSpan>>> {
        let stats: Vec<ChatStats> =
            self.chats.iter().map(|c| self.spill.stats.get(&c.id).cloned().unwrap_or_default()).collect();
        let mut order: Vec<usize> = (0..self.chats.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(stats[i].count));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4).min(order.len().max(1));
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let pages: Mutex<Vec<Vec<PageSpan>>> = Mutex::new((0..self.chats.len()).map(|_| Vec::new()).collect());
        let work = || -> Result<()> {
            while !failed.load(Ordering::Relaxed) {
                let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                match self.render_chat(&self.chats[i], &stats[i], postings) {
                    Ok(n) => pages.lock().map_err(|_| Error::internal("page count lock poisoned"))?[i] = n,
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed); // the others stop at their next chat
                        return Err(e);
                    }
                }
            }
            Ok(())
        };
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut result = work();
            for h in helpers {
                let theirs = h.join().unwrap_or_else(|_| Err(Error::internal("a page-writing thread panicked")));
                if result.is_ok() {
                    result = theirs;
                }
            }
            result
        })?;
        pages.into_inner().map_err(|_| Error::internal("page count lock poisoned"))
    }
}

impl Exporter for HtmlExporter {
    fn begin(&mut self, header: &Header) -> Result<()> {
        self.owner = header.owner.clone();
        if let Some(o) = &header.owner {
            self.names.insert(o.id.clone(), "You".into());
        }
        Ok(())
    }

    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        for c in batch {
            if self.owner.as_ref().is_some_and(|o| o.id == c.id) {
                continue; // the owner is "You"
            }
            let name = c.name.clone().or(c.nickname.clone()).or(c.phone.clone()).unwrap_or_else(|| c.id.clone());
            self.names.insert(c.id, name);
        }
        Ok(())
    }

    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        for c in batch {
            self.spill.chat_index(&c.id);
            self.chats.push(c);
        }
        Ok(())
    }

    fn write_messages(&mut self, mut batch: Vec<Message>) -> Result<()> {
        for m in &mut batch {
            self.carry_media(m)?;
            self.report.native(m.kind);
        }
        self.spill.append(&batch)
    }

    fn finish(&mut self) -> Result<Report> {
        // Chats that only appeared in messages get a plain entry.
        let known: HashSet<String> = self.chats.iter().map(|c| c.id.clone()).collect();
        let mut extra: Vec<Chat> = self
            .spill
            .stats
            .keys()
            .filter(|id| !known.contains(*id))
            .map(|id| Chat { id: id.clone(), ..Default::default() })
            .collect();
        extra.sort_by(|a, b| a.id.cmp(&b.id));
        self.chats.extend(extra);

        let shards = self.spill.dir().join("search");
        std::fs::create_dir_all(&shards).map_err(io(&shards))?;
        let postings = Postings::new(&shards)?;
        let spans = self.render_chats(&postings)?;
        let index_bytes = postings.finish(&self.root.join("search"))?;
        // What search results show of each chat: its title and each page's dates.
        let mut meta = String::from("chatferry.chats({");
        let mut rows: Vec<(i64, String)> = Vec::new();
        for (k, (chat, spans)) in self.chats.iter().zip(&spans).enumerate() {
            let stats = self.spill.stats.get(&chat.id).cloned().unwrap_or_default();
            let pages = spans.len().max(1);
            if k > 0 {
                meta.push(',');
            }
            let page_dates: Vec<String> = spans.iter().map(|s| format!("[{},{}]", s.first_ms, s.last_ms)).collect();
            let _ = write!(
                meta,
                r#""{}":{{"title":{},"size":{},"pages":[{}]}}"#,
                stats.index,
                serde_json::to_string(&self.chat_title(chat)).expect("a string"),
                self.page_size,
                page_dates.join(",")
            );
            let range = match (stats.first_ms, stats.last_ms) {
                (Some(a), Some(b)) => format!("{} – {}", time_tag(a), time_tag(b)),
                _ => String::new(),
            };
            let row = format!(
                r#"<tr><td class="title" dir="auto"><a href="chats/{i}/page-{pages}.html">{title}</a></td><td>{kind}</td><td>{count}</td><td>{range}</td><td><a href="chats/{i}/index.html">days and pages</a> · <a href="chats/{i}/media.html">media</a></td></tr>"#,
                i = stats.index,
                title = text(&self.chat_title(chat)),
                kind = text(chat.kind.as_str()),
                count = stats.count,
            );
            rows.push((stats.last_ms.unwrap_or(i64::MIN), row));
        }
        // Newest first, as a chat app lists them.
        rows.sort_by(|a, b| b.0.cmp(&a.0));
        let owner = self.owner.as_ref().and_then(|o| o.name.clone().or(o.nickname.clone()).or(o.phone.clone()));
        let title = match owner {
            Some(o) => format!("Chat history of {}", text(&o)),
            None => "Chat history".into(),
        };
        meta.push_str("});\n");
        let meta_path = self.root.join("search").join("chats.js");
        std::fs::write(&meta_path, meta).map_err(io(&meta_path))?;
        let table: String = rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>().join("\n");
        let content = format!(
            r#"<section id="results" class="results" aria-live="polite" hidden></section>
<table class="chats"><thead><tr><th>Chat</th><th>Kind</th><th>Messages</th><th>From – to</th><th></th></tr></thead><tbody>
{table}
</tbody></table>"#
        );
        let index = Self::page(&title, r#"<script src="search/chats.js"></script>"#, "", "", &content, "", "");
        let pages_bytes: u64 = walk_size(&self.root.join("chats"), "html");
        self.report.note(format!(
            "search index: {:.1} MB in search/ ({:.0}% of the pages' {:.1} MB)",
            index_bytes as f64 / 1e6,
            100.0 * index_bytes as f64 / pages_bytes.max(1) as f64,
            pages_bytes as f64 / 1e6
        ));
        let path = self.root.join("index.html");
        std::fs::write(&path, index).map_err(io(&path))?;
        let mut report = std::mem::take(&mut self.report);
        report.target_adapter = crate::ADAPTER_ID.into();
        Ok(report)
    }
}

/// The total size of the files ending in `.ext` below `dir`.
fn walk_size(dir: &Path, ext: &str) -> u64 {
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(e.path()),
                Ok(t) if t.is_file() && e.path().extension().is_some_and(|x| x == ext) => {
                    total += e.metadata().map(|m| m.len()).unwrap_or(0)
                }
                _ => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_media(path: &Path) -> Message {
        Message {
            id: "1".into(),
            chat: "c".into(),
            kind: MessageKind::Image,
            media: Some(Media { path: Some(path.to_string_lossy().into_owned()), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn media_is_copied_once_and_a_file_gone_since_the_import_is_counted_missing() {
        let dir = tempfile::tempdir().unwrap();
        let mut ex = HtmlExporter::create(&dir.path().join("out"), 100).unwrap();
        let picture = dir.path().join("picture.jpg");
        std::fs::write(&picture, b"\xff\xd8\xff jpeg").unwrap();
        let (mut a, mut b) = (with_media(&picture), with_media(&picture));
        ex.carry_media(&mut a).unwrap();
        ex.carry_media(&mut b).unwrap();
        let file = a.media.as_ref().unwrap().file.clone().expect("copied");
        assert_eq!(b.media.as_ref().unwrap().file.as_ref(), Some(&file));
        assert_eq!(std::fs::read(dir.path().join("out").join(&file)).unwrap(), b"\xff\xd8\xff jpeg");

        for gone in [dir.path().join("gone.jpg"), dir.path().to_path_buf()] {
            let mut m = with_media(&gone);
            ex.carry_media(&mut m).unwrap();
            let media = m.media.unwrap();
            assert!(media.missing && media.file.is_none(), "{gone:?}");
        }
        assert_eq!((ex.report.media.carried, ex.report.media.missing), (2, 2));
    }

    #[test]
    fn a_missing_file_is_said_plainly_and_its_caption_kept() {
        // "Export without media": the caption was dropped and the page said
        // "[other not available: other]".
        let mut out = String::new();
        let mut m = with_media(Path::new("gone.jpg"));
        let media = m.media.as_mut().unwrap();
        media.path = None;
        media.missing = true;
        media.caption = Some("the view from the top 🏔".into());
        media_html(&mut out, &m, m.media.as_ref().unwrap(), "../../");
        assert!(out.contains("A photo — the file was not in the history"), "{out}");
        assert!(out.contains("<figcaption dir=\"auto\">the view from the top 🏔</figcaption>"), "{out}");
        m.kind = MessageKind::Other;
        m.media.as_mut().unwrap().file_name = Some("notes.pdf".into());
        out.clear();
        media_html(&mut out, &m, m.media.as_ref().unwrap(), "");
        assert!(out.contains("A file (notes.pdf) — the file was not") && !out.contains("other"), "{out}");
    }

    fn exporter_with_chats(out: &Path, chats: usize) -> HtmlExporter {
        let mut ex = HtmlExporter::create(out, 2).unwrap();
        ex.begin(&Header::default()).unwrap();
        ex.write_chats((0..chats).map(|c| Chat { id: format!("c{c}"), ..Default::default() }).collect()).unwrap();
        let mut batch = Vec::new();
        for c in 0..chats {
            for k in 0..c * 3 + 1 {
                batch.push(Message {
                    id: format!("{c}-{k}"),
                    chat: format!("c{c}"),
                    text: Some(format!("message {k} of chat {c}")),
                    timestamp_ms: k as i64,
                    ..Default::default()
                });
            }
        }
        ex.write_messages(batch).unwrap();
        ex
    }

    #[test]
    fn chats_rendered_side_by_side_are_each_complete_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        exporter_with_chats(&out, 9).finish().unwrap();
        let index = std::fs::read_to_string(out.join("index.html")).unwrap();
        for c in 0..9 {
            let count: usize = c * 3 + 1;
            let pages = count.div_ceil(2);
            assert!(index.contains(&format!(r#"<a href="chats/{c}/page-{pages}.html">c{c}</a>"#)), "chat {c}");
            for k in 0..count {
                let page = std::fs::read_to_string(out.join(format!("chats/{c}/page-{}.html", k / 2 + 1))).unwrap();
                assert!(page.contains(&format!("message {k} of chat {c}<")), "chat {c} message {k}");
                assert!(page.contains(&format!("page {} of {pages}", k / 2 + 1)));
            }
            assert!(!out.join(format!("chats/{c}/page-{}.html", pages + 1)).exists());
        }
    }

    #[test]
    fn a_chat_that_cannot_be_written_fails_the_export_with_its_folder_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut ex = exporter_with_chats(&out, 9);
        std::fs::create_dir(out.join("chats")).unwrap();
        std::fs::write(out.join("chats").join("4"), b"in the way").unwrap();
        let e = ex.finish().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Io, "{e:?}");
        assert!(e.message.contains(&format!("chats{}4", std::path::MAIN_SEPARATOR)), "{}", e.message);
        assert!(!out.join("index.html").exists());
    }
}
