// The shape a Job template must have before kjd uses it. Only what kjd relies
// on (or what the API server would reject anyway, but later and less
// precisely) is checked here; everything else is the API server's to judge.
import { describeValue, isRecord } from './json.ts';
import { ANNOTATION_PARAMETERS, RESERVED_KEY_PREFIX } from './labels.ts';
import { isDnsLabel, sanitizeDnsLabel } from './names.ts';
import type { FieldPath } from './paths.ts';
import type { Problems } from './problems.ts';

export const POD_SPEC_PATH: FieldPath = ['spec', 'template', 'spec'];
export const CONTAINER_LISTS = ['containers', 'initContainers'] as const;
/** The string maps kjd writes to, or lets placeholders into. */
export const STRING_MAPS: readonly FieldPath[] = [
  ['metadata', 'labels'],
  ['metadata', 'annotations'],
  ['spec', 'template', 'metadata', 'labels'],
  ['spec', 'template', 'metadata', 'annotations'],
];

type Manifest = Record<string, unknown>;

function get(root: unknown, path: FieldPath): unknown {
  let node = root;
  for (const segment of path) {
    if (typeof segment === 'number') node = Array.isArray(node) ? (node as unknown[])[segment] : undefined;
    else node = isRecord(node) ? node[segment] : undefined;
  }
  return node;
}

function checkKind(job: Manifest, problems: Problems): void {
  const expect = (field: string, wanted: string): void => {
    if (job[field] === undefined) problems.at([], `a Job template needs ${field}: ${wanted}`);
    else if (job[field] !== wanted)
      problems.at([field], `expected ${wanted}, got ${describeValue(job[field])}`);
  };
  expect('apiVersion', 'batch/v1');
  expect('kind', 'Job');
}

function checkMetadata(job: Manifest, problems: Problems): void {
  const metadata = job.metadata;
  if (!isRecord(metadata)) {
    problems.at(metadata === undefined ? [] : ['metadata'], 'a Job template needs metadata with a name');
    return;
  }
  const { name, namespace, generateName } = metadata;
  if (typeof name !== 'string' || sanitizeDnsLabel(name) === '') {
    const reason =
      'a Job template needs a name with at least one letter or digit (it prefixes every Job name)';
    problems.at(name === undefined ? ['metadata'] : ['metadata', 'name'], reason);
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || !isDnsLabel(namespace))) {
    problems.at(
      ['metadata', 'namespace'],
      `expected a namespace name (a DNS label), got ${describeValue(namespace)}`,
    );
  }
  if (generateName !== undefined) {
    problems.at(['metadata', 'generateName'], 'remove generateName: kjd names each Job itself');
  }
}

function checkStringMap(job: Manifest, path: FieldPath, problems: Problems): void {
  const map = get(job, path);
  if (map === undefined || map === null) return;
  if (!isRecord(map)) {
    problems.at(path, `expected a mapping of strings, got ${describeValue(map)}`);
    return;
  }
  const isJobAnnotations = path.length === 2 && path[1] === 'annotations';
  for (const [key, value] of Object.entries(map)) {
    if (key.startsWith(RESERVED_KEY_PREFIX) && !(isJobAnnotations && key === ANNOTATION_PARAMETERS)) {
      problems.at(
        [...path, key],
        `keys under ${RESERVED_KEY_PREFIX} are set by kjd; remove it from the template`,
      );
    } else if (typeof value !== 'string') {
      problems.at([...path, key], `expected a string, got ${describeValue(value)}; quote it`);
    }
  }
}

function checkStringList(container: Manifest, path: FieldPath, field: string, problems: Problems): void {
  const list = container[field];
  if (list === undefined) return;
  if (!Array.isArray(list)) {
    problems.at([...path, field], `expected a list of strings, got ${describeValue(list)}`);
    return;
  }
  list.forEach((item: unknown, i) => {
    if (typeof item !== 'string')
      problems.at([...path, field, i], `expected a string, got ${describeValue(item)}; quote it`);
  });
}

function checkEnv(container: Manifest, path: FieldPath, problems: Problems): void {
  const env = container.env;
  if (env === undefined) return;
  if (!Array.isArray(env)) {
    problems.at([...path, 'env'], `expected a list of {name, value}, got ${describeValue(env)}`);
    return;
  }
  env.forEach((entry: unknown, i) => {
    const at: FieldPath = [...path, 'env', i];
    if (!isRecord(entry) || typeof entry.name !== 'string' || entry.name === '') {
      problems.at(at, 'an env entry needs a name');
    } else if (entry.value !== undefined && typeof entry.value !== 'string') {
      problems.at([...at, 'value'], `expected a string, got ${describeValue(entry.value)}; quote it`);
    }
  });
}

function checkContainer(container: unknown, path: FieldPath, problems: Problems): void {
  if (!isRecord(container)) {
    problems.at(path, `expected a container (a mapping), got ${describeValue(container)}`);
    return;
  }
  for (const field of ['name', 'image'] as const) {
    const value = container[field];
    if (value === undefined)
      problems.at(path, `a container needs ${field === 'name' ? 'a name' : 'an image'}`);
    else if (typeof value !== 'string' || value === '') {
      problems.at([...path, field], `expected a non-empty string, got ${describeValue(value)}`);
    }
  }
  checkStringList(container, path, 'command', problems);
  checkStringList(container, path, 'args', problems);
  checkEnv(container, path, problems);
}

function checkContainers(job: Manifest, problems: Problems): void {
  for (const list of CONTAINER_LISTS) {
    const path = [...POD_SPEC_PATH, list];
    const containers = get(job, path);
    if (containers === undefined && list === 'initContainers') continue;
    if (!Array.isArray(containers) || (list === 'containers' && containers.length === 0)) {
      problems.at(path, `expected a non-empty list of containers, got ${describeValue(containers)}`);
      continue;
    }
    containers.forEach((c: unknown, i) => {
      checkContainer(c, [...path, i], problems);
    });
  }
}

function checkPodTemplate(job: Manifest, problems: Problems): boolean {
  for (let length = 1; length <= POD_SPEC_PATH.length; length++) {
    const path = POD_SPEC_PATH.slice(0, length);
    const value = get(job, path);
    if (!isRecord(value)) {
      const reason = value === undefined ? 'is missing' : `expected a mapping, got ${describeValue(value)}`;
      problems.at(path, reason);
      return false;
    }
  }
  return true;
}

/**
 * Checks `job` (the YAML as plain data) against what kjd needs, adding every
 * problem found. Returns whether `job` is at least a mapping; later checks
 * then look at whatever else is there, so one load reports everything.
 */
export function checkJobShape(job: unknown, problems: Problems): job is Manifest {
  if (!isRecord(job)) {
    problems.at([], `expected a Job (a mapping), got ${describeValue(job)}`);
    return false;
  }
  checkKind(job, problems);
  checkMetadata(job, problems);
  for (const path of STRING_MAPS) checkStringMap(job, path, problems);
  if (checkPodTemplate(job, problems)) checkContainers(job, problems);
  return true;
}
