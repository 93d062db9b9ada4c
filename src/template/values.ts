// Resolves the values of one render against the declarations: every problem
// is collected (an item with three bad fields gets one error naming all three).
import { checkValue } from './coerce.ts';
import type { ParameterIssue } from './errors.ts';
import { isRecord } from './json.ts';
import type { ParameterSpec } from './parameter-types.ts';

export interface ResolvedValues {
  /** Final string form of each parameter that has a value (given or default). */
  readonly values: ReadonlyMap<string, string>;
  /** Parameters whose value was given but is invalid, or required but missing. */
  readonly invalid: ReadonlySet<string>;
  readonly issues: readonly ParameterIssue[];
}

const ARTICLE: Record<ParameterSpec['type'], string> = {
  string: 'a string',
  integer: 'an integer',
  boolean: 'true or false',
  enum: 'one of the declared values',
};

function expectation(spec: ParameterSpec): string {
  return spec.type === 'enum' ? `one of ${(spec.values ?? []).join(', ')}` : ARTICLE[spec.type];
}

/**
 * `given[name]` for each declared parameter; null counts as absent (JSON
 * producers often send null for "not set"). Keys nobody declared are
 * problems: they are usually a typo of a declared name.
 */
export function resolveValues(specs: readonly ParameterSpec[], given: unknown): ResolvedValues {
  const values = new Map<string, string>();
  const invalid = new Set<string>();
  const issues: ParameterIssue[] = [];
  if (!isRecord(given)) {
    const problem = 'expected the values to be a JSON object of parameter names to values';
    return { values, invalid: new Set(specs.map((s) => s.name)), issues: [{ parameter: '*', problem }] };
  }
  const declared = new Set(specs.map((s) => s.name));
  const names = [...declared].join(', ') || 'none';
  for (const key of Object.keys(given).filter((k) => !declared.has(k))) {
    issues.push({ parameter: key, problem: `is not declared by the template (declared: ${names})` });
  }
  for (const spec of specs) {
    const value = Object.hasOwn(given, spec.name) ? given[spec.name] : undefined;
    if (value === undefined || value === null) {
      if (spec.default !== undefined) values.set(spec.name, spec.default);
      else if (spec.required) {
        invalid.add(spec.name);
        issues.push({ parameter: spec.name, problem: `a value is required (expected ${expectation(spec)})` });
      }
      continue;
    }
    const checked = checkValue(spec, value);
    if (checked.ok) values.set(spec.name, checked.value);
    else {
      invalid.add(spec.name);
      issues.push({ parameter: spec.name, problem: checked.problem });
    }
  }
  return { values, invalid, issues };
}
