// The piscina entry point of the log cleaner: one task cleans one log (see log-clean.ts).
// Each worker thread keeps its dedupe map between tasks, as each of Kafka's cleaner threads
// keeps its own, so the buffer (log.cleaner.dedupe.buffer.size / log.cleaner.threads) is
// allocated once per thread rather than once per clean.

import * as fs from 'node:fs';
import * as os from 'node:os';
import type { CleanResult, CleanTask } from './cleaner-task.js';
import { cleanLog } from './log-clean.js';
import { OffsetMap } from './offset-map.js';

/**
 * The nice value of cleaner threads. Cleaning is background work: when cores are scarce the
 * event loop serving produce and fetch must win, and a cleaner at normal priority takes a
 * whole core from it (measured in bench/cleaner: produce p99 x2.8 on 2 cores). Linux gives
 * each thread its own nice value; elsewhere this is skipped.
 */
const CLEANER_THREAD_NICE = 10;

function lowerThisThreadsPriority(): void {
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>": the tid is this thread's id.
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.max(os.getPriority(tid), CLEANER_THREAD_NICE));
  } catch {
    // not Linux, or not allowed: run at the process's priority
  }
}

lowerThisThreadsPriority();

let map: OffsetMap | undefined;

export default async function runCleanTask(task: CleanTask): Promise<CleanResult> {
  if (map === undefined || !map.isShaped(task.dedupeBufferBytes, task.dedupeLoadFactor)) {
    map = undefined; // let the old one go before allocating the new one
    map = new OffsetMap(task.dedupeBufferBytes, task.dedupeLoadFactor);
  }
  return cleanLog(task, map);
}
