// Batch mode (a route's `batch`): several items in one Indexed Job.
//
// Each item is first rendered on its own, exactly as for a Job of its own
// (same parameter checks, same quoting), so a bad item is refused alone and
// the batch never sees it. packBatch then folds the N renders into one Job
// whose Pods differ only by JOB_COMPLETION_INDEX: each container's command
// becomes `/bin/sh -c` over a `case "$JOB_COMPLETION_INDEX"` that, for index
// i, exports item i's variables and execs item i's command line, every value
// single-quoted. A value therefore reaches the program as one argument, as it
// did in its own Job, and never reaches a shell unquoted.
//
// The kubelet expands `$(VAR)` in command, args and env from the Pod's env;
// per-item variables no longer live there, so kjd does that expansion itself
// (expandLikeKubelet) and writes the result literally. That is why a
// template in batch mode may refer with `$(VAR)` only to variables it sets
// with a plain value (batchProblems).
import type { V1Container, V1EnvVar, V1Job } from '@kubernetes/client-node';
import { KjdError, type ErrorCategory } from '../errors.ts';
import { ANNOTATION_BATCH_REQUEST_IDS } from '../kube/labels.ts';
import { escapeKubeExpansion, expandLikeKubelet } from './expansion.ts';
import { isRecord } from './json.ts';
import * as keys from './labels.ts';
import type { Slot } from './slots.ts';
import { shellQuote } from './shell.ts';

export { ANNOTATION_BATCH_REQUEST_IDS };
/** On a batch Job: how many items it carries (also a selector for batch Jobs). */
export const LABEL_BATCH_SIZE = 'kjd.dev/batch-size';
/** Exit code of a batch Pod whose index has no item (cannot happen unless the Job was edited). */
export const NO_ITEM_EXIT_CODE = 64;
/** On a batch Job whose Pods run several items each: how many. */
export const ANNOTATION_ITEMS_PER_POD = 'kjd.dev/items-per-pod';

const CONTAINER_LISTS = ['initContainers', 'containers'] as const;
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REFERENCE = /\$\(([^)]*)\)/g;

export interface BatchMember {
  readonly requestId: string;
  /** The item's own Job, as renderJob made it. */
  readonly job: V1Job;
}

/** Items whose Jobs differ where one Indexed Job cannot vary (batchProblems rules this out at load). */
export class BatchMismatchError extends KjdError {
  readonly code = 'BATCH_MISMATCH';
  readonly category: ErrorCategory = 'permanent';
  readonly path: string;
  constructor(path: string) {
    super(
      `the items' Jobs differ at ${path}, outside the containers' command, args and env: they cannot share one Indexed Job`,
    );
    this.path = path;
  }
}

