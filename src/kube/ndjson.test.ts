import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ndjsonLines } from './ndjson.ts';

async function lines(chunks: readonly (string | Buffer)[]): Promise<string[]> {
  const out: string[] = [];
  const body = Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  for await (const line of ndjsonLines(body)) out.push(line);
  return out;
}

test('lines inside one chunk, across chunks, and a last one without a newline', async () => {
  assert.deepEqual(await lines(['{"a":1}\n{"b":', '2}\n{"c"', ':3', '}\n{"d":4}']), [
    '{"a":1}',
    '{"b":2}',
    '{"c":3}',
    '{"d":4}',
  ]);
});

test('empty lines are skipped and \\r\\n ends a line as \\n does', async () => {
  assert.deepEqual(await lines(['\n\r\n{"a":1}\r\n', '\n', '{"b":2}\r', '\n']), ['{"a":1}', '{"b":2}']);
});

test('a character split between two chunks is decoded whole', async () => {
  const text = '{"name":"zürich-日本"}\n';
  const bytes = Buffer.from(text);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(
      await lines([bytes.subarray(0, cut), bytes.subarray(cut)]),
      [text.trim()],
      `cut at ${cut}`,
    );
  }
});

test('every byte in a chunk of its own', async () => {
  const text = '{"a":"é"}\n{"b":2}\n';
  const bytes = Buffer.from(text);
  assert.deepEqual(await lines([...bytes].map((b) => Buffer.from([b]))), ['{"a":"é"}', '{"b":2}']);
});
