import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container, V1EnvVar, V1Job } from '@kubernetes/client-node';
import {
  NamespaceInvalidError,
  ParameterError,
  PayloadTooLargeError,
  RequestIdInvalidError,
  parseTemplate,
  shortHash,
} from './index.ts';
import type { JobTemplate, TemplateOptions } from './index.ts';

const SOURCE = `apiVersion: batch/v1
kind: Job
metadata:
  name: Worker
  namespace: batch
  labels:
    app: worker
    mode: "\${MODE}"
  annotations:
    note: "id \${ID}"
    kjd.dev/parameters: |
      ID: { type: integer, required: true }
      MODE: { type: enum, values: [fast, slow], default: fast }
      LABEL: { type: string, pattern: '^[a-z0-9-]{1,40}$', description: a label }
      DRY: { type: boolean, default: false }
      TAG: { type: string, default: "1.0" }
      NOTE: { type: string }
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        team: "\${LABEL}"
    spec:
      restartPolicy: Never
      initContainers:
        - name: init
          image: busybox
          command: ["/bin/sh", "-c", "echo init \${ID}"]
      containers:
        - name: main
          image: "registry.local/worker:\${TAG}"
          command: ["/app/worker"]
          args: ["--id=\${ID}", "--dry=\${DRY}", "--note=\${NOTE}", "--literal=$\${HOME}"]
          env:
            - name: MODE
              value: from-template
            - name: KEEP
              value: "mode \${MODE}"
        - name: sidecar
          image: busybox
`;

function load(options: TemplateOptions = {}): JobTemplate {
  return parseTemplate(SOURCE, 'worker.yaml', options);
}

function containers(job: V1Job): V1Container[] {
  const spec = job.spec?.template.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

function env(container: V1Container | undefined): Record<string, string | undefined> {
  return Object.fromEntries((container?.env ?? []).map((e: V1EnvVar) => [e.name, e.value]));
}

function parameterError(fn: () => unknown): ParameterError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ParameterError, String(err));
    return err;
  }
  assert.fail('no ParameterError');
}

