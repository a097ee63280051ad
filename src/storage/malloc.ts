// The process's malloc (glibc), tuned for a server of large short-lived buffers. Opt-in: the
// broker calls tuneMalloc at start; a library user of the storage engine decides for itself.

import { nativeAddon } from './native.js';

export interface MallocTuning {
  /** At most this many malloc arenas (glibc's default is 8 per core). */
  arenaMax: number;
  /** Allocations of at least this many bytes are always mapped, and unmapped when freed. */
  mmapThresholdBytes: number;
}

/**
 * Measured under the hardening fuzzer (issue 7): with glibc's defaults, large frames and
 * decompressed batches were served from arenas (one per pool thread) once the dynamic mmap
 * threshold had risen past them, and the broker kept ~50 MiB more RSS after the load than
 * with these. Buffers under 4 MiB (ordinary produce and fetch) come from the arenas as glibc
 * would serve them once warmed up, reused without page faults.
 */
export const BROKER_MALLOC_TUNING: MallocTuning = { arenaMax: 2, mmapThresholdBytes: 4 * 1024 * 1024 };

/**
 * Applies `tuning` to glibc's malloc, except for a knob the operator set through the
 * environment (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_), which wins. False when the libc
 * has no mallopt (musl) and nothing changed.
 */
export function tuneMalloc(tuning: MallocTuning = BROKER_MALLOC_TUNING): boolean {
  const arenaMax = process.env['MALLOC_ARENA_MAX'] === undefined ? tuning.arenaMax : 0;
  const threshold = process.env['MALLOC_MMAP_THRESHOLD_'] === undefined ? tuning.mmapThresholdBytes : 0;
  if (arenaMax === 0 && threshold === 0) return false;
  return nativeAddon().mallocTune(arenaMax, threshold);
}
