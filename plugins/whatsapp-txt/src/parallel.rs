//! Several things at once: folders listed, and the first pass over the
//! pieces of each transcript, work that is independent and was a fifth of
//! the import done one after the other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many threads `jobs` jobs get: up to two (more would only compete
/// with the reader and the host for a small machine's cores), at least one.
pub fn threads(jobs: usize) -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(2).min(jobs).max(1)
}

/// `f` of each item, in the items' order, on up to two threads.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = items.get(i) else { return };
        let result = f(item);
        done.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[i] = Some(result);
    };
    // A panic in a worker is carried on by `scope`, as if it were this thread's.
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    done.into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was done"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::map(&items, |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(super::map(&[] as &[u32], |i| *i).is_empty());
    }
}
