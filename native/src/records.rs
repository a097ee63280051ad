//! The record-level checks of an uncompressed v2 batch that a broker makes before storing
//! it (Kafka's DefaultRecord layout): every record's length, fields and headers fill it
//! exactly, the count in the header is right, offset deltas run 0, 1, 2, ..., and, when
//! asked, timestamps lie within bounds and every record has a key. One pass, no allocation.
//! The JS walk in src/broker/record-scan.ts makes the same checks and is the one that names
//! the failing records; this one only says whether any failed.

use crate::batch::{be_i16, be_i32, be_i64, ATTR_LOG_APPEND_TIME, HEADER_BYTES, OFF_ATTRIBUTES, OFF_BASE_TIMESTAMP, OFF_LAST_OFFSET_DELTA, OFF_MAX_TIMESTAMP, OFF_RECORD_COUNT};

/// Every record passed.
pub const RECORDS_OK: i32 = 0;
/// Well formed, but some record is outside the timestamp bounds or lacks a required key.
pub const RECORDS_REJECTED: i32 = 1;
/// Lengths that disagree, truncation, trailing bytes: Kafka's CORRUPT_MESSAGE.
pub const RECORDS_MALFORMED: i32 = -1;
/// The header's count and offset range, or a record's offset delta, disagree: INVALID_RECORD.
pub const RECORDS_OFFSETS_MISMATCH: i32 = -2;

/// What the caller's topic asks of each record beyond being well formed.
#[derive(Debug, Clone, Copy)]
pub struct RecordChecks {
    /// Oldest acceptable timestamp (ms); -inf for none.
    pub min_timestamp_ms: f64,
    /// Newest acceptable timestamp (ms); +inf for none.
    pub max_timestamp_ms: f64,
    pub require_key: bool,
}

