//! Several things at once: folders listed, and the first pass over the
//! pieces of each transcript, work that is independent and was a fifth of
//! the import done one after the other; and how many threads the second
//! pass reads on.

use std::sync::{Condvar, Mutex};

/// How many threads `jobs` jobs get: up to two (more would only compete
/// with the reader and the host for a small machine's cores), at least one.
pub fn threads(jobs: usize) -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(2).min(jobs).max(1)
}

/// Runs the jobs `first` and every job they add (`work` puts them in its
/// second argument) on up to two threads, until none is left: a job that
/// finds more work (a folder listed, its transcript to read) lets the other
/// thread start on it at once.
pub fn run<J: Send>(first: Vec<J>, work: impl Fn(J, &mut Vec<J>) + Sync) {
    struct Queue<J> {
        jobs: std::collections::VecDeque<J>,
        busy: usize,
        /// A job panicked: the others stop (the panic goes on through `scope`).
        stopped: bool,
    }
    struct StopOnPanic<'q, J>(&'q Mutex<Queue<J>>, &'q Condvar);
    impl<J> Drop for StopOnPanic<'_, J> {
        fn drop(&mut self) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).stopped = true;
            self.1.notify_all();
        }
    }
    let threads = threads(2);
    let queue = Mutex::new(Queue { jobs: first.into(), busy: 0, stopped: false });
    let changed = Condvar::new();
    let worker = || {
        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if q.stopped {
                return;
            }
            if let Some(job) = q.jobs.pop_front() {
                q.busy += 1;
                drop(q);
                let mut added = Vec::new();
                let stop = StopOnPanic(&queue, &changed);
                work(job, &mut added);
                std::mem::forget(stop);
                q = queue.lock().unwrap_or_else(|p| p.into_inner());
                q.busy -= 1;
                q.jobs.extend(added);
                changed.notify_all();
            } else if q.busy == 0 {
                return;
            } else {
                q = changed.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(worker);
        }
        worker();
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_the_jobs_jobs_add() {
        // Job n adds jobs 2n+1 and 2n+2 below 1000: every number once.
        let seen = std::sync::Mutex::new(Vec::new());
        super::run(vec![0u32], |n, more| {
            seen.lock().unwrap().push(n);
            more.extend([2 * n + 1, 2 * n + 2].into_iter().filter(|m| *m < 1000));
        });
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        super::run(Vec::<u32>::new(), |_, _| unreachable!());
    }

    #[test]
    fn a_job_that_panics_stops_the_others_and_goes_on() {
        let r = std::panic::catch_unwind(|| {
            super::run((0..100u32).collect(), |n, _| {
                assert!(n != 3, "job 3 fails");
                std::thread::sleep(std::time::Duration::from_millis(1));
            })
        });
        assert!(r.is_err());
    }
}
