import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, formatJavaDouble, formatValue, parseTyped } from '../../src/config';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

test('booleans: true/false in any case, trimmed; anything else is refused', () => {
  assert.equal(parseTyped('x', 'BOOLEAN', ' TRUE '), true);
  assert.equal(parseTyped('x', 'BOOLEAN', 'False'), false);
  assert.equal(reason(() => parseTyped('x', 'BOOLEAN', 'yes')), 'Invalid value yes for configuration x: Expected value to be either true or false');
});

test('INT and SHORT are range-checked integers', () => {
  assert.equal(parseTyped('x', 'INT', ' +42 '), 42);
  assert.equal(parseTyped('x', 'INT', '-2147483648'), -2147483648);
  assert.equal(reason(() => parseTyped('x', 'INT', '2147483648')), 'Invalid value 2147483648 for configuration x: Not a number of type INT');
  assert.equal(reason(() => parseTyped('x', 'INT', '1.5')), 'Invalid value 1.5 for configuration x: Not a number of type INT');
  assert.equal(reason(() => parseTyped('x', 'INT', '')), 'Invalid value  for configuration x: Not a number of type INT');
  assert.equal(parseTyped('x', 'SHORT', '32767'), 32767);
  assert.equal(reason(() => parseTyped('x', 'SHORT', '32768')), 'Invalid value 32768 for configuration x: Not a number of type SHORT');
});

test('LONG keeps all 64 bits exactly', () => {
  assert.equal(parseTyped('x', 'LONG', '9223372036854775807'), 9223372036854775807n);
  assert.equal(parseTyped('x', 'LONG', '-9223372036854775808'), -9223372036854775808n);
  assert.equal(reason(() => parseTyped('retention.ms', 'LONG', 'abc')), 'Invalid value abc for configuration retention.ms: Not a number of type LONG');
  assert.equal(reason(() => parseTyped('x', 'LONG', '9223372036854775808')), 'Invalid value 9223372036854775808 for configuration x: Not a number of type LONG');
});

test('DOUBLE accepts Java double syntax', () => {
  assert.equal(parseTyped('x', 'DOUBLE', '0.5'), 0.5);
  assert.equal(parseTyped('x', 'DOUBLE', '1e3'), 1000);
  assert.equal(parseTyped('x', 'DOUBLE', '.25'), 0.25);
  assert.equal(parseTyped('x', 'DOUBLE', '2d'), 2);
  assert.equal(reason(() => parseTyped('x', 'DOUBLE', '1,5')), 'Invalid value 1,5 for configuration x: Not a number of type DOUBLE');
});

test('LIST splits on commas with surrounding whitespace; empty text is an empty list', () => {
  assert.deepEqual(parseTyped('x', 'LIST', ' compact , delete '), ['compact', 'delete']);
  assert.deepEqual(parseTyped('x', 'LIST', '   '), []);
  assert.deepEqual(parseTyped('x', 'LIST', 'a,,b'), ['a', '', 'b']);
});

test('STRING, CLASS and PASSWORD are trimmed text', () => {
  assert.equal(parseTyped('x', 'STRING', '  gzip \t'), 'gzip');
  assert.equal(parseTyped('x', 'PASSWORD', ' secret '), 'secret');
});

test('doubles are shown as Java shows them', () => {
  assert.equal(formatJavaDouble(0.5), '0.5');
  assert.equal(formatJavaDouble(1), '1.0');
  assert.equal(formatJavaDouble(0.001), '0.001');
  assert.equal(formatJavaDouble(1e-5), '1.0E-5');
  assert.equal(formatJavaDouble(1.25e7), '1.25E7');
  assert.equal(formatJavaDouble(Number.MAX_VALUE), '1.7976931348623157E308');
  assert.equal(formatJavaDouble(0), '0.0');
});

test('values are formatted by type', () => {
  assert.equal(formatValue('LONG', 9223372036854775807n), '9223372036854775807');
  assert.equal(formatValue('LIST', ['compact', 'delete']), 'compact,delete');
  assert.equal(formatValue('DOUBLE', 1), '1.0');
  assert.equal(formatValue('BOOLEAN', true), 'true');
  assert.equal(formatValue('PASSWORD', 'secret'), '[hidden]');
  assert.equal(formatValue('STRING', null), null);
});