function containersOf(
  job: Readonly<Record<string, unknown>>,
): { list: string; container: Record<string, unknown> }[] {
  const spec = (job.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  if (!isRecord(spec)) return [];
  return CONTAINER_LISTS.flatMap((list) => {
    const items: unknown = spec[list];
    return Array.isArray(items) ? items.filter(isRecord).map((container) => ({ list, container })) : [];
  });
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];

/** Placeholders only where packBatch can vary them, and parameters it can export. */
function slotProblems(slots: readonly Slot[], parameters: readonly string[]): string[] {
  return [
    ...parameters
      .filter((name) => !SHELL_NAME.test(name))
      .map((name) => `parameter ${name} is not a shell variable name, which batch mode exports`),
    ...slots
      .filter((slot) => slot.kind !== 'argv' && slot.kind !== 'script' && slot.kind !== 'env')
      .map(
        (slot) =>
          `a placeholder in ${slot.path.join('.')}: in batch mode the items of one Job share everything but the containers' command, args and env values`,
      ),
  ];
}

/** The Job fields batch mode sets itself, and the restart policy a retry limit per index needs. */
function specProblems(manifest: Readonly<Record<string, unknown>>): string[] {
  const spec = isRecord(manifest.spec) ? manifest.spec : {};
  const problems = ['completions', 'completionMode', 'backoffLimitPerIndex', 'maxFailedIndexes']
    .filter((field) => spec[field] !== undefined)
    .map((field) => `spec.${field}: batch mode sets it (one index per item); leave it out of the template`);
  const podSpec = isRecord(spec.template) && isRecord(spec.template.spec) ? spec.template.spec : {};
  if (podSpec.restartPolicy !== 'Never')
    problems.push(
      'spec.template.spec.restartPolicy must be Never in batch mode (a retry limit per item needs it)',
    );
  return problems;
}

/** A container batch mode can wrap: a command, shell-nameable variables, `$(VAR)` only of plain ones. */
function containerProblems(list: string, container: Record<string, unknown>): string[] {
  const at = `${list} ${typeof container.name === 'string' ? container.name : '?'}`;
  const problems: string[] = [];
  if (strings(container.command).length === 0)
    problems.push(
      `${at} has no command: batch mode wraps each container's command in /bin/sh to give every index its own item (the image needs /bin/sh)`,
    );
  const env = Array.isArray(container.env) ? container.env.filter(isRecord) : [];
  const names = env.map((e) => (typeof e.name === 'string' ? e.name : ''));
  const plain = new Set(names.filter((_, i) => env[i]?.valueFrom === undefined));
  for (const name of names.filter((n) => !SHELL_NAME.test(n)))
    problems.push(`${at}: env ${name} is not a shell variable name, which batch mode exports`);
  const texts = [
    ...strings(container.command),
    ...strings(container.args),
    ...strings(env.map((e) => e.value)),
  ];
  for (const text of texts) {
    for (const [, ref = ''] of text.replaceAll('$$', '').matchAll(REFERENCE)) {
      if (!plain.has(ref) && SHELL_NAME.test(ref))
        problems.push(
          `${at}: $(${ref}) refers to a variable the template does not set with a plain value; batch mode can only pass those`,
        );
    }
  }
  return problems;
}

/**
 * Why the template cannot run in batch mode, or [] when it can. Checked once,
 * when kjd serve loads a route with `batch`. `slots` are the template's
 * placeholders: in batch mode they may stand only in the containers'
 * command, args and env values, the parts packBatch can vary per index.
 */
export function batchProblems(
  manifest: Readonly<Record<string, unknown>>,
  slots: readonly Slot[],
  parameters: readonly string[],
  itemsPerPod = 1,
): string[] {
  const containers = containersOf(manifest);
  const perPod =
    itemsPerPod > 1 && (containers.length !== 1 || containers[0]?.list !== 'containers')
      ? [
          'itemsPerPod > 1 runs the items of a Pod one after another in its one container: the template must have exactly one container and no initContainers',
        ]
      : [];
  return [
    ...perPod,
    ...slotProblems(slots, parameters),
    ...specProblems(manifest),
    ...containers.flatMap(({ list, container }) => containerProblems(list, container)),
  ];
}

/** A container of one item, as the program will see it: its argv and its variables with plain values. */
interface Resolved {
  readonly argv: readonly string[];
  /** Plain-valued variables, after the kubelet's expansion, in the order written. */
  readonly vars: ReadonlyMap<string, string>;
}

function resolve(container: V1Container): Resolved {
  const vars = new Map<string, string>();
  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) vars.set(e.name, expandLikeKubelet(e.value ?? '', vars));
  }
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) =>
    expandLikeKubelet(a, vars),
  );
  return { argv, vars };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The one container of the batch Job that stands for `containers` (one per item, index order). */
function packContainer(first: V1Container, containers: readonly V1Container[], perPod: number): V1Container {
  const resolved = containers.map(resolve);
  const base = resolve(first);
  const names = [...new Set(resolved.flatMap((r) => [...r.vars.keys()]))];
  const shared = new Set(
    names.filter((n) => {
      const v = base.vars.get(n);
      return v !== undefined && resolved.every((r) => r.vars.get(n) === v);
    }),
  );
  const argvSame = resolved.every((r) => same(r.argv, base.argv));
  if (perPod === 1 && argvSame && shared.size === names.length) return first;
  const env: V1EnvVar[] = (first.env ?? []).flatMap((e) => {
    if (e.valueFrom !== undefined) return [e];
    return shared.has(e.name)
      ? [{ name: e.name, value: escapeKubeExpansion(base.vars.get(e.name) ?? '') }]
      : [];
  });
  const run = (r: Resolved) => {
    const exports = [...r.vars].filter(([n]) => !shared.has(n)).map(([n, v]) => `${n}=${shellQuote(v)}`);
    const set = exports.length === 0 ? '' : `export ${exports.join(' ')}; `;
    return `${set}exec ${r.argv.map(shellQuote).join(' ')}`;
  };
  const script =
    perPod === 1
      ? caseOf(resolved.map((r, i) => `${String(i)}) ${run(r)} ;;`))
      : sequential(resolved.map(run), perPod, first.terminationMessagePath ?? DEFAULT_TERMINATION_PATH);
  const { args: _args, ...rest } = first;
  return { ...rest, command: ['/bin/sh', '-c', escapeKubeExpansion(script)], env };
}

