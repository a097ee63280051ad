//! One segment: the .log file and its two indexes. Appends go to the end of the file with
//! pwritev; reads walk batch headers with pread (the data bytes are never read here,
//! except by recovery, which must check every CRC).

use crate::batch::{validate_batch, BatchError, BatchHeader, Strictness, HEADER_BYTES, LOG_OVERHEAD_BYTES};
use crate::batch::{be_i32, MIN_BATCH_LENGTH, OFF_BATCH_LENGTH};
use crate::file_cache::{self, Owner, Release, Ticket};
use crate::offset_index::OffsetIndex;
use crate::sys;
use crate::time_index::TimeIndex;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::UNIX_EPOCH;

pub fn file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

/// Suffix of a segment file renamed for deletion (removed after file.delete.delay.ms).
pub const DELETED_SUFFIX: &str = ".deleted";
/// Suffix of a segment written by the log cleaner, not yet part of the log.
pub const CLEANED_SUFFIX: &str = ".cleaned";
/// Suffix of a cleaned segment whose swap into the log has been decided.
pub const SWAP_SUFFIX: &str = ".swap";

/// `path` with `suffix` appended to its file name ("x.log" -> "x.log.deleted").
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Removes a file; a file already gone is fine.
pub fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Renames a file; Ok(false) when `from` does not exist.
fn rename_if_exists(from: &Path, to: &Path) -> io::Result<bool> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

// Test hook: called after each step of a segment swap or retirement whose effect a
// crash could leave on disk (the crash tests snapshot the directory there).
#[cfg(test)]
pub type StepHook = Box<dyn FnMut(&str)>;
#[cfg(test)]
thread_local! {
    pub static STEP_HOOK: std::cell::RefCell<Option<StepHook>> = const { std::cell::RefCell::new(None) };
}

/// A named step of a multi-file operation; a no-op outside tests.
#[inline]
pub fn step(name: &str) {
    #[cfg(test)]
    {
        // taken out while it runs: steps of operations the hook itself starts are not seen
        let hook = STEP_HOOK.with(|h| h.borrow_mut().take());
        if let Some(mut f) = hook {
            f(name);
            STEP_HOOK.with(|h| {
                let mut slot = h.borrow_mut();
                if slot.is_none() {
                    *slot = Some(f);
                }
            });
        }
    }
    #[cfg(not(test))]
    let _ = name;
}

/// Identifies a Segment value for its whole life (a replacement checks that the segments
/// it was prepared against are still the ones in the log).
static NEXT_SEGMENT_ID: AtomicU64 = AtomicU64::new(1);

fn next_segment_id() -> u64 {
    NEXT_SEGMENT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Why a scan stopped before the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanProblem {
    /// The batch itself is bad (torn, bad CRC, bad fields).
    Batch(BatchError),
    /// A valid batch whose offsets go backwards or leave the segment's range.
    Offsets(String),
}

impl std::fmt::Display for ScanProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanProblem::Batch(e) => write!(f, "{e}"),
            ScanProblem::Offsets(m) => write!(f, "{m}"),
        }
    }
}

/// A segment taken out of the log: its files renamed to `*.deleted`, its .log still open
/// (fds already handed to readers stay valid) until `remove` closes and unlinks them.
pub struct Retired {
    /// None when the segment's files were closed (idle) when it was retired.
    file: Option<Arc<File>>,
    paths: Vec<PathBuf>,
    /// Which retirement (the log's counter) took it out.
    pub generation: u64,
}

impl Retired {
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Closes the file (the fd closes when the last Arc goes) and unlinks the renamed files.
    pub fn remove(self) -> io::Result<()> {
        let Retired { file, paths, .. } = self;
        drop(file);
        for p in &paths {
            remove_if_exists(p)?;
        }
        Ok(())
    }
}

