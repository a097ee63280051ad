// Buffers for large request frames, given back when their request is done and reused for
// the next frame of a similar size. At hundreds of MB/s of produce, a fresh buffer per
// request makes V8 run a full mark-compact every few hundred milliseconds (external memory
// pressure) on the cores the broker needs.

/** Capacities are rounded up to a multiple of this, so that similar frames share buffers. */
const SIZE_CLASS_BYTES = 64 * 1024;
/** Frames above this are not pooled (rare, and they would pin too much). */
const MAX_POOLED_FRAME_BYTES = 2 * 1024 * 1024;

export class FrameBufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;
  private readonly maxPooledBytes: number;

  constructor(maxPooledBytes: number) {
    this.maxPooledBytes = maxPooledBytes;
  }

  /** Bytes held for reuse. */
  get idleBytes(): number {
    return this.pooledBytes;
  }

  /** A buffer of at least `bytes` (its contents are garbage). */
  take(bytes: number): Buffer {
    if (bytes > MAX_POOLED_FRAME_BYTES) return Buffer.allocUnsafeSlow(bytes);
    const capacity = Math.ceil(bytes / SIZE_CLASS_BYTES) * SIZE_CLASS_BYTES;
    const list = this.free.get(capacity);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.pooledBytes -= capacity;
      return reused;
    }
    return Buffer.allocUnsafeSlow(capacity);
  }

  /**
   * Takes back a buffer from take(); the caller guarantees that nothing refers to it any more.
   * Beyond the pool's bound it is left to the garbage collector.
   */
  give(buffer: Buffer): void {
    const capacity = buffer.length;
    if (capacity > MAX_POOLED_FRAME_BYTES || capacity % SIZE_CLASS_BYTES !== 0) return;
    if (this.pooledBytes + capacity > this.maxPooledBytes) return;
    let list = this.free.get(capacity);
    if (list === undefined) {
      list = [];
      this.free.set(capacity, list);
    }
    list.push(buffer);
    this.pooledBytes += capacity;
  }
}
