import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  identitySelector,
  isDnsLabel,
  isLabelValue,
  jobNameFor,
  labelValue,
  sanitizeDnsLabel,
} from './index.ts';

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('jobNameFor', () => {
  test('with a request id: <prefix>-<first 10 hex of sha256(id)>', () => {
    const hash = createHash('sha256').update('order-42').digest('hex').slice(0, 10);
    assert.equal(jobNameFor('worker', 'order-42'), `worker-${hash}`);
  });

  test('the same id always gives the same name; different ids different names', () => {
    assert.equal(jobNameFor('worker', 'a'), jobNameFor('worker', 'a'));
    assert.notEqual(jobNameFor('worker', 'a'), jobNameFor('worker', 'b'));
    assert.notEqual(jobNameFor('worker', 'a'), jobNameFor('worker', 'a '));
  });

  test('without a request id: 5 random characters', () => {
    const names = new Set(Array.from({ length: 50 }, () => jobNameFor('worker')));
    for (const name of names) assert.match(name, /^worker-[a-z0-9]{5}$/);
    assert.ok(names.size > 45);
  });

  test('a 200-character template name is cut to fit 63', () => {
    const name = jobNameFor('Very_Long.Template '.repeat(11).slice(0, 200), 'id');
    assert.ok(name.length <= 63, name);
    assert.match(name, RFC1123_LABEL);
    assert.match(name, /^very-long-template-very-long-template-very-long-temp-[0-9a-f]{10}$/);
    assert.equal(name.length, 63);
  });

  test('a template name with nothing usable falls back to "job"', () => {
    assert.match(jobNameFor('___', 'id'), /^job-[0-9a-f]{10}$/);
  });

  test('property: always an RFC 1123 label of at most 63, deterministic per id', () => {
    const anyText = fc.string({ unit: 'binary', maxLength: 300 });
    fc.assert(
      fc.property(anyText, anyText, (templateName, requestId) => {
        const name = jobNameFor(templateName, requestId);
        assert.ok(name.length <= 63 && isDnsLabel(name) && RFC1123_LABEL.test(name), name);
        assert.equal(jobNameFor(templateName, requestId), name);
        assert.ok(isDnsLabel(jobNameFor(templateName)));
      }),
      { numRuns: 1000 },
    );
  });

  test('property: different ids give different names', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary' }), { minLength: 2, maxLength: 20 }), (ids) => {
        assert.equal(new Set(ids.map((id) => jobNameFor('worker', id))).size, ids.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('sanitizers', () => {
  test('sanitizeDnsLabel: lowercased, runs of other characters to one "-", trimmed', () => {
    assert.equal(sanitizeDnsLabel('My_Worker..Job-'), 'my-worker-job');
    assert.equal(sanitizeDnsLabel('--a--b--'), 'a-b');
    assert.equal(sanitizeDnsLabel('ümlaut'), 'mlaut');
    assert.equal(sanitizeDnsLabel('abc-def', 4), 'abc');
  });

  test('labelValue: valid for any input, case kept', () => {
    assert.equal(labelValue('Team A/B'), 'Team-A-B');
    assert.equal(labelValue('.x.'), 'x');
    assert.equal(labelValue(''), '');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const v = labelValue(s);
        assert.ok(isLabelValue(v) && v.length <= 63 && LABEL_VALUE.test(v), v);
      }),
      { numRuns: 500 },
    );
  });

  test('isLabelValue', () => {
    assert.ok(isLabelValue('A-b_c.9'));
    assert.ok(isLabelValue(''));
    assert.ok(!isLabelValue('-a'));
    assert.ok(!isLabelValue('a'.repeat(64)));
  });
});

test('identitySelector', () => {
  assert.equal(identitySelector(), 'app.kubernetes.io/managed-by=kjd');
  const hash = createHash('sha256').update('r1').digest('hex').slice(0, 10);
  assert.equal(
    identitySelector({ templateName: 'My Worker', requestId: 'r1' }),
    `app.kubernetes.io/managed-by=kjd,kjd.dev/template=my-worker,kjd.dev/request-hash=${hash}`,
  );
});
