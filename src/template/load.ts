// Loads a Job template and validates all of it once, so that a template that
// loads can only fail to render because of an item's values.
import { readFile } from 'node:fs/promises';
import { parseDeclarations } from './declarations.ts';
import { TemplateError, TemplateOptionsError } from './errors.ts';
import { deepFreeze, describeValue, isRecord } from './json.ts';
import { ANNOTATION_PARAMETERS } from './labels.ts';
import { shortHash } from './names.ts';
import { Problems } from './problems.ts';
import { checkJobShape } from './schema.ts';
import { compileSlots } from './slots.ts';
import { parseYamlFile } from './source.ts';
import type { YamlSource } from './source.ts';
import { CompiledJobTemplate } from './template.ts';
import type { JobTemplate } from './template.ts';

export interface TemplateOptions {
  /**
   * Largest `KJD_PAYLOAD` (the item as JSON, UTF-8 bytes) a render accepts.
   * It is copied into every container of the Job, and the whole Job must fit
   * in one etcd request (about 1.5 MiB), hence the upper bound of 1 MiB.
   * @default 32768 (32 KiB)
   */
  readonly maxPayloadBytes?: number;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 32 * 1024;
const MAX_PAYLOAD_BYTES_LIMIT = 1024 * 1024;

function compileOptions(options: TemplateOptions): { maxPayloadBytes: number } {
  const { maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES } = options;
  if (
    !Number.isSafeInteger(maxPayloadBytes) ||
    maxPayloadBytes < 1 ||
    maxPayloadBytes > MAX_PAYLOAD_BYTES_LIMIT
  ) {
    const problem = `expected an integer from 1 to ${MAX_PAYLOAD_BYTES_LIMIT} (bytes), got ${describeValue(maxPayloadBytes)}`;
    throw new TemplateOptionsError('maxPayloadBytes', problem);
  }
  return { maxPayloadBytes };
}

function metadataOf(manifest: Record<string, unknown>): Record<string, unknown> {
  return isRecord(manifest.metadata) ? manifest.metadata : {};
}

/** The manifest renders start from: the declarations annotation removed, frozen. */
function baseManifest(manifest: Record<string, unknown>): Readonly<Record<string, unknown>> {
  const metadata = metadataOf(manifest);
  if (isRecord(metadata.annotations)) {
    const rest = Object.entries(metadata.annotations).filter(([key]) => key !== ANNOTATION_PARAMETERS);
    if (rest.length > 0) metadata.annotations = Object.fromEntries(rest);
    else delete metadata.annotations;
  }
  return deepFreeze(manifest);
}

function toPlain(document: YamlSource['document'], problems: Problems): unknown {
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // The yaml library refuses documents whose aliases expand too far ("billion laughs").
    problems.at([], `cannot expand the YAML: ${err instanceof Error ? err.message : String(err)}`);
    return problems.fail();
  }
}

/**
 * Parses and validates the Job template `source`; `file` names it in errors.
 * Throws TemplateError listing every problem (file:line:column: field: reason).
 */
export function parseTemplate(source: string, file: string, options: TemplateOptions = {}): JobTemplate {
  const { maxPayloadBytes } = compileOptions(options);
  const yaml = parseYamlFile(source, file);
  const problems: Problems = new Problems(yaml);
  const manifest = toPlain(yaml.document, problems);
  if (!checkJobShape(manifest, problems)) problems.fail();
  const metadata = metadataOf(manifest);
  const text = isRecord(metadata.annotations) ? metadata.annotations[ANNOTATION_PARAMETERS] : undefined;
  const declarations =
    typeof text === 'string' ? parseDeclarations(text, problems) : { specs: [], names: new Set<string>() };
  const slots = compileSlots(manifest, declarations.names, problems);
  problems.throwIfAny();
  return new CompiledJobTemplate(file, {
    name: String(metadata.name),
    hash: shortHash(source),
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    parameters: declarations.specs,
    manifest: baseManifest(manifest),
    slots,
    maxPayloadBytes,
  });
}

/** Reads and parses the template at `path` (see {@link parseTemplate}); `path` names it in errors. */
export async function loadTemplate(path: string, options: TemplateOptions = {}): Promise<JobTemplate> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (err) {
    const reason = `cannot read the template: ${err instanceof Error ? err.message : String(err)}`;
    throw new TemplateError(path, [{ line: 1, column: 1, reason }], { cause: err });
  }
  return parseTemplate(source, path, options);
}
