// Idempotent producers' sequence numbers, per partition (Kafka's ProducerStateManager,
// in memory only): the last batches of each producer, so that a retried batch is answered
// with its first append's offsets instead of being written twice, and a gap in the
// sequence is refused. State lost on restart makes a producer "unknown", whose next batch
// is accepted whatever its sequence, as Kafka does for a producer whose state expired.
import { ErrorCode } from '../protocol/index';

/** Batches remembered per producer: Kafka's producer keeps at most 5 in flight per partition. */
export const REMEMBERED_BATCHES = 5;
const INT32_MAX = 0x7fff_ffff;

interface BatchRecord {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
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
  | { readonly kind: 'duplicate'; readonly baseOffset: number; readonly lastOffset: number; readonly logAppendTimeMs: number }
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
        return { kind: 'duplicate', baseOffset: b.baseOffset, lastOffset: b.lastOffset, logAppendTimeMs: b.logAppendTimeMs };
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

  /** Records an appended batch; drops producers idle for `expirationMs` now and then. */
  record(
    producerId: number,
    epoch: number,
    firstSequence: number,
    lastOffsetDelta: number,
    baseOffset: number,
    logAppendTimeMs: number,
    nowMs: number,
    expirationMs: number,
  ): void {
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
    let slot: BatchRecord;
    if (entry.count < REMEMBERED_BATCHES) {
      const at = (entry.head + entry.count) % REMEMBERED_BATCHES;
      slot = entry.batches[at] ??= { firstSequence: 0, lastSequence: 0, baseOffset: 0, lastOffset: 0, logAppendTimeMs: -1 };
      entry.count++;
    } else {
      // Full: the oldest slot becomes the newest.
      slot = entry.batches[entry.head]!;
      entry.head = (entry.head + 1) % REMEMBERED_BATCHES;
    }
    slot.firstSequence = firstSequence;
    slot.lastSequence = lastSequence;
    slot.baseOffset = baseOffset;
    slot.lastOffset = baseOffset + lastOffsetDelta;
    slot.logAppendTimeMs = logAppendTimeMs;
    entry.lastSequence = lastSequence;
    entry.lastSeenMs = nowMs;
  }

  private sweep(nowMs: number, expirationMs: number): void {
    this.insertsSinceSweep = 0;
    for (const [id, entry] of this.producers) if (nowMs - entry.lastSeenMs > expirationMs) this.producers.delete(id);
  }
}
