//! The sparse offset index (.index): 8-byte entries, big-endian (u32 offset relative to the
//! segment base, u32 file position of a batch). An entry maps a batch's last offset to the
//! position where that batch starts, so the largest entry <= a target offset is a position
//! at or before the batch holding the target.
//! Memory-mapped; the active segment's file is preallocated, others are trimmed.

use crate::sys;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Arc, OnceLock};

/// The system page size: the unit in which a write through a map needs backing blocks.
pub fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        const SC_PAGESIZE: i32 = 30;
        let n = unsafe { sys::sysconf(SC_PAGESIZE) };
        if n > 0 { n as usize } else { 4096 }
    })
}

static ZERO_PAGES: [u8; 64 * 1024] = [0; 64 * 1024];

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// One mmap of a whole file; unmapped when the last holder drops it (a flush holds it
/// while it syncs, so closing the segment meanwhile cannot pull the pages from under it).
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the pages are shared memory; writers are serialised by the log's Mutex and
// msync may run beside them (as fsync may beside write).
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    /// msync(MS_SYNC): the file's data in this range reaches the disk (Linux runs a ranged
    /// fdatasync on the mapped file).
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: ptr/len describe a live mapping (self is alive).
        if unsafe { sys::msync(self.ptr as *mut _, self.len, sys::MS_SYNC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from a successful mmap.
        unsafe { sys::munmap(self.ptr as *mut _, self.len) };
    }
}

/// A file mapped read-write in full (MAP_SHARED); shared by both index kinds. The fd is
/// closed once the map exists (a map outlives its fd): an open index costs no descriptor.
/// Resizing opens the file again by path; syncing goes through the map.
pub struct MmapFile {
    pub path: PathBuf,
    map: Option<Arc<Mapping>>,
    /// Bytes from the start known to have blocks on disk. A preallocated index is sparse;
    /// writing through the map into a hole on a full disk would raise SIGBUS, so pages
    /// are allocated (fallocate) before their first entry is written (`ensure_allocated`).
    allocated: usize,
}

fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)
}

impl MmapFile {
    pub fn open(path: &Path) -> io::Result<MmapFile> {
        let file = open_rw(path)?;
        let len = file.metadata()?.len() as usize;
        let mut m = MmapFile { path: path.to_path_buf(), map: None, allocated: 0 };
        m.map(&file, len)?;
        Ok(m)
    }

    fn map(&mut self, file: &File, len: usize) -> io::Result<()> {
        if len == 0 {
            self.map = None;
            return Ok(());
        }
        // SAFETY: fd is open read-write and the file is at least len bytes long.
        let p = unsafe {
            sys::mmap(ptr::null_mut(), len, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_SHARED, file.as_raw_fd(), 0)
        };
        if p == sys::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        self.map = Some(Arc::new(Mapping { ptr: p as *mut u8, len }));
        Ok(())
    }

    /// Sets the file length (new bytes read as zeros) and remaps it.
    pub fn resize(&mut self, len: usize) -> io::Result<()> {
        if len == self.len() && (len == 0 || self.map.is_some()) {
            return Ok(());
        }
        let file = open_rw(&self.path)?;
        self.map = None;
        file.set_len(len as u64)?;
        self.allocated = self.allocated.min(len);
        self.map(&file, len)
    }

    /// Records that the first `bytes` hold written data (their pages have blocks).
    pub fn assume_allocated(&mut self, bytes: usize) {
        self.allocated = round_up(bytes, page_size()).min(self.len());
    }

