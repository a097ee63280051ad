//! The engine-wide bound on open segment files.
//!
//! A segment's files (its .log fd and the maps of its two indexes) are opened on first use
//! and registered here. When more segments are open than the limit, the least recently
//! used ones are closed (`enforce`, run after an operation once its log's lock is
//! released); `sweep` closes the ones idle for longer than a given time. A log that holds
//! its lock is never waited for: its segments are skipped (try_lock).
//!
//! Region fds. `strand_log_read` hands out a segment's .log fd, which the caller
//! duplicates before it keeps the region (src/storage/regions.ts). So that closing an
//! idle file can never race a caller between its read and its dup, reads mark the
//! segments they touch with the current read epoch; such a segment, when closed before
//! the epoch ends, has its maps released at once but its fd parked until the next
//! `sweep`, which ends the epoch. The Node binding sweeps from the event loop (a timer,
//! and an immediate whenever fds are parked), where no JS code sits between a read and
//! its dup. Without sweeps and with a limit, parked fds accumulate: a limit needs sweeps.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// What holds segments: a log, asked to close one of its segments' files.
pub trait Owner: Send + Sync {
    /// Closes the files of segment `segment_id` unless it was used after `stamp` or its
    /// log is busy (the lock is only tried).
    fn release_segment(&self, segment_id: u64, stamp: u64) -> Release;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Closed,
    /// The log is locked by another operation, or the segment was used since.
    Busy,
    /// The segment is no longer in its log (closing, retired, not yet swapped in).
    Gone,
}

struct Entry {
    owner: Weak<dyn Owner>,
    stamp: Arc<AtomicU64>,
}

struct Registry {
    /// Open segments by segment id.
    entries: BTreeMap<u64, Entry>,
    /// (time, tick) at recent sweeps, oldest first: which ticks are older than idle_ms.
    history: VecDeque<(i64, u64)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { entries: BTreeMap::new(), history: VecDeque::new() });
/// Fds of segments closed during the read epoch that read them, closed by the next sweep.
static PARKED: Mutex<Vec<Arc<File>>> = Mutex::new(Vec::new());

static LIMIT: AtomicUsize = AtomicUsize::new(0);
/// Enforcement runs when OPEN passes this (the limit, or more after an eviction that
/// could not get below it, so that a busy log does not make every operation scan).
static ENFORCE_ABOVE: AtomicUsize = AtomicUsize::new(usize::MAX);
static OPEN: AtomicUsize = AtomicUsize::new(0);
static PARKED_COUNT: AtomicUsize = AtomicUsize::new(0);
static TICK: AtomicU64 = AtomicU64::new(1);
static EPOCH: AtomicU64 = AtomicU64::new(1);
static EVICTING: AtomicBool = AtomicBool::new(false);
static OPENED_TOTAL: AtomicU64 = AtomicU64::new(0);
static EVICTED_TOTAL: AtomicU64 = AtomicU64::new(0);
static IDLE_CLOSED_TOTAL: AtomicU64 = AtomicU64::new(0);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn parked() -> MutexGuard<'static, Vec<Arc<File>>> {
    PARKED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Mirrors strand_files_stats.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Segments whose files are open now.
    pub open_segments: u64,
    /// Fds of closed segments waiting for the end of their read epoch.
    pub parked_fds: u64,
    /// 0: no limit.
    pub limit: u64,
    pub opened_total: u64,
    /// Closed for the limit.
    pub evicted_total: u64,
    /// Closed for being idle.
    pub idle_closed_total: u64,
}

pub fn stats() -> Stats {
    Stats {
        open_segments: OPEN.load(Ordering::Relaxed) as u64,
        parked_fds: PARKED_COUNT.load(Ordering::Relaxed) as u64,
        limit: LIMIT.load(Ordering::Relaxed) as u64,
        opened_total: OPENED_TOTAL.load(Ordering::Relaxed),
        evicted_total: EVICTED_TOTAL.load(Ordering::Relaxed),
        idle_closed_total: IDLE_CLOSED_TOTAL.load(Ordering::Relaxed),
    }
}

/// Fds parked until the next sweep (the binding polls it after reads and appends).
#[inline]
pub fn parked_fds() -> usize {
    PARKED_COUNT.load(Ordering::Relaxed)
}

/// Sets the most segments that may have their files open at once (0: no limit) and
/// closes the least recently used ones above it.
pub fn set_limit(max_open_segments: usize) {
    LIMIT.store(max_open_segments, Ordering::Relaxed);
    ENFORCE_ABOVE.store(if max_open_segments == 0 { usize::MAX } else { max_open_segments }, Ordering::Relaxed);
    enforce();
}

/// The current read epoch (segments read in it keep their fd until it ends).
#[inline]
pub fn epoch() -> u64 {
    EPOCH.load(Ordering::Acquire)
}

/// The registration of one segment's open files; dropping it unregisters them.
pub struct Ticket {
    id: u64,
    stamp: Arc<AtomicU64>,
}

