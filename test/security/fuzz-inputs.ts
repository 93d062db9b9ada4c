// Generators of hostile inputs for the fuzz test: HTTP requests (bodies of
// every shape, depth, size and encoding, CloudEvents in both modes, odd
// headers) and queue items (the same bodies as raw bytes). Values that
// reach the Job's shell script carry shell syntax that would touch `marker`
// if it ever ran. Deterministic: fast-check's sample with a fixed seed.
import fc from 'fast-check';

export interface Expected {
  readonly CUSTOM_ID: string;
  readonly NOTE: string;
}

export interface FuzzRequest {
  readonly kind: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Set when the input is a valid item: what its Job's command must print. */
  readonly expect?: { readonly id: string; readonly values: Expected };
}

const HUGE = ['1e400', '-1e400', '123456789012345678901234567890', '1E-400', '-0', '9007199254740993'];

function shellish(marker: string): fc.Arbitrary<string> {
  return fc.constantFrom(
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `'; touch ${marker}; '`,
    `"; touch ${marker}; "`,
    `\${IFS}touch\${IFS}${marker}`,
    `$(VAR)`,
    `$$(touch ${marker})`,
    `\\`,
    `%s%n`,
    `a\nb`,
    `* ? [a-z] ~ !`,
    `&& touch ${marker} ||`,
    `>${marker}`,
  );
}

/** Text a parameter may hold: anything printable (no NUL: an argv cannot carry it). */
function value(marker: string): fc.Arbitrary<string> {
  const plain = fc.string({ unit: 'grapheme', maxLength: 30 });
  return fc
    .oneof(
      plain,
      shellish(marker),
      fc.tuple(plain, shellish(marker), plain).map((p) => p.join('')),
    )
    .map((s) => s.replaceAll('\0', ''))
    .filter((s) => s !== '');
}

/** Extra keys: prototype keys, huge numbers, random JSON. */
const extras: fc.Arbitrary<string[]> = fc.array(
  fc.oneof(
    fc.constantFrom(
      '"__proto__":{"polluted":true}',
      '"constructor":{"prototype":{"polluted":true}}',
      '"prototype":1',
    ),
    fc.constantFrom(...HUGE).map((n) => `"n":${n}`),
    fc
      .tuple(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }))
      .map(([k, v]) => `${JSON.stringify(`x${k}`)}:${JSON.stringify(v)}`),
  ),
  { maxLength: 4 },
);

function validItem(marker: string, id: string): fc.Arbitrary<{ text: string; values: Expected }> {
  return fc
    .tuple(value(marker), fc.option(value(marker), { nil: undefined }), extras)
    .map(([custom, note, more]) => {
      const fields = [`"id":${JSON.stringify(id)}`, `"CUSTOM_ID":${JSON.stringify(custom)}`, ...more];
      if (note !== undefined) fields.push(`"NOTE":${JSON.stringify(note)}`);
      return { text: `{${fields.join(',')}}`, values: { CUSTOM_ID: custom, NOTE: note ?? '' } };
    });
}

const deep = fc
  .tuple(fc.integer({ min: 10, max: 3000 }), fc.constantFrom('[', '{"a":'))
  .map(([n, open]) => `${open.repeat(n)}1${(open === '[' ? ']' : '}').repeat(n)}`);

/** Bodies that are not one valid item. */
const junk: fc.Arbitrary<Buffer> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))),
  deep.map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  // invalid UTF-8 inside an otherwise valid item
  fc.constantFrom(
    Buffer.from([
      0x7b, 0x22, 0x43, 0x55, 0x53, 0x54, 0x4f, 0x4d, 0x5f, 0x49, 0x44, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22,
      0x7d,
    ]),
    Buffer.from([0xc3, 0x28]),
    Buffer.from([0xed, 0xa0, 0x80]),
  ),
  fc.constantFrom(...HUGE).map((n) => Buffer.from(`{"CUSTOM_ID":${n}}`)),
  fc.string({ maxLength: 50 }).map((s) => Buffer.from(s, 'utf16le')),
  fc.constant(Buffer.from('x'.repeat(20_000))),
);

const oddHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.constant({}),
  fc.constantFrom(
    { 'content-type': 'text/plain' },
    { 'content-type': 'application/json; charset=utf-16' },
    { 'content-type': 'application/cloudevents+json; charset=latin1' },
    { 'content-type': '' },
    { 'x-forwarded-for': '1.2.3.4' },
    { 'ce-id': '' },
    { 'ce-id': 'x', 'ce-specversion': '0.3' },
    { 'x-long': 'a'.repeat(8000) },
    { 'content-encoding': 'gzip' },
    { 'transfer-encoding-hint': 'chunked' },
  ),
);

export function httpRequests(count: number, marker: string, seed: number): FuzzRequest[] {
  const arb = fc.oneof(
    { weight: 1, arbitrary: fc.constant('valid') },
    { weight: 1, arbitrary: fc.constant('structured') },
    { weight: 1, arbitrary: fc.constant('binary') },
    { weight: 17, arbitrary: fc.constant('junk') },
  );
  const kinds = fc.sample(arb, { numRuns: count, seed });
  const items = fc.sample(validItem(marker, 'X'), { numRuns: count, seed: seed + 1 });
  const junks = fc.sample(junk, { numRuns: count, seed: seed + 2 });
  const headers = fc.sample(oddHeaders, { numRuns: count, seed: seed + 3 });
  return kinds.map((kind, i) => {
    const id = `fz-h-${i}`;
    const item = items[i] ?? { text: '{}', values: { CUSTOM_ID: '', NOTE: '' } };
    const text = item.text.replace('"id":"X"', `"id":${JSON.stringify(id)}`);
    const extra = headers[i] ?? {};
    const json = { 'content-type': 'application/json' };
    switch (kind) {
      case 'valid':
        return { kind, headers: json, body: Buffer.from(text), expect: { id, values: item.values } };
      case 'structured': {
        const data = JSON.parse(text) as Record<string, unknown>;
        const event = { specversion: '1.0', id, source: '/fuzz', type: 't', data };
        return {
          kind,
          headers: { 'content-type': 'application/cloudevents+json' },
          body: Buffer.from(JSON.stringify(event)),
          expect: { id: `/fuzz/${id}`, values: item.values },
        };
      }
      case 'binary':
        return {
          kind,
          headers: { ...json, 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/fuzzb', 'ce-type': 't' },
          body: Buffer.from(text),
          expect: { id: `/fuzzb/${id}`, values: item.values },
        };
      default:
        return { kind, headers: { ...json, ...extra }, body: junks[i] ?? Buffer.alloc(0) };
    }
  });
}

export interface FuzzItem {
  readonly raw: Buffer;
  readonly expect?: { readonly id: string; readonly values: Expected };
}

export function queueItems(count: number, marker: string, seed: number): FuzzItem[] {
  const valid = fc.sample(fc.boolean(), { numRuns: count, seed });
  const items = fc.sample(validItem(marker, 'X'), { numRuns: count, seed: seed + 1 });
  const junks = fc.sample(junk, { numRuns: count, seed: seed + 2 });
  return valid.map((ok, i) => {
    const item = items[i];
    // An eighth valid: enough real Jobs to check, without many thousands of them.
    if (ok && i % 4 === 0 && item !== undefined) {
      const id = `fz-q-${i}`;
      const raw = Buffer.from(item.text.replace('"id":"X"', `"id":${JSON.stringify(id)}`));
      return { raw, expect: { id, values: item.values } };
    }
    return { raw: junks[i] ?? Buffer.alloc(0) };
  });
}
