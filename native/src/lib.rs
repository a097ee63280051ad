//! The C ABI of the storage engine (include/strand.h). Nothing but argument checks,
//! conversions, error codes and the panic barrier lives here.

#![allow(non_camel_case_types)]

pub mod append_lanes;
pub mod batch;
pub mod crc32c;
pub mod file_cache;
pub mod log;
pub mod offset_index;
pub mod records;
pub mod segment;
pub mod sendfile;
pub mod sys;
pub mod time_index;

use crate::batch::BatchErrorKind;
use crate::log::{AppendResult, Error, Log, LogConfig, Region, SegmentInfo};
use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

pub const STRAND_OK: i32 = 0;
pub const STRAND_E_IO: i32 = -1;
pub const STRAND_E_CORRUPT: i32 = -2;
pub const STRAND_E_INVALID_RECORD: i32 = -3;
pub const STRAND_E_TOO_LARGE: i32 = -4;
pub const STRAND_E_OUT_OF_RANGE: i32 = -5;
pub const STRAND_E_INVALID_ARG: i32 = -6;
pub const STRAND_E_CLOSED: i32 = -7;

/// strand_log is the engine's Log behind an opaque pointer.
pub type strand_log = Log;
pub type strand_append_result = AppendResult;
pub type strand_region = Region;
pub type strand_segment_info = SegmentInfo;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct strand_log_config {
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub segment_index_bytes: u32,
    pub index_interval_bytes: u32,
    pub flush_messages: i64,
    pub flush_ms: i64,
    pub recovery_point: i64,
    pub log_start_offset: i64,
}

impl From<&strand_log_config> for LogConfig {
    fn from(c: &strand_log_config) -> Self {
        LogConfig {
            segment_bytes: c.segment_bytes,
            segment_ms: c.segment_ms,
            segment_index_bytes: c.segment_index_bytes,
            index_interval_bytes: c.index_interval_bytes,
            flush_messages: c.flush_messages,
            flush_ms: c.flush_ms,
            recovery_point: c.recovery_point,
            log_start_offset: c.log_start_offset,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    /// Regions of the last read on this thread (one per segment touched), reused so a
    /// fetch allocates nothing here.
    static READ_SCRATCH: RefCell<Vec<Region>> = const { RefCell::new(Vec::new()) };
}

fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

pub fn error_code(e: &Error) -> i32 {
    match e {
        Error::Io { .. } => STRAND_E_IO,
        Error::Batch(b) => match b.kind {
            BatchErrorKind::TooLarge { .. } => STRAND_E_TOO_LARGE,
            BatchErrorKind::BadMagic { .. }
            | BatchErrorKind::NegativeRecordCount { .. }
            | BatchErrorKind::NegativeLastOffsetDelta { .. }
            | BatchErrorKind::LastOffsetDeltaMismatch { .. }
            | BatchErrorKind::EmptyBatch
            | BatchErrorKind::Empty => STRAND_E_INVALID_RECORD,
            BatchErrorKind::Truncated { .. }
            | BatchErrorKind::LengthTooSmall { .. }
            | BatchErrorKind::LengthBeyondBuffer { .. }
            | BatchErrorKind::CrcMismatch { .. } => STRAND_E_CORRUPT,
        },
        Error::OutOfRange { .. } => STRAND_E_OUT_OF_RANGE,
        Error::InvalidArg(_) => STRAND_E_INVALID_ARG,
        Error::Closed => STRAND_E_CLOSED,
    }
}

/// Runs f behind the panic barrier; errors become codes plus the thread's last error.
fn ffi(f: impl FnOnce() -> Result<(), Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => STRAND_OK,
        Ok(Err(e)) => {
            set_last_error(&e.to_string());
            error_code(&e)
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            set_last_error(&format!("internal error in the storage engine: {what}"));
            STRAND_E_IO
        }
    }
}

fn invalid(msg: &str) -> Error {
    Error::InvalidArg(msg.to_string())
}

unsafe fn log_ref<'a>(log: *mut strand_log) -> Result<&'a Log, Error> {
    if log.is_null() {
        Err(invalid("null log handle"))
    } else {
        Ok(&*log)
    }
}

unsafe fn config_from(cfg: *const strand_log_config) -> Result<LogConfig, Error> {
    if cfg.is_null() {
        Err(invalid("null config"))
    } else {
        Ok(LogConfig::from(&*cfg))
    }
}

/// Reads an int64 value; -1 (with the last error set) when the handle is unusable.
fn value_or_minus_one(r: Result<i64, Error>) -> i64 {
    match r {
        Ok(v) => v,
        Err(e) => {
            set_last_error(&e.to_string());
            -1
        }
    }
}

#[no_mangle]
pub extern "C" fn strand_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// # Safety
/// `dir` is a NUL-terminated path, `cfg` and `out` valid pointers.
#[no_mangle]
pub unsafe extern "C" fn strand_log_open(dir: *const c_char, cfg: *const strand_log_config, out: *mut *mut strand_log) -> i32 {
    ffi(|| {
        if dir.is_null() || out.is_null() {
            return Err(invalid("null argument"));
        }
        let dir = CStr::from_ptr(dir).to_str().map_err(|_| invalid("directory path is not UTF-8"))?;
        let cfg = config_from(cfg)?;
        let log = Log::open(Path::new(dir), cfg)?;
        *out = Box::into_raw(Box::new(log));
        Ok(())
    })
}

/// # Safety
/// `log` from strand_log_open, `cfg` valid.
#[no_mangle]
pub unsafe extern "C" fn strand_log_configure(log: *mut strand_log, cfg: *const strand_log_config) -> i32 {
    ffi(|| log_ref(log)?.configure(config_from(cfg)?))
}

/// # Safety
/// `buf` holds `len` readable bytes, `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn strand_log_append(
    log: *mut strand_log,
    buf: *const u8,
    len: usize,
    leader_epoch: i32,
    timestamp_type: i32,
    now_ms: i64,
    max_batch_bytes: i32,
    out: *mut strand_append_result,
) -> i32 {
    ffi(|| {
        let log = log_ref(log)?;
        if out.is_null() || (buf.is_null() && len > 0) {
            return Err(invalid("null argument"));
        }
        let data: &[u8] = if len == 0 { &[] } else { std::slice::from_raw_parts(buf, len) };
        *out = log.append(data, leader_epoch, timestamp_type, now_ms, max_batch_bytes)?;
        Ok(())
    })
}

