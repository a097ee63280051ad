// The Apache Kafka launcher against fake distribution directories: Kafka is not installed
// here, so the scripts are stand-ins that record how they were called and listen on the
// port their properties file names. What is checked is what the suite writes and runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { strandSettings } from '../../bench/targets/strand.js';
import {
  KafkaHomeTarget,
  KafkaLauncher,
  detectKafkaDistribution,
  kafkaVersionFromLibs,
  planKafkaLaunch,
  propertiesText,
  randomClusterId,
  type KafkaLaunchInput,
} from '../../bench/targets/kafka.js';

// Listens on the port of `listeners=PLAINTEXT://...:N` or `clientPort=N` in the properties
// file given as its argument; exits 0 on SIGTERM.
const FAKE_SERVER = `
const fs = require('fs');
const net = require('net');
const text = fs.readFileSync(process.argv[2], 'utf8');
const m = /^listeners=PLAINTEXT:\\/\\/127\\.0\\.0\\.1:(\\d+)/m.exec(text) || /^clientPort=(\\d+)/m.exec(text);
const server = net.createServer((s) => s.end());
server.listen(Number(m[1]), '127.0.0.1');
process.on('SIGTERM', () => { fs.appendFileSync(process.env.LOG_DIR + '/calls.txt', 'stopped ' + process.argv[2] + '\\n'); process.exit(0); });
`;

function script(body: string): string {
  return `#!/bin/sh\necho "$(basename "$0") $*" >> "$LOG_DIR/calls.txt"\n${body}\n`;
}

/** A fake unpacked distribution of `version`. */
function fakeDistribution(root: string, version: string, zookeeper: boolean): string {
  const home = path.join(root, `kafka_2.13-${version}`);
  fs.mkdirSync(path.join(home, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(home, 'libs'), { recursive: true });
  fs.mkdirSync(path.join(home, 'config'), { recursive: true });
  for (const jar of [`kafka_2.13-${version}-test.jar`, `kafka_2.13-${version}-sources.jar`, `kafka_2.13-${version}.jar`, `kafka-clients-${version}.jar`, 'zstd-jni-1.5.5-1.jar']) {
    fs.writeFileSync(path.join(home, 'libs', jar), '');
  }
  fs.writeFileSync(path.join(home, 'config', 'server.properties'), 'broker.id=0\n');
  const server = path.join(home, 'bin', 'fake-server.js');
  fs.writeFileSync(server, FAKE_SERVER);
  const exec = `exec "${process.execPath}" "${server}" "$1"`;
  const files: Record<string, string> = {
    'kafka-server-start.sh': script(exec),
    'kafka-producer-perf-test.sh': script('exit 0'),
    'kafka-consumer-perf-test.sh': script('exit 0'),
  };
  if (zookeeper) files['zookeeper-server-start.sh'] = script(exec);
  else files['kafka-storage.sh'] = script('exit 0');
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(home, 'bin', name), body, { mode: 0o755 });
  return home;
}

function withTempDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-bench-fake-kafka-'));
    try {
      await fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes('=')) continue;
    const eq = line.indexOf('=');
    out[line.slice(0, eq)] = line.slice(eq + 1).replace(/\\\\/g, '\\');
  }
  return out;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const input = (workDir: string): KafkaLaunchInput => ({
  workDir,
  brokerPort: 19092,
  controllerPort: 19093,
  zookeeperPort: 12181,
  clusterId: 'MkU3OEVBNTcwNTJENDM2Qg',
  overrides: { 'num.io.threads': '4' },
  heapOpts: '-Xmx2G -Xms2G',
});

test('the version comes from the core jar, never from test or sources jars', () => {
  assert.equal(kafkaVersionFromLibs(['kafka_2.13-3.7.0-test.jar', 'kafka_2.13-3.7.0.jar']), '3.7.0');
  assert.equal(kafkaVersionFromLibs(['kafka_2.12-2.8.2.jar', 'kafka-clients-2.8.2.jar']), '2.8.2');
  assert.equal(kafkaVersionFromLibs(['kafka-clients-4.0.0.jar', 'kafka-tools-4.0.0.jar']), '4.0.0');
  assert.equal(kafkaVersionFromLibs(['zstd-jni-1.5.5-1.jar']), null);
});

