// Finds every placeholder of a template once, at load: checks that it names a
// declared parameter and stands in a field that allows it, and decides how
// its value will be inserted there (a "slot"). Rendering then only fills
// slots; it never has to look for placeholders or judge where they are.
import { DECLARATIONS_PATH } from './declarations.ts';
import { isRecord } from './json.ts';
import { ALLOWED_FIELDS, hasPlaceholderSyntax, placeholderField, splitPlaceholders } from './placeholders.ts';
import type { FieldKind, Part } from './placeholders.ts';
import { startsWith } from './paths.ts';
import type { FieldPath } from './paths.ts';
import type { Problems } from './problems.ts';
import { CONTAINER_LISTS, POD_SPEC_PATH } from './schema.ts';
import { findInterpreterProgram, findShellInvocation, looksLikeScriptFlag } from './shell.ts';
import { checkScript } from './shell-lexer.ts';
import type { Marker } from './shell-lexer.ts';

export interface Slot {
  readonly path: FieldPath;
  readonly kind: FieldKind;
  readonly parts: readonly Part[];
}

type Visit = (path: FieldPath, text: string, isKey: boolean) => void;

function walkStrings(value: unknown, path: FieldPath, visit: Visit): void {
  if (typeof value === 'string') visit(path, value, false);
  else if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      walkStrings(item, [...path, i], visit);
    });
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      visit([...path, key], key, true);
      walkStrings(item, [...path, key], visit);
    }
  }
}

/** Which copy of `${name}` in `raw` starts at `offset` (to find it again in the YAML text). */
function occurrence(raw: string, needle: string, offset: number): number {
  let count = 0;
  for (let i = raw.indexOf(needle); i >= 0 && i < offset; i = raw.indexOf(needle, i + 1)) count++;
  return count;
}

/** `${X} -c ${Y}`: if X were a shell, Y would be its script, unquoted. */
function mayNameAShell(slot: Slot, next: string | undefined, nextButOneHasSlot: boolean): boolean {
  return slot.parts.at(-1)?.kind === 'parameter' && looksLikeScriptFlag(next ?? '') && nextButOneHasSlot;
}

class SlotCompiler {
  readonly #problems: Problems;
  readonly #declared: ReadonlySet<string>;
  readonly #raw = new Map<string, string>();
  readonly slots = new Map<string, Slot>();

  constructor(declared: ReadonlySet<string>, problems: Problems) {
    this.#declared = declared;
    this.#problems = problems;
  }

  /** Reports `reason` at the placeholder `part` of the string at `path`. */
  report(path: FieldPath, part: Part & { kind: 'parameter' }, reason: string): void {
    const raw = this.#raw.get(JSON.stringify(path)) ?? '';
    const needle = `\${${part.name}}`;
    const position = this.#problems.source.positionOfText(path, needle, occurrence(raw, needle, part.offset));
    this.#problems.atPosition(position, path, reason);
  }

  visit(path: FieldPath, text: string, isKey: boolean): void {
    if (!hasPlaceholderSyntax(text) || startsWith(path, DECLARATIONS_PATH)) return;
    this.#raw.set(JSON.stringify(path), text);
    const parts = splitPlaceholders(text);
    const parameters = parts.filter((p) => p.kind === 'parameter');
    const kind = isKey ? undefined : placeholderField(path);
    if (kind === undefined) {
      const where = isKey ? 'in a key' : 'here';
      for (const p of parameters) {
        this.report(
          path,
          p,
          `placeholder \${${p.name}} is not allowed ${where}; placeholders may appear in ${ALLOWED_FIELDS}`,
        );
      }
      return;
    }
    const declared = [...this.#declared].join(', ') || 'none';
    for (const p of parameters.filter((q) => !this.#declared.has(q.name))) {
      const reason = `placeholder \${${p.name}} names no declared parameter (declared: ${declared}); write $\${${p.name}} for a literal \${${p.name}}`;
      this.report(path, p, reason);
    }
    this.slots.set(JSON.stringify(path), { path, kind, parts });
  }

  /** Decides which argv slots of one container are shell scripts, and refuses unsafe placements. */
  container(containerPath: FieldPath, container: Record<string, unknown>): void {
    const entries = (['command', 'args'] as const).flatMap((field) => {
      const list = Array.isArray(container[field]) ? (container[field] as unknown[]) : [];
      return list.map((text, i) => ({ path: [...containerPath, field, i] as FieldPath, text: String(text) }));
    });
    const texts = entries.map((e) => e.text);
    const slotAt = (i: number): Slot | undefined => this.slots.get(JSON.stringify(entries[i]?.path));
    const invocation = findShellInvocation(texts);
    const interpreter = findInterpreterProgram(texts);
    const hasCommand = entries[0]?.path.includes('command') ?? false;
    entries.forEach((_entry, i) => {
      const slot = slotAt(i);
      if (!slot) return;
      const refuse = (reason: (name: string) => string): void => {
        for (const p of slot.parts) if (p.kind === 'parameter') this.report(slot.path, p, reason(p.name));
      };
      if (invocation && i === invocation.scriptIndex) this.#script(slot);
      else if (invocation && i <= invocation.operandIndex) refuse(PROGRAM_REASON);
      else if (i === interpreter) refuse(INTERPRETER_REASON);
      else if ((hasCommand && i === 0) || mayNameAShell(slot, texts[i + 1], slotAt(i + 2) !== undefined)) {
        refuse(PROGRAM_REASON);
      }
    });
  }

  #script(slot: Slot): void {
    const markers: Marker[] = [];
    let skeleton = '';
    for (const part of slot.parts) {
      if (part.kind === 'text') skeleton += part.text;
      else {
        const written = `\${${part.name}}`;
        markers.push({ start: skeleton.length, end: skeleton.length + written.length, name: part.name });
        skeleton += written;
      }
    }
    const byStart = new Map(markers.map((m, i) => [m.start, i]));
    const parameters = slot.parts.filter((p) => p.kind === 'parameter');
    for (const problem of checkScript(skeleton, markers)) {
      const part = parameters[byStart.get(problem.marker.start) ?? 0];
      if (part) this.report(slot.path, part, problem.reason);
    }
    this.slots.set(JSON.stringify(slot.path), { ...slot, kind: 'script' });
  }
}

const PROGRAM_REASON = (name: string): string =>
  `placeholder \${${name}} may not choose the program to run, its shell options or its script file; put values in the script or in later arguments`;
const INTERPRETER_REASON = (name: string): string =>
  `placeholder \${${name}} is in a program kjd cannot quote a value for; read the environment variable ${name} (kjd sets it) in the program instead`;

/**
 * The slots of `manifest` (the template as plain data), problems added to
 * `problems`. `declared`: the names of the declared parameters.
 */
export function compileSlots(
  manifest: Record<string, unknown>,
  declared: ReadonlySet<string>,
  problems: Problems,
): Slot[] {
  const compiler = new SlotCompiler(declared, problems);
  walkStrings(manifest, [], (path, text, isKey) => {
    compiler.visit(path, text, isKey);
  });
  const spec = POD_SPEC_PATH.reduce<unknown>(
    (node, key) => (isRecord(node) ? node[key] : undefined),
    manifest,
  );
  for (const list of CONTAINER_LISTS) {
    const containers: unknown = isRecord(spec) ? spec[list] : undefined;
    if (!Array.isArray(containers)) continue;
    containers.forEach((c: unknown, i) => {
      if (isRecord(c)) compiler.container([...POD_SPEC_PATH, list, i], c);
    });
  }
  return [...compiler.slots.values()];
}
