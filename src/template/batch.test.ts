// Property: index i of a batch Job runs exactly what item i's own Job would
// have run: the same argv, the same variables, whatever the values contain.
// Both sides are really executed (after the kubelet's `$(VAR)` expansion),
// with a marker file that any injected command would create.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { V1Container, V1Job } from '@kubernetes/client-node';
import {
  ANNOTATION_BATCH_REQUEST_IDS,
  BatchMismatchError,
  batchRequestIds,
  expandLikeKubelet,
  itemRecords,
  packBatch,
  parseIndexes,
  parseTemplate,
} from './index.ts';

const MARKER = join(tmpdir(), `kjd-batch-pwned-${randomBytes(6).toString('hex')}`);

const YAML = `apiVersion: batch/v1
kind: Job
metadata:
  name: batchprop
  annotations:
    kjd.dev/parameters: '{ X: { type: string }, Y: { type: string, default: "y" } }'
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: init
          image: busybox
          command: ['sh', '-c', 'printf "init<%s>" \${X}']
      containers:
        - name: main
          image: busybox
          env:
            - name: A
              value: 'a$$b'
            - name: Z
              value: 'z-\${Y}-$(A)'
            - name: FIXED
              value: same
          command: ['sh', '-c', 'printf "[%s]" "$0" "$@" \${X}; printf "{%s}" "$Z" "$A" "$FIXED" "$X" "$Y" "$KJD_PAYLOAD" "$KJD_REQUEST_ID"', 'zero-\${X}']
          args: ['$(Z)', '\${Y}', '$$(A)']
`;
const template = parseTemplate(YAML, 'batchprop.yaml');

/** Runs `container` as the kubelet would: env in order (each may use earlier ones), then command and args. */
function run(container: V1Container, extra: Record<string, string> = {}, anyExit = false): string {
  const vars = new Map<string, string>();
  for (const entry of container.env ?? []) vars.set(entry.name, expandLikeKubelet(entry.value ?? '', vars));
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) =>
    expandLikeKubelet(a, vars),
  );
  const [program = '', ...args] = argv;
  const r = spawnSync(program, args, {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(vars), ...extra },
    timeout: 5000,
  });
  if (!anyExit) assert.equal(r.status, 0, `${program} exited ${String(r.status)}: ${r.stderr}`);
  return r.stdout;
}

const containers = (job: V1Job) => [
  ...(job.spec?.template.spec?.initContainers ?? []),
  ...(job.spec?.template.spec?.containers ?? []),
];

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    `$(touch ${MARKER})`,
    `'; touch ${MARKER}; '`,
    '`touch ' + MARKER + '`',
    '$(A)',
    '$$(A)',
    '";exit 3;"',
    'a\nb',
    '*',
    '-n',
    ' ',
  ),
);
const noNul = (s: string) => s.replaceAll('\u0000', '').replace(/[\ud800-\udfff]/g, '');