test('3.x: KRaft server.properties, storage format with a random cluster id, then the broker', withTempDir((root) => {
  const home = fakeDistribution(root, '3.7.0', false);
  const dist = detectKafkaDistribution(home);
  assert.deepEqual([dist.version, dist.major, dist.minor, dist.mode], ['3.7.0', 3, 7, 'kraft']);
  const work = path.join(root, 'work');
  const plan = planKafkaLaunch(dist, input(work));
  const serverFile = path.join(work, 'server.properties');
  assert.deepEqual(plan.files.map((f) => f.path), [serverFile]);
  const props = parseProperties(plan.files[0]!.contents);
  assert.equal(props['process.roles'], 'broker,controller');
  assert.equal(props['node.id'], '1');
  assert.equal(props['controller.quorum.voters'], '1@127.0.0.1:19093');
  assert.equal(props['listeners'], 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
  assert.equal(props['advertised.listeners'], 'PLAINTEXT://127.0.0.1:19092');
  assert.equal(props['controller.listener.names'], 'CONTROLLER');
  assert.equal(props['listener.security.protocol.map'], 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT');
  assert.equal(props['log.dirs'], path.join(work, 'data'));
  assert.equal(props['offsets.topic.replication.factor'], '1');
  assert.equal(props['log.segment.delete.delay.ms'], '0', 'a deleted topic frees its page cache between samples, as on the strand target');
  assert.equal(props['num.io.threads'], '4', 'overrides are applied');
  assert.equal(props['zookeeper.connect'], undefined);
  assert.deepEqual(
    plan.steps.map((s) => [s.name, path.basename(s.command), s.args, s.kind, s.waitForPort]),
    [
      ['format', 'kafka-storage.sh', ['format', '--cluster-id', 'MkU3OEVBNTcwNTJENDM2Qg', '--config', serverFile], 'once', null],
      ['kafka', 'kafka-server-start.sh', [serverFile], 'daemon', 19092],
    ],
  );
  for (const s of plan.steps) {
    assert.equal(s.env['LOG_DIR'], path.join(work, 'logs'), 'Kafka logs go to the temp folder');
    assert.equal(s.env['KAFKA_HEAP_OPTS'], '-Xmx2G -Xms2G');
  }
}));

test('2.x: ZooKeeper from the distribution first, then a broker pointed at it', withTempDir((root) => {
  const home = fakeDistribution(root, '2.8.2', true);
  const dist = detectKafkaDistribution(home);
  assert.equal(dist.mode, 'zookeeper');
  const work = path.join(root, 'work');
  const plan = planKafkaLaunch(dist, { ...input(work), heapOpts: null });
  const zkFile = path.join(work, 'zookeeper.properties');
  const serverFile = path.join(work, 'server.properties');
  const zk = parseProperties(plan.files.find((f) => f.path === zkFile)!.contents);
  assert.equal(zk['clientPort'], '12181');
  assert.equal(zk['dataDir'], path.join(work, 'zookeeper'));
  const props = parseProperties(plan.files.find((f) => f.path === serverFile)!.contents);
  assert.equal(props['zookeeper.connect'], '127.0.0.1:12181');
  assert.equal(props['broker.id'], '1');
  assert.equal(props['listeners'], 'PLAINTEXT://127.0.0.1:19092');
  assert.equal(props['process.roles'], undefined);
  assert.deepEqual(
    plan.steps.map((s) => [s.name, path.basename(s.command), s.args, s.kind, s.waitForPort]),
    [
      ['zookeeper', 'zookeeper-server-start.sh', [zkFile], 'daemon', 12181],
      ['kafka', 'kafka-server-start.sh', [serverFile], 'daemon', 19092],
    ],
  );
  assert.equal(plan.steps[0]!.env['KAFKA_HEAP_OPTS'], undefined, "the scripts' default heap unless asked");
}));

test('a directory that is not a distribution, or lacks the mode\'s script, is refused', withTempDir((root) => {
  assert.throws(() => detectKafkaDistribution(root), /not an unpacked Kafka distribution/);
  const home = fakeDistribution(root, '3.6.1', false);
  fs.rmSync(path.join(home, 'bin', 'kafka-storage.sh'));
  assert.throws(() => detectKafkaDistribution(home), /lacks bin\/kafka-storage.sh/);
}));

test('cluster ids are 22 url-safe base64 characters that do not start with a dash', () => {
  for (let i = 0; i < 200; i++) {
    const id = randomClusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    assert.equal(Buffer.from(id, 'base64url').length, 16);
  }
});

test('properties text escapes backslashes and key separators', () => {
  const text = propertiesText({ 'log.dirs': 'C:\\kafka\\data', 'odd key=x': 'v' }, 'comment');
  assert.ok(text.startsWith('# comment\n'));
  assert.ok(text.includes('log.dirs=C:\\\\kafka\\\\data\n'));
  assert.ok(text.includes('odd\\ key\\=x=v\n'));
});

test('the launcher runs a 3.x plan in order, waits for the port and stops the broker', withTempDir(async (root) => {
  const home = fakeDistribution(root, '3.7.0', false);
  const work = path.join(root, 'work');
  const brokerPort = await freePort();
  const plan = planKafkaLaunch(detectKafkaDistribution(home), { ...input(work), brokerPort, controllerPort: await freePort(), nofile: 4096 });
  assert.deepEqual(plan.steps.map((s) => s.command), [path.join(home, 'bin', 'kafka-storage.sh'), '/bin/sh'], 'daemons run under ulimit -n');
  const launcher = new KafkaLauncher(plan);
  try {
    await launcher.start();
    assert.ok(await listening(brokerPort));
    assert.ok(launcher.running);
    assert.equal(typeof launcher.brokerPid, 'number');
    const limits = fs.readFileSync(`/proc/${launcher.brokerPid}/limits`, 'utf8');
    assert.match(limits, /^Max open files\s+4096\s/m, 'the broker process itself has the limit');
    const calls = fs.readFileSync(path.join(work, 'logs', 'calls.txt'), 'utf8').trim().split('\n');
    assert.deepEqual(calls, [
      `kafka-storage.sh format --cluster-id MkU3OEVBNTcwNTJENDM2Qg --config ${path.join(work, 'server.properties')}`,
      `kafka-server-start.sh ${path.join(work, 'server.properties')}`,
    ]);
  } finally {
    await launcher.stop();
  }
  assert.equal(launcher.running, false);
  assert.ok(!(await listening(brokerPort)), 'stopped');
  assert.match(fs.readFileSync(path.join(work, 'logs', 'calls.txt'), 'utf8'), /stopped .*server\.properties/);
}));

test('the launcher starts ZooKeeper before a 2.x broker and stops them in reverse order', withTempDir(async (root) => {
  const home = fakeDistribution(root, '2.8.2', true);
  const work = path.join(root, 'work');
  const brokerPort = await freePort();
  const zookeeperPort = await freePort();
  const launcher = new KafkaLauncher(planKafkaLaunch(detectKafkaDistribution(home), { ...input(work), brokerPort, zookeeperPort }));
  try {
    await launcher.start();
    assert.ok(await listening(zookeeperPort));
    assert.ok(await listening(brokerPort));
  } finally {
    await launcher.stop();
  }
  const calls = fs.readFileSync(path.join(work, 'logs', 'calls.txt'), 'utf8').trim().split('\n');
  assert.deepEqual(calls.map((c) => c.split(' ')[0]), ['zookeeper-server-start.sh', 'kafka-server-start.sh', 'stopped', 'stopped']);
  assert.ok(calls[2]!.endsWith('server.properties') && calls[3]!.endsWith('zookeeper.properties'), 'broker stopped before ZooKeeper');
}));

test('a failing format step stops the launch with the script\'s output', withTempDir(async (root) => {
  const home = fakeDistribution(root, '3.7.0', false);
  fs.writeFileSync(path.join(home, 'bin', 'kafka-storage.sh'), '#!/bin/sh\necho "cluster id is bad" >&2\nexit 3\n', { mode: 0o755 });
  const launcher = new KafkaLauncher(planKafkaLaunch(detectKafkaDistribution(home), { ...input(path.join(root, 'work')), brokerPort: await freePort() }));
  await assert.rejects(launcher.start(), /format .* exited 3:[\s\S]*cluster id is bad/);
  await launcher.stop();
}));

test('the kafka-home target starts and stops a fake distribution and removes its temp folder', withTempDir(async (root) => {
  const home = fakeDistribution(root, '3.7.0', false);
  // findJava looks in $JAVA_HOME/bin first: a stand-in is enough, the fake scripts never call it.
  const javaHome = path.join(root, 'jdk');
  fs.mkdirSync(path.join(javaHome, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(javaHome, 'bin', 'java'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const saved = process.env['JAVA_HOME'];
  process.env['JAVA_HOME'] = javaHome;
  const parent = path.join(root, 'data');
  fs.mkdirSync(parent);
  const target = new KafkaHomeTarget(home, parent, ['log.retention.ms=60000'], '-Xmx512M', false);
  try {
    assert.equal(target.label, 'kafka-3.7.0');
    assert.equal(target.version, 'Apache Kafka 3.7.0 (kraft)');
    await target.start();
    assert.ok(target.isRunning());
    assert.ok(await listening(target.port));
    assert.equal(typeof target.pid, 'number');
    assert.equal(target.settings['log.retention.ms'], '60000');
    assert.equal(target.settings['KAFKA_HEAP_OPTS'], '-Xmx512M');
    assert.ok(target.dataDir!.startsWith(parent));
  } finally {
    await target.stop();
    if (saved === undefined) delete process.env['JAVA_HOME'];
    else process.env['JAVA_HOME'] = saved;
  }
  assert.equal(target.isRunning(), false);
  assert.deepEqual(fs.readdirSync(parent), [], 'the temporary folder is gone');
}));

test('the strand and kafka-home targets get the same suite settings for deletion and group joins', withTempDir((root) => {
  const dist = detectKafkaDistribution(fakeDistribution(root, '2.8.2', true));
  const work = path.join(root, 'work');
  const plan = planKafkaLaunch(dist, input(work));
  const kafka = parseProperties(plan.files.find((f) => f.path === path.join(work, 'server.properties'))!.contents);
  const strand = strandSettings(19092, path.join(work, 'strand'), {});
  for (const key of ['log.segment.delete.delay.ms', 'group.initial.rebalance.delay.ms']) {
    assert.equal(strand[key], '0', `strand ${key}`);
    assert.equal(kafka[key], strand[key], `kafka ${key}`);
  }
  assert.equal(strandSettings(19092, work, { 'log.segment.delete.delay.ms': '60000' })['log.segment.delete.delay.ms'], '60000', 'overrides win');
}));
