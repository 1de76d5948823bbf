//! Finding one's way in a long chat: its own index page (`chats/<n>/index.html`:
//! every page with its dates, a calendar to jump to a day), the data the
//! calendar is drawn from (`days.js`), and the media gallery (`media.html`,
//! `media-2.html`, …), each written as the chat's pages are, so memory stays
//! flat.
//!
//! Days are the viewer's own: the pages hold UTC times and `app.js` draws
//! the calendar in the browser's time zone. For that it needs the first
//! message of every local day, whatever the zone: every zone's midnight
//! falls on a quarter hour of UTC, so the first message of each UTC quarter
//! hour that has one is enough (`days.js`).

use chatferry_core::{Error, Media, Message, MessageKind, Result};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::fmt::Write as _;
use std::path::Path;

const QUARTER_HOUR_MS: i64 = 15 * 60 * 1000;

/// The first message of each quarter hour: `[position delta, seconds delta]`
/// pairs, base 36, for `chatferry.days(chat, "…")`.
pub struct Days {
    out: String,
    last_quarter: Option<i64>,
    last_position: u64,
    last_seconds: i64,
}

impl Days {
    pub fn new() -> Days {
        Days { out: String::new(), last_quarter: None, last_position: 0, last_seconds: 0 }
    }

    pub fn add(&mut self, position: u64, ms: i64) {
        let quarter = ms.div_euclid(QUARTER_HOUR_MS);
        if self.last_quarter == Some(quarter) {
            return;
        }
        self.last_quarter = Some(quarter);
        let seconds = ms.div_euclid(1000);
        if !self.out.is_empty() {
            self.out.push(',');
        }
        let dp = position - self.last_position;
        let ds = seconds - self.last_seconds;
        crate::search::push_base36(&mut self.out, dp);
        self.out.push('.');
        if ds < 0 {
            self.out.push('-');
        }
        crate::search::push_base36(&mut self.out, ds.unsigned_abs());
        self.last_position = position;
        self.last_seconds = seconds;
    }

    pub fn write(&self, dir: &Path, chat: usize) -> Result<()> {
        let path = dir.join("days.js");
        std::fs::write(&path, format!("chatferry.days({chat},\"{}\");\n", self.out))
            .map_err(|e| Error::io(&path, "write", e))
    }
}

/// Media items per gallery page: a page of a long chat's media opens at once.
pub const GALLERY_PAGE: usize = 500;

/// Writes gallery page `k` with its content; `has_next` says whether a page follows.
pub type WritePage<'a> = dyn Fn(usize, &str, bool) -> Result<()> + 'a;

/// `chats/<n>/media.html` (then `media-2.html`, …): pictures and videos as a
/// grid of the files themselves (lazy-loaded), documents and voice notes as
/// a list, each linking to its message. Written a page at a time; a full
/// page waits until the next item shows whether another page follows.
pub struct Gallery {
    grid: String,
    list: String,
    on_page: usize,
    page: usize,
    waiting: Option<(usize, String)>,
}

impl Gallery {
    pub fn new() -> Gallery {
        Gallery { grid: String::new(), list: String::new(), on_page: 0, page: 1, waiting: None }
    }

    /// `chats/<n>/` file name of gallery page `k`.
    pub fn file_name(page: usize) -> String {
        if page == 1 {
            "media.html".into()
        } else {
            format!("media-{page}.html")
        }
    }

    /// Adds a message's file; `href` is its message.
    pub fn add(&mut self, m: &Message, media: &Media, href: &str, write: &WritePage) -> Result<()> {
        let Some(file) = &media.file else { return Ok(()) };
        if self.on_page == 0 {
            if let Some((k, body)) = self.waiting.take() {
                write(k, &body, true)?;
            }
        }
        let src = attr(&format!("../../{file}")).into_owned();
        let name = media.file_name.clone().unwrap_or_else(|| file.rsplit('/').next().unwrap_or(file).to_string());
        let alt = crate::render::media_label(m, media);
        let mime = media.mime.as_deref().unwrap_or("");
        let image = mime.starts_with("image/") && !mime.contains("wxgf");
        match m.kind {
            MessageKind::Image | MessageKind::Sticker | MessageKind::Gif if image => {
                let _ = write!(
                    self.grid,
                    r#"<a class="tile" href="{}"><img src="{src}" alt="{}" loading="lazy"></a>"#,
                    attr(href),
                    attr(&alt)
                );
            }
            MessageKind::Video | MessageKind::Gif => {
                let _ = write!(
                    self.grid,
                    r#"<a class="tile video" href="{}"><video src="{src}" preload="none" muted aria-label="{}"></video><span>▶ {}</span></a>"#,
                    attr(href),
                    attr(&alt),
                    text(&name)
                );
            }
            _ => {
                let icon = match m.kind {
                    MessageKind::Voice | MessageKind::Audio => "🎤",
                    _ => "📎",
                };
                let _ = write!(
                    self.list,
                    r#"<li>{icon} <a href="{}">{}</a> · <a href="{src}" download>file</a> · {}</li>"#,
                    attr(href),
                    text(&name),
                    crate::render::time_tag(m.timestamp_ms)
                );
            }
        }
        self.on_page += 1;
        if self.on_page == GALLERY_PAGE {
            self.close_page();
        }
        Ok(())
    }

