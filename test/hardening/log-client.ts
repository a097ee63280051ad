// Produce and Fetch over the codec client: one partition at a time, for the health checks
// after a fuzz run and for the crash-consistency harness (which must read back every record
// with its offset, so it uses raw Fetch rather than a consumer that hides gaps).

import { ApiKey, defaultFetchRequest, defaultListOffsetsRequest, defaultProduceRequest } from '../../src/protocol/index.js';
import { RecordBatchView, decodeRecords, iterateBatches, type DecodedRecord } from '../../src/protocol/record-batch.js';
import { decompress, type CompressionCodecId } from '../../src/workers/codecs.js';
import { pickVersion, type AdvertisedApi, type CodecClient } from './codec-client.js';

export interface ProduceResult {
  errorCode: number;
  baseOffset: number;
}

export async function produce(
  client: CodecClient,
  apis: Map<number, AdvertisedApi>,
  topic: string,
  partition: number,
  batch: Buffer,
  { acks = -1, timeoutMs = 10_000 } = {},
): Promise<ProduceResult> {
  const v = pickVersion(apis, ApiKey.Produce, 3, 9);
  if (v === null) throw new Error('the broker does not advertise Produce v3-v9');
  const req = defaultProduceRequest();
  req.acks = acks;
  req.timeoutMs = timeoutMs;
  req.topicData = [{ name: topic, partitionData: [{ index: partition, records: batch }] }];
  const res = await client.request(ApiKey.Produce, v, req, timeoutMs + 10_000);
  const p = res.responses.find((t) => t.name === topic)?.partitionResponses.find((x) => x.index === partition);
  if (p === undefined) throw new Error(`Produce response lacks ${topic}-${partition}`);
  return { errorCode: p.errorCode, baseOffset: p.baseOffset };
}

export interface FetchedRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

export interface FetchResult {
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Buffer;
}

export async function fetchOnce(
  client: CodecClient,
  apis: Map<number, AdvertisedApi>,
  topic: string,
  partition: number,
  fetchOffset: number,
  { maxWaitMs = 0, maxBytes = 4 * 1024 * 1024 } = {},
): Promise<FetchResult> {
  const v = pickVersion(apis, ApiKey.Fetch, 4, 12);
  if (v === null) throw new Error('the broker does not advertise Fetch v4-v12');
  const req = defaultFetchRequest();
  req.maxWaitMs = maxWaitMs;
  req.minBytes = 1;
  req.maxBytes = maxBytes;
  req.topics = [{ topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: maxBytes }] }];
  const res = await client.request(ApiKey.Fetch, v, req, maxWaitMs + 15_000);
  if (res.errorCode !== 0) return { errorCode: res.errorCode, highWatermark: -1, logStartOffset: -1, records: Buffer.alloc(0) };
  const p = res.responses.find((t) => t.topic === topic)?.partitions.find((x) => x.partitionIndex === partition);
  if (p === undefined) throw new Error(`Fetch response lacks ${topic}-${partition}`);
  const records = p.records === null ? Buffer.alloc(0) : Buffer.isBuffer(p.records) ? p.records : Buffer.alloc(0);
  return { errorCode: p.errorCode, highWatermark: p.highWatermark, logStartOffset: p.logStartOffset, records };
}

/** Decodes the records of one stored batch (decompressing it when needed). */
export async function batchRecords(batch: RecordBatchView): Promise<DecodedRecord[]> {
  return batch.compression === 0 ? decodeRecords(batch) : decodeRecords(batch, await decompress(batch.compression as CompressionCodecId, batch.recordsBytes));
}

/**
 * Every whole batch of a partition from `fromOffset` to the high watermark, as stored (CRCs
 * are not checked here). Throws on a fetch error or no progress below the high watermark.
 */
export async function readAllBatches(
  client: CodecClient,
  apis: Map<number, AdvertisedApi>,
  topic: string,
  partition: number,
  fromOffset = 0,
  maxRounds = 100_000,
): Promise<{ batches: RecordBatchView[]; highWatermark: number }> {
  const out: RecordBatchView[] = [];
  let next = fromOffset;
  for (let round = 0; round < maxRounds; round++) {
    const r = await fetchOnce(client, apis, topic, partition, next);
    if (r.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${next}: error ${r.errorCode}`);
    if (next >= r.highWatermark) return { batches: out, highWatermark: r.highWatermark };
    let progressed = false;
    for (const batch of iterateBatches(r.records)) {
      if (batch.lastOffset < next) continue;
      out.push(batch);
      next = batch.lastOffset + 1;
      progressed = true;
    }
    if (!progressed) throw new Error(`fetch ${topic}-${partition}@${next} returned no whole batch below the high watermark ${r.highWatermark}`);
  }
  throw new Error(`readAllBatches ${topic}-${partition}: gave up after ${maxRounds} fetches`);
}

/**
 * Every record of a partition from `fromOffset` to the high watermark, with CRCs checked.
 * Throws on a fetch error, a bad CRC, a batch whose records do not decode, or no progress.
 */
export async function readAll(
  client: CodecClient,
  apis: Map<number, AdvertisedApi>,
  topic: string,
  partition: number,
  fromOffset = 0,
  maxRounds = 100_000,
): Promise<{ records: FetchedRecord[]; highWatermark: number }> {
  const { batches, highWatermark } = await readAllBatches(client, apis, topic, partition, fromOffset, maxRounds);
  const out: FetchedRecord[] = [];
  for (const batch of batches) {
    if (!batch.crcMatches()) throw new Error(`${topic}-${partition}: batch at offset ${batch.baseOffset} fails its CRC`);
    for (const rec of await batchRecords(batch)) {
      if (rec.offset >= fromOffset && rec.offset < highWatermark) out.push({ offset: rec.offset, key: rec.key, value: rec.value });
    }
  }
  return { records: out, highWatermark };
}

/** ListOffsets with timestamp -2: the log start offset of a partition. */
export async function earliestOffset(client: CodecClient, apis: Map<number, AdvertisedApi>, topic: string, partition: number): Promise<number> {
  const v = pickVersion(apis, ApiKey.ListOffsets, 1, 7);
  if (v === null) throw new Error('the broker does not advertise ListOffsets v1-v7');
  const req = defaultListOffsetsRequest();
  req.replicaId = -1;
  req.topics = [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 }] }];
  const res = await client.request(ApiKey.ListOffsets, v, req);
  const p = res.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition);
  if (p === undefined || p.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${partition}: ${p === undefined ? 'missing' : `error ${p.errorCode}`}`);
  return p.offset;
}

export { RecordBatchView };
