// Parsing config text into typed values and back, and the validators of Kafka's ConfigDef
// (Range, ValidString, ValidList), with the error wording Kafka's clients and tools expect.

import { ConfigError, type ConfigDefinition, type ConfigType, type ConfigValidator, type ConfigValue } from './types';

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const SHORT_MIN = -(2 ** 15);
const SHORT_MAX = 2 ** 15 - 1;
export const LONG_MIN = -(2n ** 63n);
export const LONG_MAX = 2n ** 63n - 1n;

const INTEGER_TEXT = /^[+-]?\d+$/;
// Java's Double.parseDouble accepts a trailing f/d and the words NaN and Infinity.
const DOUBLE_TEXT = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)$/;
const COMMA_WITH_WHITESPACE = /\s*,\s*/;

/** Java's String.trim: strips every char <= U+0020 at both ends (ConfigDef trims before parsing). */
export function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}

/** Parses `raw` as `type`; throws ConfigError with Kafka's wording when it is not of that type. */
export function parseTyped(name: string, type: ConfigType, raw: string): ConfigValue {
  const trimmed = javaTrim(raw);
  switch (type) {
    case 'BOOLEAN': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      throw ConfigError.invalidValue(name, raw, 'Expected value to be either true or false');
    }
    case 'STRING':
    case 'CLASS':
    case 'PASSWORD':
      return trimmed;
    case 'INT':
    case 'SHORT': {
      const [min, max] = type === 'INT' ? [INT_MIN, INT_MAX] : [SHORT_MIN, SHORT_MAX];
      const n = INTEGER_TEXT.test(trimmed) ? Number(trimmed) : NaN;
      if (!Number.isInteger(n) || n < min || n > max) {
        throw ConfigError.invalidValue(name, raw, `Not a number of type ${type}`);
      }
      return n === 0 ? 0 : n; // no -0
    }
    case 'LONG': {
      const n = INTEGER_TEXT.test(trimmed) ? BigInt(trimmed) : null;
      if (n === null || n < LONG_MIN || n > LONG_MAX) {
        throw ConfigError.invalidValue(name, raw, 'Not a number of type LONG');
      }
      return n;
    }
    case 'DOUBLE': {
      if (!DOUBLE_TEXT.test(trimmed)) throw ConfigError.invalidValue(name, raw, 'Not a number of type DOUBLE');
      return Number(trimmed.replace(/[fFdD]$/, ''));
    }
    case 'LIST':
      return trimmed === '' ? [] : trimmed.split(COMMA_WITH_WHITESPACE);
  }
}

/** Parses and validates one value of a defined config. */
export function parseValue(def: ConfigDefinition, raw: string): ConfigValue {
  const value = parseTyped(def.name, def.type, raw);
  def.validator?.validate(def.name, value, formatValue(def.type, value) ?? raw);
  return value;
}

/** The parsed default of a definition (null when it has none). */
export function defaultValue(def: ConfigDefinition): ConfigValue {
  return def.defaultText === null ? null : parseTyped(def.name, def.type, def.defaultText);
}

/** Java's Double.toString: "0.5", "1.0", "1.0E-5", "1.7976931348623157E308". */
export function formatJavaDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes('.') ? text : `${text}.0`;
  }
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  const digits = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
  return `${digits}E${exponent.startsWith('+') ? exponent.slice(1) : exponent}`;
}

/** Kafka's ConfigDef.convertToString: the text a value is shown as in DescribeConfigs. */
export function formatValue(type: ConfigType | null, value: ConfigValue): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  if (type === 'PASSWORD') return '[hidden]';
  if (typeof value === 'number' && type === 'DOUBLE') return formatJavaDouble(value);
  return String(value);
}

