// Replays one partition of __consumer_offsets from its log start to its end, the way the
// coordinator rebuilds its groups at start-up: the last record of each key wins, a null value
// (tombstone) deletes. Group metadata and offsets are kept apart while reading, as a group
// tombstone deletes the metadata but offsets committed afterwards still belong to the group.

import { decodeRecords, iterateBatches, Reader } from '../../protocol/index';
import type { Log } from '../../storage/index';
import type { CommittedOffset } from './group';
import { decodeGroupMetadataValue, decodeOffsetCommitValue, decodeRecordKey, type GroupMetadataValue } from './records';

export interface LoadedGroup {
  /** The group's last metadata record; null when there was none or it was deleted. */
  metadata: GroupMetadataValue | null;
  /** topic -> partition -> committed offset. */
  offsets: Map<string, Map<number, CommittedOffset>>;
}

export interface PartitionReplay {
  groups: Map<string, LoadedGroup>;
  records: number;
  bytes: number;
  /** Records that could not be decoded or are of kinds this coordinator does not keep. */
  skippedRecords: number;
  /** Compressed (never written by this coordinator) or undecodable batches, skipped. */
  skippedBatches: number;
}

export interface ReplayOptions {
  /** Bytes read from the log at a time (offsets.load.buffer.size). */
  bufferBytes: number;
  /** Awaited between reads, so that a long replay lets the broker serve other requests. */
  yieldEvery?: () => Promise<void>;
}

function groupEntry(groups: Map<string, LoadedGroup>, groupId: string): LoadedGroup {
  let entry = groups.get(groupId);
  if (entry === undefined) {
    entry = { metadata: null, offsets: new Map() };
    groups.set(groupId, entry);
  }
  return entry;
}

export async function replayOffsetsPartition(log: Log, options: ReplayOptions): Promise<PartitionReplay> {
  const result: PartitionReplay = { groups: new Map(), records: 0, bytes: 0, skippedRecords: 0, skippedBatches: 0 };
  const endOffset = log.logEndOffset;
  let next = log.logStartOffset;
  const keyReader = new Reader(Buffer.alloc(0));
  const valueReader = new Reader(Buffer.alloc(0));
  while (next < endOffset) {
    const buffers = log.readBuffers(next, options.bufferBytes, { maxOffset: endOffset });
    let progressed = false;
    for (const buffer of buffers) {
      result.bytes += buffer.length;
      for (const batch of iterateBatches(buffer)) {
        const lastOffset = batch.lastOffset;
        if (lastOffset < next) continue;
        progressed = true;
        const batchNext = lastOffset + 1;
        if (batch.magic !== 2 || batch.isControl) {
          next = batchNext;
          continue;
        }
        if (batch.compression !== 0) {
          result.skippedBatches++;
          next = batchNext;
          continue;
        }
        let records: ReturnType<typeof decodeRecords>;
        try {
          records = decodeRecords(batch);
        } catch {
          // The log validated every batch on append; a batch that still fails is skipped, not fatal.
          result.skippedBatches++;
          next = batchNext;
          continue;
        }
        for (const record of records) {
          if (record.offset < next) continue;
          result.records++;
          if (record.key === null) {
            result.skippedRecords++;
            continue;
          }
          try {
            const key = decodeRecordKey(record.key, keyReader);
            if (key.kind === 'offset') {
              const entry = groupEntry(result.groups, key.group);
              if (record.value === null) {
                const partitions = entry.offsets.get(key.topic);
                partitions?.delete(key.partition);
                if (partitions !== undefined && partitions.size === 0) entry.offsets.delete(key.topic);
              } else {
                const value = decodeOffsetCommitValue(record.value, valueReader);
                let partitions = entry.offsets.get(key.topic);
                if (partitions === undefined) {
                  partitions = new Map();
                  entry.offsets.set(key.topic, partitions);
                }
                partitions.set(key.partition, value);
              }
            } else if (key.kind === 'group') {
              const entry = groupEntry(result.groups, key.group);
              entry.metadata = record.value === null ? null : decodeGroupMetadataValue(record.value, valueReader);
            } else {
              result.skippedRecords++;
            }
          } catch {
            result.skippedRecords++;
          }
        }
        next = batchNext;
      }
    }
    if (!progressed) break;
    if (options.yieldEvery !== undefined) await options.yieldEvery();
  }
  for (const [groupId, entry] of result.groups) {
    if (entry.metadata === null && entry.offsets.size === 0) result.groups.delete(groupId);
  }
  return result;
}
