//! Streaming messages from a reader that owns its own database connection:
//! the reader runs on a thread and hands batches over a bounded channel, so
//! an importer holds at most a few batches however long the history is.

use crate::adapter::Importer;
use crate::error::{Error, Result};
use crate::model::{Chat, Contact, Header, Message};
use crate::report::Report;
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::Arc;
use std::sync::Mutex;
use std::thread::JoinHandle;

/// A step an importer does to each message after its reader made it, on
/// whichever thread has time: the thread asking for messages when the
/// reader is the slower side (an import into an archive), the reader
/// itself when the consumer is (a conversion writing an app's store) —
/// the reader takes a batch on when the consumer has not yet taken the
/// ones before it. whatsapp-android checks its media files on disk here,
/// the archive reader too. Notes go to the report it is given; the notes
/// of a batch the reader finished travel with it, so the report reads the
/// same whichever thread finished which batch.
pub type Finishing = Arc<dyn Fn(&mut Message, &mut Report) + std::marker::Send + Sync + 'static>;

/// A batch on its way from the reader; `finished`: the finishing step
/// already ran on it, noting `noted`.
struct Batch {
    messages: Vec<Message>,
    finished: bool,
    noted: Report,
}

impl Batch {
    fn new(messages: Vec<Message>, finished: bool) -> Batch {
        Batch { messages, finished, noted: Report::new() }
    }
}

pub struct MessageProducer {
    batches: Option<Receiver<Result<Batch>>>,
    /// Batches handed back to be freed on the reader's thread.
    returned: Option<std::sync::mpsc::Sender<Vec<Message>>>,
    handle: Option<JoinHandle<()>>,
}

/// What the reader calls with each batch; `false` means the importer was
/// dropped and the reader should stop.
pub type Send<'a> = dyn FnMut(Vec<Message>) -> bool + 'a;

impl MessageProducer {
    /// Starts `read` on a thread named `name`. It sends batches through the
    /// given function; an error it returns is delivered after its batches.
    pub fn spawn<F>(name: &str, read: F) -> MessageProducer
    where
        F: FnOnce(&mut Send) -> Result<()> + std::marker::Send + 'static,
    {
        Self::spawn_finishing(name, None, read)
    }

    /// Like `spawn`; when the consumer is behind (the channel is full), the
    /// reader runs the finishing step on a batch itself before it waits.
    fn spawn_finishing<F>(name: &str, finishing: Option<Finishing>, read: F) -> MessageProducer
    where
        F: FnOnce(&mut Send) -> Result<()> + std::marker::Send + 'static,
    {
        let (tx, rx) = sync_channel::<Result<Batch>>(2);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<Message>>();
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let mut send = |messages: Vec<Message>| {
                    while let Ok(old) = back_rx.try_recv() {
                        drop(old);
                    }
                    let Some(step) = &finishing else {
                        return tx.send(Ok(Batch::new(messages, true))).is_ok();
                    };
                    match tx.try_send(Ok(Batch::new(messages, false))) {
                        Ok(()) => true,
                        Err(TrySendError::Full(Ok(mut batch))) => {
                            for m in &mut batch.messages {
                                step(m, &mut batch.noted);
                            }
                            batch.finished = true;
                            tx.send(Ok(batch)).is_ok()
                        }
                        Err(_) => false,
                    }
                };
                if let Err(e) = read(&mut send) {
                    let _ = tx.send(Err(e));
                }
            })
            .expect("spawn a reader thread");
        MessageProducer { batches: Some(rx), returned: Some(back_tx), handle: Some(handle) }
    }

    /// The next batch and whether it is finished; empty when the reader is
    /// done.
    fn next_batch(&mut self) -> Result<Batch> {
        match self.batches.as_ref().map(|rx| rx.recv()) {
            Some(Ok(batch)) => batch,
            _ => Ok(Batch::new(Vec::new(), true)),
        }
    }

    /// The next batch; empty when the reader is done.
    pub fn next(&mut self) -> Result<Vec<Message>> {
        self.next_batch().map(|b| b.messages)
    }

    /// Hands a batch back to be freed on the reader's thread.
    pub fn recycle(&mut self, batch: Vec<Message>) {
        if let Some(tx) = &self.returned {
            let _ = tx.send(batch);
        }
    }

    /// Stops listening and waits for the reader to end.
    pub fn finish(&mut self) -> Result<()> {
        self.batches = None;
        self.returned = None;
        match self.handle.take() {
            Some(h) => h.join().map_err(|_| Error::internal("the reader thread panicked")),
            None => Ok(()),
        }
    }
}

