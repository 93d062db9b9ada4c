// The loaded template as the rest of kjd sees it: its identity, its
// parameters, and render().
import type { V1Job } from '@kubernetes/client-node';
import type { ParameterSpec } from './parameter-types.ts';
import { batchProblems } from './batch.ts';
import { renderJob } from './render.ts';
import type { CompiledTemplate, RenderRequest } from './render.ts';

export interface JobTemplate {
  /** The template's `metadata.name` as written; sanitized, it prefixes every Job name. */
  readonly name: string;
  /** The file name given to the loader, as it appears in error messages. */
  readonly file: string;
  /** The template's `metadata.namespace`: where Jobs go unless a render says otherwise. */
  readonly namespace: string | undefined;
  /** First 10 hex digits of sha256 of the file's text (label `kjd.dev/template-hash`). */
  readonly hash: string;
  /** The declared parameters, in the order written. */
  readonly parameters: readonly ParameterSpec[];
  readonly maxPayloadBytes: number;
  parameter(name: string): ParameterSpec | undefined;
  /**
   * The Job for one item: a new object every call, the template itself is
   * never changed. Throws ParameterError (every bad value at once),
   * PayloadTooLargeError, RequestIdInvalidError or NamespaceInvalidError.
   */
  render(request: RenderRequest): V1Job;
  /** Why this template cannot run in a route's batch mode (with itemsPerPod); [] when it can. */
  batchProblems(itemsPerPod?: number): string[];
}

export class CompiledJobTemplate implements JobTemplate {
  readonly file: string;
  readonly #compiled: CompiledTemplate;

  constructor(file: string, compiled: CompiledTemplate) {
    this.file = file;
    this.#compiled = compiled;
  }

  get name(): string {
    return this.#compiled.name;
  }

  get namespace(): string | undefined {
    return this.#compiled.namespace;
  }

  get hash(): string {
    return this.#compiled.hash;
  }

  get parameters(): readonly ParameterSpec[] {
    return this.#compiled.parameters;
  }

  get maxPayloadBytes(): number {
    return this.#compiled.maxPayloadBytes;
  }

  parameter(name: string): ParameterSpec | undefined {
    return this.#compiled.parameters.find((p) => p.name === name);
  }

  render(request: RenderRequest): V1Job {
    return renderJob(this.#compiled, request);
  }

  batchProblems(itemsPerPod = 1): string[] {
    const c = this.#compiled;
    return batchProblems(
      c.manifest,
      c.slots,
      c.parameters.map((p) => p.name),
      itemsPerPod,
    );
  }
}
