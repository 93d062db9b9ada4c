// kjd in a Pod (in-cluster) must not load @kubernetes/client-node's runtime:
// importing it costs ~800 ms of start-up and ~85 MB of memory (every
// generated model). Only its types are used, and its kubeconfig reader when a
// kubeconfig is. A regression here shows in `npm run bench` as start-to-ready
// and RSS; this test catches it first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

const probe = (saDir: string) => `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('@kubernetes/client-node')) loaded.push(specifier);
    return next(specifier, context);
  },
});
const { main } = await import('./src/cli/kjd.ts');
const { DispatcherService } = await import('./src/service/dispatcher-service.ts');
const { resolveConnection } = await import('./src/kube/connection.ts');
resolveConnection({
  mode: 'in-cluster',
  serviceAccountDir: ${JSON.stringify(saDir)},
  env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443' },
});
void main, DispatcherService;
process.stdout.write(JSON.stringify(loaded));
`;

test('in-cluster, the CLI and the service never load @kubernetes/client-node at run time', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kjd-lean-'));
  try {
    await writeFile(join(dir, 'token'), 'x');
    await writeFile(join(dir, 'ca.crt'), '');
    await writeFile(join(dir, 'namespace'), 'jobs');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe(dir)], {
      cwd: new URL('../..', import.meta.url).pathname,
    });
    assert.deepEqual(JSON.parse(stdout), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the probe sees a load of client-node (so the test above can fail)', async () => {
  const { stdout } = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      probe('/nonexistent').replace(
        /resolveConnection\(\{[\s\S]*?\}\);/,
        `try { resolveConnection({ kubeconfig: 'test/fixtures/missing.yaml' }); } catch {}
         const { createRequire } = await import('node:module');
         createRequire(import.meta.url)('@kubernetes/client-node');`,
      ),
    ],
    { cwd: new URL('../..', import.meta.url).pathname },
  );
  assert.ok((JSON.parse(stdout) as string[]).includes('@kubernetes/client-node'));
});
