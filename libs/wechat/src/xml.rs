//! WeChat keeps most non-text messages as small XML documents
//! (`<msg><appmsg>…</appmsg></msg>`, `<sysmsg type="revokemsg">…`). This
//! reads one into a flat view: the text and attributes of the first
//! element at each path (`msg/appmsg/title`), which is all a reader needs.
//! Building goes the other way with escaping on every value.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Doc {
    texts: HashMap<String, String>,
    attrs: HashMap<String, Vec<(String, String)>>,
}

/// Elements nested deeper than this are not read: no WeChat message comes
/// near it (theirs are 3–6 deep), and a crafted one 100,000 deep would
/// otherwise cost time and memory for every level.
pub const MAX_DEPTH: usize = 256;

/// What `Doc::parse_checked` made of a message body.
#[derive(Debug)]
pub enum Parsed {
    Doc(Doc),
    /// Plain text, or damaged XML.
    NotXml,
    /// Nested deeper than `MAX_DEPTH`: to be kept as raw text.
    TooDeep,
}

impl Doc {
    /// Parses `content`; `None` when it is not XML (plain text, damaged, or
    /// nested deeper than `MAX_DEPTH`).
    pub fn parse(content: &str) -> Option<Doc> {
        match Doc::parse_checked(content) {
            Parsed::Doc(d) => Some(d),
            Parsed::NotXml | Parsed::TooDeep => None,
        }
    }

    /// Parses `content` in one pass, linear in its size: the current path
    /// (`msg/appmsg/title`) is one string grown and cut back as elements
    /// open and close.
    pub fn parse_checked(content: &str) -> Parsed {
        let Some(start) = content.find('<') else { return Parsed::NotXml };
        if !content[..start].trim().is_empty() {
            return Parsed::NotXml;
        }
        let mut reader = quick_xml::Reader::from_str(&content[start..]);
        let mut doc = Doc::default();
        let mut path = String::new();
        // Where `path` ended before each open element.
        let mut cuts: Vec<usize> = Vec::new();
        let mut seen_root = false;
        let open = |path: &mut String, cuts: &mut Vec<usize>, name: &[u8]| {
            cuts.push(path.len());
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(&String::from_utf8_lossy(name));
        };
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    if cuts.len() >= MAX_DEPTH {
                        return Parsed::TooDeep;
                    }
                    open(&mut path, &mut cuts, e.name().as_ref());
                    doc.record_attrs(&path, &e);
                    seen_root = true;
                }
                Ok(Event::Empty(e)) => {
                    if cuts.len() >= MAX_DEPTH {
                        return Parsed::TooDeep;
                    }
                    open(&mut path, &mut cuts, e.name().as_ref());
                    doc.record_attrs(&path, &e);
                    path.truncate(cuts.pop().expect("just pushed"));
                    seen_root = true;
                }
                Ok(Event::End(_)) => {
                    if let Some(cut) = cuts.pop() {
                        path.truncate(cut);
                    }
                }
                Ok(Event::Text(t)) => {
                    if let Ok(s) = t.unescape() {
                        doc.add_text(&path, &s);
                    }
                }
                Ok(Event::CData(c)) => {
                    doc.add_text(&path, &String::from_utf8_lossy(&c));
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(_) => return Parsed::NotXml,
            }
        }
        if seen_root {
            Parsed::Doc(doc)
        } else {
            Parsed::NotXml
        }
    }

    fn record_attrs(&mut self, path: &str, e: &quick_xml::events::BytesStart) {
        if self.attrs.contains_key(path) {
            return;
        }
        let list = e
            .attributes()
            .flatten()
            .map(|a| {
                let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                let v = a.unescape_value().map(|v| v.into_owned()).unwrap_or_default();
                (k, v)
            })
            .collect();
        self.attrs.insert(path.to_string(), list);
    }

    fn add_text(&mut self, path: &str, s: &str) {
        if path.is_empty() {
            return;
        }
        match self.texts.get_mut(path) {
            Some(t) => t.push_str(s),
            None => {
                self.texts.insert(path.to_string(), s.to_string());
            }
        }
    }

    /// The trimmed text of the first element at `path`, if not empty.
    pub fn text(&self, path: &str) -> Option<String> {
        self.texts.get(path).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }

    pub fn attr(&self, path: &str, name: &str) -> Option<String> {
        self.attrs.get(path)?.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty())
    }
}