const DEFAULT_TERMINATION_PATH = '/dev/termination-log';

function caseOf(
  arms: readonly string[],
  before: readonly string[] = [],
  after: readonly string[] = [],
): string {
  return [
    ...before,
    'case "${JOB_COMPLETION_INDEX-}" in',
    ...arms,
    `*) echo "kjd: no item for completion index \${JOB_COMPLETION_INDEX-}" >&2; exit ${String(NO_ITEM_EXIT_CODE)} ;;`,
    'esac',
    ...after,
  ].join('\n');
}

/**
 * itemsPerPod > 1: each Pod runs its items one after another, each in a
 * subshell of its own, and records each one's exit code and the first line
 * of what it wrote to the termination log (200 bytes at most). The Pod's own
 * termination message is then that record, one line per item after a
 * `kjd-items` header: `<item>\t<exit code>\t<message>`, and an `end`
 * line (so trimming the whole message keeps a record's trailing spaces). POSIX sh built-ins
 * only. The Pod succeeds when every item ran, whatever their exit codes: an
 * item's failure is its own result, and a retry would run its Pod-mates again.
 */
function sequential(runs: readonly string[], perPod: number, termination: string): string {
  const t = shellQuote(termination);
  const arms: string[] = [];
  for (let start = 0; start < runs.length; start += perPod) {
    const steps = runs
      .slice(start, start + perPod)
      .map((run, k) =>
        [
          `  : > ${t} 2>/dev/null; ( ${run} ); kjd_e=$?; kjd_m=''`,
          `  { IFS= read -r kjd_m < ${t}; } 2>/dev/null || :`,
          `  kjd_r="$kjd_r$(printf '\\n%s\\t%s\\t%.200s' ${String(start + k)} "$kjd_e" "$kjd_m")"`,
        ].join('\n'),
      );
    arms.push(`${String(start / perPod)})\n${steps.join('\n')}\n  ;;`);
  }
  return caseOf(arms, ["kjd_r=''"], [`printf 'kjd-items%s\\nend\\n' "$kjd_r" > ${t}`, 'exit 0']);
}

/** `kjd-items` records of a Pod's termination message: item number -> its exit code and message. */
export function itemRecords(message: string | undefined): Map<number, { exitCode: number; message: string }> {
  const out = new Map<number, { exitCode: number; message: string }>();
  const [head, ...lines] = (message ?? '').split('\n');
  if (head !== 'kjd-items') return out;
  for (const line of lines) {
    const [item, code, ...rest] = line.split('\t');
    const n = Number(item);
    if (item === undefined || item === '' || !Number.isInteger(n)) continue;
    out.set(n, { exitCode: Number(code), message: rest.join('\t') });
  }
  return out;
}

/** Everything of a Job but its containers' command, args and env, and the per-request identity. */
function skeleton(job: V1Job): unknown {
  const copy = structuredClone(job);
  dropIdentity(copy);
  if (copy.metadata !== undefined) delete copy.metadata.name;
  const pod = copy.spec?.template.spec;
  for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
    delete c.command;
    delete c.args;
    delete c.env;
  }
  return copy;
}

/** The marks of one request (a batch Job has its items' list instead). */
function dropIdentity(job: V1Job): void {
  const m = job.metadata;
  if (m?.labels !== undefined) Reflect.deleteProperty(m.labels, keys.LABEL_REQUEST_HASH);
  if (m?.annotations !== undefined) Reflect.deleteProperty(m.annotations, keys.ANNOTATION_REQUEST_ID);
}