    /// Makes sure the pages holding [0, end) have blocks on disk before they are written
    /// through the map. False when they cannot be allocated (the disk is full): the caller
    /// skips the write (an index entry is an optimisation, never required).
    pub fn ensure_allocated(&mut self, end: usize) -> bool {
        if end <= self.allocated {
            return true;
        }
        let len = self.len();
        if end > len {
            return false;
        }
        let from = self.allocated;
        let to = round_up(end, page_size()).min(len);
        let ok = OpenOptions::new().write(true).open(&self.path).is_ok_and(|f| {
            // Writing zeros (the range lies past every entry, so it holds zeros already)
            // reserves the blocks through the page cache. fallocate would leave unwritten
            // extents whose first write through the map waits for a journal commit
            // (milliseconds per partition on ext4).
            let mut at = from;
            while at < to {
                let n = (to - at).min(ZERO_PAGES.len());
                if f.write_all_at(&ZERO_PAGES[..n], at as u64).is_err() {
                    return false;
                }
                at += n;
            }
            true
        });
        if ok {
            self.allocated = to;
        }
        ok
    }

    /// The map, for a sync outside the log's lock (None: an empty file).
    pub fn mapping(&self) -> Option<Arc<Mapping>> {
        self.map.clone()
    }

    /// Makes the file's data durable: through the map, or a new fd for an empty file.
    pub fn sync(&self) -> io::Result<()> {
        match &self.map {
            Some(m) => m.sync(),
            None => File::open(&self.path)?.sync_data(),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(0, |m| m.len)
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn bytes(&self) -> &[u8] {
        match &self.map {
            // SAFETY: valid mapping of len bytes, alive while self holds it.
            Some(m) => unsafe { std::slice::from_raw_parts(m.ptr, m.len) },
            None => &[],
        }
    }

    #[inline]
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        match &self.map {
            // SAFETY: valid writable mapping; &mut self makes this the only writer (a
            // flush holding the map only msyncs it).
            Some(m) => unsafe { std::slice::from_raw_parts_mut(m.ptr, m.len) },
            None => &mut [],
        }
    }
}

pub const OFFSET_ENTRY_BYTES: usize = 8;

pub struct OffsetIndex {
    pub mm: MmapFile,
    pub base_offset: i64,
    entries: usize,
}

impl OffsetIndex {
    /// Opens (creating) the file; entries = the entries before the first all-zero slot
    /// (an entry for relative offset 0 at position 0 is never written, so zeros mark the
    /// unused preallocated tail). Call `is_sane` before trusting it.
    pub fn open(path: &Path, base_offset: i64) -> io::Result<OffsetIndex> {
        let mm = MmapFile::open(path)?;
        let mut idx = OffsetIndex { mm, base_offset, entries: 0 };
        let slots = idx.mm.len() / OFFSET_ENTRY_BYTES;
        let b = idx.mm.bytes();
        let mut n = 0;
        while n < slots && b[n * 8..n * 8 + 8] != [0u8; 8] {
            n += 1;
        }
        idx.entries = n;
        idx.mm.assume_allocated(n * OFFSET_ENTRY_BYTES);
        Ok(idx)
    }

    /// Maps the file again with the entry count it had when it was last unmapped (no scan).
    pub fn open_with_entries(path: &Path, base_offset: i64, entries: usize) -> io::Result<OffsetIndex> {
        let mm = MmapFile::open(path)?;
        let entries = entries.min(mm.len() / OFFSET_ENTRY_BYTES);
        let mut idx = OffsetIndex { mm, base_offset, entries };
        idx.mm.assume_allocated(entries * OFFSET_ENTRY_BYTES);
        Ok(idx)
    }

    #[inline]
    pub fn entries(&self) -> usize {
        self.entries
    }

    #[inline]
    pub fn max_entries(&self) -> usize {
        self.mm.len() / OFFSET_ENTRY_BYTES
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.entries >= self.max_entries()
    }

    /// (relative offset, position) of entry i.
    #[inline]
    pub fn entry(&self, i: usize) -> (u32, u32) {
        let b = &self.mm.bytes()[i * 8..i * 8 + 8];
        (u32::from_be_bytes(b[0..4].try_into().unwrap()), u32::from_be_bytes(b[4..8].try_into().unwrap()))
    }