/// The group nicknames in a `<RoomData><Member UserName="…"><DisplayName>…`
/// document (WeChat keeps them per group): (username, display name).
pub fn room_display_names(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut member: Option<String> = None;
    let mut in_name = false;
    let mut name = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.name().as_ref() == b"Member" => {
                member = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == b"UserName")
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
            }
            Ok(Event::Start(e)) if e.name().as_ref() == b"DisplayName" => {
                in_name = true;
                name.clear();
            }
            Ok(Event::Text(t)) if in_name => name.push_str(&t.unescape().unwrap_or_default()),
            Ok(Event::CData(c)) if in_name => name.push_str(&String::from_utf8_lossy(&c)),
            Ok(Event::End(e)) if e.name().as_ref() == b"DisplayName" => {
                in_name = false;
                if let Some(m) = &member {
                    if !name.trim().is_empty() {
                        out.push((m.clone(), name.trim().to_string()));
                    }
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == b"Member" => member = None,
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

/// `<RoomData>` naming each member's group nickname.
pub fn room_data(names: &[(String, String)]) -> String {
    let mut s = String::from("<RoomData>");
    for (user, name) in names {
        s.push_str(&format!("<Member UserName=\"{}\"><DisplayName>{}</DisplayName></Member>", esc(user), esc(name)));
    }
    s.push_str("</RoomData>");
    s
}

/// Escapes a value for an element's text or an attribute.
pub fn esc(s: &str) -> String {
    escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_nested_100000_deep_is_refused_in_linear_time() {
        // Before: 32,000 levels took 2.8 s and 1.15 GB (a path string and a
        // map key per level, each as long as the depth).
        // It stops at level 257; speed is the benchmark's business, not a test's.
        let n = 100_000;
        let doc = format!("<msg>{}x{}</msg>", "<a b=\"1\">".repeat(n), "</a>".repeat(n));
        assert!(matches!(Doc::parse_checked(&doc), Parsed::TooDeep));
        // Wide rather than deep: 50,000 siblings at depth 200 share one path.
        let wide = format!("<msg>{}{}{}</msg>", "<a>".repeat(200), "<b>x</b>".repeat(50_000), "</a>".repeat(200));
        let Parsed::Doc(d) = Doc::parse_checked(&wide) else { panic!("a wide document is read") };
        let path = format!("msg/{}b", "a/".repeat(200));
        assert_eq!(d.text(&path).map(|t| t.len()), Some(50_000));
    }

    #[test]
    fn reads_texts_attributes_and_cdata() {
        let d = Doc::parse(
            "<?xml version=\"1.0\"?>\n<msg><appmsg appid=\"wx1\"><title><![CDATA[a < b]]></title><type>57</type>\
             <refermsg><content>wxid_a:\n&lt;hi&gt;</content></refermsg></appmsg>\
             <location x=\"39.9\" y=\"116.4\" poiname=\"天安门 &amp; more\"/></msg>",
        )
        .unwrap();
        assert_eq!(d.text("msg/appmsg/title").as_deref(), Some("a < b"));
        assert_eq!(d.text("msg/appmsg/type").as_deref(), Some("57"));
        assert_eq!(d.text("msg/appmsg/refermsg/content").as_deref(), Some("wxid_a:\n<hi>"));
        assert_eq!(d.attr("msg/appmsg", "appid").as_deref(), Some("wx1"));
        assert_eq!(d.attr("msg/location", "poiname").as_deref(), Some("天安门 & more"));
        assert!(Doc::parse("hello <b>").is_none());
        assert!(Doc::parse("<msg><unclosed></msg>").is_none());
        let deep = format!("<msg>{}{}</msg>", "<a>".repeat(MAX_DEPTH - 1), "</a>".repeat(MAX_DEPTH - 1));
        assert!(matches!(Doc::parse_checked(&deep), Parsed::Doc(_)), "{MAX_DEPTH} levels are read");
        let deeper = format!("<msg>{}{}</msg>", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(matches!(Doc::parse_checked(&deeper), Parsed::TooDeep));
        let names = vec![("wxid_a".to_string(), "小 <A>".to_string()), ("b".to_string(), "Bee".to_string())];
        assert_eq!(room_display_names(&room_data(&names)), names);
    }
}