/// Mirrors `strand_append_cb` in strand.h.
pub type strand_append_cb = Option<append_lanes::AppendCallback>;

/// # Safety
/// `buf` stays valid and unchanged until `cb` is called (once, on an append thread) after
/// an OK return; on an error return `cb` is not called.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn strand_log_append_submit(
    log: *mut strand_log,
    buf: *const u8,
    len: usize,
    leader_epoch: i32,
    timestamp_type: i32,
    now_ms: i64,
    max_batch_bytes: i32,
    lane: u32,
    cb: strand_append_cb,
    ctx: *mut std::os::raw::c_void,
) -> i32 {
    ffi(|| {
        let log = log_ref(log)?;
        let Some(cb) = cb else { return Err(invalid("null callback")) };
        if buf.is_null() && len > 0 {
            return Err(invalid("null buffer"));
        }
        let job = append_lanes::AppendJob { log: log.share(), data: buf, len, leader_epoch, timestamp_type, now_ms, max_batch_bytes, cb, ctx };
        append_lanes::submit(lane, job).map_err(|msg| Error::Io { context: "starting the append threads".into(), source: std::io::Error::other(msg) })
    })
}

/// # Safety
/// `regions` has room for `cap` entries, `n_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn strand_log_read(
    log: *mut strand_log,
    offset: i64,
    max_bytes: u32,
    max_offset: i64,
    min_one_batch: i32,
    regions: *mut strand_region,
    cap: usize,
    n_out: *mut usize,
) -> i32 {
    ffi(|| {
        let log = log_ref(log)?;
        if n_out.is_null() || (regions.is_null() && cap > 0) {
            return Err(invalid("null argument"));
        }
        READ_SCRATCH.with(|scratch| {
            let mut found = scratch.borrow_mut();
            log.read(offset, max_bytes, max_offset, min_one_batch != 0, &mut found)?;
            let n = found.len().min(cap);
            if n > 0 {
                std::ptr::copy_nonoverlapping(found.as_ptr(), regions, n);
            }
            *n_out = found.len();
            Ok(())
        })
    })
}

