//! Record batch v2 header (kafka-docs/implementation.html): parse, validate, stamp.
//! Only the 61-byte header is interpreted; records stay opaque bytes (maybe compressed).

use crate::crc32c::crc32c;
use std::fmt;

pub const OFF_BASE_OFFSET: usize = 0;
pub const OFF_BATCH_LENGTH: usize = 8;
pub const OFF_LEADER_EPOCH: usize = 12;
pub const OFF_MAGIC: usize = 16;
pub const OFF_CRC: usize = 17;
pub const OFF_ATTRIBUTES: usize = 21;
pub const OFF_LAST_OFFSET_DELTA: usize = 23;
pub const OFF_BASE_TIMESTAMP: usize = 27;
pub const OFF_MAX_TIMESTAMP: usize = 35;
pub const OFF_PRODUCER_ID: usize = 43;
pub const OFF_PRODUCER_EPOCH: usize = 51;
pub const OFF_BASE_SEQUENCE: usize = 53;
pub const OFF_RECORD_COUNT: usize = 57;
pub const HEADER_BYTES: usize = 61;
/// baseOffset + batchLength: the bytes not counted by batchLength.
pub const LOG_OVERHEAD_BYTES: usize = 12;
pub const MIN_BATCH_LENGTH: i32 = (HEADER_BYTES - LOG_OVERHEAD_BYTES) as i32;
pub const MAGIC_V2: i8 = 2;
/// Attribute bit 3: timestamp type is LogAppendTime.
pub const ATTR_LOG_APPEND_TIME: i16 = 0x08;

#[inline]
pub fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}
#[inline]
pub fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
#[inline]
pub fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
#[inline]
pub fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}

/// The fields of a batch header this engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Whole batch on disk: batchLength + 12.
    pub size_bytes: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub max_timestamp: i64,
    pub record_count: i32,
}

impl BatchHeader {
    /// Reads the fields from at least HEADER_BYTES bytes (no validation).
    pub fn parse(h: &[u8]) -> BatchHeader {
        BatchHeader {
            base_offset: be_i64(h, OFF_BASE_OFFSET),
            size_bytes: (be_i32(h, OFF_BATCH_LENGTH) as u32).wrapping_add(LOG_OVERHEAD_BYTES as u32),
            attributes: be_i16(h, OFF_ATTRIBUTES),
            last_offset_delta: be_i32(h, OFF_LAST_OFFSET_DELTA),
            max_timestamp: be_i64(h, OFF_MAX_TIMESTAMP),
            record_count: be_i32(h, OFF_RECORD_COUNT),
        }
    }
    #[inline]
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    #[inline]
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchErrorKind {
    /// The buffer holds no batch at all.
    Empty,
    /// Fewer bytes left than a batch header.
    Truncated { available: usize },
    LengthTooSmall { batch_length: i32 },
    LengthBeyondBuffer { batch_length: i32, available: usize },
    BadMagic { magic: i8 },
    CrcMismatch { stored: u32, computed: u32 },
    NegativeRecordCount { record_count: i32 },
    NegativeLastOffsetDelta { last_offset_delta: i32 },
    LastOffsetDeltaMismatch { last_offset_delta: i32, record_count: i32 },
    EmptyBatch,
    TooLarge { size_bytes: usize, max_bytes: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// Byte position of the batch in the buffer (or file) being validated.
    pub at_byte: u64,
    pub kind: BatchErrorKind,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use BatchErrorKind::*;
        if let Empty = self.kind {
            return write!(f, "no record batch in the buffer");
        }
        write!(f, "batch at byte {}: ", self.at_byte)?;
        match &self.kind {
            Empty => Ok(()),
            Truncated { available } => write!(f, "truncated header ({available} bytes left, a header needs {HEADER_BYTES})"),
            LengthTooSmall { batch_length } => {
                write!(f, "batch length {batch_length} below the minimum {MIN_BATCH_LENGTH}")
            }
            LengthBeyondBuffer { batch_length, available } => write!(
                f,
                "batch length {batch_length} runs past the end ({} bytes needed, {available} left)",
                *batch_length as i64 + LOG_OVERHEAD_BYTES as i64
            ),
            BadMagic { magic } => write!(f, "magic {magic}, only 2 is supported"),
            CrcMismatch { stored, computed } => {
                write!(f, "crc mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})")
            }
            NegativeRecordCount { record_count } => write!(f, "negative record count {record_count}"),
            NegativeLastOffsetDelta { last_offset_delta } => {
                write!(f, "negative last offset delta {last_offset_delta}")
            }
            LastOffsetDeltaMismatch { last_offset_delta, record_count } => write!(
                f,
                "last offset delta {last_offset_delta} inconsistent with record count {record_count}"
            ),
            EmptyBatch => write!(f, "batch has no records"),
            TooLarge { size_bytes, max_bytes } => {
                write!(f, "batch of {size_bytes} bytes exceeds the limit of {max_bytes} bytes")
            }
        }
    }
}

impl std::error::Error for BatchError {}

/// How strictly record counts are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// A producer's batch: records count == lastOffsetDelta + 1, at least one record.
    Produce,
    /// A batch already in the log: compaction may have removed records (count <= delta + 1).
    Stored,
}