describe('render', () => {
  test('substitutes placeholders, each in the way its field needs', () => {
    const job = load().render({ values: { ID: 42, LABEL: 'team-a', NOTE: 'costs $5 $(HOME)' } });
    const [init, main] = containers(job);
    assert.deepEqual(init?.command, ['/bin/sh', '-c', 'echo init 42']);
    assert.equal(main?.image, 'registry.local/worker:1.0');
    assert.deepEqual(main.args, ['--id=42', '--dry=false', '--note=costs $$5 $$(HOME)', '--literal=${HOME}']);
    assert.equal(job.metadata?.labels?.mode, 'fast');
    assert.equal(job.metadata.annotations!.note, 'id 42');
    assert.equal(job.spec?.template.metadata?.labels?.team, 'team-a');
  });

  test('--set strings are coerced like JSON values', () => {
    const job = load().render({ values: { ID: '0042', DRY: 'true', MODE: 'slow' } });
    assert.deepEqual(containers(job)[1]?.args?.slice(0, 2), ['--id=42', '--dry=true']);
  });

  test('an optional parameter without a value renders empty and gets no env var', () => {
    const job = load().render({ values: { ID: 1 } });
    const main = containers(job)[1];
    assert.equal(main?.args?.[2], '--note=');
    assert.equal('NOTE' in env(main), false);
    assert.equal(job.spec?.template.metadata?.labels?.team, '');
  });

  test('every container gets the parameters, KJD_PAYLOAD and KJD_REQUEST_ID first', () => {
    const values = { ID: 7, MODE: 'slow' };
    const job = load().render({
      values,
      requestId: 'req-1',
      payload: { ...values, extra: { nested: true } },
    });
    for (const container of containers(job)) {
      const names = (container.env ?? []).map((e) => e.name);
      assert.deepEqual(names.slice(0, 6), ['ID', 'MODE', 'DRY', 'TAG', 'KJD_PAYLOAD', 'KJD_REQUEST_ID']);
      assert.equal(env(container).ID, '7');
      assert.equal(env(container).MODE, 'slow');
      assert.equal(env(container).KJD_PAYLOAD, '{"ID":7,"MODE":"slow","extra":{"nested":true}}');
      assert.equal(env(container).KJD_REQUEST_ID, 'req-1');
    }
    const main = containers(job)[1];
    assert.equal(main?.env?.filter((e) => e.name === 'MODE').length, 1, 'the template entry is replaced');
    assert.equal(env(main).KEEP, 'mode slow');
    assert.equal(env(containers(job)[2]).ID, '7', 'the sidecar too');
  });

  test('payload defaults to the values; $ in env values is escaped for the kubelet', () => {
    const job = load().render({ values: { ID: 1, NOTE: '$(SECRET)' } });
    assert.equal(env(containers(job)[1]).NOTE, '$$(SECRET)');
    assert.equal(env(containers(job)[1]).KJD_PAYLOAD, '{"ID":1,"NOTE":"$$(SECRET)"}');
  });

  test('identity labels and the request id annotation', () => {
    const job = load().render({ values: { ID: 1 }, requestId: 'order/42' });
    const hash = shortHash('order/42');
    assert.equal(job.metadata?.name, `worker-${hash}`);
    assert.deepEqual(job.metadata.labels, {
      app: 'worker',
      mode: 'fast',
      'app.kubernetes.io/managed-by': 'kjd',
      'kjd.dev/template': 'worker',
      'kjd.dev/template-hash': shortHash(SOURCE),
      'kjd.dev/request-hash': hash,
    });
    assert.deepEqual(job.metadata.annotations, { note: 'id 1', 'kjd.dev/request-id': 'order/42' });
    assert.deepEqual(job.spec?.template.metadata?.labels, {
      team: '',
      'app.kubernetes.io/managed-by': 'kjd',
      'kjd.dev/template': 'worker',
    });
  });

  test('without a request id: a random suffix, no request labels', () => {
    const job = load().render({ values: { ID: 1 } });
    assert.match(job.metadata?.name ?? '', /^worker-[a-z0-9]{5}$/);
    assert.equal(job.metadata?.labels?.['kjd.dev/request-hash'], undefined);
    assert.equal(job.metadata?.annotations?.['kjd.dev/request-id'], undefined);
    assert.equal(env(containers(job)[1]).KJD_REQUEST_ID, undefined);
  });

  test('namespace: the request, else the template', () => {
    assert.equal(load().render({ values: { ID: 1 } }).metadata?.namespace, 'batch');
    assert.equal(load().render({ values: { ID: 1 }, namespace: 'other' }).metadata?.namespace, 'other');
    assert.throws(() => load().render({ values: { ID: 1 }, namespace: 'Not_Valid' }), NamespaceInvalidError);
  });

  test('the same request renders the same Job; the template is never changed', () => {
    const template = load();
    const first = template.render({ values: { ID: 1, LABEL: 'x' }, requestId: 'r' });
    first.metadata!.labels!.app = 'changed';
    containers(first)[1]!.args!.push('--mutated');
    const second = template.render({ values: { ID: 1, LABEL: 'x' }, requestId: 'r' });
    assert.equal(second.metadata?.labels?.app, 'worker');
    assert.equal(containers(second)[1]?.args?.length, 4);
    const again = template.render({ values: { ID: 1, LABEL: 'x' }, requestId: 'r' });
    assert.deepEqual(again, second);
    assert.equal(
      second.metadata.annotations!['kjd.dev/parameters'],
      undefined,
      'the declarations are not rendered',
    );
  });
});

