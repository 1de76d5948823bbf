//! The template adapter, driven directly: export a small history, import it
//! back, and check what survives and what the report says.

use chatferry_core::pipeline::{convert, NoProgress};
use chatferry_core::*;
use chatferry_plugin_template::TsvAdapter;

/// An in-memory source, the simplest possible importer.
struct Source {
    contacts: Vec<Contact>,
    chats: Vec<Chat>,
    messages: Vec<Message>,
}

impl Importer for Source {
    fn header(&mut self) -> Result<Header> {
        Ok(Header { source_adapter: "memory".into(), model_version: MODEL_VERSION.into(), ..Default::default() })
    }
    fn next_contacts(&mut self, max: usize) -> Result<Vec<Contact>> {
        let n = max.min(self.contacts.len());
        Ok(self.contacts.drain(..n).collect())
    }
    fn next_chats(&mut self, max: usize) -> Result<Vec<Chat>> {
        let n = max.min(self.chats.len());
        Ok(self.chats.drain(..n).collect())
    }
    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>> {
        let n = max.min(self.messages.len());
        Ok(self.messages.drain(..n).collect())
    }
}

fn sample() -> Source {
    let text = |id: &str, t: i64, body: &str| Message {
        id: id.into(),
        chat: "g1".into(),
        sender: Some("alice".into()),
        timestamp_ms: t,
        kind: MessageKind::Text,
        text: Some(body.into()),
        ..Default::default()
    };
    let mut image = text("m3", 2_147_483_648_000, "");
    image.kind = MessageKind::Image;
    image.text = None;
    image.media =
        Some(Media { mime: Some("image/jpeg".into()), caption: Some("at the lake".into()), ..Default::default() });
    let mut reply = text("m2", 0, "Bob:\nthis is not a sender prefix\twith a tab");
    reply.reply_to = Some("m1".into());
    reply.from_me = true;
    reply.sender = None;
    Source {
        contacts: vec![Contact { id: "alice".into(), name: Some("Alice, A.".into()), ..Default::default() }],
        chats: vec![Chat {
            id: "g1".into(),
            kind: ChatKind::Group,
            title: Some("家族 👨‍👩‍👧 العائلة".into()),
            participants: vec![Participant { contact: "alice".into(), ..Default::default() }],
            ..Default::default()
        }],
        messages: vec![text("m1", -347_155_200_000, "before 2001 — مرحبا"), reply, image],
    }
}

#[test]
fn export_then_import_keeps_text_and_reports_downgrades() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tsv");
    let mut exporter = TsvAdapter.open_exporter(&out, &Options::new()).unwrap();
    let report = convert(&mut sample(), exporter.as_mut(), &mut NoProgress).unwrap();
    assert_eq!(report.messages_read(), 3);
    assert_eq!(report.written[&MessageKind::Text].native, 2);
    assert_eq!(report.written[&MessageKind::Image].downgraded, 1);
    assert_eq!(report.reasons.len(), 1);

    assert_eq!(TsvAdapter.probe(&out).unwrap(), 90);
    assert_eq!(TsvAdapter.probe(dir.path()).unwrap(), 0);

    let mut importer = TsvAdapter.open_importer(&out, &Options::new()).unwrap();
    importer.header().unwrap();
    let contacts = importer.next_contacts(10).unwrap();
    assert_eq!(contacts[0].name.as_deref(), Some("Alice, A."));
    assert!(importer.next_contacts(10).unwrap().is_empty());
    let chats = importer.next_chats(10).unwrap();
    assert_eq!(chats[0].title.as_deref(), Some("家族 👨‍👩‍👧 العائلة"));
    assert_eq!(chats[0].participants[0].contact, "alice");
    assert!(importer.next_chats(10).unwrap().is_empty());
    let msgs = importer.next_messages(2).unwrap();
    assert_eq!(msgs.len(), 2, "batches respect max");
    assert_eq!(msgs[0].timestamp_ms, -347_155_200_000);
    assert_eq!(msgs[1].text.as_deref(), Some("Bob:\nthis is not a sender prefix\twith a tab"));
    assert_eq!(msgs[1].reply_to.as_deref(), Some("m1"));
    assert!(msgs[1].from_me);
    assert_eq!(msgs[1].sender, None);
    let rest = importer.next_messages(10).unwrap();
    assert_eq!(rest[0].kind, MessageKind::Image);
    assert_eq!(rest[0].timestamp_ms, 2_147_483_648_000);
    assert_eq!(rest[0].text.as_deref(), Some("[image: image/jpeg] at the lake"));
    assert!(importer.next_messages(10).unwrap().is_empty());
}

#[test]
fn a_damaged_file_is_a_one_line_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tsv");
    let mut exporter = TsvAdapter.open_exporter(&out, &Options::new()).unwrap();
    convert(&mut sample(), exporter.as_mut(), &mut NoProgress).unwrap();
    let path = out.join("messages.tsv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("g1\tm9\tnot-a-time\t0\t\\N\ttext\thi\t\\N\n");
    std::fs::write(&path, text).unwrap();
    let mut importer = TsvAdapter.open_importer(&out, &Options::new()).unwrap();
    importer.next_contacts(10).unwrap();
    importer.next_chats(10).unwrap();
    let err = importer.next_messages(100).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(err.message.contains("messages.tsv line 5") && err.message.contains("not-a-time"), "{}", err.message);
}

#[test]
fn unknown_time_format_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        TsvAdapter.open_exporter(&dir.path().join("x"), &Options::new().with("time-format", "weird")).err().unwrap();
    assert_eq!(err.kind, ErrorKind::Usage);
}
