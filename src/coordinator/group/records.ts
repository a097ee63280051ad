// The record formats of __consumer_offsets (../shared/kafka-protocol/group-coordinator):
// OffsetCommitKey/Value and GroupMetadataKey/Value. Every key and value starts with an int16
// version; the key version says which kind of record it is (0 and 1: a committed offset,
// 2: group metadata, 3+: KIP-848 records this coordinator does not write). Written in the
// versions Kafka 3.x writes, so Kafka's tools can read our log and we can read Kafka's.

import { ProtocolError, Reader, Writer } from '../../protocol/index';

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
/** The value version written for a commit without an explicit expiry (leaderEpoch included). */
const OFFSET_COMMIT_VALUE_VERSION = 3;
/** The only version carrying expireTimestamp (commits with a retention time, OffsetCommit v2-4). */
const OFFSET_COMMIT_VALUE_EXPIRING_VERSION = 1;
const OFFSET_COMMIT_VALUE_MAX_VERSION = 4;
const GROUP_METADATA_VALUE_VERSION = 3;
const GROUP_METADATA_VALUE_MAX_VERSION = 4;
/** From this version on the values are flexible (compact strings, tagged fields). */
const FLEXIBLE_VALUE_VERSION = 4;

/** Strings in these records carry an int16 length: longer ones cannot be stored. */
export const MAX_RECORD_STRING_BYTES = 0x7fff;

export function fitsRecordString(s: string | null): boolean {
  return s === null || (s.length <= MAX_RECORD_STRING_BYTES && Buffer.byteLength(s, 'utf8') <= MAX_RECORD_STRING_BYTES);
}

export type OffsetsRecordKey =
  | { readonly kind: 'offset'; readonly group: string; readonly topic: string; readonly partition: number }
  | { readonly kind: 'group'; readonly group: string }
  /** A record of a kind this coordinator does not know (e.g. KIP-848 consumer group records). */
  | { readonly kind: 'other'; readonly version: number };

export interface OffsetCommitValue {
  offset: number;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** -1 unless the commit carried a retention time (OffsetCommit v2-4). */
  expireTimestamp: number;
}

export interface MemberMetadataValue {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's selected protocol. */
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  /** "" for a group without one. */
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  /** -1 when unknown (values before version 2). */
  currentStateTimestamp: number;
  members: MemberMetadataValue[];
}

// ---- keys ---------------------------------------------------------------------------------

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  const w = new Writer({ initialBytes: 16 + group.length * 3 + topic.length * 3 });
  w.writeInt16(OFFSET_COMMIT_KEY_VERSION);
  w.writeString(group);
  w.writeString(topic);
  w.writeInt32(partition);
  return w.takeBuffer();
}

export function encodeGroupMetadataKey(group: string): Buffer {
  const w = new Writer({ initialBytes: 8 + group.length * 3 });
  w.writeInt16(GROUP_METADATA_KEY_VERSION);
  w.writeString(group);
  return w.takeBuffer();
}

/** Throws ProtocolError on bytes that are not a key of a known layout. */
export function decodeRecordKey(buf: Buffer, reader: Reader = new Reader(buf)): OffsetsRecordKey {
  reader.reset(buf);
  const version = reader.readInt16();
  if (version === 0 || version === 1) {
    const group = reader.readString();
    const topic = reader.readString();
    const partition = reader.readInt32();
    return { kind: 'offset', group, topic, partition };
  }
  if (version === GROUP_METADATA_KEY_VERSION) return { kind: 'group', group: reader.readString() };
  return { kind: 'other', version };
}

// ---- OffsetCommitValue ------------------------------------------------------------------------

export function encodeOffsetCommitValue(value: OffsetCommitValue): Buffer {
  const version = value.expireTimestamp !== -1 ? OFFSET_COMMIT_VALUE_EXPIRING_VERSION : OFFSET_COMMIT_VALUE_VERSION;
  const w = new Writer({ initialBytes: 40 + value.metadata.length * 3 });
  w.writeInt16(version);
  w.writeInt64(value.offset);
  if (version >= 3) w.writeInt32(value.leaderEpoch);
  w.writeString(value.metadata);
  w.writeInt64(value.commitTimestamp);
  if (version === OFFSET_COMMIT_VALUE_EXPIRING_VERSION) w.writeInt64(value.expireTimestamp);
  return w.takeBuffer();
}

