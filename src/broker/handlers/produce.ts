// Produce (api key 0): appends each partition's record batches to its log. The records
// Buffer is a slice of the request frame and goes to the engine as is; the engine
// validates (lengths, magic, CRC-32C), assigns offsets and writes. Nothing here touches
// individual records unless the topic asks for per-record checks (timestamp bounds, keys
// on compacted topics).
import { isInternalTopic } from '../../cluster/index';
import type { TopicConfig } from '../../config/index';
import { ApiKey, ErrorCode, type ProduceRequest, type ProduceResponse } from '../../protocol/index';
import type { PartitionProduceData } from '../../protocol/generated/produce-request';
import type { BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse } from '../../protocol/generated/produce-response';
import { RecordsVerdict, StorageError, checkBatchRecords, type Log } from '../../storage/index';
import { defineHandler, type RequestContext } from '../api-handler';
import { PartitionProducers, type BatchRecord } from '../producer-state';
import { BATCH_HEADER_BYTES, batchCompression, readInt64, scanRecords, visitRecords, type RecordVisitor } from '../record-scan';

// Record batch v2 header fields read here (DefaultRecordBatch layout).
const BATCH_LENGTH_OFFSET = 8;
const MAGIC_OFFSET = 16;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const RECORD_COUNT_OFFSET = 57;
const PRODUCER_ID_OFFSET = 43;
const PRODUCER_EPOCH_OFFSET = 51;
const BASE_SEQUENCE_OFFSET = 53;
const LOG_OVERHEAD_BYTES = 12;
const CONTROL_FLAG = 0x20;
const ZSTD = 4;
const MAX_CODEC = 4;
/** Produce v7 introduced zstd (KIP-110). */
const ZSTD_MIN_VERSION = 7;
/** Produce v3 introduced record batches (magic 2) and requires exactly one per partition. */
const SINGLE_BATCH_MIN_VERSION = 3;
/** Kafka's "no limit" for the timestamp bounds is Long.MAX_VALUE, saturated to this. */
const UNBOUNDED_MS = Number.MAX_SAFE_INTEGER;

// Shared by every successful partition response (the encoder only reads it).
const NO_RECORD_ERRORS: BatchIndexAndErrorMessage[] = [];

// Per log, the last append not yet handed to the engine (waiting for decompression or for
// the append before it). The engine appends what it is handed to one log in order.
const unstarted = new WeakMap<Log, Promise<void>>();

// The answers of idempotent batches whose appends still run, for retries that arrive meanwhile.
const runningOutcomes = new WeakMap<BatchRecord, Promise<PartitionProduceResponse>>();

// Idempotent producers' state, per log: a deleted and re-created partition starts afresh.
const producersByLog = new WeakMap<Log, PartitionProducers>();

function partitionError(index: number, errorCode: number, errorMessage: string | null, recordErrors: BatchIndexAndErrorMessage[] = NO_RECORD_ERRORS): PartitionProduceResponse {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors, errorMessage };
}

/** Header checks Kafka makes before validating a batch's contents; null when the partition may go on. */
function checkBatches(records: Buffer | null, version: number, maxBatchBytes: number, topicPartition: string): { errorCode: number; message: string } | null {
  if (records === null || records.length === 0) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: 'produce request holds no record batch' };
  }
  if (records.length <= MAGIC_OFFSET) return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `records of ${records.length} bytes hold no batch header` };
  // Every batch of the buffer must be magic 2, of a codec Kafka defines, and not a control batch.
  let at = 0;
  let batches = 0;
  while (at < records.length) {
    if (records.length - at <= MAGIC_OFFSET) return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `truncated batch at byte ${at}` };
    const magic = records.readInt8(at + MAGIC_OFFSET);
    if (magic < 2) {
      return version >= SINGLE_BATCH_MIN_VERSION
        ? { errorCode: ErrorCode.INVALID_RECORD, message: `produce v${version} requires record batches of magic 2, got magic ${magic}` }
        : { errorCode: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, message: `messages of magic ${magic} are not supported; use record batches (magic 2)` };
    }
    if (magic > 2) return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `unknown record batch magic ${magic}` };
    if (records.length - at < BATCH_HEADER_BYTES) return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `truncated batch header at byte ${at}` };
    const size = records.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
    if (size < BATCH_HEADER_BYTES || at + size > records.length) {
      return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `batch at byte ${at} declares ${size} bytes, ${records.length - at} present` };
    }
    // Before anything is decompressed, as Kafka: a batch over max.message.bytes costs no more.
    if (size > maxBatchBytes) {
      return {
        errorCode: ErrorCode.MESSAGE_TOO_LARGE,
        message: `The record batch size in the append to ${topicPartition} is ${size} bytes which exceeds the maximum configured value of ${maxBatchBytes}.`,
      };
    }
    const attributes = records.readInt16BE(at + ATTRIBUTES_OFFSET);
    const codec = attributes & 0x07;
    if (codec > MAX_CODEC) return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `unknown compression codec ${codec}` };
    if (codec === ZSTD && version < ZSTD_MIN_VERSION) {
      return { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message: `produce v${version} may not carry zstd batches (v7+)` };
    }
    if ((attributes & CONTROL_FLAG) !== 0) return { errorCode: ErrorCode.INVALID_RECORD, message: 'clients may not write control batches' };
    if (readInt64(records, at + PRODUCER_ID_OFFSET) >= 0 && records.readInt32BE(at + BASE_SEQUENCE_OFFSET) < 0) {
      return { errorCode: ErrorCode.INVALID_RECORD, message: 'idempotent batch without a sequence number' };
    }
    at += size;
    batches++;
  }
  if (batches > 1 && version >= SINGLE_BATCH_MIN_VERSION) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: `produce v${version} allows one record batch per partition, got ${batches}` };
  }
  return null;
}

