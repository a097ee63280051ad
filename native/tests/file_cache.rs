//! The engine-wide bound on open segment files (src/file_cache.rs), end to end through
//! Log. An integration test: its own process, so the process-wide limit and sweeps it sets
//! cannot disturb the unit tests of the library (cargo runs those in threads).

use std::fs::File;
use std::mem::ManuallyDrop;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::io::FromRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use strand_engine::crc32c::crc32c;
use strand_engine::file_cache;
use strand_engine::log::{Log, LogConfig, Region, TIMESTAMP_CREATE_TIME};

/// The tests share the process-wide cache: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    file_cache::set_limit(0);
    file_cache::sweep(0, -1);
    g
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("strand-fc-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A v2 batch of `records` records with `value_bytes`-byte values filled with `fill`.
fn batch(records: usize, value_bytes: usize, ts: i64, fill: u8) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..records {
        let mut rec = vec![0u8];
        put_varint(&mut rec, i as i64);
        put_varint(&mut rec, i as i64);
        put_varint(&mut rec, -1);
        put_varint(&mut rec, value_bytes as i64);
        rec.extend(std::iter::repeat_n(fill, value_bytes));
        put_varint(&mut rec, 0);
        put_varint(&mut body, rec.len() as i64);
        body.extend_from_slice(&rec);
    }
    let mut b = vec![0u8; 61];
    b.extend_from_slice(&body);
    let len = b.len();
    b[8..12].copy_from_slice(&((len - 12) as i32).to_be_bytes());
    b[16] = 2; // magic
    b[23..27].copy_from_slice(&((records as i32) - 1).to_be_bytes()); // last offset delta
    b[27..35].copy_from_slice(&ts.to_be_bytes());
    b[35..43].copy_from_slice(&(ts + records as i64 - 1).to_be_bytes());
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes()); // producer id
    b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    b[57..61].copy_from_slice(&(records as i32).to_be_bytes());
    let crc = crc32c(0, &b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn cfg() -> LogConfig {
    LogConfig { segment_bytes: 16 * 1024, segment_index_bytes: 64 * 1024, index_interval_bytes: 512, ..LogConfig::default() }
}

fn bytes_of(r: &Region) -> std::io::Result<Vec<u8>> {
    // SAFETY: a borrowed fd, never closed here
    let f = ManuallyDrop::new(unsafe { File::from_raw_fd(r.fd) });
    let mut b = vec![0u8; r.length as usize];
    f.read_exact_at(&mut b, r.position as u64)?;
    Ok(b)
}

/// The value fill byte of the last batch of a region (the byte before the last record's
/// header count).
fn fill_of(r: &Region) -> u8 {
    let b = bytes_of(r).unwrap();
    b[b.len() - 2]
}

fn fd_is_open(fd: i32) -> bool {
    Path::new(&format!("/proc/self/fd/{fd}")).exists()
}

fn append(log: &Log, fill: u8, n: usize) {
    for i in 0..n {
        log.append(&batch(4, 200, 1000 + i as i64, fill), 0, TIMESTAMP_CREATE_TIME, 1, -1).unwrap();
    }
}

#[test]
fn files_open_on_first_use_and_reopen_with_their_indexes() {
    let _g = serial();
    let dir = temp_dir("lazy");
    let log = Log::open(&dir, cfg()).unwrap();
    assert_eq!(log.open_segments().unwrap(), 0, "a new log keeps nothing open");
    append(&log, 7, 200); // ~180 KiB: several 16 KiB segments, index entries every 512 bytes
    let mut infos = Vec::new();
    log.segments(&mut infos).unwrap();
    assert!(infos.len() > 5);
    let leo = log.log_end_offset().unwrap();
    log.close(true).unwrap();

    let log = Log::open(&dir, cfg()).unwrap();
    assert_eq!(log.open_segments().unwrap(), 0, "recovery leaves every file closed");
    assert!(file_cache::stats().open_segments == 0);
    // a read in the middle opens only the segment it touches
    let mut regions = Vec::new();
    log.read(leo / 2, 1, -1, true, &mut regions).unwrap();
    assert_eq!(regions.len(), 1);
    assert_eq!(log.open_segments().unwrap(), 1);
    assert!(log.segment_is_open(regions[0].segment_base_offset).unwrap());
    // closed and reopened (idle), reads find every offset through the restored indexes
    file_cache::sweep(10_000, 0);
    assert_eq!(log.open_segments().unwrap(), 0);
    for o in (0..leo).step_by(37) {
        log.read(o, 1, -1, true, &mut regions).unwrap();
        let b = bytes_of(&regions[0]).unwrap();
        let base = i64::from_be_bytes(b[0..8].try_into().unwrap());
        let last = base + i32::from_be_bytes(b[23..27].try_into().unwrap()) as i64;
        assert!(base <= o && o <= last, "offset {o} read batch [{base}, {last}]");
        file_cache::sweep(20_000 + o, 0);
    }
    // appends after an idle close go on where they were
    append(&log, 9, 3);
    assert_eq!(log.log_end_offset().unwrap(), leo + 12);
    log.flush().unwrap();
    assert_eq!(log.recovery_point().unwrap(), leo + 12);
    log.delete().unwrap();
}

#[test]
fn the_limit_bounds_open_segments_across_logs() {
    let _g = serial();
    let root = temp_dir("limit");
    let logs: Vec<Log> = (0..60).map(|i| Log::open(&root.join(format!("t-{i}")), cfg()).unwrap()).collect();
    file_cache::set_limit(16);
    let mut peak = 0;
    for round in 0..3u8 {
        for (i, log) in logs.iter().enumerate() {
            append(log, round * 60 + i as u8 % 60, 2);
            peak = peak.max(file_cache::stats().open_segments);
        }
    }
    assert!(peak <= 16, "open segments peaked at {peak}");
    let s = file_cache::stats();
    assert!(s.evicted_total > 0 && s.open_segments <= 16, "{s:?}");
    // everything written is there, whatever was closed in between
    for (i, log) in logs.iter().enumerate() {
        let mut regions = Vec::new();
        log.read(0, u32::MAX, -1, true, &mut regions).unwrap();
        let all: Vec<u8> = regions.iter().flat_map(|r| bytes_of(r).unwrap()).collect();
        assert_eq!(log.log_end_offset().unwrap(), 24);
        assert_eq!(all.len(), 6 * batch(4, 200, 0, 0).len(), "log {i}");
    }
    file_cache::sweep(0, -1);
    file_cache::set_limit(0);
    for log in logs {
        log.delete().unwrap();
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_fd_handed_out_this_epoch_stays_open_until_the_sweep() {
    let _g = serial();
    let root = temp_dir("epoch");
    let a = Log::open(&root.join("a-0"), cfg()).unwrap();
    append(&a, 0xAA, 2);
    let others: Vec<Log> = (0..8).map(|i| Log::open(&root.join(format!("b-{i}")), cfg()).unwrap()).collect();
    file_cache::sweep(0, -1);
    let mut regions = Vec::new();
    a.read(0, u32::MAX, -1, true, &mut regions).unwrap();
    let fd = regions[0].fd;
    // the cache overflows: a's segment is the least recently used and closes ...
    file_cache::set_limit(2);
    for (i, log) in others.iter().enumerate() {
        append(log, i as u8, 1);
    }
    assert!(!a.segment_is_open(0).unwrap(), "a's segment was evicted");
    // ... but the fd the read handed out is parked, still this file, until the sweep
    assert!(file_cache::stats().parked_fds >= 1);
    assert!(fd_is_open(fd));
    assert_eq!(fill_of(&regions[0]), 0xAA);
    file_cache::sweep(0, -1);
    assert_eq!(file_cache::stats().parked_fds, 0);
    assert!(!fd_is_open(fd) || fill_of(&regions[0]) != 0xAA, "the parked fd closed at the sweep");
    // a segment not read in the current epoch closes at once
    let mut regions = Vec::new();
    a.read(0, u32::MAX, -1, true, &mut regions).unwrap();
    file_cache::sweep(0, -1);
    for (i, log) in others.iter().enumerate() {
        append(log, i as u8, 1);
    }
    assert!(!a.segment_is_open(0).unwrap());
    assert_eq!(file_cache::stats().parked_fds, 0);
    file_cache::set_limit(0);
    a.delete().unwrap();
    for log in others {
        log.delete().unwrap();
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn sweeps_close_what_stayed_idle_for_idle_ms() {
    let _g = serial();
    let root = temp_dir("idle");
    let a = Log::open(&root.join("a-0"), cfg()).unwrap();
    let b = Log::open(&root.join("b-0"), cfg()).unwrap();
    append(&a, 1, 1);
    file_cache::sweep(1_000, 5_000);
    append(&b, 2, 1); // b used after the sweep at t=1000
    file_cache::sweep(3_000, 5_000);
    assert!(a.segment_is_open(0).unwrap() && b.segment_is_open(0).unwrap(), "nothing idle for 5 s yet");
    file_cache::sweep(6_500, 5_000);
    assert!(!a.segment_is_open(0).unwrap(), "a was idle since before t=1000");
    assert!(b.segment_is_open(0).unwrap(), "b was used after t=1000");
    file_cache::sweep(9_000, 5_000);
    assert!(!b.segment_is_open(0).unwrap());
    assert!(file_cache::stats().idle_closed_total >= 2);
    a.delete().unwrap();
    b.delete().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn index_pages_get_blocks_before_they_are_written() {
    let _g = serial();
    let dir = temp_dir("alloc");
    let log = Log::open(&dir, LogConfig { segment_bytes: 1 << 20, segment_index_bytes: 1 << 20, index_interval_bytes: 64, ..LogConfig::default() })
        .unwrap();
    let index = dir.join("00000000000000000000.index");
    assert_eq!(std::fs::metadata(&index).unwrap().len(), 1 << 20, "preallocated");
    assert_eq!(std::fs::metadata(&index).unwrap().blocks(), 0, "sparse");
    append(&log, 3, 40); // an index entry per batch: 40 entries, one page
    let m = std::fs::metadata(&index).unwrap();
    assert!(m.blocks() * 512 >= 4096 && m.blocks() * 512 < 64 * 1024, "{} blocks", m.blocks());
    log.delete().unwrap();
}