/// # Safety
/// `dst` has room for `length` bytes.
#[no_mangle]
pub unsafe extern "C" fn strand_pread(fd: i32, dst: *mut u8, position: u32, length: u32) -> i32 {
    ffi(|| {
        if dst.is_null() && length > 0 {
            return Err(invalid("null argument"));
        }
        let mut done: usize = 0;
        while done < length as usize {
            let n = sys::pread(fd, dst.add(done) as *mut _, length as usize - done, position as i64 + done as i64);
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Io { context: format!("pread of fd {fd}"), source: e });
            }
            if n == 0 {
                return Err(Error::Io {
                    context: format!("pread of fd {fd}"),
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("end of file after {done} of {length} bytes at position {position}"),
                    ),
                });
            }
            done += n as usize;
        }
        Ok(())
    })
}

/// # Safety
/// `log` from strand_log_open.
#[no_mangle]
pub unsafe extern "C" fn strand_log_start_offset(log: *mut strand_log) -> i64 {
    value_or_minus_one(catch_unwind(AssertUnwindSafe(|| log_ref(log)?.log_start_offset())).unwrap_or(Err(Error::Closed)))
}

/// # Safety
/// `log` from strand_log_open.
#[no_mangle]
pub unsafe extern "C" fn strand_log_end_offset(log: *mut strand_log) -> i64 {
    value_or_minus_one(catch_unwind(AssertUnwindSafe(|| log_ref(log)?.log_end_offset())).unwrap_or(Err(Error::Closed)))
}

/// # Safety
/// `log` from strand_log_open.
#[no_mangle]
pub unsafe extern "C" fn strand_log_recovery_point(log: *mut strand_log) -> i64 {
    value_or_minus_one(catch_unwind(AssertUnwindSafe(|| log_ref(log)?.recovery_point())).unwrap_or(Err(Error::Closed)))
}

/// # Safety
/// `log` from strand_log_open.
#[no_mangle]
pub unsafe extern "C" fn strand_log_size_bytes(log: *mut strand_log) -> u64 {
    match catch_unwind(AssertUnwindSafe(|| log_ref(log)?.size_bytes())).unwrap_or(Err(Error::Closed)) {
        Ok(v) => v,
        Err(e) => {
            set_last_error(&e.to_string());
            0
        }
    }
}

/// # Safety
/// `offset` and `timestamp` writable.
#[no_mangle]
pub unsafe extern "C" fn strand_log_offset_for_timestamp(log: *mut strand_log, ts: i64, offset: *mut i64, timestamp: *mut i64) -> i32 {
    ffi(|| {
        let log = log_ref(log)?;
        if offset.is_null() || timestamp.is_null() {
            return Err(invalid("null argument"));
        }
        let (o, t) = log.offset_for_timestamp(ts)?.unwrap_or((-1, -1));
        *offset = o;
        *timestamp = t;
        Ok(())
    })
}

/// # Safety
/// `offset` and `timestamp` writable.
#[no_mangle]
pub unsafe extern "C" fn strand_log_max_timestamp(log: *mut strand_log, offset: *mut i64, timestamp: *mut i64) -> i32 {
    ffi(|| {
        let log = log_ref(log)?;
        if offset.is_null() || timestamp.is_null() {
            return Err(invalid("null argument"));
        }
        let (o, t) = log.max_timestamp()?.unwrap_or((-1, -1));
        *offset = o;
        *timestamp = t;
        Ok(())
    })
}

/// # Safety
/// `log` from strand_log_open.
#[no_mangle]
pub unsafe extern "C" fn strand_log_truncate_to(log: *mut strand_log, offset: i64) -> i32 {
    ffi(|| log_ref(log)?.truncate_to(offset))
}