interface RecordChecks {
  /** Oldest acceptable CreateTime (ms), or -Infinity. */
  readonly minTimestampMs: number;
  /** Newest acceptable CreateTime (ms), or +Infinity. */
  readonly maxTimestampMs: number;
  /** Compacted topics need a key on every record. */
  readonly requireKey: boolean;
}

/**
 * The per-record checks for this topic. Every record is always walked (lengths, count,
 * offset deltas), as Kafka validates every batch it stores; timestamps and keys only when
 * the topic's config asks.
 */
function recordChecksFor(config: TopicConfig): RecordChecks {
  const createTime = config.messageTimestampType === 'CreateTime';
  const before = config.messageTimestampBeforeMaxMs;
  const after = config.messageTimestampAfterMaxMs;
  const boundsTimestamps = createTime && (before < UNBOUNDED_MS || after < UNBOUNDED_MS);
  const nowMs = boundsTimestamps ? Date.now() : 0;
  return {
    minTimestampMs: boundsTimestamps && before < UNBOUNDED_MS ? nowMs - before : -Infinity,
    maxTimestampMs: boundsTimestamps && after < UNBOUNDED_MS ? nowMs + after : Infinity,
    requireKey: config.compact,
  };
}

type RecordCheckFailure = { errorCode: number; message: string; recordErrors: BatchIndexAndErrorMessage[] };

/** True when some batch is compressed, so its records can only be checked after decompressing. */
function anyCompressed(records: Buffer): boolean {
  for (let at = 0; at < records.length; ) {
    if (batchCompression(records.subarray(at, at + BATCH_HEADER_BYTES)) !== 0) return true;
    at += records.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
  }
  return false;
}

/** A header whose count disagrees with its offset range is an invalid record, before any record is read (Kafka's order of checks). */
function countMatchesOffsets(batch: Buffer): boolean {
  return batch.readInt32BE(RECORD_COUNT_OFFSET) === batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + 1;
}

/**
 * The per-record checks of one batch: `visit` sees its records, `verdict` then gives an error
 * code, -1 when the records are malformed, -2 when the offset deltas disagree with the count.
 */
function recordChecker(checks: RecordChecks, recordErrors: BatchIndexAndErrorMessage[]): { visit: RecordVisitor; verdict: (wellFormed: boolean) => number } {
  let errorCode: number = ErrorCode.NONE;
  let offsetsInOrder = true;
  const visit: RecordVisitor = (index, offsetDelta, timestampMs, keyBytes) => {
    if (offsetDelta !== index) {
      offsetsInOrder = false;
      return true;
    }
    if (checks.requireKey && keyBytes < 0) {
      errorCode = ErrorCode.INVALID_RECORD;
      recordErrors.push({ batchIndex: index, batchIndexErrorMessage: 'compacted topic cannot accept a record without a key' });
    } else if (timestampMs < checks.minTimestampMs || timestampMs > checks.maxTimestampMs) {
      if (errorCode === ErrorCode.NONE) errorCode = ErrorCode.INVALID_TIMESTAMP;
      recordErrors.push({
        batchIndex: index,
        batchIndexErrorMessage: `timestamp ${timestampMs} is outside the accepted range [${checks.minTimestampMs}, ${checks.maxTimestampMs}]`,
      });
    }
    return false;
  };
  const verdict = (wellFormed: boolean): number => {
    if (!offsetsInOrder) return -2;
    if (!wellFormed) return -1;
    return errorCode;
  };
  return { visit, verdict };
}

