//! Streaming messages from a reader that owns its own database connection:
//! the reader runs on a thread and hands batches over a bounded channel, so
//! an importer holds at most a few batches however long the history is.

use crate::error::{Error, Result};
use crate::model::Message;
use std::sync::mpsc::{sync_channel, Receiver};
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
