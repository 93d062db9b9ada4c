// Fills one slot with values, encoded for the field it is in, and checks what
// Kubernetes would refuse (a label value, an image reference) so the item's
// producer hears which parameter was wrong instead of an API server 422.
import type { ParameterIssue } from './errors.ts';
import { escapeKubeExpansion } from './expansion.ts';
import { describeValue } from './json.ts';
import { isLabelValue } from './names.ts';
import type { FieldKind } from './placeholders.ts';
import { shellQuote } from './shell.ts';
import type { Slot } from './slots.ts';

export interface Filled {
  readonly text: string;
  readonly issues: readonly ParameterIssue[];
}

/** How a value is written into a field of each kind (absent optional values are ''). */
function encode(kind: FieldKind, value: string): string {
  switch (kind) {
    case 'script':
      return escapeKubeExpansion(shellQuote(value));
    case 'argv':
    case 'env':
      return escapeKubeExpansion(value);
    case 'image':
    case 'label':
    case 'annotation':
      return value;
  }
}

function fieldProblem(slot: Slot, text: string): string | undefined {
  if (slot.kind === 'label' && !isLabelValue(text)) {
    const key = String(slot.path.at(-1));
    return `label ${key} would be ${describeValue(text)}, which is not a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`;
  }
  if (slot.kind === 'image' && (text === '' || /\s/.test(text))) {
    return `the image would be ${describeValue(text)}; an image reference is non-empty and has no whitespace`;
  }
  return undefined;
}

/** The slot's text with `values` inserted; issues name every parameter of a field that came out invalid. */
export function fillSlot(slot: Slot, values: ReadonlyMap<string, string>): Filled {
  let text = '';
  for (const part of slot.parts) {
    text += part.kind === 'text' ? part.text : encode(slot.kind, values.get(part.name) ?? '');
  }
  const problem = fieldProblem(slot, text);
  if (problem === undefined) return { text, issues: [] };
  const names = new Set(slot.parts.flatMap((p) => (p.kind === 'parameter' ? [p.name] : [])));
  return { text, issues: [...names].map((parameter) => ({ parameter, problem })) };
}