function summarize(errorCode: number, recordErrors: BatchIndexAndErrorMessage[]): RecordCheckFailure | null {
  if (errorCode === ErrorCode.NONE) return null;
  const message =
    errorCode === ErrorCode.INVALID_TIMESTAMP
      ? `${recordErrors.length} record(s) rejected: timestamp outside message.timestamp.before.max.ms / after.max.ms`
      : `${recordErrors.length} record(s) rejected`;
  return { errorCode, message, recordErrors };
}

function malformed(code: number, at: number): RecordCheckFailure {
  return code === -2
    ? { errorCode: ErrorCode.INVALID_RECORD, message: `the batch at byte ${at}: record count and offset deltas disagree`, recordErrors: [] }
    : { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `malformed records in the batch at byte ${at}`, recordErrors: [] };
}

/**
 * The checks of uncompressed records: synchronous, no allocation per record. The engine
 * walks each batch; only a batch it finds a rejected record in is walked again here, to
 * name the records.
 */
function checkRecordsSync(records: Buffer, checks: RecordChecks): RecordCheckFailure | null {
  const recordErrors: BatchIndexAndErrorMessage[] = [];
  let errorCode: number = ErrorCode.NONE;
  for (let at = 0; at < records.length; ) {
    const size = records.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
    const batch = records.subarray(at, at + size);
    const verdict = checkBatchRecords(batch, checks.minTimestampMs, checks.maxTimestampMs, checks.requireKey);
    if (verdict === RecordsVerdict.Ok) {
      at += size;
      continue;
    }
    if (verdict === RecordsVerdict.Malformed || verdict === RecordsVerdict.OffsetsMismatch) return malformed(verdict, at);
    const checker = recordChecker(checks, recordErrors);
    const code = countMatchesOffsets(batch) ? checker.verdict(visitRecords(batch, batch.subarray(BATCH_HEADER_BYTES), checker.visit)) : -2;
    if (code < 0) return malformed(code, at);
    if (errorCode === ErrorCode.NONE) errorCode = code;
    at += size;
  }
  return summarize(errorCode, recordErrors);
}

/** The checks when batches are compressed: each is walked as it decompresses (off the event loop). */
async function checkRecords(records: Buffer, checks: RecordChecks): Promise<RecordCheckFailure | null> {
  const recordErrors: BatchIndexAndErrorMessage[] = [];
  let errorCode: number = ErrorCode.NONE;
  for (let at = 0; at < records.length; ) {
    const size = records.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
    const batch = records.subarray(at, at + size);
    let code = -2;
    if (countMatchesOffsets(batch)) {
      const checker = recordChecker(checks, recordErrors);
      try {
        code = checker.verdict(await scanRecords(batch, checker.visit));
      } catch (err) {
        return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `batch at byte ${at} does not decompress: ${(err as Error).message}`, recordErrors: [] };
      }
    }
    if (code < 0) return malformed(code, at);
    if (errorCode === ErrorCode.NONE) errorCode = code;
    at += size;
  }
  return summarize(errorCode, recordErrors);
}

/**
 * Appends one partition's batches (after every check has passed) and builds its response.
 * The write runs off the JS thread. The caller starts it only after earlier appends to the
 * partition were handed to the engine, so batches land in order and an idempotent batch's
 * sequence check sees every earlier batch (their sequences are taken at hand-over).
 */
