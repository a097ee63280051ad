// Apache Kafka started from an unpacked binary distribution: KRaft mode (one process as
// broker and controller, a freshly formatted log dir) for 3.x and later; for 2.x the
// bundled ZooKeeper first, then the broker. Everything lives in a temporary folder that is
// removed afterwards. Planning (which files, which commands) is separate from running it,
// so the plan can be checked without Kafka or Java.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, runToCompletion, spawnTracked, stopChild, waitForPort, withOpenFileLimit } from './process.js';
import { parseOverrides, type Target } from './target.js';

export interface KafkaDistribution {
  home: string;
  version: string;
  major: number;
  minor: number;
  mode: 'kraft' | 'zookeeper';
  bin: string;
}

const NON_CODE_JAR_SUFFIXES = ['test', 'sources', 'javadoc', 'scaladoc', 'test-sources'];

/** The Kafka version of a distribution, from its core jar (libs/kafka_<scala>-<version>.jar) or kafka-clients. */
export function kafkaVersionFromLibs(jarNames: readonly string[]): string | null {
  for (const pattern of [/^kafka_[\d.]+-(.+)\.jar$/, /^kafka-clients-(.+)\.jar$/]) {
    for (const name of jarNames) {
      const m = pattern.exec(name);
      if (m === null) continue;
      const version = m[1]!;
      if (NON_CODE_JAR_SUFFIXES.some((s) => version.endsWith(`-${s}`))) continue;
      if (/^\d+\.\d+/.test(version)) return version;
    }
  }
  return null;
}

export function detectKafkaDistribution(home: string): KafkaDistribution {
  const bin = path.join(home, 'bin');
  if (!fs.existsSync(path.join(bin, 'kafka-server-start.sh'))) {
    throw new Error(`${home} is not an unpacked Kafka distribution (no bin/kafka-server-start.sh)`);
  }
  let jars: string[] = [];
  try {
    jars = fs.readdirSync(path.join(home, 'libs'));
  } catch {
    throw new Error(`${home} has no libs/ directory: cannot tell the Kafka version`);
  }
  const version = kafkaVersionFromLibs(jars);
  if (version === null) throw new Error(`cannot tell the Kafka version of ${home} from libs/ (expected kafka_<scala>-<version>.jar)`);
  const [major, minor] = version.split('.').map((x) => Number.parseInt(x, 10)) as [number, number];
  const mode = major >= 3 ? 'kraft' : 'zookeeper';
  const needed = mode === 'kraft' ? 'kafka-storage.sh' : 'zookeeper-server-start.sh';
  if (!fs.existsSync(path.join(bin, needed))) throw new Error(`Kafka ${version} at ${home} lacks bin/${needed}, needed for ${mode} mode`);
  return { home, version, major, minor, mode, bin };
}

/**
 * A cluster id as Kafka's tools make them: 16 random bytes in URL-safe base64 without
 * padding. Ids starting with '-' are avoided: command lines would take them for options.
 */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Java properties text; backslashes, and separators or spaces at the start of keys, escaped. */
export function propertiesText(props: Record<string, string>, comment: string): string {
  const escape = (s: string, isKey: boolean): string => {
    let out = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    if (isKey) out = out.replace(/([=: ])/g, '\\$1');
    else out = out.replace(/^ /, '\\ ');
    return out;
  };
  const lines = [`# ${comment}`];
  for (const [k, v] of Object.entries(props)) lines.push(`${escape(k, true)}=${escape(v, false)}`);
  return `${lines.join('\n')}\n`;
}

export interface KafkaLaunchInput {
  workDir: string;
  brokerPort: number;
  /** KRaft controller listener port. */
  controllerPort: number;
  /** ZooKeeper client port (2.x). */
  zookeeperPort: number;
  clusterId: string;
  overrides: Record<string, string>;
  heapOpts: string | null;
  /** ulimit -n for the daemons; null = inherited. */
  nofile?: number | null;
}

export interface LaunchStep {
  name: string;
  command: string;
  args: string[];
  /** Added to the suite's environment. */
  env: Record<string, string>;
  /** 'once' runs to completion and must exit 0; 'daemon' keeps running until stop. */
  kind: 'once' | 'daemon';
  /** For daemons: the port that shows it is up. */
  waitForPort: number | null;
}

export interface KafkaLaunchPlan {
  distribution: KafkaDistribution;
  files: Array<{ path: string; contents: string }>;
  steps: LaunchStep[];
  brokerPort: number;
  dataDir: string;
  /** The broker's server.properties, as written. */
  serverProperties: Record<string, string>;
}

