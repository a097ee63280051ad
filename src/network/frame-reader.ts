// Reads Kafka request frames straight from the socket into buffers it owns, so that a
// frame's bytes are copied once, by the kernel: small frames land packed in a slab and are
// returned as views of it; a large frame gets a buffer of its own size and the socket reads
// the rest of it directly into that buffer. (Node's 'data' events give a fresh 64 KiB
// buffer per read, and a frame spanning reads had to be joined: a second copy of every
// produced byte, and most of the garbage.)

import { Socket } from 'node:net';
import type { FrameBufferPool } from './frame-buffer-pool';
import { checkFrameSize } from './frame-decoder';

/** A connection's first slab, and that of one whose reads do not fill what they are given. */
const SMALL_SLAB_BYTES = 2 * 1024;
/** The slab of a connection whose last read filled its buffer (more was waiting). */
const LARGE_SLAB_BYTES = 128 * 1024;
/** A slab with less free space than this is retired: reads that small cost more than they carry. */
const MIN_FREE_BYTES = 512;
/** A frame at least this large that is not all in with its first read gets a (pooled) buffer of its own. */
const OWN_BUFFER_MIN_BYTES = 32 * 1024;
/**
 * Largest buffer allocated ahead of the bytes that fill it: a frame above this is read in
 * pieces of this size and joined, so that a peer declaring a huge frame and sending little
 * costs only what it sent.
 */
const PIECE_MAX_BYTES = 1024 * 1024;
/**
 * After a large frame, the next read is offered this much: if it starts another large
 * frame, only these bytes are copied into that frame's own buffer.
 */
const PEEK_BYTES = 4 * 1024;

export class FrameReader {
  /**
   * Called for each complete frame (without its size prefix); false stops parsing (pause).
   * `own` is set when the frame has a pooled buffer to itself: whoever is sure that nothing
   * refers to the frame any more may hand it to recycle().
   */
  onFrame: (frame: Buffer, own: Buffer | null) => boolean = () => true;
  /** Called when the stream cannot be framed (bad size); the reader stops. */
  onError: (err: Error) => void = () => undefined;

  private readonly maxFrameBytes: number;
  private readonly pool: FrameBufferPool;
  private slab: Buffer = Buffer.allocUnsafe(SMALL_SLAB_BYTES);
  /** Bytes of the slab that hold data; [start, fill) is not yet parsed. */
  private fill = 0;
  private start = 0;
  /** Size of the frame whose prefix is parsed but whose bytes are not all in (-1: none). */
  private pendingSize = -1;
  /** A large frame being read outside the slab: its pieces and how much of the last is in. */
  private pieces: Buffer[] | null = null;
  private piecesBytes = 0;
  private pieceFill = 0;
  /** How many bytes of the last piece this frame fills (a pooled piece can be larger). */
  private pieceEnd = 0;
  private offeredBytes = 0;
  private lastReadFilled = false;
  private afterOwnFrame = false;
  private stopped = false;
  private failed = false;

  constructor(maxFrameBytes: number, pool: FrameBufferPool) {
    this.maxFrameBytes = maxFrameBytes;
    this.pool = pool;
  }

  /** Gives back a frame's own buffer (from onFrame) once nothing refers to the frame. */
  recycle(own: Buffer): void {
    this.pool.give(own);
  }

  /** Bytes in hand for frames not yet delivered (for memory accounting). */
  get bufferedBytes(): number {
    return this.fill - this.start + this.piecesBytes;
  }

  /** True when complete frames wait after a stop (resume() delivers them). */
  get hasHeld(): boolean {
    return this.stopped;
  }

  /** The buffer the next socket read goes into (Node's onread.buffer). */
  readonly nextBuffer = (): Buffer => {
    let target: Buffer;
    if (this.pieces !== null) {
      const piece = this.pieces[this.pieces.length - 1]!;
      target = piece.subarray(this.pieceFill, this.pieceEnd);
    } else {
      const needed = this.pendingSize >= 0 ? this.start + 4 + this.pendingSize : 0;
      if (this.slab.length - this.fill < MIN_FREE_BYTES || needed > this.slab.length) this.newSlab();
      let end = this.slab.length;
      if (this.afterOwnFrame) end = Math.min(end, this.fill + PEEK_BYTES);
      target = this.slab.subarray(this.fill, end);
    }
    this.offeredBytes = target.length;
    return target;
  };

