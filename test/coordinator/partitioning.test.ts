// Group -> __consumer_offsets partition must be Kafka's, so that a log dir moves between the two.
// The expected hashes were computed with Java's String.hashCode (JDK 17).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { javaStringHashCode, kafkaAbs, offsetsPartitionFor } from '../../src/coordinator/group/index.js';

const JAVA_VECTORS: ReadonlyArray<[string, number, number]> = [
  // [string, String.hashCode(), Utils.abs(hash) % 50]
  ['', 0, 0],
  ['a', 97, 47],
  ['hello', 99162322, 22],
  ['polygenelubricants', -2147483648, 0],
  ['Aa', 2112, 12],
  ['console-consumer-12345', 158455506, 6],
  ['test-group', 627841412, 12],
  ['\u00e9\u20ac\u{1F600}', 16752006, 6],
  ['my-group-with-a-negative-hash-zz', -1451169429, 29],
  ['groupZ9', 293428702, 2],
];

describe('offsets partition of a group', () => {
  it("matches Java's String.hashCode, including wrap-around and surrogate pairs", () => {
    for (const [s, hash] of JAVA_VECTORS) assert.equal(javaStringHashCode(s), hash, JSON.stringify(s));
  });

  it("takes Kafka's Utils.abs (Integer.MIN_VALUE -> 0) modulo the partition count", () => {
    for (const [s, , partition] of JAVA_VECTORS) assert.equal(offsetsPartitionFor(s, 50), partition, JSON.stringify(s));
    assert.equal(kafkaAbs(-2147483648), 0);
    assert.equal(kafkaAbs(-5), 5);
    assert.equal(offsetsPartitionFor('anything', 1), 0);
  });
});
