//! A partition's log: its segments in offset order, the last one active. Appends, reads,
//! roll, retention, truncation, flush and recovery. Every operation takes the handle's
//! Mutex; flush releases it during the fsyncs so appends continue meanwhile.

use crate::batch::{self, validate_batch, BatchError, BatchErrorKind, BatchHeader, Strictness, HEADER_BYTES};
use crate::file_cache::{self, Owner, Release};
use crate::offset_index::Mapping;
use crate::segment::{file_name, no_owner, remove_if_exists, step, with_suffix, Retired, ScanProblem, Segment};
use crate::segment::{CLEANED_SUFFIX, DELETED_SUFFIX, SWAP_SUFFIX};
use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

/// Present in a partition directory after a clean close: the next open skips the scan.
pub const CLEAN_SHUTDOWN_MARKER: &str = ".strand_clean_shutdown";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub segment_index_bytes: u32,
    pub index_interval_bytes: u32,
    /// <= 0 or i64::MAX: never.
    pub flush_messages: i64,
    /// Run by the caller's timer; kept for completeness.
    pub flush_ms: i64,
    /// -1 when unknown (then every segment is scanned on an unclean open).
    pub recovery_point: i64,
    /// -1 when unknown.
    pub log_start_offset: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            segment_index_bytes: 10 * 1024 * 1024,
            index_interval_bytes: 4096,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            recovery_point: -1,
            log_start_offset: -1,
        }
    }
}

impl LogConfig {
    fn validate(&self) -> Result<()> {
        // Kafka's lower bounds; positions in the indexes are 32-bit
        if self.segment_bytes < 14 || self.segment_bytes > i32::MAX as u64 {
            return Err(Error::InvalidArg(format!("segment.bytes {} outside [14, 2^31-1]", self.segment_bytes)));
        }
        if self.segment_ms < 1 {
            return Err(Error::InvalidArg(format!("segment.ms {} below 1", self.segment_ms)));
        }
        if self.segment_index_bytes < 4 || self.segment_index_bytes > i32::MAX as u32 {
            return Err(Error::InvalidArg(format!("segment.index.bytes {} outside [4, 2^31-1]", self.segment_index_bytes)));
        }
        if self.index_interval_bytes > i32::MAX as u32 {
            return Err(Error::InvalidArg(format!("index.interval.bytes {} too large", self.index_interval_bytes)));
        }
        Ok(())
    }

    fn flush_messages_limit(&self) -> Option<i64> {
        (self.flush_messages > 0 && self.flush_messages != i64::MAX).then_some(self.flush_messages)
    }
}

#[derive(Debug)]
pub enum Error {
    Io { context: String, source: io::Error },
    Batch(BatchError),
    OutOfRange { offset: i64, log_start_offset: i64, log_end_offset: i64 },
    InvalidArg(String),
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Batch(e) => write!(f, "{e}"),
            Error::OutOfRange { offset, log_start_offset, log_end_offset } => write!(
                f,
                "offset {offset} is out of range [{log_start_offset}, {log_end_offset}]"
            ),
            Error::InvalidArg(m) => write!(f, "{m}"),
            Error::Closed => write!(f, "the log is closed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<BatchError> for Error {
    fn from(e: BatchError) -> Self {
        Error::Batch(e)
    }
}

fn io_err(context: impl fmt::Display, path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    let context = context.to_string();
    move |source| Error::Io { context: format!("{context} {}", path.display()), source }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Mirrors strand_append_result.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendResult {
    pub base_offset: i64,
    pub last_offset: i64,
    pub log_append_time: i64,
    pub max_timestamp: i64,
    pub log_start_offset: i64,
    pub batch_count: u32,
    pub record_count: u32,
    pub bytes: u64,
    /// flush.messages reached, or a segment was rolled (Kafka flushes a rolled segment).
    pub needs_flush: i32,
}

/// Mirrors strand_region: whole batches [position, position + length) of a segment file.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub fd: i32,
    pub position: u32,
    pub length: u32,
    pub segment_base_offset: i64,
}

/// Mirrors strand_segment_info.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base_offset: i64,
    pub size_bytes: u64,
    pub largest_timestamp: i64,
    pub created_ms: i64,
    pub last_modified_ms: i64,
    /// 1 for the active (last) segment, which is never deleted or replaced.
    pub is_active: i32,
}

thread_local! {
    /// The batches of the append in progress and their stamped header copies.
    static APPEND_SCRATCH: std::cell::RefCell<(Vec<(usize, BatchHeader)>, Vec<[u8; HEADER_BYTES]>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

pub const TIMESTAMP_CREATE_TIME: i32 = 0;
pub const TIMESTAMP_LOG_APPEND_TIME: i32 = 1;

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

struct LogState {
    dir: PathBuf,
    cfg: LogConfig,
    /// In offset order; never empty; the last is active.
    segments: Vec<Segment>,
    log_start_offset: i64,
    recovery_point: i64,
    /// Segments were created or deleted since the last flush (the directory needs fsync).
    dir_dirty: bool,
    /// Bumped by every truncation, so a flush that raced one does not advance the
    /// recovery point over bytes it did not sync.
    truncations: u64,
    /// Segments taken out of the log (files renamed `*.deleted`, .log still open), until
    /// the caller removes them after file.delete.delay.ms (`remove_deleted`).
    retired: Vec<Retired>,
    /// Bumped by every operation that retires segments; each Retired carries its value.
    retire_generation: u64,
    /// First base offsets of replacements between their plan and their commit.
    replacing: Vec<i64>,
    /// The log itself, for the segments it creates (the file cache asks it to close them).
    owner: Weak<dyn Owner>,
}

/// What a segment replacement checked under the lock, for the work done outside it.
struct ReplacePlan {
    dir: PathBuf,
    base: i64,
    /// The base of the segment after the last replaced one: cleaned offsets stay below it.
    next_base: i64,
    /// (base offset, segment id) of each segment to replace.
    old: Vec<(i64, u64)>,
    truncations: u64,
    cleaned_path: PathBuf,
    interval_bytes: u32,
    index_bytes: u32,
    created_ms: i64,
    last_modified_ms: i64,
    owner: Weak<dyn Owner>,
}

struct Inner {
    state: Option<LogState>,
    flushes_in_flight: u32,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Signalled when a flush finishes (close waits for them).
    flush_done: Condvar,
}

pub struct Log {
    shared: Arc<Shared>,
}

impl Owner for Shared {
    fn release_segment(&self, segment_id: u64, stamp: u64) -> Release {
        let mut g = match self.inner.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return Release::Busy,
        };
        let Some(st) = g.state.as_mut() else { return Release::Gone };
        match st.segments.iter_mut().find(|s| s.id == segment_id) {
            None => Release::Gone,
            Some(seg) if seg.stamp().is_none_or(|now| now > stamp) => Release::Busy,
            Some(seg) => {
                seg.release();
                Release::Closed
            }
        }
    }
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // a panic inside an operation is reported as an error; the state stays usable
        self.shared.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with<T>(&self, f: impl FnOnce(&mut LogState) -> Result<T>) -> Result<T> {
        let r = {
            let mut g = self.lock();
            match g.state.as_mut() {
                Some(st) => f(st),
                None => Err(Error::Closed),
            }
        };
        // files this operation opened may have taken the cache over its limit
        file_cache::enforce();
        r
    }

    /// Opens (creating) the partition directory and recovers it. Its files are closed
    /// again afterwards: they open on first use (file_cache).
    pub fn open(dir: &Path, cfg: LogConfig) -> Result<Log> {
        cfg.validate()?;
        let mut st = LogState::open(dir, cfg)?;
        for s in st.segments.iter_mut() {
            s.release();
        }
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner { state: None, flushes_in_flight: 0 }),
            flush_done: Condvar::new(),
        });
        let owner: Weak<dyn Owner> = Arc::downgrade(&shared) as Weak<dyn Owner>;
        st.owner = Weak::clone(&owner);
        for s in st.segments.iter_mut() {
            s.set_owner(Weak::clone(&owner));
        }
        shared.inner.lock().unwrap_or_else(|e| e.into_inner()).state = Some(st);
        Ok(Log { shared })
    }

    /// Whether the segment with base offset `base` has its files open (tests, stats).
    pub fn segment_is_open(&self, base: i64) -> Result<bool> {
        self.with(|st| Ok(st.segments.iter().any(|s| s.base_offset == base && s.is_open())))
    }

    /// How many of this log's segments have their files open.
    pub fn open_segments(&self) -> Result<usize> {
        self.with(|st| Ok(st.segments.iter().filter(|s| s.is_open()).count()))
    }

    /// Applies segment.*, index.* and flush.* (recovery point and start offset are ignored).
    pub fn configure(&self, cfg: LogConfig) -> Result<()> {
        cfg.validate()?;
        self.with(|st| {
            let (rp, lso) = (st.cfg.recovery_point, st.cfg.log_start_offset);
            st.cfg = LogConfig { recovery_point: rp, log_start_offset: lso, ..cfg };
            Ok(())
        })
    }

    /// Another handle on the same log, for work done on other threads (append_lanes): it
    /// sees close() like this one.
    pub fn share(&self) -> Log {
        Log { shared: Arc::clone(&self.shared) }
    }

    pub fn append(
        &self,
        buf: &[u8],
        leader_epoch: i32,
        timestamp_type: i32,
        now_ms: i64,
        max_batch_bytes: i32,
    ) -> Result<AppendResult> {
        self.with(|st| st.append(buf, leader_epoch, timestamp_type, now_ms, max_batch_bytes))
    }

    pub fn read(&self, offset: i64, max_bytes: u32, max_offset: i64, min_one_batch: bool, out: &mut Vec<Region>) -> Result<()> {
        self.with(|st| st.read(offset, max_bytes, max_offset, min_one_batch, out))
    }

    pub fn log_start_offset(&self) -> Result<i64> {
        self.with(|st| Ok(st.log_start_offset))
    }

    pub fn log_end_offset(&self) -> Result<i64> {
        self.with(|st| Ok(st.log_end_offset()))
    }

    pub fn recovery_point(&self) -> Result<i64> {
        self.with(|st| Ok(st.recovery_point))
    }

    pub fn size_bytes(&self) -> Result<u64> {
        self.with(|st| Ok(st.segments.iter().map(|s| s.size).sum()))
    }

    /// (offset, timestamp) of the first batch whose max timestamp >= ts.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>> {
        self.with(|st| st.offset_for_timestamp(ts))
    }

    /// (offset, timestamp) of the largest batch max timestamp (offset: that batch's last
    /// offset); None when no batch has a timestamp.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>> {
        self.with(|st| {
            let mut best: Option<(i64, i64)> = None;
            for s in &st.segments {
                if s.max_timestamp >= 0 && best.is_none_or(|(_, ts)| s.max_timestamp > ts) {
                    best = Some((s.offset_of_max_timestamp, s.max_timestamp));
                }
            }
            Ok(best)
        })
    }

    pub fn truncate_to(&self, offset: i64) -> Result<()> {
        self.with(|st| st.truncate_to(offset))
    }

    /// Takes the whole segments below `offset` out of the log (renamed `*.deleted`, see
    /// `remove_deleted`); returns how many.
    pub fn delete_segments_before(&self, offset: i64) -> Result<u32> {
        self.with(|st| st.delete_segments_before(offset))
    }

    /// The counter of retirements so far (segments taken out by retention, truncation or
    /// replacement); a caller that saw value g removes them with `remove_deleted(g)` once
    /// file.delete.delay.ms has passed.
    pub fn deleted_generation(&self) -> Result<u64> {
        self.with(|st| Ok(st.retire_generation))
    }

    /// Closes and unlinks the segments retired at or before `up_to_generation`; returns
    /// how many retired segments remain. The unlinks run outside the lock.
    pub fn remove_deleted(&self, up_to_generation: u64) -> Result<u32> {
        let (due, remaining) = self.with(|st| {
            let (due, keep): (Vec<Retired>, Vec<Retired>) =
                std::mem::take(&mut st.retired).into_iter().partition(|r| r.generation <= up_to_generation);
            st.retired = keep;
            Ok((due, st.retired.len() as u32))
        })?;
        remove_retired(due)?;
        Ok(remaining)
    }

    /// Replaces the contiguous non-active segments whose base offsets are `old_bases` with
    /// the cleaned segment file `cleaned` (`<dir>/<20-digit old_bases[0]>.log.cleaned`:
    /// whole v2 batches, offsets kept, increasing, within [old_bases[0], base of the
    /// segment after the last old one)), Kafka's .cleaned -> .swap way:
    ///
    /// 1. without the lock: validate every batch of the cleaned file (CRC, offsets; gaps
    ///    and empty batches are fine), build its indexes as `<base>.index.cleaned` and
    ///    `<base>.timeindex.cleaned`, give it the old segments' last-modified time, fsync;
    /// 2. under the lock, after checking that the log still holds those same segments:
    ///    rename the indexes and then the log to `*.swap` (the decision: from here a crash
    ///    completes the swap on open), rename the old segments to `*.deleted` (retired:
    ///    still open for readers that hold their fds), rename the `.swap` files to their
    ///    final names and put the new segment in the old ones' place.
    ///
    /// Readers see the old segments or the new one, never a mix. On an error before the
    /// decision the log is unchanged; the cleaned .log file is left to the caller (the
    /// next open removes a leftover `*.cleaned`).
    pub fn replace_segments(&self, old_bases: &[i64], cleaned: &Path) -> Result<()> {
        let plan = self.with(|st| st.plan_replace(old_bases, cleaned))?;
        // a panic must not leave the base registered as replacing
        let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| prepare_replacement(&plan)))
            .unwrap_or_else(|_| {
                Err(Error::Io {
                    context: format!("preparing {}", plan.cleaned_path.display()),
                    source: io::Error::other("internal error in the storage engine"),
                })
            });
        step("prepared");
        let mut g = self.lock();
        let result = match (prepared, g.state.as_mut()) {
            (Ok(seg), Some(st)) => st.commit_replace(&plan, seg),
            (Ok(seg), None) => {
                discard_prepared(seg);
                Err(Error::Closed)
            }
            (Err(e), _) => Err(e),
        };
        if let Some(st) = g.state.as_mut() {
            st.replacing.retain(|&b| b != plan.base);
        }
        result
    }

    pub fn set_start_offset(&self, offset: i64) -> Result<()> {
        self.with(|st| {
            let leo = st.log_end_offset();
            if offset < 0 || offset > leo {
                return Err(Error::OutOfRange { offset, log_start_offset: st.log_start_offset, log_end_offset: leo });
            }
            st.log_start_offset = st.log_start_offset.max(offset);
            Ok(())
        })
    }

    pub fn roll(&self, now_ms: i64) -> Result<()> {
        self.with(|st| {
            if st.active().size > 0 {
                st.roll(now_ms)?;
            }
            Ok(())
        })
    }

    pub fn segments(&self, out: &mut Vec<SegmentInfo>) -> Result<()> {
        self.with(|st| {
            out.clear();
            let last = st.segments.len() - 1;
            out.extend(st.segments.iter().enumerate().map(|(i, s)| SegmentInfo {
                base_offset: s.base_offset,
                size_bytes: s.size,
                largest_timestamp: s.max_timestamp,
                created_ms: s.created_ms,
                last_modified_ms: s.last_modified_ms(),
                is_active: (i == last) as i32,
            }));
            Ok(())
        })
    }

    /// fsyncs every segment and index written since the last flush, without holding the
    /// lock during the fsyncs; then raises the recovery point to the end seen at the start.
    pub fn flush(&self) -> Result<()> {
        let (files, dir, end_offset, truncations) = {
            let mut g = self.lock();
            let inner = &mut *g;
            let st = inner.state.as_mut().ok_or(Error::Closed)?;
            let mut files: Vec<SyncTarget> = Vec::new();
            for s in st.segments.iter_mut().filter(|s| s.dirty) {
                s.dirty = false;
                push_sync_targets(s, &mut files);
            }
            let dir = std::mem::take(&mut st.dir_dirty).then(|| st.dir.clone());
            let out = (files, dir, st.log_end_offset(), st.truncations);
            inner.flushes_in_flight += 1;
            out
        };
        let synced = sync_files(&files, dir.as_deref());
        drop(files);
        let mut g = self.lock();
        g.flushes_in_flight -= 1;
        self.shared.flush_done.notify_all();
        let st = g.state.as_mut().ok_or(Error::Closed)?;
        match synced {
            Ok(()) => {
                if st.truncations == truncations {
                    st.recovery_point = st.recovery_point.max(end_offset.min(st.log_end_offset()));
                }
                Ok(())
            }
            Err(e) => {
                // whatever was not synced must be synced by the next flush
                st.segments.iter_mut().for_each(|s| s.dirty = true);
                st.dir_dirty = true;
                Err(e)
            }
        }
    }

    fn take_state(&self) -> Result<LogState> {
        let mut g = self.lock();
        while g.flushes_in_flight > 0 {
            g = self.shared.flush_done.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        g.state.take().ok_or(Error::Closed)
    }

    /// Trims the active indexes; with `clean`, syncs everything and writes the marker.
    /// Segments waiting for their delayed removal are removed now.
    pub fn close(&self, clean: bool) -> Result<()> {
        let mut st = self.take_state()?;
        // best effort: the next open removes whatever `*.deleted` file is left
        let _ = remove_retired(std::mem::take(&mut st.retired));
        st.active_mut().make_inactive().map_err(io_err("trimming the indexes of", &st.dir))?;
        if clean {
            let mut files = Vec::new();
            for s in st.segments.iter().filter(|s| s.dirty) {
                push_sync_targets(s, &mut files);
            }
            sync_files(&files, None)?;
            let marker = st.dir.join(CLEAN_SHUTDOWN_MARKER);
            File::create(&marker)
                .and_then(|f| f.sync_all())
                .map_err(io_err("writing the clean-shutdown marker", &marker))?;
            sync_dir(&st.dir)?;
        }
        Ok(())
    }

    /// Closes every file and removes the directory.
    pub fn delete(&self) -> Result<()> {
        let st = self.take_state()?;
        let dir = st.dir.clone();
        drop(st);
        std::fs::remove_dir_all(&dir).map_err(io_err("removing", &dir))
    }
}