/// # Safety
/// `deleted` writable (may be null).
#[no_mangle]
pub unsafe extern "C" fn strand_log_delete_segments_before(log: *mut strand_log, offset: i64, deleted: *mut u32) -> i32 {
    ffi(|| {
        let n = log_ref(log)?.delete_segments_before(offset)?;
        if !deleted.is_null() {
            *deleted = n;
        }
        Ok(())
    })
}

/// # Safety
/// `log` from strand_log_open.
#[no_mangle]
pub unsafe extern "C" fn strand_log_deleted_generation(log: *mut strand_log) -> i64 {
    value_or_minus_one(
        catch_unwind(AssertUnwindSafe(|| log_ref(log)?.deleted_generation().map(|g| g.min(i64::MAX as u64) as i64)))
            .unwrap_or(Err(Error::Closed)),
    )
}

/// # Safety
/// `remaining` writable (may be null).
#[no_mangle]
pub unsafe extern "C" fn strand_log_remove_deleted(log: *mut strand_log, up_to_generation: i64, remaining: *mut u32) -> i32 {
    ffi(|| {
        let n = log_ref(log)?.remove_deleted(up_to_generation.max(0) as u64)?;
        if !remaining.is_null() {
            *remaining = n;
        }
        Ok(())
    })
}

/// # Safety
/// `old_bases` holds `n` values, `cleaned_path` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn strand_log_replace_segments(
    log: *mut strand_log,
    old_bases: *const i64,
    n: usize,
    cleaned_path: *const c_char,
) -> i32 {
    ffi(|| {
        let log = log_ref(log)?;
        if cleaned_path.is_null() || (old_bases.is_null() && n > 0) {
            return Err(invalid("null argument"));
        }
        let bases: &[i64] = if n == 0 { &[] } else { std::slice::from_raw_parts(old_bases, n) };
        let path = CStr::from_ptr(cleaned_path).to_str().map_err(|_| invalid("cleaned segment path is not UTF-8"))?;
        log.replace_segments(bases, Path::new(path))
    })
}

/// # Safety
/// `log` from strand_log_open.
#[no_mangle]
pub unsafe extern "C" fn strand_log_set_start_offset(log: *mut strand_log, offset: i64) -> i32 {
    ffi(|| log_ref(log)?.set_start_offset(offset))
}

/// # Safety
/// `log` from strand_log_open.
#[no_mangle]
pub unsafe extern "C" fn strand_log_roll(log: *mut strand_log) -> i32 {
    ffi(|| log_ref(log)?.roll(log::now_ms()))
}

/// # Safety
/// `out` has room for `cap` entries, `n_out` writable. *n_out is the total count.
#[no_mangle]
pub unsafe extern "C" fn strand_log_segments(log: *mut strand_log, out: *mut strand_segment_info, cap: usize, n_out: *mut usize) -> i32 {
    ffi(|| {
        let log = log_ref(log)?;
        if n_out.is_null() || (out.is_null() && cap > 0) {
            return Err(invalid("null argument"));
        }
        let mut infos = Vec::new();
        log.segments(&mut infos)?;
        let n = infos.len().min(cap);
        if n > 0 {
            std::ptr::copy_nonoverlapping(infos.as_ptr(), out, n);
        }
        *n_out = infos.len();
        Ok(())
    })
}

/// # Safety
/// `log` from strand_log_open; may run on any thread.
#[no_mangle]
pub unsafe extern "C" fn strand_log_flush(log: *mut strand_log) -> i32 {
    ffi(|| log_ref(log)?.flush())
}

/// # Safety
/// `log` from strand_log_open; the handle is freed (even on error) and must not be used again.
#[no_mangle]
pub unsafe extern "C" fn strand_log_close(log: *mut strand_log, clean: i32) -> i32 {
    let code = ffi(|| log_ref(log)?.close(clean != 0));
    if !log.is_null() {
        drop(Box::from_raw(log));
    }
    code
}

/// # Safety
/// `log` from strand_log_open; the handle is freed (even on error).
#[no_mangle]
pub unsafe extern "C" fn strand_log_delete(log: *mut strand_log) -> i32 {
    let code = ffi(|| log_ref(log)?.delete());
    if !log.is_null() {
        drop(Box::from_raw(log));
    }
    code
}