/// The reader an importer starts on its first `next_messages`: given the
/// batch size and the shared report, it sends batches until done.
pub type Reader = Box<dyn FnOnce(usize, &Mutex<Report>, &mut Send) -> Result<()> + std::marker::Send + 'static>;

/// The messages of an importer, read by a `Reader` on a thread of their
/// own started on the first `next`; the report the reader adds to; batches
/// handed back to be freed on that thread; the finishing step, if any, and
/// what it noted, in message order.
pub struct ReaderMessages {
    name: String,
    reader: Option<Reader>,
    producer: Option<MessageProducer>,
    report: Arc<Mutex<Report>>,
    finishing: Option<(Finishing, Report)>,
}

impl ReaderMessages {
    /// `report` holds what opening the store noted.
    pub fn new(name: &str, report: Report, reader: Reader) -> ReaderMessages {
        ReaderMessages {
            name: name.to_string(),
            reader: Some(reader),
            producer: None,
            report: Arc::new(Mutex::new(report)),
            finishing: None,
        }
    }

    /// Runs `step` on every message before `next` returns it.
    pub fn finishing_each(mut self, step: Finishing) -> ReaderMessages {
        self.finishing = Some((step, Report::new()));
        self
    }

    /// The next batch (at most `max`, the size the reader is started with).
    pub fn next(&mut self, max: usize) -> Result<Vec<Message>> {
        if let Some(reader) = self.reader.take() {
            let report = Arc::clone(&self.report);
            let size = max.max(1);
            let finishing = self.finishing.as_ref().map(|(step, _)| Arc::clone(step));
            self.producer =
                Some(MessageProducer::spawn_finishing(&self.name, finishing, move |send| reader(size, &report, send)));
        }
        let Some(p) = &mut self.producer else { return Ok(Vec::new()) };
        let mut batch = p.next_batch()?;
        if let Some((step, noted)) = &mut self.finishing {
            if batch.finished {
                noted.merge(batch.noted);
            } else {
                for m in &mut batch.messages {
                    step(m, noted);
                }
            }
        }
        Ok(batch.messages)
    }

    pub fn recycle(&mut self, batch: Vec<Message>) {
        match &mut self.producer {
            Some(p) => p.recycle(batch),
            None => drop(batch),
        }
    }

    /// Waits for the reader; the report with everything it noted.
    pub fn finish(&mut self) -> Result<Report> {
        if let Some(mut p) = self.producer.take() {
            p.finish()?;
        }
        let mut report = std::mem::take(&mut *self.report.lock().map_err(|_| Error::internal("report lock poisoned"))?);
        if let Some((_, noted)) = &mut self.finishing {
            report.merge(std::mem::take(noted));
        }
        Ok(report)
    }
}

/// An importer over a store whose header, contacts and chats were read when
/// it was opened (they are few) and whose messages stream from a reader
/// thread started on the first `next_messages`. The SQLite adapters return
/// one of these, so the batching, the thread and the report live here once.
pub struct StreamedImporter {
    header: Header,
    contacts: std::vec::IntoIter<Contact>,
    chats: std::vec::IntoIter<Chat>,
    messages: ReaderMessages,
    /// What must outlive the conversion: the files the messages' media
    /// point at (a decrypted backup's private folder). Exporters copy
    /// media after the reader has finished, so the reader may not own it.
    _keep: Vec<Box<dyn std::any::Any + std::marker::Send>>,
}

impl StreamedImporter {
    /// `report` holds what opening the store noted; the reader adds to it.
    pub fn new(
        name: &str,
        header: Header,
        contacts: Vec<Contact>,
        chats: Vec<Chat>,
        report: Report,
        reader: Reader,
    ) -> StreamedImporter {
        StreamedImporter {
            header,
            contacts: contacts.into_iter(),
            chats: chats.into_iter(),
            messages: ReaderMessages::new(name, report, reader),
            _keep: Vec::new(),
        }
    }

    /// Keeps `guard` until the importer is dropped.
    pub fn keeping(mut self, guard: impl std::any::Any + std::marker::Send) -> StreamedImporter {
        self._keep.push(Box::new(guard));
        self
    }

