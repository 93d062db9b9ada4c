import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParameterError, coerce } from './index.ts';
import type { ParameterSpec } from './index.ts';

const spec = (s: Partial<ParameterSpec> & Pick<ParameterSpec, 'type'>): ParameterSpec => ({
  name: 'P',
  required: false,
  ...s,
});

function problem(p: ParameterSpec, value: unknown): string {
  try {
    coerce(p, value);
  } catch (err) {
    assert.ok(err instanceof ParameterError);
    assert.equal(err.code, 'PARAMETER_INVALID');
    assert.equal(err.category, 'permanent');
    assert.equal(err.issues.length, 1);
    return err.message;
  }
  assert.fail(`${JSON.stringify(value)} was accepted`);
}

describe('coerce', () => {
  test('string: JSON strings only (a --set value is a string too)', () => {
    const p = spec({ type: 'string' });
    assert.equal(coerce(p, 'a b'), 'a b');
    assert.equal(coerce(p, ''), '');
    assert.equal(problem(p, 42), 'parameter P: expected a string, got 42');
    assert.equal(problem(p, true), 'parameter P: expected a string, got true');
    assert.equal(problem(p, { a: 1 }), 'parameter P: expected a string, got a mapping');
  });

  test('integer: a safe JSON integer or its decimal text, rendered canonically', () => {
    const p = spec({ type: 'integer' });
    assert.equal(coerce(p, 42), '42');
    assert.equal(coerce(p, -7), '-7');
    assert.equal(coerce(p, '42'), '42');
    assert.equal(coerce(p, '-0'), '0');
    assert.equal(coerce(p, '007'), '7');
    assert.equal(coerce(p, '123456789012345678901234567890'), '123456789012345678901234567890');
    assert.equal(problem(p, '4x2'), 'parameter P: expected an integer, got "4x2"');
    assert.equal(problem(p, 1.5), 'parameter P: expected an integer, got 1.5');
    assert.equal(problem(p, 2 ** 60), `parameter P: expected an integer, got ${2 ** 60}`);
    assert.equal(problem(p, ' 1'), 'parameter P: expected an integer, got " 1"');
    assert.equal(problem(p, '1e3'), 'parameter P: expected an integer, got "1e3"');
  });

  test('boolean: true/false or "true"/"false"', () => {
    const p = spec({ type: 'boolean' });
    assert.equal(coerce(p, true), 'true');
    assert.equal(coerce(p, 'false'), 'false');
    assert.equal(problem(p, 'yes'), 'parameter P: expected true or false, got "yes"');
    assert.equal(problem(p, 1), 'parameter P: expected true or false, got 1');
  });

  test('enum: one of the declared values, exactly', () => {
    const p = spec({ type: 'enum', values: ['fast', 'slow'] });
    assert.equal(coerce(p, 'slow'), 'slow');
    assert.equal(problem(p, 'Fast'), 'parameter P: expected one of fast, slow, got "Fast"');
  });

  test('pattern: applies to the string form, as written (not anchored by kjd)', () => {
    const label = spec({ type: 'string', pattern: /^[a-z0-9-]{1,40}$/u });
    assert.equal(coerce(label, 'ok-1'), 'ok-1');
    assert.equal(
      problem(label, 'Not OK'),
      'parameter P: expected a value matching /^[a-z0-9-]{1,40}$/, got "Not OK"',
    );
    const unanchored = spec({ type: 'integer', pattern: /7/u });
    assert.equal(coerce(unanchored, 170), '170');
    assert.equal(coerce(unanchored, '007'), '7');
  });

  test('text that cannot be passed on unchanged', () => {
    for (const p of [
      spec({ type: 'string' }),
      spec({ type: 'integer' }),
      spec({ type: 'enum', values: ['a\0'] }),
    ]) {
      assert.equal(problem(p, 'a\0'), 'parameter P: must not contain a NUL byte');
    }
    assert.match(problem(spec({ type: 'string' }), 'a\uD800b'), /must be valid Unicode text/);
  });

  test('long values are cut short in messages', () => {
    const message = problem(spec({ type: 'integer' }), 'x'.repeat(500));
    assert.ok(message.length < 120, message);
  });
});
