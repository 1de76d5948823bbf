//! What a message's body is (formats doc §3–4): text, an attached file
//! (Android `NAME (file attached)`, iPhone `caption <attached: NAME>`), a
//! media the export left out (`<Media omitted>`, `image omitted`), a
//! deleted message, a location, WhatsApp's `null`, or a system notice.

use chatferry_core::MessageKind;

#[derive(Debug, Clone, PartialEq)]
pub enum Body<'a> {
    Text(&'a str),
    /// A file the line names; `caption` is the iPhone's same-line caption.
    Attached {
        file: &'a str,
        caption: Option<&'a str>,
    },
    /// The export was made without media; the kind where it says.
    Omitted(MessageKind),
    Deleted,
    Location {
        latitude: f64,
        longitude: f64,
        url: &'a str,
    },
    /// WhatsApp wrote `null` where it had no text for the message.
    Null,
}

fn strip_marks(s: &str) -> &str {
    s.trim_start_matches(['\u{200e}', '\u{200f}'])
}

/// Reads `body`. `exists` says whether a file of that name is beside the
/// export: a localized `(Datei angehängt)` is taken only for a real file.
pub fn classify<'a>(body: &'a str, exists: &dyn Fn(&str) -> bool) -> Body<'a> {
    let plain = strip_marks(body).trim_end();
    if plain == "null" {
        return Body::Null;
    }
    if let Some(k) = omitted(plain) {
        return Body::Omitted(k);
    }
    if matches!(
        plain,
        "This message was deleted"
            | "This message was deleted."
            | "You deleted this message"
            | "You deleted this message."
    ) {
        return Body::Deleted;
    }
    // iPhone: `caption <attached: NAME>`, or the old `NAME <attached>`. (The
    // last character is looked at first: most bodies are texts, and a
    // substring search per body was a tenth of the import.)
    if let Some(open) = plain.ends_with('>').then(|| plain.rfind("<attached: ")).flatten() {
        if let Some(name) = plain[open + 11..].strip_suffix('>') {
            let caption = strip_marks(plain[..open].trim_end_matches(['\u{200e}', ' ']));
            return Body::Attached { file: name.trim(), caption: (!caption.is_empty()).then_some(caption) };
        }
    }
    if let Some(name) = plain.strip_suffix("<\u{200e}attached>").or_else(|| plain.strip_suffix("<attached>")) {
        return Body::Attached { file: name.trim(), caption: None };
    }
    // Android: `NAME (file attached)`, localized in the parentheses.
    if let Some(inner_start) = plain.ends_with(')').then(|| plain.rfind(" (")).flatten() {
        if let Some(phrase) = plain[inner_start + 2..].strip_suffix(')') {
            let name = plain[..inner_start].trim();
            let has_extension = name.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty() && (1..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric())
            });
            if has_extension && (phrase == "file attached" || (phrase.chars().count() <= 30 && exists(name))) {
                return Body::Attached { file: name, caption: None };
            }
        }
    }
    if let Some(url) = plain.strip_prefix("location: ") {
        if let Some((lat, lon)) = coordinates(url) {
            return Body::Location { latitude: lat, longitude: lon, url };
        }
    }
    Body::Text(body)
}

/// `<Media omitted>` (Android), `image omitted` … (iPhone).
fn omitted(plain: &str) -> Option<MessageKind> {
    Some(match plain {
        "<Media omitted>" | "<media omitted>" => MessageKind::Other,
        "image omitted" => MessageKind::Image,
        "video omitted" => MessageKind::Video,
        "audio omitted" => MessageKind::Voice,
        "sticker omitted" => MessageKind::Sticker,
        "GIF omitted" => MessageKind::Gif,
        "document omitted" => MessageKind::Document,
        "Contact card omitted" => MessageKind::Contact,
        _ => return None,
    })
}

