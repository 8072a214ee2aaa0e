//! One message's rules counted on several threads: the caller and the pool's idle helpers.
//!
//! First the literal prefilter, in its two halves (`prefilter::Half`): the caller makes the
//! body half while a helper makes the header half, so a helper's wake-up overlaps work rather
//! than waiting for it. Then the rules.
//!
//! Every non-meta rule reads only the message (`RuleSet::count_rule`: no eval reads another
//! rule's result, and FreeMail's body rewrite depends only on priorities), so the rules can be
//! counted in any order. Those that may count (`RuleSet::countable`) are cut into chunks of
//! `RULES_PER_CLOCK_READ` consecutive rules that threads claim one at a time: rule costs are very uneven (a few backtracking patterns cost as
//! much as hundreds of others), and claiming small chunks lets whichever thread is free take the
//! next one, where halves fixed in advance would leave one core waiting for the other. The caller
//! claims from the first chunk on and helpers from the last one back, until they meet: each rule
//! then runs on the same thread from one message to the next (except near where they meet), so
//! the data its regex touches (its lazy DFA cache, one per thread) stays in that core's caches
//! instead of moving between cores. Splitting still costs instructions (callgrind, 300 scorings
//! of the milter benchmark's messages: ~7% more in all): a helper's regexes take their DFA cache
//! from the regex's pool (the slower path for a thread other than the first user) and build
//! their own DFA states on first use.
//! Each count is written once, by the thread that claimed its chunk, into its own slot; the caller
//! merges nothing, it reads the slots once every chunk is done and runs the metas itself.
//!
//! The work is owned (`Arc`), not borrowed: a helper that picks it up after the caller finished
//! (its core was busy) finds no chunk left and drops it, so the caller never waits for a helper
//! to start, only for chunks already claimed. The deadline is checked before each chunk by every
//! thread; the caller stops waiting at the deadline, and a helper still in a chunk stops at its
//! end. A panic in a chunk is caught where it happens and rethrown on the caller's thread after
//! the other claimed chunks end, so the caller fails as it would alone, and the helper thread
//! lives on for the next message.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use super::engine::{RuleInputs, RuleSet, RULES_PER_CLOCK_READ};
use super::prefilter::Half;
use super::scoring_pool::{Scoring, SharedWork};

pub(super) struct SplitScoring {
    rules: Arc<RuleSet>,
    inputs: RuleInputs,
    deadline: Option<Instant>,
    /// The chunks not yet claimed, `front..back`, as `front | back << 32`: one atomic word, so a
    /// claim from either end sees the other end's claims.
    unclaimed: AtomicU64,
    chunks: usize,
    /// Set after a panic or at the deadline: chunks claimed from then on are skipped.
    stopped: AtomicBool,
    /// Each rule's count as `f64` bits. Written once by the thread that claimed the rule's chunk,
    /// read by the caller after `progress` says every chunk is done (the lock orders the two).
    counts: Vec<AtomicU64>,
    progress: Mutex<Progress>,
    /// Signalled when the last chunk is done; only the caller waits on it.
    all_done: Condvar,
}

#[derive(Default)]
struct Progress {
    chunks_done: usize,
    expired: bool,
    /// The first panic of a chunk, rethrown by the caller.
    panic: Option<Box<dyn Any + Send>>,
}

