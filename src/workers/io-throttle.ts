// log.cleaner.io.max.bytes.per.second: one token bucket shared by every cleaner worker, as
// Kafka's cleaner threads share one throttler. The bucket lives in a SharedArrayBuffer made by
// the scheduler and handed to each task; workers take tokens under a tiny spin lock and sleep
// (Atomics.wait, which a worker thread may do) when they have spent more than they had.

const LOCK = 0; // Int32 slot: 0 free, 1 held
const TOKENS = 1; // Float64 slot (index in the Float64 view)
const LAST_REFILL_MS = 2; // Float64 slot
/** Bytes of the shared state: an Int32 lock, padding, then two Float64s. */
export const IO_THROTTLE_STATE_BYTES = 24;
/** The bucket holds at most this much time's worth of bytes, so an idle spell does not buy a long burst. */
const BURST_SECONDS = 0.1;

/** A fresh bucket state, full. */
export function createIoThrottleState(): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(IO_THROTTLE_STATE_BYTES);
  const f = new Float64Array(sab);
  f[TOKENS] = 0;
  f[LAST_REFILL_MS] = -1; // first use fills it
  return sab;
}

function wallMs(): number {
  // performance.now() is per thread; timeOrigin + now() is comparable across threads.
  return performance.timeOrigin + performance.now();
}

export class IoThrottle {
  private readonly lock: Int32Array | null;
  private readonly state: Float64Array | null;
  private readonly bytesPerMs: number;
  private readonly burstBytes: number;
  private readonly cancel: Int32Array | null;
  /** Total time spent sleeping, for the stats. */
  sleptMs = 0;

  /**
   * `bytesPerSecond` of Infinity (or Kafka's Double.MAX_VALUE default) or a missing state
   * means unthrottled. `cancel` (one Int32) wakes a sleeping worker when set.
   */
  constructor(bytesPerSecond: number, state?: SharedArrayBuffer, cancel?: Int32Array) {
    const limited = state !== undefined && Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 && bytesPerSecond < 1e300;
    this.lock = limited ? new Int32Array(state, 0, 1) : null;
    this.state = limited ? new Float64Array(state) : null;
    this.bytesPerMs = bytesPerSecond / 1000;
    this.burstBytes = Math.max(1, bytesPerSecond * BURST_SECONDS);
    this.cancel = cancel ?? null;
  }

  get limited(): boolean {
    return this.state !== null;
  }

  /** Accounts for `bytes` of I/O done, sleeping while the shared bucket is in debt. */
  spend(bytes: number): void {
    const state = this.state;
    const lock = this.lock;
    if (state === null || lock === null || bytes <= 0) return;
    while (Atomics.compareExchange(lock, LOCK, 0, 1) !== 0) {
      // Held for a few instructions by another worker: yield briefly.
      Atomics.wait(lock, LOCK, 1, 1);
    }
    let debtBytes: number;
    try {
      const now = wallMs();
      const last = state[LAST_REFILL_MS]!;
      let tokens = last < 0 ? this.burstBytes : state[TOKENS]! + (now - last) * this.bytesPerMs;
      if (tokens > this.burstBytes) tokens = this.burstBytes;
      tokens -= bytes;
      state[TOKENS] = tokens;
      state[LAST_REFILL_MS] = now;
      debtBytes = tokens < 0 ? -tokens : 0;
    } finally {
      Atomics.store(lock, LOCK, 0);
      Atomics.notify(lock, LOCK, 1);
    }
    if (debtBytes > 0) this.sleep(debtBytes / this.bytesPerMs);
  }

  private sleep(ms: number): void {
    const started = wallMs();
    if (this.cancel !== null) {
      // Wakes early when the scheduler sets the flag and notifies.
      if (Atomics.load(this.cancel, 0) === 0) Atomics.wait(this.cancel, 0, 0, ms);
    } else {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    }
    this.sleptMs += wallMs() - started;
  }
}