/** Settings shared by both modes: one broker, so every internal topic has one replica. */
function singleBrokerSettings(dataDir: string): Record<string, string> {
  return {
    'log.dirs': dataDir,
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
    // The suite deletes each sample's topic. With the 60 s default its files, gigabytes of
    // page cache, would be freed in the middle of some later phase, which on a VM that
    // reports freed memory to its host makes that phase's writes several times cheaper.
    // The strand target gets the same.
    'log.segment.delete.delay.ms': '0',
  };
}

export function planKafkaLaunch(dist: KafkaDistribution, input: KafkaLaunchInput): KafkaLaunchPlan {
  const dataDir = path.join(input.workDir, 'data');
  const serverFile = path.join(input.workDir, 'server.properties');
  const env: Record<string, string> = { LOG_DIR: path.join(input.workDir, 'logs') };
  if (input.heapOpts !== null) env['KAFKA_HEAP_OPTS'] = input.heapOpts;
  const files: KafkaLaunchPlan['files'] = [];
  const steps: LaunchStep[] = [];
  let server: Record<string, string>;
  if (dist.mode === 'kraft') {
    server = {
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': `1@127.0.0.1:${input.controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${input.brokerPort},CONTROLLER://127.0.0.1:${input.controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${input.brokerPort}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      ...singleBrokerSettings(dataDir),
      ...input.overrides,
    };
    steps.push({
      name: 'format',
      command: path.join(dist.bin, 'kafka-storage.sh'),
      args: ['format', '--cluster-id', input.clusterId, '--config', serverFile],
      env,
      kind: 'once',
      waitForPort: null,
    });
  } else {
    const zkFile = path.join(input.workDir, 'zookeeper.properties');
    files.push({
      path: zkFile,
      contents: propertiesText(
        {
          dataDir: path.join(input.workDir, 'zookeeper'),
          clientPort: String(input.zookeeperPort),
          clientPortAddress: '127.0.0.1',
          maxClientCnxns: '0',
          'admin.enableServer': 'false',
        },
        'ZooKeeper for the strand benchmark suite',
      ),
    });
    server = {
      'broker.id': '1',
      listeners: `PLAINTEXT://127.0.0.1:${input.brokerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${input.brokerPort}`,
      'zookeeper.connect': `127.0.0.1:${input.zookeeperPort}`,
      'zookeeper.connection.timeout.ms': '18000',
      ...singleBrokerSettings(dataDir),
      ...input.overrides,
    };
    steps.push({
      name: 'zookeeper',
      command: path.join(dist.bin, 'zookeeper-server-start.sh'),
      args: [zkFile],
      env,
      kind: 'daemon',
      waitForPort: input.zookeeperPort,
    });
  }
  files.unshift({ path: serverFile, contents: propertiesText(server, `Apache Kafka ${dist.version} (${dist.mode}) for the strand benchmark suite`) });
  steps.push({
    name: 'kafka',
    command: path.join(dist.bin, 'kafka-server-start.sh'),
    args: [serverFile],
    env,
    kind: 'daemon',
    waitForPort: input.brokerPort,
  });
  const limited = steps.map((step) => {
    if (step.kind !== 'daemon' || input.nofile == null) return step;
    const wrapped = withOpenFileLimit(input.nofile, step.command, step.args);
    return { ...step, command: wrapped.command, args: wrapped.args };
  });
  return { distribution: dist, files, steps: limited, brokerPort: input.brokerPort, dataDir: server['log.dirs'] ?? dataDir, serverProperties: server };
}

/** `java` as kafka-run-class.sh finds it: $JAVA_HOME/bin/java, else on the PATH. */
export function findJava(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates: string[] = [];
  if (env['JAVA_HOME']) candidates.push(path.join(env['JAVA_HOME'], 'bin', 'java'));
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) if (dir !== '') candidates.push(path.join(dir, 'java'));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

const STEP_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const OUTPUT_TAIL_CHARS = 4000;

/** Runs a plan: writes its files, runs its steps in order; stop() ends the daemons in reverse. */
export class KafkaLauncher {
  private readonly daemons: Array<{ name: string; child: ChildProcess }> = [];
  private readonly output: string[] = [];

  constructor(private readonly plan: KafkaLaunchPlan) {}

  /** True while every daemon of the plan runs. */
  get running(): boolean {
    return this.daemons.length > 0 && this.daemons.every((d) => d.child.exitCode === null && d.child.signalCode === null);
  }