    pub fn last_entry(&self) -> Option<(i64, u32)> {
        if self.entries == 0 {
            None
        } else {
            let (rel, pos) = self.entry(self.entries - 1);
            Some((self.base_offset + rel as i64, pos))
        }
    }

    /// Whether the file is well formed for a log of `log_bytes` bytes whose offsets lie
    /// below `next_offset_limit`: whole entries, offsets and positions strictly increasing,
    /// positions inside the log.
    pub fn is_sane(&self, log_bytes: u64, next_offset_limit: Option<i64>) -> bool {
        if !self.mm.len().is_multiple_of(OFFSET_ENTRY_BYTES) {
            return false;
        }
        let mut prev: Option<(u32, u32)> = None;
        for i in 0..self.entries {
            let (rel, pos) = self.entry(i);
            if pos as u64 >= log_bytes {
                return false;
            }
            if let Some(limit) = next_offset_limit {
                if self.base_offset + rel as i64 >= limit {
                    return false;
                }
            }
            if let Some((prel, ppos)) = prev {
                if rel <= prel || pos <= ppos {
                    return false;
                }
            }
            prev = Some((rel, pos));
        }
        true
    }

    /// Adds an entry; ignored when full or not past the last entry (the index is sparse,
    /// a missing entry only lengthens a scan).
    pub fn append(&mut self, offset: i64, position: u32) {
        if self.is_full() {
            return;
        }
        let rel = offset - self.base_offset;
        // (0, 0) is the end-of-entries marker, never a real entry
        if rel < 0 || rel > u32::MAX as i64 || (rel == 0 && position == 0) {
            return;
        }
        if let Some((last_off, last_pos)) = self.last_entry() {
            if offset <= last_off || position <= last_pos {
                return;
            }
        }
        let i = self.entries;
        if !self.mm.ensure_allocated((i + 1) * OFFSET_ENTRY_BYTES) {
            return;
        }
        let b = &mut self.mm.bytes_mut()[i * 8..i * 8 + 8];
        b[0..4].copy_from_slice(&(rel as u32).to_be_bytes());
        b[4..8].copy_from_slice(&position.to_be_bytes());
        self.entries += 1;
    }

    /// Largest entry with offset <= target as (offset, position); (base, 0) when none.
    pub fn lookup(&self, target: i64) -> (i64, u32) {
        let rel = target - self.base_offset;
        if rel < 0 || self.entries == 0 {
            return (self.base_offset, 0);
        }
        let rel = rel.min(u32::MAX as i64) as u32;
        // number of entries with relative offset <= rel
        let (mut lo, mut hi) = (0usize, self.entries);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 <= rel {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            (self.base_offset, 0)
        } else {
            let (r, p) = self.entry(lo - 1);
            (self.base_offset + r as i64, p)
        }
    }

    /// Largest entry with position <= max_position and offset < offset_limit, as
    /// (offset, position): a batch boundary a read can jump to.
    pub fn lookup_position(&self, max_position: u64, offset_limit: i64) -> Option<(i64, u32)> {
        let (mut lo, mut hi) = (0usize, self.entries);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (r, p) = self.entry(mid);
            if (p as u64) <= max_position && self.base_offset + (r as i64) < offset_limit {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            None
        } else {
            let (r, p) = self.entry(lo - 1);
            Some((self.base_offset + r as i64, p))
        }
    }

    /// Drops the entries with offset >= offset, zeroing them (zeros mark the end on reopen).
    pub fn truncate_to_offset(&mut self, offset: i64) {
        let mut n = self.entries;
        while n > 0 && self.base_offset + self.entry(n - 1).0 as i64 >= offset {
            n -= 1;
        }
        self.truncate_entries(n);
    }

    pub fn truncate_entries(&mut self, n: usize) {
        if n < self.entries {
            let (from, to) = (n * OFFSET_ENTRY_BYTES, self.entries * OFFSET_ENTRY_BYTES);
            self.mm.bytes_mut()[from..to].fill(0);
            self.entries = n;
        }
    }

