// Collects every problem of one template load, so a person fixes them all in
// one edit instead of one per run.
import { TemplateError } from './errors.ts';
import type { TemplateProblem } from './errors.ts';
import { formatPath } from './paths.ts';
import type { FieldPath } from './paths.ts';
import type { SourcePosition, YamlSource } from './source.ts';

export class Problems {
  readonly source: YamlSource;
  readonly #list: TemplateProblem[] = [];

  constructor(source: YamlSource) {
    this.source = source;
  }

  /** A problem with the field at `path`, reported where the field (or its parent) is written. */
  at(path: FieldPath, reason: string): void {
    this.atPosition(this.source.positionAt(path), path, reason);
  }

  atPosition(position: SourcePosition, path: FieldPath, reason: string): void {
    const { line, column } = position;
    this.#list.push(
      path.length === 0 ? { line, column, reason } : { line, column, path: formatPath(path), reason },
    );
  }

  get count(): number {
    return this.#list.length;
  }

  throwIfAny(): void {
    if (this.#list.length > 0) this.fail();
  }

  /** Throws the problems found so far (ordered by position); callers use it when there must be some. */
  fail(): never {
    const sorted = [...this.#list].sort((a, b) => a.line - b.line || a.column - b.column);
    const [first = { line: 1, column: 1, reason: 'the template is not valid' }, ...rest] = sorted;
    throw new TemplateError(this.source.file, [first, ...rest]);
  }
}
