// Shared helpers for the storage tests: temp dirs and deterministic record batches.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRecordBatch, parseRecordBatches } from '../../src/storage/index.js';
import type { Log, PlainRecord } from '../../src/storage/index.js';

export function tempDir(prefix = 'strand-storage-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A tiny deterministic PRNG so failures reproduce (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The records of batch number `index` (content depends only on index). */
export function recordsFor(index: number, count = 1 + (index % 4), valueBytes = 20 + ((index * 37) % 300)): PlainRecord[] {
  const out: PlainRecord[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      key: `k-${index}-${i}`,
      value: Buffer.alloc(valueBytes, (index + i) & 0xff),
      headers: i % 2 === 0 ? [{ key: 'h', value: `${index}` }] : [],
      timestamp: 1_700_000_000_000 + index * 10 + i,
    });
  }
  return out;
}

export function batchFor(index: number): Buffer {
  return buildRecordBatch(recordsFor(index));
}

/** Open file descriptors of this process (Linux). */
export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Every batch of the log from `from` on, read through readBuffers and parsed. */
export function readAllBatches(log: Log, from = log.logStartOffset, chunkBytes = 50_000): ReturnType<typeof parseRecordBatches> {
  const out: ReturnType<typeof parseRecordBatches> = [];
  let next = from;
  for (let guard = 0; next < log.logEndOffset && guard < 100_000; guard++) {
    const batches = parseRecordBatches(Buffer.concat(log.readBuffers(next, chunkBytes)));
    if (batches.length === 0) throw new Error(`read at ${next} returned nothing`);
    out.push(...batches.filter((b) => b.lastOffset >= next));
    next = batches[batches.length - 1]!.lastOffset + 1;
  }
  return out;
}