/// Closes and unlinks retired segments; reports the first failure after trying them all.
fn remove_retired(due: Vec<Retired>) -> Result<()> {
    let mut first: Option<Error> = None;
    for r in due {
        let path = r.paths().first().cloned().unwrap_or_default();
        if let Err(e) = r.remove() {
            first.get_or_insert(Error::Io { context: format!("removing deleted segment {}", path.display()), source: e });
        }
    }
    first.map_or(Ok(()), Err)
}

/// Step 1 of a replacement, without the log's lock: the cleaned file is validated and
/// indexed in one read, then made durable.
fn prepare_replacement(plan: &ReplacePlan) -> Result<Segment> {
    let base = plan.base;
    let offset_path = with_suffix(&plan.dir.join(file_name(base, "index")), CLEANED_SUFFIX);
    let time_path = with_suffix(&plan.dir.join(file_name(base, "timeindex")), CLEANED_SUFFIX);
    for p in [&offset_path, &time_path] {
        remove_if_exists(p).map_err(io_err("removing", p))?;
    }
    let path = &plan.cleaned_path;
    let mut seg = match Segment::open_files(path.clone(), &offset_path, &time_path, base, Weak::clone(&plan.owner)) {
        Ok(seg) => seg,
        Err(e) => {
            let _ = remove_if_exists(&offset_path);
            let _ = remove_if_exists(&time_path);
            return Err(Error::Io { context: format!("opening the cleaned segment {}", path.display()), source: e });
        }
    };
    let built = (|| -> Result<()> {
        let bad = |what: String| Error::InvalidArg(format!("cleaned segment {}: {what}", path.display()));
        if seg.size > i32::MAX as u64 {
            return Err(bad(format!("{} bytes, more than a segment can hold (2^31-1)", seg.size)));
        }
        // room for an entry every interval bytes, whatever segment.index.bytes says
        let entries = seg.size / (plan.interval_bytes as u64 + 1) + 2;
        let index_bytes = (plan.index_bytes as u64).max(entries * 12).min(i32::MAX as u64) as u32;
        let (_, problem) = seg.scan(plan.interval_bytes, index_bytes, Some(plan.next_base)).map_err(io_err("reading", path))?;
        match problem {
            None => {}
            Some(ScanProblem::Batch(e)) => return Err(bad(e.to_string())),
            Some(ScanProblem::Offsets(_)) => {
                return Err(bad(format!(
                    "a batch's offsets go backwards or leave [{base}, {}) (it ends at byte {} after offset {})",
                    plan.next_base,
                    seg.size,
                    seg.next_offset - 1
                )))
            }
        }
        seg.next_offset = plan.next_base;
        seg.created_ms = plan.created_ms;
        seg.make_inactive().map_err(io_err("trimming the indexes of", path))?;
        if plan.last_modified_ms > 0 {
            let t = UNIX_EPOCH + std::time::Duration::from_millis(plan.last_modified_ms as u64);
            seg.files().and_then(|f| f.file.set_modified(t)).map_err(io_err("setting the modification time of", path))?;
        }
        let f = seg.files().map_err(io_err("opening", path))?;
        f.file.sync_data().map_err(io_err("fsync of", path))?;
        f.offset_index.mm.sync().map_err(io_err("fsync of", &offset_path))?;
        f.time_index.mm.sync().map_err(io_err("fsync of", &time_path))?;
        seg.dirty = false;
        Ok(())
    })();
    match built {
        Ok(()) => Ok(seg),
        Err(e) => {
            discard_prepared(seg);
            Err(e)
        }
    }
}

/// Drops a prepared segment, removing the index files it built (the .log is the caller's).
fn discard_prepared(seg: Segment) {
    let paths = seg.index_paths();
    drop(seg);
    for p in paths {
        let _ = remove_if_exists(&p);
    }
}

/// A file to sync: through the open segment's fd or index map, else (files closed while
/// idle) through a new fd.
struct SyncTarget {
    via: SyncVia,
    path: PathBuf,
}

enum SyncVia {
    File(Arc<File>),
    Map(Arc<Mapping>),
    Path,
}

fn push_sync_targets(s: &Segment, out: &mut Vec<SyncTarget>) {
    let [offset_path, time_path] = s.index_paths();
    match s.open_files_ref() {
        Some(f) => {
            out.push(SyncTarget { via: SyncVia::File(Arc::clone(&f.file)), path: s.log_path.clone() });
            for (mm, path) in [(&f.offset_index.mm, offset_path), (&f.time_index.mm, time_path)] {
                let via = mm.mapping().map_or(SyncVia::Path, SyncVia::Map);
                out.push(SyncTarget { via, path });
            }
        }
        None => {
            for path in [s.log_path.clone(), offset_path, time_path] {
                out.push(SyncTarget { via: SyncVia::Path, path });
            }
        }
    }
}

fn sync_files(files: &[SyncTarget], dir: Option<&Path>) -> Result<()> {
    for t in files {
        let synced = match &t.via {
            SyncVia::File(f) => f.sync_data(),
            SyncVia::Map(m) => m.sync(),
            // renamed or removed since (retired, replaced): nothing of the log to sync there
            SyncVia::Path => match File::open(&t.path) {
                Ok(f) => f.sync_data(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            },
        };
        synced.map_err(io_err("fsync of", &t.path))?;
    }
    if let Some(d) = dir {
        sync_dir(d)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io_err("fsync of directory", dir))
}

/// The base offset of a segment file name (20 digits + ".log").
fn parse_log_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".log")?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit())).then(|| stem.parse().ok()).flatten()
}

fn parse_index_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".index").or_else(|| name.strip_suffix(".timeindex"))?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit())).then(|| stem.parse().ok()).flatten()
}