    /// The current page's content, set aside until it is known whether another follows.
    fn close_page(&mut self) {
        let mut body = String::new();
        if !self.grid.is_empty() {
            let _ = write!(body, r#"<h2>Pictures and videos</h2><div class="gallery">{}</div>"#, self.grid);
        }
        if !self.list.is_empty() {
            let _ = write!(body, r#"<h2>Documents and voice notes</h2><ul class="files">{}</ul>"#, self.list);
        }
        if body.is_empty() {
            body.push_str(r#"<p class="missing">No pictures, videos or files in this chat.</p>"#);
        }
        self.waiting = Some((self.page, body));
        self.grid.clear();
        self.list.clear();
        self.on_page = 0;
        self.page += 1;
    }

    /// Writes the last page (an empty chat gets one saying so).
    pub fn finish(mut self, write: &WritePage) -> Result<()> {
        if self.on_page > 0 || self.waiting.is_none() {
            if let Some((k, body)) = self.waiting.take() {
                write(k, &body, true)?;
            }
            self.close_page();
        }
        let (k, body) = self.waiting.take().expect("a page was closed");
        write(k, &body, false)
    }
}

/// One page of a chat: its number and the times of its first and last message.
pub struct PageSpan {
    pub first_ms: i64,
    pub last_ms: i64,
}

/// `chats/<n>/index.html`: the pages with their dates, and the calendar.
pub fn chat_index_content(spans: &[PageSpan], count: u64) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<p>{count} messages on {} {} · <a href="media.html">pictures, videos and files</a></p>"#,
        spans.len(),
        if spans.len() == 1 { "page" } else { "pages" },
    );
    h.push_str(
        r#"<h2>Jump to a day</h2><div id="calendar" class="calendar" data-calendar="1"><p class="missing">The calendar needs JavaScript.</p></div>"#,
    );
    h.push_str(r#"<h2>Pages</h2><ol class="pages">"#);
    if count == 0 {
        // A chat without messages still has its (empty) page, with no dates.
        h.push_str(r#"<li><a href="page-1.html">page 1</a></li></ol>"#);
        return h;
    }
    for (i, s) in spans.iter().enumerate() {
        let _ = write!(
            h,
            r#"<li><a href="page-{k}.html">page {k}</a> · {} – {}</li>"#,
            crate::render::time_tag(s.first_ms),
            crate::render::time_tag(s.last_ms),
            k = i + 1
        );
    }
    h.push_str("</ol>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn pages_for(items: usize) -> Vec<(usize, usize, bool)> {
        let written = RefCell::new(Vec::new());
        let write = |k: usize, body: &str, next: bool| -> Result<()> {
            written.borrow_mut().push((k, body.matches("class=\"tile\"").count(), next));
            Ok(())
        };
        let mut g = Gallery::new();
        let media =
            Media { file: Some("media/ab/x.jpg".into()), mime: Some("image/jpeg".into()), ..Default::default() };
        let m = Message { kind: MessageKind::Image, ..Default::default() };
        for i in 0..items {
            g.add(&m, &media, &format!("page-1.html#m{i}"), &write).unwrap();
        }
        g.finish(&write).unwrap();
        written.into_inner()
    }

    #[test]
    fn the_gallery_is_paged_and_only_a_page_with_a_successor_links_to_it() {
        assert_eq!(pages_for(0), [(1, 0, false)], "an empty chat still has its page");
        assert_eq!(pages_for(3), [(1, 3, false)]);
        assert_eq!(pages_for(GALLERY_PAGE), [(1, GALLERY_PAGE, false)], "a full last page has no next");
        assert_eq!(pages_for(2 * GALLERY_PAGE + 1), [(1, GALLERY_PAGE, true), (2, GALLERY_PAGE, true), (3, 1, false)]);
    }

    #[test]
    fn days_keep_the_first_message_of_each_quarter_hour() {
        let mut d = Days::new();
        for (pos, ms) in [(1, 0), (2, 60_000), (3, 15 * 60_000), (4, -1_000)] {
            d.add(pos, ms);
        }
        assert_eq!(d.out, "1.0,2.p0,1.-p1", "position and second deltas, base 36, signed");
    }
}
