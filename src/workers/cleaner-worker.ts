// The piscina entry point of the log cleaner: one task cleans one log (see log-clean.ts).
// Each worker thread keeps its dedupe map between tasks, as each of Kafka's cleaner threads
// keeps its own, so the buffer (log.cleaner.dedupe.buffer.size / log.cleaner.threads) is
// allocated once per thread rather than once per clean.

import type { CleanResult, CleanTask } from './cleaner-task.js';
import { cleanLog } from './log-clean.js';
import { OffsetMap } from './offset-map.js';

let map: OffsetMap | undefined;

export default async function runCleanTask(task: CleanTask): Promise<CleanResult> {
  if (map === undefined || map.slots * 16 !== OffsetMap.bytesFor(task.dedupeBufferBytes)) {
    map = undefined; // let the old one go before allocating the new one
    map = new OffsetMap(task.dedupeBufferBytes, task.dedupeLoadFactor);
  }
  return cleanLog(task, map);
}