impl LogState {
    fn open(dir: &Path, cfg: LogConfig) -> Result<LogState> {
        std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        let marker = dir.join(CLEAN_SHUTDOWN_MARKER);
        let clean = marker.exists();
        let mut bases = Vec::new();
        let mut index_files = Vec::new();
        let mut swaps = Vec::new();
        let mut leftovers = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err("listing", dir))? {
            let entry = entry.map_err(io_err("listing", dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(b) = parse_log_name(name) {
                bases.push(b);
            } else if let Some(b) = parse_index_name(name) {
                index_files.push((b, entry.path()));
            } else if let Some(b) = name.strip_suffix(SWAP_SUFFIX).and_then(parse_log_name) {
                swaps.push(b);
            } else if [DELETED_SUFFIX, CLEANED_SUFFIX, SWAP_SUFFIX].iter().any(|suffix| {
                name.strip_suffix(suffix).is_some_and(|stem| parse_log_name(stem).is_some() || parse_index_name(stem).is_some())
            }) {
                // files waiting for their delayed removal, a cleaner's unfinished output,
                // the indexes of a swap (rebuilt from the swapped log)
                leftovers.push(entry.path());
            }
        }
        for path in &leftovers {
            remove_if_exists(path).map_err(io_err("removing", path))?;
        }
        bases.sort_unstable();
        swaps.sort_unstable();
        let mut dir_dirty = false;
        for b in swaps {
            complete_swap(dir, b, &mut bases)?;
            dir_dirty = true;
        }
        if dir_dirty {
            sync_dir(dir)?;
        }
        // indexes without their log are leftovers of an interrupted delete
        for (b, path) in index_files {
            if bases.binary_search(&b).is_err() {
                remove_if_exists(&path).map_err(io_err("removing", &path))?;
            }
        }
        let mut segments = Vec::with_capacity(bases.len());
        for b in bases {
            let path = dir.join(crate::segment::file_name(b, "log"));
            segments.push(Segment::open(dir, b, no_owner()).map_err(io_err("opening", &path))?);
        }
        let rp = if cfg.recovery_point < 0 { i64::MIN } else { cfg.recovery_point };
        let mut i = 0;
        while i < segments.len() {
            let last = i + 1 == segments.len();
            let next_base = segments.get(i + 1).map(|s| s.base_offset);
            // a segment holding offsets at or past the recovery point may hold unflushed bytes
            let unflushed = next_base.is_none_or(|nb| nb > rp);
            let seg = &mut segments[i];
            let path = seg.log_path.clone();
            if (!clean && unflushed) || !seg.indexes_sane(next_base) {
                let outcome = seg
                    .recover(cfg.index_interval_bytes, cfg.segment_index_bytes, next_base)
                    .map_err(io_err("recovering", &path))?;
                seg.dirty = true;
                if outcome.problem.is_some() && !last {
                    // the log must stay contiguous: nothing after a damaged batch survives
                    for s in segments.drain(i + 1..) {
                        let p = s.log_path.clone();
                        s.delete_files().map_err(io_err("removing", &p))?;
                    }
                    dir_dirty = true;
                }
                if i + 1 < segments.len() {
                    segments[i].make_inactive().map_err(io_err("trimming the indexes of", &path))?;
                }
            } else if last {
                seg.load_tail().map_err(io_err("reading", &path))?;
            } else if seg.indexes_untrimmed().map_err(io_err("opening the indexes of", &path))? {
                // an inactive segment left untrimmed by a crash during roll
                seg.trim_indexes().map_err(io_err("trimming the index of", &path))?;
            }
            i += 1;
        }
        for i in 0..segments.len().saturating_sub(1) {
            segments[i].next_offset = segments[i + 1].base_offset;
        }
        segments.reserve_exact(1);
        let mut st = LogState {
            dir: dir.to_path_buf(),
            cfg,
            segments,
            log_start_offset: 0,
            recovery_point: 0,
            dir_dirty,
            truncations: 0,
            retired: Vec::new(),
            retire_generation: 0,
            replacing: Vec::new(),
            owner: no_owner(),
        };
        let now = now_ms();
        if st.segments.is_empty() {
            let base = cfg.log_start_offset.max(0);
            st.segments.push(
                Segment::create(dir, base, cfg.segment_index_bytes, now, no_owner()).map_err(io_err("creating a segment in", dir))?,
            );
            st.dir_dirty = true;
        } else {
            let path = st.active().log_path.clone();
            let index_bytes = st.cfg.segment_index_bytes;
            st.active_mut().make_active(index_bytes).map_err(io_err("preallocating the indexes of", &path))?;
        }
        let leo = st.log_end_offset();
        if cfg.log_start_offset > leo {
            // everything on disk lies below the checkpointed start: begin again there (no
            // reader can hold these files yet: they go at once)
            st.truncate_fully_and_start_at(cfg.log_start_offset, now, false)?;
        }
        let leo = st.log_end_offset();
        st.log_start_offset = cfg.log_start_offset.max(st.segments[0].base_offset).min(leo);
        st.recovery_point = if clean { leo } else { cfg.recovery_point.max(st.log_start_offset).min(leo) };
        if clean {
            std::fs::remove_file(&marker).map_err(io_err("removing", &marker))?;
            sync_dir(dir)?;
        }
        Ok(st)
    }

    #[inline]
    fn active(&self) -> &Segment {
        self.segments.last().expect("a log has at least one segment")
    }

    #[inline]
    fn active_mut(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("a log has at least one segment")
    }

    #[inline]
    fn log_end_offset(&self) -> i64 {
        self.active().next_offset
    }

    fn append(
        &mut self,
        buf: &[u8],
        leader_epoch: i32,
        timestamp_type: i32,
        now_ms: i64,
        max_batch_bytes: i32,
    ) -> Result<AppendResult> {
        if timestamp_type != TIMESTAMP_CREATE_TIME && timestamp_type != TIMESTAMP_LOG_APPEND_TIME {
            return Err(Error::InvalidArg(format!("timestamp type {timestamp_type} is neither 0 nor 1")));
        }
        if buf.is_empty() {
            return Err(BatchError { at_byte: 0, kind: BatchErrorKind::Empty }.into());
        }
        // per thread, not per log: 10,000 partitions need no 10,000 scratch buffers
        let (mut batches, mut headers) = APPEND_SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        batches.clear();
        headers.clear();
        let r = self.append_validated(buf, leader_epoch, timestamp_type == TIMESTAMP_LOG_APPEND_TIME, now_ms, max_batch_bytes, &mut batches, &mut headers);
        if batches.capacity() <= 4096 {
            APPEND_SCRATCH.with(|s| *s.borrow_mut() = (batches, headers));
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn append_validated(
        &mut self,
        buf: &[u8],
        leader_epoch: i32,
        log_append_time: bool,
        now_ms: i64,
        max_batch_bytes: i32,
        batches: &mut Vec<(usize, BatchHeader)>,
        headers: &mut Vec<[u8; HEADER_BYTES]>,
    ) -> Result<AppendResult> {
        // 1. validate every batch before touching anything
        let mut pos = 0usize;
        let mut offsets: i64 = 0;
        let mut records: u64 = 0;
        while pos < buf.len() {
            let h = validate_batch(&buf[pos..], pos as u64, Strictness::Produce)?;
            if max_batch_bytes > 0 && h.size_bytes as usize > max_batch_bytes as usize {
                return Err(BatchError {
                    at_byte: pos as u64,
                    kind: BatchErrorKind::TooLarge { size_bytes: h.size_bytes as usize, max_bytes: max_batch_bytes as usize },
                }
                .into());
            }
            offsets += h.last_offset_delta as i64 + 1;
            records += h.record_count as u64;
            batches.push((pos, h));
            pos += h.size_bytes as usize;
        }
        let total = buf.len() as u64;
        if total > u32::MAX as u64 {
            return Err(BatchError { at_byte: 0, kind: BatchErrorKind::TooLarge { size_bytes: buf.len(), max_bytes: u32::MAX as usize } }.into());
        }

        // 2. roll first when this append would not fit the active segment
        let rolled = self.maybe_roll(total, offsets, now_ms)?;

        // 3. stamp copies of the headers; the caller's buffer is left as it was
        let base_offset = self.log_end_offset();
        let mut next = base_offset;
        let mut max_timestamp = -1i64;
        for &(p, ref h) in batches.iter() {
            let size = h.size_bytes as usize;
            let mut hdr = [0u8; HEADER_BYTES];
            hdr.copy_from_slice(&buf[p..p + HEADER_BYTES]);
            batch::stamp_offsets(&mut hdr, next, leader_epoch);
            if log_append_time {
                batch::set_log_append_time(&mut hdr, &buf[p + HEADER_BYTES..p + size], now_ms);
            }
            headers.push(hdr);
            next += h.last_offset_delta as i64 + 1;
        }

        // 4. one gathered write: header copy + body of each batch
        let interval = self.cfg.index_interval_bytes;
        let seg = self.active_mut();
        let start_pos = seg.size;
        let write_result = if batches.len() == 1 {
            // the common case: no allocation
            let (p, h) = batches[0];
            let body = &buf[p + HEADER_BYTES..p + h.size_bytes as usize];
            let mut slices = [IoSlice::new(&headers[0]), IoSlice::new(body)];
            let n = if body.is_empty() { 1 } else { 2 };
            seg.write_at_end(&mut slices[..n])
        } else {
            let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(batches.len() * 2);
            for (&(p, ref h), hdr) in batches.iter().zip(headers.iter()) {
                slices.push(IoSlice::new(hdr));
                let body = &buf[p + HEADER_BYTES..p + h.size_bytes as usize];
                if !body.is_empty() {
                    slices.push(IoSlice::new(body));
                }
            }
            seg.write_at_end(&mut slices)
        };
        if let Err(e) = write_result {
            let path = seg.log_path.clone();
            // leave the log as it was
            let _ = seg.truncate_bytes(start_pos);
            return Err(Error::Io { context: format!("appending to {}", path.display()), source: e });
        }

        // 5. indexes
        let mut p = start_pos;
        let mut stamped_next = base_offset;
        for &(_, h) in batches.iter() {
            let mut h = h;
            h.base_offset = stamped_next;
            if log_append_time {
                h.max_timestamp = now_ms;
            }
            max_timestamp = max_timestamp.max(h.max_timestamp);
            seg.index_batch(p, &h, interval).map_err(io_err("indexing", &seg.log_path))?;
            p += h.size_bytes as u64;
            stamped_next = h.next_offset();
        }
        if start_pos == 0 {
            seg.created_ms = now_ms;
        }
        seg.next_offset = next;

        let needs_flush = rolled
            || self.cfg.flush_messages_limit().is_some_and(|limit| next - self.recovery_point >= limit);
        Ok(AppendResult {
            base_offset,
            last_offset: next - 1,
            log_append_time: if log_append_time { now_ms } else { -1 },
            max_timestamp,
            log_start_offset: self.log_start_offset,
            batch_count: batches.len() as u32,
            record_count: records.min(u32::MAX as u64) as u32,
            bytes: total,
            needs_flush: needs_flush as i32,
        })
    }

    /// Rolls when the active segment is non-empty and the append would overflow it (bytes,
    /// 32-bit relative offsets), it is older than segment.ms, or an index is full.
    fn maybe_roll(&mut self, append_bytes: u64, append_offsets: i64, now_ms: i64) -> Result<bool> {
        let cfg = self.cfg;
        let leo = self.log_end_offset();
        let seg = self.active_mut();
        if seg.size == 0 {
            return Ok(false);
        }
        let path = seg.log_path.clone();
        let (size, created_ms, base) = (seg.size, seg.created_ms, seg.base_offset);
        let f = seg.files().map_err(io_err("opening", &path))?;
        let roll = size + append_bytes > cfg.segment_bytes
            || now_ms - created_ms > cfg.segment_ms
            || f.offset_index.is_full()
            || f.time_index.is_full()
            || leo + append_offsets - 1 - base > i32::MAX as i64;
        if roll {
            self.roll(now_ms)?;
        }
        Ok(roll)
    }

    fn roll(&mut self, now_ms: i64) -> Result<()> {
        let base = self.log_end_offset();
        let index_bytes = self.cfg.segment_index_bytes;
        let dir = self.dir.clone();
        let old = self.active_mut();
        let old_path = old.log_path.clone();
        old.make_inactive().map_err(io_err("trimming the indexes of", &old_path))?;
        match Segment::create(&dir, base, index_bytes, now_ms, Weak::clone(&self.owner)) {
            Ok(seg) => {
                self.segments.push(seg);
                self.dir_dirty = true;
                Ok(())
            }
            Err(e) => {
                let _ = self.active_mut().make_active(index_bytes);
                Err(Error::Io { context: format!("rolling a new segment in {}", dir.display()), source: e })
            }
        }
    }

    fn segment_for(&self, offset: i64) -> usize {
        self.segments.partition_point(|s| s.base_offset <= offset).saturating_sub(1)
    }

    fn read(&mut self, offset: i64, max_bytes: u32, max_offset: i64, min_one_batch: bool, out: &mut Vec<Region>) -> Result<()> {
        out.clear();
        let leo = self.log_end_offset();
        if offset < self.log_start_offset || offset > leo {
            return Err(Error::OutOfRange { offset, log_start_offset: self.log_start_offset, log_end_offset: leo });
        }
        let limit = if max_offset < 0 { leo } else { max_offset.min(leo) };
        if offset >= limit {
            return Ok(());
        }
        let mut budget = max_bytes as u64;
        let mut si = self.segment_for(offset);
        let mut target = offset;
        while si < self.segments.len() {
            let seg = &mut self.segments[si];
            let path = seg.log_path.clone();
            let Some((start, first)) = seg.find_batch(target).map_err(io_err("reading", &path))? else {
                // past this segment's batches: the next segment's first batch
                si += 1;
                target = self.segments.get(si).map_or(0, |s| s.base_offset);
                continue;
            };
            if first.base_offset >= limit {
                break;
            }
            let first_bytes = first.size_bytes as u64;
            if first_bytes > budget {
                if out.is_empty() && min_one_batch {
                    out.push(region(seg, start, first_bytes).map_err(io_err("reading", &path))?);
                }
                break;
            }
            budget -= first_bytes;
            let mut end = start + first_bytes;
            let mut stopped = first.next_offset() >= limit;
            if !stopped {
                // jump over whole batches with the index, then walk the few headers left
                let jump = seg.files().map_err(io_err("reading", &path))?.offset_index.lookup_position(end + budget, limit);
                if let Some((_, p)) = jump {
                    let p = p as u64;
                    if p > end {
                        budget -= p - end;
                        end = p;
                    }
                }
                while let Some(h) = seg.read_header(end).map_err(io_err("reading", &path))? {
                    if h.base_offset >= limit || h.size_bytes as u64 > budget {
                        stopped = true;
                        break;
                    }
                    end += h.size_bytes as u64;
                    budget -= h.size_bytes as u64;
                    if h.next_offset() >= limit {
                        stopped = true;
                        break;
                    }
                }
            }
            out.push(region(seg, start, end - start).map_err(io_err("reading", &path))?);
            if stopped || budget == 0 {
                break;
            }
            si += 1;
            target = self.segments.get(si).map_or(0, |s| s.base_offset);
        }
        Ok(())
    }

    fn offset_for_timestamp(&mut self, ts: i64) -> Result<Option<(i64, i64)>> {
        let lso = self.log_start_offset;
        for seg in self.segments.iter_mut() {
            if seg.max_timestamp < ts || seg.next_offset <= lso {
                continue;
            }
            let path = seg.log_path.clone();
            let f = seg.files().map_err(io_err("reading", &path))?;
            let mut pos = match f.time_index.lookup_below(ts) {
                Some((_, off)) => f.offset_index.lookup(off).1 as u64,
                None => 0,
            };
            while let Some(h) = seg.read_header(pos).map_err(io_err("reading", &path))? {
                if h.max_timestamp >= ts && h.last_offset() >= lso {
                    return Ok(Some((h.base_offset.max(lso), h.max_timestamp)));
                }
                pos += h.size_bytes as u64;
            }
        }
        Ok(None)
    }

    fn truncate_to(&mut self, offset: i64) -> Result<()> {
        if offset < 0 {
            return Err(Error::InvalidArg(format!("cannot truncate to negative offset {offset}")));
        }
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        self.truncations += 1;
        let now = now_ms();
        if self.segments[0].base_offset > offset {
            return self.truncate_fully_and_start_at(offset, now, true);
        }
        let keep = self.segments.partition_point(|s| s.base_offset <= offset).max(1);
        let above: Vec<Segment> = self.segments.drain(keep..).collect();
        self.retire(above)?;
        let index_bytes = self.cfg.segment_index_bytes;
        let seg = self.active_mut();
        let path = seg.log_path.clone();
        seg.make_active(index_bytes).map_err(io_err("preallocating the indexes of", &path))?;
        seg.truncate_to_offset(offset).map_err(io_err("truncating", &path))?;
        let leo = self.log_end_offset();
        self.log_start_offset = self.log_start_offset.min(offset).min(leo);
        self.recovery_point = self.recovery_point.min(leo);
        Ok(())
    }

    /// Drops every segment (retired, or deleted at once when `retire` is false) and starts
    /// an empty log at `offset`.
    fn truncate_fully_and_start_at(&mut self, offset: i64, now_ms: i64, retire: bool) -> Result<()> {
        self.truncations += 1;
        let all: Vec<Segment> = self.segments.drain(..).collect();
        if retire {
            // a new segment may take one of the old names: retire before creating it
            self.retire(all)?;
        } else {
            for s in all {
                let p = s.log_path.clone();
                s.delete_files().map_err(io_err("removing", &p))?;
            }
        }
        self.dir_dirty = true;
        let seg = Segment::create(&self.dir, offset, self.cfg.segment_index_bytes, now_ms, Weak::clone(&self.owner))
            .map_err(io_err("creating a segment in", &self.dir))?;
        self.segments.push(seg);
        self.log_start_offset = offset;
        self.recovery_point = offset;
        Ok(())
    }

    fn delete_segments_before(&mut self, offset: i64) -> Result<u32> {
        let leo = self.log_end_offset();
        if offset > leo {
            return Err(Error::OutOfRange { offset, log_start_offset: self.log_start_offset, log_end_offset: leo });
        }
        let mut n = 0usize;
        while n + 1 < self.segments.len() && self.segments[n + 1].base_offset <= offset {
            n += 1;
        }
        let below: Vec<Segment> = self.segments.drain(..n).collect();
        self.retire(below)?;
        self.log_start_offset = self.log_start_offset.max(offset).max(self.segments[0].base_offset);
        self.recovery_point = self.recovery_point.max(self.log_start_offset);
        Ok(n as u32)
    }
}

impl LogState {
    /// Takes segments out of the log Kafka's way: renamed `*.deleted`, kept open until
    /// `remove_deleted`. On a rename failure the rest are still retired; the first error
    /// is returned.
    fn retire(&mut self, segs: Vec<Segment>) -> Result<()> {
        if segs.is_empty() {
            return Ok(());
        }
        self.retire_generation += 1;
        self.dir_dirty = true;
        let mut first: Option<Error> = None;
        for s in segs {
            let p = s.log_path.clone();
            match s.retire(self.retire_generation) {
                Ok(r) => self.retired.push(r),
                Err(e) => {
                    first.get_or_insert(Error::Io { context: format!("renaming for deletion {}", p.display()), source: e });
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Checks a replacement's arguments against the log and registers it.
    fn plan_replace(&mut self, old_bases: &[i64], cleaned: &Path) -> Result<ReplacePlan> {
        let Some(&base) = old_bases.first() else {
            return Err(Error::InvalidArg("replace_segments: no segments given".into()));
        };
        let expect = format!("{}{CLEANED_SUFFIX}", file_name(base, "log"));
        let canonical = |p: &Path| std::fs::canonicalize(p).map_err(io_err("resolving", p));
        let in_dir = match cleaned.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => canonical(parent)? == canonical(&self.dir)?,
            _ => false,
        };
        if !in_dir || cleaned.file_name().and_then(|n| n.to_str()) != Some(expect.as_str()) {
            return Err(Error::InvalidArg(format!(
                "the cleaned segment must be {}, got {}",
                self.dir.join(&expect).display(),
                cleaned.display()
            )));
        }
        let Some(i) = self.segments.iter().position(|s| s.base_offset == base) else {
            return Err(Error::InvalidArg(format!("no segment with base offset {base} in {}", self.dir.display())));
        };
        let n = old_bases.len();
        if i + n >= self.segments.len() {
            return Err(Error::InvalidArg(format!(
                "segments {old_bases:?} are not all in the log or include the active segment (base {})",
                self.active().base_offset
            )));
        }
        let old = &self.segments[i..i + n];
        if old.iter().zip(old_bases).any(|(s, &b)| s.base_offset != b) {
            let have: Vec<i64> = old.iter().map(|s| s.base_offset).collect();
            return Err(Error::InvalidArg(format!("segments {old_bases:?} are not contiguous in the log (it has {have:?} there)")));
        }
        if self.replacing.contains(&base) {
            return Err(Error::InvalidArg(format!("a replacement of the segment at {base} is already running")));
        }
        let plan = ReplacePlan {
            dir: self.dir.clone(),
            base,
            next_base: self.segments[i + n].base_offset,
            old: old.iter().map(|s| (s.base_offset, s.id)).collect(),
            truncations: self.truncations,
            cleaned_path: cleaned.to_path_buf(),
            interval_bytes: self.cfg.index_interval_bytes,
            index_bytes: self.cfg.segment_index_bytes,
            created_ms: old[0].created_ms,
            last_modified_ms: old.iter().map(|s| s.last_modified_ms()).max().unwrap_or(0),
            owner: Weak::clone(&self.owner),
        };
        self.replacing.push(base);
        Ok(plan)
    }

    /// Step 2 of a replacement, under the lock (renames only).
    fn commit_replace(&mut self, plan: &ReplacePlan, mut seg: Segment) -> Result<()> {
        let n = plan.old.len();
        let at = self.segments.iter().position(|s| s.base_offset == plan.base);
        let unchanged = self.truncations == plan.truncations
            && at.is_some_and(|i| {
                i + n < self.segments.len()
                    && self.segments[i..i + n].iter().zip(&plan.old).all(|(s, &(b, id))| s.base_offset == b && s.id == id)
                    && self.segments[i + n].base_offset == plan.next_base
            });
        let Some(i) = at.filter(|_| unchanged) else {
            discard_prepared(seg);
            return Err(Error::InvalidArg(format!(
                "segments {:?} changed (deleted, truncated or replaced) while their replacement was prepared; nothing was replaced",
                plan.old.iter().map(|&(b, _)| b).collect::<Vec<_>>()
            )));
        };
        let dir = plan.dir.clone();
        let final_log = dir.join(file_name(plan.base, "log"));
        let final_index = dir.join(file_name(plan.base, "index"));
        let final_time = dir.join(file_name(plan.base, "timeindex"));
        let swap_log = with_suffix(&final_log, SWAP_SUFFIX);

        // 1. indexes .cleaned -> .swap, then the log: the swap is decided
        let decided = (|| -> Result<()> {
            let [offset_path, time_path] = seg.index_paths();
            let to = with_suffix(&final_index, SWAP_SUFFIX);
            std::fs::rename(&offset_path, &to).map_err(io_err("renaming", &offset_path))?;
            seg.set_offset_index_path(to);
            step("index-swap");
            let to = with_suffix(&final_time, SWAP_SUFFIX);
            std::fs::rename(&time_path, &to).map_err(io_err("renaming", &time_path))?;
            seg.set_time_index_path(to);
            step("timeindex-swap");
            std::fs::rename(&plan.cleaned_path, &swap_log).map_err(io_err("renaming", &plan.cleaned_path))?;
            seg.log_path = swap_log.clone();
            step("log-swap");
            sync_dir(&dir)
        })();
        if let Err(e) = decided {
            if seg.log_path == swap_log {
                // renamed but not known durable: undo, so the log stays as it was
                let _ = std::fs::rename(&swap_log, &plan.cleaned_path);
            }
            discard_prepared(seg);
            return Err(e);
        }

        // 2. the old segments go (retired: their readers keep their fds)
        let old: Vec<Segment> = self.segments.drain(i..i + n).collect();
        let mut first = self.retire(old).err();

        // 3. .swap -> final names, the log last; then the new segment takes their place
        let [offset_path, time_path] = seg.index_paths();
        let renames = [
            (offset_path, final_index, "index"),
            (time_path, final_time, "timeindex"),
            (swap_log, final_log, "log"),
        ];
        for (from, to, what) in renames {
            match std::fs::rename(&from, &to) {
                Ok(()) => match what {
                    "index" => seg.set_offset_index_path(to),
                    "timeindex" => seg.set_time_index_path(to),
                    _ => seg.log_path = to,
                },
                Err(e) => {
                    // the segment still serves reads; the next open completes the swap
                    first.get_or_insert(Error::Io { context: format!("renaming {}", from.display()), source: e });
                }
            }
            step(what);
        }
        // nobody has read it yet: its files can close at once, to open on first use
        seg.release();
        seg.set_owner(Weak::clone(&self.owner));
        self.segments.insert(i, seg);
        self.dir_dirty = true;
        if let Err(e) = sync_dir(&dir) {
            first.get_or_insert(e);
        }
        first.map_or(Ok(()), Err)
    }
}

/// Completes a swap interrupted by a crash (a `<base>.log.swap` is present at open): the
/// segments whose base lies in the swap's offset range are deleted, the indexes at its
/// base (old or half-renamed) too, and the swap becomes `<base>.log` (its indexes are
/// rebuilt by the open that follows, as for any segment whose index is missing).
fn complete_swap(dir: &Path, base: i64, bases: &mut Vec<i64>) -> Result<()> {
    let final_log = dir.join(file_name(base, "log"));
    let swap = with_suffix(&final_log, SWAP_SUFFIX);
    let end = crate::segment::valid_next_offset(&swap, base).map_err(io_err("reading", &swap))?.max(base + 1);
    let mut kept = Vec::with_capacity(bases.len());
    for &b in bases.iter() {
        if b >= base && b < end {
            for ext in ["log", "index", "timeindex"] {
                let p = dir.join(file_name(b, ext));
                remove_if_exists(&p).map_err(io_err("removing", &p))?;
            }
        } else {
            kept.push(b);
        }
    }
    for ext in ["index", "timeindex"] {
        let p = dir.join(file_name(base, ext));
        remove_if_exists(&p).map_err(io_err("removing", &p))?;
    }
    std::fs::rename(&swap, &final_log).map_err(io_err("renaming", &swap))?;
    kept.push(base);
    kept.sort_unstable();
    *bases = kept;
    Ok(())
}

/// A region of `seg`, whose fd stays open until the read epoch ends at least (file_cache).
#[inline]
fn region(seg: &mut Segment, position: u64, length: u64) -> io::Result<Region> {
    let fd = seg.fd()?;
    seg.read_epoch = file_cache::epoch();
    Ok(Region { fd, position: position as u32, length: length as u32, segment_base_offset: seg.base_offset })
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::testutil::make_batch;
    use crate::batch::{be_i64, OFF_BASE_OFFSET};
    use crate::offset_index::temp_dir;
    use std::mem::ManuallyDrop;
    use std::os::unix::fs::FileExt;
    use std::os::unix::io::FromRawFd;

    fn small_cfg() -> LogConfig {
        LogConfig { segment_bytes: 4096, segment_index_bytes: 1024, index_interval_bytes: 256, ..LogConfig::default() }
    }

    fn region_bytes(regions: &[Region]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in regions {
            // SAFETY: the fd is owned by the log; ManuallyDrop keeps it open
            let f = ManuallyDrop::new(unsafe { File::from_raw_fd(r.fd) });
            let mut b = vec![0u8; r.length as usize];
            f.read_exact_at(&mut b, r.position as u64).unwrap();
            out.extend_from_slice(&b);
        }
        out
    }

    /// Splits bytes into (base offset, last offset) of each batch, validating each.
    fn batches_in(bytes: &[u8]) -> Vec<(i64, i64)> {
        let mut pos = 0;
        let mut v = Vec::new();
        while pos < bytes.len() {
            let h = validate_batch(&bytes[pos..], pos as u64, Strictness::Stored).unwrap();
            v.push((h.base_offset, h.last_offset()));
            pos += h.size_bytes as usize;
        }
        v
    }

    /// Appends `n` calls of varied batches; returns (base, last) of every batch.
    fn fill(log: &Log, n: usize, now: i64) -> Vec<(i64, i64)> {
        let mut all = Vec::new();
        for i in 0..n {
            let records = 1 + i % 4;
            let mut buf = make_batch(records, 20 + (i * 37) % 300, 1000 + i as i64 * 10);
            if i % 5 == 0 {
                buf.extend_from_slice(&make_batch(2, 50, 1000 + i as i64 * 10 + 5));
            }
            let r = log.append(&buf, 3, TIMESTAMP_CREATE_TIME, now, -1).unwrap();
            let mut next = r.base_offset;
            // unstamped batches start at 0: the last offset is the delta
            for (_, delta) in batches_in(&buf) {
                all.push((next, next + delta));
                next += delta + 1;
            }
            assert_eq!(next - 1, r.last_offset);
        }
        all
    }

    fn read_all(log: &Log, from: i64, max_bytes: u32) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut offset = from;
        let mut regions = Vec::new();
        loop {
            log.read(offset, max_bytes, -1, true, &mut regions).unwrap();
            if regions.is_empty() {
                break;
            }
            let b = batches_in(&region_bytes(&regions));
            offset = b.last().unwrap().1 + 1;
            out.extend(b);
        }
        out
    }

    #[test]
    fn round_trip_over_rolls_and_reads_across_segments() {
        let dir = temp_dir("log-round-trip");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 120, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        assert!(infos.len() > 5, "rolled into {} segments", infos.len());
        for w in infos.windows(2) {
            assert!(w[0].size_bytes <= 4096 && w[0].base_offset < w[1].base_offset);
        }
        assert_eq!(log.log_end_offset().unwrap(), batches.last().unwrap().1 + 1);
        // everything, in small and large steps, crossing segment boundaries
        assert_eq!(read_all(&log, 0, 700), batches);
        assert_eq!(read_all(&log, 0, 1 << 20), batches);
        let mut regions = Vec::new();
        log.read(0, u32::MAX, -1, false, &mut regions).unwrap();
        assert_eq!(regions.len(), infos.len(), "one region per segment");
        // every offset: the first batch returned holds it
        for &(base, last) in &batches {
            for o in [base, last] {
                log.read(o, 1, -1, true, &mut regions).unwrap();
                assert_eq!(regions.len(), 1);
                let b = batches_in(&region_bytes(&regions));
                assert_eq!(b, vec![(base, last)], "offset {o}");
                // without min_one_batch a too-small budget returns nothing
                log.read(o, 1, -1, false, &mut regions).unwrap();
                assert!(regions.is_empty());
            }
        }
        // max_offset: never a batch starting at or past it
        let (b10, _) = batches[10];
        log.read(0, u32::MAX, b10, true, &mut regions).unwrap();
        assert_eq!(batches_in(&region_bytes(&regions)), batches[..10].to_vec());
        log.read(b10, u32::MAX, b10, true, &mut regions).unwrap();
        assert!(regions.is_empty());
        // the log end reads empty; past it is out of range
        let leo = log.log_end_offset().unwrap();
        log.read(leo, 100, -1, true, &mut regions).unwrap();
        assert!(regions.is_empty());
        assert!(matches!(log.read(leo + 1, 100, -1, true, &mut regions), Err(Error::OutOfRange { .. })));
        // reopen after a clean close: same content
        log.close(true).unwrap();
        let log = Log::open(&dir, small_cfg()).unwrap();
        assert_eq!(read_all(&log, 0, 1000), batches);
        assert_eq!(log.recovery_point().unwrap(), leo);
        let more = fill(&log, 10, 2);
        assert_eq!(more[0].0, leo);
        log.close(false).unwrap();
        // unclean reopen (full scan): same content
        let log = Log::open(&dir, LogConfig { recovery_point: 0, ..small_cfg() }).unwrap();
        let mut expect = batches.clone();
        expect.extend(more);
        assert_eq!(read_all(&log, 0, 3000), expect);
        log.delete().unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn stamps_offsets_epoch_and_log_append_time() {
        let dir = temp_dir("log-stamp");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let mut buf = make_batch(3, 10, 500);
        buf.extend_from_slice(&make_batch(2, 10, 600));
        let original = buf.clone();
        let r = log.append(&buf, 9, TIMESTAMP_LOG_APPEND_TIME, 77_000, -1).unwrap();
        assert_eq!(buf, original, "the caller's buffer is not modified");
        assert_eq!((r.base_offset, r.last_offset, r.batch_count, r.record_count), (0, 4, 2, 5));
        assert_eq!((r.log_append_time, r.max_timestamp, r.bytes), (77_000, 77_000, buf.len() as u64));
        let mut regions = Vec::new();
        log.read(0, u32::MAX, -1, true, &mut regions).unwrap();
        let disk = region_bytes(&regions);
        let h1 = validate_batch(&disk, 0, Strictness::Produce).unwrap();
        assert_eq!((h1.base_offset, h1.max_timestamp), (0, 77_000));
        assert_ne!(h1.attributes & batch::ATTR_LOG_APPEND_TIME, 0);
        assert_eq!(batch::be_i32(&disk, batch::OFF_LEADER_EPOCH), 9);
        let h2 = validate_batch(&disk[h1.size_bytes as usize..], 0, Strictness::Produce).unwrap();
        assert_eq!(h2.base_offset, 3);
        // create time keeps the producer's timestamps
        let r = log.append(&make_batch(1, 1, 42), 0, TIMESTAMP_CREATE_TIME, 99_000, -1).unwrap();
        assert_eq!((r.base_offset, r.log_append_time, r.max_timestamp), (5, -1, 42));
        log.close(false).unwrap();
    }

    #[test]
    fn bad_batches_leave_the_log_unchanged() {
        let dir = temp_dir("log-bad");
        let log = Log::open(&dir, small_cfg()).unwrap();
        fill(&log, 5, 1);
        let (leo, size) = (log.log_end_offset().unwrap(), log.size_bytes().unwrap());
        let good = make_batch(2, 30, 1);
        let mut bad_crc = good.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        let mut bad_magic = good.clone();
        bad_magic[batch::OFF_MAGIC] = 0;
        let mut beyond = good.clone();
        beyond[8..12].copy_from_slice(&(good.len() as i32).to_be_bytes());
        let cases: Vec<(Vec<u8>, &str)> = vec![
            ([good.clone(), bad_crc].concat(), "crc mismatch"),
            ([good.clone(), bad_magic].concat(), "magic 0"),
            ([good.clone(), good[..40].to_vec()].concat(), "runs past the end"),
            ([good.clone(), beyond].concat(), "runs past the end"),
            (good[..5].to_vec(), "truncated"),
            (Vec::new(), "no record batch"),
        ];
        for (buf, what) in cases {
            let e = log.append(&buf, 0, 0, 1, -1).unwrap_err();
            assert!(e.to_string().contains(what), "{e} should mention {what}");
            assert_eq!((log.log_end_offset().unwrap(), log.size_bytes().unwrap()), (leo, size));
        }
        let e = log.append(&good, 0, 0, 1, 10).unwrap_err();
        assert!(matches!(e, Error::Batch(BatchError { kind: BatchErrorKind::TooLarge { .. }, .. })));
        assert_eq!(log.append(&good, 0, 0, 1, good.len() as i32).unwrap().base_offset, leo);
        log.close(false).unwrap();
    }

    #[test]
    fn truncate_to_within_and_across_segments() {
        let dir = temp_dir("log-truncate");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 80, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        let n_segments = infos.len();
        // a batch in the middle of the second segment, truncated at a mid-batch offset
        let seg2 = infos[1].base_offset;
        let k = batches.iter().position(|&(b, _)| b > seg2 + 3).unwrap();
        let (base, last) = batches[k];
        let target = if last > base { base + 1 } else { base };
        log.truncate_to(target).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), base, "the straddling batch goes whole");
        log.segments(&mut infos).unwrap();
        assert_eq!(infos.len(), 2);
        assert!(n_segments > 2);
        assert_eq!(read_all(&log, 0, 500), batches[..k].to_vec());
        // appends continue at the new end, indexes stay consistent across a reopen
        let more = fill(&log, 30, 2);
        assert_eq!(more[0].0, base);
        let mut expect = batches[..k].to_vec();
        expect.extend(more.iter().copied());
        assert_eq!(read_all(&log, 0, 900), expect);
        log.close(true).unwrap();
        let log = Log::open(&dir, small_cfg()).unwrap();
        assert_eq!(read_all(&log, 0, 900), expect);
        // truncate exactly to a segment base: that segment stays, empty
        log.segments(&mut infos).unwrap();
        let b = infos[2].base_offset;
        log.truncate_to(b).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), b);
        log.segments(&mut infos).unwrap();
        assert_eq!((infos.len(), infos[2].size_bytes), (3, 0));
        // truncating to the end or past it changes nothing
        log.truncate_to(b + 100).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), b);
        log.close(false).unwrap();
    }