  /** Takes a completed read of `n` bytes (Node's onread.callback); false pauses the socket. */
  readonly onRead = (n: number): boolean => {
    if (this.failed) return false;
    this.lastReadFilled = n === this.offeredBytes;
    try {
      if (this.pieces !== null) {
        this.pieceFill += n;
        this.piecesBytes += n;
        if (this.pieceFill < this.pieceEnd) return true;
        if (this.piecesBytes < this.pendingSize) {
          this.pieceEnd = Math.min(PIECE_MAX_BYTES, this.pendingSize - this.piecesBytes);
          this.pieces.push(Buffer.allocUnsafeSlow(this.pieceEnd));
          this.pieceFill = 0;
          return true;
        }
        const own = this.pieces.length === 1 ? this.pieces[0]! : null;
        const frame = own !== null ? own.subarray(0, this.pendingSize) : Buffer.concat(this.pieces, this.pendingSize);
        this.pieces = null;
        this.piecesBytes = 0;
        this.pendingSize = -1;
        this.afterOwnFrame = true;
        if (!this.onFrame(frame, own)) {
          this.stopped = true;
          return false;
        }
        return true;
      }
      this.fill += n;
      this.afterOwnFrame = false;
      return this.parse(true);
    } catch (err) {
      this.failed = true;
      this.onError(err as Error);
      return false;
    }
  };

  /** Delivers frames held since a stop; false when a frame asked to stop again. */
  resume(): boolean {
    if (!this.stopped || this.failed) return true;
    this.stopped = false;
    try {
      // No switch to a frame's own buffer here: the socket already holds the slab's free
      // space as its next read target, and the next onRead makes the switch.
      return this.parse(false);
    } catch (err) {
      this.failed = true;
      this.onError(err as Error);
      return false;
    }
  }

  private parse(mayOwnBuffer: boolean): boolean {
    const slab = this.slab;
    while (this.fill - this.start >= 4) {
      const size = slab.readInt32BE(this.start);
      checkFrameSize(size, this.maxFrameBytes);
      const available = this.fill - this.start - 4;
      if (available >= size) {
        const frame = slab.subarray(this.start + 4, this.start + 4 + size);
        this.start += 4 + size;
        this.pendingSize = -1;
        if (!this.onFrame(frame, null)) {
          this.stopped = true;
          return false;
        }
        continue;
      }
      this.pendingSize = size;
      if (mayOwnBuffer && size >= OWN_BUFFER_MIN_BYTES) {
        // The rest of this frame is read straight into its own buffer.
        this.pieceEnd = Math.min(PIECE_MAX_BYTES, size);
        // Only a frame that fits one piece is delivered in its own buffer, so only those are pooled.
        const first = size <= PIECE_MAX_BYTES ? this.pool.take(size) : Buffer.allocUnsafeSlow(this.pieceEnd);
        slab.copy(first, 0, this.start + 4, this.fill);
        this.pieces = [first];
        this.pieceFill = available;
        this.piecesBytes = available;
        this.start = this.fill;
      }
      return true;
    }
    return true;
  }

  /** Moves the unparsed bytes to a fresh slab; the old one lives on in the frames that view it. */
  private newSlab(): void {
    const unparsed = this.fill - this.start;
    const wanted = this.pendingSize >= 0 ? 4 + this.pendingSize : unparsed + MIN_FREE_BYTES;
    const size = Math.max(this.lastReadFilled ? LARGE_SLAB_BYTES : SMALL_SLAB_BYTES, wanted);
    const next = size <= SMALL_SLAB_BYTES ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
    this.slab.copy(next, 0, this.start, this.fill);
    this.slab = next;
    this.start = 0;
    this.fill = unparsed;
  }
}

interface HandleSocket {
  _handle?: unknown;
  _server?: unknown;
  server?: unknown;
}

/**
 * Moves a socket accepted with pauseOnConnect onto a new Socket that reads into `reader`'s
 * buffers (Node's onread option, which only sockets built around a handle accept). Returns
 * null, leaving `socket` as it was, when this Node does not allow it; the caller then reads
 * through 'data' events.
 */
export function readInto(socket: Socket, reader: FrameReader): Socket | null {
  const old = socket as unknown as HandleSocket;
  const handle = old._handle;
  if (handle === null || handle === undefined) return null;
  let adopted: Socket;
  try {
    adopted = new Socket({
      handle: handle as never,
      readable: true,
      writable: true,
      onread: { buffer: reader.nextBuffer, callback: reader.onRead },
    } as ConstructorParameters<typeof Socket>[0]);
  } catch {
    return null;
  }
  // The server counts connections on the socket it made: hand the count to the new one, and
  // retire the old one without touching the handle it no longer owns.
  const fresh = adopted as unknown as HandleSocket;
  fresh.server = old.server;
  fresh._server = old._server;
  old._server = null;
  old.server = null;
  old._handle = null;
  socket.destroy();
  return adopted;
}
