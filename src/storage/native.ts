// Loads the addon (build/Release/strand.node) once and types its surface. Only this
// directory talks to the addon; everything else uses Log, LogManager and sendRegions.
import * as path from 'node:path';
import type { OpenFilesStats } from './open-files.js';
import { StorageError } from './types.js';

/** One open partition log inside the engine (native/binding/addon.cc, NativeLog). */
export interface NativeLogHandle {
  setResultArray(result: Float64Array): void;
  setRegionArray(regions: Float64Array): void;
  append(buffer: Buffer, leaderEpoch: number, timestampType: number, nowMs: number, maxBatchBytes: number): void;
  /** The same append on an engine append thread: resolves with the result slots (APPEND_RESULT_SLOTS). */
  appendAsync(buffer: Buffer, leaderEpoch: number, timestampType: number, nowMs: number, maxBatchBytes: number): Promise<Float64Array>;
  read(offset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean): number;
  logStartOffset(): number;
  logEndOffset(): number;
  recoveryPoint(): number;
  sizeBytes(): number;
  offsetForTimestamp(timestampMs: number): number;
  maxTimestamp(): number;
  truncateTo(offset: number): void;
  deleteSegmentsBefore(offset: number): number;
  deletedGeneration(): number;
  removeDeleted(upToGeneration: number): number;
  replaceSegments(oldBaseOffsets: readonly number[], cleanedLogPath: string): void;
  replaceSegmentsAsync(oldBaseOffsets: readonly number[], cleanedLogPath: string): Promise<void>;
  setStartOffset(offset: number): void;
  roll(): void;
  segments(): Float64Array;
  configure(config: Float64Array): void;
  flush(): Promise<void>;
  close(clean: boolean): Promise<void>;
  delete(): Promise<void>;
}

export interface NativeAddon {
  NativeLog: new (dir: string, config: Float64Array) => NativeLogHandle;
  sendfile(socketFd: number, regions: Float64Array, count: number, timeoutMs: number): Promise<number>;
  dupFd(fd: number): number;
  closeFd(fd: number): void;
  crc32c(data: Uint8Array, crc?: number): number;
  checkRecords(batch: Uint8Array, minTimestampMs: number, maxTimestampMs: number, requireKey: boolean): number;
  pread(fd: number, target: Buffer, position: number): void;
  setErrorClass(ctor: new (code: string, message: string) => Error): void;
  filesSetLimit(maxOpenSegments: number): void;
  filesSweep(nowMs: number, idleMs: number): OpenFilesStats;
  filesStats(): OpenFilesStats;
  nofileLimit(raise: boolean): { soft: number; hard: number };
  mallocTune(arenaMax: number, mmapThresholdBytes: number): boolean;
}

/** Slots of the append result array filled by NativeLogHandle.append. */
export const AppendSlot = {
  BaseOffset: 0,
  LastOffset: 1,
  LogAppendTime: 2,
  MaxTimestamp: 3,
  LogStartOffset: 4,
  BatchCount: 5,
  RecordCount: 6,
  Bytes: 7,
  NeedsFlush: 8,
  /** After append and read: fds parked until the next sweep (open-files.ts). */
  ParkedFds: 9,
} as const;
export const APPEND_RESULT_SLOTS = 10;
/** Doubles per region in the read array: fd, position, length, segmentBaseOffset. */
export const REGION_STRIDE = 4;
/** Doubles per segment in segments(): base, size, largest timestamp, created, modified, isActive. */
export const SEGMENT_STRIDE = 6;

let loaded: NativeAddon | undefined;
let loadError: Error | undefined;

function addonPath(): string {
  // dist/src/storage/native.js -> <package root>/build/Release/strand.node
  return process.env.STRAND_ADDON ?? path.resolve(__dirname, '..', '..', '..', 'build', 'Release', 'strand.node');
}

/** The addon, loaded on first use; throws StorageError('IO') when it cannot be loaded. */
export function nativeAddon(): NativeAddon {
  if (loaded) return loaded;
  if (loadError) throw loadError;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(addonPath()) as NativeAddon;
    addon.setErrorClass(StorageError as unknown as new (code: string, message: string) => Error);
    loaded = addon;
    return addon;
  } catch (err) {
    loadError = new StorageError('IO', `cannot load the storage addon at ${addonPath()}: ${(err as Error).message}`);
    throw loadError;
  }
}

/** The addon when it loads, else undefined (pure-JS fallbacks use this). */
export function tryNativeAddon(): NativeAddon | undefined {
  try {
    return nativeAddon();
  } catch {
    return undefined;
  }
}