    #[test]
    fn truncate_below_first_segment_starts_over() {
        let dir = temp_dir("log-truncate-full");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 60, 1);
        let leo = log.log_end_offset().unwrap();
        let deleted = log.delete_segments_before(leo).unwrap();
        assert!(deleted > 0);
        let first = log.log_start_offset().unwrap();
        assert_eq!(first, leo);
        log.truncate_to(batches[3].0).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), batches[3].0);
        assert_eq!(log.log_start_offset().unwrap(), batches[3].0);
        let more = fill(&log, 3, 1);
        assert_eq!(more[0].0, batches[3].0);
        log.close(false).unwrap();
    }

    #[test]
    fn delete_segments_before_keeps_the_active_one() {
        let dir = temp_dir("log-delete-before");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 80, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        let n = infos.len();
        // an offset inside segment 2: only segments 0 and 1 lie wholly below it
        let cut = infos[2].base_offset + 1;
        assert_eq!(log.delete_segments_before(cut).unwrap(), 2);
        assert_eq!(log.log_start_offset().unwrap(), cut);
        let mut regions = Vec::new();
        assert!(matches!(log.read(cut - 1, 100, -1, true, &mut regions), Err(Error::OutOfRange { .. })));
        let rest: Vec<_> = batches.iter().copied().filter(|&(_, l)| l >= infos[2].base_offset).collect();
        let got = read_all(&log, cut, 1000);
        assert_eq!(got.last(), rest.last());
        assert!(got[0].0 <= cut && cut <= got[0].1 || got[0].0 >= cut);
        assert!(!dir.join(crate::segment::file_name(infos[0].base_offset, "log")).exists());
        assert!(!dir.join(crate::segment::file_name(infos[0].base_offset, "index")).exists());
        // everything: all but the active segment
        let leo = log.log_end_offset().unwrap();
        assert_eq!(log.delete_segments_before(leo).unwrap() as usize, n - 3);
        log.segments(&mut infos).unwrap();
        assert_eq!(infos.len(), 1);
        assert!(matches!(log.delete_segments_before(leo + 1), Err(Error::OutOfRange { .. })));
        // start offset survives a reopen through the caller's checkpoint
        log.set_start_offset(leo).unwrap();
        log.close(true).unwrap();
        let log = Log::open(&dir, LogConfig { log_start_offset: leo, ..small_cfg() }).unwrap();
        assert_eq!(log.log_start_offset().unwrap(), leo);
        log.close(false).unwrap();
    }

    #[test]
    fn timestamps_lookup() {
        let dir = temp_dir("log-timestamps");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let mut expect = Vec::new();
        for i in 0..200i64 {
            // not monotonic: every 7th batch carries an older timestamp
            let ts = if i % 7 == 3 { 10 } else { 1000 + i * 10 };
            let r = log.append(&make_batch(1, 100, ts), 0, 0, 1, -1).unwrap();
            expect.push((r.base_offset, ts));
        }
        for probe in [0i64, 10, 11, 999, 1000, 1001, 1500, 2990, 2991, 5000] {
            let want = expect.iter().find(|&&(_, ts)| ts >= probe).copied();
            assert_eq!(log.offset_for_timestamp(probe).unwrap(), want, "ts {probe}");
        }
        // batch 199 carries an old timestamp (199 % 7 == 3)
        assert_eq!(log.max_timestamp().unwrap(), Some((198, 1000 + 198 * 10)));
        log.close(true).unwrap();
        let log = Log::open(&dir, small_cfg()).unwrap();
        assert_eq!(log.offset_for_timestamp(1500).unwrap(), Some((50, 1500)));
        assert_eq!(log.max_timestamp().unwrap(), Some((198, 2980)));
        // below the log start offset nothing is returned
        log.delete_segments_before(100).unwrap();
        log.set_start_offset(120).unwrap();
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((120, 2200)));
        log.close(false).unwrap();
    }

    #[test]
    fn rolls_on_segment_ms_and_full_index() {
        let dir = temp_dir("log-roll-time");
        let log = Log::open(&dir, LogConfig { segment_ms: 1000, ..small_cfg() }).unwrap();
        log.append(&make_batch(1, 10, 0), 0, 0, 10_000, -1).unwrap();
        let r = log.append(&make_batch(1, 10, 0), 0, 0, 10_500, -1).unwrap();
        assert_eq!(r.needs_flush, 0);
        let r = log.append(&make_batch(1, 10, 0), 0, 0, 11_001, -1).unwrap();
        assert_eq!(r.needs_flush, 1, "a roll asks for a flush");
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        assert_eq!(infos.iter().map(|s| s.base_offset).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(infos[1].created_ms, 11_001);
        log.roll(11_002).unwrap();
        log.roll(11_003).unwrap(); // empty active segment: no new one
        log.segments(&mut infos).unwrap();
        assert_eq!(infos.len(), 3);
        log.close(false).unwrap();

        let dir = temp_dir("log-roll-index");
        let cfg = LogConfig { segment_index_bytes: 16, index_interval_bytes: 0, segment_bytes: 1 << 20, ..LogConfig::default() };
        let log = Log::open(&dir, cfg).unwrap();
        let batches = fill(&log, 20, 1);
        log.segments(&mut infos).unwrap();
        assert!(infos.len() >= 5, "two index entries per segment: {} segments", infos.len());
        assert_eq!(read_all(&log, 0, 10_000), batches);
        log.close(false).unwrap();
    }

    #[test]
    fn flush_from_another_thread_while_appending() {
        let dir = temp_dir("log-flush");
        let log = Arc::new(Log::open(&dir, LogConfig { flush_messages: 50, ..small_cfg() }).unwrap());
        assert_eq!(log.recovery_point().unwrap(), 0);
        let flusher = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for _ in 0..20 {
                    log.flush().unwrap();
                }
            })
        };
        let mut asked = 0;
        for i in 0..200 {
            let r = log.append(&make_batch(1, 50, i), 0, 0, 1, -1).unwrap();
            asked += r.needs_flush;
        }
        flusher.join().unwrap();
        assert!(asked > 0);
        log.flush().unwrap();
        assert_eq!(log.recovery_point().unwrap(), 200);
        let r = log.append(&make_batch(1, 50, 0), 0, 0, 1, -1).unwrap();
        assert_eq!(r.needs_flush, 0);
        log.close(true).unwrap();
        assert!(dir.join(CLEAN_SHUTDOWN_MARKER).exists());
    }

    #[test]
    fn config_is_validated() {
        let dir = temp_dir("log-config");
        assert!(matches!(Log::open(&dir, LogConfig { segment_bytes: 1, ..LogConfig::default() }), Err(Error::InvalidArg(_))));
        let log = Log::open(&dir, LogConfig::default()).unwrap();
        assert!(log.configure(LogConfig { segment_index_bytes: 0, ..LogConfig::default() }).is_err());
        log.configure(LogConfig { segment_bytes: 1000, ..LogConfig::default() }).unwrap();
        fill(&log, 20, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        assert!(infos.len() > 2);
        log.close(false).unwrap();
        assert!(matches!(log.log_end_offset(), Err(Error::Closed)));
    }

    // ---- recovery ----

    fn copy_dir(from: &Path, to: &Path) {
        let _ = std::fs::remove_dir_all(to);
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }

    fn assert_consistent(log: &Log, expect: &[(i64, i64)]) {
        assert_eq!(log.log_end_offset().unwrap(), expect.last().map_or(0, |b| b.1 + 1));
        assert_eq!(read_all(log, 0, 300), expect);
        for &(base, last) in expect {
            let mut regions = Vec::new();
            log.read(last, 1, -1, true, &mut regions).unwrap();
            assert_eq!(batches_in(&region_bytes(&regions)), vec![(base, last)]);
        }
        let mut g = log.lock();
        let st = g.state.as_mut().unwrap();
        let nexts: Vec<Option<i64>> = (0..st.segments.len()).map(|i| st.segments.get(i + 1).map(|n| n.base_offset)).collect();
        for (s, next) in st.segments.iter_mut().zip(nexts) {
            assert!(s.indexes_sane(next), "segment {} indexes", s.base_offset);
        }
    }

    #[test]
    fn recovers_from_every_truncation_point() {
        let dir = temp_dir("log-recover-src");
        let cfg = LogConfig { index_interval_bytes: 100, ..small_cfg() };
        let log = Log::open(&dir, cfg).unwrap();
        let mut batches = Vec::new();
        let mut ends = Vec::new(); // byte end of each batch in the single segment
        let mut size = 0u64;
        for i in 0..12 {
            let buf = make_batch(1 + i % 3, 17 + i * 5, i as i64);
            let r = log.append(&buf, 0, 0, 1, -1).unwrap();
            batches.push((r.base_offset, r.last_offset));
            size += buf.len() as u64;
            ends.push(size);
        }
        log.close(false).unwrap();
        let log_name = crate::segment::file_name(0, "log");
        let work = temp_dir("log-recover-work");
        for cut in 0..=size {
            copy_dir(&dir, &work);
            let f = std::fs::OpenOptions::new().write(true).open(work.join(&log_name)).unwrap();
            f.set_len(cut).unwrap();
            drop(f);
            let log = Log::open(&work, LogConfig { recovery_point: 0, ..cfg }).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            assert_consistent(&log, &batches[..whole]);
            assert_eq!(log.size_bytes().unwrap(), if whole == 0 { 0 } else { ends[whole - 1] }, "cut {cut}");
            // and it takes appends again at the right offset
            let r = log.append(&make_batch(1, 5, 0), 0, 0, 1, -1).unwrap();
            assert_eq!(r.base_offset, batches[..whole].last().map_or(0, |b| b.1 + 1));
            log.close(false).unwrap();
        }
        std::fs::remove_dir_all(&work).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_byte_truncates_to_the_last_valid_batch_and_drops_later_segments() {
        let dir = temp_dir("log-corrupt");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 60, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        log.close(false).unwrap();
        assert!(infos.len() >= 4);

        // a flipped byte in the tail of the active segment
        let work = temp_dir("log-corrupt-work");
        copy_dir(&dir, &work);
        let last = infos.last().unwrap();
        let p = work.join(crate::segment::file_name(last.base_offset, "log"));
        let mut raw = std::fs::read(&p).unwrap();
        let n = raw.len();
        raw[n - 3] ^= 0x55;
        std::fs::write(&p, &raw).unwrap();
        let rp = infos[infos.len() - 1].base_offset;
        let log = Log::open(&work, LogConfig { recovery_point: rp, ..small_cfg() }).unwrap();
        assert_consistent(&log, &batches[..batches.len() - 1]);
        log.close(false).unwrap();

        // a flipped byte in a middle segment at/after the recovery point: later ones go
        copy_dir(&dir, &work);
        let mid = &infos[1];
        let p = work.join(crate::segment::file_name(mid.base_offset, "log"));
        let mut raw = std::fs::read(&p).unwrap();
        let first_len = batch::be_i32(&raw, 8) as usize + 12;
        raw[first_len + 70] ^= 0x01; // inside the second batch of the segment
        std::fs::write(&p, &raw).unwrap();
        let log = Log::open(&work, LogConfig { recovery_point: mid.base_offset, ..small_cfg() }).unwrap();
        let keep = batches.iter().position(|&(b, _)| b == mid.base_offset).unwrap() + 1;
        assert_consistent(&log, &batches[..keep]);
        log.segments(&mut infos).unwrap();
        assert_eq!(infos.len(), 2);
        assert!(!work.join(crate::segment::file_name(batches[keep].0, "log")).exists() || infos.len() == 2);
        log.close(false).unwrap();
        std::fs::remove_dir_all(&work).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_or_corrupt_indexes_are_rebuilt() {
        let dir = temp_dir("log-index-rebuild");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 60, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        log.close(true).unwrap();
        let idx0 = dir.join(crate::segment::file_name(infos[0].base_offset, "index"));
        let original = std::fs::read(&idx0).unwrap();
        assert!(original.len() >= 16, "the first segment has index entries");
        // deleted index (clean shutdown, so only the sanity check can notice)
        std::fs::remove_file(&idx0).unwrap();
        // garbage index: positions past the file
        let idx1 = dir.join(crate::segment::file_name(infos[1].base_offset, "index"));
        std::fs::write(&idx1, [0x7fu8; 16]).unwrap();
        // wrong-sized time index
        let tidx2 = dir.join(crate::segment::file_name(infos[2].base_offset, "timeindex"));
        std::fs::write(&tidx2, [1u8; 13]).unwrap();
        let log = Log::open(&dir, small_cfg()).unwrap();
        assert_consistent(&log, &batches);
        assert_eq!(std::fs::read(&idx0).unwrap(), original, "rebuilt identically");
        log.close(true).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn clean_shutdown_marker_skips_the_scan() {
        let dir = temp_dir("log-clean-marker");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 10, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        log.close(true).unwrap();
        let marker = dir.join(CLEAN_SHUTDOWN_MARKER);
        assert!(marker.exists());
        // damage the data of the last batch (not its header): a scan would cut it off
        let p = dir.join(crate::segment::file_name(infos.last().unwrap().base_offset, "log"));
        let mut raw = std::fs::read(&p).unwrap();
        let n = raw.len();
        raw[n - 2] ^= 0xff;
        std::fs::write(&p, &raw).unwrap();
        let log = Log::open(&dir, LogConfig { recovery_point: 0, ..small_cfg() }).unwrap();
        assert!(!marker.exists(), "the marker is consumed by open");
        assert_eq!(log.log_end_offset().unwrap(), batches.last().unwrap().1 + 1, "trusted, not scanned");
        assert_eq!(log.recovery_point().unwrap(), log.log_end_offset().unwrap());
        log.close(false).unwrap();
        // without the marker the same files are scanned and the bad batch is cut
        let log = Log::open(&dir, LogConfig { recovery_point: 0, ..small_cfg() }).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), batches[batches.len() - 1].0);
        log.close(false).unwrap();
        let _ = be_i64(&[0u8; 8], OFF_BASE_OFFSET);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn orphan_index_files_are_removed_and_empty_dir_starts_at_log_start() {
        let dir = temp_dir("log-orphans");
        std::fs::write(dir.join(crate::segment::file_name(5, "index")), [0u8; 8]).unwrap();
        let log = Log::open(&dir, LogConfig { log_start_offset: 42, ..small_cfg() }).unwrap();
        assert!(!dir.join(crate::segment::file_name(5, "index")).exists());
        assert_eq!((log.log_start_offset().unwrap(), log.log_end_offset().unwrap()), (42, 42));
        assert_eq!(log.append(&make_batch(2, 1, 0), 0, 0, 1, -1).unwrap().base_offset, 42);
        log.close(false).unwrap();
    }

    // ---- file.delete.delay.ms and segment replacement ----

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn retired_segments_stay_readable_until_removed() {
        let dir = temp_dir("log-retire");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 80, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        assert!(infos.len() >= 5);
        let mut regions = Vec::new();
        log.read(0, u32::MAX, infos[1].base_offset, true, &mut regions).unwrap();
        let before = region_bytes(&regions);
        assert_eq!(log.deleted_generation().unwrap(), 0);

        // retention: renamed, still open
        assert_eq!(log.delete_segments_before(infos[1].base_offset).unwrap(), 1);
        assert_eq!(log.deleted_generation().unwrap(), 1);
        let seg0 = dir.join(crate::segment::file_name(0, "log"));
        assert!(!seg0.exists());
        for ext in ["log", "index", "timeindex"] {
            assert!(dir.join(format!("{}.deleted", crate::segment::file_name(0, ext))).exists(), "{ext}");
        }
        assert_eq!(region_bytes(&regions), before, "a region handed out before keeps reading the renamed file");

        // truncation: the segments above the cut are retired too
        let cut = infos[3].base_offset;
        log.truncate_to(cut).unwrap();
        assert_eq!(log.deleted_generation().unwrap(), 2);
        let above: Vec<i64> = infos[4..].iter().map(|s| s.base_offset).collect();
        for &b in &above {
            assert!(dir.join(format!("{}.deleted", crate::segment::file_name(b, "log"))).exists());
        }
        assert_eq!(read_all(&log, infos[1].base_offset, 1000).last().unwrap().1, cut - 1);
        // a new segment may take a retired one's name again
        let more = fill(&log, 40, 2);
        assert_eq!(more[0].0, cut);
        log.segments(&mut infos).unwrap();
        assert!(infos.iter().any(|s| above.contains(&s.base_offset)) || infos.len() > 1);

        // generation 1 only: the truncated ones wait
        assert_eq!(log.remove_deleted(1).unwrap(), above.len() as u32);
        assert!(!dir.join(format!("{}.deleted", crate::segment::file_name(0, "log"))).exists());
        assert_eq!(log.remove_deleted(2).unwrap(), 0);
        assert!(!names_in(&dir).iter().any(|n| n.ends_with(".deleted")), "{:?}", names_in(&dir));
        assert_eq!(read_all(&log, infos[0].base_offset, 1000).len(), batches.iter().filter(|b| b.0 >= infos[0].base_offset && b.0 < cut).count() + more.len());

        // close removes what still waits
        log.delete_segments_before(infos[1].base_offset).unwrap();
        assert!(names_in(&dir).iter().any(|n| n.ends_with(".log.deleted")));
        log.close(true).unwrap();
        assert!(!names_in(&dir).iter().any(|n| n.ends_with(".deleted")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn open_removes_leftover_deleted_cleaned_and_swap_index_files() {
        let dir = temp_dir("log-leftovers");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 40, 1);
        log.close(true).unwrap();
        let junk = [
            "00000000000000000007.log.deleted",
            "00000000000000000007.index.deleted",
            "00000000000000000007.timeindex.deleted",
            "00000000000000000000.log.cleaned",
            "00000000000000000000.index.cleaned",
            "00000000000000000000.timeindex.swap",
        ];
        for j in junk {
            std::fs::write(dir.join(j), b"junk").unwrap();
        }
        std::fs::write(dir.join("notes.deleted"), b"not ours").unwrap();
        let log = Log::open(&dir, small_cfg()).unwrap();
        for j in junk {
            assert!(!dir.join(j).exists(), "{j}");
        }
        assert!(dir.join("notes.deleted").exists(), "only the engine's own file names are removed");
        assert_eq!(read_all(&log, 0, 1000), batches);
        log.close(false).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A batch as the log cleaner leaves it: original base offset and last offset delta,
    /// `records` records (0: an empty batch kept for the producer state).
    fn cleaned_batch(base: i64, last_offset_delta: i32, records: usize, ts: i64) -> Vec<u8> {
        let mut b = make_batch(records, 12, ts);
        b[batch::OFF_BASE_OFFSET..batch::OFF_BASE_OFFSET + 8].copy_from_slice(&base.to_be_bytes());
        b[batch::OFF_LAST_OFFSET_DELTA..batch::OFF_LAST_OFFSET_DELTA + 4].copy_from_slice(&last_offset_delta.to_be_bytes());
        crate::batch::testutil::fix_crc(&mut b);
        b
    }

    /// The cleaned form of the batches in [from, to): every third batch dropped, the others
    /// with about half their records (single-record batches become empty batches).
    fn clean(batches: &[(i64, i64)], from: i64, to: i64) -> (Vec<u8>, Vec<(i64, i64)>) {
        let mut bytes = Vec::new();
        let mut kept = Vec::new();
        for (k, &(base, last)) in batches.iter().enumerate().filter(|&(_, &(b, _))| b >= from && b < to) {
            if k % 3 == 1 {
                continue;
            }
            let delta = (last - base) as i32;
            bytes.extend(cleaned_batch(base, delta, ((delta + 1) / 2) as usize, 5000 + base));
            kept.push((base, last));
        }
        (bytes, kept)
    }

    fn cleaned_path(dir: &Path, base: i64) -> PathBuf {
        dir.join(format!("{}.cleaned", crate::segment::file_name(base, "log")))
    }

    #[test]
    fn replace_segments_swaps_in_a_cleaned_segment() {
        let dir = temp_dir("log-replace");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 90, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        assert!(infos.len() >= 5);
        assert_eq!(infos.iter().map(|s| s.is_active).collect::<Vec<_>>().iter().sum::<i32>(), 1);
        assert_eq!(infos.last().unwrap().is_active, 1);
        let (b1, b2, b3) = (infos[1].base_offset, infos[2].base_offset, infos[3].base_offset);
        let (bytes, kept) = clean(&batches, b1, b3);
        assert!(kept.len() >= 4 && bytes.len() < (infos[1].size_bytes + infos[2].size_bytes) as usize);
        std::fs::write(cleaned_path(&dir, b1), &bytes).unwrap();
        // a reader holding the old segment's region
        let mut old_regions = Vec::new();
        log.read(b1, u32::MAX, b2, true, &mut old_regions).unwrap();
        let old_bytes = region_bytes(&old_regions);
        let mut regions = Vec::new();
        let old_mtime = infos[1].last_modified_ms.max(infos[2].last_modified_ms);

        log.replace_segments(&[b1, b2], &cleaned_path(&dir, b1)).unwrap();

        let mut expect: Vec<(i64, i64)> = batches.iter().copied().filter(|&(b, _)| b < b1).collect();
        expect.extend(kept.iter().copied());
        expect.extend(batches.iter().copied().filter(|&(b, _)| b >= b3));
        assert_consistent(&log, &expect);
        log.segments(&mut infos).unwrap();
        assert_eq!(infos[1].base_offset, b1);
        assert_eq!(infos[2].base_offset, b3);
        assert_eq!(infos[1].size_bytes, bytes.len() as u64);
        assert_eq!(infos[1].last_modified_ms, old_mtime, "the cleaned segment keeps the old modification time");
        // an offset in a gap reads from the next batch kept
        let gap = batches.iter().enumerate().find(|&(k, &(b, _))| b >= b1 && k % 3 == 1).unwrap().1 .0;
        log.read(gap, 1, -1, true, &mut regions).unwrap();
        assert!(batches_in(&region_bytes(&regions))[0].0 > gap);
        // the raw bytes on disk are the cleaned file's
        log.read(b1, u32::MAX, b3, true, &mut regions).unwrap();
        assert_eq!(region_bytes(&regions), bytes);
        // the old segments: renamed, the reader's region still reads them
        let names = names_in(&dir);
        for b in [b1, b2] {
            for ext in ["log", "index", "timeindex"] {
                assert!(names.contains(&format!("{}.deleted", crate::segment::file_name(b, ext))), "{names:?}");
            }
        }
        assert!(!dir.join(crate::segment::file_name(b2, "log")).exists());
        assert!(!names.iter().any(|n| n.ends_with(".swap") || n.ends_with(".cleaned")), "{names:?}");
        // the region was read before the swap: its fd is the retired old segment's
        assert_eq!(region_bytes(&old_regions), old_bytes);
        assert_eq!(log.remove_deleted(log.deleted_generation().unwrap()).unwrap(), 0);
        assert!(!names_in(&dir).iter().any(|n| n.ends_with(".deleted")));

        // the cleaned segment survives appends, a clean reopen and a full recovery scan
        let more = fill(&log, 10, 2);
        expect.extend(more);
        log.close(true).unwrap();
        let log = Log::open(&dir, small_cfg()).unwrap();
        assert_consistent(&log, &expect);
        log.close(false).unwrap();
        let log = Log::open(&dir, LogConfig { recovery_point: 0, ..small_cfg() }).unwrap();
        assert_consistent(&log, &expect);
        log.close(false).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_reader_of_a_replaced_segment_keeps_reading_it() {
        let dir = temp_dir("log-replace-reader");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 60, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        let (b0, b1) = (infos[0].base_offset, infos[1].base_offset);
        let mut regions = Vec::new();
        log.read(b0, u32::MAX, b1, true, &mut regions).unwrap();
        let before = region_bytes(&regions);
        let (bytes, _) = clean(&batches, b0, b1);
        std::fs::write(cleaned_path(&dir, b0), &bytes).unwrap();
        log.replace_segments(&[b0], &cleaned_path(&dir, b0)).unwrap();
        assert_eq!(region_bytes(&regions), before, "the old fd stays open until remove_deleted");
        log.remove_deleted(u64::MAX).unwrap();
        log.close(false).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn replace_segments_accepts_an_empty_cleaned_file() {
        let dir = temp_dir("log-replace-empty");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 60, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        let (b0, b2) = (infos[0].base_offset, infos[2].base_offset);
        std::fs::write(cleaned_path(&dir, b0), b"").unwrap();
        log.replace_segments(&[b0, infos[1].base_offset], &cleaned_path(&dir, b0)).unwrap();
        let expect: Vec<(i64, i64)> = batches.iter().copied().filter(|&(b, _)| b >= b2).collect();
        assert_consistent_from(&log, 0, &expect);
        log.close(false).unwrap();
        let log = Log::open(&dir, LogConfig { recovery_point: 0, ..small_cfg() }).unwrap();
        assert_consistent_from(&log, 0, &expect);
        log.close(false).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// assert_consistent for a log whose reads start at `from`.
    fn assert_consistent_from(log: &Log, from: i64, expect: &[(i64, i64)]) {
        assert_eq!(read_all(log, from, 300), expect);
        let mut g = log.lock();
        let st = g.state.as_mut().unwrap();
        let nexts: Vec<Option<i64>> = (0..st.segments.len()).map(|i| st.segments.get(i + 1).map(|n| n.base_offset)).collect();
        for (s, next) in st.segments.iter_mut().zip(nexts) {
            assert!(s.indexes_sane(next), "segment {} indexes", s.base_offset);
        }
    }

    #[test]
    fn replace_segments_rejects_bad_arguments_and_bad_files_leaving_the_log_unchanged() {
        let dir = temp_dir("log-replace-bad");
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 90, 1);
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        let n = infos.len();
        let (b1, b2, b3) = (infos[1].base_offset, infos[2].base_offset, infos[3].base_offset);
        let (good, kept) = clean(&batches, b1, b3);
        let path = cleaned_path(&dir, b1);
        std::fs::write(&path, &good).unwrap();
        let names_before = names_in(&dir);
        let check_unchanged = |log: &Log| {
            assert_consistent(log, &batches);
            assert_eq!(names_in(&dir), names_before);
        };
        let invalid = |r: Result<()>, what: &str| match r {
            Err(Error::InvalidArg(m)) => assert!(m.contains(what), "{m} should mention {what}"),
            other => panic!("expected InvalidArg({what}), got {other:?}"),
        };
        // arguments
        invalid(log.replace_segments(&[], &path), "no segments");
        invalid(log.replace_segments(&[b1, b2], &dir.join("x.log.cleaned")), "must be");
        invalid(log.replace_segments(&[b2], &path), "must be");
        let other_dir = temp_dir("log-replace-bad-other");
        invalid(log.replace_segments(&[b1, b2], &other_dir.join(path.file_name().unwrap())), "must be");
        invalid(log.replace_segments(&[b1 + 1], &cleaned_path(&dir, b1 + 1)), "no segment");
        invalid(log.replace_segments(&[b1, b3], &path), "not contiguous");
        let all: Vec<i64> = infos[1..].iter().map(|s| s.base_offset).collect();
        invalid(log.replace_segments(&all, &path), "active segment");
        check_unchanged(&log);

        // files: each written as the cleaned file in turn
        let first = &good[..validate_batch(&good, 0, Strictness::Stored).unwrap().size_bytes as usize];
        let mut bad_crc = good.clone();
        let last = bad_crc.len() - 1;
        bad_crc[last] ^= 1;
        let below = [cleaned_batch(b1 - 1, 0, 1, 1), good.clone()].concat();
        let past = [good.clone(), cleaned_batch(b3, 0, 1, 1)].concat();
        let straddles = [good.clone(), cleaned_batch(b3 - 1, 1, 1, 1)].concat();
        let backwards = [good.clone(), first.to_vec()].concat();
        let torn = good[..good.len() - 3].to_vec();
        let mut bad_magic = good.clone();
        bad_magic[batch::OFF_MAGIC] = 1;
        let count_above_delta = cleaned_batch(b1, 0, 2, 1);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (bad_crc, "crc mismatch"),
            (below, "leave"),
            (past, "leave"),
            (straddles, "leave"),
            (backwards, "backwards"),
            (torn, "runs past the end"),
            (bad_magic, "magic 1"),
            (count_above_delta, "inconsistent with record count"),
        ];
        for (bytes, what) in cases {
            std::fs::write(&path, &bytes).unwrap();
            invalid(log.replace_segments(&[b1, b2], &path), what);
            assert!(path.exists(), "the cleaned file is left to the caller");
            std::fs::write(&path, &good).unwrap();
            check_unchanged(&log);
        }
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(log.replace_segments(&[b1, b2], &path), Err(Error::Io { .. })));

        // and the good file still goes in afterwards
        std::fs::write(&path, &good).unwrap();
        log.replace_segments(&[b1, b2], &path).unwrap();
        log.segments(&mut infos).unwrap();
        assert_eq!(infos.len(), n - 1);
        let mut expect: Vec<(i64, i64)> = batches.iter().copied().filter(|&(b, _)| b < b1).collect();
        expect.extend(kept);
        expect.extend(batches.iter().copied().filter(|&(b, _)| b >= b3));
        assert_consistent(&log, &expect);
        log.close(false).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&other_dir).unwrap();
    }

    #[test]
    fn replace_segments_fails_when_the_log_changes_while_it_is_prepared() {
        for change in ["retention", "truncation", "replacement", "close"] {
            let dir = temp_dir(&format!("log-replace-race-{change}"));
            let log = Arc::new(Log::open(&dir, small_cfg()).unwrap());
            let batches = fill(&log, 90, 1);
            let mut infos = Vec::new();
            log.segments(&mut infos).unwrap();
            let (b1, b2, b3) = (infos[1].base_offset, infos[2].base_offset, infos[3].base_offset);
            let (good, _) = clean(&batches, b1, b3);
            std::fs::write(cleaned_path(&dir, b1), &good).unwrap();
            let (other, _) = clean(&batches, b2, b3);
            std::fs::write(cleaned_path(&dir, b2), &other).unwrap();
            let racer = Arc::clone(&log);
            let racer_dir = dir.clone();
            let change_name = change.to_string();
            crate::segment::STEP_HOOK.with(|h| {
                *h.borrow_mut() = Some(Box::new(move |name: &str| {
                    if name != "prepared" {
                        return;
                    }
                    match change_name.as_str() {
                        "retention" => {
                            racer.delete_segments_before(b2).unwrap();
                        }
                        "truncation" => racer.truncate_to(b3 + 1).unwrap(),
                        // an inner replacement of the second segment (its steps skip the hook)
                        "replacement" => racer.replace_segments(&[b2], &cleaned_path(&racer_dir, b2)).unwrap(),
                        _ => racer.close(false).unwrap(),
                    }
                }))
            });
            let r = log.replace_segments(&[b1, b2], &cleaned_path(&dir, b1));
            crate::segment::STEP_HOOK.with(|h| *h.borrow_mut() = None);
            if change == "close" {
                assert!(matches!(r, Err(Error::Closed)), "{r:?}");
            } else {
                match r {
                    Err(Error::InvalidArg(m)) => assert!(m.contains("changed"), "{m}"),
                    other => panic!("{change}: {other:?}"),
                }
                log.segments(&mut infos).unwrap();
                assert_ne!(infos.iter().find(|s| s.base_offset == b1).map(|s| s.size_bytes), Some(good.len() as u64));
                log.close(false).unwrap();
            }
            let names = names_in(&dir);
            assert!(!names.iter().any(|n| n.contains(".index.") || n.contains(".timeindex.") || n.ends_with(".swap")), "{change}: {names:?}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// Runs a replacement, snapshotting the directory before it, after preparing, and
    /// after every rename; then opens every snapshot as a crashed log (no clean-shutdown
    /// marker) and checks what it reads.
    fn crash_at_every_step(name: &str, clean_to: fn(&[i64]) -> i64) {
        let dir = temp_dir(name);
        let log = Log::open(&dir, small_cfg()).unwrap();
        let batches = fill(&log, 90, 1);
        log.flush().unwrap();
        let mut infos = Vec::new();
        log.segments(&mut infos).unwrap();
        let bases: Vec<i64> = infos.iter().map(|s| s.base_offset).collect();
        let (b1, b2, b3) = (bases[1], bases[2], bases[3]);
        // the cleaned batches come from [b1, clean_to): a cleaned file may end early
        let (bytes, kept) = clean(&batches, b1, clean_to(&bases));
        std::fs::write(cleaned_path(&dir, b1), &bytes).unwrap();
        let rp = log.log_end_offset().unwrap();

        let snaps = temp_dir(&format!("{name}-snaps"));
        let steps: Arc<Mutex<Vec<(String, PathBuf)>>> = Arc::new(Mutex::new(Vec::new()));
        let snap = {
            let steps = Arc::clone(&steps);
            let (dir, snaps) = (dir.clone(), snaps.clone());
            move |step: &str| {
                let mut s = steps.lock().unwrap();
                let to = snaps.join(format!("{:02}-{step}", s.len()));
                copy_dir(&dir, &to);
                s.push((step.to_string(), to));
            }
        };
        snap("start");
        let hook = snap.clone();
        crate::segment::STEP_HOOK.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
        log.replace_segments(&[b1, b2], &cleaned_path(&dir, b1)).unwrap();
        crate::segment::STEP_HOOK.with(|h| *h.borrow_mut() = None);
        snap("end");
        drop(log); // a crash: no close

        let steps = steps.lock().unwrap().clone();
        let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["start", "prepared", "index-swap", "timeindex-swap", "log-swap", "retire", "retire", "retire", "retire", "retire", "retire", "index", "timeindex", "log", "end"]
        );
        let before: Vec<(i64, i64)> = batches.clone();
        let swap_last = kept.last().map_or(b1, |k| k.1);
        let mut decided = false;
        for (step, snapshot) in &steps {
            decided |= step == "log-swap";
            // a second old segment wholly past the cleaned data survives a crash that
            // happens before it was renamed (its offsets are not in the swap's range)
            let b2_survives = decided && b2 > swap_last && snapshot.join(crate::segment::file_name(b2, "log")).exists();
            let expect: Vec<(i64, i64)> = if !decided {
                before.clone()
            } else {
                let mut e: Vec<(i64, i64)> = batches.iter().copied().filter(|&(b, _)| b < b1).collect();
                e.extend(kept.iter().copied());
                if b2_survives {
                    e.extend(batches.iter().copied().filter(|&(b, _)| b >= b2 && b < b3));
                }
                e.extend(batches.iter().copied().filter(|&(b, _)| b >= b3));
                e
            };
            for recovery_point in [rp, 0] {
                let work = snaps.join("work");
                copy_dir(snapshot, &work);
                let log = Log::open(&work, LogConfig { recovery_point, ..small_cfg() })
                    .unwrap_or_else(|e| panic!("{name} after {step}: open failed: {e}"));
                assert_consistent(&log, &expect);
                let left = names_in(&work);
                assert!(
                    !left.iter().any(|n| n.ends_with(".swap") || n.ends_with(".cleaned") || n.ends_with(".deleted")),
                    "{name} after {step}: {left:?}"
                );
                let mut infos = Vec::new();
                log.segments(&mut infos).unwrap();
                let got: Vec<i64> = infos.iter().map(|s| s.base_offset).collect();
                let want: Vec<i64> = if decided {
                    bases.iter().copied().filter(|&b| b != b2 || b2_survives).collect()
                } else {
                    bases.clone()
                };
                assert_eq!(got, want, "{name} after {step}");
                // and it goes on taking appends
                let r = log.append(&make_batch(1, 5, 0), 0, 0, 1, -1).unwrap();
                assert_eq!(r.base_offset, batches.last().unwrap().1 + 1);
                log.close(false).unwrap();
            }
        }
        std::fs::remove_dir_all(&snaps).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_crash_at_every_step_of_a_swap_leaves_a_readable_log() {
        // the cleaned data reaches into the second old segment: the swap covers both
        crash_at_every_step("log-crash-swap", |bases| bases[3]);
    }

    #[test]
    fn a_crash_at_every_step_of_a_swap_that_ends_early_leaves_a_readable_log() {
        // everything from the second old segment on was cleaned away
        crash_at_every_step("log-crash-swap-short", |bases| bases[2]);
    }

    /// Prints throughput figures (not a test of timings): `cargo test --release -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn print_throughput() {
        use std::io::Write;
        use std::time::Instant;
        let data: Vec<u8> = (0..64usize << 20).map(|i| (i * 31 + i / 7) as u8).collect();
        let t = Instant::now();
        let mut c = 0;
        for _ in 0..8 {
            c ^= crate::crc32c::crc32c(0, &data);
        }
        let hw = 8.0 * data.len() as f64 / t.elapsed().as_secs_f64() / 1e9;
        let t = Instant::now();
        c ^= crate::crc32c::crc32c_table(0, &data);
        let table = data.len() as f64 / t.elapsed().as_secs_f64() / 1e9;
        println!("crc32c: hardware {hw:.1} GB/s, table {table:.2} GB/s ({c:x})");

        for (batch_bytes, total) in [(64usize << 10, 512usize << 20), (1 << 10, 128 << 20)] {
            let batch = make_batch(1, batch_bytes - 61 - 10, 0);
            let n = total / batch.len();
            let dir = temp_dir("perf-append");
            let log = Log::open(&dir, LogConfig::default()).unwrap();
            let t = Instant::now();
            for _ in 0..n {
                log.append(&batch, 0, 0, 1, -1).unwrap();
            }
            let engine = (n * batch.len()) as f64 / t.elapsed().as_secs_f64() / 1e6;
            log.delete().unwrap();
            let dir = temp_dir("perf-write");
            let mut f = File::create(dir.join("raw")).unwrap();
            let t = Instant::now();
            for _ in 0..n {
                f.write_all(&batch).unwrap();
            }
            let raw = (n * batch.len()) as f64 / t.elapsed().as_secs_f64() / 1e6;
            std::fs::remove_dir_all(&dir).unwrap();
            println!("append {} B batches: engine {engine:.0} MB/s, raw write {raw:.0} MB/s ({:.2}x)", batch.len(), engine / raw);
        }
    }
}
