//! A few persistent threads that help score a message while cores are idle.
//!
//! Scoring one message takes a millisecond or two: starting a thread per message would cost a
//! good part of that, so helpers are started once and wait for work. The pool knows nothing of
//! rules: a scoring hands it a [`SharedWork`] (`split_scoring::SplitScoring`), and each helper
//! that picks it up calls `help`, which claims parts of the work until none is left.
//!
//! Adaptive by counting: every scoring made through the pool holds a [`Scoring`] while it runs,
//! and asks for helpers only while fewer scorings are in flight than the machine has cores. When
//! every core already scores its own message (the milter under load), no work is shared, so the
//! split costs nothing there: no wake-ups, no handing over of results. The count sees only this
//! pool's scorings, not other processes; with those, a helper may start late, which costs the
//! caller nothing, as it never waits for a helper that has not claimed a part (see `help`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};

/// Helpers per machine at most: the caller parses the message on its own and the prefilter
/// splits in two halves only, so past a few threads the remaining rule work is too small to
/// gain from more (and the other cores are scoring other messages).
const MAX_HELPERS: usize = 3;

/// Work a scoring shares: `help` claims and does parts of it until none is left, and returns
/// at once when there is none. It must not panic: a part that panics is recorded for the
/// caller to rethrow, so a helper thread survives every message.
pub(super) trait SharedWork: Send + Sync {
    fn help(&self);
}

pub struct ScoringPool {
    shared: Arc<PoolShared>,
    /// Helper threads started (fewer than asked if the system refused some).
    helpers: usize,
    /// Scorings that may run at once before none is worth splitting: the machine's cores.
    cores: usize,
    /// Scorings through this pool in flight now, split or not.
    in_flight: AtomicUsize,
}

/// What the pool and its helper threads share; the threads end when the pool is dropped.
struct PoolShared {
    queue: Mutex<Queue>,
    work_arrived: Condvar,
}

struct Queue {
    /// Shared work not yet picked up, once per helper asked for. Work whose caller has finished
    /// stays until a helper takes it and finds nothing left to claim.
    waiting: VecDeque<Arc<dyn SharedWork>>,
    closing: bool,
}

impl ScoringPool {
    /// A pool for a machine with `cores` cores: `cores - 1` helpers (at most `MAX_HELPERS`).
    pub fn new(cores: usize) -> ScoringPool {
        let shared = Arc::new(PoolShared { queue: Mutex::new(Queue { waiting: VecDeque::new(), closing: false }), work_arrived: Condvar::new() });
        let wanted = cores.saturating_sub(1).min(MAX_HELPERS);
        // A helper the system refuses to start is one helper fewer, not an error: scoring
        // still runs on the caller's thread.
        let helpers = (0..wanted)
            .filter(|n| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new().name(format!("rules-helper-{n}")).spawn(move || shared.serve()).is_ok()
            })
            .count();
        ScoringPool { shared, helpers, cores: cores.max(1), in_flight: AtomicUsize::new(0) }
    }

    /// The process's pool, sized for its cores, started on first use: one for the milter and the
    /// CLI alike, kept across rule reloads.
    pub fn for_this_machine() -> &'static ScoringPool {
        static POOL: OnceLock<ScoringPool> = OnceLock::new();
        POOL.get_or_init(|| ScoringPool::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)))
    }

    /// Counts one scoring in flight until the returned guard drops, and tells it how many
    /// helpers it may ask for now.
    pub(super) fn enter(&self) -> Scoring<'_> {
        let in_flight = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        let idle_helpers = self.cores.saturating_sub(in_flight).min(self.helpers);
        Scoring { pool: self, idle_helpers }
    }
}

impl Drop for ScoringPool {
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).closing = true;
        self.shared.work_arrived.notify_all();
    }
}

impl PoolShared {
    /// A helper thread's life: take shared work, help, until the pool closes.
    fn serve(&self) {
        loop {
            let work = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    if queue.closing {
                        return;
                    }
                    if let Some(work) = queue.waiting.pop_front() {
                        break work;
                    }
                    queue = self.work_arrived.wait(queue).unwrap_or_else(PoisonError::into_inner);
                }
            };
            work.help();
        }
    }
}

/// One scoring in flight (see [`ScoringPool::enter`]); uncounted when dropped, unwinding included.
pub(super) struct Scoring<'p> {
    pool: &'p ScoringPool,
    idle_helpers: usize,
}

impl Scoring<'_> {
    /// How many helpers this scoring may ask for: 0 when every core is busy scoring.
    pub(super) fn idle_helpers(&self) -> usize {
        self.idle_helpers
    }

    /// Asks the idle helpers to help with `work`.
    pub(super) fn share(&self, work: &Arc<dyn SharedWork>) {
        let shared = &self.pool.shared;
        let mut queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        for _ in 0..self.idle_helpers {
            queue.waiting.push_back(Arc::clone(work));
            shared.work_arrived.notify_one();
        }
    }
}

impl Drop for Scoring<'_> {
    fn drop(&mut self) {
        self.pool.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use super::{ScoringPool, SharedWork};

    #[test]
    fn helpers_are_asked_for_only_while_a_core_is_idle() {
        let pool = ScoringPool::new(2);
        let first = pool.enter();
        assert_eq!(first.idle_helpers(), 1);
        let second = pool.enter();
        assert_eq!(second.idle_helpers(), 0, "both cores are scoring");
        drop(second);
        drop(first);
        assert_eq!(pool.enter().idle_helpers(), 1);
        assert_eq!(ScoringPool::new(1).enter().idle_helpers(), 0, "one core: nobody to share with");
        assert_eq!(ScoringPool::new(64).enter().idle_helpers(), super::MAX_HELPERS);
    }

    /// Work only a helper does (the test never calls `help` itself).
    #[derive(Default)]
    struct Helped {
        times: Mutex<usize>,
        changed: Condvar,
    }

    impl SharedWork for Helped {
        fn help(&self) {
            *self.times.lock().unwrap() += 1;
            self.changed.notify_all();
        }
    }

    #[test]
    fn an_idle_helper_thread_takes_shared_work_message_after_message() {
        let pool = ScoringPool::new(2);
        let helped = Arc::new(Helped::default());
        let work: Arc<dyn SharedWork> = helped.clone();
        for expected in 1..=3 {
            pool.enter().share(&work);
            let times = helped.changed.wait_timeout_while(helped.times.lock().unwrap(), Duration::from_secs(10), |t| *t < expected).unwrap().0;
            assert_eq!(*times, expected);
        }
    }
}
