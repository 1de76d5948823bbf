//! Finding one's way in a long chat: its own index page (`chats/<n>/index.html`:
//! every page with its dates, a calendar to jump to a day), the data the
//! calendar and the day separators are drawn from (`days.js`), and the media
//! gallery (`media.html`), each written as the chat's pages are, so memory
//! stays flat.
//!
//! Days are the viewer's own: the pages hold UTC times and `app.js` draws
//! the calendar in the browser's time zone. For that it needs the first
//! message of every local day, whatever the zone: every zone's midnight
//! falls on a quarter hour of UTC, so the first message of each UTC quarter
//! hour that has one is enough (`days.js`).

use chatferry_core::{Error, Media, Message, MessageKind, Result};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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
        let _ = write!(
            self.out,
            "{}.{}{}",
            crate::search::base36(dp),
            if ds < 0 { "-" } else { "" },
            crate::search::base36(ds.unsigned_abs())
        );
        self.last_position = position;
        self.last_seconds = seconds;
    }

    pub fn write(&self, dir: &Path, chat: usize) -> Result<()> {
        let path = dir.join("days.js");
        std::fs::write(&path, format!("chatferry.days({chat},\"{}\");\n", self.out))
            .map_err(|e| Error::io(&path, "write", e))
    }
}

/// `chats/<n>/media.html`: pictures and videos as a grid of the files
/// themselves (lazy-loaded), then documents and voice notes as a list, each
/// linking to its message.
pub struct Gallery {
    path: PathBuf,
    visual: BufWriter<File>,
    /// Documents and audio wait in a second file, appended at the end.
    other_path: PathBuf,
    other: BufWriter<File>,
    counts: (u64, u64),
}

impl Gallery {
    pub fn create(dir: &Path, spill: &Path, chat: usize) -> Result<Gallery> {
        let path = dir.join("media.html");
        let other_path = spill.join(format!("{chat}.gallery-other"));
        let open = |p: &Path| File::create(p).map(BufWriter::new).map_err(|e| Error::io(p, "create", e));
        Ok(Gallery { visual: open(&path)?, other: open(&other_path)?, path, other_path, counts: (0, 0) })
    }

    pub fn add(&mut self, m: &Message, media: &Media, href: &str) -> Result<()> {
        let Some(file) = &media.file else { return Ok(()) };
        let src = attr(&format!("../../{file}")).into_owned();
        let name = media.file_name.clone().unwrap_or_else(|| file.rsplit('/').next().unwrap_or(file).to_string());
        let alt = media.caption.clone().filter(|c| !c.is_empty()).unwrap_or_else(|| name.clone());
        let mime = media.mime.as_deref().unwrap_or("");
        let image = mime.starts_with("image/") && !mime.contains("wxgf");
        let io = |e| Error::io(&self.path, "write", e);
        match m.kind {
            MessageKind::Image | MessageKind::Sticker | MessageKind::Gif if image => {
                self.counts.0 += 1;
                write!(
                    self.visual,
                    r#"<a class="tile" href="{}"><img src="{src}" alt="{}" loading="lazy"></a>"#,
                    attr(href),
                    attr(&alt)
                )
                .map_err(io)?;
            }
            MessageKind::Video | MessageKind::Gif => {
                self.counts.0 += 1;
                write!(
                    self.visual,
                    r#"<a class="tile video" href="{}"><video src="{src}" preload="none" muted aria-label="{}"></video><span>▶ {}</span></a>"#,
                    attr(href),
                    attr(&alt),
                    text(&name)
                )
                .map_err(io)?;
            }
            _ => {
                self.counts.1 += 1;
                let icon = match m.kind {
                    MessageKind::Voice | MessageKind::Audio => "🎤",
                    _ => "📎",
                };
                write!(
                    self.other,
                    r#"<li>{icon} <a href="{}">{}</a> · <a href="{src}" download>file</a> · {}</li>"#,
                    attr(href),
                    text(&name),
                    crate::render::time_tag(m.timestamp_ms)
                )
                .map_err(|e| Error::io(&self.other_path, "write", e))?;
            }
        }
        Ok(())
    }

    /// Closes the page: the grid, then the list of documents and voice notes.
    pub fn finish(self, head: &str, foot: &str) -> Result<()> {
        let Gallery { path, visual, other_path, other, counts } = self;
        let io = |e| Error::io(&path, "write", e);
        let grid = visual.into_inner().map_err(|e| io(e.into_error()))?;
        drop(grid);
        other.into_inner().map_err(|e| Error::io(&other_path, "write", e.into_error()))?;
        // Head, grid (already on disk), list, foot: rewritten once, in a stream.
        let tmp = path.with_extension("html.part");
        {
            let mut out = BufWriter::new(File::create(&tmp).map_err(|e| Error::io(&tmp, "create", e))?);
            let tmp_io = |e| Error::io(&tmp, "write", e);
            out.write_all(head.as_bytes()).map_err(tmp_io)?;
            write!(out, r#"<h2>Pictures and videos ({})</h2><div class="gallery">"#, counts.0).map_err(tmp_io)?;
            std::io::copy(&mut File::open(&path).map_err(|e| Error::io(&path, "read", e))?, &mut out)
                .map_err(tmp_io)?;
            write!(out, r#"</div><h2>Documents and voice notes ({})</h2><ul class="files">"#, counts.1)
                .map_err(tmp_io)?;
            std::io::copy(&mut File::open(&other_path).map_err(|e| Error::io(&other_path, "read", e))?, &mut out)
                .map_err(tmp_io)?;
            out.write_all(b"</ul>").map_err(tmp_io)?;
            out.write_all(foot.as_bytes()).map_err(tmp_io)?;
            out.flush().map_err(tmp_io)?;
        }
        let _ = std::fs::remove_file(&other_path);
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, "write", e))
    }
}

/// One page of a chat: its number and the times of its first and last message.
pub struct PageSpan {
    pub first_ms: i64,
    pub last_ms: i64,
}

/// `chats/<n>/index.html`: the pages with their dates, and the calendar.
pub fn chat_index_content(spans: &[PageSpan], count: u64, media: bool) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<p>{count} messages on {} {} · <a href="media.html">pictures, videos and files</a>{}</p>"#,
        spans.len(),
        if spans.len() == 1 { "page" } else { "pages" },
        if media { "" } else { " (none)" }
    );
    h.push_str(
        r#"<h2>Jump to a day</h2><div id="calendar" class="calendar" data-calendar="1"><p class="missing">The calendar needs JavaScript.</p></div>"#,
    );
    h.push_str(r#"<h2>Pages</h2><ol class="pages">"#);
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