function appendPartition(
  ctx: RequestContext,
  topic: string,
  log: Log,
  index: number,
  records: Buffer,
  config: TopicConfig,
  version: number,
): PartitionProduceResponse | Promise<PartitionProduceResponse> {
  if (log.isClosed) return partitionError(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
  const nowMs = Date.now();
  // Idempotence: only single-batch appends (every v3+ request) carry a checkable sequence.
  const producerId = readInt64(records, PRODUCER_ID_OFFSET);
  const idempotent = producerId >= 0 && version >= SINGLE_BATCH_MIN_VERSION;
  let producers: PartitionProducers | undefined;
  let reserved: BatchRecord | undefined;
  let lastOffsetDelta = 0;
  if (idempotent) {
    producers = producersByLog.get(log);
    if (producers === undefined) {
      producers = new PartitionProducers();
      producersByLog.set(log, producers);
    }
    const epoch = records.readInt16BE(PRODUCER_EPOCH_OFFSET);
    const firstSequence = records.readInt32BE(BASE_SEQUENCE_OFFSET);
    lastOffsetDelta = records.readInt32BE(LAST_OFFSET_DELTA_OFFSET);
    const found = producers.check(producerId, epoch, firstSequence, lastOffsetDelta);
    if (found.kind === 'error') return partitionError(index, found.errorCode, found.message);
    if (found.kind === 'duplicate') {
      const original = found.batch;
      // A retry of a batch whose append still runs gets that append's answer.
      if (original.baseOffset < 0) {
        const outcome = runningOutcomes.get(original);
        if (outcome !== undefined) return outcome.then((r) => ({ ...r, index }));
      }
      // A retry of a batch already written: answer with where it went, write nothing.
      return {
        index,
        errorCode: ErrorCode.NONE,
        baseOffset: original.baseOffset,
        logAppendTimeMs: original.logAppendTimeMs,
        logStartOffset: log.logStartOffset,
        recordErrors: NO_RECORD_ERRORS,
        errorMessage: null,
      };
    }
    // The sequence is taken now, so that the producer's next batch can follow at once.
    reserved = producers.reserve(producerId, epoch, firstSequence, lastOffsetDelta, nowMs, ctx.services.config.producerIdExpirationMs);
  }
  const options = { timestampType: config.messageTimestampType, nowMs, maxBatchBytes: config.maxMessageBytes };
  const outcome = ctx.services.partitions.appendAsync(topic, index, log, records, options).then(
    (result): PartitionProduceResponse | Promise<PartitionProduceResponse> => {
      if (reserved !== undefined) producers!.complete(reserved, result.baseOffset, lastOffsetDelta, result.logAppendTimeMs);
      return durable(log, config, {
        index,
        errorCode: ErrorCode.NONE,
        baseOffset: result.baseOffset,
        logAppendTimeMs: result.logAppendTimeMs,
        logStartOffset: result.logStartOffset,
        recordErrors: NO_RECORD_ERRORS,
        errorMessage: null,
      });
    },
    (err: unknown) => {
      if (reserved !== undefined) producers!.abort(producerId, reserved);
      if (!(err instanceof StorageError)) throw err;
      if (err.code === 'IO' || (err.code === 'CLOSED' && !log.isClosed)) ctx.log.error({ topic, partition: index, err: err.message }, 'append failed');
      // a log closed under the append: its topic was deleted
      return partitionError(index, err.code === 'CLOSED' ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : err.kafkaErrorCode, err.message);
    },
  );
  if (reserved !== undefined) runningOutcomes.set(reserved, outcome);
  return outcome;
}

/**
 * Produces to one partition: a response, or a promise of one when per-record checks have
 * to decompress first.
 */
function producePartition(
  ctx: RequestContext,
  topic: string,
  topicKnown: boolean,
  data: PartitionProduceData,
  version: number,
): PartitionProduceResponse | Promise<PartitionProduceResponse> {
  const index = data.index;
  const log = topicKnown ? ctx.services.partitions.getLog(topic, index) : undefined;
  if (log === undefined) {
    // A partition of a known topic without a log: its creation failed (descriptors or disk
    // space ran out; the broker logged why) and is retried. Kafka's answer for a partition
    // on a failed log dir.
    const partitionCount = topicKnown ? ctx.services.registry.get(topic)?.partitionCount ?? 0 : 0;
    if (index >= 0 && index < partitionCount) {
      return partitionError(index, ErrorCode.KAFKA_STORAGE_ERROR, `the log of ${topic}-${index} could not be opened on this broker; it is retried`);
    }
    return partitionError(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
  }
  const records = data.records;
  if (version < SINGLE_BATCH_MIN_VERSION && (records === null || records.length === 0)) {
    // Before v3 an empty message set is a no-op, as in Kafka.
    return { index, errorCode: ErrorCode.NONE, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: log.logStartOffset, recordErrors: NO_RECORD_ERRORS, errorMessage: null };
  }
  const config = ctx.services.registry.topicConfig(topic);
  const bad = checkBatches(records, version, config.maxMessageBytes, `${topic}-${index}`);
  if (bad !== null) return partitionError(index, bad.errorCode, bad.message);
  const checks = recordChecksFor(config);
  const compressed = anyCompressed(records!);
  if (!compressed) {
    const failed = checkRecordsSync(records!, checks);
    if (failed !== null) return partitionError(index, failed.errorCode, failed.message, failed.recordErrors);
  }
  // What this append waits for before it is handed to the engine: appends of earlier
  // requests to this partition still waiting (so that batches land in the order they
  // arrived), and its own decompressed checks.
  const earlierStart = unstarted.get(log);
  let done: PartitionProduceResponse | Promise<PartitionProduceResponse>;
  if (earlierStart === undefined && !compressed) {
    done = appendPartition(ctx, topic, log, index, records!, config, version);
  } else {
    let started!: () => void;
    const start = new Promise<void>((resolve) => (started = resolve));
    unstarted.set(log, start);
    void start.then(() => {
      if (unstarted.get(log) === start) unstarted.delete(log);
    });
    // decompression starts now, in parallel with the waiting
    done = Promise.all([earlierStart, compressed ? checkRecords(records!, checks) : null]).then(([, failed]) => {
      try {
        if (failed !== null) return partitionError(index, failed.errorCode, failed.message, failed.recordErrors);
        return appendPartition(ctx, topic, log, index, records!, config, version);
      } finally {
        started();
      }
    });
  }
  return done;
}

/**
 * flush.messages: once that many messages are unflushed, the append is acknowledged only
 * after the fsync (as Kafka does), so an acknowledged record survives a power loss.
 */
function durable(log: Log, config: TopicConfig, response: PartitionProduceResponse): PartitionProduceResponse | Promise<PartitionProduceResponse> {
  if (response.errorCode !== ErrorCode.NONE || config.flushMessages >= Number.MAX_SAFE_INTEGER || log.isClosed) return response;
  if (log.logEndOffset - log.recoveryPoint < config.flushMessages) return response;
  return log.flush().then(
    () => response,
    (err: unknown) => partitionError(response.index, ErrorCode.KAFKA_STORAGE_ERROR, `flush failed: ${(err as Error).message}`),
  );
}

function isAcks(acks: number): boolean {
  return acks === 0 || acks === 1 || acks === -1;
}

function finish(request: ProduceRequest, responses: TopicProduceResponse[]): ProduceResponse | null {
  if (request.acks !== 0) return { responses, throttleTimeMs: 0 };
  // acks=0 gets no response; Kafka closes the connection when such a produce fails, so that
  // the client notices and refreshes its metadata.
  for (const topic of responses) {
    for (const p of topic.partitionResponses) {
      if (p.errorCode !== ErrorCode.NONE) {
        throw new Error(`acks=0 produce to ${topic.name}-${p.index} failed with error ${p.errorCode}; closing the connection as Kafka does`);
      }
    }
  }
  return null;
}

export const produceHandler = defineHandler({
  apiKey: ApiKey.Produce,
  minVersion: 0,
  maxVersion: 11,
  handle(request, ctx) {
    const version = ctx.header.apiVersion;
    const registry = ctx.services.registry;
    const responses: TopicProduceResponse[] = new Array<TopicProduceResponse>(request.topicData.length);
    let pending: Array<Promise<unknown>> | null = null;
    const acksValid = isAcks(request.acks);
    for (let t = 0; t < request.topicData.length; t++) {
      const topicData = request.topicData[t]!;
      const name = topicData.name;
      const partitionData = topicData.partitionData;
      const partitionResponses: PartitionProduceResponse[] = new Array<PartitionProduceResponse>(partitionData.length);
      responses[t] = { name, partitionResponses };
      if (!acksValid) {
        for (let p = 0; p < partitionData.length; p++) partitionResponses[p] = partitionError(partitionData[p]!.index, ErrorCode.INVALID_REQUIRED_ACKS, null);
        continue;
      }
      if (isInternalTopic(name)) {
        // Only the broker writes its internal topics (group offsets, transaction state).
        for (let p = 0; p < partitionData.length; p++) {
          partitionResponses[p] = partitionError(partitionData[p]!.index, ErrorCode.INVALID_TOPIC_EXCEPTION, `cannot append to internal topic ${name}`);
        }
        continue;
      }
      const topicKnown = registry.has(name);
      for (let p = 0; p < partitionData.length; p++) {
        const result = producePartition(ctx, name, topicKnown, partitionData[p]!, version);
        if (result instanceof Promise) {
          (pending ??= []).push(result.then((r) => (partitionResponses[p] = r)));
        } else {
          partitionResponses[p] = result;
        }
      }
    }
    if (pending === null) return finish(request, responses);
    return Promise.all(pending).then(() => finish(request, responses));
  },
});
