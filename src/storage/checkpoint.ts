// Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint): a version line (0), a count line, then one
// "topic partition offset" line per partition. Written to a temp file, fsynced and
// renamed over the old one, so a crash leaves either the old or the new file whole.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StorageError } from './types.js';

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
const CHECKPOINT_VERSION = 0;

/** "topic-partition" -> offset. */
export type CheckpointEntries = Map<string, number>;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Reads a checkpoint file; a missing file is an empty map, a malformed one an IO error. */
export function readCheckpoint(file: string): CheckpointEntries {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new StorageError('IO', `cannot read ${file}: ${(err as Error).message}`);
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  const bad = (why: string) => new StorageError('IO', `malformed checkpoint ${file}: ${why}`);
  if (lines.length < 2) throw bad('missing version or count line');
  if (Number(lines[0]) !== CHECKPOINT_VERSION) throw bad(`unsupported version ${lines[0]}`);
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count !== lines.length - 2) throw bad(`count ${lines[1]} but ${lines.length - 2} entries`);
  const entries: CheckpointEntries = new Map();
  for (const line of lines.slice(2)) {
    const parts = line.split(' ');
    const partition = Number(parts[1]);
    const offset = Number(parts[2]);
    if (parts.length !== 3 || !Number.isInteger(partition) || !Number.isInteger(offset)) throw bad(`bad entry "${line}"`);
    entries.set(partitionKey(parts[0], partition), offset);
  }
  return entries;
}

export interface CheckpointEntry {
  topic: string;
  partition: number;
  offset: number;
}

/** Replaces `file` atomically with the given entries. */
export function writeCheckpoint(file: string, entries: readonly CheckpointEntry[]): void {
  let text = `${CHECKPOINT_VERSION}\n${entries.length}\n`;
  for (const e of entries) text += `${e.topic} ${e.partition} ${e.offset}\n`;
  const temp = `${file}.tmp`;
  try {
    const fd = fs.openSync(temp, 'w');
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    syncDir(path.dirname(file));
  } catch (err) {
    throw new StorageError('IO', `cannot write ${file}: ${(err as Error).message}`);
  }
}

/** fsyncs a directory so a rename inside it survives a crash. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
