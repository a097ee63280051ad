// A clock the tests move by hand: scheduled tasks run, in time order, when advance() passes
// their due time. Lets the state machine tests cross session and rebalance timeouts at once.

import type { Clock, ScheduledTask } from '../../src/coordinator/group/index.js';

interface Entry {
  dueMs: number;
  seq: number;
  task: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private now: number;
  private seq = 0;
  private entries: Entry[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  schedule(delayMs: number, task: () => void): ScheduledTask {
    const entry: Entry = { dueMs: this.now + Math.max(0, delayMs), seq: this.seq++, task, cancelled: false };
    this.entries.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  /** Moves time forward by `ms`, running every task that falls due on the way. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      this.entries = this.entries.filter((e) => !e.cancelled);
      let next: Entry | undefined;
      for (const e of this.entries) {
        if (e.dueMs <= target && (next === undefined || e.dueMs < next.dueMs || (e.dueMs === next.dueMs && e.seq < next.seq))) next = e;
      }
      if (next === undefined) break;
      next.cancelled = true;
      this.now = Math.max(this.now, next.dueMs);
      next.task();
    }
    this.now = target;
  }

  /** Tasks still waiting (not cancelled). */
  get pendingTasks(): number {
    return this.entries.filter((e) => !e.cancelled).length;
  }
}
