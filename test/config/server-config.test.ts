import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, createServerConfig, loadServerConfig } from '../../src/config';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.kafkaErrorCode, 40);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('with no file and no overrides the broker gets Strand\'s defaults', () => {
  const config = loadServerConfig();
  assert.equal(config.nodeId, 0);
  assert.deepEqual(config.listeners, [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092, securityProtocol: 'PLAINTEXT' }]);
  assert.deepEqual(config.advertisedListeners, config.listeners);
  assert.deepEqual(config.logDirs, [resolve('./data')]);
  assert.equal(config.numPartitions, 1);
  assert.equal(config.defaultReplicationFactor, 1);
  assert.equal(config.autoCreateTopicsEnable, true);
  assert.equal(config.socketRequestMaxBytes, 104857600);
  assert.equal(config.queuedMaxRequests, 500);
  assert.equal(config.connectionsMaxIdleMs, 600000);
  assert.equal(config.messageMaxBytes, 1048588);
  assert.equal(config.offsetsTopicNumPartitions, 50);
  assert.equal(config.offsetsRetentionMs, 10080 * 60_000);
  assert.equal(config.logRetentionCheckIntervalMs, 300000);
  assert.equal(config.logCleanerThreads, 1);
  assert.equal(config.logCleanerIoMaxBytesPerSecond, Number.MAX_VALUE);
  assert.equal(config.logCleanerDedupeBufferSize, 134217728);
  assert.equal(config.fetchMaxBytes, 57671680);
  assert.equal(config.deleteTopicEnable, true);
  assert.equal(config.logFlushSchedulerIntervalMs, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(config.unknownKeys, []);
  assert.equal(config.staticConfigs.size, 0);
});

test('a server.properties file is read, and overrides win over it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strand-config-'));
  const file = join(dir, 'server.properties');
  writeFileSync(file, [
    '# Strand test config',
    'node.id=3',
    'listeners=PLAINTEXT://0.0.0.0:19092,SSL://127.0.0.1:19093',
    'advertised.listeners=PLAINTEXT://broker.example:19092,SSL://broker.example:19093',
    'log.dirs=/var/strand/a,\\',
    '         /var/strand/b',
    'num.partitions = 4',
    'auto.create.topics.enable: false',
    'some.plugin.setting=x',
  ].join('\n'));
  const config = loadServerConfig({ file, overrides: ['num.partitions=8', 'log.cleaner.threads=2'] });
  assert.equal(config.nodeId, 3);
  assert.deepEqual(config.listeners.map((l) => `${l.name} ${l.host} ${l.port} ${l.securityProtocol}`), [
    'PLAINTEXT 0.0.0.0 19092 PLAINTEXT',
    'SSL 127.0.0.1 19093 SSL',
  ]);
  assert.deepEqual(config.advertisedListeners.map((l) => `${l.host}:${l.port}`), ['broker.example:19092', 'broker.example:19093']);
  assert.deepEqual(config.logDirs, ['/var/strand/a', '/var/strand/b']);
  assert.equal(config.numPartitions, 8);
  assert.equal(config.autoCreateTopicsEnable, false);
  assert.equal(config.logCleanerThreads, 2);
  assert.deepEqual(config.unknownKeys, ['some.plugin.setting']);
  assert.equal(config.staticConfigs.get('num.partitions'), '8');
});

test('a missing file is a ConfigError naming it', () => {
  const err = configError(() => loadServerConfig({ file: '/nonexistent/strand/server.properties' }));
  assert.match(err.message, /\/nonexistent\/strand\/server\.properties/);
});

