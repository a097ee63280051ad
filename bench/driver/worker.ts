// Entry of a load generator worker thread: a producer or a consumer, by its config. It
// connects, says 'ready', waits for 'start' (so that all workers start together), runs,
// and posts its result.

import { parentPort, workerData } from 'node:worker_threads';
import { ConsumerRun } from './consumer.js';
import type { FromWorker, ToWorker, WorkerConfig } from './messages.js';
import { ProducerRun } from './producer.js';

function post(msg: FromWorker): void {
  parentPort!.postMessage(msg);
}

async function main(): Promise<void> {
  const cfg = workerData as WorkerConfig;
  const onProgress = (records: number, payloadBytes: number): void => post({ type: 'progress', records, payloadBytes });
  const run = cfg.role === 'producer' ? new ProducerRun(cfg, onProgress) : new ConsumerRun(cfg, onProgress);
  const started = new Promise<void>((resolve) => {
    parentPort!.on('message', (msg: ToWorker) => {
      if (msg.type === 'start') resolve();
      else if (msg.type === 'stop') run.stop();
      else if (msg.type === 'end-offsets' && run instanceof ConsumerRun) run.setEndOffsets(msg.offsets);
    });
  });
  await run.prepare();
  post({ type: 'ready' });
  await started;
  const result = await run.run();
  post({ type: 'done', result });
  parentPort!.close();
}

main().catch((err: unknown) => {
  post({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  parentPort!.close();
});
