// Every `kjd` command, output format and exit code, against the real local
// control plane. Commands run in-process through runCli with captured output.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { POD_LOG_LINES } from '../../harness/cluster/local-cluster.ts';
import { podBehaviourAnnotations, type PodBehaviour } from '../../harness/pod-behaviour.ts';
import { runCli } from '../../src/cli/kjd.ts';
import { jobNameFor } from '../../src/template/index.ts';
import { VERSION } from '../../src/version.ts';
import { testEnv } from '../support/env.ts';
import { capture, type Captured } from '../support/capture.ts';
import { serviceAccountToken, useNamespace } from '../support/kube.ts';

const example = new URL('../../examples/worker-job.yaml', import.meta.url).pathname;

describe('the kjd CLI', () => {
  const ns = useNamespace('cli');
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const kjd = (args: string[]): Promise<Captured> =>
    capture((io) =>
      runCli(['--kubeconfig', testEnv().kubeconfigPath, '-n', ns.name, ...args], {
        ...io,
        env: { HOME: dir },
      }),
    );

  /** The example template with Pod-behaviour annotations added (fail, run forever, ...). */
  async function templateWith(behaviour: PodBehaviour, name: string): Promise<string> {
    const doc = parse(await readFile(example, 'utf8')) as {
      metadata: { name: string };
      spec: { template: { metadata?: object } };
    };
    doc.metadata.name = name;
    doc.spec.template.metadata = { annotations: podBehaviourAnnotations(behaviour) };
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, JSON.stringify(doc));
    return file;
  }

  const name7 = jobNameFor('worker', 'req-7');

  test('launch --wait --logs: seed 000 end to end, exit 0', { timeout: 60_000 }, async () => {
    const r = await kjd([
      'launch',
      '-f',
      example,
      '--set',
      'CUSTOM_ID=7',
      '--id',
      'req-7',
      '--wait',
      '--logs',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`job.batch/${name7} created`));
    assert.match(r.stdout, new RegExp(`job/${name7} Succeeded`));
    for (const line of POD_LOG_LINES) assert.match(r.stdout, new RegExp(line));
    assert.match(r.stderr, /Succeeded/, 'progress lines on stderr');
  });

  test('the same request id never makes a second Job', async () => {
    const r = await kjd(['launch', '-f', example, '--set', 'CUSTOM_ID=7', '--id', 'req-7']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /already exists for this request id/);
    const list = JSON.parse((await kjd(['list', '-o', 'json'])).stdout) as { items: unknown[] };
    assert.equal(list.items.length, 1);
  });

  test('an injection attempt is one harmless argument', { timeout: 60_000 }, async () => {
    const r = await kjd([
      'launch',
      '-f',
      example,
      '--set',
      'CUSTOM_ID=1; rm -rf /',
      '--id',
      'inj',
      '--wait',
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('}') + 1)) as {
      spec: { template: { spec: { containers: { command: string[] }[] } } };
    };
    assert.equal(
      job.spec.template.spec.containers[0]?.command[2],
      "/go/bin/image_worker -sql=/etc/sql/postgres.txt -custom='1; rm -rf /'",
    );
  });

  test('get in every output format', async () => {
    const table = await kjd(['get', name7]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+STATUS\s+COMPLETIONS\s+ACTIVE\s+FAILED\s+AGE\s+REQUEST-ID/);
    assert.match(
      table.stdout,
      new RegExp(`${name7}\\s+Succeeded \\(CompletionsReached\\)\\s+1/1\\s+0\\s+0\\s+\\d+s\\s+req-7`),
    );
    const json = JSON.parse((await kjd(['get', name7, '-o', 'json'])).stdout) as {
      kind: string;
      metadata: { annotations: Record<string, string> };
    };
    assert.equal(json.kind, 'Job');
    assert.equal(json.metadata.annotations['kjd.dev/request-id'], 'req-7');
    const yaml = parse((await kjd(['get', name7, '-o', 'yaml'])).stdout) as { metadata: { name: string } };
    assert.equal(yaml.metadata.name, name7);
    assert.equal((await kjd(['get', name7, '-o', 'name'])).stdout.trim(), `job.batch/${name7}`);
    const bad = await kjd(['get', name7, '-o', 'xml']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown output format "xml"/);
  });

  test('list with a selector, and -o name', async () => {
    const r = await kjd(['list', '-l', 'kjd.dev/template=worker', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout.trim().split('\n').sort(),
      [`job.batch/${jobNameFor('worker', 'inj')}`, `job.batch/${name7}`].sort(),
    );
    const none = await kjd(['list', '-l', 'kjd.dev/template=nothing']);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /No Jobs in namespace/);
  });

  test('a failing Job: launch --wait exits 3; wait and logs work on it', { timeout: 60_000 }, async () => {
    const file = await templateWith({ outcome: 'fail', exitCode: 2 }, 'failing');
    const r = await kjd(['launch', '-f', file, '--set', 'CUSTOM_ID=9', '--id', 'f-9', '--wait']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /Failed \(BackoffLimitExceeded\)/);
    const name = jobNameFor('failing', 'f-9');
    assert.equal((await kjd(['wait', name])).code, 3);
    const logs = await kjd(['logs', name, '--tail', '1']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout.trim(), POD_LOG_LINES.at(-1));
  });

  test('wait --timeout on a Job that never finishes exits 4', { timeout: 60_000 }, async () => {
    const file = await templateWith({ outcome: 'never' }, 'forever');
    assert.equal((await kjd(['launch', '-f', file, '--set', 'CUSTOM_ID=1', '--id', 'x'])).code, 0);
    const r = await kjd(['wait', jobNameFor('forever', 'x'), '--timeout', '2s']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /still (Pending|Running) after 2 s/);
  });

  test("patch: the seed's image change is refused with the reason; a merge patch works", async () => {
    const name = jobNameFor('forever', 'x');
    const image = await kjd(['patch', name, '--image', 'perl']);
    assert.equal(image.code, 1);
    assert.match(image.stderr, /^error: invalid Job "[^"]+": spec.template: field is immutable$/m);
    assert.match(image.stderr, /cannot change once the Job exists/);
    const merge = await kjd([
      'patch',
      name,
      '--merge',
      '{"metadata":{"labels":{"team":"blue"}}}',
      '-o',
      'json',
    ]);
    assert.equal(merge.code, 0, merge.stderr);
    assert.equal(
      (JSON.parse(merge.stdout) as { metadata: { labels: Record<string, string> } }).metadata.labels.team,
      'blue',
    );
    assert.equal((await kjd(['patch', name])).code, 2);
    assert.equal((await kjd(['patch', name, '--merge', '{nope'])).code, 2);
  });

  test('delete --cascade foreground removes the Job and its Pods', { timeout: 60_000 }, async () => {
    const name = jobNameFor('forever', 'x');
    const r = await kjd(['delete', name, '--cascade', 'foreground', '--grace-period', '5']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deleted \(cascade foreground\)/);
    for (let i = 0; i < 100 && (await kjd(['get', name])).code === 0; i++)
      await new Promise((res) => setTimeout(res, 100));
    const gone = await kjd(['get', name]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`error: not found: jobs "${name}" in namespace "${ns.name}"`));
    assert.equal((await kjd(['delete', name, '--cascade', 'sideways'])).code, 2);
  });

  test('check: all granted for the admin (exit 0); missing ones and the Role to apply (exit 3)', async () => {
    const ok = await kjd(['check']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((ok.stdout.match(/✓/g) ?? []).length, 10);

    const core = testEnv().admin.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'nobody' } } });
    const token = await serviceAccountToken(ns.name, 'nobody');
    const kubeconfig = join(dir, 'nobody.kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: { server: testEnv().server, 'certificate-authority-data': testEnv().caData },
          },
        ],
        users: [{ name: 'u', user: { token } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: ns.name } }],
        'current-context': 'x',
      }),
    );
    const { code, stdout, stderr } = await capture((io) =>
      runCli(['--kubeconfig', kubeconfig, 'check'], { ...io, env: {} }),
    );
    assert.equal(code, 3, stderr);
    assert.equal((stdout.match(/✗/g) ?? []).length, 10);
    assert.match(stdout, /kind: Role/);
    assert.match(
      stdout,
      /resources: \["jobs"\]\n {4}verbs: \["create", "get", "list", "watch", "patch", "delete"\]/,
    );
    assert.match(stdout, /resources: \["pods\/log"\]/);
  });

  test('render: client-side and --server-dry-run create nothing', async () => {
    const r = await kjd(['render', '-f', example, '--set', 'CUSTOM_ID=1; rm -rf /', '--id', 'r-1']);
    assert.equal(r.code, 0, r.stderr);
    const job = parse(r.stdout) as { metadata: { name: string; labels: Record<string, string> } };
    assert.equal(job.metadata.name, jobNameFor('worker', 'r-1'));
    assert.equal(job.metadata.labels['app.kubernetes.io/managed-by'], 'kjd');
    const dry = await kjd([
      'render',
      '-f',
      example,
      '--set',
      'CUSTOM_ID=2',
      '--id',
      'r-2',
      '--server-dry-run',
      '-o',
      'json',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(
      (JSON.parse(dry.stdout) as { metadata: { uid?: string } }).metadata.uid,
      'defaulted by the API server',
    );
    assert.equal((await kjd(['get', jobNameFor('worker', 'r-2')])).code, 1, 'nothing was created');
  });

  test('bad input: clear messages and exit codes', async () => {
    const noFile = await kjd(['launch', '--set', 'CUSTOM_ID=1']);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /required option '-f, --file <path>' not specified/);
    const badSet = await kjd(['launch', '-f', example, '--set', 'CUSTOM_ID']);
    assert.equal(badSet.code, 2);
    assert.match(badSet.stderr, /--set expects NAME=VALUE/);
    const missing = await kjd(['launch', '-f', example]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /CUSTOM_ID/);
    assert.ok(!/\n\s+at /.test(missing.stderr), 'no stack trace without --debug');
    const noTemplate = await kjd(['launch', '-f', join(dir, 'missing.yaml'), '--set', 'CUSTOM_ID=1']);
    assert.equal(noTemplate.code, 1);
    assert.match(noTemplate.stderr, /missing\.yaml/);
  });

  test('no cluster configuration: one error listing what was looked for', async () => {
    const { code, stderr } = await capture((io) => runCli(['list'], { ...io, env: { HOME: dir } }));
    assert.equal(code, 1);
    assert.match(stderr, /no Kubernetes configuration found. Looked for:/);
    assert.match(stderr, /\.kube\/config/);
    assert.match(stderr, /in-cluster: KUBERNETES_SERVICE_HOST/);
    assert.ok(!stderr.includes('localhost:8080'));
  });

  test('version', async () => {
    const r = await kjd(['version']);
    assert.equal(r.stdout.trim(), VERSION);
  });
});
