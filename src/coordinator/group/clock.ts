// Time for the coordinator: what time it is and "run this later". Injected so that unit tests
// can drive session timeouts, rebalance timeouts and offset expiry without waiting.

export interface ScheduledTask {
  cancel(): void;
}

export interface Clock {
  nowMs(): number;
  /** Runs `task` once after `delayMs` (never keeps the process alive by itself). */
  schedule(delayMs: number, task: () => void): ScheduledTask;
}

// setTimeout fires at once for delays past this (and warns), so longer delays are capped.
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  schedule(delayMs, task) {
    const timer = setTimeout(task, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
