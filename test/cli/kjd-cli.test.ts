// The built `kjd` binary (dist/, as npm installs it) answers --version and --help.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = new URL('../../dist/src/cli/kjd.js', import.meta.url).pathname;

test('kjd --version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const { stdout } = await run(process.execPath, [bin, '--version']);
  assert.equal(stdout.trim(), pkg.version);
});

test('kjd --help describes the tool', async () => {
  const { stdout } = await run(process.execPath, [bin, '--help']);
  assert.match(stdout, /^Usage: kjd/m);
  assert.match(stdout, /Kubernetes\s+Jobs/);
});

test('kjd with an unknown option exits 2 (usage) with a message', async () => {
  const err = (await run(process.execPath, [bin, '--bogus']).catch((e: unknown) => e)) as {
    code?: number;
    stderr?: string;
  };
  assert.equal(err.code, 2);
  assert.match(err.stderr ?? '', /unknown option '--bogus'/);
});
