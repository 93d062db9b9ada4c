// From a compiled template and one item's values to the Job to create. Pure
// apart from the random name suffix when no request id is given: the same
// template, values and request id always give the same Job.
import type { V1Job } from '@kubernetes/client-node';
import {
  NamespaceInvalidError,
  ParameterError,
  PayloadTooLargeError,
  RequestIdInvalidError,
} from './errors.ts';
import type { ParameterIssue } from './errors.ts';
import { escapeKubeExpansion } from './expansion.ts';
import { fillSlot } from './fill.ts';
import { isRecord } from './json.ts';
import * as keys from './labels.ts';
import { isDnsLabel, jobNameFor, jobNameWithSuffix } from './names.ts';
import { requestKey } from '../kube/labels.ts';
import type { ParameterSpec } from './parameter-types.ts';
import type { FieldPath } from './paths.ts';
import { CONTAINER_LISTS, POD_SPEC_PATH } from './schema.ts';
import type { Slot } from './slots.ts';
import { resolveValues } from './values.ts';

export interface RenderRequest {
  /** Parameter values: JSON values from an item, or strings from `--set NAME=VALUE`. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Makes the Job name deterministic and is recorded on the Job (at most 1024 characters, no control characters). */
  readonly requestId?: string;
  /**
   * Where `requestId` is unique (kjd serve: the route's idScope). The Job name
   * hashes scope and id together, so equal ids in two scopes make two Jobs.
   */
  readonly idScope?: string;
  /** @default the template's metadata.namespace, else none (the client's default namespace) */
  readonly namespace?: string;
  /** The whole item; containers get it as JSON in `KJD_PAYLOAD`. @default `values` */
  readonly payload?: Readonly<Record<string, unknown>>;
}

/** A validated template, ready to render. Frozen: renders copy it. */
export interface CompiledTemplate {
  readonly name: string;
  readonly hash: string;
  readonly namespace: string | undefined;
  readonly parameters: readonly ParameterSpec[];
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly slots: readonly Slot[];
  readonly maxPayloadBytes: number;
}

export const MAX_REQUEST_ID_LENGTH = 1024;
// C0, DEL and C1 controls: they would garble logs and annotations.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkRequest(request: RenderRequest): void {
  const { requestId, namespace } = request;
  if (requestId !== undefined) {
    if (requestId === '') throw new RequestIdInvalidError(requestId, 'must not be empty');
    if (requestId.length > MAX_REQUEST_ID_LENGTH) {
      throw new RequestIdInvalidError(
        requestId,
        `is ${requestId.length} characters; at most ${MAX_REQUEST_ID_LENGTH}`,
      );
    }
    if (CONTROL.test(requestId) || !requestId.isWellFormed()) {
      throw new RequestIdInvalidError(requestId, 'must be printable text (no control characters)');
    }
  }
  if (namespace !== undefined && !isDnsLabel(namespace)) throw new NamespaceInvalidError(namespace);
}

function payloadJson(request: RenderRequest, maxBytes: number): string {
  let json: string;
  try {
    json = JSON.stringify(request.payload ?? request.values);
  } catch (err) {
    const problem = `the payload cannot be written as JSON (${err instanceof Error ? err.message : String(err)})`;
    throw new ParameterError([{ parameter: '*', problem }]);
  }
  const size = Buffer.byteLength(json, 'utf8');
  if (size > maxBytes) throw new PayloadTooLargeError(size, maxBytes);
  return json;
}

function setAt(root: Record<string, unknown>, path: FieldPath, value: string): void {
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[segment];
  const last = path.at(-1);
  if (last !== undefined) (node as Record<string | number, unknown>)[last] = value;
}

function record(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const existing = parent[key];
  if (isRecord(existing)) return existing;
  const created: Record<string, unknown> = {};
  parent[key] = created;
  return created;
}

function podSpec(job: Record<string, unknown>): Record<string, unknown> {
  return POD_SPEC_PATH.reduce<Record<string, unknown>>((node, key) => record(node, String(key)), job);
}