pub type strand_files_stats = file_cache::Stats;

/// Sets the engine-wide bound on segments with open files (0: none) and applies it.
#[no_mangle]
pub extern "C" fn strand_files_set_limit(max_open_segments: u64) -> i32 {
    ffi(|| {
        file_cache::set_limit(max_open_segments.min(usize::MAX as u64) as usize);
        Ok(())
    })
}

/// # Safety
/// `out` writable or null.
#[no_mangle]
pub unsafe extern "C" fn strand_files_sweep(now_ms: i64, idle_ms: i64, out: *mut strand_files_stats) -> i32 {
    ffi(|| {
        file_cache::sweep(now_ms, idle_ms);
        if !out.is_null() {
            *out = file_cache::stats();
        }
        Ok(())
    })
}

/// # Safety
/// `out` writable.
#[no_mangle]
pub unsafe extern "C" fn strand_files_get_stats(out: *mut strand_files_stats) -> i32 {
    ffi(|| {
        if out.is_null() {
            return Err(invalid("null argument"));
        }
        *out = file_cache::stats();
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn strand_files_parked() -> u64 {
    file_cache::parked_fds() as u64
}

/// The most the soft RLIMIT_NOFILE may be raised to: the hard limit, or the kernel's
/// fs.nr_open when the hard limit is unlimited.
fn nofile_ceiling(hard: u64) -> u64 {
    if hard != sys::RLIM_INFINITY {
        return hard;
    }
    std::fs::read_to_string("/proc/sys/fs/nr_open").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(1 << 20)
}

/// # Safety
/// `soft` and `hard` writable.
#[no_mangle]
pub unsafe extern "C" fn strand_nofile_limit(raise: i32, soft: *mut u64, hard: *mut u64) -> i32 {
    ffi(|| {
        if soft.is_null() || hard.is_null() {
            return Err(invalid("null argument"));
        }
        let mut lim = sys::rlimit::default();
        if sys::getrlimit(sys::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(Error::Io { context: "getrlimit(RLIMIT_NOFILE)".into(), source: std::io::Error::last_os_error() });
        }
        let ceiling = nofile_ceiling(lim.rlim_max);
        if raise != 0 && lim.rlim_cur < ceiling {
            let raised = sys::rlimit { rlim_cur: ceiling, rlim_max: lim.rlim_max };
            if sys::setrlimit(sys::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = ceiling;
            }
        }
        *soft = lim.rlim_cur;
        *hard = lim.rlim_max;
        Ok(())
    })
}

/// Tunes glibc's malloc for a server whose large buffers (request frames, decompressed
/// batches) are short-lived: at most `arena_max` arenas (> 0; the libuv pool threads would
/// each get their own, and their freed memory is rarely returned), and allocations of at least
/// `mmap_threshold_bytes` (> 0) always mapped, so that freeing one returns it at once (by
/// default glibc raises that threshold after each free, up to 32 MiB, and then serves large
/// buffers from arenas that fragment). Returns 1 when applied, 0 on a libc without mallopt.
#[no_mangle]
pub extern "C" fn strand_malloc_tune(arena_max: i32, mmap_threshold_bytes: i32) -> i32 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut ok = 1;
        // SAFETY: mallopt only sets process-wide malloc parameters.
        unsafe {
            if arena_max > 0 && sys::mallopt(sys::M_ARENA_MAX, arena_max) != 1 {
                ok = 0;
            }
            if mmap_threshold_bytes > 0 && sys::mallopt(sys::M_MMAP_THRESHOLD, mmap_threshold_bytes) != 1 {
                ok = 0;
            }
        }
        ok
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = (arena_max, mmap_threshold_bytes);
        0
    }
}

/// # Safety
/// `data` holds `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn strand_crc32c(crc: u32, data: *const u8, len: usize) -> u32 {
    if data.is_null() || len == 0 {
        return crc;
    }
    crc32c::crc32c(crc, std::slice::from_raw_parts(data, len))
}

