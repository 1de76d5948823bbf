//! Streaming messages from a reader that owns its own database connection:
//! the reader runs on a thread and hands batches over a bounded channel, so
//! an importer holds at most a few batches however long the history is.

use crate::error::{Error, Result};
use crate::model::Message;
use crate::report::Report;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;
use std::thread::JoinHandle;

pub struct MessageProducer {
    batches: Option<Receiver<Result<Vec<Message>>>>,
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
        let (tx, rx) = sync_channel::<Result<Vec<Message>>>(2);
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let mut send = |batch: Vec<Message>| tx.send(Ok(batch)).is_ok();
                if let Err(e) = read(&mut send) {
                    let _ = tx.send(Err(e));
                }
            })
            .expect("spawn a reader thread");
        MessageProducer { batches: Some(rx), handle: Some(handle) }
    }

    /// The next batch; empty when the reader is done.
    pub fn next(&mut self) -> Result<Vec<Message>> {
        match self.batches.as_ref().map(|rx| rx.recv()) {
            Some(Ok(batch)) => batch,
            _ => Ok(Vec::new()),
        }
    }

    /// Stops listening and waits for the reader to end.
    pub fn finish(&mut self) -> Result<()> {
        self.batches = None;
        match self.handle.take() {
            Some(h) => h.join().map_err(|_| Error::internal("the reader thread panicked")),
            None => Ok(()),
        }
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
