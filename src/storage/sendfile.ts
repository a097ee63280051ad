// Zero-copy transfer of file regions into a plaintext TCP socket (the broker's fetch path).
// The engine duplicates the socket fd and each file fd synchronously inside the call, so
// the caller may close the socket or roll the log right after; the bytes go out on the
// engine's epoll threads, never in the libuv thread pool.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { nativeAddon } from './native.js';
import type { FileRegion } from './types.js';
import { StorageError } from './types.js';

export interface SendOptions {
  /** Fail with TIMEOUT when the peer accepts no byte for this long; default 30000, <= 0: never. */
  timeoutMs?: number;
}

export const DEFAULT_SEND_TIMEOUT_MS = 30000;

const REGION_FIELDS = 3;
// Reused for every call: the addon reads it synchronously before returning.
let packed = new Float64Array(64 * REGION_FIELDS);

interface HandleWithFd {
  fd?: number;
  writeQueueSize?: number;
}

/** The kernel fd of a plaintext net.Socket, or -1 when it has none (closed, TLS, pipe-less). */
export function socketFd(socket: Socket): number {
  if (socket instanceof TLSSocket) return -1;
  const handle = (socket as unknown as { _handle?: HandleWithFd | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

function hasPendingWrites(socket: Socket): boolean {
  const handle = (socket as unknown as { _handle?: HandleWithFd | null })._handle;
  return socket.writableLength > 0 || (handle?.writeQueueSize ?? 0) > 0;
}

// Bytes written earlier with socket.write must reach the kernel before the file bytes.
// A zero-length write completes only after every write queued before it.
function drainWrites(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(Buffer.alloc(0), (err) => (err ? reject(new StorageError('PEER_CLOSED', `socket write failed: ${err.message}`)) : resolve()));
  });
}

/**
 * Sends `regions` (whole batches from Log.read) in order into `socket` with sendfile.
 * Resolves with the bytes sent; rejects with StorageError PEER_CLOSED when the peer resets
 * or closes, TIMEOUT when it stops reading, INVALID_ARGUMENT for a TLS or closed socket.
 * The caller must not write to the socket, nor start another sendRegions on it, until the
 * promise settles (transfers run on several engine threads; one socket's must not overlap).
 */
export async function sendRegions(socket: Socket, regions: readonly FileRegion[], opts: SendOptions = {}): Promise<number> {
  if (regions.length === 0) return 0;
  if (socket instanceof TLSSocket) {
    throw new StorageError('INVALID_ARGUMENT', 'sendfile cannot write into a TLS socket; use readBuffers');
  }
  if (socket.destroyed || socketFd(socket) < 0) {
    throw new StorageError('PEER_CLOSED', 'the socket is closed');
  }
  if (hasPendingWrites(socket)) await drainWrites(socket);
  const fd = socketFd(socket);
  if (socket.destroyed || fd < 0) throw new StorageError('PEER_CLOSED', 'the socket closed before the transfer');
  if (packed.length < regions.length * REGION_FIELDS) packed = new Float64Array(regions.length * REGION_FIELDS * 2);
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i];
    packed[i * REGION_FIELDS] = r.fd;
    packed[i * REGION_FIELDS + 1] = r.position;
    packed[i * REGION_FIELDS + 2] = r.length;
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  return nativeAddon().sendfile(fd, packed, regions.length, timeoutMs);
}
