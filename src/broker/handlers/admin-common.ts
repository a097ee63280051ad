// Shared by the admin API handlers: turning thrown errors into Kafka error codes, Java's
// integer parsing of resource names, and the config resource type codes.

import type { Logger } from 'pino';
import { TopicError } from '../../cluster/index';
import { ConfigError } from '../../config/index';
import { ErrorCode, errorName } from '../../protocol/index';
import { StorageError } from '../../storage/index';

/** A Kafka error code with the message that goes with it (null: no message). */
export interface ApiError {
  readonly code: number;
  readonly message: string | null;
}

export const NO_ERROR: ApiError = { code: ErrorCode.NONE, message: null };

/** An error raised on purpose by a handler, carrying the Kafka error it stands for. */
export class AdminError extends Error {
  readonly code: number;
  /** The message the client gets; null where Kafka sends none. */
  readonly clientMessage: string | null;
  constructor(code: number, clientMessage: string | null) {
    super(clientMessage ?? errorName(code));
    this.name = 'AdminError';
    this.code = code;
    this.clientMessage = clientMessage;
  }
}

// Errors of the disk or of the process's descriptor table, not of the request.
const DISK_ERRNOS = new Set(['EMFILE', 'ENFILE', 'ENOSPC', 'EIO', 'EDQUOT', 'EROFS']);

/**
 * The Kafka error for a failure. Errors of our own layers carry their code; anything else is a
 * bug, logged, and answered with UNKNOWN_SERVER_ERROR so that one bad item never drops the
 * connection.
 */
export function apiErrorOf(err: unknown, log: Logger, what: string): ApiError {
  if (err instanceof AdminError) return { code: err.code, message: err.clientMessage };
  if (err instanceof TopicError || err instanceof StorageError || err instanceof ConfigError) {
    return { code: err.kafkaErrorCode, message: err.message };
  }
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof errno === 'string' && DISK_ERRNOS.has(errno)) {
    // The log dir (topic metadata, checkpoints) could not be written: a storage error, as Kafka reports it.
    log.error({ err: (err as Error).message }, `storage failure in ${what}`);
    return { code: ErrorCode.KAFKA_STORAGE_ERROR, message: (err as Error).message };
  }
  log.error({ err: err instanceof Error ? err.stack ?? err.message : String(err) }, `unexpected error in ${what}`);
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'The server experienced an unexpected error when processing the request.' };
}

/** ConfigResource type ids (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs). */
export const CONFIG_RESOURCE = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const;

/** Resource types Kafka knows; any other id makes Kafka refuse the whole DescribeConfigs request. */
export function isKnownConfigResourceType(type: number): boolean {
  return Object.values(CONFIG_RESOURCE).includes(type as never) && type !== CONFIG_RESOURCE.UNKNOWN;
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const JAVA_INT_TEXT = /^[+-]?\d+$/;

/** Java's Integer.parseInt: an optional sign and decimal digits within int range, else null. */
export function parseJavaInt(text: string): number | null {
  if (!JAVA_INT_TEXT.test(text)) return null;
  const n = Number(text);
  return n >= INT_MIN && n <= INT_MAX ? (n === 0 ? 0 : n) : null;
}

/** Kafka's AclOperation codes that a cluster resource supports, as the 32-bit field clients decode. */
export const CLUSTER_AUTHORIZED_OPERATIONS = [
  5, // CREATE
  7, // ALTER
  8, // DESCRIBE
  9, // CLUSTER_ACTION
  10, // DESCRIBE_CONFIGS
  11, // ALTER_CONFIGS
  12, // IDEMPOTENT_WRITE
].reduce((bits, op) => bits | (1 << op), 0);

/** Kafka's "authorized operations were not requested" marker. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/**
 * Checks one partition's manual replica assignment the way Kafka's controller does: not empty,
 * only registered brokers (this one), no broker twice, and the same replica count as the
 * partitions before it (`replicationFactor`, when known).
 */
export function validateManualAssignment(brokerIds: readonly number[], replicationFactor: number | null, nodeId: number): void {
  if (brokerIds.length === 0) {
    throw new AdminError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.');
  }
  const sorted = [...brokerIds].sort((a, b) => a - b);
  let previous: number | null = null;
  for (const brokerId of sorted) {
    if (brokerId !== nodeId) {
      throw new AdminError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes broker ${brokerId}, but no such broker is registered.`,
      );
    }
    if (brokerId === previous) {
      throw new AdminError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes the broker ${brokerId} more than once.`,
      );
    }
    previous = brokerId;
  }
  if (replicationFactor !== null && sorted.length !== replicationFactor) {
    throw new AdminError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes a partition with ${sorted.length} replica(s), but this is not consistent with previous partitions, which have ${replicationFactor} replica(s).`,
    );
  }
}

/** Names that occur more than once in a request. */
export function duplicatesOf(names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) duplicates.add(name);
    else seen.add(name);
  }
  return duplicates;
}

/** The one logger Strand has, under log4j's name for the root logger (BROKER_LOGGER resources). */
export const ROOT_LOGGER = 'root';

/** Kafka's valid log levels, and pino's name for each. */
export const LOG_LEVELS: ReadonlyMap<string, string> = new Map([
  ['FATAL', 'fatal'],
  ['ERROR', 'error'],
  ['WARN', 'warn'],
  ['INFO', 'info'],
  ['DEBUG', 'debug'],
  ['TRACE', 'trace'],
]);

/** The broker's loggers and their levels as Kafka names them (pino's "silent" is log4j's OFF). */
export function loggerLevels(log: Logger): Map<string, string> {
  const level = log.level === 'silent' ? 'OFF' : log.level.toUpperCase();
  return new Map([[ROOT_LOGGER, level]]);
}