/// Validates the batch at the start of `buf` (which may hold more after it); returns its
/// header. `at_byte` only labels errors.
pub fn validate_batch(buf: &[u8], at_byte: u64, strictness: Strictness) -> Result<BatchHeader, BatchError> {
    let err = |kind| BatchError { at_byte, kind };
    if buf.len() < LOG_OVERHEAD_BYTES {
        return Err(err(BatchErrorKind::Truncated { available: buf.len() }));
    }
    let batch_length = be_i32(buf, OFF_BATCH_LENGTH);
    if batch_length < MIN_BATCH_LENGTH {
        return Err(err(BatchErrorKind::LengthTooSmall { batch_length }));
    }
    let size = batch_length as usize + LOG_OVERHEAD_BYTES;
    if size > buf.len() {
        return Err(err(BatchErrorKind::LengthBeyondBuffer { batch_length, available: buf.len() }));
    }
    let magic = buf[OFF_MAGIC] as i8;
    if magic != MAGIC_V2 {
        return Err(err(BatchErrorKind::BadMagic { magic }));
    }
    let stored = be_u32(buf, OFF_CRC);
    let computed = crc32c(0, &buf[OFF_ATTRIBUTES..size]);
    if stored != computed {
        return Err(err(BatchErrorKind::CrcMismatch { stored, computed }));
    }
    let h = BatchHeader::parse(buf);
    if h.record_count < 0 {
        return Err(err(BatchErrorKind::NegativeRecordCount { record_count: h.record_count }));
    }
    if h.last_offset_delta < 0 {
        return Err(err(BatchErrorKind::NegativeLastOffsetDelta { last_offset_delta: h.last_offset_delta }));
    }
    let consistent = match strictness {
        Strictness::Produce => {
            if h.record_count == 0 {
                return Err(err(BatchErrorKind::EmptyBatch));
            }
            h.last_offset_delta as i64 == h.record_count as i64 - 1
        }
        Strictness::Stored => h.record_count as i64 <= h.last_offset_delta as i64 + 1,
    };
    if !consistent {
        return Err(err(BatchErrorKind::LastOffsetDeltaMismatch {
            last_offset_delta: h.last_offset_delta,
            record_count: h.record_count,
        }));
    }
    Ok(h)
}