    /// Runs `step` on every message before `next_messages` returns it.
    pub fn finishing_each(mut self, step: Finishing) -> StreamedImporter {
        self.messages = self.messages.finishing_each(step);
        self
    }
}

impl Importer for StreamedImporter {
    fn header(&mut self) -> Result<Header> {
        Ok(self.header.clone())
    }

    fn next_contacts(&mut self, max: usize) -> Result<Vec<Contact>> {
        Ok(self.contacts.by_ref().take(max).collect())
    }

    fn next_chats(&mut self, max: usize) -> Result<Vec<Chat>> {
        Ok(self.chats.by_ref().take(max).collect())
    }

    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>> {
        self.messages.next(max)
    }

    fn recycle(&mut self, batch: Vec<Message>) {
        self.messages.recycle(batch)
    }

    fn wants_batches_back(&self) -> bool {
        true
    }

    fn finish(&mut self) -> Result<Report> {
        self.messages.finish()
    }
}

/// Fills batches inside a reader: collects messages and, when a batch is
/// full, merges what the reader noted for the report into the importer's
/// shared report and sends the batch on.
pub struct Batcher<'r> {
    size: usize,
    batch: Vec<Message>,
    /// Notes and counts the reader makes while reading.
    pub report: Report,
    shared: &'r Mutex<Report>,
}

