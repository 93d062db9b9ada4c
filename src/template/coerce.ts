// From an item's value (JSON) or a `--set K=V` string to the one string a
// parameter renders as. Every type accepts its string form because values
// from the command line are always strings; a JSON item must use the JSON
// type for strings (42 is not accepted where a string is declared).
import { ParameterError } from './errors.ts';
import { describeValue } from './json.ts';
import type { ParameterSpec } from './parameter-types.ts';

export type CheckedValue =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly problem: string };

const INTEGER_TEXT = /^-?[0-9]+$/;

function pass(value: string): CheckedValue {
  return { ok: true, value };
}

function fail(expected: string, value: unknown): CheckedValue {
  return { ok: false, problem: `expected ${expected}, got ${describeValue(value)}` };
}

/** Text kjd cannot pass on unchanged: argv and env entries end at NUL; JSON/UTF-8 cannot carry lone surrogates. */
function textProblem(value: string): string | undefined {
  if (value.includes('\0')) return 'must not contain a NUL byte';
  if (!value.isWellFormed()) return 'must be valid Unicode text (it has an unpaired surrogate)';
  return undefined;
}

function checkInteger(value: unknown): CheckedValue {
  if (typeof value === 'number')
    return Number.isSafeInteger(value) ? pass(String(value)) : fail('an integer', value);
  // Canonical form: "007" and "-0" render as "7" and "0", as the JSON numbers would.
  if (typeof value === 'string' && INTEGER_TEXT.test(value)) return pass(BigInt(value).toString());
  return fail('an integer', value);
}

function checkBoolean(value: unknown): CheckedValue {
  if (value === true || value === 'true') return pass('true');
  if (value === false || value === 'false') return pass('false');
  return fail('true or false', value);
}

function checkEnum(values: readonly string[], value: unknown): CheckedValue {
  if (typeof value === 'string' && values.includes(value)) return pass(value);
  return fail(`one of ${values.join(', ')}`, value);
}

function checkType(spec: ParameterSpec, value: unknown): CheckedValue {
  switch (spec.type) {
    case 'string':
      return typeof value === 'string' ? pass(value) : fail('a string', value);
    case 'integer':
      return checkInteger(value);
    case 'boolean':
      return checkBoolean(value);
    case 'enum':
      return checkEnum(spec.values ?? [], value);
  }
}

/**
 * Checks one value against its declaration without throwing (renders collect
 * every problem first). Never called for an absent value: absence is about
 * `required` and `default`, not about the value.
 */
export function checkValue(spec: ParameterSpec, value: unknown): CheckedValue {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem !== undefined) return { ok: false, problem };
  }
  const typed = checkType(spec, value);
  if (typed.ok && spec.pattern && !spec.pattern.test(typed.value)) {
    return fail(`a value matching /${spec.pattern.source}/`, typed.value);
  }
  return typed;
}

/**
 * The string form of `value` for parameter `spec`: integers in canonical
 * decimal, booleans as "true"/"false", strings and enum values unchanged.
 * Throws a ParameterError saying what was expected.
 */
export function coerce(spec: ParameterSpec, value: unknown): string {
  const checked = checkValue(spec, value);
  if (!checked.ok) throw new ParameterError([{ parameter: spec.name, problem: checked.problem }]);
  return checked.value;
}