/// The offset after the last batch of the valid prefix of a segment file (batches that
/// validate, offsets increasing from `base_offset`); `base_offset` when there is none.
pub fn valid_next_offset(path: &Path, base_offset: i64) -> io::Result<i64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut reader = ChunkReader::new(&file);
    let (mut pos, mut next) = (0u64, base_offset);
    while pos < len {
        let left = len - pos;
        let head = reader.bytes_at(pos, (LOG_OVERHEAD_BYTES as u64).min(left) as usize)?;
        if head.len() < LOG_OVERHEAD_BYTES || be_i32(head, OFF_BATCH_LENGTH) < MIN_BATCH_LENGTH {
            break;
        }
        let whole = be_i32(head, OFF_BATCH_LENGTH) as u64 + LOG_OVERHEAD_BYTES as u64;
        if whole > left {
            break;
        }
        let Ok(h) = validate_batch(reader.bytes_at(pos, whole as usize)?, pos, Strictness::Stored) else { break };
        if h.base_offset < next {
            break;
        }
        next = h.next_offset();
        pos += whole;
    }
    Ok(next)
}

/// What a recovery scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoverOutcome {
    /// Bytes of valid batches from the start of the segment.
    pub valid_bytes: u64,
    /// Bytes cut off the end (torn or corrupt tail).
    pub truncated_bytes: u64,
    /// The first problem found, if any.
    pub problem: Option<String>,
}

/// A segment's open files: the .log and the maps of both indexes (no index fds).
pub struct SegmentFiles {
    pub file: Arc<File>,
    pub offset_index: OffsetIndex,
    pub time_index: TimeIndex,
    ticket: Ticket,
}

pub struct Segment {
    /// Unique among the Segment values of the process.
    pub id: u64,
    pub base_offset: i64,
    pub log_path: PathBuf,
    offset_path: PathBuf,
    time_path: PathBuf,
    /// Bytes of whole batches in the file.
    pub size: u64,
    pub bytes_since_last_index_entry: u64,
    /// Largest batch max timestamp (-1 when none) and the last offset of its batch.
    pub max_timestamp: i64,
    pub offset_of_max_timestamp: i64,
    /// One past the last offset; exact for the active segment and after a scan.
    pub next_offset: i64,
    pub created_ms: i64,
    /// Written since the last flush.
    pub dirty: bool,
    /// An index file did not exist when the segment was opened: it must be rebuilt.
    pub index_missing: bool,
    /// The read epoch (file_cache) in which a read last handed out this segment's fd.
    pub read_epoch: u64,
    /// Index entry counts while the files are closed (restored when they open again).
    offset_entries: usize,
    time_entries: usize,
    /// The log that holds the segment (asked to close it when the cache is full).
    owner: Weak<dyn Owner>,
    /// Opened on first use, closed when idle or evicted (`release`).
    files: Option<SegmentFiles>,
}

fn open_log_file(path: &Path, create_new: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    if create_new {
        o.create(true).truncate(true);
    }
    o.open(path)
}

/// A Weak that never upgrades, for segments whose log does not exist yet.
pub fn no_owner() -> Weak<dyn Owner> {
    Weak::<NoOwner>::new()
}

struct NoOwner;
impl Owner for NoOwner {
    fn release_segment(&self, _: u64, _: u64) -> Release {
        Release::Gone
    }
}

fn ms_since_epoch(t: std::io::Result<std::time::SystemTime>) -> Option<i64> {
    t.ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as i64)
}

