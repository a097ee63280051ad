// The __consumer_offsets record formats, byte for byte against the layouts of
// ../shared/kafka-protocol/group-coordinator/*.json, and every value version decodes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeRecordKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
} from '../../src/coordinator/group/index.js';
import { ProtocolError } from '../../src/protocol/index.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

describe('__consumer_offsets records', () => {
  it('OffsetCommitKey v1: version, group, topic, partition', () => {
    const key = encodeOffsetCommitKey('g', 'tp', 7);
    assert.deepEqual(key, hex('0001 0001 67 0002 7470 00000007'));
    assert.deepEqual(decodeRecordKey(key), { kind: 'offset', group: 'g', topic: 'tp', partition: 7 });
    // Version 0 has the same layout.
    assert.deepEqual(decodeRecordKey(hex('0000 0001 67 0002 7470 00000007')), { kind: 'offset', group: 'g', topic: 'tp', partition: 7 });
  });

  it('GroupMetadataKey v2, and KIP-848 keys are recognised as other', () => {
    const key = encodeGroupMetadataKey('grp');
    assert.deepEqual(key, hex('0002 0003 677270'));
    assert.deepEqual(decodeRecordKey(key), { kind: 'group', group: 'grp' });
    assert.deepEqual(decodeRecordKey(hex('0003 0001 67')), { kind: 'other', version: 3 });
  });

  it('OffsetCommitValue: v3 without expiry, v1 with it; v0, v2 and flexible v4 decode', () => {
    const v3 = encodeOffsetCommitValue({ offset: 42, leaderEpoch: 5, metadata: 'm', commitTimestamp: 1000, expireTimestamp: -1 });
    assert.deepEqual(v3, hex('0003 000000000000002a 00000005 0001 6d 00000000000003e8'));
    assert.deepEqual(decodeOffsetCommitValue(v3), { offset: 42, leaderEpoch: 5, metadata: 'm', commitTimestamp: 1000, expireTimestamp: -1 });
    const v1 = encodeOffsetCommitValue({ offset: 1, leaderEpoch: -1, metadata: '', commitTimestamp: 10, expireTimestamp: 20 });
    assert.deepEqual(v1, hex('0001 0000000000000001 0000 000000000000000a 0000000000000014'));
    assert.deepEqual(decodeOffsetCommitValue(v1), { offset: 1, leaderEpoch: -1, metadata: '', commitTimestamp: 10, expireTimestamp: 20 });
    assert.deepEqual(decodeOffsetCommitValue(hex('0000 0000000000000009 0000 0000000000000001')), {
      offset: 9, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: -1,
    });
    assert.deepEqual(decodeOffsetCommitValue(hex('0002 0000000000000009 0001 78 0000000000000001')), {
      offset: 9, leaderEpoch: -1, metadata: 'x', commitTimestamp: 1, expireTimestamp: -1,
    });
    // v4: compact string metadata and a tagged-field section (here holding one unknown tag).
    assert.deepEqual(decodeOffsetCommitValue(hex('0004 0000000000000009 00000002 02 78 0000000000000001 01 05 01 ff')), {
      offset: 9, leaderEpoch: 2, metadata: 'x', commitTimestamp: 1, expireTimestamp: -1,
    });
    assert.throws(() => decodeOffsetCommitValue(hex('0005 00')), ProtocolError);
  });

  it('GroupMetadataValue round-trips in every version, with what each version carries', () => {
    const value: GroupMetadataValue = {
      protocolType: 'consumer',
      generation: 3,
      protocol: 'range',
      leader: 'm1',
      currentStateTimestamp: 12345,
      members: [
        {
          memberId: 'm1',
          groupInstanceId: 'i1',
          clientId: 'c',
          clientHost: '/127.0.0.1',
          rebalanceTimeoutMs: 60_000,
          sessionTimeoutMs: 10_000,
          subscription: Buffer.from([1, 2]),
          assignment: Buffer.from([3]),
        },
      ],
    };
    for (const version of [0, 1, 2, 3, 4]) {
      const decoded = decodeGroupMetadataValue(encodeGroupMetadataValue(value, version));
      const m = decoded.members[0]!;
      assert.equal(decoded.generation, 3);
      assert.equal(decoded.protocol, 'range');
      assert.equal(decoded.currentStateTimestamp, version >= 2 ? 12345 : -1);
      assert.equal(m.groupInstanceId, version >= 3 ? 'i1' : null);
      // Before v1 there is no rebalance timeout: the session timeout stands in.
      assert.equal(m.rebalanceTimeoutMs, version >= 1 ? 60_000 : 10_000);
      assert.deepEqual([...m.subscription], [1, 2]);
      assert.deepEqual([...m.assignment], [3]);
    }
    const empty = encodeGroupMetadataValue({ protocolType: 'consumer', generation: 4, protocol: null, leader: null, currentStateTimestamp: 7, members: [] });
    assert.deepEqual(empty, hex('0003 0008 636f6e73756d6572 00000004 ffff ffff 0000000000000007 00000000'));
  });

  it('refuses truncated values and impossible member counts instead of allocating', () => {
    const full = encodeGroupMetadataValue({ protocolType: 'x', generation: 1, protocol: 'p', leader: 'l', currentStateTimestamp: 1, members: [] });
    assert.throws(() => decodeGroupMetadataValue(full.subarray(0, full.length - 2)), ProtocolError);
    const huge = Buffer.from(full);
    huge.writeInt32BE(1_000_000_000, huge.length - 4);
    assert.throws(() => decodeGroupMetadataValue(huge), ProtocolError);
  });
});
