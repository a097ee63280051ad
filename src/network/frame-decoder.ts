// Splits a TCP byte stream into Kafka request frames (4-byte big-endian size prefix).
// A frame inside one chunk is returned as a subarray of it (no copy); only a frame that
// spans chunks is joined, into one buffer allocated once at its final size.

export class FrameTooLargeError extends Error {
  readonly sizeBytes: number;
  constructor(sizeBytes: number, maxBytes: number) {
    super(`request size ${sizeBytes} exceeds socket.request.max.bytes ${maxBytes}`);
    this.name = 'FrameTooLargeError';
    this.sizeBytes = sizeBytes;
  }
}

export class InvalidFrameSizeError extends Error {
  constructor(sizeBytes: number) {
    super(`invalid request size ${sizeBytes}`);
    this.name = 'InvalidFrameSizeError';
  }
}

export class FrameDecoder {
  private readonly maxFrameBytes: number;
  // Bytes of a size prefix split across chunks (at most 3).
  private readonly sizeScratch = Buffer.alloc(4);
  private sizeScratchBytes = 0;
  // The frame being assembled across chunks: its pieces (views of the chunks, no copy) are
  // joined once all have arrived, so a peer that declares a large frame and sends little
  // costs only what it sent.
  private partialPieces: Buffer[] | null = null;
  private partialSize = 0;
  private partialBytes = 0;
  // Bytes after the frame at which onFrame asked to stop (backpressure), fed first next time.
  private held: Buffer | null = null;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes buffered for an incomplete frame (for memory accounting). */
  get bufferedBytes(): number {
    return this.partialBytes + this.sizeScratchBytes + (this.held?.length ?? 0);
  }

  /** True when bytes wait after a stop (push(null, ...) goes on with them). */
  get hasHeld(): boolean {
    return this.held !== null;
  }

  /**
   * Feeds one chunk (null: only the held bytes); calls onFrame for every complete frame (the
   * frame body without its size prefix). When onFrame returns false, the bytes after that
   * frame are held (not parsed) until the next push: a paused connection runs no more
   * requests than its cap, however many one chunk carries. Throws FrameTooLargeError /
   * InvalidFrameSizeError before buffering a frame whose declared size is unacceptable.
   */
  push(input: Buffer | null, onFrame: (frame: Buffer) => unknown): void {
    let chunk: Buffer;
    if (this.held === null) {
      if (input === null) return;
      chunk = input;
    } else {
      chunk = input === null ? this.held : Buffer.concat([this.held, input]);
      this.held = null;
    }
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.partialPieces !== null) {
        const take = Math.min(this.partialSize - this.partialBytes, end - pos);
        this.partialPieces.push(chunk.subarray(pos, pos + take));
        this.partialBytes += take;
        pos += take;
        if (this.partialBytes === this.partialSize) {
          const frame = Buffer.concat(this.partialPieces, this.partialSize);
          this.partialPieces = null;
          this.partialBytes = 0;
          if (onFrame(frame) === false && pos < end) {
            this.held = chunk.subarray(pos);
            return;
          }
        }
        continue;
      }
      let size: number;
      if (this.sizeScratchBytes === 0 && end - pos >= 4) {
        size = chunk.readInt32BE(pos);
        pos += 4;
      } else {
        while (this.sizeScratchBytes < 4 && pos < end) this.sizeScratch[this.sizeScratchBytes++] = chunk[pos++]!;
        if (this.sizeScratchBytes < 4) return;
        size = this.sizeScratch.readInt32BE(0);
        this.sizeScratchBytes = 0;
      }
      checkFrameSize(size, this.maxFrameBytes);
      if (end - pos >= size) {
        const frame = chunk.subarray(pos, pos + size);
        pos += size;
        if (onFrame(frame) === false && pos < end) {
          this.held = chunk.subarray(pos);
          return;
        }
      } else {
        this.partialPieces = [];
        this.partialSize = size;
        this.partialBytes = 0;
      }
    }
  }
}

/** Throws for a declared frame size no request can have, before anything is buffered for it. */
export function checkFrameSize(size: number, maxFrameBytes: number): void {
  // Kafka's smallest request header (api key, version, correlation id) is 8 bytes.
  if (size < 8) throw new InvalidFrameSizeError(size);
  if (size > maxFrameBytes) throw new FrameTooLargeError(size, maxFrameBytes);
}
