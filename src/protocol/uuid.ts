// UUIDs (topic ids, directory ids, member ids of KIP-848) are represented as strings in
// Kafka's own textual form: the 16 bytes in URL-safe base64 without padding, 22 characters
// (what `kafka-topics.sh --describe` prints and what partition.metadata files store).
// Strings compare with ===, key Maps directly, and deep-equal in tests; the codec converts
// at the wire boundary only.

import { randomBytes } from 'node:crypto';

/** The all-zero UUID: Kafka's "no id" value and the default of every uuid field. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Kafka reserves 0 and 1 (the metadata topic's id); random ids avoid both. */
export const METADATA_TOPIC_UUID = 'AAAAAAAAAAAAAAAAAAAAAQ';

const UUID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** True for a canonical 22-character UUID string. */
export function isUuid(s: string): boolean {
  return UUID_PATTERN.test(s);
}

/** Reads 16 bytes at `offset` as a UUID string. */
export function uuidFromBuffer(buf: Buffer, offset = 0): string {
  return buf.toString('base64url', offset, offset + 16);
}

/** Writes a UUID string as 16 bytes at `offset`; throws for a string that is not a UUID. */
export function writeUuidTo(buf: Buffer, offset: number, uuid: string): void {
  if (uuid.length !== 22 || buf.write(uuid, offset, 16, 'base64url') !== 16) {
    throw new TypeError(`not a UUID string (22 base64url characters): ${JSON.stringify(uuid)}`);
  }
}

export function uuidToBuffer(uuid: string): Buffer {
  const buf = Buffer.alloc(16);
  writeUuidTo(buf, 0, uuid);
  return buf;
}

/** A random version-4 UUID, never one of Kafka's reserved ids nor one starting with '-'. */
export function randomUuid(): string {
  for (;;) {
    const b = randomBytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const s = b.toString('base64url');
    if (s[0] !== '-' && s !== ZERO_UUID && s !== METADATA_TOPIC_UUID) return s;
  }
}

/** The conventional 8-4-4-4-12 hex form, for logs and tools that expect it. */
export function uuidToHex(uuid: string): string {
  const h = uuidToBuffer(uuid).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
