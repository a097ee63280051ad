// Drives hostile inputs (fuzz-inputs.ts) into a live broker over many pipelined
// connections, and watches it: a health probe on its own connection (ApiVersions and
// Metadata every probeIntervalMs; a probe that fails or takes longer than probeTimeoutMs is a
// finding), response order and decodability on the fuzzing connections, and the broker's
// exit (the caller passes a promise that settles when the process exits).
//
// A connection sends a burst of inputs in one go (or cut into random small writes), plus
// a valid ApiVersions request as a sentinel after a burst of honest frames: the sentinel's
// answer means every request of the burst was dealt with (responses are ordered). The broker
// closing the connection is a legitimate answer to a bad frame; the driver reconnects. A
// connection with nothing arriving for idleMs is abandoned (a frame the broker still waits
// for, or a long-poll Fetch).

import * as net from 'node:net';
import { ApiKey, decodeResponseFrame, encodeRequestFrame, defaultApiVersionsRequest, defaultMetadataRequest } from '../../src/protocol/index.js';
import type { ApiKeyNumber } from '../../src/protocol/frame.js';
import { apiCodec } from '../../src/protocol/generated/index.js';
import { generateInput, type FuzzContext, type FuzzInput } from './fuzz-inputs.js';

export interface FuzzRunOptions {
  port: number;
  seed: number;
  /** Index of the first input (to continue or to shard a run). */
  firstIndex?: number;
  inputs: number;
  connections: number;
  /** Inputs pipelined per burst: 1..maxBurst. */
  maxBurst: number;
  /**
   * Fraction of bursts (0..1) that end right after their first input that is not a plain
   * valid request. The broker closes the connection on most hostile inputs and never reads
   * what was pipelined behind them, so ending bursts there gets more inputs read per
   * connection; the rest of the bursts keep hostile inputs pipelined back to back.
   */
  endBurstAfterHostile?: number;
  idleMs: number;
  ctx: FuzzContext;
  /** Settles when the broker process exits (for whatever reason). */
  brokerExit: Promise<unknown>;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Stop early after this long (the stats say how far it got). */
  deadlineMs?: number;
  onProgress?: (stats: FuzzStats) => void;
  progressEveryMs?: number;
  /**
   * Filled with local port -> indices of the inputs sent on the latest connection from that
   * port, so that a broker log line (which names the remote address) can be traced to inputs.
   */
  inputsByPort?: Map<number, number[]>;
}

export interface FuzzStats {
  inputsSent: number;
  /**
   * Inputs the broker certainly read: those answered (or before an answered one) plus, on a
   * connection it closed, the one that made it close. Inputs pipelined behind the one that
   * closed a connection were sent but never read.
   */
  inputsDelivered: number;
  bytesSent: number;
  bursts: number;
  connectionsOpened: number;
  connectErrors: number;
  /** The broker closed the connection (a legitimate answer to a bad frame). */
  closedByBroker: number;
  /** Abandoned by the driver after idleMs of silence. */
  idleAbandoned: number;
  responses: number;
  sentinelsAnswered: number;
  /** Responses that do not decode with the codec of the request's api key and version. */
  undecodableResponses: number;
  undecodableSamples: string[];
  /** Responses out of request order, or with a correlation id nobody sent (honest bursts only). */
  orderViolations: number;
  orderSamples: string[];
  probes: number;
  probeFailures: number;
  probeFailureSamples: string[];
  probeMaxLatencyMs: number;
  byKind: Record<string, number>;
  byMutation: Record<string, number>;
  elapsedMs: number;
  brokerExited: boolean;
  /** Input indices most recently sent (newest last), for replaying what killed a broker. */
  recentInputs: number[];
}

const RECENT_INPUTS = 4096;
const SENTINEL_CORRELATION_ID = -7; // no fuzz input uses a negative id in an honest valid frame by construction
const PROBE_CLIENT = 'strand-fuzz-probe';

function sentinelFrame(): Buffer {
  return encodeRequestFrame(ApiKey.ApiVersions, 0, SENTINEL_CORRELATION_ID, 'strand-fuzz-sentinel', defaultApiVersionsRequest());
}

