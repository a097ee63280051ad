// Holding file regions past the moment they were read. A region's fd belongs to its log,
// which may close it (retention, topic deletion, shutdown) while a response that carries
// the region still waits in a connection's ordered queue; a closed fd number can then be
// reused by another file and the response would send the wrong bytes. Retained regions
// carry their own duplicated fds, closed by releaseRegions once the response is gone.
import { nativeAddon } from './native.js';
import type { FileRegion } from './types.js';

/**
 * Copies of `regions` whose fds are duplicates (close-on-exec) owned by the caller, who
 * must pass them to releaseRegions exactly once. Throws StorageError (nothing left open)
 * when an fd cannot be duplicated, e.g. the process is out of descriptors.
 */
export function retainRegions(regions: readonly FileRegion[]): FileRegion[] {
  const addon = nativeAddon();
  const out: FileRegion[] = new Array<FileRegion>(regions.length);
  let i = 0;
  try {
    for (; i < regions.length; i++) {
      const r = regions[i]!;
      out[i] = { fd: addon.dupFd(r.fd), position: r.position, length: r.length, segmentBaseOffset: r.segmentBaseOffset };
    }
  } catch (err) {
    for (let j = 0; j < i; j++) addon.closeFd(out[j]!.fd);
    throw err;
  }
  return out;
}

/** Closes the fds of regions from retainRegions. */
export function releaseRegions(regions: readonly FileRegion[]): void {
  const addon = nativeAddon();
  for (const r of regions) addon.closeFd(r.fd);
}
