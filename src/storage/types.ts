// The public types of the storage engine's TypeScript face (package subpath "strand/storage").
// Offsets and timestamps are JS numbers: exact below 2^53, which no real log reaches.

export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** Per-partition log settings, named after Kafka's topic configs (segment.bytes -> segmentBytes). */
export interface LogConfig {
  segmentBytes: number;        // segment.bytes, default 1 GiB
  segmentMs: number;           // segment.ms, default 7 days
  segmentIndexBytes: number;   // segment.index.bytes, default 10 MiB
  indexIntervalBytes: number;  // index.interval.bytes, default 4096
  flushMessages: number;       // flush.messages, default Number.MAX_SAFE_INTEGER (never)
  flushMs: number;             // flush.ms, default Number.MAX_SAFE_INTEGER (never)
  fileDeleteDelayMs: number;   // file.delete.delay.ms, default 60000
}

export interface AppendOptions {
  leaderEpoch?: number;          // written into each batch header, default 0
  timestampType?: TimestampType; // LogAppendTime stamps the batches with nowMs
  nowMs?: number;                // default Date.now()
  maxBatchBytes?: number;        // max.message.bytes; a larger batch is rejected (MESSAGE_TOO_LARGE)
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;  // -1 for CreateTime
  maxTimestamp: number;
  logStartOffset: number;
  batchCount: number;
  recordCount: number;
  bytes: number;
}

/** A byte range of a segment file holding whole batches. `fd` is owned by the log. */
export interface FileRegion {
  fd: number;
  position: number;
  length: number;
  segmentBaseOffset: number;
}

export interface ReadOptions {
  /** Exclusive upper bound on offsets returned (e.g. the high watermark); default log end. */
  maxOffset?: number;
  /** Return the first batch whole even when it exceeds maxBytes (Kafka's fetch rule). Default true. */
  minOneBatch?: boolean;
}

export interface ReadResult {
  regions: FileRegion[];
  bytes: number;
}

export interface TimestampOffset {
  offset: number;
  timestamp: number;
}

export interface SegmentInfo {
  baseOffset: number;
  sizeBytes: number;
  largestTimestamp: number;
  createdMs: number;
  lastModifiedMs: number;
  /** The active (last) segment: appends go there; it is never deleted or replaced. */
  isActive: boolean;
}

/** Storage error codes, each mapped to the Kafka error code a broker should send. */
export type StorageErrorCode =
  | 'IO'
  | 'CORRUPT_MESSAGE'
  | 'INVALID_RECORD'
  | 'MESSAGE_TOO_LARGE'
  | 'OFFSET_OUT_OF_RANGE'
  | 'INVALID_ARGUMENT'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'PEER_CLOSED';

export const KAFKA_ERROR_FOR_STORAGE: Record<StorageErrorCode, number> = {
  IO: 56,                  // KAFKA_STORAGE_ERROR
  CORRUPT_MESSAGE: 2,
  INVALID_RECORD: 87,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_OUT_OF_RANGE: 1,
  INVALID_ARGUMENT: 42,    // INVALID_REQUEST
  CLOSED: 56,
  TIMEOUT: 7,              // REQUEST_TIMED_OUT
  PEER_CLOSED: -1,
};

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly kafkaErrorCode: number;
  constructor(code: StorageErrorCode, message: string) {
    super(message);
    this.name = 'StorageError';
    this.code = code;
    this.kafkaErrorCode = KAFKA_ERROR_FOR_STORAGE[code];
  }
}

/** A plain record for the batch builder. */
export interface PlainRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Array<{ key: string; value: Buffer | string | null }>;
  timestamp?: number;
}
