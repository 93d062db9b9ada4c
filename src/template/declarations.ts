// Reads the parameter declarations a template carries in its
// `kjd.dev/parameters` annotation: a YAML (or JSON) mapping NAME -> spec.
// Every mistake is reported at its line in the template file, naming the
// parameter, so a typo never surfaces later as a failed item.
import { LineCounter, isMap, isNode, isScalar, parseDocument } from 'yaml';
import type { Document, Pair } from 'yaml';
import { checkValue } from './coerce.ts';
import { describeValue, isRecord } from './json.ts';
import { ANNOTATION_PARAMETERS, RESERVED_ENV_PREFIX } from './labels.ts';
import { PARAMETER_NAME, PARAMETER_TYPES } from './parameter-types.ts';
import type { ParameterSpec, ParameterType } from './parameter-types.ts';
import type { FieldPath } from './paths.ts';
import type { Problems } from './problems.ts';

export const DECLARATIONS_PATH: FieldPath = ['metadata', 'annotations', ANNOTATION_PARAMETERS];
const SPEC_KEYS = ['type', 'required', 'default', 'values', 'pattern', 'description'];

/** Reports a problem at an offset of the annotation's own text. */
type Report = (subpath: FieldPath, reason: string) => void;

type Draft = { -readonly [K in keyof ParameterSpec]: ParameterSpec[K] };

/**
 * Each parameter becomes an environment variable of every container. These
 * would let an item's producer change how the container's programs run
 * (which binary `ls` is, a library to preload, a file bash sources first,
 * how the shell splits words), so no template may hand them out.
 */
const DANGEROUS_ENV = new Set([
  'PATH',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'IFS',
  'CDPATH',
  'GLOBIGNORE',
  'PROMPT_COMMAND',
  'NODE_OPTIONS',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PERL5OPT',
  'RUBYOPT',
  'JAVA_TOOL_OPTIONS',
]);

function checkName(name: string): string | undefined {
  if (!PARAMETER_NAME.test(name)) {
    return 'a parameter name is letters, digits and _, not starting with a digit';
  }
  if (name.startsWith(RESERVED_ENV_PREFIX)) {
    return `names starting with ${RESERVED_ENV_PREFIX} are reserved for kjd`;
  }
  if (DANGEROUS_ENV.has(name)) {
    return `${name} is also an environment variable that changes how programs run; an item must not set it, choose another name`;
  }
  return undefined;
}

function checkValues(raw: unknown, type: ParameterType): string | undefined {
  if (type !== 'enum') return raw === undefined ? undefined : 'values only apply to type enum';
  if (!Array.isArray(raw) || raw.length === 0) return 'an enum needs values: a non-empty list of strings';
  if (!raw.every((v) => typeof v === 'string')) return 'enum values must be strings; quote them';
  if (new Set(raw).size !== raw.length) return 'enum values must be distinct';
  return undefined;
}