/// `https://maps.google.com/?q=52.52,13.405` → its latitude and longitude.
fn coordinates(url: &str) -> Option<(f64, f64)> {
    let q = url.split_once("q=")?.1;
    let q = q.split('&').next()?;
    let (lat, lon) = q.split_once(',')?;
    let (lat, lon): (f64, f64) = (lat.trim().parse().ok()?, lon.trim().parse().ok()?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// The tags WhatsApp puts in file names (`kind_of_file`), at most 16.
const TAGS: [&str; 10] = ["STK", "STICKER", "PTT", "AUDIO", "AUD", "GIF", "VID", "VIDEO", "IMG", "PHOTO"];

/// What kind of file WhatsApp named `name` (`IMG-…`, `00000042-PHOTO-…`).
pub fn kind_of_file(name: &str) -> MessageKind {
    // Compared ignoring case, without an upper-cased copy (one per attachment).
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let ext_is = |options: &[&str]| options.iter().any(|o| ext.eq_ignore_ascii_case(o));
    // The tags: a `-`-separated part that is not the last one (`TAG-` at
    // the start or `-TAG-` inside), found in one pass over the name.
    let mut tags = 0u16;
    let mut parts = name.as_bytes().split(|b| *b == b'-').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_some() && (3..=7).contains(&part.len()) {
            tags |= TAGS.iter().position(|t| part.eq_ignore_ascii_case(t.as_bytes())).map_or(0, |i| 1 << i);
        }
    }
    let has = |tag: &str| TAGS.iter().position(|t| *t == tag).is_some_and(|i| tags & (1 << i) != 0);
    if ext_is(&["VCF"]) {
        MessageKind::Contact
    } else if has("STK") || has("STICKER") {
        MessageKind::Sticker
    } else if has("PTT") || (has("AUDIO") && ext_is(&["OPUS", "OGG"])) {
        MessageKind::Voice
    } else if has("AUD") || has("AUDIO") {
        MessageKind::Audio
    } else if has("GIF") {
        MessageKind::Gif
    } else if has("VID") || has("VIDEO") {
        MessageKind::Video
    } else if has("IMG") || has("PHOTO") || ext_is(&["JPG", "JPEG", "PNG", "HEIC"]) {
        MessageKind::Image
    } else if ext_is(&["MP4", "MOV", "3GP"]) {
        MessageKind::Video
    } else if ext_is(&["OPUS"]) {
        MessageKind::Voice
    } else if ext_is(&["MP3", "M4A", "AAC", "OGG"]) {
        MessageKind::Audio
    } else if ext_is(&["WEBP"]) {
        MessageKind::Sticker
    } else {
        MessageKind::Document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_of_both_platforms() {
        let none = |_: &str| false;
        let there = |n: &str| n == "4f26.jpg";
        assert_eq!(
            classify("IMG-20230630-WA0000.jpg (file attached)", &none),
            Body::Attached { file: "IMG-20230630-WA0000.jpg", caption: None }
        );
        assert_eq!(
            classify("\u{200e}4f26.jpg (Datei angehängt)", &there),
            Body::Attached { file: "4f26.jpg", caption: None }
        );
        assert_eq!(classify("I went home (finally).", &none), Body::Text("I went home (finally)."));
        assert_eq!(
            classify("notes.txt (see above)", &none),
            Body::Text("notes.txt (see above)"),
            "not a file beside it"
        );
        assert_eq!(
            classify("Look! \u{200e}<attached: 00000042-PHOTO-2020-06-07-15-13-20.jpg>", &none),
            Body::Attached { file: "00000042-PHOTO-2020-06-07-15-13-20.jpg", caption: Some("Look!") }
        );
        assert_eq!(classify("\u{200e}image omitted", &none), Body::Omitted(MessageKind::Image));
        assert_eq!(classify("<Media omitted>", &none), Body::Omitted(MessageKind::Other));
        assert_eq!(classify("This message was deleted", &none), Body::Deleted);
        assert_eq!(classify("null", &none), Body::Null);
        assert!(matches!(
            classify("location: https://maps.google.com/?q=52.52,13.405", &none),
            Body::Location { latitude, longitude, .. } if latitude == 52.52 && longitude == 13.405
        ));
        assert_eq!(classify("\u{200e}hello", &none), Body::Text("\u{200e}hello"), "marks in a text are kept");
        assert_eq!(kind_of_file("PTT-20240101-WA0001.opus"), MessageKind::Voice);
        assert_eq!(kind_of_file("00000001-AUDIO-2022-12-31-11-40-26.opus"), MessageKind::Voice);
        assert_eq!(kind_of_file("00000004-Peter.vcf"), MessageKind::Contact);
        assert_eq!(kind_of_file("STK-20230630-WA0003.webp"), MessageKind::Sticker);
        assert_eq!(kind_of_file("Report 2024.pdf"), MessageKind::Document);
        assert_eq!(kind_of_file("IMG-20240101-WA0001.jpg"), MessageKind::Image);
        assert_eq!(kind_of_file("VID-20240101-WA0001.mp4"), MessageKind::Video);
        assert_eq!(kind_of_file("00000007-GIF-2022-12-31-11-40-26.mp4"), MessageKind::Gif);
        assert_eq!(kind_of_file("my-img.mp4"), MessageKind::Video, "a tag only as the last part is no tag");
        assert_eq!(kind_of_file("PTT.opus"), MessageKind::Voice, "by extension");
        assert_eq!(kind_of_file("ptt-20240101-wa0001.OPUS"), MessageKind::Voice, "in any case");
        assert_eq!(kind_of_file("Photo.JpEg"), MessageKind::Image);
        assert_eq!(kind_of_file("00000009-sticker-x.webp"), MessageKind::Sticker);
        assert_eq!(kind_of_file("song.M4a"), MessageKind::Audio);
        assert_eq!(kind_of_file("no extension"), MessageKind::Document);
    }
}
