// The `kjd` executable as npm installs it (bin/kjd.mjs -> dist/): --version,
// --help, a usage error, and the launcher on an older Node.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = new URL('../../bin/kjd.mjs', import.meta.url).pathname;

test('kjd --version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const { stdout } = await run(process.execPath, [bin, '--version']);
  assert.equal(stdout.trim(), pkg.version);
});

test('kjd --help lists the commands', async () => {
  const { stdout } = await run(process.execPath, [bin, '--help']);
  assert.match(stdout, /^Usage: kjd/m);
  assert.match(stdout, /Kubernetes\s+Jobs/);
  for (const command of [
    'launch',
    'render',
    'get',
    'list',
    'wait',
    'logs',
    'patch',
    'delete',
    'check',
    'version',
  ]) {
    assert.match(stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
  }
});

test('kjd with an unknown option exits 2 (usage) with a message', async () => {
  const err = (await run(process.execPath, [bin, '--bogus']).catch((e: unknown) => e)) as {
    code?: number;
    stderr?: string;
  };
  assert.equal(err.code, 2);
  assert.match(err.stderr ?? '', /unknown option '--bogus'/);
});

// The machine's own Node, when it is older than 24 (Node 20 here): the
// launcher re-runs kjd on the project's Node 24 instead of crashing.
const systemNode = '/usr/bin/node';
test(
  'on an older system Node, the launcher runs kjd on Node 24',
  { skip: !existsSync(systemNode) && `${systemNode} not present` },
  async () => {
    const { stdout: version } = await run(systemNode, ['--version']);
    const { stdout } = await run(systemNode, [
      bin,
      'render',
      '-f',
      new URL('../../examples/worker-job.yaml', import.meta.url).pathname,
      '--set',
      'CUSTOM_ID=1',
    ]);
    assert.match(stdout, /kind: Job/, `ran under ${version.trim()}`);
  },
);
