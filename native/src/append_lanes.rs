//! Appends run on a few dedicated threads ("lanes") beside the caller's thread.
//!
//! An append's cost is mostly the copy into the page cache, which on some machines (VMs
//! whose free memory goes back to the host) costs several times a memcpy. Done on the JS
//! thread it stalls request handling; done here it overlaps with it, and appends to logs on
//! different lanes overlap with each other.
//!
//! Each log is pinned to one lane by the caller's lane number, so one log's appends run in
//! the order they were submitted. A lane takes everything queued in one go and is woken
//! only when it sleeps, so a busy lane costs no wake-up per append.
//!
//! A lane that runs out of work yields the CPU for a short while (STRAND_APPEND_SPIN_US)
//! before it sleeps: a produce stream hands it the next append within tens of microseconds,
//! and waking a sleeping thread costs the submitter a futex call and, on a VM, leaves the
//! woken CPU idle while it comes out of halt. Yielding runs any other ready thread first, so
//! the wait takes CPU only from an otherwise idle core.
//!
//! Ownership rule: on OK the callback is called exactly once, on the lane thread, and the
//! buffer must stay valid and unchanged until then; on an error return it is not called.

use crate::log::{AppendResult, Log};
use std::collections::VecDeque;
use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Mirrors `strand_append_cb` in strand.h: `result` is valid during the call when status is 0.
pub type AppendCallback = unsafe extern "C" fn(ctx: *mut c_void, status: i32, result: *const AppendResult, msg: *const c_char);

/// One submitted append: the caller's buffer and arguments, and where to report.
pub struct AppendJob {
    pub log: Log,
    pub data: *const u8,
    pub len: usize,
    pub leader_epoch: i32,
    pub timestamp_type: i32,
    pub now_ms: i64,
    pub max_batch_bytes: i32,
    pub cb: AppendCallback,
    pub ctx: *mut c_void,
}

// The buffer and ctx are opaque to us; the submitter promised both may be used on a lane
// until the callback.
unsafe impl Send for AppendJob {}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<AppendJob>,
    sleeping: bool,
}

#[derive(Default)]
struct Lane {
    /// Set with each submit, cleared when the lane takes its queue: read without the lock.
    has_jobs: AtomicBool,
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// STRAND_APPEND_THREADS, 1 to 16; default 2 (a produce-heavy broker keeps two page-cache
/// copies going while the JS thread reads requests).
const DEFAULT_LANES: usize = 2;
const MAX_LANES: usize = 16;
/// STRAND_APPEND_SPIN_US, 0 to 10,000; 0 sleeps at once. 50 us: about the gap between a
/// produce stream's appends; a longer wait bought no more throughput and cost CPU.
const DEFAULT_SPIN_US: u64 = 50;
const MAX_SPIN_US: u64 = 10_000;

static LANES: OnceLock<Result<Vec<&'static Lane>, String>> = OnceLock::new();

fn lane_count() -> usize {
    crate::sys::env_threads("STRAND_APPEND_THREADS", DEFAULT_LANES, MAX_LANES)
}

fn spin_time() -> Duration {
    Duration::from_micros(crate::sys::env_number("STRAND_APPEND_SPIN_US", DEFAULT_SPIN_US, 0, MAX_SPIN_US))
}

fn start_lanes() -> Result<Vec<&'static Lane>, String> {
    let spin = spin_time();
    let mut lanes = Vec::new();
    for i in 0..lane_count() {
        let lane: &'static Lane = Box::leak(Box::default());
        std::thread::Builder::new()
            .name(format!("strand-append-{i}"))
            .spawn(move || run(lane, spin))
            .map_err(|e| format!("cannot start append thread {i}: {e}"))?;
        lanes.push(lane);
    }
    Ok(lanes)
}

fn run(lane: &'static Lane, spin: Duration) {
    let mut batch: VecDeque<AppendJob> = VecDeque::new();
    loop {
        if !spin.is_zero() && !lane.has_jobs.load(Ordering::Acquire) {
            let deadline = Instant::now() + spin;
            while !lane.has_jobs.load(Ordering::Acquire) && Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        {
            let mut q = lane.queue.lock().unwrap_or_else(|e| e.into_inner());
            while q.jobs.is_empty() {
                q.sleeping = true;
                q = lane.wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            q.sleeping = false;
            std::mem::swap(&mut batch, &mut q.jobs);
            lane.has_jobs.store(false, Ordering::Release);
        }
        while let Some(job) = batch.pop_front() {
            execute(job);
        }
    }
}

fn execute(job: AppendJob) {
    let data: &[u8] = if job.len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(job.data, job.len) } };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        job.log.append(data, job.leader_epoch, job.timestamp_type, job.now_ms, job.max_batch_bytes)
    }));
    // The log handle is released before the callback: the callback may let its owner close it.
    drop(job.log);
    match outcome {
        Ok(Ok(result)) => unsafe { (job.cb)(job.ctx, crate::STRAND_OK, &result, std::ptr::null()) },
        Ok(Err(e)) => {
            let msg = CString::new(e.to_string().replace('\0', " ")).unwrap_or_default();
            unsafe { (job.cb)(job.ctx, crate::error_code(&e), std::ptr::null(), msg.as_ptr()) }
        }
        Err(_) => {
            let msg = CString::new("internal error in the storage engine: append panicked").unwrap_or_default();
            unsafe { (job.cb)(job.ctx, crate::STRAND_E_IO, std::ptr::null(), msg.as_ptr()) }
        }
    }
}

