// The Java .properties format that server.properties is written in: comments (# and !),
// key/value separated by '=', ':' or whitespace, backslash escapes and \uXXXX, and logical lines
// continued by an odd number of trailing backslashes. Later keys replace earlier ones.

import { ConfigError } from './types';

function isBlank(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\f';
}

/** Splits text into natural lines on \n, \r or \r\n. */
function naturalLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

function endsWithOddBackslashes(line: string): boolean {
  let count = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) count++;
  return count % 2 === 1;
}

function skipBlanks(line: string, from: number): number {
  let i = from;
  while (i < line.length && isBlank(line[i]!)) i++;
  return i;
}

/** Joins continued natural lines into logical lines, dropping comment and blank lines. */
function logicalLines(text: string): Array<{ text: string; lineNumber: number }> {
  const lines = naturalLines(text);
  const out: Array<{ text: string; lineNumber: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    const start = skipBlanks(first, 0);
    if (start === first.length) continue;
    // A comment line ends at its natural line end, even when it ends with a backslash.
    if (first[start] === '#' || first[start] === '!') continue;
    const lineNumber = i + 1;
    let logical = first.slice(start);
    while (endsWithOddBackslashes(logical)) {
      logical = logical.slice(0, -1);
      if (i + 1 >= lines.length) break;
      i++;
      const next = lines[i]!;
      logical += next.slice(skipBlanks(next, 0));
    }
    out.push({ text: logical, lineNumber });
  }
  return out;
}

/** Resolves backslash escapes in a key or value. */
function unescape(text: string, lineNumber: number): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    i++;
    if (i >= text.length) break;
    const next = text[i]!;
    switch (next) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        const hex = text.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          throw new ConfigError(null, `Malformed \\uxxxx encoding on line ${lineNumber}`);
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default: out += next; // \= \: \# \! \\ and a backslash before any other char
    }
  }
  return out;
}

/** Splits a logical line into its raw (still escaped) key and value. */
function splitKeyValue(line: string): [string, string] {
  let keyEnd = 0;
  while (keyEnd < line.length) {
    const ch = line[keyEnd]!;
    if (ch === '\\') {
      keyEnd += 2; // an escaped char belongs to the key
      continue;
    }
    if (ch === '=' || ch === ':' || isBlank(ch)) break;
    keyEnd++;
  }
  keyEnd = Math.min(keyEnd, line.length);
  let valueStart = skipBlanks(line, keyEnd);
  if (valueStart < line.length && (line[valueStart] === '=' || line[valueStart] === ':')) {
    valueStart = skipBlanks(line, valueStart + 1);
  }
  return [line.slice(0, keyEnd), line.slice(valueStart)];
}

/** Parses the text of a .properties file into an ordered map (the last of repeated keys wins). */
export function parseServerProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const { text: line, lineNumber } of logicalLines(text.replace(/^\uFEFF/, ''))) {
    const [rawKey, rawValue] = splitKeyValue(line);
    const key = unescape(rawKey, lineNumber);
    props.delete(key); // keep insertion order = order of the effective definition
    props.set(key, unescape(rawValue, lineNumber));
  }
  return props;
}

/** Parses `key=value` overrides (the CLI's --override); the first '=' separates key and value. */
export function parseOverrides(overrides: readonly string[]): Map<string, string> {
  const props = new Map<string, string>();
  for (const override of overrides) {
    const eq = override.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError(null, `Invalid override "${override}": expected key=value`);
    }
    const key = override.slice(0, eq).trim();
    if (key === '') throw new ConfigError(null, `Invalid override "${override}": expected key=value`);
    props.set(key, override.slice(eq + 1));
  }
  return props;
}