  get brokerPid(): number | null {
    return this.daemons.find((d) => d.name === 'kafka')?.child.pid ?? null;
  }

  async start(): Promise<void> {
    for (const f of this.plan.files) {
      fs.mkdirSync(path.dirname(f.path), { recursive: true });
      fs.writeFileSync(f.path, f.contents);
    }
    for (const step of this.plan.steps) {
      const env = { ...process.env, ...step.env };
      if (step.env['LOG_DIR'] !== undefined) fs.mkdirSync(step.env['LOG_DIR'], { recursive: true });
      if (step.kind === 'once') {
        const r = await runToCompletion(step.command, step.args, { env, timeoutMs: STEP_TIMEOUT_MS });
        this.remember(step.name, r.stdout + r.stderr);
        if (r.code !== 0) {
          throw new Error(`${step.name} (${step.command} ${step.args.join(' ')}) ${r.timedOut ? 'timed out' : `exited ${r.code ?? r.signal}`}:\n${this.tail()}`);
        }
        continue;
      }
      const child = spawnTracked(step.command, step.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (c: Buffer) => this.remember(step.name, c.toString('utf8')));
      child.stderr!.on('data', (c: Buffer) => this.remember(step.name, c.toString('utf8')));
      const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`${step.name}: ${e.message}`))));
      spawnError.catch(() => {});
      this.daemons.push({ name: step.name, child });
      if (step.waitForPort !== null) {
        await Promise.race([waitForPort('127.0.0.1', step.waitForPort, STEP_TIMEOUT_MS, child, () => this.tail()), spawnError]);
      }
    }
  }

  async stop(): Promise<void> {
    for (const d of [...this.daemons].reverse()) await stopChild(d.child, STOP_TIMEOUT_MS);
    this.daemons.length = 0;
  }

  tail(): string {
    return this.output.join('').slice(-OUTPUT_TAIL_CHARS);
  }

  private remember(name: string, text: string): void {
    if (text === '') return;
    this.output.push(`[${name}] ${text}`);
    if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
  }
}

export class KafkaHomeTarget implements Target {
  readonly kind = 'kafka-home';
  readonly host = '127.0.0.1';
  readonly label: string;
  readonly version: string;
  readonly settings: Record<string, string> = {};
  private readonly distribution: KafkaDistribution;
  private launcher: KafkaLauncher | null = null;
  private workDir = '';
  private brokerPort = 0;
  private data: string | null = null;

  constructor(
    home: string,
    private readonly parentDir: string,
    private readonly overrides: readonly string[],
    private readonly heapOpts: string | null,
    private readonly keepData: boolean,
    private readonly nofile: number | null = null,
  ) {
    this.distribution = detectKafkaDistribution(home);
    this.version = `Apache Kafka ${this.distribution.version} (${this.distribution.mode})`;
    this.label = `kafka-${this.distribution.version}`;
  }

  get port(): number {
    return this.brokerPort;
  }

  get pid(): number | null {
    return this.launcher?.brokerPid ?? null;
  }

  get dataDir(): string | null {
    return this.data;
  }

  get home(): string {
    return this.distribution.home;
  }

  async start(): Promise<void> {
    if (findJava() === null) throw new Error('kafka-home: no java found (set JAVA_HOME or put java on the PATH)');
    this.workDir = fs.mkdtempSync(path.join(this.parentDir, 'strand-bench-kafka-'));
    this.brokerPort = await freePort();
    const plan = planKafkaLaunch(this.distribution, {
      workDir: this.workDir,
      brokerPort: this.brokerPort,
      controllerPort: await freePort(),
      zookeeperPort: await freePort(),
      clusterId: randomClusterId(),
      overrides: parseOverrides(this.overrides),
      heapOpts: this.heapOpts,
      nofile: this.nofile,
    });
    this.data = plan.dataDir;
    Object.assign(this.settings, plan.serverProperties);
    this.settings['KAFKA_HEAP_OPTS'] = this.heapOpts ?? '(the scripts\' default)';
    if (this.nofile !== null) this.settings['open-file limit'] = String(this.nofile);
    this.launcher = new KafkaLauncher(plan);
    try {
      await this.launcher.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.launcher !== null) await this.launcher.stop();
    if (this.workDir !== '' && !this.keepData) fs.rmSync(this.workDir, { recursive: true, force: true });
  }

  isRunning(): boolean {
    return this.launcher?.running ?? false;
  }

  logTail(): string {
    return this.launcher?.tail() ?? '';
  }
}