function mutationKey(m: string): string {
  // Group "utf8.topics[].name" as "utf8" etc. so the table stays small.
  const dot = m.indexOf('.');
  if (m.startsWith('utf8') || m.startsWith('header.')) return m.slice(0, dot);
  return m;
}

export function emptyStats(): FuzzStats {
  return {
    inputsSent: 0, inputsDelivered: 0, bytesSent: 0, bursts: 0, connectionsOpened: 0, connectErrors: 0, closedByBroker: 0,
    idleAbandoned: 0, responses: 0, sentinelsAnswered: 0, undecodableResponses: 0, undecodableSamples: [],
    orderViolations: 0, orderSamples: [], probes: 0, probeFailures: 0, probeFailureSamples: [], probeMaxLatencyMs: 0,
    byKind: {}, byMutation: {}, elapsedMs: 0, brokerExited: false, recentInputs: [],
  };
}

interface Expected {
  correlationId: number;
  apiKey: number | null;
  apiVersion: number | null;
  index: number;
}

/** Decodes a response as the codec of its request would; ApiVersions may answer in v0 (KIP-511). */
function checkDecodes(frame: Buffer, e: Expected): string | null {
  if (e.apiKey === null || e.apiVersion === null) return null;
  const codec = apiCodec(e.apiKey);
  if (codec === undefined || e.apiVersion < codec.minVersion || e.apiVersion > codec.maxVersion) return null;
  try {
    decodeResponseFrame(e.apiKey as ApiKeyNumber, e.apiVersion, frame);
    return null;
  } catch (err) {
    if (e.apiKey === ApiKey.ApiVersions) {
      try {
        decodeResponseFrame(ApiKey.ApiVersions, 0, frame);
        return null;
      } catch {
        // fall through
      }
    }
    return `input ${e.index} api ${e.apiKey} v${e.apiVersion}: ${(err as Error).message}`;
  }
}