function compare(value: number | bigint, bound: number | bigint): number {
  if (typeof value === 'bigint' || typeof bound === 'bigint') {
    // Bounds of LONG configs are small integers, so BigInt(bound) is exact.
    const a = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
    const b = typeof bound === 'bigint' ? bound : BigInt(bound);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return value < bound ? -1 : value > bound ? 1 : 0;
}

function numeric(value: ConfigValue): number | bigint | null {
  return typeof value === 'number' || typeof value === 'bigint' ? value : null;
}

/** Kafka's Range.atLeast. */
export function atLeast(min: number | bigint): ConfigValidator {
  return between(min, null);
}

/** Kafka's Range.between (inclusive); max null means unbounded. */
export function between(min: number | bigint, max: number | bigint | null): ConfigValidator {
  return {
    description: max === null ? `[${min},...]` : `[${min},...,${max}]`,
    validate(name, value, shown) {
      const n = numeric(value);
      if (n === null) return; // null: not set, nothing to check
      if (compare(n, min) < 0) throw ConfigError.invalidValue(name, shown, `Value must be at least ${min}`);
      if (max !== null && compare(n, max) > 0) {
        throw ConfigError.invalidValue(name, shown, `Value must be no more than ${max}`);
      }
    },
  };
}

/** Kafka's ValidString.in (case-sensitive). */
export function oneOf(...allowed: string[]): ConfigValidator {
  return {
    description: `[${allowed.join(', ')}]`,
    validate(name, value, shown) {
      if (typeof value === 'string' && !allowed.includes(value)) {
        throw ConfigError.invalidValue(name, shown, `String must be one of: ${allowed.join(', ')}`);
      }
    },
  };
}

/** Kafka's ValidList.in: every element of the list must be one of `allowed`. */
export function listOf(...allowed: string[]): ConfigValidator {
  return {
    description: `[${allowed.join(', ')}]`,
    validate(name, value, shown) {
      if (!Array.isArray(value)) return;
      for (const item of value as readonly string[]) {
        if (!allowed.includes(item)) {
          throw ConfigError.invalidValue(name, item, `String must be one of: ${allowed.join(', ')}`);
        }
      }
    },
  };
}

/** A list with no empty and no repeated element (log.dirs). */
export function nonDuplicateList(allowEmptyList: boolean): ConfigValidator {
  return {
    description: 'non-empty list of distinct, non-empty values',
    validate(name, value, shown) {
      if (!Array.isArray(value)) return;
      const items = value as readonly string[];
      if (items.length === 0 && !allowEmptyList) throw ConfigError.invalidValue(name, shown, 'Empty list not allowed.');
      if (items.some((item) => item === '')) throw ConfigError.invalidValue(name, shown, 'Empty string not allowed.');
      const seen = new Set<string>();
      for (const item of items) {
        if (seen.has(item)) throw ConfigError.invalidValue(name, shown, `Duplicate entry ${item} not allowed.`);
        seen.add(item);
      }
    },
  };
}

/** gzip levels: 1..9, or -1 for zlib's default. */
export const gzipLevel: ConfigValidator = {
  description: '[1,...,9] or -1',
  validate(name, value, shown) {
    if (typeof value !== 'number') return;
    if (value > 9 || (value < 1 && value !== -1)) {
      throw ConfigError.invalidValue(name, shown, 'Value must be between 1 and 9 or equal to -1');
    }
  },
};

/** leader/follower.replication.throttled.replicas: "*" alone, or partition:broker pairs. */
export const throttledReplicaList: ConfigValidator = {
  description: "[partitionId]:[brokerId],[partitionId]:[brokerId],... or '*'",
  validate(name, value, shown) {
    if (!Array.isArray(value)) return;
    const items = value as readonly string[];
    const wildcard = items.length === 1 && items[0] === '*';
    if (wildcard || items.every((item) => /^\d+:\d+$/.test(item))) return;
    throw ConfigError.invalidValue(
      name,
      shown,
      "must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...",
    );
  },
};

/** A LONG value as a JS number; beyond 2^53 it only ever means "never", so it saturates. */
export function longToNumber(value: bigint): number {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (value > max) return Number.MAX_SAFE_INTEGER;
  if (value < -max) return -Number.MAX_SAFE_INTEGER;
  return Number(value);
}
