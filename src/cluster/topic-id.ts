// Topic ids: random 16-byte UUIDs (version 4), written as Kafka writes them (URL-safe base64
// without padding, 22 characters).

import { randomBytes } from 'node:crypto';

export const TOPIC_ID_BYTES = 16;
/** Kafka's "no id" value. */
export const ZERO_TOPIC_ID: Buffer = Buffer.alloc(TOPIC_ID_BYTES);
/** The id Kafka reserves for its metadata topic (…0001). */
const METADATA_TOPIC_ID = Buffer.from('00000000000000000000000000000001', 'hex');

export function topicIdToString(id: Buffer): string {
  return id.toString('base64url');
}

/** Parses Kafka's string form; returns null when it is not one. */
export function topicIdFromString(text: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]{22}$/.test(text)) return null;
  const id = Buffer.from(text, 'base64url');
  // The last character carries 2 spare bits; a canonical string has them zero.
  return id.length === TOPIC_ID_BYTES && topicIdToString(id) === text ? id : null;
}

/** A random version-4 UUID that is neither reserved id and whose string form does not start with '-'. */
export function randomTopicId(): Buffer {
  for (;;) {
    const id = randomBytes(TOPIC_ID_BYTES);
    id[6] = (id[6]! & 0x0f) | 0x40; // version 4
    id[8] = (id[8]! & 0x3f) | 0x80; // IETF variant
    if (id.equals(ZERO_TOPIC_ID) || id.equals(METADATA_TOPIC_ID)) continue;
    // A leading '-' reads as an option on command lines; Kafka avoids such ids too.
    if (topicIdToString(id).startsWith('-')) continue;
    return id;
  }
}
