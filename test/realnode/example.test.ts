// examples/real-worker-job.yaml, as its comment tells a user to run it: the
// real `kjd` binary, `launch --wait --logs`, on the real node with the
// worker image. The value comes back exactly as given, as one argument.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { testEnv } from '../support/env.ts';
import { useNamespace } from '../support/kube.ts';
import { realNodeContext, requireRealNode, WORKER_IMAGE } from '../support/real-node.ts';

const run = promisify(execFile);
const kjdBin = new URL('../../bin/kjd.mjs', import.meta.url).pathname;
const example = new URL('../../examples/real-worker-job.yaml', import.meta.url).pathname;

const rn = await realNodeContext();
const skip =
  rn.skip !== false
    ? rn.skip
    : rn.failure === undefined && rn.image !== WORKER_IMAGE
      ? `${WORKER_IMAGE} is not on the real node: build it with images/build.sh, then \`npm run cluster:up\` (it loads new image tars into a running node)`
      : false;

describe('examples/real-worker-job.yaml on the real node', () => {
  const ns = useNamespace('realex');

  test(
    'launch --set CUSTOM_ID=... --wait --logs prints the value exactly as given',
    { skip, timeout: 120_000 },
    async () => {
      requireRealNode(rn);
      const value = `1; rm -rf / $(id) "q" 'x' \\n`;
      const { stdout } = await run(
      process.execPath,
      [kjdBin, '--kubeconfig', testEnv().kubeconfigPath, '-n', ns.name, 'launch', '-f', example,
        '--set', `CUSTOM_ID=${value}`, '--wait', '--logs'],
      { env: { ...process.env, HOME: '/nonexistent' } },
    ); // prettier-ignore
      assert.match(stdout, /Succeeded \(CompletionsReached\)/);
      const args = stdout.split('\n').filter((l) => l.startsWith('arg: '));
      assert.deepEqual(args, [`arg: [${value}]`]);
    },
  );
});
