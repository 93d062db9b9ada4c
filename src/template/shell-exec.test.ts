// Property: whatever a value contains, a rendered `sh -c` script passes it to
// the program as exactly one argument and runs nothing else. Each rendered
// argv is really executed (after the kubelet's `$(VAR)` expansion, which
// Kubernetes applies before the container starts), with no shell of ours in
// between.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { V1Container } from '@kubernetes/client-node';
import { expandLikeKubelet, parseTemplate } from './index.ts';
import type { JobTemplate } from './index.ts';

const MARKER = join(tmpdir(), `kjd-pwned-${randomBytes(6).toString('hex')}`);
const RUNS = 200;

function template(command: readonly string[]): JobTemplate {
  const yaml = `apiVersion: batch/v1
kind: Job
metadata:
  name: prop
  annotations:
    kjd.dev/parameters: '{ X: { type: string } }'
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: c
          image: busybox
          command: ${JSON.stringify(command)}
`;
  return parseTemplate(yaml, 'prop.yaml');
}

/** The kubelet resolves env entries in order (each may use earlier ones), then command and args. */
function runLikeKubelet(container: V1Container): { stdout: string; status: number | null } {
  const vars = new Map<string, string>();
  for (const entry of container.env ?? []) vars.set(entry.name, expandLikeKubelet(entry.value ?? '', vars));
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) =>
    expandLikeKubelet(a, vars),
  );
  const [program = '', ...args] = argv;
  const result = spawnSync(program, args, {
    encoding: 'utf8',
    // A short fixed PATH, as in a container image (a long one makes bash start slowly).
    env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(vars) },
    timeout: 5000,
  });
  return { stdout: result.stdout, status: result.status };
}

function rendersExactly(t: JobTemplate, x: string): void {
  const job = t.render({ values: { X: x } });
  const container = job.spec?.template.spec?.containers[0];
  assert.ok(container);
  const { stdout, status } = runLikeKubelet(container);
  assert.equal(status, 0);
  assert.equal(stdout, x);
  assert.equal(existsSync(MARKER), false, 'an injected command ran');
}

const METACHARACTERS = [
  ...Array.from(';|&$`\'"\\ \n\t(){}<>*?[]#~!=%^,:@+-/.'),
  'a',
  'Z',
  '0',
  '$(',
  '${',
  "'\\''",
  'é',
  '😀',
];
const INJECTIONS = [
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `1; touch ${MARKER}`,
  `' ; touch ${MARKER} ; '`,
  `"; touch ${MARKER}; "`,
  `\ntouch ${MARKER}\n`,
  `$$(touch ${MARKER})`,
  `x && touch ${MARKER} || touch ${MARKER}`,
  `'$(touch ${MARKER})'`,
  `$(KJD_PAYLOAD)`,
  `$$`,
  `\\'; touch ${MARKER} #`,
];

/** Arbitrary text a program can receive: no NUL (argv and env end there); unicode of any plane. */
const anyValue = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...METACHARACTERS), maxLength: 30 }),
    fc
      .tuple(
        fc.constantFrom(...INJECTIONS),
        fc.string({ unit: fc.constantFrom(...METACHARACTERS), maxLength: 8 }),
      )
      .map(([a, b]) => a + b),
  )
  .filter((s) => !s.includes('\0'));

describe('a value in an sh -c script is one word, exactly', () => {
  const cases: [string, readonly string[]][] = [
    ['/bin/sh (dash)', ['/bin/sh', '-c', "printf '%s' ${X}"]],
    ['/bin/bash', ['/bin/bash', '-c', "printf '%s' ${X}"]],
    ['/bin/bash -euc, value glued to text', ['/bin/bash', '-euc', 'v=${X}; printf \'%s\' "$v"']],
    ['/bin/sh, positional argument after the script', ['/bin/sh', '-c', 'printf "%s" "$1"', 'sh', '${X}']],
  ];
  for (const [name, command] of cases) {
    test(name, () => {
      const t = template(command);
      for (const injection of INJECTIONS) rendersExactly(t, injection);
      fc.assert(
        fc.property(anyValue, (x) => {
          rendersExactly(t, x);
        }),
        { numRuns: RUNS },
      );
    });
  }

  test('no shell: a plain argv element and the env var carry the value exactly', () => {
    const plain = template(['/usr/bin/printf', '%s', '${X}']);
    const fromEnv = template(['/bin/sh', '-c', 'printf "%s" "$X"']);
    fc.assert(
      fc.property(anyValue, (x) => {
        rendersExactly(plain, x);
        rendersExactly(fromEnv, x);
      }),
      { numRuns: RUNS },
    );
  });

  test('the marker file was never created', () => {
    assert.equal(existsSync(MARKER), false);
    rmSync(MARKER, { force: true });
  });
});
