// Starts load generator workers, waits until all are connected, starts them together,
// sums their progress, and collects their results.

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerConfig } from './messages.js';

const WORKER_SCRIPT = path.join(__dirname, 'worker.js');

export class WorkerGroup<R> {
  private readonly workers: Worker[] = [];
  private readonly progress: Array<{ records: number; payloadBytes: number }> = [];
  private readonly readyPromise: Promise<void>;
  private readonly resultsPromise: Promise<R[]>;

  constructor(configs: readonly WorkerConfig[]) {
    const readies: Array<Promise<void>> = [];
    const results: Array<Promise<R>> = [];
    configs.forEach((cfg, i) => {
      const worker = new Worker(WORKER_SCRIPT, { workerData: cfg });
      this.workers.push(worker);
      this.progress.push({ records: 0, payloadBytes: 0 });
      let markReady: () => void = () => {};
      let failReady: (e: Error) => void = () => {};
      readies.push(
        new Promise<void>((resolve, reject) => {
          markReady = resolve;
          failReady = reject;
        }),
      );
      results.push(
        new Promise<R>((resolve, reject) => {
          let settled = false;
          const fail = (e: Error): void => {
            if (settled) return;
            settled = true;
            failReady(e);
            reject(e);
          };
          worker.on('message', (msg: FromWorker) => {
            if (msg.type === 'ready') markReady();
            else if (msg.type === 'progress') this.progress[i] = { records: msg.records, payloadBytes: msg.payloadBytes };
            else if (msg.type === 'done') {
              settled = true;
              resolve(msg.result as R);
            } else if (msg.type === 'failed') fail(new Error(`${cfg.role} worker ${i}: ${msg.message}`));
          });
          worker.on('error', (e) => fail(e));
          worker.on('exit', (code) => fail(new Error(`${cfg.role} worker ${i} exited (${code}) without a result`)));
        }),
      );
    });
    this.readyPromise = Promise.all(readies).then(() => undefined);
    this.resultsPromise = Promise.all(results);
    // A failure surfaces through ready() or results(); never as an unhandled rejection.
    this.readyPromise.catch(() => {});
    this.resultsPromise.catch(() => {});
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  post(msg: ToWorker): void {
    for (const w of this.workers) w.postMessage(msg);
  }

  start(): void {
    this.post({ type: 'start' });
  }

  results(): Promise<R[]> {
    return this.resultsPromise;
  }

  /** Records and payload bytes all workers reported so far. */
  totals(): { records: number; payloadBytes: number } {
    let records = 0;
    let payloadBytes = 0;
    for (const p of this.progress) {
      records += p.records;
      payloadBytes += p.payloadBytes;
    }
    return { records, payloadBytes };
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