impl<'r> Batcher<'r> {
    pub fn new(size: usize, shared: &'r Mutex<Report>) -> Batcher<'r> {
        Batcher { size: size.max(1), batch: Vec::with_capacity(size.max(1)), report: Report::new(), shared }
    }

    /// Adds a message; `false` means the importer is gone: stop reading.
    pub fn push(&mut self, m: Message, send: &mut Send) -> Result<bool> {
        self.batch.push(m);
        if self.batch.len() < self.size {
            return Ok(true);
        }
        self.merge_report()?;
        Ok(send(std::mem::replace(&mut self.batch, Vec::with_capacity(self.size))))
    }

    /// Sends what is left.
    pub fn finish(mut self, send: &mut Send) -> Result<()> {
        self.merge_report()?;
        if !self.batch.is_empty() {
            send(std::mem::take(&mut self.batch));
        }
        Ok(())
    }

    fn merge_report(&mut self) -> Result<()> {
        self.shared
            .lock()
            .map_err(|_| Error::internal("report lock poisoned"))?
            .merge(std::mem::take(&mut self.report));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_batches_then_the_error_then_nothing() {
        let mut p = MessageProducer::spawn("test", |send| {
            for i in 0..3 {
                send(vec![Message { id: i.to_string(), ..Default::default() }]);
            }
            Err(Error::bad_input("row 4 is damaged"))
        });
        for i in 0..3 {
            assert_eq!(p.next().unwrap()[0].id, i.to_string());
        }
        assert_eq!(p.next().unwrap_err().message, "row 4 is damaged");
        assert!(p.next().unwrap().is_empty());
        p.finish().unwrap();
    }

    #[test]
    fn the_batcher_sends_full_batches_then_the_rest_with_its_notes() {
        let shared = Mutex::new(Report::new());
        let mut sent: Vec<usize> = Vec::new();
        let mut send = |b: Vec<Message>| {
            sent.push(b.len());
            true
        };
        let mut b = Batcher::new(2, &shared);
        for _ in 0..5 {
            b.report.note("n");
            assert!(b.push(Message::default(), &mut send).unwrap());
        }
        b.finish(&mut send).unwrap();
        assert_eq!(sent, [2, 2, 1]);
        assert_eq!(shared.lock().unwrap().notes.len(), 5);
    }

    #[test]
    fn a_streamed_importer_serves_what_was_read_then_the_readers_batches_and_notes() {
        let mut opened = Report::new();
        opened.note("opened");
        let chats = vec![Chat { id: "c".into(), ..Default::default() }];
        let mut imp = StreamedImporter::new(
            "test",
            Header::default(),
            vec![Contact::default(), Contact::default()],
            chats,
            opened,
            Box::new(|size, report, send| {
                assert_eq!(size, 2, "the reader gets the host's batch size");
                report.lock().unwrap().note("read");
                send(vec![Message::default(), Message::default()]);
                send(vec![Message::default()]);
                Ok(())
            }),
        );
        assert_eq!(imp.next_contacts(1).unwrap().len(), 1);
        assert_eq!(imp.next_contacts(5).unwrap().len(), 1);
        assert!(imp.next_contacts(5).unwrap().is_empty());
        assert_eq!(imp.next_chats(5).unwrap()[0].id, "c");
        assert_eq!(imp.next_messages(2).unwrap().len(), 2);
        assert_eq!(imp.next_messages(2).unwrap().len(), 1);
        assert!(imp.next_messages(2).unwrap().is_empty());
        assert_eq!(imp.finish().unwrap().notes, ["opened", "read"]);
    }

    /// A reader sending batch after batch (`b-k` ids) once `go` says so
    /// (after the first batch), and a finishing step recording which
    /// thread finished each message.
    fn recording_importer(
        batches: usize,
        go: std::sync::mpsc::Receiver<()>,
    ) -> (StreamedImporter, Arc<Mutex<Vec<(String, std::thread::ThreadId)>>>) {
        let record = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&record);
        let imp = StreamedImporter::new(
            "test",
            Header::default(),
            vec![],
            vec![],
            Report::new(),
            Box::new(move |_, report, send| {
                report.lock().unwrap().note("read");
                for b in 0..batches {
                    if b == 1 {
                        go.recv().unwrap();
                    }
                    send((0..3).map(|k| Message { id: format!("{b}-{k}"), ..Default::default() }).collect());
                }
                Ok(())
            }),
        )
        .finishing_each(Arc::new(move |m, report| {
            seen.lock().unwrap().push((m.id.clone(), std::thread::current().id()));
            m.text = Some(format!("finished {}", m.id));
            report.note(format!("checked {}", m.id)); // one line each, not folded
        }));
        (imp, record)
    }

    #[test]
    fn the_asking_thread_finishes_the_batches_of_a_reader_it_keeps_up_with() {
        let (go, wait) = std::sync::mpsc::channel();
        let (mut imp, record) = recording_importer(1, wait);
        drop(go);
        let batch = imp.next_messages(10).unwrap();
        let texts: Vec<_> = batch.iter().map(|m| m.text.as_deref().unwrap()).collect();
        assert_eq!(texts, ["finished 0-0", "finished 0-1", "finished 0-2"]);
        assert!(imp.next_messages(10).unwrap().is_empty());
        let me = std::thread::current().id();
        assert!(record.lock().unwrap().iter().all(|(_, t)| *t == me));
        assert_eq!(imp.finish().unwrap().notes, ["read", "checked 0-0", "checked 0-1", "checked 0-2"]);
    }

    #[test]
    fn a_reader_ahead_of_a_slow_consumer_finishes_batches_itself_each_exactly_once() {
        let (go, wait) = std::sync::mpsc::channel();
        let (mut imp, record) = recording_importer(4, wait);
        let mut got = imp.next_messages(3).unwrap(); // starts the reader; batch 0
        go.send(()).unwrap(); // batches 1 and 2 fill the channel; batch 3 finds it full
        let waited = std::time::Instant::now();
        while !record.lock().unwrap().iter().any(|(id, _)| id.starts_with("3-")) {
            assert!(waited.elapsed().as_secs() < 30, "the reader never finished batch 3 itself");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        loop {
            let batch = imp.next_messages(3).unwrap();
            if batch.is_empty() {
                break;
            }
            got.extend(batch);
        }
        let report = imp.finish().unwrap();
        let ids: Vec<_> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 12);
        assert!(got.iter().all(|m| m.text.as_deref() == Some(&*format!("finished {}", m.id))));
        let record = record.lock().unwrap();
        assert_eq!(record.len(), 12, "each message finished once: {record:?}");
        let me = std::thread::current().id();
        for (id, thread) in record.iter() {
            assert_eq!(*thread == me, !id.starts_with("3-"), "{id} finished on the wrong thread");
        }
        // The reader's own notes, then the finishing step's in message order,
        // whichever thread finished which batch.
        let mut expected = vec!["read".to_string()];
        expected.extend(ids.iter().map(|id| format!("checked {id}")));
        assert_eq!(report.notes, expected);
    }

    #[test]
    fn a_dropped_consumer_stops_the_reader() {
        let mut p = MessageProducer::spawn("test", |send| {
            let mut n = 0;
            while send(vec![Message::default()]) {
                n += 1;
                assert!(n < 1_000_000, "the reader never noticed");
            }
            Ok(())
        });
        p.next().unwrap();
        p.finish().unwrap();
    }
}