/// The record-level checks of one uncompressed v2 batch (records.rs): 0 every record
/// passed, 1 some record is outside [min_timestamp_ms, max_timestamp_ms] or lacks a key
/// that `require_key` asks for, -1 malformed, -2 count and offset deltas disagree.
///
/// # Safety
/// `batch` holds `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn strand_check_records(batch: *const u8, len: usize, min_timestamp_ms: f64, max_timestamp_ms: f64, require_key: i32) -> i32 {
    if batch.is_null() {
        return records::RECORDS_MALFORMED;
    }
    let checks = records::RecordChecks { min_timestamp_ms, max_timestamp_ms, require_key: require_key != 0 };
    records::check_records(std::slice::from_raw_parts(batch, len), &checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::testutil::make_batch;
    use crate::offset_index::temp_dir;
    use std::ffi::CString;

    fn last_error() -> String {
        unsafe { CStr::from_ptr(strand_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn c_abi_round_trip_and_error_codes() {
        let dir = temp_dir("c-abi");
        let path = CString::new(dir.to_str().unwrap()).unwrap();
        let cfg = strand_log_config {
            segment_bytes: 1 << 20,
            segment_ms: i64::MAX,
            segment_index_bytes: 4096,
            index_interval_bytes: 4096,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            recovery_point: -1,
            log_start_offset: -1,
        };
        unsafe {
            let mut log: *mut strand_log = std::ptr::null_mut();
            assert_eq!(strand_log_open(path.as_ptr(), &cfg, &mut log), STRAND_OK);
            let batch = make_batch(3, 10, 5);
            let mut res = AppendResult::default();
            assert_eq!(strand_log_append(log, batch.as_ptr(), batch.len(), 0, 0, 1, -1, &mut res), STRAND_OK);
            assert_eq!((res.base_offset, res.last_offset), (0, 2));
            assert_eq!(strand_log_end_offset(log), 3);

            let mut bad = batch.clone();
            bad[30] ^= 1;
            assert_eq!(strand_log_append(log, bad.as_ptr(), bad.len(), 0, 0, 1, -1, &mut res), STRAND_E_CORRUPT);
            assert!(last_error().contains("crc mismatch"), "{}", last_error());
            bad = batch.clone();
            bad[16] = 1;
            assert_eq!(strand_log_append(log, bad.as_ptr(), bad.len(), 0, 0, 1, -1, &mut res), STRAND_E_INVALID_RECORD);
            assert_eq!(strand_log_append(log, batch.as_ptr(), batch.len(), 0, 0, 1, 20, &mut res), STRAND_E_TOO_LARGE);
            assert_eq!(strand_log_append(log, batch.as_ptr(), batch.len(), 0, 5, 1, -1, &mut res), STRAND_E_INVALID_ARG);

            let mut regions = [Region { fd: -1, position: 0, length: 0, segment_base_offset: 0 }; 2];
            let mut n = 0usize;
            assert_eq!(strand_log_read(log, 1, 1 << 20, -1, 1, regions.as_mut_ptr(), 2, &mut n), STRAND_OK);
            assert_eq!(n, 1);
            let mut bytes = vec![0u8; regions[0].length as usize];
            assert_eq!(strand_pread(regions[0].fd, bytes.as_mut_ptr(), regions[0].position, regions[0].length), STRAND_OK);
            assert_eq!(&bytes[16..], &batch[16..]); // all but the stamped base offset and epoch
            assert_eq!(strand_pread(regions[0].fd, bytes.as_mut_ptr(), 1_000_000, 4), STRAND_E_IO);
            assert_eq!(strand_log_read(log, 4, 100, -1, 1, regions.as_mut_ptr(), 2, &mut n), STRAND_E_OUT_OF_RANGE);
            assert!(last_error().contains("out of range"));

            // a larger need than cap is reported through n_out
            assert_eq!(strand_log_roll(log), STRAND_OK);
            assert_eq!(strand_log_append(log, batch.as_ptr(), batch.len(), 0, 0, 1, -1, &mut res), STRAND_OK);
            assert_eq!(strand_log_read(log, 0, 1 << 20, -1, 1, regions.as_mut_ptr(), 1, &mut n), STRAND_OK);
            assert_eq!(n, 2);
            let mut infos = [SegmentInfo { base_offset: 0, size_bytes: 0, largest_timestamp: 0, created_ms: 0, last_modified_ms: 0, is_active: 0 }; 4];
            assert_eq!(strand_log_segments(log, infos.as_mut_ptr(), 4, &mut n), STRAND_OK);
            assert_eq!((n, infos[1].base_offset), (2, 3));
            assert_eq!((infos[0].is_active, infos[1].is_active), (0, 1));

            let (mut o, mut t) = (0i64, 0i64);
            assert_eq!(strand_log_offset_for_timestamp(log, 6, &mut o, &mut t), STRAND_OK);
            assert_eq!((o, t), (0, 7));
            assert_eq!(strand_log_offset_for_timestamp(log, 1000, &mut o, &mut t), STRAND_OK);
            assert_eq!(o, -1);
            assert_eq!(strand_log_max_timestamp(log, &mut o, &mut t), STRAND_OK);
            assert_eq!((o, t), (2, 7));
            let mut deleted = 0u32;
            assert_eq!(strand_log_deleted_generation(log), 0);
            assert_eq!(strand_log_delete_segments_before(log, 3, &mut deleted), STRAND_OK);
            assert_eq!((deleted, strand_log_start_offset(log)), (1, 3));
            // renamed, not yet removed; removed up to the generation seen
            assert_eq!(strand_log_deleted_generation(log), 1);
            let first_log = dir.join(crate::segment::file_name(0, "log"));
            assert!(!first_log.exists() && dir.join("00000000000000000000.log.deleted").exists());
            let mut remaining = 9u32;
            assert_eq!(strand_log_remove_deleted(log, 0, &mut remaining), STRAND_OK);
            assert_eq!(remaining, 1);
            assert_eq!(strand_log_remove_deleted(log, 1, &mut remaining), STRAND_OK);
            assert_eq!(remaining, 0);
            assert!(!dir.join("00000000000000000000.log.deleted").exists());
            // replacement: argument errors name the problem
            let bases = [3i64];
            let wrong = CString::new(dir.join("x.log.cleaned").to_str().unwrap()).unwrap();
            assert_eq!(strand_log_replace_segments(log, bases.as_ptr(), 1, wrong.as_ptr()), STRAND_E_INVALID_ARG);
            assert!(last_error().contains("must be"), "{}", last_error());
            let cleaned = CString::new(dir.join("00000000000000000003.log.cleaned").to_str().unwrap()).unwrap();
            assert_eq!(strand_log_replace_segments(log, bases.as_ptr(), 1, cleaned.as_ptr()), STRAND_E_INVALID_ARG);
            assert!(last_error().contains("active segment"), "{}", last_error());
            assert_eq!(strand_log_replace_segments(log, std::ptr::null(), 1, cleaned.as_ptr()), STRAND_E_INVALID_ARG);
            assert_eq!(strand_log_set_start_offset(log, 100), STRAND_E_OUT_OF_RANGE);
            assert_eq!(strand_log_flush(log), STRAND_OK);
            assert_eq!(strand_log_recovery_point(log), 6);
            assert_eq!(strand_log_truncate_to(log, 4), STRAND_OK);
            assert_eq!(strand_log_end_offset(log), 3);
            assert_eq!(strand_log_configure(log, &strand_log_config { segment_bytes: 1, ..cfg }), STRAND_E_INVALID_ARG);
            assert_eq!(strand_log_close(log, 1), STRAND_OK);
            assert!(dir.join(crate::log::CLEAN_SHUTDOWN_MARKER).exists());

            assert_eq!(strand_log_open(path.as_ptr(), &cfg, &mut log), STRAND_OK);
            assert_eq!((strand_log_start_offset(log), strand_log_end_offset(log)), (3, 3));
            assert_eq!(strand_log_delete(log), STRAND_OK);
            assert!(!dir.exists());
            assert_eq!(strand_crc32c(0, b"123456789".as_ptr(), 9), 0xE306_9283);
            assert_eq!(strand_crc32c(7, std::ptr::null(), 0), 7);
        }
    }
}
