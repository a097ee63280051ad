// The topic metadata file of a log dir, `__strand_topics.json`: read at start, replaced
// atomically on every change (write a temp file, fsync it, rename it over the old one, fsync the
// directory), so a crash leaves either the old or the new file, never a torn one.

import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { topicIdFromString } from './topic-id';

export const TOPICS_FILE_NAME = '__strand_topics.json';
const TEMP_SUFFIX = '.tmp';
const FORMAT_VERSION = 1;

export interface StoredTopic {
  name: string;
  topicId: Buffer;
  partitionCount: number;
  replicationFactor: number;
  configs: Record<string, string>;
  createdMs: number;
}

/** The file is unreadable or not in our format: refuse to start rather than lose topics. */
export class TopicStoreCorruptError extends Error {
  constructor(path: string, reason: string) {
    super(`Topic metadata file ${path} is corrupt: ${reason}`);
    this.name = 'TopicStoreCorruptError';
  }
}

export function topicsFilePath(logDir: string): string {
  return join(logDir, TOPICS_FILE_NAME);
}

function isRecordOfStrings(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    && Object.values(value).every((v) => typeof v === 'string');
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function decodeTopic(path: string, raw: unknown, index: number): StoredTopic {
  const fail = (reason: string): never => {
    throw new TopicStoreCorruptError(path, `topic #${index}: ${reason}`);
  };
  if (typeof raw !== 'object' || raw === null) return fail('not an object');
  const t = raw as Record<string, unknown>;
  if (typeof t.name !== 'string' || t.name === '') return fail('bad name');
  const topicId = typeof t.topicId === 'string' ? topicIdFromString(t.topicId) : null;
  if (topicId === null || topicId.every((b) => b === 0)) return fail(`bad topic id for ${t.name}`);
  if (!isCount(t.partitionCount)) return fail(`bad partition count for ${t.name}`);
  if (!isCount(t.replicationFactor)) return fail(`bad replication factor for ${t.name}`);
  if (!isRecordOfStrings(t.configs)) return fail(`bad configs for ${t.name}`);
  if (typeof t.createdMs !== 'number') return fail(`bad creation time for ${t.name}`);
  return {
    name: t.name,
    topicId,
    partitionCount: t.partitionCount,
    replicationFactor: t.replicationFactor,
    configs: { ...t.configs },
    createdMs: t.createdMs,
  };
}

/** Reads the topics of a log dir; an absent file means no topics. A leftover temp file is removed. */
export async function readTopics(logDir: string): Promise<StoredTopic[]> {
  const path = topicsFilePath(logDir);
  await rm(path + TEMP_SUFFIX, { force: true });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TopicStoreCorruptError(path, (err as Error).message);
  }
  if (typeof doc !== 'object' || doc === null) throw new TopicStoreCorruptError(path, 'not an object');
  const { version, topics } = doc as { version?: unknown; topics?: unknown };
  if (version !== FORMAT_VERSION) throw new TopicStoreCorruptError(path, `unsupported version ${String(version)}`);
  if (!Array.isArray(topics)) throw new TopicStoreCorruptError(path, 'no topic list');
  const decoded = topics.map((t, i) => decodeTopic(path, t, i));
  const names = new Set<string>();
  for (const t of decoded) {
    if (names.has(t.name)) throw new TopicStoreCorruptError(path, `topic ${t.name} appears twice`);
    names.add(t.name);
  }
  return decoded;
}

/** Replaces the topics file of a log dir atomically and durably. */
export async function writeTopics(logDir: string, topics: readonly StoredTopic[]): Promise<void> {
  const path = topicsFilePath(logDir);
  const temp = path + TEMP_SUFFIX;
  const doc = {
    version: FORMAT_VERSION,
    topics: topics.map((t) => ({
      name: t.name,
      topicId: t.topicId.toString('base64url'),
      partitionCount: t.partitionCount,
      replicationFactor: t.replicationFactor,
      configs: t.configs,
      createdMs: t.createdMs,
    })),
  };
  const file = await open(temp, 'w', 0o644);
  try {
    await file.writeFile(JSON.stringify(doc, null, 2) + '\n', 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  // The rename itself is only durable once the directory entry is on disk.
  const dir = await open(logDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