function compilePattern(raw: unknown): RegExp | string {
  if (typeof raw !== 'string') return `expected a regular expression as a string, got ${describeValue(raw)}`;
  try {
    return new RegExp(raw, 'u');
  } catch (err) {
    return `the pattern does not compile: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Each `check*` adds what it validated to `draft`, or reports and returns false. */
function checkType(raw: Record<string, unknown>, draft: Draft, report: Report): boolean {
  const type = raw.type;
  if (!PARAMETER_TYPES.some((t) => t === type)) {
    const expected = `one of ${PARAMETER_TYPES.join(', ')}`;
    report(
      ['type'],
      type === undefined ? `needs a type: ${expected}` : `expected ${expected}, got ${describeValue(type)}`,
    );
    return false;
  }
  draft.type = type as ParameterType;
  const problem = checkValues(raw.values, draft.type);
  if (problem !== undefined) report(['values'], problem);
  else if (Array.isArray(raw.values)) draft.values = raw.values as string[];
  return problem === undefined;
}

function checkOptions(raw: Record<string, unknown>, draft: Draft, report: Report): boolean {
  let ok = true;
  const { required = false, description, pattern } = raw;
  if (typeof required !== 'boolean') {
    report(['required'], `expected true or false, got ${describeValue(required)}`);
    ok = false;
  } else draft.required = required;
  if (description !== undefined && typeof description !== 'string') {
    report(['description'], `expected a string, got ${describeValue(description)}`);
    ok = false;
  } else if (description !== undefined) draft.description = description;
  if (pattern !== undefined) {
    const compiled = compilePattern(pattern);
    if (typeof compiled === 'string') report(['pattern'], compiled);
    else draft.pattern = compiled;
    ok &&= typeof compiled !== 'string';
  }
  return ok;
}

function checkDefault(raw: Record<string, unknown>, draft: Draft, report: Report): void {
  if (raw.default === undefined) return;
  if (draft.required) {
    report(['default'], 'a required parameter cannot have a default (drop one of them)');
    return;
  }
  const checked = checkValue(draft, raw.default);
  if (checked.ok) draft.default = checked.value;
  else report(['default'], `the default is invalid: ${checked.problem}`);
}

function declare(name: string, raw: unknown, report: Report): ParameterSpec | undefined {
  if (!isRecord(raw)) {
    report([], `expected a mapping like { type: string }, got ${describeValue(raw)}`);
    return undefined;
  }
  const unknown = Object.keys(raw).filter((k) => !SPEC_KEYS.includes(k));
  for (const key of unknown) report([key], `unknown key ${key}; expected one of ${SPEC_KEYS.join(', ')}`);
  const draft: Draft = { name, type: 'string', required: false };
  const typed = checkType(raw, draft, report);
  const optioned = checkOptions(raw, draft, report);
  if (typed && optioned) checkDefault(raw, draft, report);
  return unknown.length === 0 && typed && optioned ? draft : undefined;
}

function parseEmbedded(
  text: string,
  problems: Problems,
): { doc: Document.Parsed; lines: LineCounter } | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  for (const error of doc.errors) {
    const position = problems.source.embeddedPosition(DECLARATIONS_PATH, lines.linePos(error.pos[0]));
    problems.atPosition(
      position,
      DECLARATIONS_PATH,
      `the parameter declarations are not valid YAML: ${error.message}`,
    );
  }
  if (doc.errors.length > 0) return undefined;
  if (!isMap(doc.contents)) {
    problems.at(
      DECLARATIONS_PATH,
      'expected a mapping of parameter names to declarations like { type: string }',
    );
    return undefined;
  }
  return { doc, lines };
}

function reporterFor(pair: Pair, name: string, lines: LineCounter, problems: Problems): Report {
  return (subpath, reason) => {
    const field = subpath[0];
    const node = field !== undefined && isMap(pair.value) ? pair.value.get(field, true) : undefined;
    const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
    const offset = (isNode(node) ? node.range?.[0] : undefined) ?? keyRange?.[0] ?? 0;
    const position = problems.source.embeddedPosition(DECLARATIONS_PATH, lines.linePos(offset));
    problems.atPosition(position, [...DECLARATIONS_PATH, name, ...subpath], `parameter ${name}: ${reason}`);
  };
}

export interface Declarations {
  /** Valid declarations, in the order written. */
  readonly specs: readonly ParameterSpec[];
  /** Every name declared, valid or not (so a broken declaration is not also reported as undeclared). */
  readonly names: ReadonlySet<string>;
}

/**
 * The parameters declared by annotation text `text`. Problems are added to
 * `problems`; a parameter with a problem is left out of `specs`.
 */
export function parseDeclarations(text: string, problems: Problems): Declarations {
  const parsed = parseEmbedded(text, problems);
  const specs: ParameterSpec[] = [];
  const names = new Set<string>();
  if (!parsed || !isMap(parsed.doc.contents)) return { specs, names };
  for (const pair of parsed.doc.contents.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    names.add(name);
    const report = reporterFor(pair, name, parsed.lines, problems);
    const nameProblem = checkName(name);
    if (nameProblem !== undefined) {
      report([], nameProblem);
      continue;
    }
    const spec = declare(name, isNode(pair.value) ? pair.value.toJS(parsed.doc) : pair.value, report);
    if (spec) specs.push(spec);
  }
  return { specs, names };
}
