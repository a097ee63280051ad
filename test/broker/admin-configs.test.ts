// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs over the wire, with a raw client
// built on the protocol codec, against a broker started in this process.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { BROKER_CONFIGS, TOPIC_CONFIGS } from '../../src/config/index';
import { ApiKey, ErrorCode, type DescribeConfigsResponse } from '../../src/protocol/index';
import type { DescribeConfigsResource } from '../../src/protocol/generated/describe-configs-request';
import type { DescribeConfigsResourceResult } from '../../src/protocol/generated/describe-configs-response';
import type { AlterableConfig } from '../../src/protocol/generated/incremental-alter-configs-request';
import { configDocumentation } from '../../src/broker/handlers/config-documentation';
import { RawClient, startTestBroker, type TestBroker } from './admin-client';

const TOPIC = 2;
const BROKER = 4;
const BROKER_LOGGER = 8;
const GROUP = 32;
const SOURCE = { TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5, DYNAMIC_BROKER_LOGGER_CONFIG: 6 } as const;
const OP = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
const CONFIG_TYPE = { BOOLEAN: 1, INT: 3, LONG: 5, LIST: 7, PASSWORD: 9 } as const;

describe('admin configs over the wire', () => {
  let tb: TestBroker;
  let client: RawClient;
  let counter = 0;
  const unique = (prefix: string): string => `${prefix}-${++counter}`;

  async function createTopic(name: string, configs: Record<string, string> = {}): Promise<void> {
    const response = await client.send(ApiKey.CreateTopics, 4, {
      topics: [{ name, numPartitions: 1, replicationFactor: -1, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    assert.equal(response.topics[0]?.errorCode, ErrorCode.NONE, response.topics[0]?.errorMessage ?? '');
  }

  function describeConfigs(version: number, resources: DescribeConfigsResource[], includeSynonyms = false, includeDocumentation = false): Promise<DescribeConfigsResponse> {
    return client.send(ApiKey.DescribeConfigs, version, { resources, includeSynonyms, includeDocumentation });
  }

  async function topicConfigs(name: string, keys: string[] | null = null): Promise<Map<string, DescribeConfigsResourceResult>> {
    const response = await describeConfigs(4, [{ resourceType: TOPIC, resourceName: name, configurationKeys: keys }]);
    const result = response.results[0]!;
    assert.equal(result.errorCode, ErrorCode.NONE, result.errorMessage ?? '');
    return new Map(result.configs.map((c) => [c.name, c]));
  }

  function incremental(resources: Array<{ resourceType: number; resourceName: string; configs: AlterableConfig[] }>, validateOnly = false) {
    return client.send(ApiKey.IncrementalAlterConfigs, 1, { resources, validateOnly });
  }

  before(async () => {
    tb = await startTestBroker({ 'log.retention.hours': '72', 'ssl.key.password': 'secret' });
    client = await RawClient.connect(tb.port);
  });

  after(async () => {
    client?.close();
    await tb?.dispose();
  });

  it('describes every topic config with its value, source, type and synonyms (v4)', async () => {
    const name = unique('described');
    await createTopic(name, { 'cleanup.policy': 'compact', 'max.message.bytes': '2000' });
    const response = await describeConfigs(4, [{ resourceType: TOPIC, resourceName: name, configurationKeys: null }], true, true);
    const result = response.results[0]!;
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.resourceName, name);
    assert.equal(result.resourceType, TOPIC);
    const configs = new Map(result.configs.map((c) => [c.name, c]));
    assert.deepEqual([...configs.keys()].sort(), [...TOPIC_CONFIGS.keys()].sort());

    const cleanup = configs.get('cleanup.policy')!;
    assert.equal(cleanup.value, 'compact');
    assert.equal(cleanup.configSource, SOURCE.TOPIC_CONFIG);
    assert.equal(cleanup.configType, CONFIG_TYPE.LIST);
    assert.equal(cleanup.readOnly, false);
    assert.deepEqual(cleanup.synonyms.map((s) => [s.name, s.value, s.source]), [
      ['cleanup.policy', 'compact', SOURCE.TOPIC_CONFIG],
      ['log.cleanup.policy', 'delete', SOURCE.DEFAULT_CONFIG],
    ]);
    assert.ok((cleanup.documentation ?? '').length > 0, 'documentation requested');

    // retention.ms comes from log.retention.hours set on the broker (72 h).
    const retention = configs.get('retention.ms')!;
    assert.equal(retention.value, String(72 * 3_600_000));
    assert.equal(retention.configSource, SOURCE.STATIC_BROKER_CONFIG);
    assert.equal(retention.synonyms[0]?.name, 'log.retention.hours');
    assert.equal(retention.synonyms[0]?.value, '72');

    const segment = configs.get('segment.bytes')!;
    assert.equal(segment.value, '1073741824');
    assert.equal(segment.configSource, SOURCE.DEFAULT_CONFIG);
    assert.equal(segment.configType, CONFIG_TYPE.INT);
    assert.equal(configs.get('max.message.bytes')?.value, '2000');
  });

  it('filters by configurationKeys, leaves out synonyms and documentation unless asked', async () => {
    const name = unique('filtered');
    await createTopic(name);
    const response = await describeConfigs(3, [{ resourceType: TOPIC, resourceName: name, configurationKeys: ['segment.ms', 'no.such.key'] }]);
    const configs = response.results[0]!.configs;
    assert.deepEqual(configs.map((c) => c.name), ['segment.ms']);
    assert.deepEqual(configs[0]!.synonyms, []);
    assert.equal(configs[0]!.documentation, null);
    assert.equal(configs[0]!.configType, CONFIG_TYPE.LONG);
  });

  it('v0 answers isDefault instead of a source', async () => {
    const name = unique('v0');
    await createTopic(name, { 'retention.bytes': '1000' });
    const response = await describeConfigs(0, [{ resourceType: TOPIC, resourceName: name, configurationKeys: ['retention.bytes', 'segment.bytes'] }]);
    const configs = new Map(response.results[0]!.configs.map((c) => [c.name, c]));
    assert.equal(configs.get('retention.bytes')?.isDefault, false);
    assert.equal(configs.get('retention.bytes')?.value, '1000');
    assert.equal(configs.get('segment.bytes')?.isDefault, true);
  });

  it('answers per resource: unknown topic, illegal topic name, unknown type refuses the request', async () => {
    let response = await describeConfigs(2, [
      { resourceType: TOPIC, resourceName: 'no-such-topic', configurationKeys: null },
      { resourceType: TOPIC, resourceName: 'bad/name', configurationKeys: null },
      { resourceType: GROUP, resourceName: 'some-group', configurationKeys: null },
    ]);
    assert.deepEqual(response.results.map((r) => [r.resourceName, r.errorCode]), [
      ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['some-group', ErrorCode.INVALID_REQUEST],
    ]);
    assert.equal(response.results[0]!.errorMessage, null, 'Kafka sends no message with UNKNOWN_TOPIC_OR_PARTITION here');
    assert.ok(response.results.every((r) => r.configs.length === 0));

    const name = unique('innocent');
    await createTopic(name);
    response = await describeConfigs(1, [
      { resourceType: TOPIC, resourceName: name, configurationKeys: null },
      { resourceType: 99, resourceName: 'x', configurationKeys: null },
    ]);
    assert.deepEqual(response.results.map((r) => r.errorCode), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
  });

  it('describes the broker: by its id only; static configs, defaults, sensitive values hidden, all read-only', async () => {
    const response = await describeConfigs(4, [
      { resourceType: BROKER, resourceName: '0', configurationKeys: null },
      { resourceType: BROKER, resourceName: '', configurationKeys: null },
      { resourceType: BROKER, resourceName: '1', configurationKeys: null },
      { resourceType: BROKER, resourceName: 'zero', configurationKeys: null },
    ], true);
    const [own, cluster, other, word] = response.results as [typeof response.results[0], typeof response.results[0], typeof response.results[0], typeof response.results[0]];
    assert.equal(own.errorCode, ErrorCode.NONE);
    const configs = new Map(own.configs.map((c) => [c.name, c]));
    for (const name of BROKER_CONFIGS.keys()) assert.ok(configs.has(name), `${name} missing`);
    assert.equal(configs.get('log.dirs')?.value, tb.logDir);
    assert.equal(configs.get('log.dirs')?.configSource, SOURCE.STATIC_BROKER_CONFIG);
    assert.equal(configs.get('num.partitions')?.value, '1');
    assert.equal(configs.get('num.partitions')?.configSource, SOURCE.DEFAULT_CONFIG);
    assert.equal(configs.get('ssl.key.password')?.value, null);
    assert.equal(configs.get('ssl.key.password')?.isSensitive, true);
    assert.equal(configs.get('ssl.key.password')?.configType, CONFIG_TYPE.PASSWORD);
    assert.equal(configs.get('auto.create.topics.enable')?.configType, CONFIG_TYPE.BOOLEAN);
    assert.ok(own.configs.every((c) => c.readOnly));
    assert.deepEqual(configs.get('log.retention.hours')?.synonyms.map((s) => [s.name, s.source]), [
      ['log.retention.hours', SOURCE.STATIC_BROKER_CONFIG],
      ['log.retention.hours', SOURCE.DEFAULT_CONFIG],
    ]);
    // "" is the cluster-wide dynamic default set, which Strand (static configs only) leaves empty.
    assert.equal(cluster.errorCode, ErrorCode.NONE);
    assert.deepEqual(cluster.configs, []);
    assert.equal(other.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(other.errorMessage ?? '', /Unexpected broker id, expected 0 or empty string, but received 1/);
    assert.equal(word.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(word.errorMessage ?? '', /Broker id must be an integer, but it is: zero/);
  });

  it('describes and sets the broker logger level', async () => {
    const log = tb.broker.services.log;
    const before = log.level;
    try {
      let response = await describeConfigs(2, [
        { resourceType: BROKER_LOGGER, resourceName: '0', configurationKeys: null },
        { resourceType: BROKER_LOGGER, resourceName: '', configurationKeys: null },
      ]);
      assert.equal(response.results[0]!.errorCode, ErrorCode.NONE);
      assert.deepEqual(response.results[0]!.configs.map((c) => [c.name, c.configSource, c.readOnly]), [['root', SOURCE.DYNAMIC_BROKER_LOGGER_CONFIG, false]]);
      assert.equal(response.results[1]!.errorCode, ErrorCode.INVALID_REQUEST);

      const alter = await incremental([
        { resourceType: BROKER_LOGGER, resourceName: '0', configs: [{ name: 'root', configOperation: OP.SET, value: 'DEBUG' }] },
      ]);
      assert.equal(alter.responses[0]!.errorCode, ErrorCode.NONE, alter.responses[0]!.errorMessage ?? '');
      assert.equal(log.level, 'debug');
      response = await describeConfigs(2, [{ resourceType: BROKER_LOGGER, resourceName: '0', configurationKeys: ['root'] }]);
      assert.equal(response.results[0]!.configs[0]?.value, 'DEBUG');

      const refused = await incremental([
        { resourceType: BROKER_LOGGER, resourceName: '0', configs: [{ name: 'kafka.server', configOperation: OP.SET, value: 'INFO' }] },
        { resourceType: BROKER_LOGGER, resourceName: '5', configs: [{ name: 'root', configOperation: OP.SET, value: 'INFO' }] },
      ]);
      assert.deepEqual(refused.responses.map((r) => r.errorCode), [ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_REQUEST]);
      const badLevel = await incremental([{ resourceType: BROKER_LOGGER, resourceName: '0', configs: [{ name: 'root', configOperation: OP.SET, value: 'LOUD' }] }]);
      assert.equal(badLevel.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
      const removeRoot = await incremental([{ resourceType: BROKER_LOGGER, resourceName: '0', configs: [{ name: 'root', configOperation: OP.DELETE, value: null }] }]);
      assert.equal(removeRoot.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
      const append = await incremental([{ resourceType: BROKER_LOGGER, resourceName: '0', configs: [{ name: 'root', configOperation: OP.APPEND, value: 'INFO' }] }]);
      assert.equal(append.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
      const validateOnly = await incremental(
        [{ resourceType: BROKER_LOGGER, resourceName: '0', configs: [{ name: 'root', configOperation: OP.SET, value: 'ERROR' }] }],
        true,
      );
      assert.equal(validateOnly.responses[0]!.errorCode, ErrorCode.NONE);
      assert.equal(log.level, 'debug', 'validateOnly changed the level');
      // The legacy API never supported logger resources.
      const legacy = await client.send(ApiKey.AlterConfigs, 1, {
        resources: [{ resourceType: BROKER_LOGGER, resourceName: '0', configs: [{ name: 'root', value: 'INFO' }] }],
        validateOnly: false,
      });
      assert.equal(legacy.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
    } finally {
      log.level = before;
    }
  });

  it('AlterConfigs replaces a topic\'s overrides; the logs follow at once; validateOnly changes nothing', async () => {
    const name = unique('altered');
    await createTopic(name, { 'cleanup.policy': 'compact', 'segment.bytes': '1048576' });
    const alter = (version: number, configs: Array<{ name: string; value: string | null }>, validateOnly = false) =>
      client.send(ApiKey.AlterConfigs, version, { resources: [{ resourceType: TOPIC, resourceName: name, configs }], validateOnly });

    let response = await alter(0, [{ name: 'segment.bytes', value: '2097152' }], true);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await topicConfigs(name)).get('segment.bytes')?.value, '1048576');

    response = await alter(2, [{ name: 'segment.bytes', value: '2097152' }, { name: 'retention.ms', value: '60000' }]);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE, response.responses[0]!.errorMessage ?? '');
    const configs = await topicConfigs(name);
    assert.equal(configs.get('segment.bytes')?.value, '2097152');
    assert.equal(configs.get('retention.ms')?.value, '60000');
    assert.equal(configs.get('cleanup.policy')?.value, 'delete', 'left out of the request: back to the default');
    assert.equal(configs.get('cleanup.policy')?.configSource, SOURCE.DEFAULT_CONFIG);
    assert.equal(tb.broker.services.partitions.getLog(name, 0)?.config.segmentBytes, 2097152, 'the log took the new segment size');

    const bad: Array<[Array<{ name: string; value: string | null }>, number, RegExp]> = [
      [[{ name: 'segment.bytes', value: 'big' }], ErrorCode.INVALID_CONFIG, /segment\.bytes/],
      [[{ name: 'no.such.config', value: '1' }], ErrorCode.INVALID_CONFIG, /no\.such\.config/],
      [[{ name: 'retention.ms', value: null }], ErrorCode.INVALID_REQUEST, /Null value not supported for : retention\.ms/],
      [[{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }], ErrorCode.INVALID_REQUEST, /duplicate config keys/],
    ];
    for (const [entries, code, message] of bad) {
      response = await alter(1, entries);
      assert.equal(response.responses[0]!.errorCode, code, JSON.stringify(entries));
      assert.match(response.responses[0]!.errorMessage ?? '', message);
    }
    assert.equal((await topicConfigs(name)).get('segment.bytes')?.value, '2097152', 'a refused change changed something');
  });

  it('AlterConfigs answers per resource: unknown topic, "" topic, a resource twice, broker configs are static', async () => {
    const name = unique('pair');
    await createTopic(name);
    const response = await client.send(ApiKey.AlterConfigs, 1, {
      resources: [
        { resourceType: TOPIC, resourceName: 'no-such-topic', configs: [] },
        { resourceType: TOPIC, resourceName: '', configs: [] },
        { resourceType: TOPIC, resourceName: name, configs: [{ name: 'retention.ms', value: '1000' }] },
        { resourceType: TOPIC, resourceName: name, configs: [{ name: 'retention.ms', value: '2000' }] },
        { resourceType: BROKER, resourceName: '0', configs: [{ name: 'num.partitions', value: '4' }] },
        { resourceType: BROKER, resourceName: '3', configs: [] },
        { resourceType: BROKER, resourceName: '', configs: [] },
        { resourceType: 17, resourceName: 'x', configs: [] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(response.responses.map((r) => r.errorCode), [
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.NONE,
      ErrorCode.INVALID_REQUEST,
    ]);
    assert.equal(response.responses[0]!.errorMessage, "The topic 'no-such-topic' does not exist.");
    assert.equal(response.responses[4]!.errorMessage, 'Cannot update these configs dynamically: Set(num.partitions)');
    // Neither entry of the resource named twice applied: retention.ms still comes from log.retention.hours.
    assert.equal((await topicConfigs(name)).get('retention.ms')?.configSource, SOURCE.STATIC_BROKER_CONFIG);
  });

  it('IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on a topic, all or nothing', async () => {
    const name = unique('incremental');
    await createTopic(name, { 'retention.ms': '5000', 'max.message.bytes': '3000' });
    let response = await incremental([
      {
        resourceType: TOPIC,
        resourceName: name,
        configs: [
          { name: 'segment.ms', configOperation: OP.SET, value: '3600000' },
          { name: 'retention.ms', configOperation: OP.DELETE, value: null },
          { name: 'cleanup.policy', configOperation: OP.APPEND, value: 'compact' },
        ],
      },
    ]);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE, response.responses[0]!.errorMessage ?? '');
    let configs = await topicConfigs(name);
    assert.equal(configs.get('segment.ms')?.value, '3600000');
    assert.equal(configs.get('retention.ms')?.configSource, SOURCE.STATIC_BROKER_CONFIG, 'override deleted: the broker default again');
    assert.equal(configs.get('cleanup.policy')?.value, 'delete,compact');
    assert.equal(configs.get('max.message.bytes')?.value, '3000', 'untouched keys stay');

    response = await incremental([{ resourceType: TOPIC, resourceName: name, configs: [{ name: 'cleanup.policy', configOperation: OP.SUBTRACT, value: 'delete' }] }]);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    configs = await topicConfigs(name);
    assert.equal(configs.get('cleanup.policy')?.value, 'compact');

    const refused: Array<[AlterableConfig[], number]> = [
      [[{ name: 'segment.ms', configOperation: OP.APPEND, value: '1' }], ErrorCode.INVALID_CONFIG],
      [[{ name: 'segment.ms', configOperation: 9, value: '1' }], ErrorCode.INVALID_REQUEST],
      [[{ name: 'segment.ms', configOperation: OP.SET, value: null }], ErrorCode.INVALID_REQUEST],
      [[{ name: 'segment.ms', configOperation: OP.SET, value: 'x' }], ErrorCode.INVALID_CONFIG],
      [[{ name: 'segment.ms', configOperation: OP.SET, value: '1' }, { name: 'segment.ms', configOperation: OP.DELETE, value: null }], ErrorCode.INVALID_REQUEST],
      // One bad operation: the good one before it does not apply either.
      [[{ name: 'max.message.bytes', configOperation: OP.SET, value: '9999' }, { name: 'min.insync.replicas', configOperation: OP.SET, value: '0' }], ErrorCode.INVALID_CONFIG],
    ];
    for (const [ops, code] of refused) {
      response = await incremental([{ resourceType: TOPIC, resourceName: name, configs: ops }]);
      assert.equal(response.responses[0]!.errorCode, code, JSON.stringify(ops));
    }
    configs = await topicConfigs(name);
    assert.equal(configs.get('segment.ms')?.value, '3600000');
    assert.equal(configs.get('max.message.bytes')?.value, '3000');

    response = await incremental([{ resourceType: TOPIC, resourceName: name, configs: [{ name: 'segment.ms', configOperation: OP.SET, value: '7200000' }] }], true);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await topicConfigs(name)).get('segment.ms')?.value, '3600000', 'validateOnly changed the config');
  });

  it('IncrementalAlterConfigs on the broker: deleting is a no-op, setting a static config is refused', async () => {
    const response = await incremental([
      { resourceType: BROKER, resourceName: '0', configs: [{ name: 'log.retention.ms', configOperation: OP.DELETE, value: null }] },
      { resourceType: BROKER, resourceName: '', configs: [{ name: 'num.io.threads', configOperation: OP.SET, value: '4' }] },
      { resourceType: BROKER, resourceName: '2', configs: [] },
      { resourceType: TOPIC, resourceName: 'no-such-topic', configs: [] },
      { resourceType: TOPIC, resourceName: 'twice', configs: [] },
      { resourceType: TOPIC, resourceName: 'twice', configs: [] },
    ]);
    assert.deepEqual(response.responses.map((r) => r.errorCode), [
      ErrorCode.NONE,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    assert.match(response.responses[1]!.errorMessage ?? '', /Cannot update these configs dynamically: Set\(num\.io\.threads\)/);
    assert.equal(response.responses[5]!.errorMessage, 'Each resource must appear at most once.');
    const append = await incremental([{ resourceType: BROKER, resourceName: '0', configs: [{ name: 'num.io.threads', configOperation: OP.APPEND, value: '4' }] }]);
    assert.equal(append.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG, 'APPEND to a non-list config');
  });

  it('config changes survive a restart', async () => {
    const name = unique('persisted');
    await createTopic(name);
    const response = await incremental([{ resourceType: TOPIC, resourceName: name, configs: [{ name: 'retention.bytes', configOperation: OP.SET, value: '123456' }] }]);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    client.close();
    tb = await tb.restart();
    client = await RawClient.connect(tb.port);
    const configs = await topicConfigs(name, ['retention.bytes']);
    assert.equal(configs.get('retention.bytes')?.value, '123456');
    assert.equal(configs.get('retention.bytes')?.configSource, SOURCE.TOPIC_CONFIG);
  });

  it('documents every config Strand defines', () => {
    for (const name of TOPIC_CONFIGS.keys()) assert.ok(configDocumentation('topic', name), `topic config ${name}`);
    for (const name of BROKER_CONFIGS.keys()) assert.ok(configDocumentation('broker', name), `broker config ${name}`);
    assert.equal(configDocumentation('topic', 'no.such.config'), null);
    assert.equal(configDocumentation('broker', 'log.retention.hours')?.includes('in hours'), true);
  });
});
