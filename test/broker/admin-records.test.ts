// DeleteRecords, DescribeLogDirs and DescribeCluster over the wire, with a raw client built on
// the protocol codec, against a broker started in this process. Records are appended through
// the broker's own partition logs.

import { strict as assert } from 'node:assert';
import { statfsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ApiKey, ErrorCode, encodeRequestFrame } from '../../src/protocol/index';
import { buildRecordBatch } from '../../src/storage/index';
import { RawClient, startTestBroker, type TestBroker } from './admin-client';

// Kafka's bit field of the operations a cluster supports (CREATE, ALTER, DESCRIBE,
// CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE).
const ALL_CLUSTER_OPERATIONS = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

describe('admin records and cluster over the wire', () => {
  let tb: TestBroker;
  let client: RawClient;
  let counter = 0;
  const unique = (prefix: string): string => `${prefix}-${++counter}`;

  async function createTopic(name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
    const response = await client.send(ApiKey.CreateTopics, 4, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    assert.equal(response.topics[0]?.errorCode, ErrorCode.NONE, response.topics[0]?.errorMessage ?? '');
  }

  /** Appends `count` one-record batches to a partition through the broker's log. */
  function append(topic: string, partition: number, count: number): void {
    const partitions = tb.broker.services.partitions;
    const log = partitions.getLog(topic, partition);
    assert.ok(log, `no log for ${topic}-${partition}`);
    for (let i = 0; i < count; i++) partitions.append(topic, partition, log, buildRecordBatch([{ value: `record ${i} `.repeat(20) }]), {});
  }

  function deleteRecords(version: number, topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; offset: number }> }>) {
    return client.send(ApiKey.DeleteRecords, version, { topics, timeoutMs: 5_000 });
  }

  before(async () => {
    tb = await startTestBroker({ 'broker.rack': 'rack-a' });
    client = await RawClient.connect(tb.port);
  });

  after(async () => {
    client?.close();
    await tb?.dispose();
  });

  it('DeleteRecords raises the log start offset and removes the segments below it', async () => {
    const name = unique('trimmed');
    // Small segments: every batch rolls a new one, so there are whole segments to remove.
    await createTopic(name, 1, { 'segment.bytes': '300' });
    append(name, 0, 10);
    const log = tb.broker.services.partitions.getLog(name, 0)!;
    const segmentsBefore = log.segments().length;
    assert.ok(segmentsBefore >= 5, `expected several segments, got ${segmentsBefore}`);

    const response = await deleteRecords(0, [{ name, partitions: [{ partitionIndex: 0, offset: 4 }] }]);
    assert.deepEqual(response.topics, [{ name, partitions: [{ partitionIndex: 0, lowWatermark: 4, errorCode: ErrorCode.NONE }] }]);
    assert.equal(log.logStartOffset, 4);
    assert.ok(log.segments().length < segmentsBefore, 'no segment was removed');
    assert.ok(log.segments()[0]!.baseOffset <= 4);
    assert.throws(() => log.read(3, 1_000_000), (err: { kafkaErrorCode?: number }) => err.kafkaErrorCode === ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.ok(log.read(4, 1_000_000).bytes > 0);

    // Lower than the start: nothing changes, the answer is the current low watermark.
    const lower = await deleteRecords(1, [{ name, partitions: [{ partitionIndex: 0, offset: 2 }] }]);
    assert.equal(lower.topics[0]!.partitions[0]!.lowWatermark, 4);
    assert.equal(lower.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);

    // -1 is the high watermark: everything goes.
    const all = await deleteRecords(2, [{ name, partitions: [{ partitionIndex: 0, offset: -1 }] }]);
    assert.equal(all.topics[0]!.partitions[0]!.lowWatermark, 10);
    assert.equal(log.logStartOffset, 10);
    assert.equal(log.logEndOffset, 10);
  });

  it('DeleteRecords answers each partition with Kafka\'s errors', async () => {
    const name = unique('errors');
    await createTopic(name, 2);
    append(name, 0, 3);
    const compacted = unique('compacted');
    await createTopic(compacted, 1, { 'cleanup.policy': 'compact' });
    append(compacted, 0, 3);
    // The group coordinator may have created it already.
    if (!tb.broker.services.registry.has('__consumer_offsets')) await createTopic('__consumer_offsets', 1);

    const response = await deleteRecords(1, [
      {
        name,
        partitions: [
          { partitionIndex: 0, offset: 4 },
          { partitionIndex: 1, offset: -2 },
          { partitionIndex: 7, offset: 0 },
          { partitionIndex: -1, offset: 0 },
        ],
      },
      { name: 'no-such-topic', partitions: [{ partitionIndex: 0, offset: 0 }] },
      { name: compacted, partitions: [{ partitionIndex: 0, offset: 1 }] },
      { name: '__consumer_offsets', partitions: [{ partitionIndex: 0, offset: 0 }] },
    ]);
    const outcome = response.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode, p.lowWatermark]));
    assert.deepEqual(outcome, [
      [name, 0, ErrorCode.OFFSET_OUT_OF_RANGE, -1],
      [name, 1, ErrorCode.OFFSET_OUT_OF_RANGE, -1],
      [name, 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
      [name, -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
      ['no-such-topic', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
      [compacted, 0, ErrorCode.POLICY_VIOLATION, -1],
      ['__consumer_offsets', 0, ErrorCode.INVALID_TOPIC_EXCEPTION, -1],
    ]);
    assert.equal(tb.broker.services.partitions.getLog(name, 0)!.logStartOffset, 0);
    assert.equal(tb.broker.services.partitions.getLog(compacted, 0)!.logStartOffset, 0);
  });

  it('the log start offset survives a restart', async () => {
    const name = unique('restarted');
    await createTopic(name, 1);
    append(name, 0, 6);
    const response = await deleteRecords(1, [{ name, partitions: [{ partitionIndex: 0, offset: 5 }] }]);
    assert.equal(response.topics[0]!.partitions[0]!.lowWatermark, 5);
    client.close();
    tb = await tb.restart();
    client = await RawClient.connect(tb.port);
    const log = tb.broker.services.partitions.getLog(name, 0)!;
    assert.equal(log.logStartOffset, 5);
    assert.equal(log.logEndOffset, 6);
    const again = await deleteRecords(1, [{ name, partitions: [{ partitionIndex: 0, offset: 3 }] }]);
    assert.equal(again.topics[0]!.partitions[0]!.lowWatermark, 5);
  });

  it('DescribeLogDirs reports the log dir, each partition\'s size and the volume (v4)', async () => {
    const name = unique('sized');
    await createTopic(name, 2);
    append(name, 1, 4);
    const partitions = tb.broker.services.partitions;
    const response = await client.send(ApiKey.DescribeLogDirs, 4, { topics: null });
    assert.equal(response.errorCode, ErrorCode.NONE);
    assert.equal(response.results.length, 1);
    const dir = response.results[0]!;
    assert.equal(dir.errorCode, ErrorCode.NONE);
    assert.equal(dir.logDir, tb.logDir);
    const mine = dir.topics.find((t) => t.name === name);
    assert.ok(mine, 'topic missing');
    const sizes = new Map(mine.partitions.map((p) => [p.partitionIndex, p]));
    assert.equal(sizes.get(0)?.partitionSize, 0);
    assert.equal(sizes.get(1)?.partitionSize, partitions.getLog(name, 1)!.sizeBytes);
    assert.ok((sizes.get(1)?.partitionSize ?? 0) > 0);
    assert.equal(sizes.get(1)?.offsetLag, 0);
    assert.equal(sizes.get(1)?.isFutureKey, false);
    const fs = statfsSync(tb.logDir);
    assert.equal(dir.totalBytes, fs.blocks * fs.bsize);
    assert.ok(dir.usableBytes > 0 && dir.usableBytes <= dir.totalBytes);
  });

  it('DescribeLogDirs filters by topic and partition; older versions have no volume sizes', async () => {
    const name = unique('filtered');
    await createTopic(name, 3);
    append(name, 2, 1);
    const response = await client.send(ApiKey.DescribeLogDirs, 1, {
      topics: [
        { topic: name, partitions: [2, 9] },
        { topic: 'no-such-topic', partitions: [0] },
      ],
    });
    const dir = response.results[0]!;
    assert.deepEqual(dir.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]), [[name, [2]]]);
    const none = await client.send(ApiKey.DescribeLogDirs, 0, { topics: [] });
    assert.deepEqual(none.results[0]!.topics, []);
  });

  it('DescribeCluster: this broker, the cluster id, itself as controller, the authorized operations', async () => {
    for (const version of [0, 1]) {
      const response = await client.send(ApiKey.DescribeCluster, version, { includeClusterAuthorizedOperations: true, endpointType: 1 });
      assert.equal(response.errorCode, ErrorCode.NONE);
      assert.equal(response.clusterId, tb.broker.services.clusterId);
      assert.ok(response.clusterId.length > 0);
      assert.equal(response.controllerId, 0);
      assert.deepEqual(response.brokers, [{ brokerId: 0, host: '127.0.0.1', port: tb.port, rack: 'rack-a' }]);
      assert.equal(response.clusterAuthorizedOperations, ALL_CLUSTER_OPERATIONS);
    }
    const withoutOps = await client.send(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    assert.equal(withoutOps.clusterAuthorizedOperations, -2147483648);
    assert.equal(withoutOps.endpointType, 1);
  });

  it('DescribeCluster refuses other endpoint types with the codes of each version', async () => {
    const controllers = await client.send(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
    assert.equal(controllers.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);
    assert.deepEqual(controllers.brokers, []);
    const unknown = await client.send(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 7 });
    assert.equal(unknown.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  });

  it('a truncated admin request closes that connection only', async () => {
    const frame = encodeRequestFrame(ApiKey.CreateTopics, 4, 99, 'bad', {
      topics: [{ name: 'never-made', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1_000,
      validateOnly: false,
    });
    // Cut the body short but keep the length prefix consistent with what is sent.
    const truncated = Buffer.from(frame.subarray(0, frame.length - 6));
    truncated.writeInt32BE(truncated.length - 4, 0);
    const victim = await RawClient.connect(tb.port);
    assert.equal(await victim.sendRawExpectingClose(truncated), true, 'the broker kept the connection');
    victim.close();
    const response = await client.send(ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    assert.equal(response.errorCode, ErrorCode.NONE);
    assert.equal(tb.broker.services.registry.has('never-made'), false);
  });
});
