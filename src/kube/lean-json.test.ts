import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseKubeJson } from './lean-json.ts';

/** What parseKubeJson must give: the object with every metadata.managedFields deleted. */
function withoutManagedFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutManagedFields);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    if (k !== 'managedFields')
      // defineProperty: a `__proto__` key stays a key, as JSON.parse makes it
      Object.defineProperty(out, k, {
        value: withoutManagedFields(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  return out;
}

// Strings built to confuse a text scan: quotes, backslashes, brackets and the key itself.
const tricky = fc.oneof(
  fc.string(),
  fc.constantFrom('"managedFields":[', '\\', '\\"', ']},"spec":{', '"', '[{', '}]', 'f:spec'),
  fc
    .array(fc.constantFrom('\\', '"', '[', ']', '{', '}', ',', 'managedFields', ':'), { maxLength: 12 })
    .map((a) => a.join('')),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    tricky,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
  ),
}));
const managedFields = fc.array(
  fc.record({ manager: tricky, operation: fc.constant('Update'), fieldsV1: json.value }),
  { maxLength: 3 },
);
const kubeObject = fc.record({
  kind: fc.constant('Job'),
  metadata: fc.record({
    name: tricky,
    annotations: fc.dictionary(tricky, tricky, { maxKeys: 3 }),
    managedFields,
  }),
  spec: json.value,
  status: json.value,
});

describe('parseKubeJson', () => {
  test('a Job as the API server sends it: the same object without managedFields', () => {
    const job = {
      kind: 'Job',
      apiVersion: 'batch/v1',
      metadata: {
        name: 'worker-1',
        annotations: { 'kjd.dev/request-id': 'a"b\\' },
        managedFields: [
          { manager: 'kjd', fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { '.': {} } } } } },
        ],
      },
      spec: { suspend: true },
      status: {},
    };
    assert.deepEqual(parseKubeJson(JSON.stringify(job)), withoutManagedFields(job));
  });

  test('a list: every item loses its managedFields', () => {
    const list = {
      kind: 'JobList',
      items: [1, 2, 3].map((i) => ({ metadata: { managedFields: [{ i }], name: `j${String(i)}` } })),
    };
    assert.deepEqual(parseKubeJson(JSON.stringify(list)), withoutManagedFields(list));
  });

  test('the member alone, first, or last in its object', () => {
    for (const metadata of [
      { managedFields: [] },
      { managedFields: [{}], name: 'x' },
      { name: 'x', managedFields: [1] },
    ])
      assert.deepEqual(parseKubeJson(JSON.stringify({ metadata })), withoutManagedFields({ metadata }));
  });

  test('any object, compact or indented: the same as JSON.parse, less managedFields', () => {
    fc.assert(
      fc.property(kubeObject, fc.constantFrom(undefined, 1, 2), (object, indent) => {
        const text = JSON.stringify(object, null, indent);
        assert.deepEqual(parseKubeJson(text), withoutManagedFields(JSON.parse(text)));
      }),
      { numRuns: 2000 },
    );
  });

  test('the key as text inside another key or a value is left alone', () => {
    for (const o of [
      { metadata: { 'a"managedFields': [1], b: 2 } },
      { metadata: { name: '"managedFields":[1],', managedFields: [2] } },
      { metadata: { 'x\\': 1, managedFields: [{ 'k:{"a":"]}"}': {} }], name: 'n' } },
    ])
      assert.deepEqual(parseKubeJson(JSON.stringify(o)), withoutManagedFields(o));
  });

  test('invalid JSON fails as JSON.parse fails', () => {
    assert.throws(() => parseKubeJson('{"metadata":{"managedFields":[{]}'), SyntaxError);
    assert.throws(() => parseKubeJson('{"a":'), SyntaxError);
  });
});
