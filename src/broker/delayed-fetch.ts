// The delayed-operation queue of Fetch (Kafka's fetch purgatory). A fetch that finds fewer
// than min.bytes waits here, watching its partitions: appends to them add to its count
// and complete it once min.bytes are there; a timer completes it at max.wait.ms; a closed
// connection cancels it. Nothing polls.
import type { ConnectionContext } from '../network/types';
import type { PartitionManager } from './partition-manager';

/** Why a wait ended. */
export type DelayedFetchOutcome = 'satisfied' | 'expired' | 'closed';

export interface WatchedPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface DelayedFetchOptions {
  readonly minBytes: number;
  /** Bytes the fetch found before waiting (below minBytes). */
  readonly availableBytes: number;
  readonly maxWaitMs: number;
  readonly conn: ConnectionContext;
}

// setTimeout's longest delay; a longer max.wait.ms would fire at once.
const MAX_TIMER_MS = 0x7fff_ffff;

class DelayedFetch {
  private accumulatedBytes: number;
  private readonly minBytes: number;
  private readonly unsubscribes: Array<() => void>;
  private timer: NodeJS.Timeout | null = null;
  private resolve: ((outcome: DelayedFetchOutcome) => void) | null;
  private readonly queue: DelayedFetchQueue;
  readonly conn: ConnectionContext;

  constructor(queue: DelayedFetchQueue, options: DelayedFetchOptions, resolve: (outcome: DelayedFetchOutcome) => void) {
    this.queue = queue;
    this.conn = options.conn;
    this.accumulatedBytes = options.availableBytes;
    this.minBytes = options.minBytes;
    this.resolve = resolve;
    this.unsubscribes = [];
  }

  start(partitions: PartitionManager, watched: readonly WatchedPartition[], maxWaitMs: number): void {
    const onAppend = (appendedBytes: number): void => {
      this.accumulatedBytes += appendedBytes;
      if (this.accumulatedBytes >= this.minBytes) this.complete('satisfied');
    };
    for (const w of watched) this.unsubscribes.push(partitions.onAppend(w.topic, w.partition, onAppend));
    this.timer = setTimeout(() => this.complete('expired'), Math.min(Math.max(maxWaitMs, 0), MAX_TIMER_MS));
  }

  complete(outcome: DelayedFetchOutcome): void {
    const resolve = this.resolve;
    if (resolve === null) return;
    this.resolve = null;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    this.queue.removed(this);
    resolve(outcome);
  }
}

/** The fetches waiting on one broker's partitions. */
export class DelayedFetchQueue {
  private readonly partitions: PartitionManager;
  // Waiting fetches by connection: one close listener per connection cancels them all
  // (ConnectionContext.onClose listeners cannot be removed, so one per fetch would pile up).
  private readonly byConnection = new Map<ConnectionContext, Set<DelayedFetch>>();
  private waitingCount = 0;

  constructor(partitions: PartitionManager) {
    this.partitions = partitions;
  }

  /** Fetches waiting now. */
  get size(): number {
    return this.waitingCount;
  }

  /**
   * Waits until appends to `watched` bring the fetch to `minBytes`, `maxWaitMs` pass, or
   * the connection closes, whichever is first.
   */
  wait(watched: readonly WatchedPartition[], options: DelayedFetchOptions): Promise<DelayedFetchOutcome> {
    const conn = options.conn;
    if (conn.closed) return Promise.resolve('closed');
    return new Promise<DelayedFetchOutcome>((resolve) => {
      const op = new DelayedFetch(this, options, resolve);
      let ops = this.byConnection.get(conn);
      if (ops === undefined) {
        const created = new Set<DelayedFetch>();
        ops = created;
        this.byConnection.set(conn, created);
        conn.onClose(() => {
          this.byConnection.delete(conn);
          for (const waiting of [...created]) waiting.complete('closed');
        });
      }
      ops.add(op);
      this.waitingCount++;
      op.start(this.partitions, watched, options.maxWaitMs);
    });
  }

  /** Completes every waiting fetch now (broker shutdown). */
  completeAll(): void {
    for (const ops of [...this.byConnection.values()]) for (const op of [...ops]) op.complete('expired');
  }

  /** @internal Called by a fetch as it completes. */
  removed(op: DelayedFetch): void {
    this.waitingCount--;
    this.byConnection.get(op.conn)?.delete(op);
  }
}