    /// Preallocates to max_bytes (rounded down to whole entries) for appends.
    pub fn preallocate(&mut self, max_bytes: usize) -> io::Result<()> {
        let len = (max_bytes / OFFSET_ENTRY_BYTES).max(self.entries) * OFFSET_ENTRY_BYTES;
        self.mm.resize(len)
    }

    /// Shrinks the file to its entries.
    pub fn trim(&mut self) -> io::Result<()> {
        self.mm.resize(self.entries * OFFSET_ENTRY_BYTES)
    }
}

/// A fresh directory for a test (removed first if a previous run left it).
#[cfg(test)]
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("strand-test-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_edges() {
        let dir = temp_dir("offset-index-edges");
        let mut idx = OffsetIndex::open(&dir.join("a.index"), 100).unwrap();
        // empty, not preallocated: full, lookups return the base
        assert!(idx.is_full());
        assert_eq!(idx.lookup(150), (100, 0));
        idx.preallocate(8 * 4 + 5).unwrap();
        assert_eq!(idx.max_entries(), 4);
        assert_eq!(idx.lookup(100), (100, 0));
        idx.append(110, 1000);
        idx.append(120, 2000);
        idx.append(130, 3000);
        idx.append(125, 4000); // not increasing: ignored
        assert_eq!(idx.entries(), 3);
        assert_eq!(idx.lookup(99), (100, 0)); // before base
        assert_eq!(idx.lookup(105), (100, 0)); // before first entry
        assert_eq!(idx.lookup(110), (110, 1000)); // exact
        assert_eq!(idx.lookup(119), (110, 1000)); // between
        assert_eq!(idx.lookup(120), (120, 2000));
        assert_eq!(idx.lookup(10_000), (130, 3000)); // past last
        idx.append(140, 4000);
        assert!(idx.is_full());
        idx.append(150, 5000); // full: ignored
        assert_eq!(idx.entries(), 4);
        assert_eq!(idx.lookup(i64::MAX), (140, 4000));
        assert_eq!(idx.lookup_position(2500, i64::MAX), Some((120, 2000)));
        assert_eq!(idx.lookup_position(2500, 120), Some((110, 1000)));
        assert_eq!(idx.lookup_position(999, i64::MAX), None);
        assert!(idx.is_sane(4001, None));
        assert!(!idx.is_sane(4000, None));
        assert!(!idx.is_sane(5000, Some(140)));

        idx.truncate_to_offset(120);
        assert_eq!(idx.entries(), 1);
        idx.trim().unwrap();
        assert_eq!(std::fs::metadata(dir.join("a.index")).unwrap().len(), 8);
        drop(idx);
        let idx = OffsetIndex::open(&dir.join("a.index"), 100).unwrap();
        assert_eq!(idx.entries(), 1);
        assert_eq!(idx.lookup(115), (110, 1000));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reopen_preallocated_stops_at_zeros_and_detects_garbage() {
        let dir = temp_dir("offset-index-reopen");
        let p = dir.join("b.index");
        let mut idx = OffsetIndex::open(&p, 0).unwrap();
        idx.preallocate(1024).unwrap();
        idx.append(10, 100);
        idx.append(20, 200);
        drop(idx);
        let idx = OffsetIndex::open(&p, 0).unwrap();
        assert_eq!(idx.entries(), 2);
        assert!(idx.is_sane(300, None));
        drop(idx);
        // garbage: decreasing positions
        let mut raw = std::fs::read(&p).unwrap();
        raw[12..16].copy_from_slice(&50u32.to_be_bytes());
        std::fs::write(&p, &raw).unwrap();
        let idx = OffsetIndex::open(&p, 0).unwrap();
        assert!(!idx.is_sane(300, None));
        drop(idx);
        // wrong size
        std::fs::write(&p, [1u8; 13]).unwrap();
        let idx = OffsetIndex::open(&p, 0).unwrap();
        assert!(!idx.is_sane(300, None));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