/// Queues `job` on lane `lane % lanes`; Err when the lanes could not be started.
pub fn submit(lane: u32, job: AppendJob) -> Result<(), String> {
    let lanes = LANES.get_or_init(start_lanes).as_ref().map_err(|e| e.clone())?;
    let lane = lanes[lane as usize % lanes.len()];
    let wake = {
        let mut q = lane.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.jobs.push_back(job);
        lane.has_jobs.store(true, Ordering::Release);
        q.sleeping
    };
    if wake {
        lane.wake.notify_one();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::testutil::make_batch;
    use crate::log::LogConfig;
    use std::sync::mpsc;

    struct Reply {
        tx: mpsc::Sender<(i32, Option<AppendResult>, String)>,
    }

    unsafe extern "C" fn reply(ctx: *mut c_void, status: i32, result: *const AppendResult, msg: *const c_char) {
        let r = Box::from_raw(ctx as *mut Reply);
        let text = if msg.is_null() { String::new() } else { std::ffi::CStr::from_ptr(msg).to_string_lossy().into_owned() };
        let _ = r.tx.send((status, if result.is_null() { None } else { Some(*result) }, text));
    }

    fn job(log: &Log, buf: &[u8], tx: &mpsc::Sender<(i32, Option<AppendResult>, String)>) -> AppendJob {
        let ctx = Box::into_raw(Box::new(Reply { tx: tx.clone() })) as *mut c_void;
        AppendJob { log: log.share(), data: buf.as_ptr(), len: buf.len(), leader_epoch: 0, timestamp_type: 0, now_ms: 1, max_batch_bytes: 0, cb: reply, ctx }
    }

    #[test]
    fn a_lane_takes_work_while_it_spins_and_after_it_sleeps() {
        let dir = crate::offset_index::temp_dir("append-lanes-idle");
        let log = Log::open(&dir, LogConfig::default()).unwrap();
        let batch = make_batch(3, 50, 0);
        let (tx, rx) = mpsc::channel();
        let mut next = 0i64;
        // each append is submitted when the lane has just finished the one before (it is
        // spinning), or after a pause far longer than the spin (it is asleep)
        for i in 0..40 {
            if i % 2 == 1 {
                std::thread::sleep(Duration::from_millis(3));
            }
            submit(3, job(&log, &batch, &tx)).unwrap();
            let (status, result, msg) = rx.recv_timeout(Duration::from_secs(10)).expect("the lane answered");
            assert_eq!(status, crate::STRAND_OK, "{msg}");
            assert_eq!(result.unwrap().base_offset, next);
            next += 3;
        }
        assert_eq!(log.log_end_offset().unwrap(), next);
        log.close(true).unwrap();
    }

    #[test]
    fn one_logs_appends_land_in_submission_order_and_errors_come_back() {
        let dir = crate::offset_index::temp_dir("append-lanes");
        // small segments: the appends roll segments on the lane thread too
        let log = Log::open(&dir, LogConfig { segment_bytes: 4096, segment_index_bytes: 1024, index_interval_bytes: 256, ..LogConfig::default() }).unwrap();
        let batches: Vec<Vec<u8>> = (0..200).map(|i| make_batch(i % 5 + 1, 100, i as i64)).collect();
        let mut bad = make_batch(2, 10, 0);
        bad[30] ^= 1; // CRC mismatch
        let (tx, rx) = mpsc::channel();
        for (i, b) in batches.iter().enumerate() {
            submit(7, job(&log, b, &tx)).unwrap();
            if i == 100 {
                submit(7, job(&log, &bad, &tx)).unwrap();
            }
        }
        let mut next = 0i64;
        for i in 0..batches.len() + 1 {
            let (status, result, msg) = rx.recv().unwrap();
            if i == 101 {
                assert_ne!(status, crate::STRAND_OK);
                assert_eq!(status, crate::STRAND_E_CORRUPT);
                assert!(msg.contains("crc mismatch"), "{msg}");
                continue;
            }
            assert_eq!(status, crate::STRAND_OK, "{msg}");
            let r = result.unwrap();
            assert_eq!(r.base_offset, next);
            next = r.last_offset + 1;
        }
        assert_eq!(log.log_end_offset().unwrap(), next);
        let mut segments = Vec::new();
        log.segments(&mut segments).unwrap();
        assert!(segments.len() > 10, "{} segments", segments.len());
        log.close(true).unwrap();
        // every batch is where its offsets say, after a reopen too
        let log = Log::open(&dir, LogConfig::default()).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), next);
        log.close(true).unwrap();
    }
}