function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (same(a, b)) return undefined;
  if (isRecord(a) && isRecord(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(a[k], b[k], path === '' ? k : `${path}.${k}`);
      if (d !== undefined) return d;
    }
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${String(i)}]`);
      if (d !== undefined) return d;
    }
  }
  return path || '(the whole Job)';
}

export interface PackOptions {
  /** The batch Job's name (deterministic in its items: see batchJobName). */
  readonly name: string;
  /** Items run one after another in each Pod. @default 1 (a Pod per item) */
  readonly itemsPerPod?: number;
}

/**
 * One Indexed Job for `members` (index i runs member i): completions = N,
 * parallelism = the template's or N, backoffLimitPerIndex = the template's
 * backoffLimit (default 6), so one item's failures never fail another's.
 * Throws BatchMismatchError when the items' Jobs differ anywhere else.
 */
export function packBatch(members: readonly BatchMember[], options: PackOptions): V1Job {
  const first = members[0];
  if (first === undefined) throw new RangeError('a batch needs at least one item');
  const base = skeleton(first.job);
  for (const m of members.slice(1)) {
    const d = firstDifference(base, skeleton(m.job), '');
    if (d !== undefined) throw new BatchMismatchError(d);
  }
  const job = structuredClone(first.job);
  const perPod = options.itemsPerPod ?? 1;
  stampBatch(job, members, options.name, perPod);
  const spec = job.spec;
  const podSpec = spec?.template.spec;
  if (spec === undefined || podSpec === undefined) throw new RangeError('a Job without a Pod template');
  const n = Math.ceil(members.length / perPod);
  spec.completionMode = 'Indexed';
  spec.completions = n;
  spec.parallelism = Math.min(n, spec.parallelism ?? n);
  spec.backoffLimitPerIndex = spec.backoffLimit ?? 6;
  delete spec.backoffLimit;
  const ofEach = (list: (typeof CONTAINER_LISTS)[number], c: number) =>
    members.flatMap((m) => m.job.spec?.template.spec?.[list]?.[c] ?? []);
  podSpec.containers = podSpec.containers.map((first, c) =>
    packContainer(first, ofEach('containers', c), perPod),
  );
  if (podSpec.initContainers !== undefined) {
    if (perPod > 1)
      throw new RangeError('itemsPerPod > 1 runs no init containers (batchProblems says so at load)');
    podSpec.initContainers = podSpec.initContainers.map((first, c) =>
      packContainer(first, ofEach('initContainers', c), 1),
    );
  }
  return job;
}

/** A batch Job's name and marks: its items' ids instead of one request's. */
function stampBatch(job: V1Job, members: readonly BatchMember[], name: string, perPod: number): void {
  dropIdentity(job);
  const metadata = (job.metadata ??= {});
  metadata.name = name;
  (metadata.labels ??= {})[LABEL_BATCH_SIZE] = String(members.length);
  const annotations = (metadata.annotations ??= {});
  annotations[ANNOTATION_BATCH_REQUEST_IDS] = JSON.stringify(members.map((m) => m.requestId));
  if (perPod > 1) annotations[ANNOTATION_ITEMS_PER_POD] = String(perPod);
}

/** The request ids of a batch Job, in index order; undefined for a Job of one item. */
export function batchRequestIds(job: {
  metadata?: { annotations?: Record<string, string> };
}): string[] | undefined {
  const raw = job.metadata?.annotations?.[ANNOTATION_BATCH_REQUEST_IDS];
  if (raw === undefined) return undefined;
  try {
    const ids: unknown = JSON.parse(raw);
    return Array.isArray(ids) && ids.every((i) => typeof i === 'string') ? ids : undefined;
  } catch {
    return undefined;
  }
}

/** `"1,3-5"` (a Job's completedIndexes / failedIndexes) as the set {1, 3, 4, 5}. */
export function parseIndexes(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const [from, to] = part.split('-').map((s) => Number.parseInt(s, 10));
    if (from === undefined || Number.isNaN(from)) continue;
    for (let i = from; i <= (to === undefined || Number.isNaN(to) ? from : to); i++) out.add(i);
  }
  return out;
}
