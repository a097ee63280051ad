// Idempotent producers' sequence numbers, per partition (Kafka's ProducerStateManager,
// in memory only): the last batches of each producer, so that a retried batch is answered
// with its first append's offsets instead of being written twice, and a gap in the
// sequence is refused. State lost on restart makes a producer "unknown", whose next batch
// is accepted whatever its sequence, as Kafka does for a producer whose state expired.
import { ErrorCode } from '../protocol/index';

/** Batches remembered per producer: Kafka's producer keeps at most 5 in flight per partition. */
export const REMEMBERED_BATCHES = 5;
const INT32_MAX = 0x7fff_ffff;

/**
 * One batch of a producer. Taken when the batch is handed to the log (so that the
 * producer's next batch, pipelined behind it, checks against it) and given its offsets when
 * the append finishes; `baseOffset` is -1 until then.
 */
export interface BatchRecord {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
  /** The producer's last sequence before this batch, restored if its append fails. */
  readonly previousLastSequence: number;
}

interface ProducerEntry {
  epoch: number;
  /** Ring of the last batches; `count` valid, the newest at `(head + count - 1) % size`. */
  readonly batches: BatchRecord[];
  head: number;
  count: number;
  lastSequence: number;
  lastSeenMs: number;
}

/** What checking a batch against its producer's state found. */
export type SequenceCheck =
  | { readonly kind: 'append' }
  /** A retry of a remembered batch (its baseOffset is -1 while its append still runs). */
  | { readonly kind: 'duplicate'; readonly batch: BatchRecord }
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string };

const APPEND: SequenceCheck = { kind: 'append' };

/** The sequence of the last record of a batch; sequences wrap from INT32_MAX to 0. */
export function lastSequenceOf(firstSequence: number, lastOffsetDelta: number): number {
  return firstSequence > INT32_MAX - lastOffsetDelta ? lastOffsetDelta - (INT32_MAX - firstSequence) - 1 : firstSequence + lastOffsetDelta;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (lastSequence === INT32_MAX && nextSequence === 0);
}

/** The producers of one partition. */
export class PartitionProducers {
  private readonly producers = new Map<number, ProducerEntry>();
  private insertsSinceSweep = 0;

  get size(): number {
    return this.producers.size;
  }

  /** Checks a batch of `producerId` before it is appended. */
  check(producerId: number, epoch: number, firstSequence: number, lastOffsetDelta: number): SequenceCheck {
    const entry = this.producers.get(producerId);
    if (entry === undefined) return APPEND;
    if (epoch < entry.epoch) {
      return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${producerId} epoch ${epoch} is older than the current ${entry.epoch}` };
    }
    if (epoch > entry.epoch) {
      if (firstSequence === 0) return APPEND;
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${producerId} starts epoch ${epoch} at sequence ${firstSequence}, not 0`,
      };
    }
    const lastSequence = lastSequenceOf(firstSequence, lastOffsetDelta);
    for (let i = 0; i < entry.count; i++) {
      const b = entry.batches[(entry.head + i) % REMEMBERED_BATCHES]!;
      if (b.firstSequence === firstSequence && b.lastSequence === lastSequence) {
        return { kind: 'duplicate', batch: b };
      }
    }
    if (!inSequence(entry.lastSequence, firstSequence)) {
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${producerId} sent sequence ${firstSequence}, expected ${entry.lastSequence === INT32_MAX ? 0 : entry.lastSequence + 1}`,
      };
    }
    return APPEND;
  }

  /**
   * Takes the sequence of a batch that passed check() and is being appended; complete() or
   * abort() it when the append has finished. Drops producers idle for `expirationMs` now
   * and then.
   */
  reserve(producerId: number, epoch: number, firstSequence: number, lastOffsetDelta: number, nowMs: number, expirationMs: number): BatchRecord {
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      entry = { epoch, batches: [], head: 0, count: 0, lastSequence: -1, lastSeenMs: nowMs };
      this.producers.set(producerId, entry);
      if (++this.insertsSinceSweep >= 1000) this.sweep(nowMs, expirationMs);
    } else if (entry.epoch !== epoch) {
      entry.epoch = epoch;
      entry.head = 0;
      entry.count = 0;
    }
    const lastSequence = lastSequenceOf(firstSequence, lastOffsetDelta);
    // A new record each time: a slot evicted while its append runs may still be completed.
    const batch: BatchRecord = { firstSequence, lastSequence, baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1, previousLastSequence: entry.lastSequence };
    if (entry.count < REMEMBERED_BATCHES) {
      entry.batches[(entry.head + entry.count) % REMEMBERED_BATCHES] = batch;
      entry.count++;
    } else {
      // Full: the oldest slot becomes the newest.
      entry.batches[entry.head] = batch;
      entry.head = (entry.head + 1) % REMEMBERED_BATCHES;
    }
    entry.lastSequence = lastSequence;
    entry.lastSeenMs = nowMs;
    return batch;
  }

  /** The batch's append finished: a retry of it is answered with these offsets. */
  complete(batch: BatchRecord, baseOffset: number, lastOffsetDelta: number, logAppendTimeMs: number): void {
    batch.baseOffset = baseOffset;
    batch.lastOffset = baseOffset + lastOffsetDelta;
    batch.logAppendTimeMs = logAppendTimeMs;
  }

  /**
   * The batch's append failed: when it is still the producer's newest, its sequence is
   * given back, as if it had been refused by check(). A producer whose only batch it was is
   * forgotten again.
   */
  abort(producerId: number, batch: BatchRecord): void {
    const entry = this.producers.get(producerId);
    if (entry === undefined || entry.count === 0) return;
    const newestAt = (entry.head + entry.count - 1) % REMEMBERED_BATCHES;
    if (entry.batches[newestAt] !== batch) return;
    entry.count--;
    entry.lastSequence = batch.previousLastSequence;
    if (entry.count === 0 && entry.lastSequence === -1) this.producers.delete(producerId);
  }

  private sweep(nowMs: number, expirationMs: number): void {
    this.insertsSinceSweep = 0;
    for (const [id, entry] of this.producers) if (nowMs - entry.lastSeenMs > expirationMs) this.producers.delete(id);
  }
}
