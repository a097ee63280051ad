//! A partition's log: its segments in offset order, the last one active. Appends, reads,
//! roll, retention, truncation, flush and recovery. Every operation takes the handle's
//! Mutex; flush releases it during the fsyncs so appends continue meanwhile.

use crate::batch::{self, validate_batch, BatchError, BatchErrorKind, BatchHeader, Strictness, HEADER_BYTES};
use crate::segment::Segment;
use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
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
    scratch_batches: Vec<(usize, BatchHeader)>,
    scratch_headers: Vec<[u8; HEADER_BYTES]>,
}

struct Inner {
    state: Option<LogState>,
    flushes_in_flight: u32,
}

pub struct Log {
    inner: Mutex<Inner>,
    /// Signalled when a flush finishes (close waits for them).
    flush_done: Condvar,
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // a panic inside an operation is reported as an error; the state stays usable
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with<T>(&self, f: impl FnOnce(&mut LogState) -> Result<T>) -> Result<T> {
        let mut g = self.lock();
        match g.state.as_mut() {
            Some(st) => f(st),
            None => Err(Error::Closed),
        }
    }

    /// Opens (creating) the partition directory and recovers it.
    pub fn open(dir: &Path, cfg: LogConfig) -> Result<Log> {
        cfg.validate()?;
        let st = LogState::open(dir, cfg)?;
        Ok(Log { inner: Mutex::new(Inner { state: Some(st), flushes_in_flight: 0 }), flush_done: Condvar::new() })
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

    pub fn delete_segments_before(&self, offset: i64) -> Result<u32> {
        self.with(|st| st.delete_segments_before(offset))
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
            out.extend(st.segments.iter().map(|s| SegmentInfo {
                base_offset: s.base_offset,
                size_bytes: s.size,
                largest_timestamp: s.max_timestamp,
                created_ms: s.created_ms,
                last_modified_ms: s.last_modified_ms(),
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
            let mut files: Vec<(Arc<File>, PathBuf)> = Vec::new();
            for s in st.segments.iter_mut().filter(|s| s.dirty) {
                s.dirty = false;
                files.push((Arc::clone(&s.file), s.log_path.clone()));
                files.push((Arc::clone(&s.offset_index.mm.file), s.offset_index.mm.path.clone()));
                files.push((Arc::clone(&s.time_index.mm.file), s.time_index.mm.path.clone()));
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
        self.flush_done.notify_all();
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
            g = self.flush_done.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        g.state.take().ok_or(Error::Closed)
    }

    /// Trims the active indexes; with `clean`, syncs everything and writes the marker.
    pub fn close(&self, clean: bool) -> Result<()> {
        let mut st = self.take_state()?;
        st.active_mut().make_inactive().map_err(io_err("trimming the indexes of", &st.dir))?;
        if clean {
            let mut files = Vec::new();
            for s in &st.segments {
                if s.dirty {
                    files.push((Arc::clone(&s.file), s.log_path.clone()));
                    files.push((Arc::clone(&s.offset_index.mm.file), s.offset_index.mm.path.clone()));
                    files.push((Arc::clone(&s.time_index.mm.file), s.time_index.mm.path.clone()));
                }
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

fn sync_files(files: &[(Arc<File>, PathBuf)], dir: Option<&Path>) -> Result<()> {
    for (f, path) in files {
        f.sync_data().map_err(io_err("fsync of", path))?;
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
        for entry in std::fs::read_dir(dir).map_err(io_err("listing", dir))? {
            let entry = entry.map_err(io_err("listing", dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(b) = parse_log_name(name) {
                bases.push(b);
            } else if let Some(b) = parse_index_name(name) {
                index_files.push((b, entry.path()));
            }
        }
        bases.sort_unstable();
        // indexes without their log are leftovers of an interrupted delete
        for (b, path) in index_files {
            if bases.binary_search(&b).is_err() {
                std::fs::remove_file(&path).map_err(io_err("removing", &path))?;
            }
        }
        let mut segments = Vec::with_capacity(bases.len());
        for b in bases {
            let path = dir.join(crate::segment::file_name(b, "log"));
            segments.push(Segment::open(dir, b).map_err(io_err("opening", &path))?);
        }
        let rp = if cfg.recovery_point < 0 { i64::MIN } else { cfg.recovery_point };
        let mut dir_dirty = false;
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
            } else if seg.offset_index.mm.len() > seg.offset_index.entries() * 8
                || seg.time_index.mm.len() > seg.time_index.entries() * 12
            {
                // an inactive segment left untrimmed by a crash during roll
                seg.offset_index.trim().map_err(io_err("trimming the index of", &path))?;
                seg.time_index.trim().map_err(io_err("trimming the index of", &path))?;
            }
            i += 1;
        }
        for i in 0..segments.len().saturating_sub(1) {
            segments[i].next_offset = segments[i + 1].base_offset;
        }
        let mut st = LogState {
            dir: dir.to_path_buf(),
            cfg,
            segments,
            log_start_offset: 0,
            recovery_point: 0,
            dir_dirty,
            truncations: 0,
            scratch_batches: Vec::new(),
            scratch_headers: Vec::new(),
        };
        let now = now_ms();
        if st.segments.is_empty() {
            let base = cfg.log_start_offset.max(0);
            st.segments.push(Segment::create(dir, base, cfg.segment_index_bytes, now).map_err(io_err("creating a segment in", dir))?);
            st.dir_dirty = true;
        } else {
            let path = st.active().log_path.clone();
            let index_bytes = st.cfg.segment_index_bytes;
            st.active_mut().make_active(index_bytes).map_err(io_err("preallocating the indexes of", &path))?;
        }
        let leo = st.log_end_offset();
        if cfg.log_start_offset > leo {
            // everything on disk lies below the checkpointed start: begin again there
            st.truncate_fully_and_start_at(cfg.log_start_offset, now)?;
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
        let mut batches = std::mem::take(&mut self.scratch_batches);
        let mut headers = std::mem::take(&mut self.scratch_headers);
        batches.clear();
        headers.clear();
        let r = self.append_validated(buf, leader_epoch, timestamp_type == TIMESTAMP_LOG_APPEND_TIME, now_ms, max_batch_bytes, &mut batches, &mut headers);
        self.scratch_batches = batches;
        self.scratch_headers = headers;
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
            seg.index_batch(p, &h, interval);
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
        let seg = self.active();
        if seg.size == 0 {
            return Ok(false);
        }
        let roll = seg.size + append_bytes > cfg.segment_bytes
            || now_ms - seg.created_ms > cfg.segment_ms
            || seg.offset_index.is_full()
            || seg.time_index.is_full()
            || leo + append_offsets - 1 - seg.base_offset > i32::MAX as i64;
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
        match Segment::create(&dir, base, index_bytes, now_ms) {
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
            let seg = &self.segments[si];
            let ctx = io_err("reading", &seg.log_path);
            let Some((start, first)) = seg.find_batch(target).map_err(ctx)? else {
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
                    out.push(region(seg, start, first_bytes));
                }
                break;
            }
            budget -= first_bytes;
            let mut end = start + first_bytes;
            let mut stopped = first.next_offset() >= limit;
            if !stopped {
                // jump over whole batches with the index, then walk the few headers left
                if let Some((_, p)) = seg.offset_index.lookup_position(end + budget, limit) {
                    let p = p as u64;
                    if p > end {
                        budget -= p - end;
                        end = p;
                    }
                }
                while let Some(h) = seg.read_header(end).map_err(io_err("reading", &seg.log_path))? {
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
            out.push(region(seg, start, end - start));
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
        for seg in &self.segments {
            if seg.max_timestamp < ts || seg.next_offset <= lso {
                continue;
            }
            let mut pos = match seg.time_index.lookup_below(ts) {
                Some((_, off)) => seg.offset_index.lookup(off).1 as u64,
                None => 0,
            };
            while let Some(h) = seg.read_header(pos).map_err(io_err("reading", &seg.log_path))? {
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
            return self.truncate_fully_and_start_at(offset, now);
        }
        while self.segments.len() > 1 && self.active().base_offset > offset {
            let s = self.segments.pop().expect("more than one segment");
            let p = s.log_path.clone();
            s.delete_files().map_err(io_err("removing", &p))?;
            self.dir_dirty = true;
        }
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

    fn truncate_fully_and_start_at(&mut self, offset: i64, now_ms: i64) -> Result<()> {
        self.truncations += 1;
        for s in self.segments.drain(..) {
            let p = s.log_path.clone();
            s.delete_files().map_err(io_err("removing", &p))?;
        }
        self.dir_dirty = true;
        let seg = Segment::create(&self.dir, offset, self.cfg.segment_index_bytes, now_ms)
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
        for s in self.segments.drain(..n) {
            let p = s.log_path.clone();
            s.delete_files().map_err(io_err("removing", &p))?;
        }
        if n > 0 {
            self.dir_dirty = true;
        }
        self.log_start_offset = self.log_start_offset.max(offset).max(self.segments[0].base_offset);
        self.recovery_point = self.recovery_point.max(self.log_start_offset);
        Ok(n as u32)
    }
}

#[inline]
fn region(seg: &Segment, position: u64, length: u64) -> Region {
    Region { fd: seg.fd(), position: position as u32, length: length as u32, segment_base_offset: seg.base_offset }
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
        let g = log.lock();
        let st = g.state.as_ref().unwrap();
        for (i, s) in st.segments.iter().enumerate() {
            let next = st.segments.get(i + 1).map(|n| n.base_offset);
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
