//! The importer: the first pass (people and chats, `people.rs`) when it is
//! opened, the second on a thread of its own, a message at a time, each
//! lifted into the canonical model (`message.rs`) and handed on in batches.

use crate::message::{Lift, Tally};
use crate::people::{ChatPlan, Roster};
use crate::raw::Raw;
use crate::source::{locate, Source};
use crate::walk::{walk, ChatHead, Shape, Sink, WalkError};
use chatferry_core::producer::{Reader, StreamedImporter};
use chatferry_core::zone::Zone;
use chatferry_core::{Chat, Error, Header, Message, Options, Report, Result, MODEL_VERSION};
use std::path::Path;
use std::sync::Mutex;

/// The words a walk is stopped with when the importer was dropped.
const STOPPED: &str = "chatferry: the reading was stopped";

/// The file both passes read (in large blocks: the walk keeps a window of its own).
fn reader(json: &Path) -> Result<std::fs::File> {
    chatferry_core::small_file::open_regular(json).map_err(|e| Error::io(json, "open", e))
}

/// A walk's failure in words a person can act on.
fn read_error(shown: &str, e: WalkError) -> Error {
    match e {
        WalkError::Eof => Error::bad_input(format!(
            "{shown}: result.json ends in the middle: the export was interrupted or the file was cut short; \
             export again in Telegram Desktop and wait for \"Done\""
        )),
        WalkError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => Error::bad_input(format!("{shown}: {e}")),
        WalkError::Io(e) => Error::io(Path::new(shown), "read", e),
        WalkError::Syntax { at, what } => Error::bad_input(format!(
            "{shown}: result.json is not readable JSON near byte {at} ({what}); it is damaged or not Telegram's export"
        )),
        WalkError::Data { at, what } => Error::bad_input(format!(
            "{shown}: result.json does not have the shape of a Telegram export near byte {at} ({what})"
        )),
        WalkError::Stopped(why) => Error::internal(why),
    }
}

/// The importer: people and chats read at once, messages on a thread of
/// their own (core's `StreamedImporter`).
pub fn open(input: &Path, options: &Options) -> Result<StreamedImporter> {
    let zone = Zone::from_option(options.get("timezone"))?;
    let mut source = locate(input)?;
    let unpacked = source.unpacked.take();
    let mut roster = Roster::default();
    let outline = walk(reader(&source.json)?, &mut roster).map_err(|e| read_error(&source.shown, e))?;
    if outline.shape == Shape::Neither {
        return Err(Error::bad_input(format!(
            "{}: this JSON is not a Telegram Desktop export (it has neither `chats` nor `messages` at its top)",
            source.shown
        )));
    }
    let owner = roster.owner_id(options.get("me"));
    let plans = roster.plans(owner.as_deref());
    let mut report = Report::new();
    if owner.is_none() {
        report.note(
            "this export does not say which person is you (a single chat's export never does): every message \
             is read as someone else's; give --opt me=YOUR NAME (as the export writes it) or your user id",
        );
    }
    notes_about_chats(&plans, &mut report);
    let contacts = roster.contacts(owner.as_deref());
    let header = Header {
        source_adapter: crate::ADAPTER_ID.into(),
        model_version: MODEL_VERSION.into(),
        owner: contacts.first().filter(|c| Some(c.id.as_str()) == owner.as_deref()).cloned(),
        estimated_messages: Some(roster.messages),
        extras: Default::default(),
    };
    let chats: Vec<Chat> = plans.iter().map(|p| p.chat.clone()).collect();
    let lift = Lift::new(&source, &roster, plans, owner, zone);
    let reader: Reader = Box::new(move |size, report, send| read_messages(source, lift, size, report, send));
    // Files are hashed by whoever writes them (the archive, the app stores), as for every importer.
    let importer = StreamedImporter::new("telegram-json", header, contacts, chats, report, reader);
    // A zip's unpacked files: kept as long as the importer, as writers copy
    // media after the reading ends.
    Ok(match unpacked {
        Some(dir) => importer.keeping(dir),
        None => importer,
    })
}

fn notes_about_chats(plans: &[ChatPlan], report: &mut Report) {
    let own_only: Vec<&str> =
        plans.iter().filter(|p| p.own_only).map(|p| p.chat.title.as_deref().unwrap_or(&p.chat.id)).collect();
    if !own_only.is_empty() {
        let shown: Vec<String> = own_only.iter().take(8).map(|t| format!("{t:?}")).collect();
        report.note(format!(
            "{} only your own messages ({}{}): Telegram exports only your messages of left chats, public \
             groups and, unless told otherwise, private groups and channels; export such a chat on its own \
             (its ⋮ menu → Export chat history) for everyone's",
            chatferry_core::text_form::counted(own_only.len() as u64, "chat holds", "chats hold"),
            shown.join(", "),
            if own_only.len() > 8 { ", …" } else { "" }
        ));
    }
}

/// The second pass's sink: each message lifted and batched.
struct Batches<'a, 'b> {
    lift: Lift,
    batch: Vec<Message>,
    size: usize,
    send: &'a mut chatferry_core::producer::Send<'b>,
    stopped: bool,
}

impl Sink for Batches<'_, '_> {
    type Message = Raw;
    fn chat(&mut self, head: &ChatHead) -> std::result::Result<(), String> {
        self.lift.start_chat(head.index);
        Ok(())
    }
    fn message(&mut self, raw: Raw) -> std::result::Result<(), String> {
        if let Some(m) = self.lift.message(raw) {
            self.batch.push(m);
        }
        if self.batch.len() >= self.size {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(self.size));
            if !(self.send)(full) {
                self.stopped = true;
                return Err(STOPPED.into());
            }
        }
        Ok(())
    }
}

fn read_messages(
    source: Source,
    lift: Lift,
    size: usize,
    report: &Mutex<Report>,
    send: &mut chatferry_core::producer::Send,
) -> Result<()> {
    let mut sink = Batches { lift, batch: Vec::with_capacity(size), size, send, stopped: false };
    let walked = walk(reader(&source.json)?, &mut sink);
    if sink.stopped {
        return Ok(());
    }
    let outline = walked.map_err(|e| read_error(&source.shown, e))?;
    if !sink.batch.is_empty() {
        let last = std::mem::take(&mut sink.batch);
        (sink.send)(last);
    }
    let tally: Tally = sink.lift.tally;
    let mut r = report.lock().map_err(|_| Error::internal("report lock poisoned"))?;
    tally.notes(&mut r);
    if outline.escapes + outline.unquoted_ids > 0 {
        r.note(format!(
            "Telegram Desktop's invalid JSON was read as meant: {} written as \\x escapes, {} without quotes",
            chatferry_core::text_form::counted(outline.escapes, "control character", "control characters"),
            chatferry_core::text_form::counted(outline.unquoted_ids, "custom-emoji path", "custom-emoji paths")
        ));
    }
    Ok(())
}
