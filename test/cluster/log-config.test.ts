import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toLogConfig } from '../../src/cluster';
import { createServerConfig, resolveTopicConfig } from '../../src/config';

test('defaults map to the storage engine\'s defaults, with "never" as MAX_SAFE_INTEGER', () => {
  assert.deepEqual(toLogConfig(resolveTopicConfig(createServerConfig())), {
    segmentBytes: 1073741824,
    segmentMs: 604800000,
    segmentIndexBytes: 10485760,
    indexIntervalBytes: 4096,
    flushMessages: Number.MAX_SAFE_INTEGER,
    flushMs: Number.MAX_SAFE_INTEGER,
    fileDeleteDelayMs: 60000,
  });
});

test('broker settings and topic overrides reach the storage settings', () => {
  const server = createServerConfig({ 'log.segment.bytes': '4096', 'log.roll.hours': '1', 'log.flush.interval.messages': '10' });
  const log = toLogConfig(resolveTopicConfig(server, {
    'segment.index.bytes': '1024',
    'index.interval.bytes': '128',
    'flush.ms': '250',
    'file.delete.delay.ms': '0',
  }));
  assert.deepEqual(log, {
    segmentBytes: 4096,
    segmentMs: 3_600_000,
    segmentIndexBytes: 1024,
    indexIntervalBytes: 128,
    flushMessages: 10,
    flushMs: 250,
    fileDeleteDelayMs: 0,
  });
});
