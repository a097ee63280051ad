import type { Socket } from 'node:net';

/** A byte range of an open file, sent with sendfile (structurally the storage FileRegion). */
export interface FileRegionChunk {
  fd: number;
  position: number;
  length: number;
}

export type ResponseChunk = Buffer | FileRegionChunk;

/**
 * An encoded response frame (size prefix included): one Buffer, or Buffers and file regions
 * in order. `release` is called exactly once when the response has been written or dropped
 * (e.g. to close the duplicated file descriptors its regions hold).
 */
export type EncodedResponse = Buffer | { chunks: ResponseChunk[]; totalBytes: number; release?: () => void };

/** Sends file regions into a plaintext socket (the engine's sendfile); resolves with bytes sent. */
export type RegionSender = (socket: Socket, regions: FileRegionChunk[], timeoutMs: number) => Promise<number>;

/** Reads file regions into Buffers (used for small regions, where a thread hop costs more than a copy). */
export type RegionReader = (regions: FileRegionChunk[]) => Buffer[];

/** What a request handler sees of the connection a request arrived on. */
export interface ConnectionContext {
  readonly id: number;
  readonly remoteAddress: string;
  readonly listenerName: string;
  /** True once the socket has closed; delayed work checks it before doing more. */
  readonly closed: boolean;
  /** Called once when the connection closes. */
  onClose(listener: () => void): void;
}

/**
 * Turns one request frame into its response. Returns null when the request gets no
 * response (Produce with acks=0). Throwing means the frame was undecodable: the connection
 * is closed with one log line.
 */
export interface FrameHandler {
  handleFrame(frame: Buffer, conn: ConnectionContext): EncodedResponse | null | Promise<EncodedResponse | null>;
}

export function isBuffer(chunk: ResponseChunk): chunk is Buffer {
  return Buffer.isBuffer(chunk);
}