impl SplitScoring {
    /// Counts every rule of `inputs` with the helpers `scoring` may ask for; `None` once
    /// `deadline` has passed. Returns the counts in rule order, as a sequential scoring would.
    pub(super) fn run(rules: Arc<RuleSet>, inputs: RuleInputs, deadline: Option<Instant>, scoring: &Scoring<'_>) -> Option<Vec<f64>> {
        let n = rules.countable(inputs.score_set()).len();
        let rule_count = rules.rules.len();
        let split = Arc::new(SplitScoring {
            rules,
            inputs,
            deadline,
            unclaimed: AtomicU64::new((n.div_ceil(RULES_PER_CLOCK_READ) as u64) << 32),
            chunks: n.div_ceil(RULES_PER_CLOCK_READ),
            stopped: AtomicBool::new(false),
            counts: (0..rule_count).map(|_| AtomicU64::new(0f64.to_bits())).collect(),
            progress: Mutex::new(Progress::default()),
            all_done: Condvar::new(),
        });
        let work: Arc<dyn SharedWork> = split.clone();
        scoring.share(&work);
        // the prefilter's halves cost about the same: the body half here while a helper makes
        // the header half (or, if none has started yet, the first rule that needs it does)
        split.inputs.prefilter(&split.rules, Half::Body);
        split.work_from(End::Front);
        let mut progress = split.progress.lock().unwrap_or_else(PoisonError::into_inner);
        while progress.chunks_done < split.chunks {
            progress = match deadline {
                None => split.all_done.wait(progress).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let left = d.checked_duration_since(Instant::now())?;
                    split.all_done.wait_timeout(progress, left).unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
        if let Some(payload) = progress.panic.take() {
            drop(progress);
            panic::resume_unwind(payload);
        }
        if progress.expired {
            return None;
        }
        Some(split.counts.iter().map(|c| f64::from_bits(c.load(Ordering::Relaxed))).collect())
    }

    fn has_unclaimed(&self) -> bool {
        let unclaimed = self.unclaimed.load(Ordering::Relaxed);
        unclaimed & u64::from(u32::MAX) < unclaimed >> 32
    }

    /// Claims the next unclaimed chunk from `end`; `None` when every chunk is claimed.
    fn claim(&self, end: End) -> Option<usize> {
        let mut unclaimed = self.unclaimed.load(Ordering::Relaxed);
        loop {
            let (front, back) = (unclaimed & u64::from(u32::MAX), unclaimed >> 32);
            if front >= back {
                return None;
            }
            let (chunk, rest) = match end {
                End::Front => (front, (front + 1) | back << 32),
                End::Back => (back - 1, front | (back - 1) << 32),
            };
            match self.unclaimed.compare_exchange_weak(unclaimed, rest, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(chunk as usize),
                Err(now) => unclaimed = now,
            }
        }
    }

    /// Counts chunks claimed from `end` until none is left. Never panics: a chunk's panic is
    /// recorded for the caller.
    fn work_from(&self, end: End) {
        while let Some(chunk) = self.claim(end) {
            let expired = self.deadline.is_some_and(|d| Instant::now() >= d);
            let outcome = if expired || self.stopped.load(Ordering::Relaxed) { Ok(()) } else { panic::catch_unwind(AssertUnwindSafe(|| self.count_chunk(chunk))) };
            let mut progress = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
            progress.chunks_done += 1;
            progress.expired |= expired;
            if let Err(payload) = outcome {
                progress.panic.get_or_insert(payload);
            }
            if expired || progress.panic.is_some() {
                self.stopped.store(true, Ordering::Relaxed);
            }
            if progress.chunks_done == self.chunks {
                self.all_done.notify_one();
            }
        }
    }

    fn count_chunk(&self, chunk: usize) {
        let start = chunk * RULES_PER_CLOCK_READ;
        let countable = self.rules.countable(self.inputs.score_set());
        for &i in &countable[start..(start + RULES_PER_CLOCK_READ).min(countable.len())] {
            let i = i as usize;
            let count = self.rules.count_rule(i, &self.inputs);
            if count != 0.0 {
                self.counts[i].store(count.to_bits(), Ordering::Relaxed);
            }
        }
    }
}

/// `cell`'s value, made by `make` if no thread has stored one yet. Unlike `get_or_init`, a thread
/// never waits for another that is making it: the other thread may have lost its core (to
/// Postfix, say) and a wait would stall this message behind it; both make it, the first to
/// finish stores it, the other's copy is dropped. For per-message work that threads of one
/// scoring share, which is the same whoever makes it.
pub(super) fn made_once<T>(cell: &std::sync::OnceLock<T>, make: impl FnOnce() -> T) -> &T {
    if let Some(value) = cell.get() {
        return value;
    }
    let value = make();
    let _ = cell.set(value);
    cell.get().expect("set just now, by this thread or another")
}

/// Which end of the unclaimed chunks a thread takes from.
#[derive(Clone, Copy)]
enum End {
    Front,
    Back,
}

impl SharedWork for SplitScoring {
    fn help(&self) {
        // Work picked up after the caller claimed every chunk has nothing left worth making.
        // A panic in the prefilter leaves its half unmade; the caller then makes it on its own
        // thread and fails there, as it would alone.
        if self.has_unclaimed() {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| self.inputs.prefilter(&self.rules, Half::Headers)));
        }
        self.work_from(End::Back);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::rules::{NetworkFacts, RuleSet, ScoringPool};

    /// Rules of every kind, many more than one chunk, with FreeMail's body rewrite (whose lines
    /// are made by whichever thread needs them first) and metas over rules of different chunks.
    fn rules() -> Arc<RuleSet> {
        let mut text = String::from(
            "util_rb_tld com\nfreemail_domains free.com\nheader __FM_REPLY eval:check_freemail_replyto('reply')\n\
             body EMAIL /\\w@\\S+\\.\\w/\nbody EARLY_EMAIL /\\w@\\S+\\.\\w/\npriority EARLY_EMAIL -1\n\
             header SUBJ Subject =~ /cheap/i\nheader HAS_CC exists:Cc\nrawbody RAW /pills/\nuri URI_EX /example\\.com/\n\
             full FULL_FROM /^From: /m\nbody __W /word/\ntflags __W multiple maxhits=7\n",
        );
        for i in 0..150 {
            text.push_str(&format!("body __B{i} /w{i}x/\n"));
        }
        text.push_str("meta MANY_WORDS __W > 2\nmeta SPREAD __B3 && __B77 && __B149\nmeta EITHER EMAIL || SUBJ\n");
        let (set, diags) = RuleSet::from_text("t.cf", &text);
        assert!(diags.iter().all(|d| d.severity != crate::rules::Severity::Error), "{diags:?}");
        Arc::new(set)
    }

    const MESSAGES: [&str; 4] = [
        "From: a@free.com\nSubject: cheap\n\nquoted text from <someone@example.com>\nword word word w3x w77x w149x\n",
        "From: a@example.com\nCc: b@example.com\nSubject: hello\n\nsee http://example.com/ for pills\nw3x\n",
        "From: a@free.com\nReply-To: b@example.com\nSubject: x\n\n<someone@example.com> word\n",
        "Subject: nothing here\n\n\n",
    ];

    #[test]
    fn split_scoring_reports_what_sequential_scoring_reports() {
        let set = rules();
        let pool = ScoringPool::new(2);
        let facts = NetworkFacts::default();
        for message in MESSAGES {
            let alone = set.score(message.as_bytes(), &facts);
            // repeated, so the helper claims different chunks from one scoring to the next
            for _ in 0..50 {
                assert_eq!(set.score_on(&pool, message.as_bytes(), &facts, None).as_ref(), Some(&alone), "{message}");
            }
        }
        let first = set.score(MESSAGES[0].as_bytes(), &facts);
        let names: Vec<_> = first.hits.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["EARLY_EMAIL", "EITHER", "FULL_FROM", "MANY_WORDS", "SPREAD", "SUBJ", "URI_EX"]);
    }

    /// A thread that finds the work being made by another does not wait for it.
    #[test]
    fn made_once_never_waits_for_another_thread() {
        let cell = std::sync::OnceLock::new();
        let (started, release) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        std::thread::scope(|s| {
            let slow = s.spawn(|| {
                *super::made_once(&cell, || {
                    started.wait();
                    // held until the other thread has made and stored its own value
                    release.wait();
                    "slow"
                })
            });
            started.wait();
            assert_eq!(*super::made_once(&cell, || "fast"), "fast");
            release.wait();
            assert_eq!(slow.join().unwrap(), "fast", "the first value stored wins for both");
        });
    }

    #[test]
    fn split_scoring_stops_at_a_passed_deadline_and_the_next_message_is_scored_in_full() {
        let set = rules();
        let pool = ScoringPool::new(2);
        let facts = NetworkFacts::default();
        let message = MESSAGES[1].as_bytes();
        assert_eq!(set.score_on(&pool, message, &facts, Some(Instant::now() - Duration::from_millis(1))), None);
        let later = Instant::now() + Duration::from_secs(60);
        assert_eq!(set.score_on(&pool, message, &facts, Some(later)), Some(set.score(message, &facts)));
    }
}