test('bad values are ConfigErrors that name the key and the reason', () => {
  assert.equal(
    configError(() => createServerConfig({ 'num.partitions': 'many' })).message,
    'Invalid value many for configuration num.partitions: Not a number of type INT',
  );
  const zero = configError(() => createServerConfig({ 'num.partitions': '0' }));
  assert.equal(zero.key, 'num.partitions');
  assert.equal(zero.message, 'Invalid value 0 for configuration num.partitions: Value must be at least 1');
  assert.equal(
    configError(() => createServerConfig({ 'log.cleanup.policy': 'compact,forever' })).message,
    'Invalid value forever for configuration log.cleanup.policy: String must be one of: compact, delete',
  );
  assert.equal(
    configError(() => createServerConfig({ 'log.message.timestamp.type': 'create' })).message,
    'Invalid value create for configuration log.message.timestamp.type: String must be one of: CreateTime, LogAppendTime',
  );
  assert.equal(
    configError(() => createServerConfig({ 'log.cleaner.min.cleanable.ratio': '1.5' })).message,
    'Invalid value 1.5 for configuration log.cleaner.min.cleanable.ratio: Value must be no more than 1',
  );
  assert.equal(
    configError(() => createServerConfig({ 'delete.topic.enable': 'maybe' })).message,
    'Invalid value maybe for configuration delete.topic.enable: Expected value to be either true or false',
  );
});

test('broker.id alone sets the node id; node.id and broker.id must agree', () => {
  assert.equal(createServerConfig({ 'broker.id': '7' }).nodeId, 7);
  assert.equal(createServerConfig({ 'node.id': '2', 'broker.id': '2' }).nodeId, 2);
  assert.equal(createServerConfig({ 'node.id': '5' }).values.get('broker.id'), 5);
  const err = configError(() => createServerConfig({ 'node.id': '1', 'broker.id': '2' }));
  assert.equal(err.key, 'broker.id');
  configError(() => createServerConfig({ 'node.id': '-1' }));
});

test('log.dirs wins over log.dir, which defaults to ./data', () => {
  assert.deepEqual(createServerConfig({ 'log.dir': '/x' }).logDirs, ['/x']);
  assert.deepEqual(createServerConfig({ 'log.dir': '/x', 'log.dirs': '/y, /z' }).logDirs, ['/y', '/z']);
  configError(() => createServerConfig({ 'log.dirs': '/y,/y' }));
  configError(() => createServerConfig({ 'log.dirs': '' }));
});

test('listeners must parse, be distinct and have a security protocol', () => {
  configError(() => createServerConfig({ listeners: 'localhost:9092' }));
  configError(() => createServerConfig({ listeners: 'PLAINTEXT://127.0.0.1:70000' }));
  configError(() => createServerConfig({ listeners: 'PLAINTEXT://:9092,PLAINTEXT://:9093' }));
  configError(() => createServerConfig({ listeners: 'PLAINTEXT://:9092,SSL://:9092' }));
  assert.match(configError(() => createServerConfig({ listeners: 'INTERNAL://:9092' })).message, /No security protocol defined for listener INTERNAL/);
  configError(() => createServerConfig({ listeners: '' }));
  const mapped = createServerConfig({
    listeners: 'internal://127.0.0.1:9092',
    'listener.security.protocol.map': 'INTERNAL:SSL',
  });
  assert.deepEqual(mapped.listeners, [{ name: 'INTERNAL', host: '127.0.0.1', port: 9092, securityProtocol: 'SSL' }]);
  const v6 = createServerConfig({ listeners: 'PLAINTEXT://[::1]:9092' });
  assert.equal(v6.listeners[0]!.host, '::1');
});

test('advertised listeners default to the listeners; an empty host advertises this machine; 0.0.0.0 is refused', () => {
  const all = createServerConfig({ listeners: 'PLAINTEXT://:9092' });
  assert.equal(all.listeners[0]!.host, '');
  assert.equal(all.advertisedListeners[0]!.host, hostname());
  const err = configError(() => createServerConfig({ listeners: 'PLAINTEXT://0.0.0.0:9092' }));
  assert.match(err.message, /nonroutable meta-address 0\.0\.0\.0/);
  const ok = createServerConfig({ listeners: 'PLAINTEXT://0.0.0.0:9092', 'advertised.listeners': 'PLAINTEXT://10.1.2.3:9092' });
  assert.equal(ok.advertisedListeners[0]!.host, '10.1.2.3');
});

test('broker-level compaction lags must not conflict', () => {
  configError(() => createServerConfig({ 'log.cleaner.min.compaction.lag.ms': '10', 'log.cleaner.max.compaction.lag.ms': '5' }));
});
