// The `${NAME}` placeholder syntax, and the fields where it may appear.
// `$${NAME}` is an escape that renders as a literal `${NAME}` (for a shell
// variable, say). Anything else, including `${NAME:-x}` or `$(NAME)`, is
// ordinary text.
import type { FieldPath } from './paths.ts';

export type Part =
  | { readonly kind: 'text'; readonly text: string }
  /** `offset`: where `${NAME}` starts in the string as written. */
  | { readonly kind: 'parameter'; readonly name: string; readonly offset: number };

// An optional leading `$` makes the match an escape. At `$$${X}` the regex
// matches at the second `$` (the escape), leaving the first as text.
const SYNTAX = /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function hasPlaceholderSyntax(s: string): boolean {
  return s.includes('${') && new RegExp(SYNTAX.source).test(s);
}

/** `s` as text and parameter parts, escapes already turned into text. Adjacent texts are merged. */
export function splitPlaceholders(s: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let last = 0;
  for (const match of s.matchAll(SYNTAX)) {
    const [whole, name = ''] = match;
    text += s.slice(last, match.index);
    last = match.index + whole.length;
    if (whole.startsWith('$$')) {
      text += whole.slice(1);
      continue;
    }
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
    parts.push({ kind: 'parameter', name, offset: match.index });
  }
  text += s.slice(last);
  if (text !== '') parts.push({ kind: 'text', text });
  return parts;
}

export function parametersIn(parts: readonly Part[]): string[] {
  return parts.flatMap((p) => (p.kind === 'parameter' ? [p.name] : []));
}

/**
 * How a value is inserted in a field:
 * - `argv`, `env`: as one argument / the env value; `$` is escaped for the kubelet's `$(VAR)` expansion;
 * - `script`: shell-quoted too (the field is the script of `sh -c`);
 * - `image`, `label`, `annotation`: verbatim, then the whole field is validated.
 */
export type FieldKind = 'image' | 'argv' | 'script' | 'env' | 'label' | 'annotation';

export const ALLOWED_FIELDS =
  'containers[].image, command[], args[], env[].value (also of initContainers), and the values of metadata.labels, metadata.annotations, spec.template.metadata.labels and spec.template.metadata.annotations';

function containerField(rest: FieldPath): FieldKind | undefined {
  const [field, index, leaf] = rest;
  if (field === 'image' && rest.length === 1) return 'image';
  if ((field === 'command' || field === 'args') && typeof index === 'number' && rest.length === 2)
    return 'argv';
  if (field === 'env' && typeof index === 'number' && leaf === 'value' && rest.length === 3) return 'env';
  return undefined;
}

function metadataField(rest: FieldPath): FieldKind | undefined {
  const [map, key] = rest;
  if (rest.length !== 2 || typeof key !== 'string') return undefined;
  return map === 'labels' ? 'label' : map === 'annotations' ? 'annotation' : undefined;
}

/** The kind of field at `path` if placeholders may appear there. Script detection happens later, per container. */
export function placeholderField(path: FieldPath): FieldKind | undefined {
  const [a, b, c, d, e, f] = path;
  if (a === 'metadata') return metadataField(path.slice(1));
  if (a !== 'spec' || b !== 'template') return undefined;
  if (c === 'metadata') return metadataField(path.slice(3));
  const inContainer = c === 'spec' && (d === 'containers' || d === 'initContainers') && typeof e === 'number';
  return inContainer && f !== undefined ? containerField(path.slice(5)) : undefined;
}
