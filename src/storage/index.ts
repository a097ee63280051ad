// strand/storage: Kafka-format partition logs on the Rust engine, usable without the broker.
export * from './types.js';
export { DEFAULT_LOG_CONFIG, resolveLogConfig } from './config.js';
export { Log, readRegions } from './log.js';
export { retainRegions, releaseRegions } from './regions.js';
export {
  configureOpenFiles,
  defaultMaxOpenSegments,
  fileLimit,
  openFilesStats,
  raiseFileLimit,
  sweepOpenFiles,
  DEFAULT_IDLE_CLOSE_MS,
} from './open-files.js';
export type { FileLimit, OpenFilesOptions, OpenFilesStats } from './open-files.js';
export { BROKER_MALLOC_TUNING, tuneMalloc } from './malloc.js';
export type { MallocTuning } from './malloc.js';
export type { LogOpenOptions } from './log.js';
export { LogManager, parsePartitionDir } from './log-manager.js';
export type { LogManagerOptions, PartitionLog } from './log-manager.js';
export { sendRegions, socketFd, DEFAULT_SEND_TIMEOUT_MS } from './sendfile.js';
export type { SendOptions } from './sendfile.js';
export {
  buildRecordBatch,
  parseRecordBatches,
  RECORD_BATCH_OVERHEAD_BYTES,
  LOG_OVERHEAD_BYTES,
} from './record-batch.js';
export type { BuildBatchOptions, ParseOptions, ParsedBatch, ParsedRecord, ParsedHeader } from './record-batch.js';
export { crc32c, crc32cJs } from './crc32c.js';
export { checkBatchRecords, RecordsVerdict } from './record-checks.js';
export { rebuildBatchCrc } from './record-batch.js';
export {
  segmentFileName,
  cleanedSegmentPath,
  DELETED_FILE_SUFFIX,
  CLEANED_FILE_SUFFIX,
  SWAP_FILE_SUFFIX,
} from './segment-files.js';
export {
  readCheckpoint,
  writeCheckpoint,
  RECOVERY_POINT_CHECKPOINT,
  LOG_START_OFFSET_CHECKPOINT,
} from './checkpoint.js';
