// Seed 000 read this Job template from a ConfigMap and replaced ${CUSTOM_ID}
// inside the `sh -c` script with strings.Replace, so an id such as
// `1; rm -rf /` ran rm. The same template through kjd.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParameterError, TemplateError, expandLikeKubelet, loadTemplate, parseTemplate } from './index.ts';

/** The template exactly as seed 000 has it. */
const SEED_TEMPLATE = `apiVersion: batch/v1
kind: Job
metadata:
  name: worker
  namespace: default
  labels:
    app: worker
spec:
  ttlSecondsAfterFinished: 100
  template:
    spec:
      containers:
      - name: worker
        image: worker:target
        imagePullPolicy: Never
        command:
          - "bin/sh"
          - "-c"
          - "/go/bin/image_worker -sql=/etc/sql/postgres.txt -custom=\${CUSTOM_ID}"
        volumeMounts:
          - name: postgre-sql
            mountPath: /etc/sql
      restartPolicy: Never
      volumes:
        - name: postgre-sql
          configMap:
            name: configs
            items:
              - key: postgres.txt
                path: postgres.txt
  backoffLimit: 0
`;

function withDeclaration(declaration: string): string {
  // A function, not a string: `$'` in a replacement string means something.
  return SEED_TEMPLATE.replace(
    '  labels:\n',
    () => `  annotations:\n    kjd.dev/parameters: |\n      CUSTOM_ID: ${declaration}\n  labels:\n`,
  );
}

function script(template: ReturnType<typeof parseTemplate>, id: string): string {
  const job = template.render({ values: { CUSTOM_ID: id }, requestId: id });
  return job.spec?.template.spec?.containers[0]?.command?.[2] ?? '';
}

describe('seed 000 worker template', () => {
  test('as the seed has it, kjd refuses it and says why', () => {
    assert.throws(
      () => parseTemplate(SEED_TEMPLATE, 'worker-job.yaml'),
      (err: unknown) =>
        err instanceof TemplateError &&
        err.message ===
          'worker-job.yaml:19:70: spec.template.spec.containers[0].command[2]: placeholder ${CUSTOM_ID} names no declared parameter (declared: none); write $${CUSTOM_ID} for a literal ${CUSTOM_ID}',
    );
  });

  test('with a pattern, a hostile id is refused before any Job exists', () => {
    const template = parseTemplate(
      withDeclaration("{ type: string, pattern: '^[A-Za-z0-9_-]{1,64}$' }"),
      'worker-job.yaml',
    );
    assert.equal(
      script(template, 'abc_123'),
      '/go/bin/image_worker -sql=/etc/sql/postgres.txt -custom=abc_123',
    );
    assert.throws(
      () => template.render({ values: { CUSTOM_ID: '1; rm -rf /' } }),
      (err: unknown) =>
        err instanceof ParameterError &&
        err.message ===
          'parameter CUSTOM_ID: expected a value matching /^[A-Za-z0-9_-]{1,64}$/, got "1; rm -rf /"',
    );
  });

  test('without a pattern, shell quoting alone makes a hostile id one harmless argument', () => {
    const template = parseTemplate(withDeclaration('{ type: string }'), 'worker-job.yaml');
    assert.equal(
      script(template, '1; rm -rf /'),
      "/go/bin/image_worker -sql=/etc/sql/postgres.txt -custom='1; rm -rf /'",
    );
    assert.equal(
      script(template, "it's"),
      "/go/bin/image_worker -sql=/etc/sql/postgres.txt -custom='it'\\''s'",
    );
    assert.equal(script(template, '42'), '/go/bin/image_worker -sql=/etc/sql/postgres.txt -custom=42');
  });

  test('executed, the rendered script runs nothing but the worker', () => {
    const template = parseTemplate(withDeclaration('{ type: string }'), 'worker-job.yaml');
    const marker = join(tmpdir(), `kjd-seed000-${randomBytes(6).toString('hex')}`);
    try {
      for (const id of [
        `1; touch ${marker}`,
        `$(touch ${marker})`,
        `\`touch ${marker}\``,
        `1 && touch ${marker}`,
      ]) {
        // Only the program name changes: printf shows the argument the worker would get.
        // The kubelet's $(VAR) expansion comes first, as in a real Pod.
        const rendered = expandLikeKubelet(script(template, id), new Map()).replace(
          '/go/bin/image_worker',
          "printf '%s\\n'",
        );
        const result = spawnSync('/bin/sh', ['-c', rendered], {
          encoding: 'utf8',
          env: { PATH: '/usr/bin:/bin' },
        });
        assert.equal(result.stdout, `-sql=/etc/sql/postgres.txt\n-custom=${id}\n`);
        assert.equal(existsSync(marker), false, `${id} ran a command`);
      }
    } finally {
      rmSync(marker, { force: true });
    }
  });

  test('examples/worker-job.yaml (what the CLI uses) loads and renders', async () => {
    const template = await loadTemplate(join(import.meta.dirname, '../../examples/worker-job.yaml'));
    assert.equal(template.name, 'worker');
    assert.equal(template.namespace, undefined);
    const job = template.render({ values: { CUSTOM_ID: '1; rm -rf /' }, requestId: 'r-1' });
    assert.equal(job.spec?.ttlSecondsAfterFinished, 100);
    assert.equal(job.spec.backoffLimit, 0);
    const container = job.spec.template.spec!.containers[0];
    assert.equal(container?.image, 'worker:target');
    assert.deepEqual(container.command, [
      'bin/sh',
      '-c',
      "/go/bin/image_worker -sql=/etc/sql/postgres.txt -custom='1; rm -rf /'",
    ]);
    assert.throws(() => template.render({ values: {} }), ParameterError);
  });
});
