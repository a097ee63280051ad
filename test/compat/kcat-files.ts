// A file of a million newline-separated messages for kcat -P -l, and the byte-exact
// round trip through the broker that the kcat tests share.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { kcatOk } from './harness.js';

export const MILLION = 1_000_000;

/** Distinct, printable, newline-free lines of varying length (about 40 MB for a million). */
export function messageLines(count: number, tag: string): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(`${tag}-${i.toString().padStart(7, '0')} ${'abcdefghijklmnopqrstuvwxyz'.slice(0, i % 27)}|${(i * 2654435761) % 1000003}\n`);
  }
  return Buffer.from(parts.join(''), 'utf8');
}

export interface RoundTripResult {
  produced: Buffer;
  consumed: Buffer;
}

/**
 * Writes `count` lines to a file, produces it with `kcat -P -l` (optionally compressed) to
 * partition 0 of `topic`, and reads the partition back with `kcat -C -e`.
 */
export async function kcatFileRoundTrip(bootstrap: string, topic: string, count: number, codec?: 'lz4' | 'zstd' | 'gzip' | 'snappy'): Promise<RoundTripResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'strand-kcat-'));
  try {
    const file = path.join(dir, 'messages.txt');
    const produced = messageLines(count, codec ?? 'plain');
    writeFileSync(file, produced);
    const produceArgs = ['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-l', file, '-X', 'linger.ms=20', '-X', 'queue.buffering.max.messages=500000'];
    if (codec) produceArgs.push('-z', codec);
    const producing = await kcatOk(produceArgs, { timeoutMs: 90_000 });
    assert.ok(!/Delivery failed|ERROR/i.test(producing.stderr), `kcat -P reported: ${producing.stderr.slice(-2000)}`);
    const consuming = await kcatOk(['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-X', 'check.crcs=true'], {
      timeoutMs: 90_000,
    });
    return { produced, consumed: consuming.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Byte-exact comparison with a readable failure (first differing line) instead of a 40 MB diff. */
export function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  const actualLines = actual.toString('utf8').split('\n');
  const expectedLines = expected.toString('utf8').split('\n');
  let i = 0;
  while (i < Math.min(actualLines.length, expectedLines.length) && actualLines[i] === expectedLines[i]) i++;
  assert.fail(
    `${what}: ${actual.length} bytes (${actualLines.length - 1} lines) instead of ${expected.length} (${expectedLines.length - 1}); ` +
      `first difference at line ${i}: ${JSON.stringify(actualLines[i])} vs ${JSON.stringify(expectedLines[i])}`,
  );
}