/** kjd's variables first, so template env entries can refer to them as `$(NAME)`; same-named entries are replaced. */
function injectEnv(job: Record<string, unknown>, vars: readonly { name: string; value: string }[]): void {
  const names = new Set(vars.map((v) => v.name));
  const spec = podSpec(job);
  for (const list of CONTAINER_LISTS) {
    const containers: unknown = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const container of containers as unknown[]) {
      if (!isRecord(container)) continue;
      const env: unknown[] = Array.isArray(container.env) ? (container.env as unknown[]) : [];
      container.env = [...vars, ...env.filter((e) => !(isRecord(e) && names.has(String(e.name))))];
    }
  }
}

function envVars(
  template: CompiledTemplate,
  values: ReadonlyMap<string, string>,
  payload: string,
  requestId?: string,
) {
  const vars = template.parameters.flatMap((spec) => {
    const value = values.get(spec.name);
    return value === undefined ? [] : [{ name: spec.name, value: escapeKubeExpansion(value) }];
  });
  vars.push({ name: keys.ENV_PAYLOAD, value: escapeKubeExpansion(payload) });
  if (requestId !== undefined)
    vars.push({ name: keys.ENV_REQUEST_ID, value: escapeKubeExpansion(requestId) });
  return vars;
}

function stampIdentity(
  job: Record<string, unknown>,
  template: CompiledTemplate,
  request: RenderRequest,
): void {
  const metadata = record(job, 'metadata');
  const { requestId, idScope } = request;
  const key = requestId === undefined ? undefined : requestKey(requestId, idScope);
  // One hash for both the name's suffix and the request-hash label: they are the same value.
  const hash = key === undefined ? undefined : keys.requestHashLabelValue(key);
  metadata.name = hash === undefined ? jobNameFor(template.name) : jobNameWithSuffix(template.name, hash);
  const namespace = request.namespace ?? template.namespace;
  if (namespace === undefined) delete metadata.namespace;
  else metadata.namespace = namespace;
  const identity = {
    [keys.LABEL_MANAGED_BY]: keys.MANAGED_BY_KJD,
    [keys.LABEL_TEMPLATE]: keys.templateLabelValue(template.name),
  };
  Object.assign(record(metadata, 'labels'), identity, { [keys.LABEL_TEMPLATE_HASH]: template.hash });
  if (requestId !== undefined && hash !== undefined) {
    record(metadata, 'labels')[keys.LABEL_REQUEST_HASH] = hash;
    record(metadata, 'annotations')[keys.ANNOTATION_REQUEST_ID] = requestId;
    if (idScope !== undefined) record(metadata, 'annotations')[keys.ANNOTATION_ID_SCOPE] = idScope;
  }
  const podMetadata = record(record(record(job, 'spec'), 'template'), 'metadata');
  Object.assign(record(podMetadata, 'labels'), identity);
}

/** Each template's manifest as JSON text, made once per template. */
const manifestJson = new WeakMap<object, string>();

/**
 * A deep copy of `manifest` the render may change. Parsing its JSON text is
 * about a third of what structuredClone costs (measured on the bench's
 * template), and loses nothing: the manifest is plain data from YAML, and
 * the Job goes to the API server as JSON anyway.
 */
function freshCopy(manifest: Readonly<Record<string, unknown>>): Record<string, unknown> {
  let json = manifestJson.get(manifest);
  if (json === undefined) manifestJson.set(manifest, (json = JSON.stringify(manifest)));
  return JSON.parse(json) as Record<string, unknown>;
}

/** Renders `template` for one item; see {@link RenderRequest}. Throws ParameterError listing every bad value. */
export function renderJob(template: CompiledTemplate, request: RenderRequest): V1Job {
  checkRequest(request);
  const { values, invalid, issues } = resolveValues(template.parameters, request.values);
  const job = freshCopy(template.manifest);
  const fieldIssues: ParameterIssue[] = [];
  for (const slot of template.slots) {
    if (slot.parts.some((p) => p.kind === 'parameter' && invalid.has(p.name))) continue;
    const filled = fillSlot(slot, values);
    fieldIssues.push(...filled.issues);
    setAt(job, slot.path, filled.text);
  }
  const [first, ...rest] = [...issues, ...fieldIssues];
  if (first) throw new ParameterError([first, ...rest]);
  const payload = payloadJson(request, template.maxPayloadBytes);
  injectEnv(job, envVars(template, values, payload, request.requestId));
  stampIdentity(job, template, request);
  return job;
}
