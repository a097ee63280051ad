import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TopicError,
  ZERO_TOPIC_ID,
  collisionKey,
  isInternalTopic,
  randomTopicId,
  topicIdFromString,
  topicIdToString,
  validateTopicName,
} from '../../src/cluster';

function nameError(name: string): string {
  try {
    validateTopicName(name);
  } catch (err) {
    assert.ok(err instanceof TopicError);
    assert.equal(err.kafkaErrorCode, 17);
    assert.equal(err.code, 'INVALID_TOPIC_EXCEPTION');
    return err.message;
  }
  assert.fail(`${name} was accepted`);
}

test('legal topic names pass', () => {
  for (const name of ['a', 'orders', 'Orders.v2_final-1', '__consumer_offsets', 'x'.repeat(249), '...', '-']) {
    assert.doesNotThrow(() => validateTopicName(name), name);
  }
});

test('illegal topic names get Kafka\'s messages', () => {
  assert.equal(nameError(''), "Topic name is illegal, it can't be empty");
  assert.equal(nameError('.'), 'Topic name cannot be "." or ".."');
  assert.equal(nameError('..'), 'Topic name cannot be "." or ".."');
  assert.equal(nameError('x'.repeat(250)), `Topic name is illegal, it can't be longer than 249 characters, topic name: ${'x'.repeat(250)}`);
  assert.equal(nameError('a b'), 'Topic name "a b" is illegal, it contains a character other than ASCII alphanumerics, \'.\', \'_\' and \'-\'');
  for (const name of ['a/b', 'a:b', 'ä', 'a\u0000', 'a*', 'tab\t']) nameError(name);
});

test('internal topics and colliding names', () => {
  assert.equal(isInternalTopic('__consumer_offsets'), true);
  assert.equal(isInternalTopic('__transaction_state'), true);
  assert.equal(isInternalTopic('__other'), false);
  assert.equal(collisionKey('a.b_c'), collisionKey('a_b.c'));
  assert.notEqual(collisionKey('a.b'), collisionKey('a-b'));
});

test('random topic ids are version-4 UUIDs, never zero, never starting with "-", and round-trip', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = randomTopicId();
    assert.equal(id.length, 16);
    assert.ok(!id.equals(ZERO_TOPIC_ID));
    assert.equal(id[6]! >> 4, 4);
    assert.equal(id[8]! >> 6, 2);
    const text = topicIdToString(id);
    assert.equal(text.length, 22);
    assert.ok(!text.startsWith('-'));
    assert.ok(topicIdFromString(text)!.equals(id));
    seen.add(text);
  }
  assert.equal(seen.size, 2000);
});

test('topic id strings that are not canonical are refused', () => {
  assert.equal(topicIdFromString('short'), null);
  assert.equal(topicIdFromString('AAAAAAAAAAAAAAAAAAAAA='), null);
  assert.equal(topicIdFromString('AAAAAAAAAAAAAAAAAAAAAB'), null, 'spare low bits set');
  assert.ok(topicIdFromString('AAAAAAAAAAAAAAAAAAAAAA')!.equals(ZERO_TOPIC_ID));
});