impl Ticket {
    /// Marks the segment as just used.
    #[inline]
    pub fn touch(&self) {
        self.stamp.store(TICK.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
    }

    #[inline]
    pub fn stamp(&self) -> u64 {
        self.stamp.load(Ordering::Relaxed)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if registry().entries.remove(&self.id).is_some() {
            OPEN.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Registers the just opened files of segment `segment_id` of `owner`.
pub fn register(owner: Weak<dyn Owner>, segment_id: u64) -> Ticket {
    let stamp = Arc::new(AtomicU64::new(TICK.fetch_add(1, Ordering::Relaxed)));
    let previous = registry().entries.insert(segment_id, Entry { owner, stamp: Arc::clone(&stamp) });
    if previous.is_none() {
        OPEN.fetch_add(1, Ordering::Relaxed);
    }
    OPENED_TOTAL.fetch_add(1, Ordering::Relaxed);
    Ticket { id: segment_id, stamp }
}

/// Closes a segment's .log fd now, or parks it when the current read epoch handed it out.
pub fn close_file(file: Arc<File>, read_epoch: u64) {
    if read_epoch >= epoch() {
        let mut p = parked();
        p.push(file);
        PARKED_COUNT.store(p.len(), Ordering::Relaxed);
    } else {
        drop(file);
    }
}

/// Closes least recently used segments while more are open than the limit (down to 7/8
/// of it, so that a full cache does not evict on every open). Call without holding a
/// log's lock.
#[inline]
pub fn enforce() {
    if OPEN.load(Ordering::Relaxed) > ENFORCE_ABOVE.load(Ordering::Relaxed) {
        evict_over_limit();
    }
}

#[cold]
fn evict_over_limit() {
    if EVICTING.swap(true, Ordering::Acquire) {
        return; // another thread is at it
    }
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit > 0 {
        let target = limit - limit / 8;
        let closed = close_oldest(target, u64::MAX);
        EVICTED_TOTAL.fetch_add(closed as u64, Ordering::Relaxed);
        let open = OPEN.load(Ordering::Relaxed);
        let next = if open > limit { open + (limit / 8).max(1) } else { limit };
        ENFORCE_ABOVE.store(next, Ordering::Relaxed);
    }
    EVICTING.store(false, Ordering::Release);
}

/// Closes the least recently used segments, those used before `before_tick`, until at
/// most `keep` remain open; returns how many it closed.
fn close_oldest(keep: usize, before_tick: u64) -> usize {
    let mut candidates: Vec<(u64, u64, Weak<dyn Owner>)> = {
        let reg = registry();
        if reg.entries.len() <= keep && before_tick == u64::MAX {
            return 0;
        }
        reg.entries
            .iter()
            .filter_map(|(&id, e)| {
                let stamp = e.stamp.load(Ordering::Relaxed);
                (stamp < before_tick).then(|| (stamp, id, Weak::clone(&e.owner)))
            })
            .collect()
    };
    let open = OPEN.load(Ordering::Relaxed);
    let want = if before_tick == u64::MAX { open.saturating_sub(keep) } else { candidates.len() };
    if want == 0 || candidates.is_empty() {
        return 0;
    }
    if want < candidates.len() {
        candidates.select_nth_unstable_by_key(want - 1, |c| c.0);
        candidates.truncate(want);
    }
    candidates.sort_unstable_by_key(|c| c.0);
    let mut closed = 0;
    // the registry lock is not held here: a release drops its ticket, which takes it
    for (stamp, id, owner) in candidates {
        if let Some(o) = owner.upgrade() {
            if o.release_segment(id, stamp) == Release::Closed {
                closed += 1;
            }
        }
    }
    closed
}

/// Ends the read epoch (call where no region fd of a read waits for its dup), closes the
/// parked fds, then closes the segments not used for idle_ms (< 0: none) and enforces the
/// limit. `now_ms` is the caller's clock. Returns the segments closed for being idle.
pub fn sweep(now_ms: i64, idle_ms: i64) -> usize {
    EPOCH.fetch_add(1, Ordering::AcqRel);
    let fds = {
        let mut p = parked();
        PARKED_COUNT.store(0, Ordering::Relaxed);
        std::mem::take(&mut *p)
    };
    drop(fds);
    let mut idle_closed = 0;
    if idle_ms >= 0 {
        let threshold = {
            let mut reg = registry();
            if reg.history.back().is_some_and(|&(t, _)| t > now_ms) {
                reg.history.clear(); // the clock went back: start again
            }
            reg.history.push_back((now_ms, TICK.load(Ordering::Relaxed)));
            // the newest sweep at least idle_ms ago: segments untouched since are idle
            let cutoff = now_ms.saturating_sub(idle_ms);
            let mut found = None;
            while let Some(&(t, tick)) = reg.history.front() {
                if t > cutoff {
                    break;
                }
                found = Some(tick);
                if reg.history.len() > 1 && reg.history[1].0 <= cutoff {
                    reg.history.pop_front();
                } else {
                    break;
                }
            }
            if reg.history.len() > 4096 {
                reg.history.pop_front(); // a clock that jumps back must not grow it forever
            }
            found
        };
        if let Some(tick) = threshold {
            idle_closed = close_oldest(0, tick);
            IDLE_CLOSED_TOTAL.fetch_add(idle_closed as u64, Ordering::Relaxed);
        }
    }
    let limit = LIMIT.load(Ordering::Relaxed);
    ENFORCE_ABOVE.store(if limit == 0 { usize::MAX } else { limit }, Ordering::Relaxed);
    enforce();
    idle_closed
}