describe('render: bad values', () => {
  test('every problem of one render in one ParameterError', () => {
    const err = parameterError(() => load().render({ values: { ID: '4x2', MODE: 'medium', COLOR: 'red' } }));
    assert.equal(err.code, 'PARAMETER_INVALID');
    assert.equal(err.category, 'permanent');
    assert.deepEqual(
      err.issues.map((i) => i.parameter),
      ['COLOR', 'ID', 'MODE'],
    );
    assert.equal(
      err.message,
      'parameter COLOR: is not declared by the template (declared: ID, MODE, LABEL, DRY, TAG, NOTE); ' +
        'parameter ID: expected an integer, got "4x2"; ' +
        'parameter MODE: expected one of fast, slow, got "medium"',
    );
  });

  test('a missing required value', () => {
    const err = parameterError(() => load().render({ values: {} }));
    assert.equal(err.message, 'parameter ID: a value is required (expected an integer)');
  });

  test('a label value Kubernetes would refuse names the parameter and the label', () => {
    const template = parseTemplate(SOURCE.replace("pattern: '^[a-z0-9-]{1,40}$', ", ''), 'w.yaml');
    const err = parameterError(() => template.render({ values: { ID: 1, LABEL: 'not a label!' } }));
    assert.equal(err.issues[0]?.parameter, 'LABEL');
    assert.match(err.message, /label team would be "not a label!", which is not a label value/);
  });

  test('an image with whitespace, or empty', () => {
    const err = parameterError(() => load().render({ values: { ID: 1, TAG: 'a b' } }));
    assert.match(err.message, /parameter TAG: the image would be "registry\.local\/worker:a b"/);
    const bare = parseTemplate(SOURCE.replace('"registry.local/worker:${TAG}"', '"${TAG}"'), 'w.yaml');
    assert.match(
      parameterError(() => bare.render({ values: { ID: 1, TAG: '' } })).message,
      /image would be ""/,
    );
  });

  test('the payload cap: 32 KiB by default, configurable', () => {
    const big = 'x'.repeat(32 * 1024); // {"blob":"…"} adds 11 bytes
    assert.throws(
      () => load().render({ values: { ID: 1 }, payload: { blob: big } }),
      (err: unknown) =>
        err instanceof PayloadTooLargeError &&
        err.category === 'permanent' &&
        err.sizeBytes === 32 * 1024 + 11 &&
        err.message ===
          `payload is ${32 * 1024 + 11} bytes of JSON; the limit is 32768 bytes (maxPayloadBytes)`,
    );
    assert.doesNotThrow(() => load().render({ values: { ID: 1 }, payload: { blob: big.slice(11) } }));
    assert.throws(
      () => load({ maxPayloadBytes: 10 }).render({ values: { ID: 12345 } }),
      PayloadTooLargeError,
    );
  });

  test('request ids: at most 1024 characters, no control characters', () => {
    const template = load();
    assert.doesNotThrow(() => template.render({ values: { ID: 1 }, requestId: 'x'.repeat(1024) }));
    for (const requestId of ['x'.repeat(1025), 'a\nb', 'a\u0007', '', 'a\uD800']) {
      assert.throws(
        () => template.render({ values: { ID: 1 }, requestId }),
        (err: unknown) => err instanceof RequestIdInvalidError && err.category === 'permanent',
      );
    }
  });
});

test('error codes and categories are stable', () => {
  const cases: [{ code: string; category: string }, string, string][] = [
    [new PayloadTooLargeError(2, 1), 'PAYLOAD_TOO_LARGE', 'permanent'],
    [new RequestIdInvalidError('x', 'bad'), 'REQUEST_ID_INVALID', 'permanent'],
    [new NamespaceInvalidError('X'), 'NAMESPACE_INVALID', 'permanent'],
    [new ParameterError([{ parameter: 'P', problem: 'bad' }]), 'PARAMETER_INVALID', 'permanent'],
  ];
  for (const [err, code, category] of cases) assert.deepEqual([err.code, err.category], [code, category]);
});
