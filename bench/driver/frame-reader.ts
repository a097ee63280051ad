// Splits a socket's bytes into size-prefixed frames, reading through net's `onread` so the
// kernel copies straight into our memory: small frames land in one reusable scratch buffer
// (and are copied out), and a large frame, once its size is known, is read directly into a
// buffer of its own. A Fetch response of many MiB thus costs one copy (kernel to user) and
// no per-chunk allocations, which is what lets one reader thread keep up with a broker.

/** Frames above this size are read into a buffer of their own. */
const DIRECT_MIN_BYTES = 64 * 1024;
/** Must hold several small frames and at least one frame of DIRECT_MIN_BYTES. */
const SCRATCH_BYTES = 256 * 1024;

export class FrameReader {
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  /** Unconsumed bytes at the start of scratch. */
  private fill = 0;
  /** A large frame being read in place, and how much of it has arrived. */
  private direct: Buffer | null = null;
  private directFill = 0;

  private onFrame: (frame: Buffer) => void = () => {};
  private onError: (err: Error) => void = () => {};

  /** Where frames go (set once the socket's owner exists; reads cannot start before connect). */
  attach(onFrame: (frame: Buffer) => void, onError: (err: Error) => void): void {
    this.onFrame = onFrame;
    this.onError = onError;
  }

  /** For onread.buffer: where the next read goes. */
  nextBuffer(): Buffer {
    return this.direct !== null ? this.direct.subarray(this.directFill) : this.scratch.subarray(this.fill);
  }

  /** For onread.callback: `nread` bytes arrived in the buffer nextBuffer() returned. */
  onRead(nread: number): void {
    if (nread <= 0) return;
    if (this.direct !== null) {
      this.directFill += nread;
      if (this.directFill < this.direct.length) return;
      const frame = this.direct;
      this.direct = null;
      this.directFill = 0;
      this.onFrame(frame);
      return;
    }
    this.fill += nread;
    this.drainScratch();
  }

  private drainScratch(): void {
    let at = 0;
    while (this.fill - at >= 4) {
      const size = this.scratch.readInt32BE(at);
      if (size < 4) {
        this.onError(new Error(`impossible frame size ${size}`));
        this.fill = 0;
        return;
      }
      const have = this.fill - at - 4;
      if (size > DIRECT_MIN_BYTES) {
        // Move what has arrived of it into its own buffer; the rest is read in place.
        const frame = Buffer.allocUnsafe(size);
        const take = Math.min(have, size);
        this.scratch.copy(frame, 0, at + 4, at + 4 + take);
        at += 4 + take;
        if (take === size) {
          this.onFrame(frame);
          continue;
        }
        this.direct = frame;
        this.directFill = take;
        break;
      }
      if (have < size) break;
      const frame = Buffer.allocUnsafe(size);
      this.scratch.copy(frame, 0, at + 4, at + 4 + size);
      at += 4 + size;
      this.onFrame(frame);
    }
    if (at > 0) {
      this.scratch.copy(this.scratch, 0, at, this.fill);
      this.fill -= at;
    }
  }
}