/// Writes the assigned base offset and the partition leader epoch (both outside the CRC).
#[inline]
pub fn stamp_offsets(header: &mut [u8], base_offset: i64, leader_epoch: i32) {
    header[OFF_BASE_OFFSET..OFF_BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    header[OFF_LEADER_EPOCH..OFF_LEADER_EPOCH + 4].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// Marks the batch LogAppendTime with max timestamp `now_ms` and recomputes the CRC;
/// `header` is the batch's first HEADER_BYTES bytes, `body` the rest of the batch.
pub fn set_log_append_time(header: &mut [u8], body: &[u8], now_ms: i64) {
    let attributes = be_i16(header, OFF_ATTRIBUTES) | ATTR_LOG_APPEND_TIME;
    header[OFF_ATTRIBUTES..OFF_ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    header[OFF_MAX_TIMESTAMP..OFF_MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c(crc32c(0, &header[OFF_ATTRIBUTES..HEADER_BYTES]), body);
    header[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Test helpers: real v2 batches with real CRCs.
#[cfg(test)]
pub mod testutil {
    use super::*;

    fn put_varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }

    /// A batch of `records` records with `value_bytes`-byte values, timestamps
    /// base_ts, base_ts+1, ...; base offset 0.
    pub fn make_batch(records: usize, value_bytes: usize, base_ts: i64) -> Vec<u8> {
        let mut body = Vec::new();
        for i in 0..records {
            let mut rec = Vec::new();
            rec.push(0u8); // attributes
            put_varint(&mut rec, i as i64); // timestamp delta
            put_varint(&mut rec, i as i64); // offset delta
            put_varint(&mut rec, -1); // null key
            put_varint(&mut rec, value_bytes as i64);
            rec.extend((0..value_bytes).map(|j| (i + j) as u8));
            put_varint(&mut rec, 0); // headers
            put_varint(&mut body, rec.len() as i64);
            body.extend_from_slice(&rec);
        }
        let mut b = vec![0u8; HEADER_BYTES];
        b.extend_from_slice(&body);
        let batch_length = (b.len() - LOG_OVERHEAD_BYTES) as i32;
        b[OFF_BATCH_LENGTH..OFF_BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
        b[OFF_LEADER_EPOCH..OFF_LEADER_EPOCH + 4].copy_from_slice(&(-1i32).to_be_bytes());
        b[OFF_MAGIC] = 2;
        b[OFF_LAST_OFFSET_DELTA..OFF_LAST_OFFSET_DELTA + 4]
            .copy_from_slice(&(records as i32 - 1).to_be_bytes());
        b[OFF_BASE_TIMESTAMP..OFF_BASE_TIMESTAMP + 8].copy_from_slice(&base_ts.to_be_bytes());
        let max_ts = base_ts + records.max(1) as i64 - 1;
        b[OFF_MAX_TIMESTAMP..OFF_MAX_TIMESTAMP + 8].copy_from_slice(&max_ts.to_be_bytes());
        b[OFF_PRODUCER_ID..OFF_PRODUCER_ID + 8].copy_from_slice(&(-1i64).to_be_bytes());
        b[OFF_PRODUCER_EPOCH..OFF_PRODUCER_EPOCH + 2].copy_from_slice(&(-1i16).to_be_bytes());
        b[OFF_BASE_SEQUENCE..OFF_BASE_SEQUENCE + 4].copy_from_slice(&(-1i32).to_be_bytes());
        b[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&(records as i32).to_be_bytes());
        fix_crc(&mut b);
        b
    }

    pub fn fix_crc(b: &mut [u8]) {
        let crc = crc32c(0, &b[OFF_ATTRIBUTES..]);
        b[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    fn kind(buf: &[u8]) -> BatchErrorKind {
        validate_batch(buf, 0, Strictness::Produce).unwrap_err().kind
    }

    #[test]
    fn valid_batch_parses() {
        let b = make_batch(3, 10, 1000);
        let h = validate_batch(&b, 0, Strictness::Produce).unwrap();
        assert_eq!(h.size_bytes as usize, b.len());
        assert_eq!(h.record_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.max_timestamp, 1002);
        // trailing bytes after the batch are the caller's business
        let mut two = b.clone();
        two.extend_from_slice(&b);
        assert!(validate_batch(&two, 0, Strictness::Produce).is_ok());
    }

    #[test]
    fn every_kind_of_bad_batch() {
        let good = make_batch(2, 5, 0);
        assert_eq!(kind(&good[..5]), BatchErrorKind::Truncated { available: 5 });

        let mut b = good.clone();
        b[OFF_BATCH_LENGTH..OFF_BATCH_LENGTH + 4].copy_from_slice(&48i32.to_be_bytes());
        assert_eq!(kind(&b), BatchErrorKind::LengthTooSmall { batch_length: 48 });
        b[OFF_BATCH_LENGTH..OFF_BATCH_LENGTH + 4].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(kind(&b), BatchErrorKind::LengthTooSmall { batch_length: -5 });

        let short = &good[..good.len() - 1];
        assert!(matches!(kind(short), BatchErrorKind::LengthBeyondBuffer { .. }));

        let mut b = good.clone();
        b[OFF_MAGIC] = 1;
        assert_eq!(kind(&b), BatchErrorKind::BadMagic { magic: 1 });

        let mut b = good.clone();
        let last = b.len() - 1;
        b[last] ^= 0x40;
        let e = validate_batch(&b, 77, Strictness::Produce).unwrap_err();
        assert!(matches!(e.kind, BatchErrorKind::CrcMismatch { .. }));
        assert!(e.to_string().starts_with("batch at byte 77: crc mismatch (stored 0x"), "{e}");

        let mut b = good.clone();
        b[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&(-1i32).to_be_bytes());
        fix_crc(&mut b);
        assert_eq!(kind(&b), BatchErrorKind::NegativeRecordCount { record_count: -1 });

        let mut b = good.clone();
        b[OFF_LAST_OFFSET_DELTA..OFF_LAST_OFFSET_DELTA + 4].copy_from_slice(&(-1i32).to_be_bytes());
        fix_crc(&mut b);
        assert_eq!(kind(&b), BatchErrorKind::NegativeLastOffsetDelta { last_offset_delta: -1 });

        let mut b = good.clone();
        b[OFF_LAST_OFFSET_DELTA..OFF_LAST_OFFSET_DELTA + 4].copy_from_slice(&5i32.to_be_bytes());
        fix_crc(&mut b);
        assert_eq!(kind(&b), BatchErrorKind::LastOffsetDeltaMismatch { last_offset_delta: 5, record_count: 2 });
        // a compacted batch (fewer records than offsets) is fine once stored
        assert!(validate_batch(&b, 0, Strictness::Stored).is_ok());

        let mut b = good.clone();
        b[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&0i32.to_be_bytes());
        fix_crc(&mut b);
        assert_eq!(kind(&b), BatchErrorKind::EmptyBatch);
        assert!(validate_batch(&b, 0, Strictness::Stored).is_ok());

        let mut b = good.clone();
        b[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&3i32.to_be_bytes());
        fix_crc(&mut b);
        assert!(validate_batch(&b, 0, Strictness::Stored).is_err());
    }

    #[test]
    fn stamping_keeps_crc_and_log_append_time_recomputes_it() {
        let mut b = make_batch(4, 100, 5);
        stamp_offsets(&mut b, 1234, 7);
        let h = validate_batch(&b, 0, Strictness::Produce).unwrap();
        assert_eq!(h.base_offset, 1234);
        assert_eq!(be_i32(&b, OFF_LEADER_EPOCH), 7);
        let (head, body) = b.split_at_mut(HEADER_BYTES);
        set_log_append_time(head, body, 99_999);
        let h = validate_batch(&b, 0, Strictness::Produce).unwrap();
        assert_eq!(h.max_timestamp, 99_999);
        assert_ne!(h.attributes & ATTR_LOG_APPEND_TIME, 0);
    }
}
