// DescribeConfigs entries for topics and for the broker: Kafka's names, values as Kafka prints
// them, the source each value comes from and the synonyms that could provide it.

import { BROKER_CONFIGS, brokerConfigSynonyms } from './broker-configs';
import type { ServerConfig } from './server-config';
import { brokerSynonymValues, resolveTopicValues, type TopicOverrides } from './topic-config';
import { TOPIC_CONFIGS } from './topic-configs';
import { CONFIG_SOURCE, CONFIG_TYPE_CODE, type ConfigEntry, type ConfigSynonymEntry, type ConfigType } from './types';
import { defaultValue, formatValue } from './values';

function isSensitiveType(type: ConfigType | null): boolean {
  // Kafka hides passwords, and values of keys it cannot type (they may be secrets of a plugin).
  return type === null || type === 'PASSWORD';
}

function wanted(keys: readonly string[] | null | undefined): (name: string) => boolean {
  if (keys === null || keys === undefined || keys.length === 0) return () => true;
  const set = new Set(keys);
  return (name) => set.has(name);
}

function entry(name: string, type: ConfigType | null, value: string | null, readOnly: boolean, synonyms: ConfigSynonymEntry[]): ConfigEntry {
  const source = synonyms[0]?.source ?? CONFIG_SOURCE.DEFAULT_CONFIG;
  const isSensitive = isSensitiveType(type);
  return {
    name,
    value: isSensitive ? null : value,
    readOnly,
    isDefault: source === CONFIG_SOURCE.DEFAULT_CONFIG,
    source,
    isSensitive,
    configType: type === null ? CONFIG_TYPE_CODE.UNKNOWN : CONFIG_TYPE_CODE[type],
    synonyms,
  };
}

/**
 * Every topic config of a topic (or those named in `keys`; unknown names are left out, as Kafka
 * does), with the effective value and where it comes from: the topic's override, a broker config
 * in server.properties, or the default. Synonyms list the override first, then the broker configs.
 */
export function describeTopicConfigs(
  server: ServerConfig,
  overrides: TopicOverrides,
  keys?: readonly string[] | null,
): ConfigEntry[] {
  const include = wanted(keys);
  const values = resolveTopicValues(server, overrides);
  const overridden = new Set(overrides instanceof Map ? overrides.keys() : Object.keys(overrides));
  const out: ConfigEntry[] = [];
  for (const def of TOPIC_CONFIGS.values()) {
    if (!include(def.name)) continue;
    const value = formatValue(def.type, values.get(def.name) ?? null);
    const synonyms: ConfigSynonymEntry[] = [];
    if (overridden.has(def.name)) synonyms.push({ name: def.name, value, source: CONFIG_SOURCE.TOPIC_CONFIG });
    for (const s of brokerSynonymValues(server, def)) {
      const brokerType = BROKER_CONFIGS.get(s.name)?.type ?? null;
      synonyms.push({ name: s.name, value: isSensitiveType(brokerType) ? null : formatValue(brokerType, s.value), source: s.source });
    }
    out.push(entry(def.name, def.type, value, false, synonyms));
  }
  return out;
}

/**
 * The broker's configs (or those named in `keys`): every config Strand defines plus any unknown
 * key set in server.properties. Each shows its own value; its synonyms are the configured members
 * of its alias group from itself on (log.retention.hours lists itself, not log.retention.ms).
 * Strand cannot change broker configs at run time, so every entry is read-only.
 */
export function describeBrokerConfigs(server: ServerConfig, keys?: readonly string[] | null): ConfigEntry[] {
  const include = wanted(keys);
  const names = new Set<string>([...BROKER_CONFIGS.keys(), ...server.staticConfigs.keys()]);
  const out: ConfigEntry[] = [];
  for (const name of [...names].sort()) {
    if (!include(name)) continue;
    const def = BROKER_CONFIGS.get(name);
    const type = def?.type ?? null;
    const value = def === undefined ? server.staticConfigs.get(name) ?? null : formatValue(type, server.values.get(name) ?? null);
    const group = brokerConfigSynonyms(name);
    const synonyms: ConfigSynonymEntry[] = [];
    for (const synonym of group) {
      if (!server.staticConfigs.has(synonym)) continue;
      const synonymDef = BROKER_CONFIGS.get(synonym);
      const synonymType = synonymDef?.type ?? null;
      const synonymValue = synonymDef === undefined ? server.staticConfigs.get(synonym) ?? null : formatValue(synonymType, server.values.get(synonym) ?? null);
      synonyms.push({ name: synonym, value: isSensitiveType(synonymType) ? null : synonymValue, source: CONFIG_SOURCE.STATIC_BROKER_CONFIG });
    }
    for (const synonym of group) {
      const synonymDef = BROKER_CONFIGS.get(synonym);
      if (synonymDef === undefined || synonymDef.defaultText === null) continue;
      const synonymValue = formatValue(synonymDef.type, defaultValue(synonymDef));
      synonyms.push({ name: synonym, value: isSensitiveType(synonymDef.type) ? null : synonymValue, source: CONFIG_SOURCE.DEFAULT_CONFIG });
    }
    // Kafka drops the higher-precedence aliases that precede the described key itself.
    const own = synonyms.findIndex((s) => s.name === name);
    out.push(entry(name, type, value, true, own < 0 ? [] : synonyms.slice(own)));
  }
  return out;
}
