// How many segment files the engine keeps open. A segment's .log fd and index maps open
// on first use; the engine closes the least recently used ones above a limit, and this
// module sweeps from the event loop: it closes segments idle for idleCloseMs and ends the
// engine's read epoch. Ending the epoch is what lets a region's fd (Log.read) close: the
// engine never closes an fd that a read handed out since the last sweep, and a sweep runs
// only between event-loop callbacks, never between a read and the retainRegions that
// duplicates its fds (every caller does both in one synchronous run). The epoch is the
// process's: use logs from one JS thread (the main one), whose event loop runs the sweeps.
import { nativeAddon } from './native.js';

export interface OpenFilesOptions {
  /** Most segments with open files at once, across every log of the process (0: no bound). */
  maxOpenSegments?: number;
  /** A segment unused this long has its files closed (0: at the next sweep; < 0: never). */
  idleCloseMs?: number;
  /** How often the sweep runs while logs are open. */
  sweepIntervalMs?: number;
}

/** What strand_files_stats reports (the addon's filesStats and filesSweep return it). */
export interface OpenFilesStats {
  /** Segments whose files are open now. */
  openSegments: number;
  /** Fds of closed segments that a read handed out since the last sweep (closed by the next). */
  parkedFds: number;
  /** 0: no bound. */
  limit: number;
  openedTotal: number;
  /** Closed because more than `limit` were open. */
  evictedTotal: number;
  /** Closed for being idle. */
  idleClosedTotal: number;
}

export interface FileLimit {
  /** RLIMIT_NOFILE soft and hard limits; -1: unlimited. */
  soft: number;
  hard: number;
}

export const DEFAULT_IDLE_CLOSE_MS = 30_000;
export const DEFAULT_SWEEP_INTERVAL_MS = 1_000;
/** The default bound: a quarter of the descriptor limit, between these. */
export const MIN_DEFAULT_OPEN_SEGMENTS = 64;
export const MAX_DEFAULT_OPEN_SEGMENTS = 4096;

const state = {
  configured: false,
  idleCloseMs: DEFAULT_IDLE_CLOSE_MS,
  sweepIntervalMs: DEFAULT_SWEEP_INTERVAL_MS,
  users: 0,
  timer: null as NodeJS.Timeout | null,
  immediate: null as NodeJS.Immediate | null,
};

/** The default bound for a process with this descriptor limit. */
export function defaultMaxOpenSegments(limit: FileLimit): number {
  const soft = limit.soft < 0 ? Number.MAX_SAFE_INTEGER : limit.soft;
  return Math.max(MIN_DEFAULT_OPEN_SEGMENTS, Math.min(MAX_DEFAULT_OPEN_SEGMENTS, Math.floor(soft / 4)));
}

/**
 * Sets the bound and the idle time (process-wide: the engine's files are shared by every
 * log). Unset values keep their current value; before the first call the bound is
 * defaultMaxOpenSegments(fileLimit()).
 */
export function configureOpenFiles(options: OpenFilesOptions): void {
  const addon = nativeAddon();
  if (options.idleCloseMs !== undefined) state.idleCloseMs = options.idleCloseMs;
  if (options.sweepIntervalMs !== undefined) {
    if (!(options.sweepIntervalMs > 0)) throw new RangeError(`sweepIntervalMs must be positive, got ${options.sweepIntervalMs}`);
    state.sweepIntervalMs = options.sweepIntervalMs;
    if (state.timer !== null) {
      stopTimer();
      startTimer();
    }
  }
  if (options.maxOpenSegments !== undefined) {
    if (!(options.maxOpenSegments >= 0)) throw new RangeError(`maxOpenSegments must be >= 0, got ${options.maxOpenSegments}`);
    addon.filesSetLimit(Math.floor(options.maxOpenSegments));
  } else if (!state.configured) {
    addon.filesSetLimit(defaultMaxOpenSegments(fileLimit()));
  }
  state.configured = true;
}

export function openFilesStats(): OpenFilesStats {
  return nativeAddon().filesStats();
}

/** The process's RLIMIT_NOFILE. */
export function fileLimit(): FileLimit {
  return nativeAddon().nofileLimit(false);
}

/**
 * Raises the soft RLIMIT_NOFILE to the hard limit (a process may always do that) and
 * returns the limits in force after. A broker with many connections and partitions needs
 * descriptors; the hard limit itself is the administrator's (`ulimit -Hn`, systemd's
 * LimitNOFILE).
 */
export function raiseFileLimit(): FileLimit {
  return nativeAddon().nofileLimit(true);
}

/** Runs a sweep now (normally the timer does): ends the read epoch, closes idle files. */
export function sweepOpenFiles(): OpenFilesStats {
  return nativeAddon().filesSweep(Math.floor(performance.now()), state.idleCloseMs);
}

/** A log opened: the sweeper runs while any log is open. */
export function retainSweeper(): void {
  if (!state.configured) configureOpenFiles({});
  state.users++;
  if (state.timer === null) startTimer();
}

/** A log closed. */
export function releaseSweeper(): void {
  if (state.users > 0) state.users--;
  if (state.users === 0) {
    stopTimer();
    // parked fds must not wait for the next log; from the event loop, like every sweep
    scheduleSweep();
  }
}

/** Reads or evictions parked fds: sweep as soon as the current callback is done. */
export function scheduleSweep(): void {
  if (state.immediate !== null) return;
  state.immediate = setImmediate(() => {
    state.immediate = null;
    sweepOpenFiles();
  });
  state.immediate.unref();
}

function startTimer(): void {
  state.timer = setInterval(sweepOpenFiles, state.sweepIntervalMs);
  state.timer.unref();
}

function stopTimer(): void {
  if (state.timer !== null) {
    clearInterval(state.timer);
    state.timer = null;
  }
}
