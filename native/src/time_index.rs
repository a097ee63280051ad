//! The time index (.timeindex): 12-byte entries, big-endian (i64 timestamp, u32 offset
//! relative to the segment base). Each entry is the largest batch max timestamp seen so far
//! in the segment and the last offset of the batch that carried it, so timestamps strictly
//! increase along the file.

use crate::offset_index::MmapFile;
use std::io;
use std::path::Path;

pub const TIME_ENTRY_BYTES: usize = 12;

pub struct TimeIndex {
    pub mm: MmapFile,
    pub base_offset: i64,
    entries: usize,
}

impl TimeIndex {
    /// Opens (creating) the file; entries end at the first all-zero slot (the unused
    /// preallocated tail). Call `is_sane` before trusting it.
    pub fn open(path: &Path, base_offset: i64) -> io::Result<TimeIndex> {
        let mm = MmapFile::open(path)?;
        let mut idx = TimeIndex { mm, base_offset, entries: 0 };
        let slots = idx.mm.len() / TIME_ENTRY_BYTES;
        let b = idx.mm.bytes();
        let mut n = 0;
        while n < slots && b[n * 12..n * 12 + 12] != [0u8; 12] {
            n += 1;
        }
        idx.entries = n;
        idx.mm.assume_allocated(n * TIME_ENTRY_BYTES);
        Ok(idx)
    }

    /// Maps the file again with the entry count it had when it was last unmapped (no scan).
    pub fn open_with_entries(path: &Path, base_offset: i64, entries: usize) -> io::Result<TimeIndex> {
        let mm = MmapFile::open(path)?;
        let entries = entries.min(mm.len() / TIME_ENTRY_BYTES);
        let mut idx = TimeIndex { mm, base_offset, entries };
        idx.mm.assume_allocated(entries * TIME_ENTRY_BYTES);
        Ok(idx)
    }

    #[inline]
    pub fn entries(&self) -> usize {
        self.entries
    }

    #[inline]
    pub fn max_entries(&self) -> usize {
        self.mm.len() / TIME_ENTRY_BYTES
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.entries >= self.max_entries()
    }

    /// (timestamp, absolute offset) of entry i.
    #[inline]
    pub fn entry(&self, i: usize) -> (i64, i64) {
        let b = &self.mm.bytes()[i * 12..i * 12 + 12];
        let ts = i64::from_be_bytes(b[0..8].try_into().unwrap());
        let rel = u32::from_be_bytes(b[8..12].try_into().unwrap());
        (ts, self.base_offset + rel as i64)
    }

    pub fn last_entry(&self) -> Option<(i64, i64)> {
        if self.entries == 0 {
            None
        } else {
            Some(self.entry(self.entries - 1))
        }
    }

    /// Whole entries; timestamps strictly and offsets weakly increasing; offsets below
    /// `next_offset_limit` when known.
    pub fn is_sane(&self, next_offset_limit: Option<i64>) -> bool {
        if !self.mm.len().is_multiple_of(TIME_ENTRY_BYTES) {
            return false;
        }
        let mut prev: Option<(i64, i64)> = None;
        for i in 0..self.entries {
            let (ts, off) = self.entry(i);
            if let Some(limit) = next_offset_limit {
                if off >= limit {
                    return false;
                }
            }
            if let Some((pts, poff)) = prev {
                if ts <= pts || off < poff {
                    return false;
                }
            }
            prev = Some((ts, off));
        }
        true
    }