class Run {
  readonly stats = emptyStats();
  private nextIndex: number;
  private readonly endIndex: number;
  private stopped = false;
  private finished = false;
  private readonly startedAt = Date.now();
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: FuzzRunOptions) {
    this.nextIndex = opts.firstIndex ?? 0;
    this.endIndex = this.nextIndex + opts.inputs;
    opts.brokerExit.then(() => {
      if (this.finished) return;
      this.stats.brokerExited = true;
      this.stop();
    }, () => undefined);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.sockets) s.destroy();
  }

  private takeBurst(): FuzzInput[] {
    const n = 1 + Math.floor(Math.random() * this.opts.maxBurst);
    const endAfterHostile = Math.random() < (this.opts.endBurstAfterHostile ?? 0.9);
    const out: FuzzInput[] = [];
    while (out.length < n && this.nextIndex < this.endIndex) {
      const input = generateInput(this.opts.ctx, this.opts.seed, this.nextIndex++);
      out.push(input);
      if (!input.honest) break; // nothing after a lying frame is read as we meant it
      if (endAfterHostile && input.kind !== 'valid') break;
    }
    return out;
  }

  private note(input: FuzzInput): void {
    const s = this.stats;
    s.inputsSent += 1;
    s.bytesSent += input.bytes.length;
    s.byKind[input.kind] = (s.byKind[input.kind] ?? 0) + 1;
    for (const m of input.mutations) {
      const k = mutationKey(m);
      s.byMutation[k] = (s.byMutation[k] ?? 0) + 1;
    }
    s.recentInputs.push(input.index);
    if (s.recentInputs.length > RECENT_INPUTS * 2) s.recentInputs.splice(0, s.recentInputs.length - RECENT_INPUTS);
  }

  /** One connection: bursts until the broker closes it, it goes idle, or the inputs run out. */
  private connection(): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect({ port: this.opts.port, host: '127.0.0.1' });
      socket.setNoDelay(true);
      this.sockets.add(socket);
      let connected = false;
      let received: Buffer = Buffer.alloc(0);
      let expected: Expected[] = [];
      let honestBurst = true;
      let burstInputs = 0;
      let consumed = 0; // expected entries (of this burst) answered or passed over
      let accounted = true;
      let idleTimer: NodeJS.Timeout | null = null;
      let finished = false;

      const account = (closed: boolean): void => {
        if (accounted) return;
        accounted = true;
        this.stats.inputsDelivered += Math.min(burstInputs, consumed + (closed ? 1 : 0));
      };
      const finish = (): void => {
        if (finished) return;
        finished = true;
        account(false);
        if (idleTimer !== null) clearTimeout(idleTimer);
        this.sockets.delete(socket);
        socket.destroy();
        resolve();
      };
      const armIdle = (): void => {
        if (idleTimer !== null) clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          this.stats.idleAbandoned += 1;
          finish();
        }, this.opts.idleMs);
      };
      const sendBurst = (): void => {
        if (this.stopped || (this.opts.deadlineMs !== undefined && Date.now() - this.startedAt > this.opts.deadlineMs)) {
          finish();
          return;
        }
        const burst = this.takeBurst();
        if (burst.length === 0) {
          finish();
          return;
        }
        this.stats.bursts += 1;
        const byPort = this.opts.inputsByPort;
        if (byPort !== undefined && socket.localPort !== undefined) {
          const list = byPort.get(socket.localPort) ?? [];
          list.push(...burst.map((i) => i.index));
          byPort.delete(socket.localPort);
          byPort.set(socket.localPort, list);
          if (byPort.size > 60_000) byPort.delete(byPort.keys().next().value as number);
        }
        burstInputs = burst.length;
        consumed = 0;
        accounted = false;
        honestBurst = burst.every((i) => i.honest);
        expected = [];
        const parts: Buffer[] = [];
        for (const input of burst) {
          this.note(input);
          parts.push(input.bytes);
          if (input.honest && input.correlationId !== null) {
            expected.push({ correlationId: input.correlationId, apiKey: input.apiKey, apiVersion: input.apiVersion, index: input.index });
          }
        }
        if (honestBurst) {
          parts.push(sentinelFrame());
          expected.push({ correlationId: SENTINEL_CORRELATION_ID, apiKey: ApiKey.ApiVersions, apiVersion: 0, index: -1 });
        }
        const all = Buffer.concat(parts);
        if (Math.random() < 0.1 && all.length > 1) {
          // Cut into small writes so that size prefixes and headers straddle TCP segments.
          let at = 0;
          while (at < all.length) {
            const len = 1 + Math.floor(Math.random() * Math.min(64, all.length - at));
            socket.write(all.subarray(at, at + len));
            at += len;
          }
        } else {
          socket.write(all);
        }
        armIdle();
      };
      const onFrame = (frame: Buffer): void => {
        this.stats.responses += 1;
        if (frame.length < 4) {
          this.stats.orderViolations += 1;
          return;
        }
        const correlationId = frame.readInt32BE(0);
        const at = expected.findIndex((e) => e.correlationId === correlationId);
        if (at < 0) {
          if (honestBurst) {
            this.stats.orderViolations += 1;
            if (this.stats.orderSamples.length < 10) this.stats.orderSamples.push(`correlation id ${correlationId} not among those sent`);
          }
          return;
        }
        const e = expected[at]!;
        expected = expected.slice(at + 1);
        consumed += at + 1;
        const problem = checkDecodes(frame, e);
        if (problem !== null) {
          this.stats.undecodableResponses += 1;
          if (this.stats.undecodableSamples.length < 20) this.stats.undecodableSamples.push(problem);
        }
        if (e.correlationId === SENTINEL_CORRELATION_ID && e.index === -1) {
          this.stats.sentinelsAnswered += 1;
          consumed = burstInputs;
          account(false);
          setImmediate(sendBurst);
        }
      };
      socket.once('connect', () => {
        connected = true;
        if (this.opts.inputsByPort !== undefined && socket.localPort !== undefined) this.opts.inputsByPort.set(socket.localPort, []);
        this.stats.connectionsOpened += 1;
        sendBurst();
      });
      socket.on('data', (chunk: Buffer) => {
        armIdle();
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        while (received.length >= 4) {
          const size = received.readInt32BE(0);
          if (size < 0) {
            this.stats.orderViolations += 1;
            finish();
            return;
          }
          if (received.length < 4 + size) break;
          const frame = received.subarray(4, 4 + size);
          received = received.subarray(4 + size);
          onFrame(frame);
        }
      });
      socket.on('error', () => {
        if (!connected) this.stats.connectErrors += 1;
      });
      socket.on('close', () => {
        if (connected && !finished) {
          this.stats.closedByBroker += 1;
          account(true);
        }
        finish();
      });
    });
  }

  private async worker(): Promise<void> {
    while (!this.stopped && this.nextIndex < this.endIndex) {
      if (this.opts.deadlineMs !== undefined && Date.now() - this.startedAt > this.opts.deadlineMs) return;
      await this.connection();
      if (this.stats.connectErrors > 100 && this.stats.connectErrors > this.stats.connectionsOpened) {
        // The broker does not accept connections any more: that is the finding.
        this.stop();
      }
    }
  }

  /** The health probe: ApiVersions + Metadata on a connection of its own, which must stay open. */
  private async probe(): Promise<void> {
    const interval = this.opts.probeIntervalMs ?? 250;
    const timeout = this.opts.probeTimeoutMs ?? 5_000;
    const { CodecClient } = await import('./codec-client.js');
    let client = await CodecClient.connect(this.opts.port, { clientId: PROBE_CLIENT });
    const fail = (why: string): void => {
      this.stats.probeFailures += 1;
      if (this.stats.probeFailureSamples.length < 10) this.stats.probeFailureSamples.push(why);
    };
    try {
      while (!this.stopped) {
        const started = Date.now();
        try {
          const [versions, metadata] = await Promise.all([
            client.request(ApiKey.ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: 'strand-fuzz', clientSoftwareVersion: '1.0' }, timeout),
            client.request(ApiKey.Metadata, 1, { ...defaultMetadataRequest(), topics: [] }, timeout),
          ]);
          if (versions.errorCode !== 0) fail(`ApiVersions error ${versions.errorCode}`);
          if (metadata.brokers.length === 0) fail('Metadata without brokers');
        } catch (err) {
          if (this.stopped) break;
          fail((err as Error).message);
          client.close();
          try {
            client = await CodecClient.connect(this.opts.port, { clientId: PROBE_CLIENT });
          } catch (e) {
            fail(`probe reconnect: ${(e as Error).message}`);
            await new Promise((r) => setTimeout(r, interval));
            continue;
          }
        }
        this.stats.probes += 1;
        const latency = Date.now() - started;
        if (latency > this.stats.probeMaxLatencyMs) this.stats.probeMaxLatencyMs = latency;
        await new Promise((r) => setTimeout(r, interval));
      }
    } finally {
      client.close();
    }
  }

  async run(): Promise<FuzzStats> {
    const progress = this.opts.onProgress === undefined ? null : setInterval(() => {
      this.stats.elapsedMs = Date.now() - this.startedAt;
      this.opts.onProgress!(this.stats);
    }, this.opts.progressEveryMs ?? 5_000);
    const probe = this.probe().catch((err: unknown) => {
      this.stats.probeFailures += 1;
      this.stats.probeFailureSamples.push(`probe crashed: ${(err as Error).message}`);
    });
    try {
      await Promise.all(Array.from({ length: this.opts.connections }, () => this.worker()));
    } finally {
      this.stopped = true;
      if (progress !== null) clearInterval(progress);
      await probe;
      this.stop();
      this.finished = true;
    }
    this.stats.elapsedMs = Date.now() - this.startedAt;
    this.stats.recentInputs = this.stats.recentInputs.slice(-RECENT_INPUTS);
    return this.stats;
  }
}

/** Runs the fuzzer; resolves with the statistics when the inputs are spent (or the broker died). */
export function runFuzz(opts: FuzzRunOptions): Promise<FuzzStats> {
  return new Run(opts).run();
}

/**
 * Sends the given inputs one at a time, each on a fresh connection, and returns the first
 * index after which the broker is no longer alive (null if it survived them all).
 */
export async function replayInputs(
  ctx: FuzzContext,
  seed: number,
  indices: number[],
  port: number,
  alive: () => boolean,
  settleMs = 30,
): Promise<number | null> {
  for (const index of indices) {
    const input = generateInput(ctx, seed, index);
    await new Promise<void>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      const done = (): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      const timer = setTimeout(done, 500);
      socket.once('connect', () => socket.write(input.bytes));
      socket.on('data', () => undefined);
      socket.once('error', done);
      socket.once('close', done);
    });
    await new Promise((r) => setTimeout(r, settleMs));
    if (!alive()) return index;
  }
  return null;
}
