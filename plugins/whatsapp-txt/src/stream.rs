//! The second pass on two threads. Each transcript is cut into pieces of
//! about `PIECE` bytes; a piece starts at a message whose wall-clock time
//! alone fixes its moment (no hour the clocks skipped or repeated). So
//! nothing read before a cut changes what is read after it: the open
//! message ends there, and a repeated hour needs no earlier moment. The
//! reading threads take every other piece, and the thread that sends
//! batches to the host hands theirs on in piece order, first giving each
//! batch what depends on all before it (the ids' numbers): the messages,
//! their ids and the counts are those one reader would make, only sooner
//! (one thread building messages was most of the import's time).

use crate::import::Plan;
use crate::lines::Lines;
use chatferry_core::producer::Send as SendBatch;
use chatferry_core::zone::{Fit, Zone};
use chatferry_core::{Error, Message, Result};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};

/// A transcript is cut about this often (a piece is a batch or two of
/// messages: the batches waiting between the threads stay few).
pub const PIECE: u64 = 128 << 10;
/// Batches a reading thread may have ready before the sending thread takes
/// them: a piece's worth, so that neither waits for the other's piece.
const AHEAD: usize = 4;
/// The cuts are looked for reading this much at a time.
const CUT_BLOCK: usize = 4 << 10;

/// Bytes `from..to` of the transcript of plan `file` (`to` may be past its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub file: usize,
    pub from: u64,
    pub to: u64,
}

/// The pieces of every transcript, in file order, cut about every `size`
/// bytes. `time` is a line's wall-clock time when it starts a message (the
/// same test the reader makes).
pub fn pieces(
    plans: &[Plan],
    time: impl Fn(&Plan, &str) -> Option<chrono::NaiveDateTime>,
    zone: Zone,
    size: u64,
) -> Vec<Piece> {
    let mut out = Vec::new();
    for (file, plan) in plans.iter().enumerate() {
        let certain = |line: &str| time(plan, line).is_some_and(|t| zone.to_utc(t, None).1 == Fit::Exact);
        for (from, to) in cuts(&plan.file.txt, &plan.file.shown, size, certain) {
            out.push(Piece { file, from, to });
        }
    }
    out
}

/// The byte ranges of the transcript `path`, cut about every `size` bytes
/// at the start of the first line after that which `ok` takes; the last
/// ends at `u64::MAX`.
pub fn cuts(path: &Path, shown: &str, size: u64, ok: impl Fn(&str) -> bool) -> Vec<(u64, u64)> {
    let size = size.max(1);
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut out = Vec::new();
    let mut from = 0u64;
    while from.saturating_add(size) < len {
        match cut_after(path, shown, &ok, from + size) {
            Some(at) if at > from && at < len => {
                out.push((from, at));
                from = at;
            }
            // No place to cut (or a line the reader will refuse): the rest is one piece.
            _ => break,
        }
    }
    out.push((from, u64::MAX));
    out
}

/// Where the first line at or after byte `after` starts that `ok` takes.
fn cut_after(path: &Path, shown: &str, ok: &impl Fn(&str) -> bool, after: u64) -> Option<u64> {
    // From the byte before: when it ends a line, the next line starts at `after`.
    let mut lines = Lines::range(path, shown, after - 1, u64::MAX, vec![0; CUT_BLOCK]).ok()?;
    if !lines.skip_line().ok()? {
        return None;
    }
    loop {
        let at = lines.position();
        let line = lines.next().ok()??;
        if ok(line) {
            return Some(at);
        }
    }
}

/// What a reading thread hands the sending one.
enum Out {
    Batch(Vec<Message>),
    /// The piece is read whole.
    End,
    Failed(Error),
}

/// Reads `pieces` on up to two threads, each with a reader made by `make`;
/// `read` reads one piece into it, sending batches, and says `false` when
/// the importer is gone. Batches go through `hand` and reach `send` in
/// piece order, on this thread. The readers at the end, or `None` when the
/// importer went away first.
pub fn read<W: std::marker::Send>(
    pieces: &[Piece],
    make: impl Fn() -> W + Sync,
    read: impl Fn(&mut W, &Piece, &mut SendBatch) -> Result<bool> + Sync,
    hand: impl FnMut(&Piece, &mut Vec<Message>),
    send: &mut SendBatch,
) -> Result<Option<Vec<W>>> {
    let threads = crate::parallel::threads(pieces.len());
    std::thread::scope(|scope| {
        let mut queues: Vec<Receiver<Out>> = Vec::new();
        let mut handles = Vec::new();
        for first in 0..threads {
            let (tx, rx) = sync_channel::<Out>(AHEAD);
            queues.push(rx);
            let (make, read) = (&make, &read);
            let handle = std::thread::Builder::new()
                .name("whatsapp-txt piece".into())
                .spawn_scoped(scope, move || {
                    let mut reader = make();
                    for piece in pieces.iter().skip(first).step_by(threads) {
                        let mut to_host = |batch: Vec<Message>| tx.send(Out::Batch(batch)).is_ok();
                        match read(&mut reader, piece, &mut to_host) {
                            Ok(true) if tx.send(Out::End).is_ok() => {}
                            Ok(_) => break,
                            Err(e) => {
                                let _ = tx.send(Out::Failed(e));
                                break;
                            }
                        }
                    }
                    reader
                })
                .map_err(|e| Error::internal(format!("cannot start a reading thread ({e})")))?;
            handles.push(handle);
        }
        let handed = hand_on(&queues, pieces, hand, send);
        // The readers stop at their next batch once nobody listens.
        drop(queues);
        let mut readers = Vec::with_capacity(handles.len());
        for h in handles {
            readers.push(h.join().map_err(|_| Error::internal("a whatsapp-txt reading thread panicked"))?);
        }
        Ok(handed?.then_some(readers))
    })
}

/// Passes the batches of piece 0, 1, 2… on; `false` when the importer is gone.
fn hand_on(
    queues: &[Receiver<Out>],
    pieces: &[Piece],
    mut hand: impl FnMut(&Piece, &mut Vec<Message>),
    send: &mut SendBatch,
) -> Result<bool> {
    for (i, piece) in pieces.iter().enumerate() {
        loop {
            match queues[i % queues.len()].recv() {
                Ok(Out::Batch(mut batch)) => {
                    hand(piece, &mut batch);
                    if !send(batch) {
                        return Ok(false);
                    }
                }
                Ok(Out::End) => break,
                Ok(Out::Failed(e)) => return Err(e),
                Err(_) => return Err(Error::internal("a whatsapp-txt reading thread ended early")),
            }
        }
    }
    Ok(true)
}
