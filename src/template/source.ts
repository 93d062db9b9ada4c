// A parsed YAML file that remembers where each field came from, so every
// problem found later can point at a line and column of the file a person
// edits, not at a JavaScript object.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node, YAMLError } from 'yaml';
import { TemplateError } from './errors.ts';
import type { TemplateProblem } from './errors.ts';
import type { FieldPath } from './paths.ts';

/** 1-based, as editors show them. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export class YamlSource {
  readonly file: string;
  readonly text: string;
  readonly document: Document.Parsed;
  readonly #lines: LineCounter;

  constructor(file: string, text: string, document: Document.Parsed, lines: LineCounter) {
    this.file = file;
    this.text = text;
    this.document = document;
    this.#lines = lines;
  }

  positionOfOffset(offset: number): SourcePosition {
    const { line, col } = this.#lines.linePos(offset);
    return { line: Math.max(line, 1), column: Math.max(col, 1) };
  }

  /** The node at `path`, following aliases; undefined when the field is absent. */
  nodeAt(path: FieldPath): Node | undefined {
    let node: unknown = this.document.contents;
    for (const segment of path) {
      node = this.#resolve(node);
      node = isMap(node)
        ? childOfMap(node.items, segment)
        : isSeq(node)
          ? childOfSeq(node.items, segment)
          : undefined;
      if (node === undefined) return undefined;
    }
    const resolved = this.#resolve(node);
    return resolved === null ? undefined : (resolved as Node);
  }

  /** Where `path` starts, or where its nearest existing ancestor starts. */
  positionAt(path: FieldPath): SourcePosition {
    for (let length = path.length; length >= 0; length--) {
      const range = this.nodeAt(path.slice(0, length))?.range;
      if (range) return this.positionOfOffset(range[0]);
    }
    return { line: 1, column: 1 };
  }

  /** Where the `occurrence`-th copy of `needle` is written inside the scalar at `path`. */
  positionOfText(path: FieldPath, needle: string, occurrence: number): SourcePosition {
    const range = this.nodeAt(path)?.range;
    if (!range) return this.positionAt(path);
    const written = this.text.slice(range[0], range[1]);
    let index = -1;
    for (let i = 0; i <= occurrence; i++) {
      index = written.indexOf(needle, index + 1);
      if (index < 0) return this.positionOfOffset(range[0]);
    }
    return this.positionOfOffset(range[0] + index);
  }

  /**
   * Maps a position inside a YAML text embedded in the string at `path` (the
   * parameters annotation) to the file. Exact for `|` block scalars, which
   * keep lines as written; other styles point at the string's start.
   */
  embeddedPosition(path: FieldPath, inner: { line: number; col: number }): SourcePosition {
    const node = this.nodeAt(path);
    if (!isScalar(node) || !node.range) return this.positionAt(path);
    const start = this.positionOfOffset(node.range[0]);
    if (node.type !== 'BLOCK_LITERAL') return start;
    const indent = blockIndent(this.text.slice(node.range[0], node.range[1]));
    if (indent === undefined || inner.line < 1) return start;
    return { line: start.line + inner.line, column: indent + inner.col };
  }

  #resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.document) : node;
  }
}

function childOfMap(items: readonly { key: unknown; value: unknown }[], segment: string | number): unknown {
  const pair = items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
  return pair?.value ?? undefined;
}

function childOfSeq(items: readonly unknown[], segment: string | number): unknown {
  return typeof segment === 'number' ? items[segment] : undefined;
}

/** The content indentation of a `|` block scalar written as `written`; undefined with an explicit indicator. */
function blockIndent(written: string): number | undefined {
  const [header = '', ...lines] = written.split('\n');
  if (/[0-9]/.test(header)) return undefined;
  const first = lines.find((l) => l.trim() !== '');
  return first === undefined ? undefined : first.length - first.trimStart().length;
}

/**
 * Parses `text` as exactly one YAML document. Syntax errors, an empty file
 * and extra documents are a TemplateError naming `file`.
 */
export function parseYamlFile(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number): { line: number; column: number } => {
    const { line, col } = lines.linePos(offset);
    return { line: Math.max(line, 1), column: Math.max(col, 1) };
  };
  const errors: YAMLError[] = 'empty' in documents ? documents.errors : documents.flatMap((d) => d.errors);
  const problems: TemplateProblem[] = errors.map((e) => ({ ...at(e.pos[0]), reason: e.message }));
  const [first, second] = documents;
  if (problems.length === 0 && second) {
    const reason = `expected exactly one YAML document (one Job), found ${documents.length}`;
    problems.push({ ...at(second.range[0]), reason });
  }
  if (problems.length === 0 && (first?.contents ?? null) === null) {
    problems.push({
      line: 1,
      column: 1,
      reason: 'the file is empty; expected one Job (apiVersion: batch/v1)',
    });
  }
  const [problem, ...more] = problems;
  if (problem) throw new TemplateError(file, [problem, ...more]);
  if (!first) throw new Error('unreachable: no document and no problem');
  return new YamlSource(file, text, first, lines);
}
