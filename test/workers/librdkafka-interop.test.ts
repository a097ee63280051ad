// The codecs against librdkafka (through kcat), without the Strand broker: a minimal broker
// (mini-kafka.ts) captures the batches kcat produces and serves batches we compressed.
//   kcat -P -z <codec>  ->  our decompress() must read librdkafka's compression.
//   our compress()      ->  kcat -C must read it (with CRC checks on).

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { codecName, type CompressedCodecId } from '../../src/workers/codecs.js';
import { kcatOk, requireKcat } from '../compat/harness.js';
import { decodeRecordBatch, encodeRecordBatch } from '../compat/wire.js';
import { seededBytes } from './format-helpers.js';
import { MiniKafka } from './mini-kafka.js';

const CODECS: readonly CompressedCodecId[] = [1, 2, 3, 4];
const KCAT_TIMEOUT_MS = 30_000;

/** Printable lines, some long enough to span several LZ4 blocks and xerial chunks. */
function testLines(codec: number): string[] {
  return Array.from({ length: 400 }, (_, i) => {
    const filler = i % 100 === 7 ? 150_000 : 40 + (i % 13) * 17;
    // base64 of seeded bytes: printable, newline-free, and only partly compressible.
    const noise = seededBytes(Math.ceil(filler / 4), codec * 1000 + i).toString('base64');
    return `c${codec}-line-${i}-${'ab'.repeat(i % 30)}-${noise}`.slice(0, filler + 20);
  });
}

describe('codecs against librdkafka (kcat)', () => {
  const broker = new MiniKafka();

  before(async () => {
    await requireKcat();
    await broker.start();
  });

  after(async () => {
    await broker.close();
  });

  for (const codec of CODECS) {
    it(`reads what librdkafka compresses with ${codecName(codec)}`, async () => {
      const topic = `from-kcat-${codecName(codec)}`;
      broker.createTopic(topic);
      const lines = testLines(codec);
      await kcatOk(
        ['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-z', codecName(codec), '-X', 'linger.ms=200', '-X', 'message.max.bytes=10000000'],
        { input: `${lines.join('\n')}\n`, timeoutMs: KCAT_TIMEOUT_MS },
      );
      const batches = broker.batches(topic);
      assert.ok(batches.length > 0, `kcat produced nothing (requests seen: ${broker.seenApiKeys.join(',')})`);
      const values: string[] = [];
      for (const raw of batches) {
        const batch = await decodeRecordBatch(raw);
        assert.equal(batch.codec, codec, `librdkafka sent a batch with codec ${batch.codec}, not ${codec}`);
        assert.ok(batch.crcValid);
        for (const record of batch.records) values.push(record.value!.toString('utf8'));
      }
      assert.equal(values.length, lines.length);
      values.forEach((v, i) => assert.equal(v, lines[i], `record ${i}`));
    });
  }

  for (const codec of CODECS) {
    it(`librdkafka reads what we compress with ${codecName(codec)}`, async () => {
      const topic = `to-kcat-${codecName(codec)}`;
      broker.createTopic(topic);
      const lines = testLines(codec + 10);
      // Several batches, with keys and headers, the middle one holding the 150 KB values.
      const expected: string[] = [];
      for (let start = 0; start < lines.length; start += 150) {
        const chunk = lines.slice(start, start + 150);
        const batch = await encodeRecordBatch(
          chunk.map((line, i) => ({
            key: Buffer.from(`k${start + i}`),
            value: Buffer.from(line),
            headers: [{ key: 'n', value: Buffer.from(String(start + i)) }],
            timestampDeltaMs: i,
          })),
          { codec },
        );
        broker.append(topic, batch);
        chunk.forEach((line, i) => expected.push(`k${start + i}|${line}|n=${start + i}`));
      }
      const result = await kcatOk(
        ['-C', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-X', 'check.crcs=true', '-X', 'fetch.message.max.bytes=10000000', '-f', '%k|%s|%h\n'],
        { timeoutMs: KCAT_TIMEOUT_MS },
      );
      const got = result.stdout.toString('utf8').split('\n');
      assert.equal(got.pop(), '', 'output ends with a newline');
      assert.equal(got.length, expected.length, `kcat printed ${got.length} of ${expected.length} records; stderr: ${result.stderr.slice(-2000)}`);
      got.forEach((line, i) => assert.equal(line, expected[i], `record ${i}`));
    });
  }
});