export function decodeOffsetCommitValue(buf: Buffer, reader: Reader = new Reader(buf)): OffsetCommitValue {
  reader.reset(buf);
  const version = reader.readInt16();
  if (version < 0 || version > OFFSET_COMMIT_VALUE_MAX_VERSION) {
    throw new ProtocolError(`unknown OffsetCommitValue version ${version}`);
  }
  const flexible = version >= FLEXIBLE_VALUE_VERSION;
  const offset = reader.readInt64();
  const leaderEpoch = version >= 3 ? reader.readInt32() : -1;
  const metadata = flexible ? reader.readCompactString() : reader.readString();
  const commitTimestamp = reader.readInt64();
  const expireTimestamp = version === OFFSET_COMMIT_VALUE_EXPIRING_VERSION ? reader.readInt64() : -1;
  if (flexible) reader.skipTaggedFields();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

// ---- GroupMetadataValue -----------------------------------------------------------------------

export function encodeGroupMetadataValue(value: GroupMetadataValue, version: number = GROUP_METADATA_VALUE_VERSION): Buffer {
  if (version < 0 || version > GROUP_METADATA_VALUE_MAX_VERSION) throw new RangeError(`GroupMetadataValue version ${version}`);
  const flexible = version >= FLEXIBLE_VALUE_VERSION;
  const w = new Writer({ initialBytes: 256 });
  const str = (s: string): void => (flexible ? w.writeCompactString(s) : w.writeString(s));
  const nullableStr = (s: string | null): void => (flexible ? w.writeCompactNullableString(s) : w.writeNullableString(s));
  const bytes = (b: Buffer): void => (flexible ? w.writeCompactBytes(b) : w.writeBytes(b));
  w.writeInt16(version);
  str(value.protocolType);
  w.writeInt32(value.generation);
  nullableStr(value.protocol);
  nullableStr(value.leader);
  if (version >= 2) w.writeInt64(value.currentStateTimestamp);
  if (flexible) w.writeCompactArrayLength(value.members.length);
  else w.writeArrayLength(value.members.length);
  for (const m of value.members) {
    str(m.memberId);
    if (version >= 3) nullableStr(m.groupInstanceId);
    str(m.clientId);
    str(m.clientHost);
    if (version >= 1) w.writeInt32(m.rebalanceTimeoutMs);
    w.writeInt32(m.sessionTimeoutMs);
    bytes(m.subscription);
    bytes(m.assignment);
    if (flexible) w.writeUVarint(0);
  }
  if (flexible) w.writeUVarint(0);
  return w.takeBuffer();
}

// The smallest encoded member (empty strings and bytes): bounds a declared member count.
const MIN_MEMBER_BYTES = 4;

export function decodeGroupMetadataValue(buf: Buffer, reader: Reader = new Reader(buf)): GroupMetadataValue {
  reader.reset(buf);
  const version = reader.readInt16();
  if (version < 0 || version > GROUP_METADATA_VALUE_MAX_VERSION) {
    throw new ProtocolError(`unknown GroupMetadataValue version ${version}`);
  }
  const flexible = version >= FLEXIBLE_VALUE_VERSION;
  const str = (): string => (flexible ? reader.readCompactString() : reader.readString());
  const nullableStr = (): string | null => (flexible ? reader.readCompactNullableString() : reader.readNullableString());
  // Copies: the values outlive the log read buffer they came from.
  const bytes = (): Buffer => Buffer.from(flexible ? reader.readCompactBytes() : reader.readBytes());
  const protocolType = str();
  const generation = reader.readInt32();
  const protocol = nullableStr();
  const leader = nullableStr();
  const currentStateTimestamp = version >= 2 ? reader.readInt64() : -1;
  const count = flexible ? reader.readCompactArrayLength(MIN_MEMBER_BYTES) : reader.readArrayLength(MIN_MEMBER_BYTES);
  const members: MemberMetadataValue[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = str();
    const groupInstanceId = version >= 3 ? nullableStr() : null;
    const clientId = str();
    const clientHost = str();
    const rebalanceTimeoutMs = version >= 1 ? reader.readInt32() : -1;
    const sessionTimeoutMs = reader.readInt32();
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) reader.skipTaggedFields();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: rebalanceTimeoutMs === -1 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  if (flexible) reader.skipTaggedFields();
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}
