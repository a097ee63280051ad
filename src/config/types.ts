// Shared vocabulary of the config module: value types, DescribeConfigs codes, definitions, errors.
// Config imports nothing else of Strand's, so these types are defined here and nowhere else.

/** Kafka's ConfigDef types. */
export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';

/** DescribeConfigs ConfigType codes (v3+). 0 is "unknown", used for keys Strand does not define. */
export const CONFIG_TYPE_CODE: Readonly<Record<ConfigType | 'UNKNOWN', number>> = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
};

/** DescribeConfigs ConfigSource codes. */
export const CONFIG_SOURCE = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
  GROUP_CONFIG: 8,
} as const;
export type ConfigSourceCode = (typeof CONFIG_SOURCE)[keyof typeof CONFIG_SOURCE];

/**
 * A parsed value. LONG is a bigint so that Kafka's Long.MAX_VALUE ("never") survives exactly and
 * is shown as Kafka shows it; typed views convert to number. null means "not set, no default".
 */
export type ConfigValue = boolean | string | number | bigint | readonly string[] | null;

/** Throws ConfigError when the parsed value is out of bounds; `shown` is the value as Kafka prints it. */
export interface ConfigValidator {
  validate(name: string, value: ConfigValue, shown: string): void;
  /** The "valid values" column of Kafka's docs, for humans. */
  readonly description: string;
}

export interface ConfigDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** The default in its textual form as Kafka documents it; null when there is none. */
  readonly defaultText: string | null;
  readonly validator?: ConfigValidator;
}

/** Kafka's INVALID_CONFIG error code. */
export const INVALID_CONFIG_ERROR_CODE = 40;

/** A bad configuration key or value. The message names the key and the reason, as Kafka's does. */
export class ConfigError extends Error {
  readonly key: string | null;
  readonly reason: string;
  readonly kafkaErrorCode = INVALID_CONFIG_ERROR_CODE;
  constructor(key: string | null, reason: string, message?: string) {
    super(message ?? (key === null ? reason : `${key}: ${reason}`));
    this.name = 'ConfigError';
    this.key = key;
    this.reason = reason;
  }

  /** Kafka's ConfigException(name, value, message) wording. */
  static invalidValue(key: string, raw: string | null, reason: string): ConfigError {
    return new ConfigError(key, reason, `Invalid value ${raw} for configuration ${key}: ${reason}`);
  }
}

/** A DescribeConfigs synonym: a config that provides (or would provide) the entry's value. */
export interface ConfigSynonymEntry {
  name: string;
  value: string | null;
  source: ConfigSourceCode;
}

/** One DescribeConfigs entry. Synonyms are always filled; a handler drops them unless IncludeSynonyms. */
export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: ConfigSourceCode;
  isSensitive: boolean;
  configType: number;
  synonyms: ConfigSynonymEntry[];
}