impl Segment {
    /// A new, empty segment with preallocated indexes (replacing any leftover files).
    pub fn create(dir: &Path, base_offset: i64, index_bytes: u32, now_ms: i64, owner: Weak<dyn Owner>) -> io::Result<Segment> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let offset_path = dir.join(file_name(base_offset, "index"));
        let time_path = dir.join(file_name(base_offset, "timeindex"));
        let file = open_log_file(&log_path, true)?;
        let mut offset_index = OffsetIndex::open(&offset_path, base_offset)?;
        let mut time_index = TimeIndex::open(&time_path, base_offset)?;
        // leftovers may hold garbage past their counted entries: start from empty files
        offset_index.truncate_entries(0);
        time_index.truncate_entries(0);
        if !offset_index.mm.is_empty() {
            offset_index.mm.resize(0)?;
        }
        if !time_index.mm.is_empty() {
            time_index.mm.resize(0)?;
        }
        offset_index.preallocate(index_bytes as usize)?;
        time_index.preallocate(index_bytes as usize)?;
        let id = next_segment_id();
        let ticket = file_cache::register(Weak::clone(&owner), id);
        Ok(Segment {
            id,
            base_offset,
            log_path,
            offset_path,
            time_path,
            size: 0,
            bytes_since_last_index_entry: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            next_offset: base_offset,
            created_ms: now_ms,
            dirty: true,
            index_missing: false,
            read_epoch: 0,
            offset_entries: 0,
            time_entries: 0,
            owner,
            files: Some(SegmentFiles { file: Arc::new(file), offset_index, time_index, ticket }),
        })
    }

    /// Opens an existing segment; its indexes are not trusted until checked (`indexes_sane`)
    /// or rebuilt (`recover`).
    pub fn open(dir: &Path, base_offset: i64, owner: Weak<dyn Owner>) -> io::Result<Segment> {
        Segment::open_files(
            dir.join(file_name(base_offset, "log")),
            &dir.join(file_name(base_offset, "index")),
            &dir.join(file_name(base_offset, "timeindex")),
            base_offset,
            owner,
        )
    }

    /// `open` with explicit file names (a cleaned segment before its swap into the log).
    pub fn open_files(log_path: PathBuf, offset_path: &Path, time_path: &Path, base_offset: i64, owner: Weak<dyn Owner>) -> io::Result<Segment> {
        let file = open_log_file(&log_path, false)?;
        let meta = file.metadata()?;
        let created_ms = ms_since_epoch(meta.created().or_else(|_| meta.modified())).unwrap_or(0);
        let index_missing = !offset_path.exists() || !time_path.exists();
        let offset_index = OffsetIndex::open(offset_path, base_offset)?;
        let time_index = TimeIndex::open(time_path, base_offset)?;
        let (max_timestamp, offset_of_max_timestamp) = time_index.last_entry().unwrap_or((-1, base_offset));
        let id = next_segment_id();
        let ticket = file_cache::register(Weak::clone(&owner), id);
        Ok(Segment {
            id,
            base_offset,
            log_path,
            offset_path: offset_path.to_path_buf(),
            time_path: time_path.to_path_buf(),
            size: meta.len(),
            bytes_since_last_index_entry: 0,
            max_timestamp,
            offset_of_max_timestamp,
            next_offset: base_offset,
            created_ms,
            dirty: false,
            index_missing,
            read_epoch: 0,
            offset_entries: 0,
            time_entries: 0,
            owner,
            files: Some(SegmentFiles { file: Arc::new(file), offset_index, time_index, ticket }),
        })
    }

    /// The segment's files, opened (and registered with the file cache) when closed.
    pub fn files(&mut self) -> io::Result<&mut SegmentFiles> {
        if self.files.is_none() {
            let file = open_log_file(&self.log_path, false)?;
            let offset_index = OffsetIndex::open_with_entries(&self.offset_path, self.base_offset, self.offset_entries)?;
            let time_index = TimeIndex::open_with_entries(&self.time_path, self.base_offset, self.time_entries)?;
            let ticket = file_cache::register(Weak::clone(&self.owner), self.id);
            self.files = Some(SegmentFiles { file: Arc::new(file), offset_index, time_index, ticket });
        }
        let f = self.files.as_mut().expect("opened above");
        f.ticket.touch();
        Ok(f)
    }

    /// The open files, without opening them.
    #[inline]
    pub fn open_files_ref(&self) -> Option<&SegmentFiles> {
        self.files.as_ref()
    }

    #[inline]
    pub fn is_open(&self) -> bool {
        self.files.is_some()
    }

    /// When the files were last used (file_cache tick), if they are open.
    pub fn stamp(&self) -> Option<u64> {
        self.files.as_ref().map(|f| f.ticket.stamp())
    }

    /// Closes the files: the index maps at once, the .log fd at once or, when a read of the
    /// current read epoch handed it out, at the next sweep (file_cache).
    pub fn release(&mut self) {
        if let Some(f) = self.files.take() {
            let SegmentFiles { file, offset_index, time_index, ticket } = f;
            self.offset_entries = offset_index.entries();
            self.time_entries = time_index.entries();
            drop(offset_index);
            drop(time_index);
            file_cache::close_file(file, self.read_epoch);
            drop(ticket);
        }
    }

    /// Points the segment at a new owner (the log, once it exists).
    pub fn set_owner(&mut self, owner: Weak<dyn Owner>) {
        self.owner = owner;
    }

    pub fn index_paths(&self) -> [PathBuf; 2] {
        [self.offset_path.clone(), self.time_path.clone()]
    }

    /// Renames follow the files: the segment's idea of its offset index path.
    pub fn set_offset_index_path(&mut self, path: PathBuf) {
        if let Some(f) = self.files.as_mut() {
            f.offset_index.mm.path = path.clone();
        }
        self.offset_path = path;
    }

    pub fn set_time_index_path(&mut self, path: PathBuf) {
        if let Some(f) = self.files.as_mut() {
            f.time_index.mm.path = path.clone();
        }
        self.time_path = path;
    }

    /// The .log fd (opening the files when closed).
    #[inline]
    pub fn fd(&mut self) -> io::Result<i32> {
        Ok(self.files()?.file.as_raw_fd())
    }

    /// The .log file if open (flush syncs it through this fd rather than a new one).
    pub fn open_log_file(&self) -> Option<Arc<File>> {
        self.files.as_ref().map(|f| Arc::clone(&f.file))
    }

    pub fn last_modified_ms(&self) -> i64 {
        let meta = match &self.files {
            Some(f) => f.file.metadata(),
            None => std::fs::metadata(&self.log_path),
        };
        meta.and_then(|m| m.modified()).ok().and_then(|t| ms_since_epoch(Ok(t))).unwrap_or(0)
    }

    /// Whether both index files are well formed for this log file; `next_offset_limit` is
    /// the next segment's base offset when there is one.
    pub fn indexes_sane(&mut self, next_offset_limit: Option<i64>) -> bool {
        if self.index_missing {
            return false;
        }
        let size = self.size;
        match self.files() {
            Ok(f) => f.offset_index.is_sane(size, next_offset_limit) && f.time_index.is_sane(next_offset_limit),
            Err(_) => false,
        }
    }

    /// The header of the batch at `pos`, or None at the end of the file or when the batch
    /// there is torn (its length runs past the file or is impossible).
    pub fn read_header(&mut self, pos: u64) -> io::Result<Option<BatchHeader>> {
        if pos + HEADER_BYTES as u64 > self.size {
            return Ok(None);
        }
        let size = self.size;
        let mut h = [0u8; HEADER_BYTES];
        self.files()?.file.read_exact_at(&mut h, pos)?;
        let batch_length = be_i32(&h, OFF_BATCH_LENGTH);
        if batch_length < MIN_BATCH_LENGTH || pos + batch_length as u64 + LOG_OVERHEAD_BYTES as u64 > size {
            return Ok(None);
        }
        Ok(Some(BatchHeader::parse(&h)))
    }

    /// Records a batch just placed at `pos` in the indexes (an entry every interval bytes).
    #[inline]
    pub fn index_batch(&mut self, pos: u64, h: &BatchHeader, interval_bytes: u32) -> io::Result<()> {
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.offset_of_max_timestamp = h.last_offset();
        }
        if self.bytes_since_last_index_entry > interval_bytes as u64 {
            let (max_ts, max_off) = (self.max_timestamp, self.offset_of_max_timestamp);
            let f = self.files()?;
            f.offset_index.append(h.last_offset(), pos as u32);
            f.time_index.maybe_append(max_ts, max_off);
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += h.size_bytes as u64;
        Ok(())
    }

    /// Validates every batch (CRC included) from the start, rebuilding both indexes
    /// (preallocated to index_bytes; the caller trims inactive segments). A torn or
    /// corrupt tail, or batches whose offsets go backwards or reach `next_offset_limit`,
    /// are cut off at the last valid batch.
    pub fn recover(
        &mut self,
        interval_bytes: u32,
        index_bytes: u32,
        next_offset_limit: Option<i64>,
    ) -> io::Result<RecoverOutcome> {
        let (pos, problem) = self.scan(interval_bytes, index_bytes, next_offset_limit)?;
        let file_len = self.size;
        let truncated_bytes = file_len - pos;
        if truncated_bytes > 0 {
            self.files()?.file.set_len(pos)?;
            self.dirty = true;
        }
        self.size = pos;
        Ok(RecoverOutcome { valid_bytes: pos, truncated_bytes, problem: problem.map(|p| p.to_string()) })
    }

    /// Reads the whole file once: validates every batch (CRC included; `Stored`
    /// strictness, so offset gaps and empty batches as the log cleaner writes them pass),
    /// checks that offsets increase from the base and stay below `next_offset_limit`, and
    /// rebuilds both indexes (preallocated to index_bytes) and the max timestamp. Stops at
    /// the first problem: returns the bytes of valid batches and the problem. Sets `size`
    /// to the file length; the file is not modified.
    pub fn scan(
        &mut self,
        interval_bytes: u32,
        index_bytes: u32,
        next_offset_limit: Option<i64>,
    ) -> io::Result<(u64, Option<ScanProblem>)> {
        let f = self.files()?;
        // garbage (not zeros) may follow the counted entries: clear whole files
        f.offset_index.truncate_entries(0);
        f.time_index.truncate_entries(0);
        f.offset_index.mm.resize(0)?;
        f.time_index.mm.resize(0)?;
        f.offset_index.preallocate(index_bytes as usize)?;
        f.time_index.preallocate(index_bytes as usize)?;
        let file = Arc::clone(&f.file);
        self.index_missing = false;
        self.bytes_since_last_index_entry = 0;
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = self.base_offset;
        self.next_offset = self.base_offset;

        let file_len = file.metadata()?.len();
        self.size = file_len;
        let mut reader = ChunkReader::new(&file);
        let mut pos: u64 = 0;
        let mut problem: Option<ScanProblem> = None;
        while pos < file_len {
            let left = file_len - pos;
            let head = reader.bytes_at(pos, (LOG_OVERHEAD_BYTES as u64).min(left) as usize)?;
            let whole = if head.len() >= LOG_OVERHEAD_BYTES && be_i32(head, OFF_BATCH_LENGTH) >= MIN_BATCH_LENGTH {
                be_i32(head, OFF_BATCH_LENGTH) as u64 + LOG_OVERHEAD_BYTES as u64
            } else {
                LOG_OVERHEAD_BYTES as u64
            };
            // validate_batch reports a short header, a bad length or a batch past the end
            let bytes = reader.bytes_at(pos, whole.min(left) as usize)?;
            let h = match validate_batch(bytes, pos, Strictness::Stored) {
                Ok(h) => h,
                Err(e) => {
                    problem = Some(ScanProblem::Batch(e));
                    break;
                }
            };
            if h.base_offset < self.next_offset
                || h.last_offset() - self.base_offset > i32::MAX as i64
                || next_offset_limit.is_some_and(|limit| h.last_offset() >= limit)
            {
                problem = Some(ScanProblem::Offsets(format!(
                    "batch at byte {pos}: offset {} out of sequence",
                    h.base_offset
                )));
                break;
            }
            self.index_batch(pos, &h, interval_bytes)?;
            self.next_offset = h.next_offset();
            pos += h.size_bytes as u64;
        }
        Ok((pos, problem))
    }

    /// For a segment whose indexes are trusted: walks the headers after the last index
    /// entry to find the end offset, the max timestamp and the index interval state.
    /// A torn batch there is cut off (returns the bytes removed).
    pub fn load_tail(&mut self) -> io::Result<u64> {
        let base = self.base_offset;
        let f = self.files()?;
        let last_index_entry = f.offset_index.last_entry();
        let (max_ts, max_off) = f.time_index.last_entry().unwrap_or((-1, base));
        let start = last_index_entry.map(|(_, p)| p as u64).unwrap_or(0);
        self.max_timestamp = max_ts;
        self.offset_of_max_timestamp = max_off;
        self.next_offset = last_index_entry.map(|(o, _)| o + 1).unwrap_or(base);
        let mut pos = start;
        while let Some(h) = self.read_header(pos)? {
            if h.max_timestamp > self.max_timestamp {
                self.max_timestamp = h.max_timestamp;
                self.offset_of_max_timestamp = h.last_offset();
            }
            self.next_offset = h.next_offset();
            pos += h.size_bytes as u64;
        }
        let cut = self.size - pos;
        if cut > 0 {
            self.files()?.file.set_len(pos)?;
            self.size = pos;
            self.dirty = true;
        }
        self.bytes_since_last_index_entry = self.size - start;
        Ok(cut)
    }

    /// The first batch whose last offset >= target (the batch holding it, or the next one
    /// after a gap), as (position, header); None past the end.
    pub fn find_batch(&mut self, target: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        let (_, start) = self.files()?.offset_index.lookup(target);
        let mut pos = start as u64;
        while let Some(h) = self.read_header(pos)? {
            if h.last_offset() >= target {
                return Ok(Some((pos, h)));
            }
            pos += h.size_bytes as u64;
        }
        Ok(None)
    }

    /// Appends the slices at the end of the file (pwritev, whole or error). On error the
    /// file may hold part of them: the caller truncates back with `truncate_bytes`.
    pub fn write_at_end(&mut self, mut slices: &mut [IoSlice<'_>]) -> io::Result<u64> {
        const IOV_MAX: usize = 1024;
        let fd = self.fd()?;
        let mut pos = self.size;
        while !slices.is_empty() {
            let count = slices.len().min(IOV_MAX);
            // SAFETY: IoSlice is ABI-compatible with struct iovec; count slices are valid.
            let n = unsafe {
                sys::pwritev(fd, slices.as_ptr() as *const sys::iovec, count as i32, pos as sys::off_t)
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "pwritev wrote nothing"));
            }
            pos += n as u64;
            IoSlice::advance_slices(&mut slices, n as usize);
        }
        let written = pos - self.size;
        self.size = pos;
        self.dirty = true;
        Ok(written)
    }

    /// Cuts the file back to `size` bytes (a failed append's partial write).
    pub fn truncate_bytes(&mut self, size: u64) -> io::Result<()> {
        self.files()?.file.set_len(size)?;
        self.size = size;
        self.dirty = true;
        Ok(())
    }

    /// Removes every batch from the one holding `offset` on (whole batches: a batch that
    /// straddles `offset` goes too), fixing the indexes.
    pub fn truncate_to_offset(&mut self, offset: i64) -> io::Result<()> {
        let cut = match self.find_batch(offset)? {
            Some((pos, _)) => pos,
            None => self.size,
        };
        let f = self.files()?;
        f.offset_index.truncate_to_offset(offset);
        f.time_index.truncate_to_offset(offset);
        // an index entry is keyed by its batch's last offset: drop entries at/after the cut
        while let Some((_, p)) = f.offset_index.last_entry() {
            if (p as u64) < cut {
                break;
            }
            f.offset_index.truncate_entries(f.offset_index.entries() - 1);
        }
        if cut < self.size {
            self.truncate_bytes(cut)?;
        }
        self.load_tail()?;
        Ok(())
    }

    /// Preallocates the indexes for appends.
    pub fn make_active(&mut self, index_bytes: u32) -> io::Result<()> {
        let f = self.files()?;
        f.offset_index.preallocate(index_bytes as usize)?;
        f.time_index.preallocate(index_bytes as usize)
    }

    /// On roll and close: records the final max timestamp and trims both indexes.
    pub fn make_inactive(&mut self) -> io::Result<()> {
        let (max_ts, max_off) = (self.max_timestamp, self.offset_of_max_timestamp);
        let f = self.files()?;
        if max_ts >= 0 {
            f.time_index.ensure_room_for_one()?;
            f.time_index.maybe_append(max_ts, max_off);
        }
        f.offset_index.trim()?;
        f.time_index.trim()?;
        self.dirty = true;
        Ok(())
    }

    /// Whether an index file is longer than its entries (an inactive segment whose trim
    /// a crash interrupted).
    pub fn indexes_untrimmed(&mut self) -> io::Result<bool> {
        let f = self.files()?;
        Ok(f.offset_index.mm.len() > f.offset_index.entries() * crate::offset_index::OFFSET_ENTRY_BYTES
            || f.time_index.mm.len() > f.time_index.entries() * crate::time_index::TIME_ENTRY_BYTES)
    }

    /// Trims both indexes to their entries.
    pub fn trim_indexes(&mut self) -> io::Result<()> {
        let f = self.files()?;
        f.offset_index.trim()?;
        f.time_index.trim()
    }

    /// Takes the segment out of the log Kafka's way (file.delete.delay.ms): renames its
    /// three files to `*.deleted` (the .log first: an index without its log is removed on
    /// open) and releases the indexes; the .log, if open, stays open until `Retired::remove`.
    pub fn retire(mut self, generation: u64) -> io::Result<Retired> {
        let paths = [self.log_path.clone(), self.offset_path.clone(), self.time_path.clone()];
        let file = self.open_log_file();
        self.release();
        drop(self);
        let mut moved = Vec::with_capacity(3);
        for p in &paths {
            let to = with_suffix(p, DELETED_SUFFIX);
            if rename_if_exists(p, &to)? {
                moved.push(to);
            }
            step("retire");
        }
        Ok(Retired { file, paths: moved, generation })
    }

    /// Removes the three files (the fds close when the last Arc goes).
    pub fn delete_files(self) -> io::Result<()> {
        let paths = [self.log_path.clone(), self.offset_path.clone(), self.time_path.clone()];
        drop(self);
        for p in paths {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Sequential reads of a file in large chunks, for recovery scans.
struct ChunkReader<'a> {
    file: &'a File,
    buf: Vec<u8>,
    /// File position of buf[0].
    start: u64,
    filled: usize,
}

impl<'a> ChunkReader<'a> {
    fn new(file: &'a File) -> Self {
        ChunkReader { file, buf: vec![0u8; 1 << 20], start: 0, filled: 0 }
    }

    /// `len` bytes at file position `pos` (the caller knows the file holds them).
    fn bytes_at(&mut self, pos: u64, len: usize) -> io::Result<&[u8]> {
        let have = pos >= self.start && pos + len as u64 <= self.start + self.filled as u64;
        if !have {
            let keep_from = if pos >= self.start && pos <= self.start + self.filled as u64 {
                (pos - self.start) as usize
            } else {
                self.filled
            };
            self.buf.copy_within(keep_from..self.filled, 0);
            self.filled -= keep_from;
            self.start = pos;
            if len > self.buf.len() {
                self.buf.resize(len, 0);
            }
            while self.filled < len {
                let n = self.file.read_at(&mut self.buf[self.filled..], self.start + self.filled as u64)?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "segment shrank during recovery"));
                }
                self.filled += n;
            }
        }
        let off = (pos - self.start) as usize;
        Ok(&self.buf[off..off + len])
    }
}