    /// Adds (timestamp, offset) when the timestamp is larger than the last entry's and
    /// there is room; `force` ignores the full check only in the sense that the caller
    /// made room (roll).
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64) {
        if self.is_full() || timestamp < 0 {
            return;
        }
        let rel = offset - self.base_offset;
        if rel < 0 || rel > u32::MAX as i64 || (timestamp == 0 && rel == 0) {
            return;
        }
        if let Some((last_ts, last_off)) = self.last_entry() {
            if timestamp <= last_ts || offset < last_off {
                return;
            }
        }
        let i = self.entries;
        if !self.mm.ensure_allocated((i + 1) * TIME_ENTRY_BYTES) {
            return;
        }
        let b = &mut self.mm.bytes_mut()[i * 12..i * 12 + 12];
        b[0..8].copy_from_slice(&timestamp.to_be_bytes());
        b[8..12].copy_from_slice(&(rel as u32).to_be_bytes());
        self.entries += 1;
    }

    /// The last entry with timestamp < target, as (timestamp, offset): every batch up to
    /// and including that offset's batch has a max timestamp below target.
    pub fn lookup_below(&self, target: i64) -> Option<(i64, i64)> {
        let (mut lo, mut hi) = (0usize, self.entries);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            None
        } else {
            Some(self.entry(lo - 1))
        }
    }

    /// Drops entries with offset >= offset (zeroing them).
    pub fn truncate_to_offset(&mut self, offset: i64) {
        let mut n = self.entries;
        while n > 0 && self.entry(n - 1).1 >= offset {
            n -= 1;
        }
        self.truncate_entries(n);
    }

    pub fn truncate_entries(&mut self, n: usize) {
        if n < self.entries {
            let (from, to) = (n * TIME_ENTRY_BYTES, self.entries * TIME_ENTRY_BYTES);
            self.mm.bytes_mut()[from..to].fill(0);
            self.entries = n;
        }
    }

    pub fn preallocate(&mut self, max_bytes: usize) -> io::Result<()> {
        let len = (max_bytes / TIME_ENTRY_BYTES).max(self.entries) * TIME_ENTRY_BYTES;
        self.mm.resize(len)
    }

    /// Grows by one slot if full (so a final entry fits at roll), without preallocating.
    pub fn ensure_room_for_one(&mut self) -> io::Result<()> {
        if self.is_full() {
            self.mm.resize((self.entries + 1) * TIME_ENTRY_BYTES)?;
        }
        Ok(())
    }

    pub fn trim(&mut self) -> io::Result<()> {
        self.mm.resize(self.entries * TIME_ENTRY_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offset_index::temp_dir;

    #[test]
    fn lookup_edges_and_reopen() {
        let dir = temp_dir("time-index");
        let p = dir.join("a.timeindex");
        let mut idx = TimeIndex::open(&p, 50).unwrap();
        assert_eq!(idx.lookup_below(1000), None);
        idx.preallocate(12 * 3).unwrap();
        idx.maybe_append(1000, 60);
        idx.maybe_append(1000, 70); // not larger: skipped
        idx.maybe_append(900, 70); // smaller: skipped
        idx.maybe_append(2000, 80);
        assert_eq!(idx.entries(), 2);
        assert_eq!(idx.lookup_below(500), None); // before first
        assert_eq!(idx.lookup_below(1000), None); // exact first: nothing strictly below
        assert_eq!(idx.lookup_below(1001), Some((1000, 60)));
        assert_eq!(idx.lookup_below(2000), Some((1000, 60)));
        assert_eq!(idx.lookup_below(i64::MAX), Some((2000, 80))); // past last
        idx.maybe_append(3000, 90);
        assert!(idx.is_full());
        idx.maybe_append(4000, 95); // full
        assert_eq!(idx.entries(), 3);
        assert!(idx.is_sane(Some(91)));
        assert!(!idx.is_sane(Some(90)));
        idx.truncate_to_offset(80);
        assert_eq!(idx.last_entry(), Some((1000, 60)));
        idx.ensure_room_for_one().unwrap();
        idx.maybe_append(5000, 85);
        idx.trim().unwrap();
        drop(idx);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 24);
        let idx = TimeIndex::open(&p, 50).unwrap();
        assert_eq!(idx.entries(), 2);
        assert_eq!(idx.last_entry(), Some((5000, 85)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
