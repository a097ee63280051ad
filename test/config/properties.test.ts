import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseOverrides, parseServerProperties } from '../../src/config';

function parse(text: string): Record<string, string> {
  return Object.fromEntries(parseServerProperties(text));
}

test('comments start with # or ! and blank lines are skipped', () => {
  const props = parse('# a comment\n! another\n\n   \t\n  # indented comment\nkey=value\n');
  assert.deepEqual(props, { key: 'value' });
});

test('keys and values are separated by =, : or whitespace, with blanks around the separator', () => {
  const props = parse('a=1\nb:2\nc 3\nd = 4\ne\t:\t5\nf   =   6\ng\n h=\n');
  assert.deepEqual(props, { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '', h: '' });
});

test('only the first separator splits; later = and : belong to the value', () => {
  const props = parse('listeners=PLAINTEXT://127.0.0.1:9092\nx = =y\nz  :  : w');
  assert.deepEqual(props, { listeners: 'PLAINTEXT://127.0.0.1:9092', x: '=y', z: ': w' });
});

test('trailing whitespace of a value is kept (the config layer trims)', () => {
  assert.equal(parse('k = v  \t')['k'], 'v  \t');
});

test('backslash escapes in keys and values', () => {
  const props = parse('a\\=b\\:c\\ d=1\nt=x\\ty\\nz\\r\\f\nu=\\u0041\\u00e9\nother=\\q\\\\\n');
  assert.deepEqual(props, { 'a=b:c d': '1', t: 'x\ty\nz\r\f', u: 'Aé', other: 'q\\' });
});

test('an odd number of trailing backslashes continues the line, skipping the next line\'s indentation', () => {
  const props = parse('log.dirs=/a,\\\n    /b,\\\n\t/c\nnext=1\n');
  assert.deepEqual(props, { 'log.dirs': '/a,/b,/c', next: '1' });
});

test('an even number of trailing backslashes is an escaped backslash, not a continuation', () => {
  const props = parse('a=x\\\\\nb=y\n');
  assert.deepEqual(props, { a: 'x\\', b: 'y' });
});

test('a comment line ending in a backslash does not swallow the next line', () => {
  assert.deepEqual(parse('# comment \\\nkey=value\n'), { key: 'value' });
});

test('a continuation line that begins with # is content, not a comment', () => {
  assert.deepEqual(parse('k=a\\\n#b\n'), { k: 'a#b' });
});

test('a backslash at the very end of the file is dropped', () => {
  assert.deepEqual(parse('k=v\\'), { k: 'v' });
});

test('CRLF, CR and LF line endings and a byte order mark', () => {
  assert.deepEqual(parse('\uFEFFa=1\r\nb=2\rc=3\nd=4'), { a: '1', b: '2', c: '3', d: '4' });
});

test('a repeated key takes its last value', () => {
  assert.deepEqual(parse('k=1\nk=2\n'), { k: '2' });
});

test('a malformed \\u escape is a ConfigError naming the line', () => {
  assert.throws(() => parse('ok=1\nbad=\\u12G4\n'), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /Malformed \\uxxxx encoding on line 2/);
    assert.equal(err.kafkaErrorCode, 40);
    return true;
  });
});

test('overrides split at the first = and reject entries without a key', () => {
  assert.deepEqual(Object.fromEntries(parseOverrides(['a=1', 'b=x=y', 'c='])), { a: '1', b: 'x=y', c: '' });
  assert.throws(() => parseOverrides(['novalue']), ConfigError);
  assert.throws(() => parseOverrides(['=1']), ConfigError);
});