describe('packBatch', () => {
  test('index i runs exactly what item i alone would run (200 random batches)', () => {
    rmSync(MARKER, { force: true });
    fc.assert(
      fc.property(
        fc.array(fc.record({ X: hostile.map(noNul), Y: fc.option(hostile.map(noNul), { nil: undefined }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        (items) => {
          const members = items.map((values, i) => ({
            requestId: `r${String(i)}`,
            job: template.render({ values, requestId: `r${String(i)}`, idScope: 's' }),
          }));
          const packed = packBatch(members, { name: 'batchprop-b' });
          members.forEach((m, i) => {
            const own = containers(m.job).map((c) => run(c));
            const indexed = containers(packed).map((c) => run(c, { JOB_COMPLETION_INDEX: String(i) }));
            assert.deepEqual(indexed, own);
          });
        },
      ),
      { numRuns: 200 },
    );
    assert.equal(existsSync(MARKER), false, 'no value ran as a command');
  });

  test('the Job: Indexed, one index per item, a retry limit per index, ids in index order', () => {
    const members = ['a', 'b', 'c'].map((x) => ({
      requestId: `id-${x}`,
      job: template.render({ values: { X: x }, requestId: `id-${x}`, idScope: 's' }),
    }));
    const job = packBatch(members, { name: 'batchprop-x' });
    const { metadata, spec } = job;
    assert.ok(metadata && spec);
    assert.partialDeepStrictEqual(spec, {
      completionMode: 'Indexed',
      completions: 3,
      parallelism: 3,
      backoffLimitPerIndex: 2,
    });
    assert.equal(spec.backoffLimit, undefined);
    assert.equal(metadata.name, 'batchprop-x');
    assert.equal(metadata.labels?.['kjd.dev/request-hash'], undefined);
    assert.deepEqual(
      [
        metadata.annotations?.['kjd.dev/request-id'],
        metadata.annotations?.['kjd.dev/id-scope'],
        metadata.annotations?.[ANNOTATION_BATCH_REQUEST_IDS],
      ],
      [undefined, 's', '["id-a","id-b","id-c"]'],
    );
    assert.deepEqual(batchRequestIds(job), ['id-a', 'id-b', 'id-c']);
    // An index with no item fails loudly rather than running someone's item.
    const main = spec.template.spec?.containers[0];
    assert.ok(main);
    const vars = new Map((main.env ?? []).map((e) => [e.name, e.value ?? '']));
    const r = spawnSync('/bin/sh', ['-c', expandLikeKubelet(main.command?.[2] ?? '', vars)], {
      env: { PATH: '/usr/bin:/bin', JOB_COMPLETION_INDEX: '3' },
    });
    assert.equal(r.status, 64);
  });

  test('items whose Jobs differ outside command, args and env are refused', () => {
    const a = template.render({ values: { X: 'a' }, requestId: 'a' });
    const b = template.render({ values: { X: 'b' }, requestId: 'b' });
    b.spec!.template.spec!.containers[0]!.image = 'other';
    assert.throws(
      () =>
        packBatch(
          [
            { requestId: 'a', job: a },
            { requestId: 'b', job: b },
          ],
          { name: 'n' },
        ),
      (err: unknown) => err instanceof BatchMismatchError && err.path.includes('image'),
    );
  });

  test('batchProblems: what batch mode cannot vary per item is named at load', () => {
    assert.deepEqual(template.batchProblems(), []);
    const bad = parseTemplate(
      `apiVersion: batch/v1
kind: Job
metadata:
  name: bad
  labels: { who: '\${X}' }
  annotations:
    kjd.dev/parameters: '{ X: { type: string } }'
spec:
  completions: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: noc
          image: busybox
          env:
            - name: POD
              valueFrom: { fieldRef: { fieldPath: metadata.name } }
        - name: refs
          image: busybox
          command: ['echo', '$(POD)']
`,
      'bad.yaml',
    );
    const problems = bad.batchProblems().join('\n');
    assert.match(problems, /metadata\.labels\.who/);
    assert.match(problems, /spec\.completions/);
    assert.match(problems, /restartPolicy must be Never/);
    assert.match(problems, /containers noc has no command/);
    assert.match(problems, /\$\(POD\) refers to a variable/);
  });

  test('parseIndexes reads the Job status format', () => {
    assert.deepEqual([...parseIndexes('0,2-4,7')], [0, 2, 3, 4, 7]);
    assert.deepEqual([...parseIndexes('')], []);
    assert.deepEqual([...parseIndexes(undefined)], []);
  });
});

describe('packBatch with itemsPerPod', () => {
  const log = join(tmpdir(), `kjd-batch-term-${randomBytes(6).toString('hex')}`);
  const seq = parseTemplate(
    `apiVersion: batch/v1
kind: Job
metadata:
  name: seq
  annotations:
    kjd.dev/parameters: '{ X: { type: string }, CODE: { type: integer, default: 0 } }'
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          terminationMessagePath: ${log}
          command: ['sh', '-c', 'printf "[%s]" \${X}; printf "said %s\\n2nd line" \${X} > ${log}; exit \${CODE}']
`,
    'seq.yaml',
  );

  test('each Pod runs its items in turn; its termination message records each exit code and message', () => {
    rmSync(MARKER, { force: true });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            X: hostile.map(noNul).map((x) => x.replaceAll('\n', ' ')),
            CODE: fc.integer({ min: 0, max: 3 }),
          }),
          {
            minLength: 1,
            maxLength: 7,
          },
        ),
        fc.integer({ min: 2, max: 3 }),
        (items, perPod) => {
          const members = items.map((values, i) => ({
            requestId: `r${String(i)}`,
            job: seq.render({ values, requestId: `r${String(i)}`, idScope: 's' }),
          }));
          const packed = packBatch(members, { name: 'seq-b', itemsPerPod: perPod });
          assert.equal(packed.spec?.completions, Math.ceil(items.length / perPod));
          const [container] = containers(packed);
          assert.ok(container);
          for (let pod = 0; pod * perPod < items.length; pod++) {
            const mine = members.slice(pod * perPod, (pod + 1) * perPod);
            const out = run(container, { JOB_COMPLETION_INDEX: String(pod) }, true);
            const records = itemRecords(readFileSync(log, 'utf8').trim());
            const expected = mine.map((m) => {
              const own = containers(m.job)[0];
              assert.ok(own);
              return run(own, {}, true);
            });
            assert.equal(out, expected.join(''), 'the items ran in order, each as alone');
            assert.deepEqual(
              [...records.keys()],
              mine.map((_, k) => pod * perPod + k),
            );
            mine.forEach((_, k) => {
              const item = items[pod * perPod + k];
              assert.deepEqual(records.get(pod * perPod + k), {
                exitCode: item?.CODE,
                message: `said ${item?.X ?? ''}`.slice(0, 200),
              });
            });
          }
        },
      ),
      { numRuns: 60 },
    );
    assert.equal(existsSync(MARKER), false, 'no value ran as a command');
    rmSync(log, { force: true });
  });

  test('a template with more than one container is refused for itemsPerPod > 1', () => {
    assert.deepEqual(seq.batchProblems(3), []);
    assert.match(template.batchProblems(3).join('\n'), /exactly one container and no initContainers/);
  });
});