/// A zig-zag varint of up to 10 bytes; None when it runs past `end` or does not fit 64 bits.
#[inline]
fn varint(buf: &[u8], pos: &mut usize, end: usize) -> Option<i64> {
    let mut raw: u64 = 0;
    for i in 0..10 {
        if *pos >= end {
            return None;
        }
        let b = buf[*pos];
        *pos += 1;
        if i == 9 && b > 1 {
            return None;
        }
        raw |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    None
}

/// Skips a length-prefixed field whose length is `length` (-1: null).
#[inline]
fn skip(pos: &mut usize, end: usize, length: i64) -> bool {
    if length < -1 {
        return false;
    }
    if length > 0 {
        if length as u64 > (end - *pos) as u64 {
            return false;
        }
        *pos += length as usize;
    }
    true
}

/// The fields of one record the checks need; None when the record is malformed.
#[inline]
fn record_body(buf: &[u8], pos: &mut usize, record_end: usize) -> Option<(i64, i64, i64)> {
    *pos += 1; // attributes
    if *pos > record_end {
        return None;
    }
    let timestamp_delta = varint(buf, pos, record_end)?;
    let offset_delta = varint(buf, pos, record_end)?;
    let key_bytes = varint(buf, pos, record_end)?;
    if !skip(pos, record_end, key_bytes) {
        return None;
    }
    let value_bytes = varint(buf, pos, record_end)?;
    if !skip(pos, record_end, value_bytes) {
        return None;
    }
    let header_count = varint(buf, pos, record_end)?;
    if header_count < 0 || header_count as u64 > (record_end - *pos) as u64 {
        return None;
    }
    for _ in 0..header_count {
        let header_key_bytes = varint(buf, pos, record_end)?;
        if header_key_bytes < 0 || !skip(pos, record_end, header_key_bytes) {
            return None;
        }
        let header_value_bytes = varint(buf, pos, record_end)?;
        if !skip(pos, record_end, header_value_bytes) {
            return None;
        }
    }
    if *pos != record_end {
        return None;
    }
    Some((timestamp_delta, offset_delta, key_bytes))
}

/// Checks the records of `batch`, a whole uncompressed v2 batch (header included, its
/// length already validated by the caller). Returns one of the RECORDS_* codes.
pub fn check_records(batch: &[u8], checks: &RecordChecks) -> i32 {
    if batch.len() < HEADER_BYTES {
        return RECORDS_MALFORMED;
    }
    let count = be_i32(batch, OFF_RECORD_COUNT);
    if i64::from(count) != i64::from(be_i32(batch, OFF_LAST_OFFSET_DELTA)) + 1 {
        return RECORDS_OFFSETS_MISMATCH;
    }
    let base_timestamp = be_i64(batch, OFF_BASE_TIMESTAMP);
    // LogAppendTime: every record's timestamp is the batch's max timestamp.
    let append_time = (be_i16(batch, OFF_ATTRIBUTES) & ATTR_LOG_APPEND_TIME) != 0;
    let max_timestamp = be_i64(batch, OFF_MAX_TIMESTAMP);
    let end = batch.len();
    let mut pos = HEADER_BYTES;
    let mut rejected = false;
    for index in 0..i64::from(count.max(0)) {
        let length = match varint(batch, &mut pos, end) {
            Some(l) if l >= 0 && l as u64 <= (end - pos) as u64 => l as usize,
            _ => return RECORDS_MALFORMED,
        };
        let record_end = pos + length;
        let (timestamp_delta, offset_delta, key_bytes) = match record_body(batch, &mut pos, record_end) {
            Some(fields) => fields,
            None => return RECORDS_MALFORMED,
        };
        if offset_delta != index {
            return RECORDS_OFFSETS_MISMATCH;
        }
        if checks.require_key && key_bytes < 0 {
            rejected = true;
        } else {
            // As doubles, as the JS walk compares them.
            let timestamp_ms = if append_time { max_timestamp as f64 } else { base_timestamp as f64 + timestamp_delta as f64 };
            if timestamp_ms < checks.min_timestamp_ms || timestamp_ms > checks.max_timestamp_ms {
                rejected = true;
            }
        }
    }
    // Bytes after the last record mean the header's count is wrong.
    if pos != end {
        return RECORDS_MALFORMED;
    }
    if rejected {
        RECORDS_REJECTED
    } else {
        RECORDS_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::testutil::make_batch;
    use crate::batch::OFF_BATCH_LENGTH;

    const ANY: RecordChecks = RecordChecks { min_timestamp_ms: f64::NEG_INFINITY, max_timestamp_ms: f64::INFINITY, require_key: false };

    #[test]
    fn well_formed_batches_pass() {
        for (records, value_bytes) in [(1, 0), (1, 100), (64, 1000), (500, 7)] {
            assert_eq!(check_records(&make_batch(records, value_bytes, 1_700_000_000_000), &ANY), RECORDS_OK, "{records} x {value_bytes}");
        }
    }

    #[test]
    fn timestamp_bounds_and_keys_reject_without_malforming() {
        let batch = make_batch(10, 20, 1_700_000_000_000);
        let narrow = RecordChecks { min_timestamp_ms: 1_800_000_000_000.0, ..ANY };
        assert_eq!(check_records(&batch, &narrow), RECORDS_REJECTED);
        let wide = RecordChecks { min_timestamp_ms: 1_600_000_000_000.0, max_timestamp_ms: 1_800_000_000_000.0, require_key: false };
        assert_eq!(check_records(&batch, &wide), RECORDS_OK);
        // make_batch writes null keys.
        assert_eq!(check_records(&batch, &RecordChecks { require_key: true, ..ANY }), RECORDS_REJECTED);
        // LogAppendTime batches are judged by their max timestamp.
        let mut appended = batch.clone();
        let attrs = be_i16(&appended, OFF_ATTRIBUTES) | ATTR_LOG_APPEND_TIME;
        appended[OFF_ATTRIBUTES..OFF_ATTRIBUTES + 2].copy_from_slice(&attrs.to_be_bytes());
        appended[OFF_MAX_TIMESTAMP..OFF_MAX_TIMESTAMP + 8].copy_from_slice(&1_900_000_000_000i64.to_be_bytes());
        assert_eq!(check_records(&appended, &wide), RECORDS_REJECTED);
    }

    #[test]
    fn counts_offsets_and_lengths_that_disagree() {
        let batch = make_batch(5, 10, 0);
        let mut wrong_count = batch.clone();
        wrong_count[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&4i32.to_be_bytes());
        assert_eq!(check_records(&wrong_count, &ANY), RECORDS_OFFSETS_MISMATCH);
        // Count and last delta agree but there are more records than they say.
        let mut short_count = wrong_count.clone();
        short_count[OFF_LAST_OFFSET_DELTA..OFF_LAST_OFFSET_DELTA + 4].copy_from_slice(&3i32.to_be_bytes());
        assert_eq!(check_records(&short_count, &ANY), RECORDS_MALFORMED);
        // Truncated: the last record runs past the end.
        let truncated = &batch[..batch.len() - 3];
        assert_eq!(check_records(truncated, &ANY), RECORDS_MALFORMED);
        // First record's offset delta (after its length and attributes and a 1-byte
        // timestamp delta) changed from 0 to 1 (zig-zag 2).
        let mut delta = batch.clone();
        let first = HEADER_BYTES;
        assert_eq!(delta[first + 2], 0, "make_batch's first timestamp delta is 0");
        delta[first + 3] = 2;
        assert_eq!(check_records(&delta, &ANY), RECORDS_OFFSETS_MISMATCH);
        // A record length beyond the batch.
        let mut long = batch.clone();
        long[first] = 0x7e;
        assert_eq!(check_records(&long, &ANY), RECORDS_MALFORMED);
        assert_eq!(be_i32(&batch, OFF_BATCH_LENGTH) as usize + 12, batch.len());
    }

    #[test]
    fn varints_that_run_past_their_field_or_64_bits() {
        let mut pos = 0;
        assert_eq!(varint(&[0x80, 0x80], &mut pos, 2), None);
        let mut pos = 0;
        let too_wide = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(varint(&too_wide, &mut pos, 10), None);
        let mut pos = 0;
        let widest = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&widest, &mut pos, 10), Some(i64::MAX));
        let mut pos = 0;
        assert_eq!(varint(&[0x01], &mut pos, 1), Some(-1));
        let mut pos = 0;
        assert_eq!(varint(&[0xac, 0x02], &mut pos, 2), Some(150));
    }

    #[test]
    fn random_corruption_never_panics() {
        let batch = make_batch(20, 30, 5);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut b = batch.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = HEADER_BYTES + (seed as usize) % (b.len() - HEADER_BYTES);
                b[at] = (seed >> 32) as u8;
            }
            let cut = HEADER_BYTES + (seed >> 40) as usize % (b.len() - HEADER_BYTES + 1);
            let _ = check_records(&b[..cut], &ANY);
            let _ = check_records(&b, &RecordChecks { require_key: true, ..ANY });
        }
    }
}
